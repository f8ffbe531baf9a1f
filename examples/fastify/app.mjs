// The reference app on Fastify.
import Fastify from 'fastify';
import { rampart } from 'rampart';
import { rampartFastify } from 'rampart/adapters/fastify';
import { data, embedOverrides, embedPage, exampleOptions, homePage } from '../shared/pages.mjs';

export async function createApp(options) {
  const security = rampart(exampleOptions(options));
  const embeddable = security.headerPolicy(embedOverrides);
  const app = Fastify();

  await app.register(rampartFastify(security));
  app.get('/', (request, reply) => {
    reply.type('text/html; charset=utf-8').send(homePage(request.rampart.nonce));
  });
  app.get('/embed', (request, reply) => {
    request.rampart.useHeaders(embeddable);
    reply.type('text/html; charset=utf-8').send(embedPage(request.rampart.nonce));
  });
  app.get('/data.json', () => data);
  return app;
}

export async function createServer(options) {
  const app = await createApp(options);
  await app.ready();
  return app.server;
}
