/**
 * The active probes' verdicts on recorded answers: CSRF (a redrawn form is not a
 * refusal, a 200 is not an acceptance), reflected XSS in comments and raw-text elements,
 * and traversal probes that always climb above the served directory.
 */

import { describe, expect, it } from 'vitest';
import { canaryFor, classifyCsrf, classifyTraversal, classifyXss, csrfBody, needsComparison, planCsrfProbes, planTraversalProbes, planXssProbes, refusedForCsrf, xssPayload, type CsrfProbe } from './probes.ts';
import type { Exchange } from './types.ts';

const ORIGIN = 'http://app.test';
const CANARY = canaryFor('0123abcd');
const TOKEN = 'IjQ5ZWM4ZjFlMjYwYjYxZjM3ZDM4NTFjZTU2ZTE4N2E0Yzk1NTM0ZjUi';

let sequence = 0;

function exchange(url: string, status: number, body: string, more: { method?: string; headers?: [string, string][]; reason?: Exchange['reason'] } = {}): Exchange {
  return {
    index: sequence++,
    request: { method: more.method ?? 'GET', url, headers: {} },
    response: { status, headers: more.headers ?? [['content-type', 'text/html; charset=utf-8']], body, truncated: false },
    reason: more.reason ?? 'link',
    durationMs: 1,
  };
}

/** A page with a POST form carrying a token field, as WTForms renders it (with the errors of the last submission). */
function formPage(errors = ''): string {
  return `<!doctype html><html><head><title>t</title></head><body>${errors}<form method="post" action="/transfer">
<input id="csrf_token" name="csrf_token" type="hidden" value="${TOKEN}">
<input type="number" name="amount" required></form></body></html>`;
}

function csrfProbe(): CsrfProbe {
  const { probes } = planCsrfProbes([exchange(`${ORIGIN}/`, 200, formPage())], ORIGIN, CANARY);
  expect(probes).toHaveLength(1);
  return probes[0]!;
}

describe('CSRF', () => {
  it('plans one probe per form, the token left out and one field made invalid', () => {
    const probe = csrfProbe();
    expect(probe).toMatchObject({ action: `${ORIGIN}/transfer`, tokenField: 'csrf_token', token: TOKEN, invalid: "amount= (a number field)" });
    expect(csrfBody(probe, false).body).not.toContain('csrf_token');
    expect(csrfBody(probe, true).body).toContain(`csrf_token=${TOKEN}`);
  });

  // Refusals that need no comparison, and answers that are no refusal whatever words the page's markup holds.
  it.each([
    ['a 403', 403, '<p>Forbidden</p>', true],
    ['Flask-WTF on a 400', 400, '<title>400 Bad Request</title><p>The CSRF token is missing.</p>', true],
    ['Flask-WTF redrawing the form with 200', 200, formPage('<p>{&#39;csrf_token&#39;: [&#39;The CSRF token is missing.&#39;]}</p>'), true],
    ['Django', 400, '<h1>Forbidden <span>(403)</span></h1><p>CSRF verification failed. Request aborted.</p>', true],
    ['csurf', 400, 'ForbiddenError: invalid csrf token', true],
    ['Laravel', 419, '<p>CSRF token mismatch.</p>', true],
    ['Rails', 422, '<h1>ActionController::InvalidAuthenticityToken</h1>', true],
    ['a 422 redrawing the form (its token field included) for a bad value', 422, formPage('<p>amount: Not a valid integer value.</p>'), false],
    ['a 400 that mentions a token in a script', 400, '<script>var token = "x"; var csrf = "invalid";</script><p>Bad amount</p>', false],
    ['a 200 redrawing the form', 200, formPage('<p>amount: Not a valid integer value.</p>'), false],
    ['a server error naming CSRF', 500, 'CSRF token missing', false],
  ])('%s (status %s): refused for CSRF %s', (_name, status, body, refused) => {
    expect(refusedForCsrf(exchange(`${ORIGIN}/transfer`, status, body, { method: 'POST' }))).toBe(refused);
  });

  it('an unchecked token: the same 422 redrawn form with and without the token is a finding', () => {
    const probe = csrfProbe();
    const forged = exchange(probe.action, 422, formPage('<p>amount: Not a valid integer value.</p>'), { method: 'POST', reason: 'probe' });
    expect(needsComparison(forged)).toBe(true);
    const genuine = exchange(probe.action, 422, formPage('<p>amount: Not a valid integer value.</p>'), { method: 'POST', reason: 'probe' });
    expect(classifyCsrf(probe, forged, genuine)).toMatchObject({ ruleId: 'csrf-not-enforced', severity: 'high', exchanges: [forged.index, genuine.index] });
    expect(classifyCsrf(probe, forged, undefined)).toBe('not-assessed');
  });

  it('Flask-WTF per-form CSRF: a 200 redraw that differs with the token is protected, not accepted', () => {
    const probe = csrfProbe();
    const forged = exchange(probe.action, 200, formPage("<p>{'amount': ['Not a valid integer value.'], 'csrf_token': ['missing']}</p>"), { method: 'POST', reason: 'probe' });
    expect(needsComparison(forged)).toBe(true);
    const genuine = exchange(probe.action, 200, formPage("<p>{'amount': ['Not a valid integer value.']}</p>"), { method: 'POST', reason: 'probe' });
    expect(classifyCsrf(probe, forged, genuine)).toBe('protected');
    expect(classifyCsrf(probe, forged, undefined)).toBe('not-assessed');
  });

  it('a 2xx or a redirect that is the same with and without the token is a finding', () => {
    const probe = csrfProbe();
    const post = { method: 'POST', reason: 'probe' } as const;
    expect(classifyCsrf(probe, exchange(probe.action, 200, '<p>saved</p>', post), exchange(probe.action, 200, '<p>saved</p>', post))).toMatchObject({ ruleId: 'csrf-not-enforced' });
    const redirect = { ...post, headers: [['location', '/done']] as [string, string][] };
    expect(classifyCsrf(probe, exchange(probe.action, 303, '', redirect), exchange(probe.action, 303, '', redirect))).toMatchObject({ ruleId: 'csrf-not-enforced' });
    expect(classifyCsrf(probe, exchange(probe.action, 303, '', { ...post, headers: [['location', '/login']] }), exchange(probe.action, 303, '', redirect))).toBe('protected');
  });

  it('a refusal that names CSRF is protected without a comparison', () => {
    const probe = csrfProbe();
    const forged = exchange(probe.action, 400, '<p>The CSRF token is missing.</p>', { method: 'POST', reason: 'probe' });
    expect(needsComparison(forged)).toBe(false);
    expect(classifyCsrf(probe, forged, undefined)).toBe('protected');
  });
});

describe('reflected XSS', () => {
  const page = (body: string): string => `<!doctype html><html><head><title>t</title></head><body>${body}</body></html>`;
  const probe = planXssProbes([exchange(`${ORIGIN}/search?q=x`, 200, page('<p>x</p>'))], ORIGIN, CANARY, 20).find((candidate) => candidate.kind === 'markup')!;
  const reflected = new URL(probe.url).searchParams.get('q')!;

  it('the payload is what the probe sends', () => {
    expect(reflected).toBe(xssPayload(CANARY));
  });

  // Unescaped reflections where markup is not parsed until the context ends.
  it.each([
    ['a <textarea>', page(`<form><textarea name="q">${reflected}</textarea></form>`)],
    ['the <title>', `<!doctype html><html><head><title>Results for ${reflected}</title></head><body></body></html>`],
    ['an HTML comment', page(`<!-- searched: ${reflected} --><p>results</p>`)],
    ['a <script> as JSON.stringify writes it', page(`<script>var q = ${JSON.stringify(reflected)};</script>`)],
    ['a <style>', page(`<style>/* ${reflected} */</style>`)],
  ])('unescaped in %s is a finding', (_context, body) => {
    expect(classifyXss(probe, exchange(probe.url, 200, body, { reason: 'probe' }), CANARY)).toMatchObject({ ruleId: 'xss-reflected' });
  });

  const escaped = reflected.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
  it.each([
    ['a <textarea>, escaped', page(`<textarea>${escaped}</textarea>`)],
    ['the <title>, escaped', `<html><head><title>${escaped}</title></head></html>`],
    ['a <script> with < escaped as JSON', page(`<script>var q = ${JSON.stringify(reflected).replaceAll('<', '\\u003c')};</script>`.replaceAll(`${CANARY}'"`, `${CANARY}\\u0027\\"`))],
  ])('%s is no finding', (_context, body) => {
    expect(classifyXss(probe, exchange(probe.url, 200, body, { reason: 'probe' }), CANARY)).toBeUndefined();
  });
});

describe('traversal', () => {
  it('Werkzeug safe_join: every "../" climbs above the served directory, never inside a subfolder', () => {
    const seen = [
      exchange(`${ORIGIN}/download?file=docs/report.txt`, 200, 'report', { headers: [['content-type', 'text/plain']] }),
      exchange(`${ORIGIN}/files/docs/manual.txt`, 200, 'manual', { headers: [['content-type', 'text/plain']] }),
    ];
    const probes = planTraversalProbes(seen, ORIGIN, 10);
    const variants = probes.flatMap((probe) => probe.variants.map((variant) => decodeURIComponent(new URL(variant).search || new URL(variant).pathname)));
    expect(variants).toContain('?file=../files/docs/report.txt');
    expect(variants).toContain('/files/../files/docs/manual.txt');
    expect(variants).toContain('/files/..\\files\\docs\\manual.txt');
    // A safe join normalises these back inside the root and serves the file: they prove nothing.
    for (const variant of variants) expect(variant).not.toMatch(/docs[/\\]\.\.|^\?file=docs/);
  });

  it('a variant that serves the same file is a finding', () => {
    const original = exchange(`${ORIGIN}/files/report.txt`, 200, 'report', { headers: [['content-type', 'text/plain']] });
    const [probe] = planTraversalProbes([original], ORIGIN, 10);
    expect(probe!.variants[0]).toBe(`${ORIGIN}/files/..%2ffiles%2freport.txt`);
    const variant = exchange(probe!.variants[0]!, 200, 'report', { headers: [['content-type', 'text/plain']], reason: 'probe' });
    expect(classifyTraversal(probe!, original, variant)).toMatchObject({ ruleId: 'traversal-dir-echo' });
  });
});
