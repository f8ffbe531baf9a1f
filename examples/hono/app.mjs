// The reference app on Hono (served by @hono/node-server here; the app itself runs anywhere Hono does).
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { rampart } from 'rampart';
import { rampartHono } from 'rampart/adapters/hono';
import { data, embedOverrides, embedPage, exampleOptions, homePage } from '../shared/pages.mjs';

// `middleware` is rampartHono here; examples/hono-node passes rampartHonoNode.
export function createApp(options, middleware = rampartHono) {
  const security = rampart(exampleOptions(options));
  const embeddable = security.headerPolicy(embedOverrides);
  const app = new Hono();

  app.use(middleware(security));
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
