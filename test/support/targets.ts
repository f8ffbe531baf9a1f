/**
 * The conformance targets: the reference app of every adapter, driven the same way.
 * `fetch` calls the raw Fetch handler in-process (no server); every other target is
 * a real server on 127.0.0.1, spoken to over raw node:http so tests control every
 * header (Host and X-Forwarded-* included).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { RampartOptions } from 'rampart';

export const ADAPTERS = ['fetch', 'node', 'express', 'fastify', 'hono', 'hono-node'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array<ArrayBuffer>;
}

export interface Target {
  readonly adapter: AdapterName;
  /** The base URL of the server (for `fetch`, a server is started too, for browsers). */
  readonly url: string;
  /** One request, answered as a Web `Response` with the body fully read. */
  request(path: string, options?: RequestOptions): Promise<Response>;
  close(): Promise<void>;
}

interface ExampleModule {
  createServer(options: RampartOptions): Server | Promise<Server>;
  createApp(options: RampartOptions): { fetch(request: Request): Promise<Response> };
}

async function importExample(adapter: AdapterName): Promise<ExampleModule> {
  return (await import(`../../examples/${adapter}/app.mjs`)) as ExampleModule;
}

/** Listens on an ephemeral loopback port; resolves to the server's base URL. */
export function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function toHeaders(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  return headers;
}

/** Closes a server, its kept-alive connections included. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** A raw HTTP/1.1 request to a running server. */
export function rawRequest(base: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: { connection: 'close', ...options.headers } },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          const status = incoming.statusCode ?? 0;
          const body = status === 204 || status === 304 || options.method === 'HEAD' ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status, headers: toHeaders(incoming.headers) }));
        });
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

/** Starts the reference app of `adapter` with these rampart options. */
export async function startTarget(adapter: AdapterName, options: RampartOptions = {}): Promise<Target> {
  const example = await importExample(adapter);
  // Each target keeps its uploads in a folder of its own, removed when it closes (unless the test chose one).
  const own = 'uploadsDirectory' in options ? undefined : mkdtempSync(join(tmpdir(), 'rampart-target-uploads-'));
  if (own !== undefined) options = { ...options, uploadsDirectory: own } as RampartOptions;
  const server = await example.createServer(options);
  const url = await listen(server);
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => {
        if (own !== undefined) rmSync(own, { recursive: true, force: true });
        resolve();
      });
    });
  if (adapter === 'fetch') {
    const app = example.createApp(options);
    return {
      adapter,
      url,
      close,
      request: async (path, requestOptions = {}) => {
        const { host, ...headers } = requestOptions.headers ?? {};
        const init: RequestInit = { method: requestOptions.method ?? 'GET', headers: { host: host ?? 'app.test', ...headers } };
        if (requestOptions.body !== undefined) init.body = requestOptions.body;
        const response = await app.fetch(new Request(`http://${host ?? 'app.test'}${path}`, init));
        const body = response.body && response.status !== 204 && response.status !== 304 ? new Uint8Array(await response.arrayBuffer()) : null;
        return new Response(body, { status: response.status, headers: response.headers });
      },
    };
  }
  return { adapter, url, close, request: (path, requestOptions) => rawRequest(url, path, requestOptions) };
}

/** Quiet options for tests: no key warning, no log lines. */
export function testOptions(options: RampartOptions = {}): RampartOptions {
  return { keys: 'nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s', logger: { warn: () => {} }, ...options };
}

/** What a page of the reference app gives a browser to submit its forms with. */
export interface FormCredentials {
  /** The first `csrf_token` of the page. */
  readonly token: string;
  /** The `Cookie` header to send: the given cookies plus the `__Host-csrf` binding. */
  readonly cookie: string;
}

/** Loads `path` (a page with a form) as a browser would, and returns its token and the cookies to send with it. */
export async function formCredentials(target: Target, cookie = '', path = '/'): Promise<FormCredentials> {
  const response = await target.request(path, cookie ? { headers: { cookie } } : {});
  const token = /name="csrf_token" value="([^"]+)"/.exec(await response.text())?.[1];
  if (token === undefined) throw new Error(`no csrf_token field on ${path} (status ${response.status})`);
  const binding = response.headers.getSetCookie().find((value) => value.startsWith('__Host-csrf='))?.split(';')[0];
  const cookies = [cookie, binding].filter(Boolean).join('; ');
  return { token, cookie: cookies };
}
