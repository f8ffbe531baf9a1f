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

import type { ErrorRequestHandler, RequestHandler } from 'express';
import { RequestContext, type Rampart } from '../rampart.ts';
import { NodeIncoming } from './_node/incoming.ts';
import { protectResponse, sendResponse } from './_node/response.ts';

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

/** The rampart middleware for Express. Register it first. */
export function rampartExpress(security: Rampart): RequestHandler {
  return function rampartMiddleware(request, response, next) {
    const started = security.begin(new NodeIncoming(request));
    if (!(started instanceof RequestContext)) {
      Promise.resolve(started)
        .then((early) => sendResponse(response, early, request.method))
        .catch(next);
      return;
    }
    request.rampart = started;
    response.locals.rampart = started;
    response.locals.nonce = started.nonce;
    protectResponse(response, started);
    next();
  };
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
    sendResponse(response, security.failureResponse(error, request.headers.accept), request.method).catch(next);
  };
}
