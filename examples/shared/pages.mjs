// The pages of the reference app, the same on every adapter. Until rampart's `html`
// templates exist these are strings built by hand: every value from a request is
// escaped here, and every POST form starts with its CSRF field.
import { MemorySessionStore } from 'rampart/session';

/** `GET /`: a page whose inline script runs only because it carries the response's nonce, and two forms. */
export function homePage(context) {
  const nonce = context.nonce;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rampart reference app</title>
<style nonce="${nonce}">body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 40rem; }</style>
</head>
<body>
<h1>rampart reference app</h1>
<p id="status">inline script did not run</p>
<script nonce="${nonce}">document.getElementById('status').textContent = 'inline script ran';</script>
<form method="post" action="/echo">
${context.csrfField()}
<label>Message <input name="message" required></label>
<button>Echo</button>
</form>
<form method="post" action="/login">
${context.csrfField()}
<label>User <input name="user" autocomplete="username" required></label>
<button>Log in</button>
</form>
</body>
</html>
`;
}

/** `GET /embed`: a page this site lets its own origin frame (a per-route header policy). */
export function embedPage(nonce) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>embeddable widget</title></head>
<body>
<p id="widget">widget</p>
<script nonce="${nonce}">document.getElementById('widget').textContent = 'widget ready';</script>
</body>
</html>
`;
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
  return { reports: { sink: () => {} }, session: { store: new MemorySessionStore() }, ...options };
}

/** User names the reference app accepts at `POST /login`. */
const USER = /^[A-Za-z0-9_.-]{1,64}$/;

/** The user name of a login form's `user` field, or `undefined` when it is not one. */
export function userFrom(value) {
  return typeof value === 'string' && USER.test(value) ? value : undefined;
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
function escape(text) {
  return String(text).replace(/[&<>"']/g, (character) => ESCAPES[character]);
}

/**
 * The session routes, written once: each adapter reads the form its own way and
 * passes the session and the `user` field. Each returns `{ status, location?, html? }`.
 */
export const sessionRoutes = {
  /** `POST /login`: a new session id (the old one revoked), then the user. */
  async login(session, field) {
    const user = userFrom(field);
    if (user === undefined) return { status: 400, html: messagePage('Bad request', 'The user field must be 1 to 64 letters, digits, ".", "_" or "-".') };
    await session.regenerate();
    session.set('user', user);
    return { status: 303, location: '/me' };
  },
  /** `GET /me`: who the session says is logged in, or 401. */
  me(session, context) {
    const user = session.get('user');
    if (user === undefined) return { status: 401, html: messagePage('Not logged in', 'Log in first.') };
    return { status: 200, html: mePage(user, context) };
  },
  /** `POST /logout`: ends the session (revoked in the store) and deletes its cookie. */
  async logout(session) {
    await session.destroy();
    return { status: 303, location: '/' };
  },
};

function mePage(user, context) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Logged in</title></head>
<body>
<p>Logged in as <strong id="user">${escape(user)}</strong>.</p>
<form method="post" action="/logout">${context.csrfField()}<button>Log out</button></form>
</body>
</html>
`;
}

function messagePage(title, message) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><h1>${escape(title)}</h1><p>${escape(message)}</p></body>
</html>
`;
}

/**
 * What the CSRF tests watch: how many echoes this app instance accepted, and the
 * last message. A forged request that got through would show here.
 */
export function createState() {
  return { echoes: 0, lastMessage: null };
}

/** `POST /echo`: counts the echo and shows the message back (escaped in text, attribute and URL). */
export function echo(state, message) {
  if (typeof message !== 'string' || message.length > 1000) return { status: 400, html: messagePage('Bad request', 'The message field must be at most 1000 characters.') };
  state.echoes += 1;
  state.lastMessage = message;
  return {
    status: 200,
    html: `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Echo</title></head>
<body>
<p id="message">${escape(message)}</p>
<p><input id="again" value="${escape(message)}"> <a id="search" href="/?q=${escape(encodeURIComponent(message))}">search</a></p>
</body>
</html>
`,
  };
}
