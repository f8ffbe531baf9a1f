// The pages of the reference app, the same on every adapter, all made with rampart's
// `html` templates: every value is escaped for where it lands, every <script> and
// <style> gets the response's nonce, and every POST form starts with its CSRF field,
// when `context.render(page)` turns the template into the response body.
import { html } from 'rampart/html';
import { MemorySessionStore } from 'rampart/session';

const STYLE = html`<style>body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 40rem; }</style>`;

function layout(title, body) {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
${STYLE}
</head>
<body>
${body}
</body>
</html>
`;
}

/** `GET /`: a page whose inline script runs only because it carries the response's nonce, and two forms. */
export function homePage(context) {
  return context.render(
    layout(
      'rampart reference app',
      html`<h1>rampart reference app</h1>
<p id="status">inline script did not run</p>
<script>document.getElementById('status').textContent = 'inline script ran';</script>
<form method="post" action="/echo">
<label>Message <input name="message" required></label>
<button>Echo</button>
</form>
<form method="post" action="/login">
<label>User <input name="user" autocomplete="username" required></label>
<button>Log in</button>
</form>
<form method="post" action="/upload" enctype="multipart/form-data">
<label>File <input type="file" name="file" required></label>
<button>Upload</button>
</form>
<form method="get" action="/search">
<label>Search <input name="q"></label>
<button>Search</button>
</form>
<p><a href="/files/hello.txt">A static file</a></p>`,
    ),
  );
}

/** `GET /search?q=`: reads only; the query shown back in a text, an attribute and a URL slot. */
export function searchPage(context, query) {
  const q = typeof query === 'string' ? query.slice(0, 200) : '';
  return context.render(
    layout('Search', html`<h1>Results for <span id="query">${q}</span></h1>
<form method="get" action="/search"><input name="q" value="${q}"><button>Search</button></form>
<p><a href="/search?q=${q}">this search</a></p>`),
  );
}

/** `GET /embed`: a page this site lets its own origin frame (a per-route header policy). */
export function embedPage(context) {
  return context.render(
    layout('embeddable widget', html`<p id="widget">widget</p>
<script>document.getElementById('widget').textContent = 'widget ready';</script>`),
  );
}

/** The per-route header overrides of `GET /embed`. */
export const embedOverrides = {
  xFrameOptions: 'SAMEORIGIN',
  contentSecurityPolicy: { set: { 'frame-ancestors': ["'self'"] } },
};

/** `GET /data.json`: a non-HTML response, which gets the minimal header set. */
export const data = { ok: true, service: 'rampart reference app' };

/** Options every example starts from; tests and `run.mjs` add to them. */
export function exampleOptions(options = {}) {
  // `uploadsDirectory` is the app's own option (see shared/files.mjs), not rampart's.
  const { uploadsDirectory: _uploadsDirectory, ...rest } = options;
  return { reports: { sink: () => {} }, session: { store: new MemorySessionStore() }, ...rest };
}

/** User names the reference app accepts at `POST /login`. */
const USER = /^[A-Za-z0-9_.-]{1,64}$/;

/** The user name of a login form's `user` field, or `undefined` when it is not one. */
export function userFrom(value) {
  return typeof value === 'string' && USER.test(value) ? value : undefined;
}

function messagePage(context, title, message) {
  return context.render(layout(title, html`<h1>${title}</h1><p>${message}</p>`));
}

/**
 * The session routes, written once: each adapter reads the form its own way and
 * passes the session, the context and the `user` field. Each returns `{ status, location?, html? }`.
 */
export const sessionRoutes = {
  /** `POST /login`: a new session id (the old one revoked), then the user. */
  async login(session, field, context) {
    const user = userFrom(field);
    if (user === undefined) return { status: 400, html: messagePage(context, 'Bad request', 'The user field must be 1 to 64 letters, digits, ".", "_" or "-".') };
    await session.regenerate();
    session.set('user', user);
    return { status: 303, location: '/me' };
  },
  /** `GET /me`: who the session says is logged in, or 401. */
  me(session, context) {
    const user = session.get('user');
    if (user === undefined) return { status: 401, html: messagePage(context, 'Not logged in', 'Log in first.') };
    return {
      status: 200,
      html: context.render(
        layout('Logged in', html`<p>Logged in as <strong id="user">${user}</strong>.</p>
<form method="post" action="/logout"><button>Log out</button></form>`),
      ),
    };
  },
  /** `POST /logout`: ends the session (revoked in the store) and deletes its cookie. */
  async logout(session) {
    await session.destroy();
    return { status: 303, location: '/' };
  },
};

/**
 * What the CSRF tests watch: how many echoes this app instance accepted, and the
 * last message. A forged request that got through would show here.
 */
export function createState() {
  return { echoes: 0, lastMessage: null };
}

/** `POST /echo`: counts the echo and shows the message back in a text, an attribute and a URL slot. */
export function echo(state, message, context) {
  if (typeof message !== 'string' || message.length > 1000) {
    return { status: 400, html: messagePage(context, 'Bad request', 'The message field must be at most 1000 characters.') };
  }
  state.echoes += 1;
  state.lastMessage = message;
  return {
    status: 200,
    html: context.render(
      layout('Echo', html`<p id="message">${message}</p>
<p><input id="again" value="${message}"> <a id="link" href="${message}">as a link</a> <a id="search" href="/?q=${message}">search</a></p>
<form method="post" action="/echo"><input name="message" value="${message}"><button>Again</button></form>`),
    ),
  };
}
