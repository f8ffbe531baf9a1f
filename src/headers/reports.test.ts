import { describe, expect, it } from 'vitest';
import { compileReports, type CspViolation, type ReportsOptions } from './reports.ts';

function receiver(options: ReportsOptions = {}, clock = { now: 0 }) {
  const violations: CspViolation[] = [];
  const warnings: string[] = [];
  const reports = compileReports({ sink: (violation) => void violations.push(violation), ...options }, (message) => warnings.push(message), () => clock.now)!;
  return { reports, violations, warnings, clock };
}

const legacy = {
  'csp-report': {
    'document-uri': 'https://app.example/page?token=secret#frag',
    'blocked-uri': 'inline',
    'effective-directive': 'script-src-elem',
    'violated-directive': 'script-src-elem',
    'source-file': 'https://app.example/page',
    'line-number': 12,
    'column-number': 3,
    'script-sample': 'alert(1)\r\nINJECTED LOG LINE',
    'status-code': 200,
    disposition: 'enforce',
  },
};

const reportingApi = [
  { type: 'csp-violation', age: 1, url: 'https://app.example/', body: { documentURL: 'https://app.example/', blockedURL: 'https://evil.example/x.js', effectiveDirective: 'script-src-elem', disposition: 'report', lineNumber: 4 } },
  { type: 'deprecation', body: { id: 'x' } },
];

function post(body: string | Uint8Array<ArrayBuffer>, contentType = 'application/csp-report', init: RequestInit = {}): Request {
  return new Request('https://app.example/_rampart/csp-report', { method: 'POST', body, headers: { 'content-type': contentType }, ...init });
}

describe('receiving reports', () => {
  it('normalizes a report-uri report, without query, fragment or control characters', async () => {
    const { reports, violations } = receiver();
    const response = await reports.receive(post(JSON.stringify(legacy)), '1.2.3.4');
    expect(response.status).toBe(204);
    expect(violations).toEqual([
      {
        disposition: 'enforce',
        documentUrl: 'https://app.example/page',
        blockedUrl: 'inline',
        effectiveDirective: 'script-src-elem',
        sourceFile: 'https://app.example/page',
        lineNumber: 12,
        columnNumber: 3,
        sample: 'alert(1)  INJECTED LOG LINE',
        statusCode: 200,
      },
    ]);
  });

  it('normalizes Reporting API batches and ignores other report types', async () => {
    const { reports, violations } = receiver();
    const response = await reports.receive(post(JSON.stringify(reportingApi), 'application/reports+json'), '1.2.3.4');
    expect(response.status).toBe(204);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ disposition: 'report', blockedUrl: 'https://evil.example/x.js', lineNumber: 4 });
  });

  it('truncates long fields', async () => {
    const { reports, violations } = receiver();
    const long = { 'csp-report': { ...legacy['csp-report'], 'script-sample': 'x'.repeat(5000) } };
    await reports.receive(post(JSON.stringify(long)), '1.2.3.4');
    expect(violations[0]!.sample.length).toBeLessThanOrEqual(1025);
  });

  it('logs through the logger by default', async () => {
    const warnings: string[] = [];
    const reports = compileReports(undefined, (message) => warnings.push(message), () => 0)!;
    await reports.receive(post(JSON.stringify(legacy)), '1.2.3.4');
    expect(warnings).toEqual(['rampart: CSP violation of script-src-elem: blocked inline on https://app.example/page (https://app.example/page:12)']);
  });

  it('survives a sink that throws', async () => {
    const warnings: string[] = [];
    const reports = compileReports({ sink: () => { throw new Error('disk full'); } }, (message) => warnings.push(message), () => 0)!;
    expect((await reports.receive(post(JSON.stringify(legacy)), '1.2.3.4')).status).toBe(204);
    expect(warnings).toEqual(['rampart: reports.sink threw: disk full']);
  });
});

describe('refusing bad reports', () => {
  const big = JSON.stringify({ 'csp-report': { 'script-sample': 'x'.repeat(70_000) } });
  // Each row: the request, the status and the error code expected.
  const rows: [string, Request, number, string][] = [
    ['GET', new Request('https://app.example/_rampart/csp-report'), 405, 'csp_report_method'],
    ['text/plain', post(JSON.stringify(legacy), 'text/plain'), 415, 'csp_report_media_type'],
    ['form body', post('a=1', 'application/x-www-form-urlencoded'), 415, 'csp_report_media_type'],
    ['no content type', new Request('https://app.example/r', { method: 'POST', body: '{}' }), 415, 'csp_report_media_type'],
    ['too large', post(big), 413, 'csp_report_too_large'],
    ['too large by content-length', post('{}', 'application/csp-report', { headers: { 'content-type': 'application/csp-report', 'content-length': '999999' } }), 413, 'csp_report_too_large'],
    ['not JSON', post('{"csp-report":'), 400, 'csp_report_malformed'],
    ['invalid UTF-8', post(new Uint8Array([0x7b, 0xff, 0x7d])), 400, 'csp_report_malformed'],
    ['wrong shape', post(JSON.stringify({ report: {} })), 400, 'csp_report_malformed'],
    ['array for legacy', post(JSON.stringify([legacy])), 400, 'csp_report_malformed'],
    ['object for Reporting API', post(JSON.stringify(legacy), 'application/reports+json'), 400, 'csp_report_malformed'],
    ['report without body', post(JSON.stringify([{ type: 'csp-violation' }]), 'application/reports+json'), 400, 'csp_report_malformed'],
    ['huge batch', post(JSON.stringify(Array(101).fill({ type: 'x', body: {} })), 'application/reports+json'), 400, 'csp_report_malformed'],
    ['empty body', post(''), 400, 'csp_report_malformed'],
  ];

  it.each(rows)('%s', async (_name, request, status, code) => {
    const { reports, violations } = receiver();
    const response = await reports.receive(request, '1.2.3.4');
    expect(response.status).toBe(status);
    expect(await response.text()).toContain(code);
    expect(violations).toEqual([]);
  });

  it('answers a body that fails mid-stream (client gone) as malformed, without throwing', async () => {
    const { reports } = receiver();
    const failing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"csp'));
        controller.error(new Error('aborted'));
      },
    });
    const request = new Request('https://app.example/r', { method: 'POST', body: failing, headers: { 'content-type': 'application/csp-report' }, duplex: 'half' } as RequestInit);
    expect((await reports.receive(request, undefined)).status).toBe(400);
  });

  it('says which method is allowed', async () => {
    const { reports } = receiver();
    expect((await reports.receive(new Request('https://app.example/r'), undefined)).headers.get('allow')).toBe('POST');
  });
});

describe('flood control', () => {
  it('rate-limits per client address, per window', async () => {
    const { reports, violations, clock } = receiver({ rateLimit: { max: 3, windowSeconds: 60 }, dedupeSeconds: 1 });
    const statuses: number[] = [];
    for (let index = 0; index < 5; index++) {
      clock.now += 1001; // past the dedupe window, so each report is new
      statuses.push((await reports.receive(post(JSON.stringify(legacy)), '1.2.3.4')).status);
    }
    expect(statuses).toEqual([204, 204, 204, 429, 429]);
    expect((await reports.receive(post(JSON.stringify(legacy)), '5.6.7.8')).status).toBe(204);
    clock.now += 60_000;
    expect((await reports.receive(post(JSON.stringify(legacy)), '1.2.3.4')).status).toBe(204);
    expect(violations).toHaveLength(5);
  });

  it('counts reports, not requests: a batch of 100 distinct reports cannot multiply the limit', async () => {
    const { reports, violations } = receiver({ rateLimit: { max: 10, windowSeconds: 60 } });
    const batch = (round: number) =>
      JSON.stringify(Array.from({ length: 100 }, (_unused, index) => ({ type: 'csp-violation', body: { ...reportingApi[0]!.body, blockedURL: `https://evil.example/${round}/${index}.js` } })));
    const statuses: number[] = [];
    for (let round = 0; round < 5; round++) statuses.push((await reports.receive(post(batch(round), 'application/reports+json'), '1.2.3.4')).status);
    expect(violations).toHaveLength(10);
    expect(statuses).toEqual([204, 429, 429, 429, 429]);
    // Empty batches cost one each too.
    const { reports: other } = receiver({ rateLimit: { max: 3, windowSeconds: 60 } });
    const empty: number[] = [];
    for (let round = 0; round < 4; round++) empty.push((await other.receive(post('[]', 'application/reports+json'), '1.2.3.4')).status);
    expect(empty).toEqual([204, 204, 204, 429]);
  });

  it('delivers identical reports once per dedupe window', async () => {
    const { reports, violations, clock } = receiver({ dedupeSeconds: 600 });
    for (let index = 0; index < 10; index++) await reports.receive(post(JSON.stringify(legacy)), `10.0.0.${index}`);
    expect(violations).toHaveLength(1);
    clock.now += 600_001;
    await reports.receive(post(JSON.stringify(legacy)), '10.0.0.1');
    expect(violations).toHaveLength(2);
  });

  it('says once that reports without a client address share one rate limit', async () => {
    const { reports, warnings } = receiver();
    await reports.receive(post(JSON.stringify(legacy)), '1.2.3.4');
    expect(warnings).toEqual([]);
    for (let round = 0; round < 3; round++) await reports.receive(post(JSON.stringify(legacy)), undefined);
    expect(warnings).toEqual([expect.stringContaining("without the client's address")]);
  });

  it('can turn the rate limit off', async () => {
    const { reports } = receiver({ rateLimit: false });
    for (let index = 0; index < 200; index++) expect((await reports.receive(post(JSON.stringify(legacy)), '1.1.1.1')).status).toBe(204);
  });
});

describe('options', () => {
  it.each([
    ['bad path', { path: 'csp' }, 'expected a path'],
    ['bad maxBodyBytes', { maxBodyBytes: 0 }, 'positive whole number'],
    ['bad rate', { rateLimit: { max: 1.5, windowSeconds: 1 } }, 'positive whole number'],
    ['rate not object', { rateLimit: 5 }, 'expected { max, windowSeconds }'],
    ['bad sink', { sink: 'console' }, 'expected a function'],
    ['typo', { maxBodySize: 1 }, 'Did you mean "maxBodyBytes"'],
  ])('refuses %s', (_name, options, message) => {
    expect(() => compileReports(options as ReportsOptions, () => {}, () => 0)).toThrow(message);
  });

  it('is off with false', () => {
    expect(compileReports(false, () => {}, () => 0)).toBeUndefined();
  });
});
