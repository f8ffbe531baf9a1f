// One server of the security-headers benchmark: `node bench/servers/headers-server.mjs <variant>`.
//
// Every variant serves the same ~200-byte HTML page on every path. It listens on a free
// loopback port and prints one JSON line, {"variant","port"}, once it accepts connections;
// the orchestrator (bench/headers.mjs) starts a fresh process per measurement and kills it
// afterwards. Imports are dynamic so a process only loads the framework it runs.

import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

/** The nonce of the variants that have no per-request nonce: 22 base64url chars, like a real one. */
export const FIXED_NONCE = 'BENCHfixedNONCE0123abc';

/** A fixed 32-byte key for rampart (it refuses low-entropy keys, so not 'AAAA…'). Not a secret. */
const KEY = 'WUEcnVN3LQvjfZvf3c5_ndYzSrsHkBsrJlrrIj25p64';

/** The page: ~200 bytes, with one inline script that needs the response's nonce to run. */
export function page(nonce) {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench</title></head>' +
    `<body><p id="s">static</p><script nonce="${nonce}">document.getElementById('s').textContent='ok'</script></body></html>`
  );
}

/** The page of every variant without a per-request nonce: built once. */
const PAGE = page(FIXED_NONCE);
const HTML = 'text/html; charset=utf-8';

/** The rampart options of every rampart variant (reports stay on: they only add a header). */
function rampartOptions() {
  return { mode: 'production', keys: KEY, origin: 'http://127.0.0.1', logger: { warn() {} } };
}

/** A bare node:http handler, the body of every node:http variant. */
function bareHandler(_req, res) {
  res.writeHead(200, { 'content-type': HTML });
  res.end(PAGE);
}

/**
 * The flat `[name, value, …]` header list rampart sends on an HTML response over plain
 * HTTP, with the nonce replaced by FIXED_NONCE: asked from rampart once, at startup, so
 * "the limit" always writes exactly the headers rampart writes.
 */
export async function rampartHtmlBlock() {
  const { rampart } = await import('rampart');
  const security = rampart(rampartOptions());
  const context = security.begin({
    method: 'GET',
    target: '/',
    tls: false,
    remoteAddress: '127.0.0.1',
    header: (name) => (name === 'host' ? '127.0.0.1' : undefined),
    toRequest() {
      throw new Error('not needed');
    },
  });
  const triplets = context.securityHeaders(HTML);
  const flat = ['content-type', HTML];
  for (let index = 0; index < triplets.length; index += 3) {
    flat.push(triplets[index + 1], triplets[index + 2].replaceAll(context.nonce, FIXED_NONCE));
  }
  return flat;
}

/** Each variant returns a node:http server (not yet listening). */
const VARIANTS = {
  // 1. The floor: no security headers at all.
  async 'node-bare'() {
    return createServer(bareHandler);
  },

  // 2. The limit: rampart's HTML header set, precomputed once, written by one writeHead.
  async 'node-fixed'() {
    const headers = await rampartHtmlBlock();
    return createServer((_req, res) => {
      res.writeHead(200, headers);
      res.end(PAGE);
    });
  },

  // 3. helmet() defaults as a middleware in front of the bare handler.
  async 'node-helmet'() {
    const { default: helmet } = await import('helmet');
    const middleware = helmet();
    return createServer((req, res) => {
      middleware(req, res, (error) => {
        if (error) throw error;
        bareHandler(req, res);
      });
    });
  },

  // 4. rampart's node:http adapter; the page carries this response's nonce.
  async 'node-rampart'() {
    const { rampart } = await import('rampart');
    const { rampartNode } = await import('rampart/adapters/node');
    const security = rampart(rampartOptions());
    return createServer(
      rampartNode(security, (_req, res, context) => {
        res.writeHead(200, { 'content-type': HTML });
        res.end(page(context.nonce));
      }),
    );
  },

  // 5. Express. The bare app keeps Express defaults (X-Powered-By, ETag); helmet and
  //    rampart both remove X-Powered-By themselves.
  async 'express-bare'() {
    const { default: express } = await import('express');
    const app = express();
    app.get('/', (_req, res) => res.type('html').send(PAGE));
    return createServer(app);
  },
  async 'express-helmet'() {
    const { default: express } = await import('express');
    const { default: helmet } = await import('helmet');
    const app = express();
    app.use(helmet());
    app.get('/', (_req, res) => res.type('html').send(PAGE));
    return createServer(app);
  },
  async 'express-rampart'() {
    const { default: express } = await import('express');
    const { rampart } = await import('rampart');
    const { rampartExpress } = await import('rampart/adapters/express');
    const app = express();
    app.use(rampartExpress(rampart(rampartOptions())));
    app.get('/', (req, res) => res.type('html').send(page(req.rampart.nonce)));
    return createServer(app);
  },

  // 6. Fastify, logger off.
  async 'fastify-bare'() {
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ logger: false });
    app.get('/', (_request, reply) => reply.type(HTML).send(PAGE));
    await app.ready();
    return app.server;
  },
  async 'fastify-helmet'() {
    const { default: Fastify } = await import('fastify');
    const { default: fastifyHelmet } = await import('@fastify/helmet');
    const app = Fastify({ logger: false });
    await app.register(fastifyHelmet);
    app.get('/', (_request, reply) => reply.type(HTML).send(PAGE));
    await app.ready();
    return app.server;
  },
  async 'fastify-rampart'() {
    const { default: Fastify } = await import('fastify');
    const { rampart } = await import('rampart');
    const { rampartFastify } = await import('rampart/adapters/fastify');
    const app = Fastify({ logger: false });
    await app.register(rampartFastify(rampart(rampartOptions())));
    app.get('/', (request, reply) => reply.type(HTML).send(page(request.rampart.nonce)));
    await app.ready();
    return app.server;
  },

  // 7. Hono on @hono/node-server.
  async 'hono-bare'() {
    const { Hono, createAdaptorServer } = await honoModules();
    const app = new Hono();
    app.get('/', (c) => c.html(PAGE));
    return createAdaptorServer({ fetch: app.fetch });
  },
  async 'hono-secureheaders'() {
    const { Hono, createAdaptorServer } = await honoModules();
    const { secureHeaders } = await import('hono/secure-headers');
    const app = new Hono();
    app.use(secureHeaders());
    app.get('/', (c) => c.html(PAGE));
    return createAdaptorServer({ fetch: app.fetch });
  },
  async 'hono-rampart'() {
    const { Hono, createAdaptorServer } = await honoModules();
    const { rampart } = await import('rampart');
    const { rampartHono } = await import('rampart/adapters/hono');
    const app = new Hono();
    app.use(rampartHono(rampart(rampartOptions())));
    app.get('/', (c) => c.html(page(c.get('rampart').nonce)));
    return createAdaptorServer({ fetch: app.fetch });
  },

  // The Node-specific Hono middleware: secures the node response as it is written, so
  // @hono/node-server keeps its fast path (what a user on Node runs).
  async 'hono-rampart-node'() {
    const { Hono, createAdaptorServer } = await honoModules();
    const { rampart } = await import('rampart');
    const { rampartHonoNode } = await import('rampart/adapters/hono-node');
    const app = new Hono();
    app.use(rampartHonoNode(rampart(rampartOptions())));
    app.get('/', (c) => c.html(page(c.get('rampart').nonce)));
    return createAdaptorServer({ fetch: app.fetch });
  },
};

async function honoModules() {
  const [{ Hono }, { createAdaptorServer }] = await Promise.all([import('hono'), import('@hono/node-server')]);
  return { Hono, createAdaptorServer };
}

export const VARIANT_NAMES = Object.keys(VARIANTS);

// Run only when started as a script, so the orchestrator can import the names and page.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const name = process.argv[2];
  const make = VARIANTS[name];
  if (!make) {
    console.error(`Unknown variant ${JSON.stringify(name)}. Use one of: ${VARIANT_NAMES.join(', ')}.`);
    process.exit(2);
  }
  const server = await make();
  server.listen(0, '127.0.0.1', () => {
    console.log(JSON.stringify({ variant: name, port: server.address().port }));
  });
  process.on('SIGTERM', () => process.exit(0));
}
