// The reference app on node:http.
import { createServer as createHttpServer } from 'node:http';
import { rampart } from 'rampart';
import { rampartNode } from 'rampart/adapters/node';
import { data, embedOverrides, embedPage, exampleOptions, homePage } from '../shared/pages.mjs';

export function createServer(options) {
  const security = rampart(exampleOptions(options));
  const embeddable = security.headerPolicy(embedOverrides);

  return createHttpServer(
    rampartNode(security, (req, res, context) => {
      const path = req.url.split('?')[0];
      const reading = req.method === 'GET' || req.method === 'HEAD';
      if (reading && path === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(homePage(context.nonce));
      } else if (reading && path === '/embed') {
        context.useHeaders(embeddable);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(embedPage(context.nonce));
      } else if (reading && path === '/data.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(data));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Not Found\n');
      }
    }),
  );
}
