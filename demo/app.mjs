// The status feed on node:http: every practice of the seed comes from rampart's
// configuration below; the routes hold only the app's own logic.
//
// node:http rather than Express: on this project's 2-core machines Express 5 costs about
// 100 µs of CPU per request before the app does anything, more than the whole feed page
// costs here (bench/RESULTS.md). rampart works the same on both (`rampartExpress`).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rampart } from 'rampart';
import { rampartNode, sendHtml, sendResponse } from 'rampart/adapters/node';
import { isRampartError } from 'rampart/errors';
import { staticFiles } from 'rampart/paths/static';
import { uploads } from 'rampart/uploads';
import { diskStorage } from 'rampart/uploads/disk';
import { openDatabase } from './db.mjs';
import { feedPage, loginPage, MAX_STATUS_CHARACTERS, messagePage, registerPage, userPage } from './pages.mjs';
import { hashPassword, verifyPassword } from './passwords.mjs';

const PAGE_SIZE = 20;
const USERNAME = /^[A-Za-z0-9_]{3,32}$/;
const PUBLIC = fileURLToPath(new URL('public', import.meta.url));

/** What the post form says when rampart refuses an upload. */
const UPLOAD_MESSAGES = {
  upload_file_too_large: 'That file is too large: 5 MiB at most.',
  upload_too_large: 'That post is too large: 5 MiB at most.',
  upload_type_not_allowed: 'That type of file is not allowed: images (PNG, JPEG, GIF, WebP), PDF, ZIP or text.',
  upload_file_empty: 'That file is empty.',
};

/**
 * The app and what it holds open: `app` is the node:http request listener. `options`:
 * `dataDir`, `origin`, and rampart's `mode`, `keys`, `logger` and `trustProxy`
 * (undefined: rampart's defaults).
 */
export function createDemo({ dataDir, origin, mode, keys, logger, trustProxy }) {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = openDatabase(join(dataDir, 'feed.db'));
  const security = rampart({
    ...(mode ? { mode } : {}),
    ...(keys ? { keys } : {}),
    ...(logger ? { logger } : {}),
    ...(trustProxy !== undefined ? { trustProxy } : {}),
    origin,
    session: { store: store.sessionStore() },
    html: { strict: true },
  });
  const storage = diskStorage({ directory: join(dataDir, 'uploads') });
  // The status form: its text and one attachment.
  const statusForm = uploads({
    storage,
    allowedTypes: ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'application/zip', 'text/plain'],
    fileFields: ['attachment'],
    limits: { maxFields: 4, maxFieldBytes: 8 * 1024 },
  });
  // The other forms: a few short fields, no file.
  const smallForm = statusForm.withOptions({ fileFields: [], limits: { maxBodyBytes: 16 * 1024, maxFields: 10, maxFieldBytes: 1024 } });
  const assets = staticFiles({ root: PUBLIC, maxAge: 3600 });

  function showFeed(request, status = 200, { draft, messages } = {}) {
    const rows = store.feed(cursor(request.query?.get('before')), PAGE_SIZE + 1);
    const statuses = rows.slice(0, PAGE_SIZE);
    const olderHref = rows.length > PAGE_SIZE ? `/?before=${statuses.at(-1).id}` : undefined;
    page(request, status, feedPage({ user: request.user, statuses, olderHref, draft, messages }));
  }

  function notFound(request, title = 'Not found', message = 'There is no page here.') {
    page(request, 404, messagePage({ user: request.user, title, message }));
  }

  /**
   * Method, path pattern, handler(request, ...the pattern's groups, undecoded), and
   * whether the page needs the logged-in user (its session read). GET routes answer HEAD.
   */
  const routes = [
    ['GET', /^\/$/, (request) => showFeed(request)],

    ['GET', /^\/u\/([^/]+)$/, (request, segment) => {
      const name = decodeSegment(segment);
      const owner = name !== undefined && USERNAME.test(name) ? store.userByName(name) : undefined;
      if (!owner) return notFound(request, 'No such user', 'There is no user of that name.');
      const rows = store.userFeed(owner.id, cursor(request.query?.get('before')), PAGE_SIZE + 1);
      const statuses = rows.slice(0, PAGE_SIZE);
      const olderHref = rows.length > PAGE_SIZE ? `/u/${encodeURIComponent(owner.username)}?before=${statuses.at(-1).id}` : undefined;
      page(request, 200, userPage({ user: request.user, owner, statuses, olderHref }));
    }],

    ['GET', /^\/register$/, (request) => page(request, 200, registerPage())],
    ['POST', /^\/register$/, async (request) => {
      const { fields } = await smallForm.receive(request.req);
      const username = field(fields, 'username');
      const password = field(fields, 'password');
      const messages = [];
      if (!USERNAME.test(username)) messages.push('Choose a username of 3 to 32 letters, digits or _.');
      if (password.length < 8 || password.length > 128) messages.push('Choose a password of 8 to 128 characters.');
      if (messages.length > 0) return page(request, 422, registerPage({ username, messages }));
      const id = store.createUser(username, await hashPassword(password));
      if (id === undefined) return page(request, 409, registerPage({ username, messages: ['That username is taken.'] }));
      await logIn(request.context, id);
      redirect(request, '/');
    }],

    ['GET', /^\/login$/, (request) => page(request, 200, loginPage())],
    ['POST', /^\/login$/, async (request) => {
      const { fields } = await smallForm.receive(request.req);
      const username = field(fields, 'username');
      const password = field(fields, 'password');
      const user = USERNAME.test(username) ? store.userByName(username) : undefined;
      // The password is checked even for an unknown user: the time taken says nothing.
      const valid = await verifyPassword(password.slice(0, 128), user?.passwordHash);
      if (!user || !valid) return page(request, 401, loginPage({ username, messages: ['Wrong username or password.'] }));
      await logIn(request.context, user.id);
      redirect(request, '/');
    }],

    ['POST', /^\/logout$/, async (request) => {
      await (await request.context.session()).destroy();
      redirect(request, '/');
    }],

    ['POST', /^\/statuses$/, async (request) => {
      if (!request.user) return page(request, 401, messagePage({ title: 'Log in first', message: 'Log in to post a status.' }));
      let received;
      try {
        received = await statusForm.receive(request.req);
      } catch (error) {
        const message = isRampartError(error) ? UPLOAD_MESSAGES[error.code] : undefined;
        if (message === undefined) throw error;
        return showFeed(request, error.status, { messages: [message] });
      }
      const text = field(received.fields, 'text').trim();
      const attachment = received.file('attachment');
      const length = [...text].length;
      if (length === 0 || length > MAX_STATUS_CHARACTERS) {
        if (attachment) await statusForm.remove(attachment.id);
        return showFeed(request, 422, { draft: text, messages: [length === 0 ? 'Write something first.' : `A status is at most ${MAX_STATUS_CHARACTERS} characters.`] });
      }
      try {
        await store.addStatus(request.user.id, text, attachment);
      } catch (error) {
        if (attachment) await statusForm.remove(attachment.id);
        throw error;
      }
      redirect(request, '/');
    }],

    ['POST', /^\/statuses\/([^/]+)\/delete$/, async (request, rawId) => {
      if (!request.user) return page(request, 401, messagePage({ title: 'Log in first', message: 'Log in to delete your statuses.' }));
      const id = /^[1-9]\d{0,15}$/.test(rawId) ? Number(rawId) : undefined;
      const deleted = id === undefined ? undefined : store.deleteStatus(id, request.user.id);
      if (!deleted) return notFound(request, 'Not found', 'You have no status with that id.');
      if (deleted.attachmentId) await statusForm.remove(deleted.attachmentId);
      redirect(request, '/');
    }],

    ['GET', /^\/attachments\/([^/]+)$/, async (request, id) => {
      await sendResponse(request.res, await statusForm.serve(id, request.req));
    }, { user: false }],

    // The path as it came: staticFiles decodes it once, and refuses what decodes to a way out.
    ['GET', /^\/static\/(.+)$/, async (request, path) => {
      await sendResponse(request.res, await assets.serve(path, request.req));
    }, { user: false }],
  ];

  const app = rampartNode(security, async (req, res, context) => {
    const target = originForm(req.url ?? '/');
    const mark = target.indexOf('?');
    const path = mark === -1 ? target : target.slice(0, mark);
    const request = { req, res, context, user: undefined, query: mark === -1 ? undefined : new URLSearchParams(target.slice(mark + 1)) };
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const allowed = [];
    for (const [routeMethod, pattern, handler, options] of routes) {
      const match = pattern.exec(path);
      if (match === null) continue;
      if (routeMethod !== method) {
        allowed.push(routeMethod === 'GET' ? 'GET, HEAD' : routeMethod);
        continue;
      }
      if (options?.user !== false) request.user = await currentUser(context);
      return handler(request, ...match.slice(1));
    }
    request.user = await currentUser(context);
    if (allowed.length === 0) return notFound(request);
    res.setHeader('allow', allowed.join(', '));
    page(request, 405, messagePage({ user: request.user, title: 'Method not allowed', message: `This page takes ${allowed.join(', ')}.` }));
  });

  /** The logged-in user: the user id the sealed session holds (a session of a removed user is ended). */
  async function currentUser(context) {
    const session = await context.session();
    const id = session.get('userId');
    if (typeof id !== 'number') return undefined;
    const user = store.userById(id);
    if (!user) await session.destroy();
    return user;
  }

  return {
    app,
    /**
     * Removes stored attachments no status refers to: what a crash between storing a
     * file and recording its status left behind. Run once at start, before serving.
     */
    async sweepAttachments() {
      const referenced = store.attachmentIds();
      let removed = 0;
      for (const id of await storage.list()) {
        if (referenced.has(id)) continue;
        await storage.remove(id);
        removed++;
      }
      return removed;
    },
    close() {
      store.close();
    },
  };
}

/** A page made with `html`, rendered for this response (its forms' CSRF fields). */
function page({ res }, status, body) {
  sendHtml(res, body, { status });
}

/** After a POST: see the result with a GET. */
function redirect({ res }, location) {
  res.writeHead(303, { location, 'content-length': 0 });
  res.end();
}

/** A session for the user that just proved who they are: a new session id (the old one revoked). */
async function logIn(context, userId) {
  const session = await context.session();
  await session.regenerate();
  session.set('userId', userId);
}

/** A form field as a string ('' when absent). */
function field(fields, name) {
  return fields.get(name) ?? '';
}

/** The path and query of a request target, also of the absolute form (`GET http://host/path`) proxies send. */
function originForm(target) {
  if (target.startsWith('/') || !URL.canParse(target)) return target;
  const { pathname, search } = new URL(target);
  return pathname + search;
}

/** A path segment, percent-decoded; `undefined` when malformed. */
function decodeSegment(segment) {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The `before` cursor of a feed page: a status id, or the newest. */
function cursor(value) {
  return typeof value === 'string' && /^[1-9]\d{0,15}$/.test(value) ? Number(value) : Number.MAX_SAFE_INTEGER;
}
