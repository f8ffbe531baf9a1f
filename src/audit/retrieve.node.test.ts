import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { observatory } from './observatory.ts';
import { retrieveSite } from './retrieve.node.ts';

/** A throwaway CA and a certificate it issues for 127.0.0.1 (openssl; a missing openssl fails the test). */
function testCertificates(): { ca: string; key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-retrieve-'));
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    const run = (args: string[]): void => void execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    run(['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=retrieve test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-keyout', file('ca.key'), '-out', file('ca.pem')]);
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

function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

interface Seen {
  readonly scheme: 'http' | 'https' | 'other-host';
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
}

type Route = (request: IncomingMessage, response: ServerResponse, scheme: Seen['scheme']) => unknown;

describe('retrieveSite', () => {
  let certificates: ReturnType<typeof testCertificates>;
  const seen: Seen[] = [];
  let route: Route = () => {};
  let httpServer: Server;
  let httpsServer: Server;
  let otherHost: Server;
  let httpPort = 0;
  let httpsPort = 0;
  let otherPort = 0;
  let counter = 0;
  const next = (): number => counter++;

  const record = (scheme: Seen['scheme']) => (request: IncomingMessage, response: ServerResponse) => {
    seen.push({ scheme, method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    route(request, response, scheme);
  };

  beforeAll(async () => {
    certificates = testCertificates();
    httpServer = createHttpServer(record('http'));
    httpsServer = createHttpsServer({ key: certificates.key, cert: certificates.cert }, record('https'));
    otherHost = createHttpServer(record('other-host'));
    httpPort = await listen(httpServer);
    httpsPort = await listen(httpsServer);
    otherPort = await listen(otherHost, '127.0.0.2');
  });

  afterAll(async () => {
    await Promise.all([close(httpServer), close(httpsServer), close(otherHost)]);
  });

  beforeEach(() => {
    seen.length = 0;
    counter = 0;
  });

  const httpsTarget = (): URL => new URL(`https://127.0.0.1:${httpsPort}/start?x=1`);

  it('retrieves both chains, robots.txt and the preflight, as Observatory does', async () => {
    route = (request, response, scheme) => {
      if (scheme === 'http') return response.writeHead(301, { location: `https://127.0.0.1:${httpsPort}/start?x=1` }).end();
      if (request.url === '/start?x=1') return response.writeHead(302, { location: '/home' }).end();
      if (request.url === '/robots.txt') return response.writeHead(404).end();
      return response.writeHead(200, { 'content-type': 'text/html', 'strict-transport-security': 'max-age=31536000' }).end('<p>home</p>');
    };
    const site = await retrieveSite(httpsTarget(), { httpPort, ca: certificates.ca }, next);
    expect(site.hostname).toBe(`127.0.0.1:${httpsPort}`);
    expect(site.http?.map((exchange) => [exchange.request.url, exchange.response.status, exchange.reason])).toEqual([
      [`http://127.0.0.1:${httpPort}/start?x=1`, 301, 'http-check'],
      [`https://127.0.0.1:${httpsPort}/start?x=1`, 302, 'http-check'],
      [`https://127.0.0.1:${httpsPort}/home`, 200, 'http-check'],
    ]);
    expect(site.https?.map((exchange) => [exchange.request.url, exchange.response.status, exchange.reason])).toEqual([
      [`https://127.0.0.1:${httpsPort}/start?x=1`, 302, 'https-check'],
      [`https://127.0.0.1:${httpsPort}/home`, 200, 'https-check'],
    ]);
    expect(site.auto).toBe(site.https?.at(-1));
    expect(site.robots.map((exchange) => [exchange.request.url, exchange.reason])).toEqual([[`https://127.0.0.1:${httpsPort}/robots.txt`, 'robots']]);
    expect(site.preflight.map((exchange) => [exchange.request.method, exchange.request.url, exchange.reason])).toEqual([['OPTIONS', `https://127.0.0.1:${httpsPort}/home`, 'preflight']]);
    const preflight = seen.find((request) => request.method === 'OPTIONS')!;
    expect(preflight.headers.origin).toBe('https://http-observatory.security.mozilla.org');
    expect(preflight.headers['access-control-request-method']).toBe('GET');
    expect(site.exchanges.map((exchange) => exchange.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(site.errors).toEqual([]);
    expect(site.https?.every((exchange) => exchange.tls?.verified === true)).toBe(true);
    expect(observatory(site)?.tests['redirection']?.result).toBe('redirection-to-https');
  });

  it("keeps a cookie jar per chain and sends it back, but not on robots.txt and the preflight of a verified session", async () => {
    route = (request, response, scheme) => {
      if (scheme === 'http') return response.writeHead(301, { location: `https://127.0.0.1:${httpsPort}/`, 'set-cookie': 'plain=1' }).end();
      if (request.url === '/') return response.writeHead(302, { location: '/home', 'set-cookie': ['a=1; Secure', 'b=2; Path=/other'] }).end();
      return response.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'c=3; HttpOnly' }).end('<p>home</p>');
    };
    const site = await retrieveSite(new URL(`https://127.0.0.1:${httpsPort}/`), { httpPort, ca: certificates.ca }, next);
    const home = seen.filter((request) => request.scheme === 'https' && request.url === '/home' && request.method === 'GET');
    // The HTTP chain's own jar carried `plain` to HTTPS; the HTTPS chain's jar only `a`.
    expect(home.map((request) => request.headers.cookie).sort()).toEqual(['a=1', 'plain=1; a=1']);
    expect(seen.find((request) => request.url === '/robots.txt')?.headers.cookie).toBeUndefined();
    expect(seen.find((request) => request.method === 'OPTIONS')?.headers.cookie).toBeUndefined();
    expect(site.cookies).toEqual(['a=1; Secure', 'b=2; Path=/other', 'c=3; HttpOnly']);
  });

  it('sends the given cookies and headers to the target host only', async () => {
    route = (request, response, scheme) => {
      if (scheme === 'http') return response.writeHead(301, { location: `http://127.0.0.2:${otherPort}/` }).end();
      if (scheme === 'other-host') return response.writeHead(200, { 'content-type': 'text/html' }).end('other');
      return response.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'jar=1' }).end('<p>home</p>');
    };
    await retrieveSite(new URL(`https://127.0.0.1:${httpsPort}/`), { httpPort, ca: certificates.ca, cookies: 'login=me; jar=given', headers: { authorization: 'Bearer t' } }, next);
    const first = seen.find((request) => request.scheme === 'http')!;
    expect(first.headers.cookie).toBe('login=me; jar=given');
    expect(first.headers.authorization).toBe('Bearer t');
    const other = seen.find((request) => request.scheme === 'other-host')!;
    expect(other.headers.cookie).toBeUndefined();
    expect(other.headers.authorization).toBeUndefined();
  });

  it('follows at most 10 redirects and keeps the 11th answer', async () => {
    route = (request, response, scheme) => {
      if (scheme === 'http') return response.writeHead(404).end();
      const step = Number(new URL(request.url ?? '/', 'https://x').searchParams.get('n') ?? '0');
      return response.writeHead(307, { location: `/?n=${step + 1}` }).end();
    };
    const site = await retrieveSite(new URL(`https://127.0.0.1:${httpsPort}/`), { httpPort, ca: certificates.ca }, next);
    expect(site.https).toHaveLength(11);
    expect(site.auto?.response.status).toBe(307);
    // robots.txt and the preflight follow any 3xx, and give up after 10.
    expect(site.robots).toHaveLength(11);
  });

  it('treats the other scheme of a loopback dev server as unavailable, not as an error', async () => {
    route = (request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<p>dev</p>');
    const site = await retrieveSite(new URL(`http://127.0.0.1:${httpPort}/`), {}, next);
    expect(site.https).toBeUndefined();
    expect(site.httpsUnavailable).toBe(true);
    expect(site.httpsError).toMatch(/^not tried: .*--https-port/);
    expect(site.errors).toEqual([]);
    expect(seen.every((request) => request.scheme === 'http')).toBe(true);
    expect(site.auto).toBe(site.http?.at(-1));
    expect(observatory(site)?.tests['strict-transport-security']?.result).toBe('hsts-not-implemented-no-https');
  });

  it('reports a side that cannot be reached', async () => {
    route = (request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<p>plain</p>');
    const closed = createHttpServer();
    const closedPort = await listen(closed);
    await close(closed);
    const site = await retrieveSite(new URL(`http://127.0.0.1:${httpPort}/`), { httpsPort: closedPort }, next);
    expect(site.https).toBeUndefined();
    expect(site.httpsUnavailable).toBe(false);
    expect(site.httpsError).toContain('ECONNREFUSED');
    expect(site.errors).toEqual([site.httpsError]);
    expect(site.auto?.request.url).toBe(`http://127.0.0.1:${httpPort}/`);
  });

  it('with an unverified certificate: robots.txt and the preflight use the jar, and the preflight goes to robots.txt', async () => {
    route = (request, response, scheme) => {
      if (scheme === 'http') return response.writeHead(301, { location: `https://127.0.0.1:${httpsPort}/` }).end();
      if (request.url === '/robots.txt') return response.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'robots=1' }).end('User-agent: *\n');
      return response.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'page=1' }).end('<p>home</p>');
    };
    const site = await retrieveSite(new URL(`https://127.0.0.1:${httpsPort}/`), { httpPort }, next);
    expect(site.auto?.tls).toMatchObject({ verified: false });
    expect(seen.find((request) => request.url === '/robots.txt' && request.method === 'GET')?.headers.cookie).toBe('page=1');
    const preflight = seen.find((request) => request.method === 'OPTIONS')!;
    expect(preflight.url).toBe('/robots.txt');
    expect(preflight.headers.cookie).toBe('page=1; robots=1');
    expect(site.cookies).toEqual(['page=1', 'robots=1']);
  });

  it('follows a 303 from the preflight with GET', async () => {
    route = (request, response, scheme) => {
      if (scheme === 'http') return response.writeHead(301, { location: `https://127.0.0.1:${httpsPort}/` }).end();
      if (request.method === 'OPTIONS') return response.writeHead(303, { location: '/cors' }).end();
      return response.writeHead(200, { 'content-type': 'text/html' }).end('<p>x</p>');
    };
    const site = await retrieveSite(new URL(`https://127.0.0.1:${httpsPort}/`), { httpPort, ca: certificates.ca }, next);
    expect(site.preflight.map((exchange) => [exchange.request.method, new URL(exchange.request.url).pathname])).toEqual([
      ['OPTIONS', '/'],
      ['GET', '/cors'],
    ]);
  });
});
