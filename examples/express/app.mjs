// The reference app on Express.
import { createServer as createHttpServer } from 'node:http';
import express from 'express';
import { rampart } from 'rampart';
import { rampartErrors, rampartExpress, sendResponse } from 'rampart/adapters/express';
import { createFiles, pathAfter, receiveUpload, serveStatic, serveUpload } from '../shared/files.mjs';
import { createState, data, echo, embedOverrides, embedPage, exampleOptions, homePage, searchPage, sessionRoutes } from '../shared/pages.mjs';

function send(res, { status, location, html }) {
  if (location) res.redirect(status, location);
  else res.status(status).type('html').send(html);
}

export function createApp(options) {
  const security = rampart(exampleOptions(options));
  const embeddable = security.headerPolicy(embedOverrides);
  const app = express();
  const form = express.urlencoded({ extended: false, limit: '64kb' });
  const state = createState();
  const files = createFiles(options?.uploadsDirectory);

  app.use(rampartExpress(security));
  app.get('/', (req, res) => {
    res.type('html').send(homePage(req.rampart));
  });
  app.get('/embed', (req, res) => {
    req.rampart.useHeaders(embeddable);
    res.type('html').send(embedPage(req.rampart));
  });
  app.get('/search', (req, res) => {
    res.type('html').send(searchPage(req.rampart, req.query.q));
  });
  app.get('/data.json', (req, res) => {
    res.json(data);
  });
  app.get('/state.json', (req, res) => {
    res.set('cache-control', 'no-store').json(state);
  });
  app.post('/echo', form, (req, res) => {
    send(res, echo(state, req.body?.message, req.rampart));
  });
  app.post('/login', form, async (req, res) => {
    send(res, await sessionRoutes.login(await req.rampart.session(), req.body?.user, req.rampart));
  });
  app.get('/me', async (req, res) => {
    send(res, sessionRoutes.me(await req.rampart.session(), req.rampart));
  });
  app.post('/logout', async (req, res) => {
    send(res, await sessionRoutes.logout(await req.rampart.session()));
  });
  app.post('/upload', async (req, res) => {
    await sendResponse(res, await receiveUpload(files, req));
  });
  app.get('/uploads/:id', async (req, res) => {
    await sendResponse(res, await serveUpload(files, req.params.id, req));
  });
  // Mounted, so `req.url` is what follows /files, still percent-encoded.
  app.use('/files', async (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    await sendResponse(res, await serveStatic(files, pathAfter(req.url, '/'), req));
  });
  app.use(rampartErrors(security));
  return app;
}

export function createServer(options) {
  return createHttpServer(createApp(options));
}
