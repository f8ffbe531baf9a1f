import fc from 'fast-check';
import helmet from 'helmet';
import { describe, expect, it } from 'vitest';
import { checkInvalidKeyword, checkMissingSemicolon, checkUnknownDirective } from 'csp_evaluator/dist/checks/parser_checks.js';
import { CspEvaluator, DEFAULT_CHECKS, STRICTCSP_CHECKS } from 'csp_evaluator/dist/evaluator.js';
import type { Finding as EvaluatorFinding } from 'csp_evaluator/dist/finding.js';
import { CspParser } from 'csp_evaluator/dist/parser.js';
import * as angular from 'csp_evaluator/dist/allowlist_bypasses/angular.js';
import * as flash from 'csp_evaluator/dist/allowlist_bypasses/flash.js';
import * as jsonp from 'csp_evaluator/dist/allowlist_bypasses/jsonp.js';
import { rampartFetch } from '../adapters/fetch.ts';
import { rampart, type RampartOptions } from '../rampart.ts';
import { ANGULAR_URLS, FLASH_URLS, JSONP_NEEDS_EVAL, JSONP_URLS } from './csp-bypasses.ts';
import { analyzeCsp, CSP_RULES, cspNonces, effectiveCsp, effectiveDirective, evaluateCsp, parseCsp, splitCspList, type CspInput } from './csp.ts';
import type { Finding, Severity } from './types.ts';

const URL_ = 'https://app.example/page?q=1';
const NONCE = 'r4nd0mV4lu3xYz_-AbCdEf';
const HASH = "'sha256-n4MwUWL5mB0YXvW2Iu2SQIQnETlmnHoZxJ6VPpBlO3k='";

function input(overrides: Partial<CspInput> | string): CspInput {
  const base: CspInput = { url: URL_, https: true, headers: [], reportOnly: [], meta: [], exchanges: [7] };
  return typeof overrides === 'string' ? { ...base, headers: [overrides] } : { ...base, ...overrides };
}

const ids = (findings: readonly Finding[]): string[] => [...new Set(findings.map((finding) => finding.ruleId))];
const atLeast = (findings: readonly Finding[], severity: Severity): Finding[] => {
  const order: Severity[] = ['critical', 'high', 'medium', 'low', 'info'];
  return findings.filter((finding) => order.indexOf(finding.severity) <= order.indexOf(severity));
};

describe('the rule catalogue', () => {
  it('has unique ids, the headers practice, a title and both fixes', () => {
    expect(new Set(CSP_RULES.map((rule) => rule.id)).size).toBe(CSP_RULES.length);
    for (const rule of CSP_RULES) {
      expect(rule.id).toMatch(/^csp-[a-z0-9-]+$/);
      expect(rule.practice).toBe('headers');
      expect(rule.title.length).toBeGreaterThan(20);
      expect(rule.fix.flask.length).toBeGreaterThan(10);
      expect(rule.fix.rampart.length).toBeGreaterThan(10);
    }
  });

  it('maps CSP Evaluator severities (HIGH → high, SYNTAX/MEDIUM → medium, STRICT_CSP/MEDIUM_MAYBE → low, INFO → info)', () => {
    const severity = Object.fromEntries(CSP_RULES.map((rule) => [rule.id, rule.severity]));
    for (const id of ['csp-unsafe-inline', 'csp-plain-scheme', 'csp-wildcard', 'csp-missing-object-src', 'csp-missing-script-src', 'csp-missing-base-uri', 'csp-allowlist-bypass', 'csp-object-bypass']) expect(severity[id]).toBe('high');
    for (const id of ['csp-nonce-length', 'csp-http-source', 'csp-unknown-directive', 'csp-missing-semicolon', 'csp-invalid-keyword']) expect(severity[id]).toBe('medium');
    for (const id of ['csp-unsafe-eval', 'csp-unsafe-hashes', 'csp-self-script', 'csp-allowlist-host', 'csp-object-allowlist', 'csp-strict-dynamic-missing']) expect(severity[id]).toBe('low');
    for (const id of ['csp-ip-source', 'csp-nonce-charset', 'csp-deprecated-directive', 'csp-strict-dynamic-alone', 'csp-no-trusted-types']) expect(severity[id]).toBe('info');
    // Deliberate: STRICT_CSP in CSP Evaluator, info here. They ask for 'unsafe-inline' and https: as
    // fallbacks for browsers from before 2016, which rampart's own builder refuses.
    expect(severity['csp-unsafe-inline-fallback']).toBe('info');
    expect(severity['csp-allowlist-fallback']).toBe('info');
  });

  it('keeps the bypass lists equal to csp_evaluator 1.1.8', () => {
    expect(JSONP_URLS).toEqual(jsonp.URLS);
    expect(JSONP_NEEDS_EVAL).toEqual(jsonp.NEEDS_EVAL);
    expect(ANGULAR_URLS).toEqual(angular.URLS);
    expect(FLASH_URLS).toEqual(flash.URLS);
  });
});

describe('parseCsp, splitCspList, effectiveCsp', () => {
  it('lowercases names, keywords and schemes, keeps hosts, drops repeated sources, notes repeated directives', () => {
    const parsed = parseCsp(" Script-Src 'SELF' HTTPS: https://CDN.example 'self' ;; object-src 'none'; SCRIPT-SRC *; img-src");
    expect([...parsed.directives]).toEqual([
      ['script-src', ["'self'", 'https:', 'https://CDN.example']],
      ['object-src', ["'none'"]],
      ['img-src', []],
    ]);
    expect(parsed.duplicates).toEqual(['script-src']);
    expect(parseCsp('  ;  ').directives.size).toBe(0);
    expect(parseCsp("script-src\t'self'\n'unsafe-eval'").directives.get('script-src')).toEqual(["'self'", "'unsafe-eval'"]);
  });

  it('splits a header value into policies on commas and drops empty ones', () => {
    expect(splitCspList("default-src 'self', script-src 'none' ,, ")).toEqual(["default-src 'self'", "script-src 'none'"]);
    expect(splitCspList('')).toEqual([]);
  });

  it('follows the fallbacks', () => {
    const directives = parseCsp("default-src 'self'; script-src 'none'; style-src 'self'").directives;
    expect(effectiveDirective(directives, 'script-src-elem')).toBe('script-src');
    expect(effectiveDirective(directives, 'style-src-attr')).toBe('style-src');
    expect(effectiveDirective(directives, 'img-src')).toBe('default-src');
    expect(effectiveDirective(directives, 'base-uri')).toBe('base-uri');
    expect(effectiveDirective(parseCsp("default-src 'self'").directives, 'script-src-attr')).toBe('default-src');
  });

  it.each([
    ["script-src 'unsafe-inline' 'nonce-abcdefgh'", 'script-src', ["'nonce-abcdefgh'"]],
    [`script-src 'unsafe-inline' ${HASH}`, 'script-src', [HASH]],
    ["script-src 'unsafe-inline' 'self'", 'script-src', ["'unsafe-inline'", "'self'"]],
    ["script-src 'nonce-abcdefgh' 'strict-dynamic' 'self' https: cdn.example 'unsafe-inline' 'unsafe-eval'", 'script-src', ["'nonce-abcdefgh'", "'strict-dynamic'", "'unsafe-eval'"]],
    ["default-src 'nonce-abcdefgh' 'unsafe-inline' https:", 'default-src', ["'nonce-abcdefgh'", 'https:']],
    ["script-src-elem 'strict-dynamic' 'sha256-abc=' https:; script-src 'unsafe-inline'", 'script-src-elem', ["'strict-dynamic'", "'sha256-abc='"]],
    // A nonce outside base64 is no nonce for CSP3: 'unsafe-inline' still counts.
    ["script-src 'nonce-a$b' 'unsafe-inline'", 'script-src', ["'nonce-a$b'", "'unsafe-inline'"]],
  ])('effective %s', (policy, directive, expected) => {
    expect(effectiveCsp(parseCsp(policy)).get(directive)).toEqual(expected);
  });

  it('lists nonces of several policies', () => {
    expect(cspNonces([`script-src 'nonce-${NONCE}' 'strict-dynamic'; style-src 'nonce-${NONCE}'`, "default-src 'self', script-src 'nonce-other123'"])).toEqual([NONCE, 'other123']);
    expect(cspNonces(["default-src 'self'"])).toEqual([]);
  });
});

// -------------------------------------------------------------------------------------------
// Policies → rule ids. Every rule has a row where it fires and one where it must not.

type Row = readonly [name: string, input: Partial<CspInput> | string, has: readonly string[], not: readonly string[]];

const STRICT_BASE = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; report-uri /r; upgrade-insecure-requests; require-trusted-types-for 'script'";
const strict = (scriptSrc: string): string => `script-src ${scriptSrc}; ${STRICT_BASE}`;

const ROWS: readonly Row[] = [
  // Presence
  ['no policy at all', {}, ['csp-missing'], ['csp-report-only-only', 'csp-form-action-missing']],
  ['an empty header is no policy', { headers: [' '] }, ['csp-missing'], []],
  ['Report-Only alone', { reportOnly: ["default-src 'self'"] }, ['csp-report-only-only'], ['csp-missing']],
  ['Report-Only beside an enforced policy', { headers: [strict(`'nonce-${NONCE}' 'strict-dynamic'`)], reportOnly: ["default-src 'none'"] }, [], ['csp-report-only-only', 'csp-missing']],
  // unsafe-inline, unsafe-hashes, unsafe-eval
  ['unsafe-inline in script-src', strict("'self' 'unsafe-inline'"), ['csp-unsafe-inline'], ['csp-unsafe-hashes']],
  ['unsafe-inline via default-src', "default-src 'self' 'unsafe-inline'", ['csp-unsafe-inline', 'csp-style-unsafe-inline'], []],
  ['unsafe-inline in script-src-attr only', strict("'self'; script-src-attr 'unsafe-inline'"), ['csp-unsafe-inline'], []],
  ['unsafe-inline ignored beside a nonce', strict(`'nonce-${NONCE}' 'unsafe-inline'`), [], ['csp-unsafe-inline', 'csp-unsafe-inline-fallback']],
  ['unsafe-inline ignored beside a hash', strict(`${HASH} 'unsafe-inline'`), [], ['csp-unsafe-inline']],
  ['unsafe-hashes', strict(`'self' 'unsafe-hashes' ${HASH}`), ['csp-unsafe-hashes'], ['csp-unsafe-inline']],
  ['unsafe-eval', strict("'self' 'unsafe-eval'"), ['csp-unsafe-eval'], []],
  ['wasm-unsafe-eval is not unsafe-eval', strict("'self' 'wasm-unsafe-eval'"), [], ['csp-unsafe-eval', 'csp-invalid-keyword']],
  // Schemes and wildcards
  ['https: in script-src', strict('https:'), ['csp-plain-scheme', 'csp-strict-dynamic-missing'], ['csp-insecure-scheme']],
  ['data: in object-src', "script-src 'none'; object-src data:", ['csp-plain-scheme', 'csp-object-allowlist'], []],
  ['https: in base-uri', "default-src 'none'; base-uri https:", ['csp-plain-scheme'], []],
  ['https: ignored after strict-dynamic', strict(`'nonce-${NONCE}' 'strict-dynamic' https:`), [], ['csp-plain-scheme', 'csp-strict-dynamic-missing', 'csp-allowlist-fallback']],
  ['schemes in img-src are not script sources', "default-src 'self'; img-src https: data:", [], ['csp-plain-scheme', 'csp-wildcard']],
  ['* in script-src', strict('*'), ['csp-wildcard'], []],
  ['https://* in script-src', strict('https://*'), ['csp-wildcard'], []],
  ['*.example.com is no wildcard', strict('*.example.com'), ['csp-allowlist-host'], ['csp-wildcard']],
  ['* in img-src is fine', "default-src 'self'; img-src *", [], ['csp-wildcard']],
  // Missing directives
  ['no object-src, no default-src', "script-src 'self'", ['csp-missing-object-src'], ['csp-missing-script-src']],
  ['object-src via default-src', "default-src 'self'", [], ['csp-missing-object-src', 'csp-missing-script-src']],
  ['an empty object-src allows nothing', "script-src 'self'; object-src", [], ['csp-missing-object-src']],
  ['no script-src, no default-src', "object-src 'none'", ['csp-missing-script-src'], ['csp-missing-object-src']],
  ["default-src 'none' restricts scripts", "default-src 'none'", [], ['csp-missing-script-src', 'csp-self-script']],
  ['nonce without base-uri', `script-src 'nonce-${NONCE}'; object-src 'none'`, ['csp-missing-base-uri'], []],
  ['hash with strict-dynamic without base-uri', `script-src ${HASH} 'strict-dynamic'; object-src 'none'`, ['csp-missing-base-uri'], []],
  ['hash alone needs no base-uri', `script-src ${HASH}; object-src 'none'`, [], ['csp-missing-base-uri']],
  ['nonce with base-uri', strict(`'nonce-${NONCE}'`), [], ['csp-missing-base-uri']],
  // Allowlists
  ['JSONP host', strict('https://www.google.com'), ['csp-allowlist-bypass', 'csp-strict-dynamic-missing'], ['csp-allowlist-host']],
  ['AngularJS path prefix', strict('https://ajax.googleapis.com/ajax/libs/angularjs/'), ['csp-allowlist-bypass'], []],
  ['wildcard subdomain of a JSONP host', strict('*.googleapis.com'), ['csp-allowlist-bypass'], []],
  ['a JSONP host that needs eval, without eval', strict('www.googletagmanager.com'), ['csp-allowlist-host'], ['csp-allowlist-bypass']],
  ['a JSONP host that needs eval, with eval', strict("www.googletagmanager.com 'unsafe-eval'"), ['csp-allowlist-bypass', 'csp-unsafe-eval'], []],
  ['a path that is not the JSONP one', strict('https://www.google.com/recaptcha/'), ['csp-allowlist-host'], ['csp-allowlist-bypass']],
  ['any other host', strict('cdn.example.com'), ['csp-allowlist-host'], ['csp-allowlist-bypass']],
  ["'none' beside a host disables the allowlist check", strict("'none' cdn.example.com"), [], ['csp-allowlist-host', 'csp-allowlist-bypass']],
  ['a word without a dot is not a host', strict('localhost'), [], ['csp-allowlist-host']],
  ["'self'", strict("'self'"), ['csp-self-script'], ['csp-strict-dynamic-missing']],
  ["'self' ignored after strict-dynamic", strict(`'nonce-${NONCE}' 'strict-dynamic' 'self'`), [], ['csp-self-script']],
  // object-src
  ['Flash host in object-src', "script-src 'none'; object-src vk.com", ['csp-object-bypass'], ['csp-object-allowlist']],
  ['Flash host via default-src', "default-src 'self' ajax.googleapis.com", ['csp-object-bypass'], ['csp-object-allowlist']],
  ['plugin-types without Flash', "script-src 'none'; object-src vk.com; plugin-types application/pdf", ['csp-deprecated-directive'], ['csp-object-bypass', 'csp-object-allowlist']],
  ["object-src 'self'", "script-src 'none'; object-src 'self'", ['csp-object-allowlist'], []],
  ["object-src 'none'", "script-src 'none'; object-src 'none'", [], ['csp-object-allowlist', 'csp-object-bypass']],
  // IP, nonce, http
  ['localhost address', strict("'self' http://127.0.0.1:8080"), ['csp-ip-source', 'csp-http-source'], []],
  ['private address', "default-src 'self'; img-src 10.0.0.1", ['csp-ip-source'], []],
  ['IPv6 literal', "default-src 'self'; connect-src [::1]:3000", ['csp-ip-source'], []],
  ['a report-to group is not an address', "default-src 'self'; report-to 1234", [], ['csp-ip-source']],
  ['short nonce', strict("'nonce-abc'"), ['csp-nonce-length'], ['csp-nonce-charset']],
  ['7-character nonce', strict("'nonce-abcdefg'"), ['csp-nonce-length'], []],
  ['8-character nonce', strict("'nonce-abcdefgh'"), [], ['csp-nonce-length']],
  ['nonce outside base64', strict("'nonce-abc$defgh1'"), ['csp-nonce-charset', 'csp-invalid-keyword'], ['csp-nonce-length']],
  ['base64url nonce', strict(`'nonce-${NONCE}'`), [], ['csp-nonce-charset']],
  ['http:// image host', "default-src 'self'; img-src http://img.example.com", ['csp-http-source'], []],
  ['http:// report-uri', "default-src 'self'; report-uri http://reports.example/csp", ['csp-http-source'], ['csp-no-reporting']],
  ['https:// image host', "default-src 'self'; img-src https://img.example.com", [], ['csp-http-source']],
  // Directives and syntax
  ['referrer', "default-src 'self'; referrer no-referrer", ['csp-deprecated-directive'], ['csp-unknown-directive']],
  ['block-all-mixed-content', "default-src 'self'; block-all-mixed-content", ['csp-deprecated-directive'], []],
  ['current directives only', strict(`'nonce-${NONCE}' 'strict-dynamic'`), [], ['csp-deprecated-directive', 'csp-unknown-directive']],
  ['typo in a directive', "default-src 'self'; scirpt-src 'none'", ['csp-unknown-directive'], []],
  ['a directive with a colon', "default-src 'self'; script-src: 'none'", ['csp-unknown-directive'], []],
  ['fenced-frame-src is a directive', "default-src 'self'; fenced-frame-src 'none'", [], ['csp-unknown-directive']],
  ['missing semicolon', "script-src 'self' object-src 'none'", ['csp-missing-semicolon', 'csp-missing-object-src'], []],
  ['a source that merely contains a directive name', strict("'self' https://cdn.example.com/script-src/"), [], ['csp-missing-semicolon']],
  ['missing semicolon hidden by strict-dynamic', `script-src 'nonce-${NONCE}' 'strict-dynamic' object-src 'none'`, ['csp-missing-semicolon', 'csp-missing-object-src'], []],
  ['unquoted keyword', strict('self'), ['csp-invalid-keyword'], ['csp-self-script']],
  ['unquoted nonce', strict(`nonce-${NONCE}`), ['csp-invalid-keyword'], []],
  ['a quoted word that is no keyword', strict("'bogus'"), ['csp-invalid-keyword'], []],
  ['unquoted trusted types sink', "default-src 'self'; require-trusted-types-for script", ['csp-invalid-keyword', 'csp-no-trusted-types'], []],
  ['trusted types done right', "default-src 'self'; require-trusted-types-for 'script'; trusted-types default 'allow-duplicates'", [], ['csp-invalid-keyword', 'csp-no-trusted-types']],
  ['keywords newer than csp_evaluator', strict("'self' 'trusted-types-eval' 'report-sha256'"), [], ['csp-invalid-keyword']],
  ['repeated directive', "script-src 'none'; object-src 'none'; script-src 'self' 'unsafe-inline'", ['csp-duplicate-directive'], ['csp-unsafe-inline']],
  ['no repeats', strict("'self'"), [], ['csp-duplicate-directive']],
  // Strict CSP
  ['host allowlist without strict-dynamic', strict("'self' https://cdn.example.com"), ['csp-strict-dynamic-missing'], []],
  ['strict-dynamic alone', strict("'strict-dynamic'"), ['csp-strict-dynamic-alone'], ['csp-unsafe-inline-fallback']],
  ['strict-dynamic with a nonce', strict(`'nonce-${NONCE}' 'strict-dynamic'`), ['csp-unsafe-inline-fallback', 'csp-allowlist-fallback'], ['csp-strict-dynamic-alone']],
  ['nonce with the old-browser fallbacks', strict(`'nonce-${NONCE}' 'strict-dynamic' 'unsafe-inline' https:`), [], ['csp-unsafe-inline-fallback', 'csp-allowlist-fallback', 'csp-unsafe-inline', 'csp-plain-scheme']],
  ['no trusted types', "default-src 'self'", ['csp-no-trusted-types'], []],
  // Styles, framing, forms
  ['unsafe-inline in style-src', "default-src 'self'; style-src 'self' 'unsafe-inline'", ['csp-style-unsafe-inline'], ['csp-unsafe-inline']],
  ['unsafe-inline in style-src-attr', "default-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'", ['csp-style-unsafe-inline'], []],
  ['unsafe-inline ignored beside a style nonce', `default-src 'self'; style-src 'nonce-${NONCE}' 'unsafe-inline'`, [], ['csp-style-unsafe-inline']],
  ['frame-ancestors *', "default-src 'self'; frame-ancestors *", ['csp-frame-ancestors-broad'], ['csp-frame-ancestors-missing']],
  ['frame-ancestors https:', "default-src 'self'; frame-ancestors https:", ['csp-frame-ancestors-broad'], []],
  ['frame-ancestors a partner', "default-src 'self'; frame-ancestors 'self' https://partner.example", [], ['csp-frame-ancestors-broad', 'csp-frame-ancestors-missing']],
  ['no frame-ancestors', "default-src 'self'", ['csp-frame-ancestors-missing'], []],
  ['frame-ancestors only in <meta> counts as none', { meta: ["default-src 'self'; frame-ancestors 'none'"] }, ['csp-frame-ancestors-missing', 'csp-meta-forbidden-directive'], ['csp-missing']],
  ['no form-action', "default-src 'self'", ['csp-form-action-missing'], ['csp-form-action-broad']],
  ['form-action https:', "default-src 'self'; form-action https:", ['csp-form-action-broad'], ['csp-form-action-missing']],
  ["form-action 'self'", "default-src 'self'; form-action 'self'", [], ['csp-form-action-broad', 'csp-form-action-missing']],
  // <meta>
  ['report-uri and sandbox in <meta>', { meta: ["default-src 'self'; report-uri /r; sandbox"] }, ['csp-meta-forbidden-directive', 'csp-no-reporting'], []],
  ['a clean <meta> policy', { meta: [strict(`'nonce-${NONCE}' 'strict-dynamic'`).replace("frame-ancestors 'none'; ", '').replace('report-uri /r; ', '')] }, ['csp-no-reporting'], ['csp-meta-forbidden-directive', 'csp-missing']],
  // HTTPS, reporting
  ['http: and ws: on an HTTPS page', "default-src 'self'; connect-src 'self' ws:; img-src http:", ['csp-insecure-scheme'], []],
  ['http: on an HTTP page', { https: false, headers: ["default-src 'self'; connect-src 'self' ws:; img-src http:"] }, [], ['csp-insecure-scheme', 'csp-upgrade-insecure-requests-missing']],
  ['http: in script-src is a plain scheme, not also insecure', strict('http:'), ['csp-plain-scheme'], ['csp-insecure-scheme']],
  ['no upgrade-insecure-requests on HTTPS', "default-src 'self'", ['csp-upgrade-insecure-requests-missing'], []],
  ['upgrade-insecure-requests', "default-src 'self'; upgrade-insecure-requests", [], ['csp-upgrade-insecure-requests-missing']],
  ['no reporting', "default-src 'self'", ['csp-no-reporting'], ['csp-report-to-only']],
  ['report-to only', "default-src 'self'; report-to main", ['csp-report-to-only'], ['csp-no-reporting']],
  ['report-uri and report-to', "default-src 'self'; report-uri /r; report-to main", [], ['csp-report-to-only', 'csp-no-reporting']],
  // Nonces across responses and in the page
  ['the same nonce twice', { headers: [strict(`'nonce-${NONCE}' 'strict-dynamic'`)], nonceSeenElsewhere: NONCE }, ['csp-static-nonce'], []],
  ['the same nonce twice, quoted', { headers: [strict(`'nonce-${NONCE}' 'strict-dynamic'`)], nonceSeenElsewhere: `'nonce-${NONCE}'` }, ['csp-static-nonce'], []],
  ['a fresh nonce', { headers: [strict(`'nonce-${NONCE}' 'strict-dynamic'`)], nonceSeenElsewhere: 'AnotherNonce123' }, [], ['csp-static-nonce']],
  ['a nonce no script carries', { headers: [strict(`'nonce-${NONCE}' 'strict-dynamic'`)], html: '<script src="/app.js"></script><script>go()</script>' }, ['csp-nonce-unused'], ['csp-script-without-nonce']],
  ['a nonce the scripts carry', { headers: [strict(`'nonce-${NONCE}' 'strict-dynamic'`)], html: `<script nonce="${NONCE}" src="/app.js"></script><script nonce=${NONCE}>go()</script>` }, [], ['csp-nonce-unused', 'csp-script-without-nonce']],
  ['a page without scripts', { headers: [strict(`'nonce-${NONCE}' 'strict-dynamic'`)], html: '<p>hello <!-- <script>x</script> --></p><script type="application/ld+json">{}</script>' }, [], ['csp-nonce-unused', 'csp-script-without-nonce']],
  ['one script without the nonce', { headers: [strict(`'nonce-${NONCE}' 'strict-dynamic'`)], html: `<script nonce="${NONCE}">a()</script><script>b()</script>` }, ['csp-script-without-nonce'], ['csp-nonce-unused']],
  ['a wrong nonce', { headers: [strict(`'nonce-${NONCE}' 'strict-dynamic'`)], html: `<script nonce="${NONCE}">a()</script><script nonce="guessed1">b()</script>` }, ['csp-script-without-nonce'], []],
  ["inline script under script-src 'self'", { headers: [strict("'self'")], html: '<script src="/app.js"></script><script>inline()</script>' }, ['csp-script-without-nonce'], ['csp-nonce-unused']],
  ["external script under script-src 'self'", { headers: [strict("'self'")], html: '<script src="/app.js"></script>' }, [], ['csp-script-without-nonce']],
  ['inline script allowed by unsafe-inline', { headers: [strict("'self' 'unsafe-inline'")], html: '<script>inline()</script>' }, [], ['csp-script-without-nonce']],
  ['inline script maybe allowed by a hash', { headers: [strict(HASH)], html: '<script>inline()</script>' }, [], ['csp-script-without-nonce']],
  // Several policies: a load happens only if every policy allows it
  ['unsafe-inline in one policy, a nonce in the other', { headers: ["script-src 'unsafe-inline'", strict(`'nonce-${NONCE}'`)] }, [], ['csp-unsafe-inline', 'csp-missing-object-src', 'csp-missing-base-uri', 'csp-no-trusted-types']],
  ['unsafe-inline in both policies', { headers: ["script-src 'self' 'unsafe-inline'; object-src 'none'", "default-src 'unsafe-inline' https:"] }, ['csp-unsafe-inline'], ['csp-plain-scheme', 'csp-missing-object-src']],
  ['https: in both policies, by different directives', { headers: ["script-src https:; object-src 'none'", "default-src https:"] }, ['csp-plain-scheme'], []],
  ['two policies in one header, by comma', { headers: ["script-src 'unsafe-inline', script-src 'self'; object-src 'none'"] }, [], ['csp-unsafe-inline', 'csp-self-script', 'csp-missing-object-src']],
  ['a header policy and a <meta> policy', { headers: ["default-src 'self'"], meta: ["script-src 'self' 'unsafe-inline' https://www.google.com"] }, ['csp-self-script'], ['csp-unsafe-inline', 'csp-allowlist-bypass', 'csp-style-unsafe-inline']],
  ['frame-ancestors * in one policy, none in the other', { headers: ["default-src 'self'; frame-ancestors *", "frame-ancestors 'none'"] }, [], ['csp-frame-ancestors-broad', 'csp-frame-ancestors-missing']],
  ['a JSONP host allowed by the other policy too', { headers: [strict('https://www.google.com'), "script-src *.google.com; object-src 'none'"] }, ['csp-allowlist-bypass'], []],
  ['a JSONP host blocked by the other policy', { headers: [strict('https://www.google.com'), "script-src 'self'"] }, [], ['csp-allowlist-bypass', 'csp-strict-dynamic-missing']],
  ['trusted types required by one policy', { headers: ["default-src 'self'", "require-trusted-types-for 'script'"] }, [], ['csp-no-trusted-types']],
];

describe('policies → rule ids', () => {
  it.each(ROWS)('%s', (_name, row, has, not) => {
    const found = ids(analyzeCsp(input(row)));
    for (const id of has) expect(found, `expected ${id} in ${found.join(', ')}`).toContain(id);
    for (const id of not) expect(found, `expected no ${id}`).not.toContain(id);
  });

  it('covers every rule both ways', () => {
    const positive = new Set(ROWS.flatMap(([, , has]) => has));
    const negative = new Set(ROWS.flatMap(([, , , not]) => not));
    expect(CSP_RULES.map((rule) => rule.id).filter((id) => !positive.has(id)), 'rules that fire in no row').toEqual([]);
    expect(CSP_RULES.map((rule) => rule.id).filter((id) => !negative.has(id)), 'rules absent in no row').toEqual([]);
  });

  it('names the directive and the source, and fills url, evidence, exchanges and a fingerprint', () => {
    const findings = analyzeCsp(input(strict("'self' https://www.google.com")));
    const bypass = findings.find((finding) => finding.ruleId === 'csp-allowlist-bypass')!;
    expect(bypass).toEqual({
      ruleId: 'csp-allowlist-bypass',
      severity: 'high',
      message: expect.stringContaining('script-src allows https://www.google.com, and www.google.com is known to host JSONP endpoints'),
      url: URL_,
      evidence: `Content-Security-Policy: ${strict("'self' https://www.google.com")}`,
      exchanges: [7],
      fingerprint: 'csp-allowlist-bypass|https://app.example/page|script-src|https://www.google.com',
    });
    expect(findings.find((finding) => finding.ruleId === 'csp-missing-base-uri')).toBeUndefined();
    expect(new Set(findings.map((finding) => finding.fingerprint)).size).toBe(findings.length);
  });

  it('says when default-src stands in for script-src', () => {
    const [finding] = analyzeCsp(input("default-src 'self' 'unsafe-inline'")).filter((found) => found.ruleId === 'csp-unsafe-inline');
    expect(finding!.message).toContain("default-src (no script-src, so default-src applies) allows 'unsafe-inline'");
    expect(finding!.fingerprint).toBe("csp-unsafe-inline|https://app.example/page|default-src|'unsafe-inline'");
  });

  it('reports a weakness shared by two policies once', () => {
    const findings = analyzeCsp(input({ headers: ["script-src 'unsafe-inline'", "script-src 'unsafe-inline'"] }));
    expect(findings.filter((finding) => finding.ruleId === 'csp-unsafe-inline')).toHaveLength(1);
  });

  it('shows the directive a finding is about when the policy is long', () => {
    const long = `default-src 'self'; img-src ${Array.from({ length: 40 }, (_, index) => `https://img${index}.example.com`).join(' ')}; script-src 'self' 'unsafe-inline'`;
    const finding = analyzeCsp(input(long)).find((found) => found.ruleId === 'csp-unsafe-inline')!;
    expect(finding.evidence).toBe("Content-Security-Policy: …script-src 'self' 'unsafe-inline'…");
    const whole = analyzeCsp(input(long)).find((found) => found.ruleId === 'csp-no-trusted-types')!;
    expect(whole.evidence!.length).toBeLessThanOrEqual(300);
    expect(whole.evidence!.endsWith('…')).toBe(true);
  });

  it('keeps fingerprints stable when the nonce changes', () => {
    const fingerprints = (nonce: string) => analyzeCsp(input(`script-src 'nonce-${nonce}' 'unsafe-eval'; object-src 'none'`)).map((finding) => finding.fingerprint).sort();
    expect(fingerprints('abc')).toEqual(fingerprints('xyz'));
    expect(fingerprints('abc').some((fingerprint) => fingerprint.startsWith("csp-nonce-length|https://app.example/page|script-src|'nonce-…'"))).toBe(true);
  });

  it('never throws, whatever the headers and the page', () => {
    fc.assert(
      fc.property(fc.array(fc.string()), fc.array(fc.string()), fc.string(), fc.string(), (headers, meta, html, nonce) => {
        analyzeCsp(input({ headers, meta, reportOnly: headers, html, nonceSeenElsewhere: nonce }));
      }),
      { seed: 8, numRuns: 300 },
    );
  });
});

// -------------------------------------------------------------------------------------------
// Reference policies: rampart's own, helmet 8's, Flask-Talisman's, Observatory's quirks (research §1.7)

const KEY = 'nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s';
const quiet = { warn: () => {} };

async function rampartPage(options: RampartOptions, url: string) {
  const handler = rampartFetch(rampart({ keys: KEY, logger: quiet, ...options }), (_request, context) =>
    new Response(`<!doctype html><title>t</title><script nonce="${context.nonce}" src="/app.js"></script><script nonce="${context.nonce}">start()</script>`, { headers: { 'content-type': 'text/html; charset=utf-8' } }),
  );
  const response = await handler(new Request(url, { headers: { host: new URL(url).host, accept: 'text/html' } }));
  return { csp: response.headers.get('content-security-policy')!, html: await response.text() };
}

describe("rampart's default policy", () => {
  it('has no high or medium finding in production over HTTPS, only the informational notes', async () => {
    const first = await rampartPage({ mode: 'production', origin: 'https://app.example' }, 'https://app.example/');
    const second = await rampartPage({ mode: 'production', origin: 'https://app.example' }, 'https://app.example/');
    expect(first.csp).toContain("'strict-dynamic'");
    const findings = analyzeCsp(input({ headers: [second.csp], html: second.html, nonceSeenElsewhere: cspNonces([first.csp])[0]! }));
    expect(atLeast(findings, 'low')).toEqual([]);
    expect(ids(findings).sort()).toEqual(['csp-allowlist-fallback', 'csp-no-trusted-types', 'csp-unsafe-inline-fallback']);
    // The same nonce on both responses would be caught.
    const reused = analyzeCsp(input({ headers: [second.csp], nonceSeenElsewhere: cspNonces([second.csp])[0]! })).filter((finding) => finding.ruleId === 'csp-static-nonce');
    expect(reused).toHaveLength(1);
    expect(reused[0]).toMatchObject({ severity: 'high', fingerprint: "csp-static-nonce|https://app.example/page|script-src|'nonce-…'" });
    expect(reused[0]!.message).toMatch(/^script-src and style-src have the same nonce/);
  });

  it("with the 'strict-trusted-types' preset, only the two fallbacks remain", async () => {
    const page = await rampartPage({ mode: 'production', origin: 'https://app.example', headers: { contentSecurityPolicy: { preset: 'strict-trusted-types' } } }, 'https://app.example/');
    expect(ids(analyzeCsp(input({ headers: [page.csp], html: page.html }))).sort()).toEqual(['csp-allowlist-fallback', 'csp-unsafe-inline-fallback']);
  });

  it('has no high or medium finding in development over HTTP', async () => {
    const page = await rampartPage({ mode: 'development' }, 'http://localhost:3000/');
    const findings = analyzeCsp(input({ url: 'http://localhost:3000/', https: false, headers: [page.csp], html: page.html }));
    expect(atLeast(findings, 'medium')).toEqual([]);
    expect(ids(findings)).not.toContain('csp-no-reporting');
  });
});

describe('other defaults', () => {
  it("helmet 8: only CSP Evaluator's note on 'self' (plus trusted types), and our style-src note", () => {
    const headers = new Map<string, string>();
    const response = { setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), value), removeHeader: () => {} };
    helmet()({} as never, response as never, () => {});
    const policy = headers.get('content-security-policy')!;
    expect(policy).toContain("style-src 'self' https: 'unsafe-inline'");
    const ported = evaluateCsp(parseCsp(policy)).filter((issue) => PORTED.has(issue.ruleId));
    expect(ported.map((issue) => [issue.ruleId, issue.severity, issue.value])).toEqual([
      ['csp-self-script', 'low', "'self'"],
      ['csp-no-trusted-types', 'info', undefined],
    ]);
    const findings = analyzeCsp(input(policy));
    expect(atLeast(findings, 'medium')).toEqual([]);
    expect(ids(findings).sort()).toEqual(['csp-no-reporting', 'csp-no-trusted-types', 'csp-self-script', 'csp-style-unsafe-inline']);
  });

  it("Flask-Talisman 1.0's default (default-src 'self'; object-src 'none'): low and info notes only", () => {
    const findings = analyzeCsp(input("default-src 'self'; object-src 'none'"));
    expect(atLeast(findings, 'medium')).toEqual([]);
    expect(ids(findings).sort()).toEqual([
      'csp-form-action-missing',
      'csp-frame-ancestors-missing',
      'csp-no-reporting',
      'csp-no-trusted-types',
      'csp-self-script',
      'csp-upgrade-insecure-requests-missing',
    ]);
    // default-src 'self' alone (older Talisman, and the seed) yields the same: default-src covers object-src.
    expect(ids(analyzeCsp(input("default-src 'self'"))).sort()).toEqual(ids(findings).sort());
  });

  it("Flask-Talisman's GOOGLE_CSP_POLICY: the AngularJS/JSONP host is a bypass", () => {
    const policy = "font-src 'self' themes.googleusercontent.com *.gstatic.com; frame-src 'self' www.google.com www.youtube.com; script-src 'self' ajax.googleapis.com *.googleanalytics.com *.google-analytics.com; style-src 'self' ajax.googleapis.com fonts.googleapis.com *.gstatic.com; object-src 'none'; default-src 'self' *.gstatic.com";
    const findings = analyzeCsp(input(policy));
    expect(findings.filter((finding) => finding.ruleId === 'csp-allowlist-bypass').map((finding) => finding.fingerprint.split('|').at(-1))).toEqual(['ajax.googleapis.com']);
    // *.google-analytics.com hosts JSONP that needs 'unsafe-eval', which this policy does not allow.
    expect(findings.filter((finding) => finding.ruleId === 'csp-allowlist-host').map((finding) => finding.fingerprint.split('|').at(-1))).toEqual(['*.googleanalytics.com', '*.google-analytics.com']);
  });

  it.each([
    ['frame-ancestors * (Observatory: +5, A+)', { headers: ["default-src 'self'; frame-ancestors *"] }, ['csp-frame-ancestors-broad'], 'medium'],
    ['JSONP allowlist (Observatory: best CSP bucket, +10)', { headers: ["default-src 'none'; script-src 'self' https://www.google.com https://ajax.googleapis.com"] }, ['csp-allowlist-bypass'], 'high'],
    ['nonce without base-uri (Observatory: +10)', { headers: ["default-src 'none'; script-src 'nonce-abc' 'strict-dynamic'"] }, ['csp-missing-base-uri', 'csp-nonce-length'], 'high'],
    ['Report-Only alone', { reportOnly: ["default-src 'self'"] }, ['csp-report-only-only'], 'medium'],
  ] as const)('Observatory quirk: %s is flagged', (_name, row, expected, worst) => {
    const findings = analyzeCsp(input(row));
    for (const id of expected) expect(ids(findings)).toContain(id);
    expect(atLeast(findings, worst).length).toBeGreaterThan(0);
  });
});

// -------------------------------------------------------------------------------------------
// Cross-check against csp_evaluator 1.1.8 for the rules ported from it

const PORTED = new Set([
  'csp-unsafe-inline', 'csp-unsafe-hashes', 'csp-unsafe-eval', 'csp-plain-scheme', 'csp-wildcard', 'csp-missing-object-src', 'csp-missing-script-src', 'csp-missing-base-uri',
  'csp-allowlist-bypass', 'csp-allowlist-host', 'csp-self-script', 'csp-object-bypass', 'csp-object-allowlist', 'csp-ip-source', 'csp-nonce-length', 'csp-nonce-charset',
  'csp-http-source', 'csp-deprecated-directive', 'csp-unknown-directive', 'csp-missing-semicolon', 'csp-invalid-keyword',
  'csp-strict-dynamic-missing', 'csp-strict-dynamic-alone', 'csp-unsafe-inline-fallback', 'csp-allowlist-fallback', 'csp-no-trusted-types',
]);

/** csp_evaluator's finding types (`finding.ts`) → our rule ids. */
function ourRule(finding: EvaluatorFinding): string | undefined {
  switch (finding.type as number) {
    case 300:
      return { 'object-src': 'csp-missing-object-src', 'script-src': 'csp-missing-script-src', 'base-uri': 'csp-missing-base-uri' }[finding.directive];
    case 301: return 'csp-unsafe-inline';
    case 317: return 'csp-unsafe-hashes';
    case 302: return 'csp-unsafe-eval';
    case 303: return 'csp-plain-scheme';
    case 304: return 'csp-wildcard';
    case 305: return finding.severity === 10 ? 'csp-allowlist-bypass' : finding.value === "'self'" ? 'csp-self-script' : 'csp-allowlist-host';
    case 306: return finding.severity === 10 ? 'csp-object-bypass' : 'csp-object-allowlist';
    case 307: return 'csp-nonce-length';
    case 106: return 'csp-nonce-charset';
    case 308: return 'csp-ip-source';
    case 309: return 'csp-deprecated-directive';
    case 310: return 'csp-http-source';
    case 101: return 'csp-unknown-directive';
    case 100: return 'csp-missing-semicolon';
    case 102: return 'csp-invalid-keyword';
    case 400: return 'csp-strict-dynamic-missing';
    case 401: return 'csp-strict-dynamic-alone';
    case 403: return 'csp-unsafe-inline-fallback';
    case 404: return 'csp-allowlist-fallback';
    case 500: return 'csp-no-trusted-types';
    case 405: return undefined; // IGNORED: a note on the effective policy, not a finding.
    default: throw new Error(`unmapped csp_evaluator type ${finding.type}: ${finding.description}`);
  }
}

function ourSeverity(finding: EvaluatorFinding): Severity {
  // Deliberate: the two backward-compatibility fallbacks are info here (STRICT_CSP there).
  if ((finding.type as number) === 403 || (finding.type as number) === 404) return 'info';
  const map: Record<number, Severity> = { 10: 'high', 20: 'medium', 30: 'medium', 45: 'low', 50: 'low', 60: 'info' };
  return map[finding.severity as number]!;
}

const SYNTAX_CHECKS = [checkUnknownDirective, checkMissingSemicolon, checkInvalidKeyword];

/**
 * csp_evaluator's findings as `rule|directive|value|severity`. `syntaxOnWritten` runs its three
 * syntax checks on the policy as written instead of the effective one (our one deliberate
 * difference in where checks run; see DIFFERENCES), with its own check functions.
 */
function theirs(policy: string, syntaxOnWritten = true): string[] {
  const parsed = new CspParser(policy).csp;
  const findings = syntaxOnWritten
    ? new CspEvaluator(parsed).evaluate([...STRICTCSP_CHECKS, ...SYNTAX_CHECKS], DEFAULT_CHECKS.filter((check) => !SYNTAX_CHECKS.includes(check)))
    : new CspEvaluator(parsed).evaluate(STRICTCSP_CHECKS, DEFAULT_CHECKS);
  const keys = findings.flatMap((finding) => {
    const id = ourRule(finding);
    return id === undefined ? [] : [`${id}|${finding.directive}|${finding.value ?? ''}|${ourSeverity(finding)}`];
  });
  return [...new Set(keys)].sort();
}

/** Directives we call deprecated and csp_evaluator 1.1.8 does not (see DIFFERENCES). */
const NEWLY_DEPRECATED = new Set(['block-all-mixed-content', 'plugin-types', 'navigate-to', 'require-sri-for']);

function ours(policy: string, { newlyDeprecated = false } = {}): string[] {
  const keys = evaluateCsp(parseCsp(policy))
    .filter((issue) => PORTED.has(issue.ruleId))
    .filter((issue) => newlyDeprecated || issue.ruleId !== 'csp-deprecated-directive' || !NEWLY_DEPRECATED.has(issue.directive))
    .map((issue) => `${issue.ruleId}|${issue.directive}|${issue.value ?? ''}|${issue.severity}`);
  return [...new Set(keys)].sort();
}

const CORPUS: readonly string[] = [
  // Real-world shapes
  "default-src 'self'",
  "default-src 'self'; object-src 'none'",
  "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests",
  `default-src 'self'; script-src 'nonce-${NONCE}' 'strict-dynamic'; style-src 'self' 'nonce-${NONCE}'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; report-uri /_rampart/csp-report; report-to rampart-csp; upgrade-insecure-requests`,
  `script-src 'nonce-${NONCE}' 'strict-dynamic' https: 'unsafe-inline'; object-src 'none'; base-uri 'none'; require-trusted-types-for 'script'`,
  `script-src ${HASH} 'strict-dynamic' https: http:; object-src 'none'; base-uri 'self'`,
  "font-src 'self' themes.googleusercontent.com *.gstatic.com; frame-src 'self' www.google.com www.youtube.com; script-src 'self' ajax.googleapis.com *.googleanalytics.com *.google-analytics.com; style-src 'self' ajax.googleapis.com fonts.googleapis.com *.gstatic.com; object-src 'none'; default-src 'self' *.gstatic.com",
  "default-src 'none'; base-uri 'self'; child-src github.com/assets-cdn/worker/ gist.github.com/assets-cdn/worker/; connect-src 'self' uploads.github.com www.githubstatus.com collector.github.com raw.githubusercontent.com api.github.com wss://alive.github.com; font-src github.githubassets.com; form-action 'self' github.com gist.github.com; frame-ancestors 'none'; img-src 'self' data: github.githubassets.com; script-src github.githubassets.com; style-src 'unsafe-inline' github.githubassets.com; worker-src github.com/assets-cdn/worker/",
  "default-src * data: blob: 'unsafe-inline' 'unsafe-eval'",
  "script-src 'self' 'unsafe-inline' 'unsafe-eval' https://www.googletagmanager.com https://www.google-analytics.com; object-src 'none'",
  "script-src 'self' https://www.googletagmanager.com; object-src 'none'",
  "default-src 'none'; script-src 'self' https://www.google.com https://ajax.googleapis.com",
  "default-src 'none'; script-src 'nonce-abc' 'strict-dynamic'",
  "default-src 'self'; frame-ancestors *",
  "upgrade-insecure-requests",
  // One rule at a time
  "script-src 'unsafe-inline'",
  "script-src-attr 'unsafe-inline' 'unsafe-hashes'; script-src 'self'; object-src 'none'",
  "script-src-elem https: data:; script-src 'none'; object-src 'none'",
  "script-src *; object-src *; base-uri *",
  "script-src https://*; object-src 'none'",
  "script-src //*; object-src 'none'",
  "object-src 'none'",
  "script-src 'nonce-abcdefgh'",
  `script-src ${HASH}; object-src 'none'`,
  `script-src ${HASH} 'strict-dynamic'; object-src 'none'`,
  "script-src https://ajax.googleapis.com/ajax/libs/angularjs/; object-src 'none'",
  "script-src https://ajax.googleapis.com/ajax/libs/jquery/; object-src 'none'",
  "script-src *.googleapis.com cdn.jsdelivr.net; object-src 'none'",
  "script-src 'none' cdn.example.com; object-src 'none'",
  "script-src cdn.example.com:443 https://cdn.example.com/path/file.js; object-src 'none'",
  "object-src vk.com 'self' https: *; script-src 'none'",
  "object-src 'self' 'none' vk.com; script-src 'none'",
  "default-src 'self' ajax.googleapis.com",
  "object-src vk.com; plugin-types application/pdf; script-src 'none'",
  "default-src 'self'; img-src 127.0.0.1 10.0.0.1 http://127.0.0.1:8080 [::1]",
  "script-src 'nonce-abc' 'nonce-abc$defgh' 'nonce-ab~'; object-src 'none'; base-uri 'none'",
  "default-src 'self'; img-src http://img.example.com; report-uri http://reports.example/csp",
  "default-src 'self'; reflected-xss block; referrer no-referrer; disown-opener; prefetch-src 'self'",
  "default-src 'self'; scirpt-src 'none'; script-src: 'none'",
  "script-src 'self' object-src 'none'",
  "script-src self none unsafe-inline nonce-abcdefgh sha256-abc; object-src 'none'",
  "script-src 'bogus' 'script'; object-src 'none'; require-trusted-types-for 'script' 'bogus'; trusted-types default 'allow-duplicates' 'none' 'bogus'",
  "script-src 'self' https://cdn.example.com; object-src 'none'",
  "script-src 'strict-dynamic'; object-src 'none'",
  "script-src 'nonce-abcdefgh' 'strict-dynamic' http:; object-src 'none'; base-uri 'none'",
  "script-src 'strict-dynamic' 'nonce-abcdefgh' https://cdn.example.com; object-src 'none'; base-uri 'none'",
  "default-src 'nonce-abcdefgh' 'unsafe-inline' 'strict-dynamic' 'self' https://www.google.com",
  "script-src 'self' 'wasm-unsafe-eval' 'report-sample' 'inline-speculation-rules'; object-src 'none'",
  "SCRIPT-SRC 'SELF' HTTPS://WWW.GOOGLE.COM; Object-Src 'NONE'",
  "script-src 'unsafe-inline'; script-src 'self'; object-src 'none'",
  "default-src 'self'; webrtc 'block'; sandbox allow-scripts; report-to main",
];

// Generated policies: directives and sources drawn from pools that exercise every ported check.
const SOURCES = [
  "'self'", "'none'", "'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'strict-dynamic'", "'report-sample'", "'wasm-unsafe-eval'",
  `'nonce-${NONCE}'`, "'nonce-abc'", "'nonce-abcdefg'", "'nonce-abcdefgh'", "'nonce-abc$defgh'", HASH, "'sha256-abc'", "'bogus'", "'script'",
  'https:', 'http:', 'data:', 'blob:', 'wss:', '*', 'https://*', '//*', '*.example.com', 'cdn.example.com', 'http://cdn.example.com', 'https://cdn.example.com/js/',
  'https://www.google.com', 'ajax.googleapis.com', 'https://ajax.googleapis.com/ajax/libs/angularjs/', '*.googleapis.com', 'www.googletagmanager.com',
  'cdn.jsdelivr.net', 'vk.com', 'https://vk.com/swf/video.swf', '127.0.0.1', 'http://127.0.0.1:8080', '10.0.0.1', '[::1]', 'localhost',
  'self', 'none', 'unsafe-inline', 'nonce-abcdefgh', 'sha256-abc', 'object-src', 'script-src', 'base-uri',
];
const SOURCE_DIRECTIVES = [
  'default-src', 'script-src', 'script-src-elem', 'script-src-attr', 'object-src', 'base-uri', 'style-src', 'img-src', 'connect-src', 'worker-src',
  'frame-ancestors', 'form-action', 'reflected-xss', 'referrer', 'scirpt-src', 'script-src:',
];
const directive = fc.oneof(
  fc.tuple(fc.constantFrom(...SOURCE_DIRECTIVES), fc.uniqueArray(fc.constantFrom(...SOURCES), { minLength: 1, maxLength: 4 })).map(([name, values]) => [name, ...values].join(' ')),
  fc.constantFrom("require-trusted-types-for 'script'", "require-trusted-types-for 'bogus'", "trusted-types default 'allow-duplicates'", 'report-uri /csp', 'report-uri http://reports.example/csp', 'report-to main', 'upgrade-insecure-requests', 'sandbox allow-scripts', "webrtc 'allow'", 'Script-Src https://WWW.Google.com'),
);
const GENERATED = fc.sample(fc.array(directive, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('; ')), { seed: 1_1_8, numRuns: 400 });

describe('cross-check against csp_evaluator 1.1.8', () => {
  it.each(CORPUS)('%s', (policy) => {
    expect(ours(policy)).toEqual(theirs(policy));
  });

  it(`agrees on ${GENERATED.length} generated policies`, () => {
    const disagreements = GENERATED.filter((policy) => JSON.stringify(ours(policy)) !== JSON.stringify(theirs(policy)));
    for (const policy of disagreements.slice(0, 3)) expect({ policy, ours: ours(policy) }).toEqual({ policy, ours: theirs(policy) });
    expect(disagreements).toEqual([]);
    // The generator reaches every ported rule.
    const reached = new Set(GENERATED.flatMap((policy) => ours(policy).map((key) => key.split('|')[0])));
    expect([...PORTED].filter((id) => !reached.has(id))).toEqual([]);
  });

  // Where we deliberately differ from csp_evaluator used as its web UI does (syntax checks on the
  // effective policy). `onlyTheirs` and `onlyOurs` are exact.
  const DIFFERENCES: readonly [why: string, policy: string, onlyTheirs: readonly string[], onlyOurs: readonly string[]][] = [
    [
      "syntax checks read the policy as written: 'strict-dynamic' hides unquoted words from csp_evaluator's",
      `script-src 'nonce-${NONCE}' 'strict-dynamic' object-src self; base-uri 'none'`,
      [],
      ['csp-missing-semicolon|script-src|object-src|medium', 'csp-invalid-keyword|script-src|self|medium'],
    ],
    [
      'an empty object-src allows nothing, like \'none\' (CSP3 §6.7.2.5); csp_evaluator calls it missing',
      "script-src 'none'; object-src",
      ['csp-missing-object-src|object-src||high'],
      [],
    ],
    [
      'report-to, sandbox, trusted-types… hold names, not sources: csp_evaluator reads "1234" as the address 0.0.4.210',
      "default-src 'self'; report-to 1234",
      ['csp-ip-source|report-to|1234|info'],
      [],
    ],
    [
      'directives retired since csp_evaluator 1.1.8 was written are deprecated too',
      "default-src 'self'; block-all-mixed-content; navigate-to 'self'; require-sri-for script; plugin-types application/pdf",
      [],
      ['csp-deprecated-directive|block-all-mixed-content||info', 'csp-deprecated-directive|navigate-to||info', 'csp-deprecated-directive|require-sri-for||info', 'csp-deprecated-directive|plugin-types||info'],
    ],
    [
      "require-trusted-types-for script without quotes leaves Trusted Types off: we say so, csp_evaluator does not",
      "default-src 'self'; require-trusted-types-for script",
      [],
      ['csp-invalid-keyword|require-trusted-types-for|script|medium'],
    ],
    [
      'fenced-frame-src shipped after csp_evaluator 1.1.8',
      "default-src 'self'; fenced-frame-src 'none'",
      ['csp-unknown-directive|fenced-frame-src||medium'],
      [],
    ],
    [
      "'trusted-types-eval' and 'report-sha256' shipped after csp_evaluator 1.1.8",
      "default-src 'self'; script-src 'self' 'trusted-types-eval' 'report-sha256'",
      ["csp-invalid-keyword|script-src|'report-sha256'|medium", "csp-invalid-keyword|script-src|'trusted-types-eval'|medium"],
      [],
    ],
  ];

  it.each(DIFFERENCES)('differs deliberately: %s', (_why, policy, onlyTheirs, onlyOurs) => {
    const reference = theirs(policy, false);
    const mine = ours(policy, { newlyDeprecated: true });
    expect(reference.filter((key) => !mine.includes(key))).toEqual([...onlyTheirs].sort());
    expect(mine.filter((key) => !reference.includes(key))).toEqual([...onlyOurs].sort());
  });

  it('reads sources csp_evaluator throws on', () => {
    const policy = "script-src 'nonce-ab%'; object-src 'none'; base-uri 'none'";
    expect(() => theirs(policy)).toThrow('Invalid URL');
    expect(ours(policy)).toEqual(["csp-invalid-keyword|script-src|'nonce-ab%'|medium", 'csp-no-trusted-types|require-trusted-types-for||info', "csp-nonce-charset|script-src|'nonce-ab%'|info", "csp-nonce-length|script-src|'nonce-ab%'|medium"]);
  });

  it('differs deliberately on the severity of the old-browser fallbacks (STRICT_CSP there, info here)', () => {
    const policy = `script-src 'nonce-${NONCE}' 'strict-dynamic'; object-src 'none'; base-uri 'none'`;
    const findings = new CspEvaluator(new CspParser(policy).csp).evaluate(STRICTCSP_CHECKS, DEFAULT_CHECKS);
    expect(findings.filter((finding) => [403, 404].includes(finding.type as number)).map((finding) => finding.severity as number)).toEqual([45, 45]);
    expect(ours(policy)).toContain('csp-unsafe-inline-fallback|script-src||info');
  });
});
