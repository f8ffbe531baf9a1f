// The reference app on Express.
import { createServer as createHttpServer } from 'node:http';
import express from 'express';
import { rampart } from 'rampart';
import { rampartErrors, rampartExpress } from 'rampart/adapters/express';
import { data, embedOverrides, embedPage, exampleOptions, homePage } from '../shared/pages.mjs';

export function createApp(options) {
  const security = rampart(exampleOptions(options));
  const embeddable = security.headerPolicy(embedOverrides);
  const app = express();

  app.use(rampartExpress(security));
  app.get('/', (req, res) => {
    res.type('html').send(homePage(req.rampart.nonce));
  });
  app.get('/embed', (req, res) => {
    req.rampart.useHeaders(embeddable);
    res.type('html').send(embedPage(res.locals.nonce));
  });
  app.get('/data.json', (req, res) => {
    res.json(data);
  });
  app.use(rampartErrors(security));
  return app;
}

export function createServer(options) {
  return createHttpServer(createApp(options));
}
