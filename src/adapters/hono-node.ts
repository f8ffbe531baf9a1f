/**
 * The Hono adapter for Node (`@hono/node-server`): the same middleware as
 * `rampart/adapters/hono`, but it secures the node response as it is written
 * instead of reading and rewriting `c.res.headers`. Touching those makes
 * `@hono/node-server` build real `Headers` objects and leave its fast path, which
 * costs more than the security headers themselves. Outside `@hono/node-server` it
 * behaves exactly like `rampartHono`.
 *
 * @example
 * ```ts
 * import { serve } from '@hono/node-server'
 * import { Hono } from 'hono'
 * import { rampart } from 'rampart'
 * import { rampartHonoNode } from 'rampart/adapters/hono-node'
 * import type { RampartVariables } from 'rampart/adapters/hono'
 *
 * const app = new Hono<{ Variables: RampartVariables }>()
 * app.use(rampartHonoNode(rampart({ origin: 'https://example.com' })))
 * serve(app)
 * ```
 *
 * @packageDocumentation
 */

import { ServerResponse, type IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { isRampartError } from '../errors.ts';
import { RequestContext, type Rampart } from '../rampart.ts';
import { FetchIncoming } from './_fetch.ts';
import { NodeIncoming } from './_node/incoming.ts';
import { protectResponse } from './_node/response.ts';
import { replaceResponse } from './_hono.ts';
import { rampartHono, type HonoAdapterOptions, type RampartVariables } from './hono.ts';

/** The rampart middleware for Hono on `@hono/node-server`. Register it first. */
export function rampartHonoNode(security: Rampart, options: HonoAdapterOptions = {}): MiddlewareHandler<{ Variables: RampartVariables }> {
  const portable = rampartHono(security, options);
  return async function rampartNodeMiddleware(c, next) {
    const bindings = c.env as { incoming?: IncomingMessage; outgoing?: unknown } | undefined;
    // Secured as written only on node:http: an HTTP/2 response (`createServer:
    // http2.createServer`) has no such hook, so it goes the portable way.
    if (bindings?.incoming === undefined || !(bindings.outgoing instanceof ServerResponse)) return portable(c, next);
    // The body's start (a form's CSRF token) is read through Hono's Request, which
    // @hono/node-server lets the application read again; its node stream it would not.
    const incoming = new NodeIncoming(bindings.incoming, (limit, decide) => new FetchIncoming(c.req.raw, undefined).peekBody(limit, decide));
    const started = await security.begin(incoming);
    if (!(started instanceof RequestContext)) return started;
    c.set('rampart', started);
    protectResponse(bindings.outgoing, started);
    await next();
    // Hono turns a thrown error into a generic 500; a rampart error has its own response.
    if (c.error !== undefined && isRampartError(c.error)) replaceResponse(c, security.failureResponse(c.error, c.req.header('accept')));
    return undefined;
  };
}
