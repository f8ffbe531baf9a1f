// The reference app on Hono served by @hono/node-server, with the Node-specific
// middleware: rampart secures the node response as it is written, which keeps
// @hono/node-server on its fast path. The routes are those of examples/hono.
import { createAdaptorServer } from '@hono/node-server';
import { rampartHonoNode } from 'rampart/adapters/hono-node';
import { createApp as createHonoApp } from '../hono/app.mjs';

export function createApp(options) {
  return createHonoApp(options, rampartHonoNode);
}

export function createServer(options) {
  return createAdaptorServer({ fetch: createApp(options).fetch });
}
