/**
 * node:http's request seen as rampart's `IncomingRequest`, without building a
 * Web `Request` unless the body is needed.
 */

import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { IncomingRequest } from '../../rampart.ts';
import { settle } from '../_fetch.ts';

export class NodeIncoming implements IncomingRequest {
  readonly method: string;
  readonly target: string;
  readonly tls: boolean;
  readonly remoteAddress: string | undefined;
  readonly #message: IncomingMessage;

  /**
   * `peek` replaces how the body's start is read, for servers that read the node
   * stream their own way (@hono/node-server refuses a stream someone else has read).
   */
  constructor(message: IncomingMessage, peek?: IncomingRequest['peekBody']) {
    this.#message = message;
    if (peek !== undefined) this.peekBody = peek;
    this.method = message.method ?? 'GET';
    this.target = message.url ?? '/';
    this.tls = (message.socket as Partial<TLSSocket>).encrypted === true;
    this.remoteAddress = message.socket.remoteAddress;
  }

  header(lowerName: string): string | undefined {
    const value = this.#message.headers[lowerName];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  toRequest(): Request {
    const message = this.#message;
    const headers = new Headers();
    const raw = message.rawHeaders;
    for (let index = 0; index < raw.length; index += 2) headers.append(raw[index]!, raw[index + 1]!);
    // Only the method, headers and body are read from this Request: the URL gets a fixed
    // host, so a hostile Host header cannot make building it throw.
    const url = `${this.tls ? 'https' : 'http'}://rampart.invalid${this.target.startsWith('/') ? this.target : '/'}`;
    const hasBody = this.method !== 'GET' && this.method !== 'HEAD';
    return new Request(url, {
      method: this.method,
      headers,
      body: hasBody ? (Readable.toWeb(message) as ReadableStream<Uint8Array>) : null,
      // Node's fetch requires this for a streamed body.
      ...(hasBody ? { duplex: 'half' } : {}),
    } as RequestInit);
  }

  /**
   * Reads in paused mode and puts everything read back with `unshift` in the same
   * tick, before the stream can emit `end`: the application (or its framework's body
   * parser) then reads the whole body as if nothing had touched it.
   */
  peekBody<Answer>(limit: number, decide: (prefix: Uint8Array, complete: boolean) => Answer | 'more'): Promise<Answer | 'too_large'> {
    return this.#peekStream(limit, decide);
  }

  #peekStream<Answer>(limit: number, decide: (prefix: Uint8Array, complete: boolean) => Answer | 'more'): Promise<Answer | 'too_large'> {
    const message = this.#message;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let length = 0;
      // What was read, as one Buffer: most bodies of a form arrive in one chunk.
      const joined = (): Buffer => (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length));
      const finish = (result: Answer | 'too_large'): void => {
        message.off('readable', onReadable);
        message.off('end', onEnd);
        message.off('error', onError);
        message.off('close', onClose);
        if (length > 0) message.unshift(joined());
        resolve(result);
      };
      // `decide` runs again only once the prefix has grown by half (or the body ended):
      // a body sent in tiny chunks then costs linear time, not quadratic.
      let nextDecision = 0;
      const onReadable = (): void => {
        let chunk: Buffer | null;
        while ((chunk = message.read() as Buffer | null) !== null) {
          chunks.push(chunk);
          length += chunk.length;
          if (length < nextDecision && length <= limit) continue;
          nextDecision = decisionPoint(length);
          const answer = decide(joined(), false);
          if (answer !== 'more') return finish(answer);
          if (length > limit) return finish('too_large');
        }
        // `complete`: node has parsed the whole message, so nothing more will come.
        if (message.complete) onEnd();
      };
      const onEnd = (): void => {
        try {
          finish(settle(decide(joined(), true)));
        } catch (error) {
          reject(error);
        }
      };
      const onError = (error: Error): void => reject(error);
      const onClose = (): void => reject(new Error('the client closed the connection before sending the body'));
      message.on('readable', onReadable);
      message.on('end', onEnd);
      message.on('error', onError);
      message.on('close', onClose);
    });
  }
}

/** Where the next look at a growing prefix is due: half as long again, and at least 1 KiB more. */
export function decisionPoint(length: number): number {
  return Math.max(length + 1024, Math.floor(length * 1.5));
}
