// The status feed's pages, all made with rampart's `html` templates: every value is
// escaped for where it lands, and rendering a page for its response (`sendHtml` in
// app.mjs) gives every POST form its CSRF field (first, so it precedes the file of a
// multipart form). No script is needed.
import { flattenHtml, html } from 'rampart/html';

export const MAX_STATUS_CHARACTERS = 500;

function layout({ title, user, body }) {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · status feed</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<header>
<a class="brand" href="/">status feed</a>
<nav>${user ? html`<a href="/u/${user.username}">@${user.username}</a>
<form method="post" action="/logout" class="inline"><button class="link">Log out</button></form>` : html`<a href="/login">Log in</a> <a href="/register">Register</a>`}</nav>
</header>
<main>
${body}
</main>
</body>
</html>
`;
}

function errors(messages) {
  if (!messages || messages.length === 0) return '';
  return html`<div class="errors" role="alert"><ul>${messages.map((message) => html`<li>${message}</li>`)}</ul></div>`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sept', 'Oct', 'Nov', 'Dec'];
const twoDigits = (n) => (n < 10 ? `0${n}` : `${n}`);

/**
 * A status's time, to the minute, in UTC: `datetime` (`2026-11-29T12:02Z`) and `text`
 * (`29 Nov 2026, 12:02`, as Intl's en-GB medium date and short time print it). Written
 * out: Intl and toISOString cost more per call than the rest of a status's markup.
 */
function statusTime(milliseconds) {
  const date = new Date(milliseconds);
  const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()];
  const clock = `${twoDigits(date.getUTCHours())}:${twoDigits(date.getUTCMinutes())}`;
  return { datetime: `${year}-${twoDigits(month + 1)}-${twoDigits(day)}T${clock}Z`, text: `${day} ${MONTHS[month]} ${year}, ${clock}` };
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function attachment(status) {
  if (!status.attachmentId) return '';
  if (status.attachmentType.startsWith('image/')) {
    return html`<a class="attachment" href="/attachments/${status.attachmentId}"><img src="/attachments/${status.attachmentId}" alt="${status.attachmentName}" loading="lazy"></a>`;
  }
  return html`<p class="attachment"><a href="/attachments/${status.attachmentId}" download="${status.attachmentName}">${status.attachmentName}</a> <span class="muted">(${size(status.attachmentSize)}, download)</span></p>`;
}

/**
 * Each status's markup, made once per status object and kept as long as the object
 * lives: the store hands out the same frozen rows until the data changes, so a status
 * is rendered again only after a write. Its delete form's CSRF field is still a
 * marker, filled with a fresh token on every response. Flattened once, so that each
 * page copies it whole rather than piece by piece.
 */
const RENDERED = new WeakMap();

function statusItem(status, user) {
  const own = user !== undefined && user.id === status.userId;
  let rendered = RENDERED.get(status);
  if (rendered === undefined) {
    rendered = { own: undefined, other: undefined };
    RENDERED.set(status, rendered);
  }
  if (own) return (rendered.own ??= flattenHtml(renderStatus(status, true)));
  return (rendered.other ??= flattenHtml(renderStatus(status, false)));
}

function renderStatus(status, own) {
  const time = statusTime(status.createdAt);
  return html`<li class="status" id="status-${status.id}">
<div class="meta"><a href="/u/${status.username}">@${status.username}</a> <time datetime="${time.datetime}">${time.text} UTC</time></div>
<p class="text">${status.text}</p>
${attachment(status)}
${own ? html`<form method="post" action="/statuses/${status.id}/delete" class="inline"><button class="link danger">Delete</button></form>` : ''}
</li>`;
}

function statusList(statuses, user, olderHref) {
  if (statuses.length === 0) return html`<p class="muted">No statuses yet.</p>`;
  return html`<ol class="feed">${statuses.map((status) => statusItem(status, user))}</ol>
${olderHref ? html`<p class="pager"><a href="${olderHref}" rel="next">Older statuses</a></p>` : ''}`;
}

function postForm(draft, messages) {
  return html`<form method="post" action="/statuses" enctype="multipart/form-data" class="post">
<label for="text">What's happening?</label>
<textarea id="text" name="text" maxlength="${MAX_STATUS_CHARACTERS}" rows="3" required>${draft ?? ''}</textarea>
${errors(messages)}
<div class="row"><label>Attachment <input type="file" name="attachment"></label> <button>Post</button></div>
<p class="muted">Images are shown; PDFs, text and other files are offered as downloads. Up to 5 MiB.</p>
</form>`;
}

/** `GET /`: the global feed, with the post form when logged in. */
export function feedPage({ user, statuses, olderHref, draft, messages }) {
  return layout({
    title: 'Feed',
    user,
    body: html`${user ? postForm(draft, messages) : html`<p class="intro"><a href="/register">Register</a> or <a href="/login">log in</a> to post.</p>`}
<h1>Latest statuses</h1>
${statusList(statuses, user, olderHref)}`,
  });
}

/** `GET /u/:username`: one user's statuses. */
export function userPage({ user, owner, statuses, olderHref }) {
  return layout({ title: `@${owner.username}`, user, body: html`<h1>@${owner.username}</h1>\n${statusList(statuses, user, olderHref)}` });
}

function credentialFields({ username, messages, submit, autocomplete }) {
  return html`${errors(messages)}
<label>Username <input name="username" value="${username ?? ''}" autocomplete="username" required minlength="3" maxlength="32" pattern="[A-Za-z0-9_]+"></label>
<label>Password <input type="password" name="password" autocomplete="${autocomplete}" required minlength="8" maxlength="128"></label>
<button>${submit}</button>`;
}

/** `GET|POST /login`. */
export function loginPage({ username, messages } = {}) {
  return layout({
    title: 'Log in',
    body: html`<h1>Log in</h1>
<form method="post" action="/login" class="credentials">${credentialFields({ username, messages, submit: 'Log in', autocomplete: 'current-password' })}</form>
<p>No account? <a href="/register">Register</a>.</p>`,
  });
}

/** `GET|POST /register`. */
export function registerPage({ username, messages } = {}) {
  return layout({
    title: 'Register',
    body: html`<h1>Register</h1>
<form method="post" action="/register" class="credentials">${credentialFields({ username, messages, submit: 'Create account', autocomplete: 'new-password' })}</form>
<p class="muted">3 to 32 letters, digits or _, and a password of 8 characters or more.</p>`,
  });
}

/** A short page for 404s and refused requests. */
export function messagePage({ user, title, message }) {
  return layout({ title, user, body: html`<h1>${title}</h1><p>${message}</p><p><a href="/">Back to the feed</a></p>` });
}
