/**
 * Shared plumbing of the Web adapters (Fetch handler, Hono): a Web `Request` seen
 * as rampart's `IncomingRequest`.
 */

import { RampartError } from '../errors.ts';
import { concatBytes } from '../_internal/bytes.ts';
import type { IncomingRequest } from '../rampart.ts';

/** What `decide` returned for a complete body: an answer, or a bug in `decide`. */
export function settle<Answer>(answer: Answer | 'more'): Answer {
  if (answer === 'more') throw new TypeError('rampart: peekBody: decide() asked for more of a body that has ended.');
  return answer;
}

/** Wraps a `Request`; the URL is sliced, not parsed, to keep the request path cheap. */
export class FetchIncoming implements IncomingRequest {
  readonly method: string;
  readonly target: string;
  readonly tls: boolean;
  readonly remoteAddress: string | undefined;
  readonly #request: Request;
  readonly #urlHost: string;

  /**
   * `tls` is the connection's own word when the runtime gives it: a URL's scheme can
   * come from the request line (`GET https://host/ HTTP/1.1`), which the client writes.
   */
  constructor(request: Request, remoteAddress: string | undefined, tls?: boolean) {
    this.#request = request;
    this.method = request.method;
    this.remoteAddress = remoteAddress;
    const url = request.url;
    const schemeEnd = url.indexOf('://');
    const pathStart = url.indexOf('/', schemeEnd + 3);
    this.tls = tls ?? url.startsWith('https:');
    this.#urlHost = url.slice(schemeEnd + 3, pathStart === -1 ? url.length : pathStart);
    const target = pathStart === -1 ? '/' : url.slice(pathStart);
    const hash = target.indexOf('#');
    this.target = hash === -1 ? target : target.slice(0, hash);
  }

  header(lowerName: string): string | undefined {
    const value = this.#request.headers.get(lowerName);
    if (value !== null) return value;
    // Runtimes differ on whether `Host` is kept in `Request.headers`; the URL always has it.
    return lowerName === 'host' ? this.#urlHost : undefined;
  }

  toRequest(): Request {
    return this.#request;
  }

  async peekBody<Answer>(limit: number, decide: (prefix: Uint8Array, complete: boolean) => Answer | 'more'): Promise<Answer | 'too_large'> {
    // A clone tees the body: the application's request still has every byte.
    const body = this.#request.clone().body;
    if (body === null) return settle(decide(new Uint8Array(0), true));
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let length = 0;
    // `decide` runs again only once the prefix has grown by half (or the body ended):
    // a body sent in tiny chunks then costs linear time, not quadratic.
    let nextDecision = 0;
    try {
      for (;;) {
        let read: ReadableStreamReadResult<Uint8Array>;
        try {
          read = await reader.read();
        } catch (error) {
          // The client left: an answer of ours, not a crash of the application's.
          throw new RampartError('request_aborted', { cause: error });
        }
        const { done, value } = read;
        if (!done) {
          chunks.push(value);
          length += value.length;
          if (length < nextDecision && length <= limit) continue;
          nextDecision = Math.max(length + 1024, Math.floor(length * 1.5));
        }
        const answer = decide(concatBytes(chunks, length), done);
        if (answer !== 'more') return answer;
        if (done) return settle(answer);
        if (length > limit) return 'too_large';
      }
    } finally {
      void reader.cancel().catch(() => {});
    }
  }
}
