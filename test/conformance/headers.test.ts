/**
 * Security headers, HTTPS and the violation report endpoint: every scenario runs
 * against the raw Fetch handler and every adapter. A difference between adapters
 * is a bug.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CspViolation, RampartOptions } from 'rampart';
import { connect } from 'node:net';
import { ADAPTERS, rawRequest, startTarget, testOptions, type AdapterName, type Target } from '../support/targets.ts';

const HTML_HEADERS = {
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'x-permitted-cross-domain-policies': 'none',
  'x-download-options': 'noopen',
  'x-xss-protection': '0',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'x-dns-prefetch-control': 'off',
};

const MINIMAL_HEADERS = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-permitted-cross-domain-policies': 'none',
  'x-download-options': 'noopen',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const DOCUMENT_ONLY = ['x-frame-options', 'x-xss-protection', 'cross-origin-opener-policy', 'permissions-policy', 'origin-agent-cluster', 'reporting-endpoints'];

const validReport = JSON.stringify({ 'csp-report': { 'document-uri': 'http://app.test/', 'blocked-uri': 'inline', 'effective-directive': 'script-src-elem' } });

function nonceOf(response: Response): string {
  const match = /script-src 'nonce-([A-Za-z0-9_-]{22})' 'strict-dynamic'/.exec(response.headers.get('content-security-policy') ?? '');
  if (!match) throw new Error(`no nonce in CSP: ${response.headers.get('content-security-policy')}`);
  return match[1]!;
}

describe.each(ADAPTERS)('%s adapter', (adapter: AdapterName) => {
  describe('development mode', () => {
    let target: Target;
    const violations: CspViolation[] = [];
    beforeAll(async () => {
      target = await startTarget(adapter, testOptions({ mode: 'development', reports: { sink: (violation) => void violations.push(violation), rateLimit: { max: 5, windowSeconds: 60 } } }));
    });
    afterAll(() => target.close());

    it('sends every HTML header of the seed, with a fresh nonce the page uses', async () => {
      const response = await target.request('/');
      expect(response.status).toBe(200);
      const body = await response.text();
      const nonce = nonceOf(response);
      expect(response.headers.get('content-security-policy')).toBe(
        `default-src 'self'; script-src 'nonce-${nonce}' 'strict-dynamic'; style-src 'self' 'nonce-${nonce}'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; report-uri /_rampart/csp-report`,
      );
      // Over plain HTTP, Chromium ignores Reporting-Endpoints and, with report-to, report-uri too.
      expect(response.headers.get('reporting-endpoints')).toBeNull();
      for (const [name, value] of Object.entries(HTML_HEADERS)) expect(response.headers.get(name), name).toBe(value);
      expect(response.headers.get('permissions-policy')).toMatch(/camera=\(\)/);
      expect(body).toContain(`<script nonce="${nonce}">`);
      expect(body).toContain(`<style nonce="${nonce}">`);
    });

    it('never sends HSTS over plain HTTP, nor retired or revealing headers', async () => {
      const response = await target.request('/');
      for (const name of ['strict-transport-security', 'public-key-pins', 'expect-ct', 'feature-policy', 'x-powered-by']) {
        expect(response.headers.get(name), name).toBeNull();
      }
    });

    it('uses a new nonce for every response', async () => {
      const nonces = new Set<string>();
      for (let index = 0; index < 5; index++) nonces.add(nonceOf(await target.request('/')));
      expect(nonces.size).toBe(5);
    });

    it('sends the minimal set on non-HTML responses', async () => {
      const response = await target.request('/data.json');
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true, service: 'rampart reference app' });
      for (const [name, value] of Object.entries(MINIMAL_HEADERS)) expect(response.headers.get(name), name).toBe(value);
      for (const name of DOCUMENT_ONLY) expect(response.headers.get(name), name).toBeNull();
    });

    it('protects the framework\'s own 404 too', async () => {
      const response = await target.request('/does-not-exist');
      expect(response.status).toBe(404);
      expect(response.headers.get('content-security-policy')).toMatch(/default-src '(self|none)'/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-powered-by')).toBeNull();
    });

    it('applies per-route header policies', async () => {
      const response = await target.request('/embed');
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      const csp = response.headers.get('content-security-policy')!;
      expect(csp).toContain("frame-ancestors 'self'");
      expect(csp).toContain(`'nonce-${nonceOf(response)}'`);
      // Other routes keep the global policy.
      expect((await target.request('/')).headers.get('x-frame-options')).toBe('DENY');
    });

    it('answers HEAD with the same headers', async () => {
      const response = await target.request('/', { method: 'HEAD' });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('content-security-policy')).toContain("'nonce-");
    });

    describe('violation report endpoint', () => {
      it('accepts a report and hands it to the sink', async () => {
        const response = await target.request('/_rampart/csp-report', { method: 'POST', headers: { 'content-type': 'application/csp-report' }, body: validReport });
        expect(response.status).toBe(204);
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(violations).toContainEqual(expect.objectContaining({ blockedUrl: 'inline', effectiveDirective: 'script-src-elem' }));
      });

      // Each row: what is sent, the status and code expected.
      const refused: [string, { method?: string; headers?: Record<string, string>; body?: string }, number, string][] = [
        ['GET', {}, 405, 'csp_report_method'],
        ['wrong media type', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: validReport }, 415, 'csp_report_media_type'],
        ['malformed JSON', { method: 'POST', headers: { 'content-type': 'application/csp-report' }, body: '{"csp-report": <script>alert(1)</script>' }, 400, 'csp_report_malformed'],
        ['oversized', { method: 'POST', headers: { 'content-type': 'application/csp-report' }, body: `{"csp-report":{"x":"${'a'.repeat(70_000)}"}}` }, 413, 'csp_report_too_large'],
      ];

      it.each(refused)('refuses %s with a clear error, no echo, and keeps serving', async (_name, request, status, code) => {
        const html = await target.request('/_rampart/csp-report', { ...request, headers: { accept: 'text/html', ...request.headers } });
        expect(html.status).toBe(status);
        const page = await html.text();
        expect(page).toContain(`<code>${code}</code>`);
        expect(page).not.toContain('<script>alert(1)');
        expect(html.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
        const json = await target.request('/_rampart/csp-report', { ...request, headers: { accept: 'application/json', ...request.headers } });
        expect(json.headers.get('content-type')).toBe('application/problem+json');
        expect(await json.json()).toMatchObject({ status, code });
        expect((await target.request('/')).status).toBe(200);
      });

      it('survives a report with a hostile Host header and one whose client hangs up mid-body', async () => {
        const hostile = await rawRequest(target.url, '/_rampart/csp-report', { method: 'POST', headers: { host: 'a b', 'content-type': 'application/csp-report' }, body: validReport });
        expect([204, 400, 429]).toContain(hostile.status);
        await new Promise<void>((resolve) => {
          const { hostname, port } = new URL(target.url);
          const socket = connect(Number(port), hostname, () => {
            socket.write('POST /_rampart/csp-report HTTP/1.1\r\nHost: app.test\r\nContent-Type: application/csp-report\r\nContent-Length: 100\r\n\r\n{"csp');
            setTimeout(() => {
              socket.destroy();
              resolve();
            }, 100);
          });
          socket.on('error', () => resolve());
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect((await rawRequest(target.url, '/')).status).toBe(200);
      });

      it('rate-limits a flood from one client', async () => {
        const statuses: number[] = [];
        for (let index = 0; index < 8; index++) {
          const response = await target.request('/_rampart/csp-report', { method: 'POST', headers: { 'content-type': 'application/csp-report' }, body: validReport });
          statuses.push(response.status);
        }
        expect(statuses).toContain(429);
        expect((await target.request('/')).status).toBe(200);
      });
    });
  });

  describe('production mode behind one proxy', () => {
    let target: Target;
    const options: RampartOptions = testOptions({ mode: 'production', origin: 'https://app.test', trustProxy: 1 });
    beforeAll(async () => {
      target = await startTarget(adapter, options);
    });
    afterAll(() => target.close());

    it('sends HSTS and upgrade-insecure-requests when the proxy says HTTPS', async () => {
      const response = await target.request('/', { headers: { host: 'app.test', 'x-forwarded-proto': 'https' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains');
      expect(response.headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
      expect(response.headers.get('content-security-policy')).toContain('report-uri /_rampart/csp-report; report-to rampart-csp');
      expect(response.headers.get('reporting-endpoints')).toBe('rampart-csp="/_rampart/csp-report"');
      const json = await target.request('/data.json', { headers: { host: 'app.test', 'x-forwarded-proto': 'https' } });
      expect(json.headers.get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains');
    });

    it('redirects plain HTTP to the configured HTTPS origin, whatever Host says', async () => {
      for (const host of ['app.test', 'evil.test', 'app.test.evil.test']) {
        const response = await target.request('/path?x=1', { headers: { host, 'x-forwarded-proto': 'http' } });
        expect(response.status).toBe(308);
        expect(response.headers.get('location')).toBe('https://app.test/path?x=1');
        expect(response.headers.get('strict-transport-security')).toBeNull();
      }
    });

    it('redirects unsafe methods too, keeping the method (308)', async () => {
      const response = await target.request('/anything', { method: 'POST', headers: { host: 'app.test', 'content-type': 'text/plain' }, body: 'x' });
      expect(response.status).toBe(308);
    });
  });

  describe('production mode without a trusted proxy', () => {
    let target: Target;
    beforeAll(async () => {
      target = await startTarget(adapter, testOptions({ mode: 'production', origin: 'https://app.test' }));
    });
    afterAll(() => target.close());

    it('is not fooled by an absolute https request target over plain HTTP', async () => {
      // `GET https://app.test/ HTTP/1.1` on a plain connection: some servers put that URL in request.url.
      const response = await rawRequest(target.url, 'https://app.test/', { headers: { host: 'app.test' } });
      expect(response.status).toBe(308);
      expect(response.headers.get('strict-transport-security')).toBeNull();
    });

    it('ignores a forged X-Forwarded-Proto: still plain HTTP, still redirected, no HSTS', async () => {
      const response = await target.request('/', { headers: { host: 'app.test', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.test' } });
      expect(response.status).toBe(308);
      expect(response.headers.get('location')).toBe('https://app.test/');
      expect(response.headers.get('strict-transport-security')).toBeNull();
    });
  });
});

describe('every adapter sends the same headers', () => {
  it('for an HTML page and a JSON response', async () => {
    const seen = new Map<string, string>();
    for (const adapter of ADAPTERS) {
      const target = await startTarget(adapter, testOptions({ mode: 'development' }));
      try {
        for (const path of ['/', '/data.json', '/embed']) {
          const response = await target.request(path);
          const names = [...response.headers.keys()].filter((name) => !['date', 'connection', 'keep-alive', 'content-length', 'etag', 'content-type', 'transfer-encoding', 'vary'].includes(name));
          const summary = names
            .sort()
            .map((name) => `${name}: ${response.headers.get(name)!.replace(/'nonce-[^']+'/g, "'nonce-…'").replace(/__Host-csrf=[\w-]+/, '__Host-csrf=…')}`)
            .join('\n');
          const previous = seen.get(path);
          if (previous === undefined) seen.set(path, summary);
          else expect(summary, `${adapter} ${path}`).toBe(previous);
        }
      } finally {
        await target.close();
      }
    }
  });
});
