// The reference app as a bare Fetch handler: the shape Bun, Deno and Workers serve.
import { createAdaptorServer } from '@hono/node-server';
import { rampart } from 'rampart';
import { rampartFetch } from 'rampart/adapters/fetch';
import { data, embedOverrides, embedPage, exampleOptions, homePage } from '../shared/pages.mjs';

const html = { 'content-type': 'text/html; charset=utf-8' };

export function createApp(options) {
  const security = rampart(exampleOptions(options));
  const embeddable = security.headerPolicy(embedOverrides);

  const fetch = rampartFetch(
    security,
    (request, context) => {
      const { pathname } = new URL(request.url);
      const reading = request.method === 'GET' || request.method === 'HEAD';
      if (reading && pathname === '/') return new Response(homePage(context.nonce), { headers: html });
      if (reading && pathname === '/embed') {
        context.useHeaders(embeddable);
        return new Response(embedPage(context.nonce), { headers: html });
      }
      if (reading && pathname === '/data.json') return Response.json(data);
      return new Response('Not Found\n', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    },
    // Under @hono/node-server the socket is passed beside the request: it, not the
    // request URL (which keeps an absolute target as the client wrote it), says TLS.
    {
      clientAddress: (_request, env) => env?.incoming?.socket?.remoteAddress,
      secure: (request, env) => (env?.incoming ? env.incoming.socket.encrypted === true : request.url.startsWith('https:')),
    },
  );
  return { fetch };
}

export function createServer(options) {
  return createAdaptorServer({ fetch: createApp(options).fetch });
}
