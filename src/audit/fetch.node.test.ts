import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_USER_AGENT, fetchExchange } from './fetch.node.ts';

/** A throwaway CA and a certificate it issues for 127.0.0.1 (openssl; a missing openssl fails the test). */
function testCertificates(): { ca: string; key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-fetch-'));
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    const run = (args: string[]): void => void execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    run(['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=fetch test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-keyout', file('ca.key'), '-out', file('ca.pem')]);
    run(['req', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', file('leaf.key'), '-out', file('leaf.csr')]);
    writeFileSync(file('leaf.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
    run(['x509', '-req', '-in', file('leaf.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', file('leaf.ext'), '-out', file('leaf.pem')]);
    return { ca: readFileSync(file('ca.pem'), 'utf8'), key: readFileSync(file('leaf.key'), 'utf8'), cert: readFileSync(file('leaf.pem'), 'utf8') };
  } catch (error) {
    throw new Error(`These tests make certificates with openssl; install it with \`apt-get install openssl\`. (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

const received: IncomingMessage[] = [];
let lastBody = '';

const routes: Record<string, (request: IncomingMessage, response: ServerResponse) => void> = {
  '/headers': (request, response) => {
    response.writeHead(200, ['Content-Type', 'text/html', 'Set-Cookie', 'a=1', 'X-Dup', 'one', 'set-cookie', 'b=2', 'X-DUP', 'two']);
    response.end('<p>héllo</p>');
  },
  '/redirect': (request, response) => {
    response.writeHead(301, { location: '/headers' });
    response.end();
  },
  '/big': (request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('0123456789abcdef');
  },
  '/gzip': (request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
    response.end(gzipSync('compressed text'));
  },
  '/latin1': (request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end(Buffer.from([0x61, 0xe9, 0x62]));
  },
  '/slow': () => {
    // never answers
  },
  '/echo': (request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      lastBody = body;
      response.writeHead(204);
      response.end();
    });
  },
};

const handler: RequestListener = (request, response) => {
  received.push(request);
  (routes[(request.url ?? '/').split('?')[0]!] ?? ((_, res) => res.writeHead(404).end()))(request, response);
};

describe('fetchExchange', () => {
  let certificates: ReturnType<typeof testCertificates>;
  let plain: Server;
  let secure: Server;
  let http = '';
  let https = '';

  beforeAll(async () => {
    certificates = testCertificates();
    plain = createHttpServer(handler);
    secure = createHttpsServer({ key: certificates.key, cert: certificates.cert }, handler);
    http = `http://127.0.0.1:${await listen(plain)}`;
    https = `https://127.0.0.1:${await listen(secure)}`;
  });

  afterAll(async () => {
    await Promise.all([close(plain), close(secure)]);
  });

  it('records the response headers in order, lowercase, repeats apart, and the body as UTF-8', async () => {
    const exchange = await fetchExchange({ method: 'GET', url: `${http}/headers` }, {}, { index: 7, reason: 'start' });
    expect(exchange.index).toBe(7);
    expect(exchange.reason).toBe('start');
    expect(exchange.response.status).toBe(200);
    expect(exchange.response.headers.filter(([name]) => name !== 'date' && name !== 'connection' && name !== 'content-length' && name !== 'keep-alive' && name !== 'transfer-encoding')).toEqual([
      ['content-type', 'text/html'],
      ['set-cookie', 'a=1'],
      ['x-dup', 'one'],
      ['set-cookie', 'b=2'],
      ['x-dup', 'two'],
    ]);
    expect(exchange.response.body).toBe('<p>héllo</p>');
    expect(exchange.response.truncated).toBe(false);
    expect(exchange.tls).toBeUndefined();
    expect(exchange.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('sends the default User-Agent, the extra headers and the request headers (these win)', async () => {
    const exchange = await fetchExchange({ method: 'GET', url: `${http}/headers`, headers: { 'X-Token': 'request' } }, { headers: { 'x-token': 'option', 'x-other': 'o' } }, { index: 0, reason: 'link' });
    const request = received.at(-1)!;
    expect(request.headers['user-agent']).toBe(DEFAULT_USER_AGENT);
    expect(DEFAULT_USER_AGENT).toMatch(/^rampart-audit\/\d+\.\d+\.\d+/);
    expect(request.headers['x-token']).toBe('request');
    expect(request.headers['x-other']).toBe('o');
    expect(exchange.request.headers).toMatchObject({ 'user-agent': DEFAULT_USER_AGENT, 'x-token': 'request', 'x-other': 'o' });
  });

  it('does not follow redirects', async () => {
    const exchange = await fetchExchange({ method: 'GET', url: `${http}/redirect` }, {}, { index: 0, reason: 'start' });
    expect(exchange.response.status).toBe(301);
    expect(exchange.response.headers).toContainEqual(['location', '/headers']);
  });

  it('keeps the first bodyLimit bytes and marks the rest as cut', async () => {
    const cut = await fetchExchange({ method: 'GET', url: `${http}/big` }, { bodyLimit: 10 }, { index: 0, reason: 'start' });
    expect(cut.response.body).toBe('0123456789');
    expect(cut.response.truncated).toBe(true);
    const whole = await fetchExchange({ method: 'GET', url: `${http}/big` }, { bodyLimit: 16 }, { index: 0, reason: 'start' });
    expect(whole.response.body).toBe('0123456789abcdef');
    expect(whole.response.truncated).toBe(false);
  });

  it('decodes gzip, and invalid UTF-8 to replacement characters', async () => {
    expect((await fetchExchange({ method: 'GET', url: `${http}/gzip` }, {}, { index: 0, reason: 'start' })).response.body).toBe('compressed text');
    expect((await fetchExchange({ method: 'GET', url: `${http}/latin1` }, {}, { index: 0, reason: 'start' })).response.body).toBe('a\ufffdb');
  });

  it('sends a body', async () => {
    const exchange = await fetchExchange({ method: 'POST', url: `${http}/echo`, body: 'a=1&b=é', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, {}, { index: 0, reason: 'probe' });
    expect(lastBody).toBe('a=1&b=é');
    expect(exchange.request.body).toBe('a=1&b=é');
    expect(exchange.request.headers['content-length']).toBe('8');
  });

  it('verifies certificates against the given CA', async () => {
    const exchange = await fetchExchange({ method: 'GET', url: `${https}/headers` }, { ca: certificates.ca }, { index: 0, reason: 'https-check' });
    expect(exchange.tls).toEqual({ verified: true });
    expect(exchange.response.status).toBe(200);
  });

  it('retries without verification on a certificate error, and says so', async () => {
    const exchange = await fetchExchange({ method: 'GET', url: `${https}/headers` }, {}, { index: 0, reason: 'https-check' });
    expect(exchange.response.status).toBe(200);
    expect(exchange.tls?.verified).toBe(false);
    expect(exchange.tls?.error).toMatch(/^UNABLE_TO_VERIFY_LEAF_SIGNATURE: /);
  });

  it('throws errors that name the URL and the cause', async () => {
    const closed = createHttpServer();
    const port = await listen(closed);
    await close(closed);
    await expect(fetchExchange({ method: 'GET', url: `http://127.0.0.1:${port}/` }, {}, { index: 0, reason: 'start' })).rejects.toThrow(
      `GET http://127.0.0.1:${port}/: connection refused (nothing listens there) (ECONNREFUSED)`,
    );
    await expect(fetchExchange({ method: 'GET', url: `${http}/slow` }, { timeoutMs: 200 }, { index: 0, reason: 'start' })).rejects.toThrow(`GET ${http}/slow: timed out after 200 ms`);
    await expect(fetchExchange({ method: 'GET', url: `${https.replace('https:', 'http:')}/` }, { timeoutMs: 2000 }, { index: 0, reason: 'start' })).rejects.toThrow(/^GET http:\/\/127\.0\.0\.1:\d+\/: /);
    await expect(fetchExchange({ method: 'GET', url: `${http.replace('http:', 'https:')}/` }, {}, { index: 0, reason: 'start' })).rejects.toThrow(/TLS handshake failed/);
    await expect(fetchExchange({ method: 'GET', url: 'ftp://example.com/' }, {}, { index: 0, reason: 'start' })).rejects.toThrow('only http: and https:');
  });
});
