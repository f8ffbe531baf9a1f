/**
 * One HTTP(S) request for the auditor, recorded as an `Exchange`. Built on
 * node:http/node:https rather than `fetch` because the auditor needs what fetch
 * hides: redirects not followed, every response header in order with repeats kept
 * apart, certificate errors distinguished from other TLS failures, and a body
 * read only up to a limit.
 *
 * Certificates are verified against the system CAs plus `ca`. On a certificate
 * error the request is sent again without verification and the exchange says so
 * (`tls: { verified: false, error }`), as MDN HTTP Observatory does: the site is
 * still assessed, and the report shows the certificate problem instead of
 * hiding it or giving up.
 */

import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import type { Exchange } from './types.ts';

/** How requests are sent. */
export interface FetchOptions {
  /** Milliseconds from sending the request to the end of the response. Default 10 000. */
  readonly timeoutMs?: number;
  /** Bytes of (decoded) body kept; the rest is not read and the exchange is marked `truncated`. Default 2 MiB. */
  readonly bodyLimit?: number;
  /** PEM certificate(s) trusted in addition to the system CAs, e.g. the contents of `--ca-file`. */
  readonly ca?: string | Buffer;
  /** Default `rampart-audit/<version>`. */
  readonly userAgent?: string;
  /** Extra headers (e.g. credentials for a logged-in scan). Sent with every request: pass them only for in-scope URLs. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A request to send. */
export interface FetchRequest {
  readonly method: string;
  readonly url: string;
  /** Header names are sent lowercase; these override the defaults and `options.headers`. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** The default User-Agent: `rampart-audit/<version>`, the version read from rampart's package.json. */
export const DEFAULT_USER_AGENT = `rampart-audit/${packageVersion()}`;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024;

/** OpenSSL/Node codes of certificate verification failures (the list Observatory retries on). */
const CERTIFICATE_ERRORS = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE', 'CRL_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID', 'CRL_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD', 'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD', 'ERROR_IN_CRL_NEXT_UPDATE_FIELD', 'OUT_OF_MEM', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Plain-language causes for the network errors a scan meets most. */
const CAUSES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (nothing listens there)',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved (DNS lookup failed)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'the server closed the connection',
  HPE_INVALID_CONSTANT: 'the answer is not HTTP (is this port speaking TLS? try https://)',
  ERR_SSL_WRONG_VERSION_NUMBER: 'TLS handshake failed: the server does not speak TLS on this port (try http://)',
};

class TimeoutError extends Error {}

function packageVersion(): string {
  try {
    // src/audit/ and dist/audit/ are both two levels below the package root.
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : 'dev';
  } catch {
    return 'dev';
  }
}

function errorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error) return String(error.code);
  return undefined;
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof TimeoutError) return `timed out after ${timeoutMs} ms`;
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code && CAUSES[code]) return `${CAUSES[code]} (${code})`;
  if (code && (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /ssl|tls/i.test(message))) return `TLS handshake failed: ${message}`;
  return code ? `${message} (${code})` : message;
}

function decoderFor(encoding: string | undefined): Transform | undefined {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

interface Attempt {
  readonly status: number;
  readonly headers: [string, string][];
  readonly body: Buffer;
  readonly truncated: boolean;
}

function attempt(request: FetchRequest, headers: OutgoingHttpHeaders, options: Required<Pick<FetchOptions, 'timeoutMs' | 'bodyLimit'>> & { ca?: string | Buffer }, verify: boolean): Promise<Attempt> {
  const url = new URL(request.url);
  const secure = url.protocol === 'https:';
  return new Promise<Attempt>((resolve, reject) => {
    let settled = false;
    const finish = (error: unknown, value?: Attempt): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === undefined && value) resolve(value);
      else reject(error instanceof Error ? error : new Error(String(error)));
    };
    const common = { method: request.method, headers, agent: false as const };
    const outgoing = secure
      ? httpsRequest(url, {
          ...common,
          rejectUnauthorized: verify,
          ...(options.ca !== undefined ? { ca: [...rootCertificates, typeof options.ca === 'string' ? options.ca : options.ca.toString('utf8')] } : {}),
        })
      : httpRequest(url, common);
    const timer = setTimeout(() => {
      const error = new TimeoutError('timeout');
      outgoing.destroy(error);
      finish(error);
    }, options.timeoutMs);
    outgoing.on('error', (error) => finish(error));
    outgoing.on('response', (response: IncomingMessage) => {
      const pairs: [string, string][] = [];
      for (let index = 0; index + 1 < response.rawHeaders.length; index += 2) {
        pairs.push([response.rawHeaders[index]!.toLowerCase(), response.rawHeaders[index + 1]!]);
      }
      const contentEncoding = pairs.find(([name]) => name === 'content-encoding')?.[1];
      const decoder = request.method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304 ? undefined : decoderFor(contentEncoding);
      const source = decoder ? response.pipe(decoder) : response;
      const chunks: Buffer[] = [];
      let kept = 0;
      let truncated = false;
      const done = (): void => finish(undefined, { status: response.statusCode ?? 0, headers: pairs, body: Buffer.concat(chunks), truncated });
      source.on('data', (chunk: Buffer) => {
        if (truncated) return;
        const room = options.bodyLimit - kept;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          kept += room;
          truncated = true;
          // Stop reading: what is past the limit is never looked at.
          response.destroy();
          done();
          return;
        }
        chunks.push(chunk);
        kept += chunk.length;
      });
      source.on('end', done);
      source.on('error', (error: Error) => finish(truncated ? undefined : new Error(`the ${contentEncoding ?? ''} body does not decode: ${error.message}`)));
      response.on('error', (error) => {
        if (!truncated) finish(error);
      });
    });
    if (request.body !== undefined) outgoing.end(request.body);
    else outgoing.end();
  });
}

/**
 * Sends one request (no redirect followed) and records it.
 *
 * Throws an `Error` whose message names the method, the URL and the cause
 * (connection refused, timeout, TLS failure, …), for the report's `errors`.
 *
 * @example
 * ```ts
 * const exchange = await fetchExchange({ method: 'GET', url: 'https://example.com/' }, { ca: pem }, { index: 0, reason: 'start' });
 * exchange.response.status; // 200
 * exchange.tls; // { verified: true }
 * ```
 */
export async function fetchExchange(
  request: FetchRequest,
  options: FetchOptions,
  meta: { readonly index: number; readonly reason: Exchange['reason'] },
): Promise<Exchange> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  let url: URL;
  try {
    url = new URL(request.url);
  } catch (error) {
    throw new Error(`${request.method} ${request.url}: not a URL.`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${request.method} ${request.url}: only http: and https: URLs can be fetched.`);
  const sent: Record<string, string> = {
    'user-agent': options.userAgent ?? DEFAULT_USER_AGENT,
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'accept-encoding': 'gzip, deflate, br',
  };
  for (const [name, value] of Object.entries(options.headers ?? {})) sent[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(request.headers ?? {})) sent[name.toLowerCase()] = value;
  if (request.body !== undefined && sent['content-length'] === undefined) sent['content-length'] = String(Buffer.byteLength(request.body));
  const settings = { timeoutMs, bodyLimit, ...(options.ca !== undefined ? { ca: options.ca } : {}) };

  const started = performance.now();
  let tls: Exchange['tls'];
  let answer: Attempt;
  try {
    answer = await attempt(request, sent, settings, true);
    if (url.protocol === 'https:') tls = { verified: true };
  } catch (error) {
    const code = errorCode(error);
    if (url.protocol !== 'https:' || code === undefined || !CERTIFICATE_ERRORS.has(code)) {
      throw new Error(`${request.method} ${request.url}: ${describe(error, timeoutMs)}`, { cause: error });
    }
    const reason = `${code}: ${error instanceof Error ? error.message : String(error)}`;
    try {
      answer = await attempt(request, sent, settings, false);
    } catch (retryError) {
      throw new Error(`${request.method} ${request.url}: ${describe(retryError, timeoutMs)} (after the certificate failed to verify: ${reason})`, { cause: retryError });
    }
    tls = { verified: false, error: reason };
  }
  const durationMs = Math.round(performance.now() - started);
  return {
    index: meta.index,
    request: { method: request.method, url: url.href, headers: sent, ...(request.body !== undefined ? { body: request.body } : {}) },
    response: {
      status: answer.status,
      headers: answer.headers,
      body: new TextDecoder('utf-8').decode(answer.body),
      truncated: answer.truncated,
    },
    ...(tls ? { tls } : {}),
    reason: meta.reason,
    durationMs,
  };
}
