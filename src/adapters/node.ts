/**
 * The node:http adapter: wraps a `(req, res, context)` handler for
 * `http.createServer` or `https.createServer`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { rampart } from 'rampart'
 * import { rampartNode } from 'rampart/adapters/node'
 *
 * const security = rampart({ origin: 'https://example.com' })
 * createServer(rampartNode(security, (req, res, context) => {
 *   res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
 *   res.end(`<script nonce="${context.nonce}">…</script>`)
 * })).listen(3000)
 * ```
 *
 * @packageDocumentation
 */

import { ServerResponse, type IncomingMessage } from 'node:http';
import { RequestContext, type Rampart } from '../rampart.ts';
import { NodeIncoming } from './_node/incoming.ts';
import type { SafeHtml } from '../html/html.ts';
import { protectResponse, sendHtml as writePage, sendResponse as writeResponse, type SendHtmlInit } from './_node/response.ts';

export type { SendHtmlInit } from './_node/response.ts';

/** A node:http handler that also receives the request's rampart context. */
export type ProtectedNodeHandler = (request: IncomingMessage, response: ServerResponse, context: RequestContext) => unknown;

/**
 * Runs rampart before a node:http request handler. The context also stays
 * reachable as `contextOf(request)`, for code that only has the request.
 */
export function rampartNode(security: Rampart, handler: ProtectedNodeHandler): (request: IncomingMessage, response: ServerResponse) => void {
  return function rampartNodeHandler(request, response) {
    if (!(response instanceof ServerResponse)) {
      // node:http2's compatibility API: its responses are not hooked yet, so refuse to
      // serve them unprotected.
      security.warnOnce('rampart: HTTP/2 (node:http2) is not supported yet; answering 500. Serve HTTP/1.1 (an HTTP/2 proxy in front is fine).');
      (response as unknown as { writeHead(status: number): { end(): void } }).writeHead(500).end();
      return;
    }
    const started = security.begin(new NodeIncoming(request));
    if (started instanceof Promise) {
      // The CSRF token of a form is read from the body first.
      started.then(
        (settled) => run(security, handler, request, response, settled),
        () => response.destroy(),
      );
      return;
    }
    run(security, handler, request, response, started);
  };
}

function run(security: Rampart, handler: ProtectedNodeHandler, request: IncomingMessage, response: ServerResponse, started: RequestContext | Response): void {
  if (!(started instanceof RequestContext)) {
    void respondWith(response, started, request.method ?? 'GET');
    return;
  }
  (request as ContextCarrier)[CONTEXT] = started;
  protectResponse(response, started);
  let result: unknown;
  try {
    result = handler(request, response, started);
  } catch (error) {
    fail(security, request, response, error);
    return;
  }
  if (result instanceof Promise) result.catch((error: unknown) => fail(security, request, response, error));
}

// A symbol-keyed property of the request: cheaper than a weak map entry per request.
const CONTEXT = Symbol('rampart.context');
type ContextCarrier = IncomingMessage & { [CONTEXT]?: RequestContext };

/**
 * Writes a Web `Response` (from `uploads.serve`, `staticFiles().serve` or your own
 * code) to a node:http response, body streamed, headers as rampart secures them.
 *
 * @example
 * ```ts
 * await sendResponse(res, await files.serve(id, req))
 * ```
 */
export async function sendResponse(response: ServerResponse, web: Response): Promise<void> {
  await writeResponse(response, web, response.req?.method ?? 'GET');
}

/**
 * Sends a page made with `html`: rendered for this response (the nonce of its
 * `<script>` and `<style>` elements, the CSRF field of its forms), as
 * `text/html; charset=utf-8` with its `Content-Length`. The page is encoded to UTF-8
 * once, into shared memory: faster than `res.end(context.render(page))`, which node
 * reads three times (and transcodes each time when the page holds a character above
 * U+00FF). Headers set before (`res.setHeader`) are kept; without `status`, the
 * response's `statusCode` is used (200 unless set).
 *
 * @example
 * ```ts
 * sendHtml(res, html`<h1>${title}</h1>`)
 * sendHtml(res, notFoundPage, { status: 404 })
 * ```
 */
export function sendHtml(response: ServerResponse, page: SafeHtml, init?: SendHtmlInit): void {
  writePage(response, page, init);
}

/** The rampart context of a request handled by `rampartNode`. */
export function contextOf(request: IncomingMessage): RequestContext {
  const context = (request as ContextCarrier)[CONTEXT];
  if (!context) throw new TypeError('rampart: this request did not go through rampartNode(); wrap the handler with it.');
  return context;
}

async function respondWith(response: ServerResponse, result: Response, method: string): Promise<void> {
  try {
    await writeResponse(response, result, method);
  } catch {
    // The client went away mid-request (or mid-response): nothing left to answer.
    response.destroy();
  }
}

function fail(security: Rampart, request: IncomingMessage, response: ServerResponse, error: unknown): void {
  const failure = security.failureResponse(error, request.headers.accept);
  if (response.headersSent) {
    response.destroy();
    return;
  }
  for (const name of response.getHeaderNames()) response.removeHeader(name);
  void writeResponse(response, failure, request.method ?? 'GET');
}
