// The reference app on Hono (served by @hono/node-server here; the app itself runs anywhere Hono does).
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { rampart } from 'rampart';
import { rampartHono } from 'rampart/adapters/hono';
import { createFiles, pathAfter, receiveUpload, serveStatic, serveUpload } from '../shared/files.mjs';
import { createState, data, echo, embedOverrides, embedPage, exampleOptions, homePage, searchPage, sessionRoutes } from '../shared/pages.mjs';

function send(c, { status, location, html }) {
  return location ? c.redirect(location, status) : c.html(html, status);
}

async function field(c, name) {
  if (!/^application\/x-www-form-urlencoded\b/i.test(c.req.header('content-type') ?? '')) return undefined;
  const form = await c.req.parseBody();
  return typeof form[name] === 'string' ? form[name] : undefined;
}

// `middleware` is rampartHono here; examples/hono-node passes rampartHonoNode.
export function createApp(options, middleware = rampartHono) {
  const security = rampart(exampleOptions(options));
  const embeddable = security.headerPolicy(embedOverrides);
  const app = new Hono();
  const state = createState();
  const files = createFiles(options?.uploadsDirectory);

  app.use(middleware(security));
  app.get('/', (c) => c.html(homePage(c.get('rampart'))));
  app.get('/embed', (c) => {
    c.get('rampart').useHeaders(embeddable);
    return c.html(embedPage(c.get('rampart')));
  });
  app.get('/search', (c) => c.html(searchPage(c.get('rampart'), c.req.query('q'))));
  app.get('/data.json', (c) => c.json(data));
  app.get('/state.json', (c) => c.json(state, 200, { 'cache-control': 'no-store' }));
  app.post('/echo', async (c) => send(c, echo(state, await field(c, 'message'), c.get('rampart'))));
  app.post('/login', async (c) => send(c, await sessionRoutes.login(await c.get('rampart').session(), await field(c, 'user'), c.get('rampart'))));
  app.get('/me', async (c) => send(c, sessionRoutes.me(await c.get('rampart').session(), c.get('rampart'))));
  app.post('/logout', async (c) => send(c, await sessionRoutes.logout(await c.get('rampart').session())));
  app.post('/upload', (c) => receiveUpload(files, c.req.raw));
  app.get('/uploads/:id', (c) => serveUpload(files, c.req.param('id'), c.req.raw));
  app.get('/files/*', (c) => serveStatic(files, pathAfter(new URL(c.req.url).pathname, '/files/'), c.req.raw));
  return app;
}

export function createServer(options) {
  return createAdaptorServer({ fetch: createApp(options).fetch });
}
