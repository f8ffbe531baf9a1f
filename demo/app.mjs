// The status feed on Express: every practice of the seed comes from rampart's
// configuration below; the routes hold only the app's own logic.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { rampart } from 'rampart';
import { rampartErrors, rampartExpress, sendResponse } from 'rampart/adapters/express';
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
 * The app and what it holds open. `options`: `dataDir`, `origin`, and rampart's
 * `mode`, `keys`, `logger` and `trustProxy` (undefined: rampart's defaults).
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
  const files = uploads({
    storage,
    allowedTypes: ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf', 'application/zip', 'text/plain'],
    fileFields: ['attachment'],
    limits: { maxFields: 4, maxFieldBytes: 8 * 1024 },
  });
  const assets = staticFiles({ root: PUBLIC, maxAge: 3600 });

  const app = express();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 });

  app.use(rampartExpress(security));

  // Who is logged in: the user id the sealed session holds.
  app.use(async (req, _res, next) => {
    const session = await req.rampart.session();
    const id = session.get('userId');
    req.user = typeof id === 'number' ? store.userById(id) : undefined;
    if (typeof id === 'number' && !req.user) await session.destroy();
    next();
  });

  app.use('/static', async (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    await sendResponse(res, await assets.serve(req.url.slice(1).split('?')[0], req));
  });

  const page = (res, status, body) => res.status(status).type('html').send(body);

  function showFeed(req, res, status = 200, { draft, messages } = {}) {
    const before = cursor(req.query.before);
    const rows = store.feed(before, PAGE_SIZE + 1);
    const statuses = rows.slice(0, PAGE_SIZE);
    const olderHref = rows.length > PAGE_SIZE ? `/?before=${statuses.at(-1).id}` : undefined;
    page(res, status, feedPage(req.rampart, { user: req.user, statuses, olderHref, draft, messages }));
  }

  app.get('/', (req, res) => showFeed(req, res));

  app.get('/u/:username', (req, res) => {
    const owner = store.userByName(req.params.username);
    if (!owner) return page(res, 404, messagePage(req.rampart, { user: req.user, title: 'No such user', message: 'There is no user of that name.' }));
    const rows = store.userFeed(owner.id, cursor(req.query.before), PAGE_SIZE + 1);
    const statuses = rows.slice(0, PAGE_SIZE);
    const olderHref = rows.length > PAGE_SIZE ? `/u/${encodeURIComponent(owner.username)}?before=${statuses.at(-1).id}` : undefined;
    page(res, 200, userPage(req.rampart, { user: req.user, owner, statuses, olderHref }));
  });

  app.get('/register', (req, res) => page(res, 200, registerPage(req.rampart)));
  app.post('/register', form, async (req, res) => {
    const username = field(req.body?.username);
    const password = field(req.body?.password);
    const messages = [];
    if (!USERNAME.test(username)) messages.push('Choose a username of 3 to 32 letters, digits or _.');
    if (password.length < 8 || password.length > 128) messages.push('Choose a password of 8 to 128 characters.');
    if (messages.length > 0) return page(res, 422, registerPage(req.rampart, { username, messages }));
    const id = store.createUser(username, await hashPassword(password));
    if (id === undefined) return page(res, 409, registerPage(req.rampart, { username, messages: ['That username is taken.'] }));
    await logIn(req, id);
    res.redirect(303, '/');
  });

  app.get('/login', (req, res) => page(res, 200, loginPage(req.rampart)));
  app.post('/login', form, async (req, res) => {
    const username = field(req.body?.username);
    const password = field(req.body?.password);
    const user = USERNAME.test(username) ? store.userByName(username) : undefined;
    // The password is checked even for an unknown user: the time taken says nothing.
    const valid = await verifyPassword(password.slice(0, 128), user?.passwordHash);
    if (!user || !valid) return page(res, 401, loginPage(req.rampart, { username, messages: ['Wrong username or password.'] }));
    await logIn(req, user.id);
    res.redirect(303, '/');
  });

  app.post('/logout', async (req, res) => {
    await (await req.rampart.session()).destroy();
    res.redirect(303, '/');
  });

  app.post('/statuses', async (req, res) => {
    if (!req.user) return page(res, 401, messagePage(req.rampart, { title: 'Log in first', message: 'Log in to post a status.' }));
    let received;
    try {
      received = await files.receive(req);
    } catch (error) {
      const message = isRampartError(error) ? UPLOAD_MESSAGES[error.code] : undefined;
      if (message === undefined) throw error;
      return showFeed(req, res, error.status, { messages: [message] });
    }
    const text = field(received.fields.get('text')).trim();
    const attachment = received.file('attachment');
    const length = [...text].length;
    if (length === 0 || length > MAX_STATUS_CHARACTERS) {
      if (attachment) await files.remove(attachment.id);
      return showFeed(req, res, 422, { draft: text, messages: [length === 0 ? 'Write something first.' : `A status is at most ${MAX_STATUS_CHARACTERS} characters.`] });
    }
    try {
      store.addStatus(req.user.id, text, attachment);
    } catch (error) {
      if (attachment) await files.remove(attachment.id);
      throw error;
    }
    res.redirect(303, '/');
  });

  app.post('/statuses/:id/delete', async (req, res) => {
    if (!req.user) return page(res, 401, messagePage(req.rampart, { title: 'Log in first', message: 'Log in to delete your statuses.' }));
    const id = /^[1-9]\d{0,15}$/.test(req.params.id) ? Number(req.params.id) : undefined;
    const deleted = id === undefined ? undefined : store.deleteStatus(id, req.user.id);
    if (!deleted) return page(res, 404, messagePage(req.rampart, { user: req.user, title: 'Not found', message: 'You have no status with that id.' }));
    if (deleted.attachmentId) await files.remove(deleted.attachmentId);
    res.redirect(303, '/');
  });

  app.get('/attachments/:id', async (req, res) => {
    await sendResponse(res, await files.serve(req.params.id, req));
  });

  app.use((req, res) => page(res, 404, messagePage(req.rampart, { user: req.user, title: 'Not found', message: 'There is no page here.' })));
  app.use(rampartErrors(security));

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

/** A session for the user that just proved who they are: a new session id (the old one revoked). */
async function logIn(req, userId) {
  const session = await req.rampart.session();
  await session.regenerate();
  session.set('userId', userId);
}

/** A form field as a string ('' when absent or repeated). */
function field(value) {
  return typeof value === 'string' ? value : '';
}

/** The `before` cursor of a feed page: a status id, or past the newest. */
function cursor(value) {
  return typeof value === 'string' && /^[1-9]\d{0,15}$/.test(value) ? Number(value) : Number.MAX_SAFE_INTEGER;
}
