/**
 * `rampart audit` against real servers on loopback: the reference app (top grade), a
 * Flask app that follows the seed (nothing flagged), and one that violates each of its
 * practices (every planted issue found). The Flask apps count every state change: the
 * active probes must leave those counters as they were.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit } from '../../src/audit/audit.node.ts';
import type { AuditReport } from '../../src/audit/types.ts';
import { startFlask, type FlaskFixture } from '../support/flask.ts';
import { closeServer } from '../support/targets.ts';

const KEY = 'nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s';

function certificate(): { key: string; cert: string } {
  const directory = mkdtempSync(join(tmpdir(), 'rampart-audit-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(directory, 'key.pem'), '-out', join(directory, 'cert.pem')], { stdio: 'ignore' });
    return { key: readFileSync(join(directory, 'key.pem'), 'utf8'), cert: readFileSync(join(directory, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function listenOn(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function rules(report: AuditReport): string[] {
  return [...new Set(report.findings.map((finding) => finding.ruleId))].sort();
}

function above(report: AuditReport, severities: readonly string[]): string[] {
  return report.findings.filter((finding) => severities.includes(finding.severity)).map((finding) => `${finding.severity} ${finding.ruleId} at ${finding.url}: ${finding.message}`);
}

describe('the reference app (Express, production, HTTPS with an HTTP redirect port)', () => {
  let report: AuditReport;
  const servers: Server[] = [];
  const directory = mkdtempSync(join(tmpdir(), 'rampart-audit-uploads-'));

  beforeAll(async () => {
    const tls = certificate();
    let handler: RequestListener = (_request, response) => response.end();
    const https = createHttpsServer(tls, (request, response) => handler(request, response));
    const http = createHttpServer((request, response) => handler(request, response));
    servers.push(https, http);
    const httpsPort = await listenOn(https);
    const httpPort = await listenOn(http);
    const { createApp } = (await import(/* @vite-ignore */ '../../examples/express/app.mjs' as string)) as { createApp(options: object): RequestListener };
    handler = createApp({ mode: 'production', keys: KEY, origin: `https://127.0.0.1:${httpsPort}`, logger: { warn: () => {} }, uploadsDirectory: directory });
    report = await audit(`https://127.0.0.1:${httpsPort}/`, { active: true, ca: tls.cert, httpPort, rate: 100 });
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => closeServer(server)));
    rmSync(directory, { recursive: true, force: true });
  });

  it('gets the top grade, every practice assessed and passed', () => {
    expect(report.errors).toEqual([]);
    expect(above(report, ['critical', 'high', 'medium', 'low'])).toEqual([]);
    expect(report.checklist.practices.filter((entry) => entry.status !== 'pass')).toEqual([]);
    expect(report.checklist.grade).toBe('A+');
    expect(report.observatory?.grade).toBe('A+');
  });

  it('probed XSS, CSRF and traversal, and listed every probe request', () => {
    const probes = report.exchanges.filter((exchange) => exchange.reason === 'probe');
    expect(probes.some((exchange) => exchange.request.url.includes('/search?'))).toBe(true);
    expect(probes.some((exchange) => exchange.request.method === 'POST' && exchange.response.status === 403)).toBe(true);
    expect(probes.some((exchange) => exchange.request.url.includes('/files/') && exchange.response.status === 400)).toBe(true);
    expect(probes.every((exchange) => exchange.request.headers['x-audit-probe'] !== undefined)).toBe(true);
  });
});

describe.each(['violating', 'compliant'] as const)('the %s Flask app (HTTPS)', (kind) => {
  let flask: FlaskFixture;
  let report: AuditReport;
  let stateBefore: Record<string, number>;
  let stateAfter: Record<string, number>;

  beforeAll(async () => {
    flask = await startFlask(kind, { https: true });
    stateBefore = await flask.state();
    report = await audit(`${flask.url}/`, { active: true, ca: flask.ca!, httpPort: Number(new URL(flask.httpUrl).port), rate: 100 });
    stateAfter = await flask.state();
  });
  afterAll(() => flask?.stop());

  it('changes nothing on the server: the active probes are safe by construction', () => {
    expect(stateAfter).toEqual(stateBefore);
    expect(report.exchanges.filter((exchange) => exchange.reason === 'probe').length).toBeGreaterThan(0);
  });

  if (kind === 'violating') {
    it('finds every planted issue (test/fixtures/flask/README.md)', () => {
      const found = rules(report);
      const planted = [
        'xss-reflected', // V1.1 Markup(q), V1.2 unquoted value={{ q }}
        'xss-javascript-url', // V1.3 href="{{ q }}"
        'form-no-csrf-token', // V2.1
        'csrf-not-enforced', // V2.2
        'traversal-dir-echo', // V3.1 /download?file=, V3.3 /files/..%2f
        'cookie-session-no-secure', // V4.1
        'cookie-session-no-httponly', // V4.1
        'cookie-no-samesite', // V4.2 remember (or its session-like variant)
        'http-no-redirect', // V5.2
        'hsts-missing', // V5.3
        'csp-missing', // V5.1
        'xfo-missing', // V5.4
        'nosniff-missing', // V5.5
        'referrer-policy-missing', // V5.6
        'xpcdp-missing', // V5.7
        'x-download-options-missing', // V5.8
        'x-xss-protection-enabled', // V5.9
        'hpkp-present', // V5.10
        'server-version', // V5.11
        'x-powered-by', // V5.11
        'debug-page', // V5.12
      ];
      const missing = planted.filter((rule) => !found.includes(rule) && !(rule === 'cookie-no-samesite' && found.includes('cookie-session-no-samesite')));
      expect(missing, JSON.stringify(report.findings.map((finding) => [finding.ruleId, finding.url]), null, 1)).toEqual([]);
      const xss = report.findings.filter((finding) => finding.ruleId === 'xss-reflected');
      expect(xss.length).toBeGreaterThanOrEqual(1);
      const traversal = report.findings.filter((finding) => finding.ruleId === 'traversal-dir-echo').map((finding) => new URL(finding.url).pathname);
      expect(traversal).toEqual(expect.arrayContaining(['/download', expect.stringMatching(/^\/files\//)]));
      expect(report.checklist.grade).toBe('F');
      expect(report.checklist.practices.every((entry) => entry.status === 'fail')).toBe(true);
    });
  } else {
    it('flags nothing above info, and every practice passes', () => {
      expect(report.errors).toEqual([]);
      expect(above(report, ['critical', 'high', 'medium', 'low'])).toEqual([]);
      expect(report.checklist.practices.map((entry) => [entry.practice, entry.status])).toEqual(report.checklist.practices.map((entry) => [entry.practice, 'pass']));
    });
  }
});

describe('the crawl', () => {
  it('keeps to its budget and says what it left out', async () => {
    const server = createHttpServer((request, response) => {
      const page = Number(/\/page(\d+)/.exec(request.url ?? '')?.[1] ?? 0);
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(`<a href="/page${page + 1}">next</a> <a href="/page${page + 2}">after</a> <a href="https://elsewhere.example/">out</a>`);
    });
    const port = await listenOn(server);
    try {
      const report = await audit(`http://127.0.0.1:${port}/`, { maxRequests: 20, rate: 1000 });
      expect(report.exchanges.length).toBeLessThanOrEqual(20);
      expect(report.exchanges.every((exchange) => new URL(exchange.request.url).hostname === '127.0.0.1')).toBe(true);
      expect(report.errors.join('\n')).toMatch(/request budget \(20\) ran out with \d+ pages? not visited/);
    } finally {
      await closeServer(server);
    }
  });
});

describe('what counts as a page', () => {
  /** Headers a compliant page sends, so that only the findings in question can appear. */
  const GOOD_HEADERS = {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'self'; script-src 'nonce-abcdefgh12345678' 'strict-dynamic'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; report-uri /r",
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'strict-origin-when-cross-origin',
    'x-permitted-cross-domain-policies': 'none',
    'x-download-options': 'noopen',
    'x-xss-protection': '0',
    'permissions-policy': 'camera=()',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };

  async function auditOf(listener: RequestListener): Promise<AuditReport> {
    const server = createHttpServer(listener);
    const port = await listenOn(server);
    try {
      return await audit(`http://127.0.0.1:${port}/`, { maxRequests: 30, rate: 1000 });
    } finally {
      await closeServer(server);
    }
  }

  it('a redirect (an nginx-style 301 in text/html, no app headers) gets no page findings', async () => {
    const report = await auditOf((request, response) => {
      if (request.url === '/') {
        response.writeHead(301, { 'content-type': 'text/html', location: '/home', server: 'nginx' });
        response.end('<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n<center><h1>301 Moved Permanently</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n');
        return;
      }
      response.writeHead(request.url === '/home' ? 200 : 404, GOOD_HEADERS);
      response.end('<!doctype html><html><head><title>t</title></head><body><p>hi</p></body></html>');
    });
    const pageRules = report.findings.filter((finding) => finding.url === report.target && !/^(?:http|https|hsts)-/.test(finding.ruleId));
    expect(pageRules.map((finding) => finding.ruleId)).toEqual([]);
    expect(report.exchanges.some((exchange) => exchange.request.url.endsWith('/home'))).toBe(true);
  });

  it('a CSP <meta> outside <head> is not enforced: the page has no CSP', async () => {
    const { 'content-security-policy': _csp, ...headers } = GOOD_HEADERS;
    const policy = "default-src 'none'; script-src 'nonce-abcdefgh12345678' 'strict-dynamic'; object-src 'none'; base-uri 'none'; form-action 'self'";
    const report = await auditOf((request, response) => {
      response.writeHead(request.url === '/' || request.url === '/head' ? 200 : 404, headers);
      const meta = `<meta http-equiv="Content-Security-Policy" content="${policy}">`;
      response.end(request.url === '/head' ? `<!doctype html><html><head><title>t</title>${meta}</head><body><p>hi</p></body></html>` : `<!doctype html><html><head><title>t</title></head><body><p>hi</p>${meta}<a href="/head">head</a></body></html>`);
    });
    const missing = report.findings.filter((finding) => finding.ruleId === 'csp-missing');
    expect(missing.map((finding) => new URL(finding.url).pathname)).toContain('/');
    expect(missing.map((finding) => new URL(finding.url).pathname)).not.toContain('/head');
  });
});
