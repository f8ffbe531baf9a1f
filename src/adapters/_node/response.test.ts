/**
 * Every way node:http code writes a response head goes through rampart: writeHead
 * with an object, a flat list, pairs, a reason phrase; setHeader then end; write;
 * flushHeaders. The security headers are added once, and the handler's own win.
 */

import { createServer, ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rampart } from '../../rampart.ts';
import { FetchIncoming } from '../_fetch.ts';
import { rampartNode } from '../node.ts';
import { writeSecuredHead } from './response.ts';

const html = 'text/html; charset=utf-8';
const ServerResponseWriteHead = ServerResponse.prototype.writeHead as Parameters<typeof writeSecuredHead>[2];
const readAfterSend: unknown[] = [];
const shapes: Record<string, (res: ServerResponse) => void> = {
  '/object': (res) => res.writeHead(200, { 'Content-Type': html }).end('x'),
  '/flat': (res) => res.writeHead(200, ['Content-Type', html, 'X-Custom', 'yes']).end('x'),
  '/pairs': (res) => res.writeHead(200, [['content-type', html], ['x-custom', 'yes']] as unknown as string[]).end('x'),
  '/reason': (res) => res.writeHead(200, 'Fine', { 'content-type': html }).end('x'),
  '/progressive': (res) => {
    res.setHeader('Content-Type', html);
    res.end('x');
  },
  '/mixed': (res) => {
    res.setHeader('x-frame-options', 'SAMEORIGIN');
    res.writeHead(200, { 'content-type': html, 'referrer-policy': 'no-referrer' }).end('x');
  },
  '/write': (res) => {
    res.setHeader('content-type', html);
    res.write('a');
    res.end('b');
  },
  '/flush': (res) => {
    res.setHeader('content-type', html);
    res.flushHeaders();
    res.end('x');
  },
  '/bare': (res) => res.end('x'),
  '/read-after-send': (res) => {
    res.setHeader('content-type', html);
    res.setHeader('x-custom', 'kept');
    res.end('x');
    // Loggers read headers after the response is sent.
    readAfterSend.push(res.headersSent, res.getHeader('x-custom'), res.getHeader('content-type'));
  },
  '/cookies': (res) => res.writeHead(200, { 'content-type': html, 'set-cookie': ['a=1', 'b=2'] }).end('x'),
  '/powered': (res) => res.writeHead(200, { 'content-type': html, 'X-Powered-By': 'Express', 'Expect-CT': 'max-age=1' }).end('x'),
};

let server: Server;
let base: string;
beforeAll(async () => {
  const security = rampart({ keys: 'nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s', logger: { warn: () => {} } });
  server = createServer(rampartNode(security, (req, res) => shapes[req.url!]!(res)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('writing the head', () => {
  it.each(['/object', '/flat', '/pairs', '/reason', '/progressive', '/write', '/flush'])('%s gets the HTML headers once', async (path) => {
    const response = await fetch(`${base}${path}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(html);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'self'; script-src 'nonce-[\w-]{22}' 'strict-dynamic'/);
    expect(response.headers.get('content-security-policy')).not.toContain(', '); // not sent twice
  });

  it('keeps the handler\'s other headers and reason phrase', async () => {
    expect((await fetch(`${base}/flat`)).headers.get('x-custom')).toBe('yes');
    expect((await fetch(`${base}/pairs`)).headers.get('x-custom')).toBe('yes');
    expect((await fetch(`${base}/reason`)).statusText).toBe('Fine');
  });

  it('lets headers set by setHeader or writeHead win', async () => {
    const response = await fetch(`${base}/mixed`);
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('gives a response without a type the minimal set', async () => {
    const response = await fetch(`${base}/bare`);
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(response.headers.get('x-frame-options')).toBeNull();
  });

  it('leaves the handler\'s headers readable after the head is sent', async () => {
    const response = await fetch(`${base}/read-after-send`);
    expect(response.headers.get('x-custom')).toBe('kept');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(readAfterSend).toEqual([true, 'kept', html]);
  });

  it('keeps multiple Set-Cookie headers', async () => {
    expect((await fetch(`${base}/cookies`)).headers.getSetCookie()).toEqual(['a=1', 'b=2']);
  });

  it('strips X-Powered-By and retired headers passed to writeHead', async () => {
    const response = await fetch(`${base}/powered`);
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(response.headers.get('expect-ct')).toBeNull();
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('without node\'s private header store', () => {
  it('adds the same headers through the public API', async () => {
    const security = rampart({ keys: 'nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s', logger: { warn: () => {} } });
    const context = security.begin(new FetchIncoming(new Request('http://x/'), '127.0.0.1', false));
    if (context instanceof Response || context instanceof Promise) throw new Error('expected a context');
    const plain = createServer((_req, res) => {
      res.setHeader('x-frame-options', 'SAMEORIGIN');
      res.setHeader('x-powered-by', 'PHP');
      // The hook on the prototype passes this response through: it is not protected.
      writeSecuredHead(res, context, ServerResponseWriteHead, 200, { 'content-type': html }, undefined, undefined);
      res.end('x');
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/`);
      expect(response.headers.get('content-security-policy')).toContain(`'nonce-${context.nonce}'`);
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(response.headers.get('x-powered-by')).toBeNull();
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});
