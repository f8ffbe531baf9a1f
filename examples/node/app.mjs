// The reference app on node:http.
import { createServer as createHttpServer } from 'node:http';
import { rampart } from 'rampart';
import { rampartNode } from 'rampart/adapters/node';
import { data, embedOverrides, embedPage, exampleOptions, homePage, sessionRoutes } from '../shared/pages.mjs';

const FORM_LIMIT = 4096;

/** The `user` field of a urlencoded body of at most 4 KiB; `undefined` for anything else. */
async function readUserField(req) {
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) return undefined;
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > FORM_LIMIT) return undefined;
  }
  return new URLSearchParams(body).get('user') ?? undefined;
}

function send(res, { status, location, html }) {
  if (location) {
    res.writeHead(status, { location });
    res.end();
  } else {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  }
}

export function createServer(options) {
  const security = rampart(exampleOptions(options));
  const embeddable = security.headerPolicy(embedOverrides);

  return createHttpServer(
    rampartNode(security, async (req, res, context) => {
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
      } else if (req.method === 'POST' && path === '/login') {
        send(res, await sessionRoutes.login(await context.session(), await readUserField(req)));
      } else if (reading && path === '/me') {
        send(res, sessionRoutes.me(await context.session()));
      } else if (req.method === 'POST' && path === '/logout') {
        send(res, await sessionRoutes.logout(await context.session()));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Not Found\n');
      }
    }),
  );
}
