/**
 * The Fetch adapter: wraps a `(request) => Response` handler, the shape of Bun,
 * Deno, Cloudflare Workers and Hono's `app.fetch`.
 *
 * @example
 * ```ts
 * import { rampart } from 'rampart'
 * import { rampartFetch } from 'rampart/adapters/fetch'
 *
 * const security = rampart({ origin: 'https://example.com' })
 * export default {
 *   fetch: rampartFetch(security, (request, context) =>
 *     new Response(`<script nonce="${context.nonce}">…</script>`, { headers: { 'content-type': 'text/html' } })),
 * }
 * ```
 *
 * @packageDocumentation
 */

import { describe, isPlainObject, rejectUnknownKeys } from '../_internal/describe.ts';
import { RequestContext, type Rampart } from '../rampart.ts';
import { FetchIncoming } from './_fetch.ts';

/** A Fetch handler that also receives the request's rampart context. */
export type ProtectedFetchHandler<Rest extends unknown[]> = (
  request: Request,
  context: RequestContext,
  ...rest: Rest
) => Response | Promise<Response>;

/** Options of `rampartFetch`. */
export interface FetchAdapterOptions<Rest extends unknown[]> {
  /**
   * The connection's peer address, from what your runtime passes beside the
   * request (Bun: `server.requestIP(request)?.address`; Deno: `info.remoteAddr.hostname`).
   */
  readonly clientAddress?: (request: Request, ...rest: Rest) => string | undefined;
  /**
   * Whether the connection is TLS, from what your runtime passes beside the request.
   * Default: the scheme of `request.url`, right on runtimes that build the URL from the
   * connection (Bun, Deno, Workers), but not under `@hono/node-server`, which keeps an
   * absolute request target as the client sent it: there, pass
   * `(_request, env) => env.incoming.socket.encrypted === true`.
   */
  readonly secure?: (request: Request, ...rest: Rest) => boolean;
}

/** Wraps a Fetch handler so every response carries rampart's protections. */
export function rampartFetch<Rest extends unknown[] = []>(
  security: Rampart,
  handler: ProtectedFetchHandler<Rest>,
  options: FetchAdapterOptions<Rest> = {},
): (request: Request, ...rest: Rest) => Promise<Response> {
  if (!isPlainObject(options as unknown)) throw new TypeError(`rampart: rampartFetch options: expected an object, got ${describe(options)}.`);
  // A misspelt clientAddress would put every client in one rate-limit bucket, silently.
  rejectUnknownKeys(options, ['clientAddress', 'secure'], 'rampartFetch.');
  const { clientAddress, secure } = options;
  return async function rampartFetchHandler(request: Request, ...rest: Rest): Promise<Response> {
    const started = await security.begin(new FetchIncoming(request, clientAddress?.(request, ...rest), secure?.(request, ...rest)));
    if (!(started instanceof RequestContext)) return started;
    let response: Response;
    try {
      response = await handler(request, started, ...rest);
    } catch (error) {
      response = security.failureResponse(error, request.headers.get('accept'));
    }
    return security.finish(started, response);
  };
}
