/**
 * What each adapter must do beyond the reference app: translate errors thrown by
 * handlers, respect headers handlers set, strip retired ones, and expose the
 * context in the framework's idiom.
 */

import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RampartError } from '../errors.ts';
import { html } from '../html/html.ts';
import { rampart, type RequestContext } from '../rampart.ts';
import { rampartErrors, rampartExpress, sendHtml as sendExpressHtml } from './express.ts';
import { protectUnhooked } from './_node/response.ts';
import { rampartFastify } from './fastify.ts';
import { rampartFetch } from './fetch.ts';
import { rampartHono, type RampartVariables } from './hono.ts';
import { rampartHonoNode } from './hono-node.ts';
import { contextOf, rampartNode, sendHtml } from './node.ts';

const logged: unknown[] = [];
const security = () =>
  rampart({
    keys: 'nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s',
    cookies: { outgoing: 'enforce' },
    logger: { warn: () => {}, error: (_message, error) => void logged.push(error) },
  });

/** The routes every adapter app implements, as framework-neutral behaviour. */
type Route = '/coded' | '/crash' | '/async-crash' | '/own-headers' | '/context' | '/cookies';
const SECRET = 'connection string postgres://admin:hunter2@db';

function ownHeaders(): [string, string][] {
  return [
    ['content-type', 'text/html; charset=utf-8'],
    ['x-frame-options', 'SAMEORIGIN'],
    ['content-security-policy', "default-src 'self'"],
    ['x-powered-by', 'PHP/5.2'],
    ['public-key-pins', 'pin-sha256="abc"; max-age=10'],
  ];
}

/** `/cookies` sets these itself (the first without any flag), and stores a user in the session. */
const APP_COOKIES = ['theme=dark', 'lang=en; Secure; HttpOnly; SameSite=Strict'];
/** `/cookies` also asks CDNs to store it: the fields they obey instead of Cache-Control. */
const SHARED_CACHE_FIELDS: [string, string][] = [
  ['cdn-cache-control', 'public, max-age=600'],
  ['surrogate-control', 'max-age=600'],
];
async function storeUser(context: RequestContext): Promise<void> {
  (await context.session()).set('user', 'alice');
}

/** The routes that throw, the same in every app: a rampart error and a crash thrown synchronously, a crash after an await. */
const FAILING: Record<'/coded' | '/crash' | '/async-crash', () => Promise<never>> = {
  '/coded': () => {
    throw new RampartError('csp_report_malformed');
  },
  '/crash': () => {
    throw new Error(SECRET);
  },
  '/async-crash': async () => {
    await Promise.resolve();
    throw new Error(SECRET);
  },
};

async function honoServer(middleware: typeof rampartHono): Promise<Server> {
    const app = new Hono<{ Variables: RampartVariables }>();
    app.use(middleware(security()));
    for (const [path, fail] of Object.entries(FAILING)) app.get(path, fail);
    app.get('/own-headers', () => new Response('<p>own</p>', { headers: ownHeaders() }));
    app.get('/context', (c) => c.json({ nonce: c.get('rampart').nonce, same: true }));
    app.get('/cookies', async (c) => {
      await storeUser(c.get('rampart'));
      for (const cookie of APP_COOKIES) c.header('set-cookie', cookie, { append: true });
      for (const [field, value] of SHARED_CACHE_FIELDS) c.header(field, value);
      return c.text('ok');
    });
    // Hono's default error handler leaks nothing but says 500; we only check our own codes pass through.
    app.onError((_error, c) => c.text('Internal Server Error\n', 500));
    return createAdaptorServer({ fetch: app.fetch }) as Server;
  }

const builders: Record<string, () => Promise<Server>> = {
  async node() {
    return createServer(
      rampartNode(security(), async (req, res, context) => {
        const route = req.url as Route;
        if (route in FAILING) return FAILING[route as keyof typeof FAILING]();
        if (route === '/own-headers') {
          for (const [name, value] of ownHeaders()) res.setHeader(name, value);
          res.end('<p>own</p>');
          return;
        }
        if (route === '/cookies') {
          await storeUser(context);
          res.setHeader('set-cookie', APP_COOKIES);
          for (const [field, value] of SHARED_CACHE_FIELDS) res.setHeader(field, value);
          res.end('ok');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ nonce: context.nonce, same: contextOf(req) === context }));
      }),
    );
  },
  async express() {
    const app = express();
    app.use(rampartExpress(security()));
    for (const [path, fail] of Object.entries(FAILING)) app.get(path, fail);
    app.get('/own-headers', (_req, res) => {
      for (const [name, value] of ownHeaders()) res.setHeader(name, value);
      res.send('<p>own</p>');
    });
    app.get('/cookies', async (req, res) => {
      await storeUser(req.rampart);
      for (const cookie of APP_COOKIES) res.append('Set-Cookie', cookie);
      for (const [field, value] of SHARED_CACHE_FIELDS) res.set(field, value);
      res.send('ok');
    });
    app.get('/context', (req, res) => {
      res.json({ nonce: req.rampart.nonce, same: res.locals.rampart === req.rampart && res.locals.nonce === req.rampart.nonce });
    });
    app.use(rampartErrors(security()));
    return createServer(app);
  },
  async fastify() {
    const app = Fastify();
    await app.register(rampartFastify(security()));
    for (const [path, fail] of Object.entries(FAILING)) app.get(path, fail);
    app.get('/own-headers', (_request, reply) => {
      for (const [name, value] of ownHeaders()) reply.header(name, value);
      reply.send('<p>own</p>');
    });
    app.get('/context', (request) => ({ nonce: request.rampart.nonce, same: true }));
    app.get('/cookies', async (request, reply) => {
      await storeUser(request.rampart);
      reply.header('set-cookie', APP_COOKIES);
      for (const [field, value] of SHARED_CACHE_FIELDS) reply.header(field, value);
      return 'ok';
    });
    await app.ready();
    return app.server;
  },
  async hono() {
    return honoServer(rampartHono);
  },
  async 'hono-node'() {
    return honoServer(rampartHonoNode);
  },
  async fetch() {
    const handler = rampartFetch(security(), async (request: Request, context: RequestContext) => {
      const route = new URL(request.url).pathname as Route;
      if (route in FAILING) return FAILING[route as keyof typeof FAILING]();
      if (route === '/own-headers') return new Response('<p>own</p>', { headers: ownHeaders() });
      if (route === '/cookies') {
        await storeUser(context);
        const headers = new Headers();
        for (const cookie of APP_COOKIES) headers.append('set-cookie', cookie);
        for (const [field, value] of SHARED_CACHE_FIELDS) headers.set(field, value);
        return new Response('ok', { headers });
      }
      return Response.json({ nonce: context.nonce, same: true });
    });
    return createAdaptorServer({ fetch: handler }) as Server;
  },
};

describe.each(Object.keys(builders))('%s adapter', (name) => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = await builders[name]!();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers a RampartError thrown by a handler with its code', async () => {
    const response = await fetch(`${base}/coded`, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'csp_report_malformed', status: 400 });
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it.each(['/crash', '/async-crash'])('answers %s with a 500 that reveals nothing, and keeps serving', async (path) => {
    const response = await fetch(`${base}${path}`);
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).not.toContain('hunter2');
    expect(body).not.toMatch(/at .*\.ts:\d+/);
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect((await fetch(`${base}/context`)).status).toBe(200);
  });

  it('keeps headers the handler set itself, strips X-Powered-By and Public-Key-Pins', async () => {
    const response = await fetch(`${base}/own-headers`);
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'self'");
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(response.headers.get('public-key-pins')).toBeNull();
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('fixes the cookies the application sets (enforce mode) and adds the sealed session cookie', async () => {
    const response = await fetch(`${base}/cookies`);
    const cookies = response.headers.getSetCookie();
    expect(cookies).toHaveLength(3);
    expect(cookies).toContain('theme=dark; Secure; HttpOnly; SameSite=Lax');
    expect(cookies).toContain('lang=en; Secure; HttpOnly; SameSite=Strict');
    expect(response.headers.get('cache-control')).toBe('no-store');
    // A CDN obeys its own field over Cache-Control: neither may let it store the cookie.
    for (const [field] of SHARED_CACHE_FIELDS) expect(response.headers.get(field)).toBe('no-store');
    expect(cookies.find((cookie) => cookie.startsWith('__Host-session='))).toMatch(/^__Host-session=[A-Za-z0-9_-]{40,}; Path=\/; Secure; HttpOnly; SameSite=Lax$/);
  });

  it('exposes the context in the framework idiom', async () => {
    const response = await fetch(`${base}/context`);
    const body = (await response.json()) as { nonce: string; same: boolean };
    expect(body.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(body.same).toBe(true);
  });
});

describe('HTTP/2, not supported yet, fails closed', () => {
  it('Fastify with http2 refuses to start', async () => {
    const app = Fastify({ http2: true });
    await expect(app.register(rampartFastify(security()))).rejects.toThrow('http2: true is not supported yet');
  });

  it('node:http2 gets a 500 instead of an unprotected page', async () => {
    const { createServer: createHttp2Server, connect } = await import('node:http2');
    const server = createHttp2Server(rampartNode(security(), (_req, res) => res.end('unprotected')) as never);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const stream = client.request({ ':path': '/' });
        stream.on('response', (headers) => resolve(Number(headers[':status'])));
        stream.on('error', reject);
        stream.end();
      });
      expect(status).toBe(500);
    } finally {
      client.close();
      server.close();
    }
  });
});

describe('adapter options', () => {
  it.each([
    ['rampartFetch', () => rampartFetch(security(), () => new Response('x'), { clientAdress: () => '1.2.3.4' } as never), 'rampartFetch.clientAdress'],
    ['rampartHono', () => rampartHono(security(), { clientAdress: () => '1.2.3.4' } as never), 'rampartHono.clientAdress'],
    ['rampartHonoNode', () => rampartHonoNode(security(), { secur: () => true } as never), 'rampartHono.secur'],
  ])('%s refuses a misspelt option, and names the right one', (_name, build, option) => {
    expect(build).toThrow(new RegExp(`unknown option "${option.replace('.', '\\.')}"\\. Did you mean`));
  });
});

describe('a response answered before any hook (protectUnhooked)', () => {
  it.each([
    ['an object', (res: ServerResponse) => res.writeHead(200, { 'Content-Security-Policy': "default-src 'self'" })],
    ['a flat list', (res: ServerResponse) => res.writeHead(200, ['Content-Security-Policy', "default-src 'self'"])],
    ['setHeader', (res: ServerResponse) => { res.setHeader('content-security-policy', "default-src 'self'"); res.writeHead(200); }],
  ])('gets the minimal headers it lacks, and keeps its own (set through %s) once', async (_name, write) => {
    const server = createServer((_req, res) => {
      protectUnhooked(res, [['Content-Security-Policy', "default-src 'none'"], ['X-Content-Type-Options', 'nosniff']]);
      write(res);
      res.end('x');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(response.headers.get('content-security-policy')).toBe("default-src 'self'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    } finally {
      server.close();
    }
  });
});

describe('Fastify', () => {
  it('its own answers to a malformed URL (400) and an over-long parameter (414) carry rampart\'s minimal headers', async () => {
    const app = Fastify();
    await app.register(rampartFastify(security()));
    app.get('/p/:id', (request) => ({ id: (request.params as { id: string }).id }));
    app.get('/page', (request, reply) => reply.type('text/html').send(`<p nonce="${request.rampart.nonce}">x</p>`));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      for (const [path, status] of [['/p/%E0%A4%A', 400], [`/p/${'x'.repeat(101)}`, 414]] as const) {
        const response = await fetch(`${base}${path}`);
        expect(response.status).toBe(status);
        expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      }
      // A routed page is rampart's as before: its nonce, one CSP header, not the minimal set.
      const page = await fetch(`${base}/page`);
      expect(page.headers.get('content-security-policy')).toMatch(/script-src 'nonce-/);
      // A refusal rampart answers itself (a cross-site POST) carries each header once.
      const refused = await fetch(`${base}/page`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } });
      expect(refused.status).toBe(403);
      expect(refused.headers.get('content-security-policy')).not.toContain(',');
      expect(refused.headers.get('x-content-type-options')).toBe('nosniff');
    } finally {
      await app.close();
    }
  });

  it('a 500 carries none of the headers the handler set before it threw (a cookie, a trace)', async () => {
    const app = Fastify();
    await app.register(rampartFastify(security()));
    app.get('/', (_request, reply) => {
      reply.header('set-cookie', 'sid=abc');
      reply.header('x-internal-trace', 'db=prod-7');
      throw new Error(SECRET);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const response = await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`);
      expect(response.status).toBe(500);
      expect(response.headers.getSetCookie()).toEqual([]);
      expect(response.headers.get('x-internal-trace')).toBeNull();
      expect(await response.text()).not.toContain('hunter2');
      expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    } finally {
      await app.close();
    }
  });
});

describe('Hono', () => {
  it('@hono/node-server over HTTP/2: rampartHonoNode secures the response the portable way', async () => {
    const { createServer: createHttp2Server, connect } = await import('node:http2');
    const app = new Hono<{ Variables: RampartVariables }>();
    app.use(rampartHonoNode(security()));
    app.get('/', (c) => c.html('<p>h2</p>'));
    const server = createAdaptorServer({ fetch: app.fetch, createServer: createHttp2Server }) as unknown as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const stream = client.request({ ':path': '/' });
        stream.on('response', resolve);
        stream.on('error', reject);
        stream.resume();
        stream.end();
      });
      expect(headers[':status']).toBe(200);
      expect(headers['content-security-policy']).toMatch(/script-src 'nonce-[A-Za-z0-9_-]{22}'/);
      expect(headers['x-content-type-options']).toBe('nosniff');
    } finally {
      client.close();
      server.close();
    }
  });

  it.each([['rampartHono', rampartHono], ['rampartHonoNode', rampartHonoNode]])(
    '%s: a response with immutable headers (a fetch() result) is secured, not merged back',
    async (_name, middleware) => {
      // An upstream whose answer is passed on as it is: fetch() gives immutable headers, so rampart copies the response.
      const upstream = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-powered-by': 'PHP/5.4', 'public-key-pins': 'pin-sha256="a"; max-age=9', 'set-cookie': 'upstream=1', 'cache-control': 'public, max-age=3600' });
        res.end('proxied');
      });
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      const app = new Hono<{ Variables: RampartVariables }>();
      app.use(middleware(security()));
      app.get('/', async (c) => {
        await storeUser(c.get('rampart'));
        return fetch(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`);
      });
      try {
        const response = await app.request('http://app.example/');
        expect(await response.text()).toBe('proxied');
        expect(response.headers.get('x-powered-by')).toBeNull();
        expect(response.headers.get('public-key-pins')).toBeNull();
        expect(response.headers.get('cache-control')).toBe('private, no-store');
        expect(response.headers.getSetCookie().some((cookie) => cookie.startsWith('__Host-session='))).toBe(true);
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      } finally {
        upstream.close();
      }
    },
  );
});

describe('html.strict: no HTML page built without the engine', () => {
  const strict = () => rampart({ keys: 'nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s', html: { strict: true }, logger: { warn: () => {} } });
  const STRING_PAGE = '<p>built from a string, <script>alert(1)</script></p>';
  const page = (context: RequestContext) => context.render(html`<p>made with the engine</p>`);

  const apps: Record<string, () => Promise<Server>> = {
    async node() {
      return createServer(
        rampartNode(strict(), (req, res, context) => {
          const body = req.url === '/rendered' ? page(context) : STRING_PAGE;
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(body);
        }),
      );
    },
    async express() {
      const app = express();
      app.use(rampartExpress(strict()));
      app.get('/rendered', (req, res) => void res.type('html').send(page(req.rampart)));
      app.get('/string', (_req, res) => void res.type('html').send(STRING_PAGE));
      return createServer(app);
    },
    async 'node (sendHtml)'() {
      return createServer(
        rampartNode(strict(), (req, res) => {
          if (req.url === '/rendered') return sendHtml(res, html`<p>made with the engine</p>`);
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(STRING_PAGE);
        }),
      );
    },
    async 'express (sendHtml)'() {
      const app = express();
      app.use(rampartExpress(strict()));
      app.get('/rendered', (_req, res) => sendExpressHtml(res, html`<p>made with the engine</p>`));
      app.get('/string', (_req, res) => void res.type('html').send(STRING_PAGE));
      return createServer(app);
    },
    async fastify() {
      const app = Fastify();
      await app.register(rampartFastify(strict()));
      app.get('/rendered', (request, reply) => void reply.type('text/html; charset=utf-8').send(page(request.rampart)));
      app.get('/string', (_request, reply) => void reply.type('text/html; charset=utf-8').send(STRING_PAGE));
      await app.ready();
      return app.server;
    },
    async hono() {
      const app = new Hono<{ Variables: RampartVariables }>();
      app.use(rampartHono(strict()));
      app.get('/rendered', (c) => c.html(page(c.get('rampart'))));
      app.get('/string', (c) => c.html(STRING_PAGE));
      return createAdaptorServer({ fetch: app.fetch }) as Server;
    },
    async 'hono-node'() {
      const app = new Hono<{ Variables: RampartVariables }>();
      app.use(rampartHonoNode(strict()));
      app.get('/rendered', (c) => c.html(page(c.get('rampart'))));
      app.get('/string', (c) => c.html(STRING_PAGE));
      return createAdaptorServer({ fetch: app.fetch }) as Server;
    },
    async fetch() {
      const handler = rampartFetch(strict(), (request: Request, context: RequestContext) =>
        new Response(new URL(request.url).pathname === '/rendered' ? page(context) : STRING_PAGE, { headers: { 'content-type': 'text/html; charset=utf-8' } }),
      );
      return createAdaptorServer({ fetch: handler }) as Server;
    },
  };

  it.each(Object.keys(apps))('%s answers 500 for a page built from a string, and serves a rendered one', async (name) => {
    const server = await apps[name]!();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const refused = await fetch(`${base}/string`);
      expect(refused.status).toBe(500);
      expect(await refused.text()).not.toContain('alert(1)');
      const served = await fetch(`${base}/rendered`);
      expect(served.status).toBe(200);
      expect(await served.text()).toBe('<p>made with the engine</p>');
      // The server keeps serving.
      expect((await fetch(`${base}/string`)).status).toBe(500);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
