// The reference app as a bare Fetch handler: the shape Bun, Deno and Workers serve.
import { createAdaptorServer } from '@hono/node-server';
import { rampart } from 'rampart';
import { rampartFetch } from 'rampart/adapters/fetch';
import { createFiles, pathAfter, receiveUpload, serveStatic, serveUpload } from '../shared/files.mjs';
import { createState, data, echo, embedOverrides, embedPage, exampleOptions, homePage, searchPage, sessionRoutes } from '../shared/pages.mjs';

const html = { 'content-type': 'text/html; charset=utf-8' };

function send({ status, location, html: body }) {
  return location ? new Response(null, { status, headers: { location } }) : new Response(body, { status, headers: html });
}

async function field(request, name) {
  if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers.get('content-type') ?? '')) return undefined;
  const value = (await request.formData()).get(name);
  return typeof value === 'string' ? value : undefined;
}

export function createApp(options) {
  const security = rampart(exampleOptions(options));
  const embeddable = security.headerPolicy(embedOverrides);
  const state = createState();
  const files = createFiles(options?.uploadsDirectory);

  const fetch = rampartFetch(
    security,
    async (request, context) => {
      const { pathname } = new URL(request.url);
      const reading = request.method === 'GET' || request.method === 'HEAD';
      if (reading && pathname === '/') return new Response(homePage(context), { headers: html });
      if (reading && pathname === '/embed') {
        context.useHeaders(embeddable);
        return new Response(embedPage(context), { headers: html });
      }
      if (reading && pathname === '/search') return new Response(searchPage(context, new URL(request.url).searchParams.get('q')), { headers: html });
      if (reading && pathname === '/data.json') return Response.json(data);
      if (reading && pathname === '/state.json') return Response.json(state, { headers: { 'cache-control': 'no-store' } });
      if (request.method === 'POST' && pathname === '/echo') return send(echo(state, await field(request, 'message'), context));
      if (request.method === 'POST' && pathname === '/login') return send(await sessionRoutes.login(await context.session(), await field(request, 'user'), context));
      if (reading && pathname === '/me') return send(sessionRoutes.me(await context.session(), context));
      if (request.method === 'POST' && pathname === '/logout') return send(await sessionRoutes.logout(await context.session()));
      if (request.method === 'POST' && pathname === '/upload') return receiveUpload(files, request);
      if (reading && pathname.startsWith('/uploads/')) return serveUpload(files, pathname.slice('/uploads/'.length), request);
      if (reading && pathname.startsWith('/files/')) return serveStatic(files, pathAfter(pathname, '/files/'), request);
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
