// The reference app on Fastify.
import Fastify from 'fastify';
import { rampart } from 'rampart';
import { rampartFastify } from 'rampart/adapters/fastify';
import { createFiles, pathAfter, receiveUpload, serveStatic, serveUpload } from '../shared/files.mjs';
import { createState, data, echo, embedOverrides, embedPage, exampleOptions, homePage, searchPage, sessionRoutes } from '../shared/pages.mjs';

function send(reply, { status, location, html }) {
  if (location) return reply.redirect(location, status);
  return reply.code(status).type('text/html; charset=utf-8').send(html);
}

export async function createApp(options) {
  const security = rampart(exampleOptions(options));
  const embeddable = security.headerPolicy(embedOverrides);
  const app = Fastify();
  const state = createState();
  const files = createFiles(options?.uploadsDirectory);

  await app.register(rampartFastify(security));
  // Fastify parses JSON only; login forms are urlencoded.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body)));
  });
  app.get('/', (request, reply) => {
    reply.type('text/html; charset=utf-8').send(homePage(request.rampart));
  });
  app.get('/embed', (request, reply) => {
    request.rampart.useHeaders(embeddable);
    reply.type('text/html; charset=utf-8').send(embedPage(request.rampart));
  });
  app.get('/search', (request, reply) => {
    reply.type('text/html; charset=utf-8').send(searchPage(request.rampart, request.query.q));
  });
  app.get('/data.json', () => data);
  app.get('/state.json', (_request, reply) => reply.header('cache-control', 'no-store').send(state));
  app.post('/echo', (request, reply) => send(reply, echo(state, request.body?.message, request.rampart)));
  app.post('/login', async (request, reply) => send(reply, await sessionRoutes.login(await request.rampart.session(), request.body?.user, request.rampart)));
  app.get('/me', async (request, reply) => send(reply, sessionRoutes.me(await request.rampart.session(), request.rampart)));
  app.post('/logout', async (request, reply) => send(reply, await sessionRoutes.logout(await request.rampart.session())));
  // rampart leaves multipart bodies unread on request.raw.
  app.post('/upload', async (request, reply) => reply.send(await receiveUpload(files, request.raw)));
  // GET and HEAD declared together: Fastify's automatic HEAD route cannot send a Web Response.
  app.route({ method: ['GET', 'HEAD'], url: '/uploads/:id', handler: async (request, reply) => reply.send(await serveUpload(files, request.params.id, request.raw)) });
  app.route({ method: ['GET', 'HEAD'], url: '/files/*', handler: async (request, reply) => reply.send(await serveStatic(files, pathAfter(request.raw.url, '/files/'), request.raw)) });
  return app;
}

export async function createServer(options) {
  const app = await createApp(options);
  await app.ready();
  return app.server;
}
