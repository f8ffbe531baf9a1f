/**
 * The Hono adapter: a middleware that puts the context in `c.get('rampart')` and
 * secures every response, on any runtime Hono runs on.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { rampart } from 'rampart'
 * import { rampartHono, type RampartVariables } from 'rampart/adapters/hono'
 *
 * const app = new Hono<{ Variables: RampartVariables }>()
 * app.use(rampartHono(rampart({ origin: 'https://example.com' })))
 * app.get('/', (c) => c.html(`<script nonce="${c.get('rampart').nonce}">…</script>`))
 * ```
 *
 * @packageDocumentation
 */

import type { Context, MiddlewareHandler } from 'hono';
import { isRampartError } from '../errors.ts';
import { describe, isPlainObject, rejectUnknownKeys } from '../_internal/describe.ts';
import { RequestContext, type Rampart } from '../rampart.ts';
import { FetchIncoming } from './_fetch.ts';
import { replaceResponse } from './_hono.ts';

/** The variables rampart adds to Hono's context. */
export interface RampartVariables {
  rampart: RequestContext;
}

/** Options of `rampartHono`. */
export interface HonoAdapterOptions {
  /** The peer address. Default: the socket address under `@hono/node-server`, else none. */
  readonly clientAddress?: (c: Context) => string | undefined;
  /**
   * Whether the connection is TLS. Default: the socket's word under `@hono/node-server`
   * (whose `request.url` keeps an absolute request target as the client sent it), else
   * the scheme of the request URL, which Bun, Deno and Workers build from the connection.
   */
  readonly secure?: (c: Context) => boolean | undefined;
}

type NodeServerBindings = { incoming?: { socket?: { remoteAddress?: string; encrypted?: boolean } } } | undefined;

function nodeServerAddress(c: Context): string | undefined {
  return (c.env as NodeServerBindings)?.incoming?.socket?.remoteAddress;
}

function nodeServerSecure(c: Context): boolean | undefined {
  const socket = (c.env as NodeServerBindings)?.incoming?.socket;
  return socket === undefined ? undefined : socket.encrypted === true;
}

/** The rampart middleware for Hono. Register it first, before any route. */
export function rampartHono(security: Rampart, options: HonoAdapterOptions = {}): MiddlewareHandler<{ Variables: RampartVariables }> {
  if (!isPlainObject(options as unknown)) throw new TypeError(`rampart: rampartHono options: expected an object, got ${describe(options)}.`);
  rejectUnknownKeys(options, ['clientAddress', 'secure'], 'rampartHono.');
  const clientAddress = options.clientAddress ?? nodeServerAddress;
  const secure = options.secure ?? nodeServerSecure;
  return async function rampartMiddleware(c, next) {
    const started = await security.begin(new FetchIncoming(c.req.raw, clientAddress(c), secure(c)));
    if (!(started instanceof RequestContext)) return started;
    c.set('rampart', started);
    await next();
    // Hono turns a thrown error into a generic 500; a rampart error has its own response.
    if (c.error !== undefined && isRampartError(c.error)) replaceResponse(c, security.failureResponse(c.error, c.req.header('accept')));
    const finished = await security.finish(started, c.res);
    if (finished !== c.res) replaceResponse(c, finished);
    return undefined;
  };
}

