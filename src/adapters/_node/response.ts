/**
 * The node:http side of the adapters: securing a `ServerResponse` at the moment
 * its head is written, and writing a page or a Web `Response` to it.
 */

import { ServerResponse, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { SafeHtml } from '../../html/html.ts';
import { isSharedCacheField, STRIPPED_HEADERS, type RequestContext } from '../../rampart.ts';
import { encodeUtf8 } from './utf8.ts';

type HeaderValue = string | number | readonly string[];
type HeadersArgument = OutgoingHttpHeaders | readonly (string | number | readonly string[])[] | undefined;
type WriteHead = (statusCode: number, reason?: string | HeadersArgument, headers?: HeadersArgument) => ServerResponse;

/**
 * Node keeps the headers set with `setHeader` under this private symbol: `null`
 * until the first one, then `{ lowercaseName: [name, value] }`. Reading it directly
 * lets the head be written as one flat list, without a `setHeader` call per security
 * header (most of helmet's cost). If a Node version renames it, the public API is
 * used instead.
 */
const OUT_HEADERS = Object.getOwnPropertySymbols(
  new ServerResponse({ method: 'GET', httpVersionMajor: 1, httpVersionMinor: 1, headers: {} } as IncomingMessage),
).find((symbol) => symbol.description === 'kOutHeaders');

type HeaderStore = Record<string, [string, HeaderValue]>;

/** The context of each response rampart protects, until its head is written. */
const PROTECTED = new WeakMap<ServerResponse, RequestContext>();
/** Responses that may be answered before rampart has a context for them, and the headers they then get. */
const UNHOOKED = new WeakMap<ServerResponse, readonly (readonly [string, string])[]>();
let installed = false;

/**
 * Arranges for the security headers to be added when the head is written, by
 * whatever path it is written (`writeHead`, `end`, `write`, a framework's send):
 * they all go through `writeHead`, and only then is the content type known.
 *
 * The hook sits once on `ServerResponse.prototype`, not on each response: frameworks
 * such as Express swap each response's prototype, after which every property added to
 * it costs microseconds. Responses rampart does not protect pass straight through.
 */
export function protectResponse(response: ServerResponse, context: RequestContext): void {
  if (!installed) installWriteHeadHook();
  PROTECTED.set(response, context);
}

/**
 * For a framework that may answer a request itself before any hook of rampart's runs
 * (Fastify's 400 for a malformed URL, its 414 for an over-long parameter): until
 * `protectResponse` takes the response over, its head gets `headers` (rampart's
 * minimal set, `default-src 'none'` and the rest) wherever it did not set them.
 */
export function protectUnhooked(response: ServerResponse, headers: readonly (readonly [string, string])[]): void {
  if (!installed) installWriteHeadHook();
  UNHOOKED.set(response, headers);
}

function installWriteHeadHook(): void {
  installed = true;
  const original = ServerResponse.prototype.writeHead as WriteHead;
  ServerResponse.prototype.writeHead = function rampartWriteHead(this: ServerResponse, statusCode: number, reason?: string | HeadersArgument, headers?: HeadersArgument) {
    const context = PROTECTED.get(this);
    if (context === undefined) {
      const minimal = UNHOOKED.get(this);
      if (minimal !== undefined) {
        UNHOOKED.delete(this);
        // Headers given to writeHead itself replace these (node sets them after), as they should.
        for (const [name, value] of minimal) if (!this.hasHeader(name)) this.setHeader(name, value);
      }
      return original.call(this, statusCode, reason, headers);
    }
    // Once: a second writeHead (which node refuses anyway) is not processed twice.
    PROTECTED.delete(this);
    try {
      return writeSecuredHead(this, context, original, statusCode, reason, headers);
    } catch (error) {
      // Node refused the head (a header with CR or LF, a bad status): nothing was
      // written, so the next attempt (an error page) is protected like the first.
      if (!this.headersSent) PROTECTED.set(this, context);
      throw error;
    }
  } as ServerResponse['writeHead'];
}

/**
 * Reads a writeHead headers argument (an object, a flat `[name, value, ...]` list
 * or a list of pairs) into a flat list and its lowercase names, dropping the
 * headers rampart always removes.
 */
function collect(headers: HeadersArgument, flat: HeaderValue[], names: string[]): void {
  if (headers === undefined || headers === null) return;
  if (!Array.isArray(headers)) {
    const record = headers as OutgoingHttpHeaders;
    for (const name in record) addHeader(name, record[name], flat, names);
  } else if (Array.isArray(headers[0])) {
    for (const pair of headers as unknown as readonly (readonly [string, HeaderValue])[]) addHeader(pair[0], pair[1], flat, names);
  } else {
    for (let index = 0; index < headers.length; index += 2) addHeader(String(headers[index]), headers[index + 1], flat, names);
  }
}

function addHeader(name: string, value: HeaderValue | undefined, flat: HeaderValue[], names: string[]): void {
  const lowerName = name.toLowerCase();
  if (value === undefined || (STRIPPED_HEADERS as readonly string[]).includes(lowerName)) return;
  flat.push(name, value);
  names.push(lowerName);
}

/** @internal Exported for tests; `outHeaders` is node's private store symbol, if it has one. */
export function writeSecuredHead(
  response: ServerResponse,
  context: RequestContext,
  original: WriteHead,
  statusCode: number,
  reason: string | HeadersArgument,
  headers: HeadersArgument,
  outHeaders: symbol | undefined = OUT_HEADERS,
): ServerResponse {
  // What writeHead is given wins over what setHeader stored, as in node itself.
  const flat: HeaderValue[] = [];
  const names: string[] = [];
  const hasReason = typeof reason === 'string';
  collect(hasReason ? headers : reason, flat, names);
  if (outHeaders === undefined) {
    addThroughPublicApi(response, context, flat, names);
    return hasReason ? original.call(response, statusCode, reason, flat) : original.call(response, statusCode, flat);
  }
  const slot = response as unknown as Record<symbol, HeaderStore | null>;
  const store = slot[outHeaders] ?? null;
  if (store !== null) {
    for (const lowerName in store) {
      if (names.includes(lowerName) || (STRIPPED_HEADERS as readonly string[]).includes(lowerName)) continue;
      const [name, value] = store[lowerName]!;
      flat.push(name, value);
      names.push(lowerName);
    }
  }
  const typeIndex = names.indexOf('content-type');
  const contentType = typeIndex === -1 ? undefined : String(flat[typeIndex * 2 + 1]);
  const cspIndex = names.indexOf('content-security-policy');
  if (!context.allowsDocument(statusCode, contentType, cspIndex === -1 ? undefined : String(flat[cspIndex * 2 + 1]))) {
    return refuseDocument(response, context, original);
  }
  context.appendSecurityHeaders(contentType, flat, names);
  appendCookies(context, flat, names);
  // Node writes a flat list without per-header bookkeeping when no setHeader store
  // exists; the store is put back afterwards so getHeader() keeps answering.
  slot[outHeaders] = null;
  try {
    return hasReason ? original.call(response, statusCode, reason, flat) : original.call(response, statusCode, flat);
  } finally {
    if (store !== null) slot[outHeaders] = store;
  }
}

/**
 * Answers 500 instead of an HTML page built without the template engine (strict
 * mode): the head is replaced, and node is told the response has no body, so the
 * handler's markup is never sent.
 */
function refuseDocument(response: ServerResponse, context: RequestContext, original: WriteHead): ServerResponse {
  for (const name of response.getHeaderNames()) response.removeHeader(name);
  const flat: HeaderValue[] = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', '0', 'Cache-Control', 'no-store'];
  context.appendSecurityHeaders('text/plain', flat, ['content-type', 'content-length', 'cache-control']);
  const written = original.call(response, 500, flat);
  (response as unknown as { _hasBody: boolean })._hasBody = false;
  return written;
}

/**
 * Checks the cookies the application set (`names` lists the lowercase name of each
 * pair in `flat`) and appends rampart's own: the session's, sealed now, and the CSRF
 * binding's. A response that sets one or carries a token is kept out of shared caches
 * (see `RequestContext.privateCacheControl`). On Node the seal is synchronous
 * (node:crypto), which is what lets it happen here.
 */
function appendCookies(context: RequestContext, flat: HeaderValue[], names: readonly string[]): void {
  let index = names.indexOf('set-cookie');
  while (index !== -1) {
    const value = flat[index * 2 + 1]!;
    flat[index * 2 + 1] = typeof value === 'object' ? value.map((cookie) => context.outgoingCookie(cookie)) : context.outgoingCookie(String(value));
    index = names.indexOf('set-cookie', index + 1);
  }
  const cookies = context.responseCookies();
  if (cookies instanceof Promise) throw new TypeError('rampart: sealing the session needs synchronous crypto (node:crypto) on node:http.');
  for (const cookie of cookies) flat.push('Set-Cookie', cookie);
  if (cookies.length === 0 && !context.privateResponse) return;
  // A CDN obeys its own field (CDN-Cache-Control, Surrogate-Control) over Cache-Control.
  for (let index = 0; index < names.length; index++) {
    const name = names[index]!;
    if (isSharedCacheField(name)) flat[index * 2 + 1] = context.privateSharedCacheField(name, String(flat[index * 2 + 1]));
  }
  const cacheIndex = names.indexOf('cache-control');
  const current = cacheIndex === -1 ? undefined : String(flat[cacheIndex * 2 + 1]);
  const policy = context.privateCacheControl(current);
  if (policy === current) return;
  if (cacheIndex === -1) flat.push('Cache-Control', policy);
  else flat[cacheIndex * 2 + 1] = policy;
}

/** The same, through node's public API only, for a Node without the private store. */
function addThroughPublicApi(response: ServerResponse, context: RequestContext, flat: HeaderValue[], names: string[]): void {
  for (const name of STRIPPED_HEADERS) if (response.hasHeader(name)) response.removeHeader(name);
  const typeIndex = names.indexOf('content-type');
  const contentType = typeIndex === -1 ? response.getHeader('content-type') : flat[typeIndex * 2 + 1];
  context.appendSecurityHeaders(contentType === undefined ? undefined : String(contentType), flat, [...names, ...response.getHeaderNames()]);
  const storedCookies = response.getHeader('set-cookie');
  if (storedCookies !== undefined && !names.includes('set-cookie')) {
    response.removeHeader('set-cookie');
    flat.push('Set-Cookie', storedCookies);
    names.push('set-cookie');
  }
  // Taken out of the store and written once, as the cookie policy decides.
  for (const name of response.getHeaderNames()) {
    if ((name !== 'cache-control' && !isSharedCacheField(name)) || names.includes(name)) continue;
    const stored = response.getHeader(name)!;
    response.removeHeader(name);
    flat.push(name, String(stored));
    names.push(name);
  }
  appendCookies(context, flat, names);
}

function drained(target: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      target.off('drain', done);
      target.off('close', done);
      resolve();
    };
    target.on('drain', done);
    target.on('close', done);
  });
}

/** Writes a Web `Response` (status, headers, streamed body) to a node response. */
export async function sendResponse(target: ServerResponse, response: Response, method: string): Promise<void> {
  const flat: string[] = [];
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') flat.push(name, value);
  });
  for (const cookie of response.headers.getSetCookie()) flat.push('set-cookie', cookie);
  target.writeHead(response.status, flat);
  if (!response.body || method === 'HEAD') {
    await response.body?.cancel();
    target.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (target.destroyed) break;
      if (!target.write(value)) await drained(target);
    }
    if (target.destroyed) await reader.cancel();
    else target.end();
  } catch (error) {
    target.destroy(error instanceof Error ? error : undefined);
  }
}

/** What `sendHtml` may be given besides the page. */
export interface SendHtmlInit {
  /** The status code: the response's `statusCode` when absent (200 unless set, e.g. by Express's `res.status()`); 200–599, but not 204, 205 or 304 (which carry no page). */
  status?: number;
  /** More headers for the response (not `Content-Type`, `Content-Length` or `Transfer-Encoding`: the page sets its own). */
  headers?: OutgoingHttpHeaders;
}

/** Headers a page sets itself: its type and length (a length and a chunked encoding together can desync a proxy). */
const PAGE_HEADERS: ReadonlySet<string> = new Set(['content-type', 'content-length', 'transfer-encoding']);

/** Sends a page made with `html`, rendered for the response's request; see the adapters' `sendHtml`. */
export function sendHtml(response: ServerResponse, page: SafeHtml, init: SendHtmlInit = {}): void {
  const context = PROTECTED.get(response);
  if (context === undefined) {
    throw new TypeError(
      response.headersSent
        ? 'rampart: sendHtml() after the response head was written: send the page instead of writing the head first.'
        : 'rampart: sendHtml() takes a response rampart protects: wrap the handler with rampartNode() (or use rampartExpress()).',
    );
  }
  const status = init.status ?? response.statusCode;
  if (!Number.isInteger(status) || status < 200 || status > 599 || status === 204 || status === 205 || status === 304) {
    throw new RangeError(`rampart: sendHtml() status: expected 200–599 for a page (not 204, 205 or 304, which carry none), got ${String(status)}; answer those with res.writeHead(status).end().`);
  }
  const headers = init.headers ?? {};
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new TypeError('rampart: sendHtml() headers: expected an object of header names and values, e.g. { "cache-control": "no-store" }.');
  }
  for (const name in headers) if (PAGE_HEADERS.has(name.toLowerCase())) throw ownPageHeader(name.toLowerCase());
  if (response.hasHeader('transfer-encoding')) throw ownPageHeader('transfer-encoding');
  const body = encodeUtf8(context.render(page));
  response.writeHead(status, { ...headers, 'content-type': 'text/html; charset=utf-8', 'content-length': body.length });
  // A HEAD response gets the head only: node drops the body of one.
  response.end(body);
}

function ownPageHeader(name: string): TypeError {
  return new TypeError(`rampart: sendHtml() sets the page's type and length itself (text/html; charset=utf-8, Content-Length); leave ${name} out.`);
}
