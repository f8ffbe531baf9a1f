/**
 * The Express adapter: a middleware that puts the context in `req.rampart` and
 * `res.locals.rampart` (and the nonce in `res.locals.nonce` for view engines), and
 * secures every response.
 *
 * @example
 * ```ts
 * import express from 'express'
 * import { rampart } from 'rampart'
 * import { rampartExpress, rampartErrors } from 'rampart/adapters/express'
 *
 * const security = rampart({ origin: 'https://example.com' })
 * const app = express()
 * app.use(rampartExpress(security)) // first, before any route or body parser
 * app.get('/', (req, res) => res.send(`<script nonce="${req.rampart.nonce}">…</script>`))
 * app.use(rampartErrors(security))  // last
 * ```
 *
 * @packageDocumentation
 */

import type { ErrorRequestHandler, NextFunction, Request as ExpressRequest, RequestHandler, Response as ExpressResponse } from 'express';
import { RequestContext, type Rampart } from '../rampart.ts';
import { NodeIncoming } from './_node/incoming.ts';
import { protectResponse, sendResponse as writeResponse } from './_node/response.ts';

/** `sendHtml(res, page)` works on Express responses as on node:http's: see `rampart/adapters/node`. */
export { sendHtml, type SendHtmlInit } from './_node/response.ts';

declare global {
  // Express's own extension point for request properties.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The rampart context of this request. */
      rampart: RequestContext;
    }
  }
}

const CONTEXTS = new WeakMap<object, RequestContext>();
const EXPOSED = new WeakSet<object>();

/**
 * Makes `req.rampart` a getter on Express's base request prototype, shared by every
 * app and sub-app: Express swaps each request's prototype, after which every property
 * added to the request itself costs microseconds.
 */
function expose(request: Express.Request, context: RequestContext): void {
  CONTEXTS.set(request, context);
  const app = (request as { app?: { request?: object } }).app;
  const base = app?.request ? (Object.getPrototypeOf(app.request) as object | null) : null;
  if (base === null) {
    // Not under Express (connect, a test double): a plain property.
    request.rampart = context;
    return;
  }
  if (EXPOSED.has(base)) return;
  EXPOSED.add(base);
  Object.defineProperty(base, 'rampart', {
    configurable: true,
    get(this: object) {
      return CONTEXTS.get(this);
    },
  });
}

/** The rampart middleware for Express. Register it first. */
export function rampartExpress(security: Rampart): RequestHandler {
  return function rampartMiddleware(request, response, next) {
    const started = security.begin(new NodeIncoming(request));
    if (started instanceof Promise) {
      // The CSRF token of a form is read from the body first; the body stays readable.
      started.then((settled) => proceed(settled, request, response, next), next);
      return;
    }
    proceed(started, request, response, next);
  };
}

function proceed(started: RequestContext | Response, request: ExpressRequest, response: ExpressResponse, next: NextFunction): void {
  if (!(started instanceof RequestContext)) {
    // Express set X-Powered-By before this middleware ran; rampart's own answers go without it.
    response.removeHeader('x-powered-by');
    writeResponse(response, started, request.method).catch(next);
    return;
  }
  expose(request, started);
  response.locals.rampart = started;
  response.locals.nonce = started.nonce;
  protectResponse(response, started);
  next();
}

/**
 * Writes a Web `Response` (from `uploads.serve`, `staticFiles().serve` or your own code)
 * as the Express response, body streamed, headers as rampart secures them.
 *
 * @example
 * ```ts
 * app.get('/uploads/:id', async (req, res) => sendResponse(res, await files.serve(req.params.id, req)))
 * ```
 */
export async function sendResponse(response: ExpressResponse, web: Response): Promise<void> {
  await writeResponse(response, web, response.req.method);
}

/**
 * Turns a `RampartError` thrown by a route into its clear 4xx response, and any
 * other error into a plain 500 without the message or stack. Register it last.
 */
export function rampartErrors(security: Rampart): ErrorRequestHandler {
  return function rampartErrorHandler(error: unknown, request, response, next) {
    if (response.headersSent) {
      next(error);
      return;
    }
    for (const name of response.getHeaderNames()) response.removeHeader(name);
    writeResponse(response, security.failureResponse(error, request.headers.accept), request.method).catch(next);
  };
}
