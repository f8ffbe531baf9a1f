/**
 * The node:http side of the adapters: securing a `ServerResponse` at the moment
 * its head is written, and writing a Web `Response` to it.
 */

import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { STRIPPED_HEADERS, type RequestContext } from '../../rampart.ts';

type HeadersArgument = OutgoingHttpHeaders | readonly (string | number | readonly string[])[] | undefined;
type WriteHead = (statusCode: number, reason?: string | HeadersArgument, headers?: HeadersArgument) => ServerResponse;

const CONTEXT = Symbol('rampart.context');
const ORIGINAL = Symbol('rampart.writeHead');

interface ProtectedResponse extends ServerResponse {
  [CONTEXT]: RequestContext;
  [ORIGINAL]: WriteHead;
}

/**
 * Arranges for the security headers to be added when the head is written, by
 * whatever path it is written (`writeHead`, `end`, `write`, a framework's send):
 * they all go through `writeHead`, and only then is the content type known.
 */
export function protectResponse(response: ServerResponse, context: RequestContext): void {
  const target = response as ProtectedResponse;
  target[CONTEXT] = context;
  target[ORIGINAL] = response.writeHead as WriteHead;
  response.writeHead = rampartWriteHead as ServerResponse['writeHead'];
}

function findHeader(headers: HeadersArgument, lowerName: string): string | undefined {
  if (headers === undefined) return undefined;
  if (Array.isArray(headers)) {
    for (let index = 0; index < headers.length; index += 2) {
      if (String(headers[index]).toLowerCase() === lowerName) return String(headers[index + 1]);
    }
    return undefined;
  }
  for (const key in headers as OutgoingHttpHeaders) {
    if (key.toLowerCase() === lowerName) return String((headers as OutgoingHttpHeaders)[key]);
  }
  return undefined;
}

/** Flattens a writeHead headers argument into `[name, value, ...]`, dropping stripped headers. */
function flatten(headers: HeadersArgument, into: (string | number | readonly string[])[]): void {
  if (headers === undefined) return;
  if (Array.isArray(headers)) {
    for (let index = 0; index < headers.length; index += 2) {
      if (!(STRIPPED_HEADERS as readonly string[]).includes(String(headers[index]).toLowerCase())) into.push(headers[index], headers[index + 1]);
    }
    return;
  }
  const record = headers as OutgoingHttpHeaders;
  for (const key in record) {
    const value = record[key];
    if (value !== undefined && !(STRIPPED_HEADERS as readonly string[]).includes(key.toLowerCase())) into.push(key, value);
  }
}

function rampartWriteHead(this: ProtectedResponse, statusCode: number, reason?: string | HeadersArgument, headers?: HeadersArgument): ServerResponse {
  const original = this[ORIGINAL];
  // Restore first: node calls writeHead again for 1xx responses and frameworks may too.
  (this as ServerResponse).writeHead = original as ServerResponse['writeHead'];
  const passed = typeof reason === 'string' ? headers : reason;
  const reasonText = typeof reason === 'string' ? reason : undefined;
  for (const name of STRIPPED_HEADERS) if (this.hasHeader(name)) this.removeHeader(name);
  const contentType = findHeader(passed, 'content-type') ?? (this.getHeader('content-type') as string | undefined);
  const security = this[CONTEXT].securityHeaders(contentType);

  // Headers set with setHeader: node merges what writeHead is given into them.
  if (this.getHeaderNames().length > 0) {
    for (let index = 0; index < security.length; index += 3) {
      const lowerName = security[index]!;
      if (!this.hasHeader(lowerName) && findHeader(passed, lowerName) === undefined) this.setHeader(security[index + 1]!, security[index + 2]!);
    }
    return reasonText === undefined ? original.call(this, statusCode, passed) : original.call(this, statusCode, reasonText, passed);
  }
  // Only writeHead: one flat array, which node writes without per-header bookkeeping.
  const flat: (string | number | readonly string[])[] = [];
  flatten(passed, flat);
  for (let index = 0; index < security.length; index += 3) {
    if (passed === undefined || findHeader(passed, security[index]!) === undefined) flat.push(security[index + 1]!, security[index + 2]!);
  }
  return reasonText === undefined ? original.call(this, statusCode, flat) : original.call(this, statusCode, reasonText, flat);
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
