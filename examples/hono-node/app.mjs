// The reference app on Hono served by @hono/node-server, with the Node-specific
// middleware (rampart secures the node response as it is written).
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { rampart } from 'rampart';
import { rampartHonoNode } from 'rampart/adapters/hono-node';
import { data, embedOverrides, embedPage, exampleOptions, homePage } from '../shared/pages.mjs';

export function createApp(options) {
  const security = rampart(exampleOptions(options));
  const embeddable = security.headerPolicy(embedOverrides);
  const app = new Hono();

  app.use(rampartHonoNode(security));
  app.get('/', (c) => c.html(homePage(c.get('rampart').nonce)));
  app.get('/embed', (c) => {
    c.get('rampart').useHeaders(embeddable);
    return c.html(embedPage(c.get('rampart').nonce));
  });
  app.get('/data.json', (c) => c.json(data));
  return app;
}

export function createServer(options) {
  return createAdaptorServer({ fetch: createApp(options).fetch });
}
