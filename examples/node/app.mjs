// The reference app on node:http.
import { createServer as createHttpServer } from 'node:http';
import { rampart } from 'rampart';
import { rampartNode, sendResponse } from 'rampart/adapters/node';
import { createFiles, pathAfter, receiveUpload, serveStatic, serveUpload } from '../shared/files.mjs';
import { createState, data, echo, embedOverrides, embedPage, exampleOptions, homePage, searchPage, sessionRoutes } from '../shared/pages.mjs';

const FORM_LIMIT = 64 * 1024;

/** The fields of a urlencoded body of at most 64 KiB; empty for anything else. */
async function readForm(req) {
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) return new URLSearchParams();
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > FORM_LIMIT) return new URLSearchParams();
  }
  return new URLSearchParams(body);
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
  const state = createState();
  const files = createFiles(options?.uploadsDirectory);

  return createHttpServer(
    rampartNode(security, async (req, res, context) => {
      const path = req.url.split('?')[0];
      const reading = req.method === 'GET' || req.method === 'HEAD';
      const posting = req.method === 'POST';
      if (reading && path === '/') {
        // Rendered before writeHead: its CSRF fields may need a cookie in the head.
        const page = homePage(context);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(page);
      } else if (reading && path === '/embed') {
        context.useHeaders(embeddable);
        const page = embedPage(context);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(page);
      } else if (reading && path === '/search') {
        const page = searchPage(context, new URL(req.url, 'http://x').searchParams.get('q'));
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(page);
      } else if (reading && path === '/data.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(data));
      } else if (reading && path === '/state.json') {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(state));
      } else if (posting && path === '/echo') {
        send(res, echo(state, (await readForm(req)).get('message'), context));
      } else if (posting && path === '/login') {
        send(res, await sessionRoutes.login(await context.session(), (await readForm(req)).get('user'), context));
      } else if (reading && path === '/me') {
        send(res, sessionRoutes.me(await context.session(), context));
      } else if (posting && path === '/logout') {
        send(res, await sessionRoutes.logout(await context.session()));
      } else if (posting && path === '/upload') {
        await sendResponse(res, await receiveUpload(files, req));
      } else if (reading && path.startsWith('/uploads/')) {
        await sendResponse(res, await serveUpload(files, path.slice('/uploads/'.length), req));
      } else if (reading && path.startsWith('/files/')) {
        await sendResponse(res, await serveStatic(files, pathAfter(req.url, '/files/'), req));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Not Found\n');
      }
    }),
  );
}
