/**
 * Passive checks on recorded responses: the Content-Type browsers use, cookie expiry as
 * RFC 6265 orders it, debug pages found in linear time on hostile bodies, and HSTS read
 * from the target's own host.
 */

import { describe, expect, it } from 'vitest';
import { analyzeCookies, analyzeDisclosure, analyzeForms, analyzeHeaders, analyzeTransport, debugMarker, isHtml, parseSetCookie } from './passive.ts';
import type { Exchange } from './types.ts';

let sequence = 0;

function exchange(url: string, headers: [string, string][], body = '', status = 200): Exchange {
  return {
    index: sequence++,
    request: { method: 'GET', url, headers: {} },
    response: { status, headers, body, truncated: false },
    reason: 'link',
    durationMs: 1,
  };
}

const FORM = '<!doctype html><html><head><title>t</title></head><body><form method="post" action="/save"><input name="q"></form></body></html>';

describe('Content-Type', () => {
  it.each([
    ['text/html', [['content-type', 'text/html; charset=utf-8']], FORM, true],
    ['none, and a body that starts like HTML (browsers sniff it)', [], FORM, true],
    ['none, and a body that starts with a comment', [], `  <!-- x -->${FORM}`, true],
    ['none, and plain text', [], 'hello <b>world</b>', false],
    ['application/json then text/html (browsers use the last)', [['content-type', 'application/json'], ['content-type', 'text/html']], FORM, true],
    ['text/html then application/json', [['content-type', 'text/html'], ['content-type', 'application/json']], FORM, false],
    ['"application/json, text/html" in one value', [['content-type', 'application/json, text/html;charset=utf-8']], FORM, true],
    ['text/html then an invalid value (ignored)', [['content-type', 'text/html'], ['content-type', 'nonsense']], FORM, true],
  ] as [string, [string, string][], string, boolean][])('%s', (_name, headers, body, html) => {
    const page = exchange('http://app.test/', headers, body);
    expect(isHtml(page)).toBe(html);
    expect(analyzeForms(page).map((finding) => finding.ruleId)).toEqual(html ? ['form-no-csrf-token'] : []);
    if (html) expect(analyzeHeaders(page).map((finding) => finding.ruleId)).toContain('xfo-missing');
  });
});

describe('cookie expiry (RFC 6265 §5.3: Max-Age wins over Expires, whatever the order)', () => {
  const PAST = 'Thu, 01 Jan 1970 00:00:00 GMT';
  const FUTURE = 'Fri, 01 Jan 2100 00:00:00 GMT';
  it.each([
    [`Max-Age=86400; Expires=${PAST}`, false],
    [`Expires=${PAST}; Max-Age=86400`, false],
    [`Max-Age=0; Expires=${FUTURE}`, true],
    [`Expires=${FUTURE}; Max-Age=-1`, true],
    [`Expires=${PAST}`, true],
    [`Expires=${FUTURE}`, false],
    [`Max-Age=soon; Expires=${PAST}`, true],
    [`Expires=not a date`, false],
  ])('%s: expired = %s', (attributes, expired) => {
    expect(parseSetCookie(`session=eyJ1c2VyIjoxfQ.ZxYzAb.abcdefghijklmnopqrstuvwx; Path=/; ${attributes}`)?.expired).toBe(expired);
  });

  it('a live session cookie sent with a past Expires after its Max-Age is still checked', () => {
    const response = exchange('http://app.test/', [['set-cookie', `session=eyJ1c2VyIjoxfQ.ZxYzAb.abcdefghijklmnopqrstuvwx; Path=/; Max-Age=86400; Expires=${PAST}`]]);
    expect(analyzeCookies([response]).map((finding) => finding.ruleId)).toContain('cookie-session-no-secure');
  });
});

describe('debug pages', () => {
  it("finds Express's error page", () => {
    const body = '<!DOCTYPE html><html><head><title>Error: boom</title></head><body><pre>Error: boom<br> &nbsp; &nbsp;at Layer.handle (file)</pre></body></html>';
    expect(analyzeDisclosure(exchange('http://app.test/x', [['content-type', 'text/html']], body, 500)).map((finding) => finding.ruleId)).toEqual(['debug-page']);
    expect(debugMarker('<title>Error: x</title><pre>no frame here</pre>')).toBeUndefined();
  });

  it.each([
    ['a <pre> and "at a " repeated after an error title', `<title>Error: x</title>${'<pre>at a '.repeat(210_000)}`],
    ['error titles repeated', '<title>Error: x</title>'.repeat(90_000)],
    ['"at /" repeated', 'at /'.repeat(520_000)],
    ['one long path after "at /"', `at /${'a'.repeat(2 * 1024 * 1024)}`],
  ])('scans a 2 MiB hostile body in well under a second: %s', (_name, body) => {
    expect(body.length).toBeGreaterThanOrEqual(2_000_000);
    const started = performance.now();
    analyzeDisclosure(exchange('http://app.test/x', [['content-type', 'text/html']], body, 500));
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('HSTS', () => {
  const hsts: [string, string] = ['strict-transport-security', 'max-age=63072000; includeSubDomains'];

  it("is read from the target's own host, not from the host it redirects to", () => {
    const first = exchange('https://app.test/', [['location', 'https://www.app.test/']], '', 301);
    const last = exchange('https://www.app.test/', [hsts], '<p>hi</p>');
    expect(analyzeTransport({ http: undefined, https: [first, last] }).map((finding) => [finding.ruleId, finding.url])).toEqual([['hsts-missing', 'https://app.test/']]);
  });

  it('counts the header on a later response of the same host', () => {
    const first = exchange('https://app.test/', [['location', '/en/']], '', 301);
    const last = exchange('https://app.test/en/', [hsts], '<p>hi</p>');
    expect(analyzeTransport({ http: undefined, https: [first, last] })).toEqual([]);
  });

  it('sent by the target host before a redirect elsewhere, it counts', () => {
    const first = exchange('https://app.test/', [hsts, ['location', 'https://login.example/']], '', 302);
    const last = exchange('https://login.example/', [], '<p>hi</p>');
    expect(analyzeTransport({ http: undefined, https: [first, last] })).toEqual([]);
  });
});
