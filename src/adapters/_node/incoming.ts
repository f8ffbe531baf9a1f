/**
 * node:http's request seen as rampart's `IncomingRequest`, without building a
 * Web `Request` unless the body is needed.
 */

import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { IncomingRequest } from '../../rampart.ts';

export class NodeIncoming implements IncomingRequest {
  readonly method: string;
  readonly target: string;
  readonly tls: boolean;
  readonly remoteAddress: string | undefined;
  readonly #message: IncomingMessage;

  constructor(message: IncomingMessage) {
    this.#message = message;
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
}
