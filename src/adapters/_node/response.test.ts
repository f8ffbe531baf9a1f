/**
 * Every way node:http code writes a response head goes through rampart: writeHead
 * with an object, a flat list, pairs, a reason phrase; setHeader then end; write;
 * flushHeaders. The security headers are added once, and the handler's own win.
 */

import { createServer, ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { html as page } from '../../html/html.ts';
import { rampart } from '../../rampart.ts';
import { FetchIncoming } from '../_fetch.ts';
import { rampartNode, sendHtml } from '../node.ts';
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
  '/page': (res) => sendHtml(res, feed),
  '/page-404': (res) => {
    res.setHeader('x-set-before', 'kept');
    sendHtml(res, page`<p>No such page</p>`, { status: 404, headers: { 'cache-control': 'no-store', 'x-custom': 'yes' } });
  },
  '/page-twice': (res) => {
    sendHtml(res, page`<p>one</p>`);
    refused('/page-twice', () => sendHtml(res, page`<p>two</p>`));
  },
  '/page-typed': (res) => {
    if (refused('/page-typed', () => sendHtml(res, page`<p>x</p>`, { headers: { 'Content-Type': 'text/plain' } }))) res.writeHead(500).end();
  },
  '/page-string': (res) => {
    if (refused('/page-string', () => sendHtml(res, '<p>x</p>' as never))) res.writeHead(500).end();
  },
  '/page-statuses': (res) => {
    for (const status of [204, 205, 304, 103, 199, 600, 200.5]) refused(`/page-statuses ${status}`, () => sendHtml(res, page`<p>x</p>`, { status }));
    refused('/page-statuses array', () => sendHtml(res, page`<p>x</p>`, { headers: ['content-type', 'text/plain'] as never }));
    res.setHeader('Transfer-Encoding', 'chunked');
    refused('/page-statuses chunked', () => sendHtml(res, page`<p>x</p>`));
    res.removeHeader('Transfer-Encoding');
    sendHtml(res, page`<p>none refused</p>`);
  },
  '/page-status-code': (res) => {
    res.statusCode = 410;
    sendHtml(res, page`<p>gone</p>`);
  },
  '/page-crlf': (res) => {
    refused('/page-crlf', () => sendHtml(res, page`<p>x</p>`, { headers: { 'x-injected': 'a\r\nSet-Cookie: evil=1' } }));
    // The head was refused, not written: the error page that follows is still protected.
    res.writeHead(500, { 'content-type': 'text/html; charset=utf-8' }).end('<p>error</p>');
  },
};

/** A page with data above U+00FF (two-byte in V8), a lone surrogate, a script and a form. */
const TEXT = 'Ship it — today 🚀 «ok» \uD800 end';
const feed = page`<!doctype html><title>${TEXT}</title><p>${TEXT}</p><script>1</script><form method="post" action="/x"><button>Go</button></form>`;
/** What a misuse of sendHtml threw, by route. */
const refusals: Record<string, string> = {};
function refused(route: string, send: () => void): boolean {
  try {
    send();
    return false;
  } catch (error) {
    refusals[route] = `${(error as Error).name}: ${(error as Error).message}`;
    return true;
  }
}

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

describe('sendHtml', () => {
  it('renders the page for the response: its nonce, its form\'s CSRF field, UTF-8 with its exact length', async () => {
    const response = await fetch(`${base}/page`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const body = new TextDecoder().decode(bytes);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(html);
    expect(Number(response.headers.get('content-length'))).toBe(bytes.length);
    expect(body).toContain(`<p>Ship it — today 🚀 «ok» \uFFFD end</p>`);
    const nonce = /'nonce-([\w-]{22})'/.exec(response.headers.get('content-security-policy') ?? '')?.[1];
    expect(body).toContain(`<script nonce="${nonce}">1</script>`);
    expect(body).toMatch(/<form method="post" action="\/x"><input type="hidden" name="csrf_token" value="[\w-]{50}">/);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });

  it('answers HEAD with the head only, the same length', async () => {
    const get = await fetch(`${base}/page`);
    const head = await fetch(`${base}/page`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(get.headers.get('content-length'));
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('takes a status and headers, and keeps those set before', async () => {
    const response = await fetch(`${base}/page-404`);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('<p>No such page</p>');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-custom')).toBe('yes');
    expect(response.headers.get('x-set-before')).toBe('kept');
  });

  it('refuses a second page, a content type of its own, and a string', async () => {
    expect(await (await fetch(`${base}/page-twice`)).text()).toBe('<p>one</p>');
    expect((await fetch(`${base}/page-typed`)).status).toBe(500);
    expect((await fetch(`${base}/page-string`)).status).toBe(500);
    expect(refusals).toEqual({
      '/page-twice': 'TypeError: rampart: sendHtml() after the response head was written: send the page instead of writing the head first.',
      '/page-typed': "TypeError: rampart: sendHtml() sets the page's type and length itself (text/html; charset=utf-8, Content-Length); leave content-type out.",
      '/page-string': 'TypeError: rampart: render() takes a page made with the html`…` tag; HTML is not built from strings.',
    });
  });

  it('takes the response\'s statusCode when no status is given (Express\'s res.status())', async () => {
    const response = await fetch(`${base}/page-status-code`);
    expect(response.status).toBe(410);
    expect(await response.text()).toBe('<p>gone</p>');
  });

  it('refuses statuses that carry no page, headers that are not an object, and a chunked encoding', async () => {
    const response = await fetch(`${base}/page-statuses`);
    expect(await response.text()).toBe('<p>none refused</p>');
    expect(response.headers.get('transfer-encoding')).toBeNull();
    for (const status of [204, 205, 304, 103, 199, 600, 200.5]) {
      expect(refusals[`/page-statuses ${status}`]).toBe(
        `RangeError: rampart: sendHtml() status: expected 200–599 for a page (not 204, 205 or 304, which carry none), got ${status}; answer those with res.writeHead(status).end().`,
      );
    }
    expect(refusals['/page-statuses array']).toBe('TypeError: rampart: sendHtml() headers: expected an object of header names and values, e.g. { "cache-control": "no-store" }.');
    expect(refusals['/page-statuses chunked']).toBe("TypeError: rampart: sendHtml() sets the page's type and length itself (text/html; charset=utf-8, Content-Length); leave transfer-encoding out.");
  });

  it('keeps the response protected when node refuses a header with CR LF', async () => {
    const response = await fetch(`${base}/page-crlf`);
    expect(response.status).toBe(500);
    expect(refusals['/page-crlf']).toMatch(/^TypeError: Invalid character in header content \["x-injected"\]/);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'self'; script-src 'nonce-/);
  });

  it('refuses a response rampart does not protect', async () => {
    const plain = createServer((_req, res) => {
      try {
        sendHtml(res, page`<p>x</p>`);
      } catch (error) {
        res.writeHead(500).end((error as Error).message);
      }
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/`);
      expect(response.status).toBe(500);
      expect(await response.text()).toBe('rampart: sendHtml() takes a response rampart protects: wrap the handler with rampartNode() (or use rampartExpress()).');
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});
