/**
 * Content-Security-Policy analysis: Google CSP Evaluator's checks (its 14 default and
 * 5 strict-CSP checks, ported from npm `csp_evaluator` 1.1.8 and cross-checked against
 * it in the tests), plus what it and MDN HTTP Observatory miss: several policies on one
 * page (CSP3: a load happens only if every policy allows it), Report-Only alone,
 * directives a `<meta>` policy cannot carry, inline styles, `frame-ancestors` and
 * `form-action`, a nonce that never changes, and a nonce the page never uses.
 *
 * Pure functions of header values and the page: no I/O.
 *
 * Grammar references are CSP Level 3 (https://www.w3.org/TR/CSP3/).
 */

import { FETCH_DIRECTIVES as FETCH_DIRECTIVE_NAMES } from '../headers/csp.ts';
import { ANGULAR_URLS, FLASH_URLS, JSONP_NEEDS_EVAL, JSONP_URLS } from './csp-bypasses.ts';
import { scanTags } from './html-scan.ts';
import type { Finding, Rule, Severity } from './types.ts';

// ---------------------------------------------------------------------------------------------
// Rules

const TALISMAN_STRICT =
  "Talisman(app, content_security_policy={'default-src': \"'self'\", 'script-src': \"'strict-dynamic'\", 'object-src': \"'none'\", 'base-uri': \"'none'\"}, content_security_policy_nonce_in=['script-src']), and nonce=\"{{ csp_nonce() }}\" on every <script>";
const RAMPART_DEFAULT = "on by default: script-src 'nonce-…' 'strict-dynamic', object-src 'none', base-uri 'none' (headers.contentSecurityPolicy, preset 'strict')";
const RAMPART_NONCE = "on by default: print context.nonce on inline scripts (rampart's html templates add it to every <script>)";

/**
 * The CSP rules of the auditor. Severities of CSP Evaluator's checks map HIGH → high,
 * SYNTAX and MEDIUM → medium, STRICT_CSP and MEDIUM_MAYBE → low, INFO → info, except
 * the two backward-compatibility fallbacks (info: they only help browsers from before 2016).
 *
 * @example
 * ```ts
 * const rule = CSP_RULES.find((rule) => rule.id === 'csp-unsafe-inline') // severity 'high'
 * ```
 */
export const CSP_RULES: readonly Rule[] = [
  // Presence
  rule('csp-missing', 'medium', 693, 'No Content-Security-Policy: nothing limits what an injected script can load or run.', TALISMAN_STRICT, 'on by default (a strict policy with a fresh nonce on every HTML response)'),
  rule('csp-report-only-only', 'medium', 693, 'Only Content-Security-Policy-Report-Only is sent: violations are reported, nothing is blocked.', 'Talisman(app, content_security_policy={…}, content_security_policy_report_only=False) once the reports are clean', 'headers.contentSecurityPolicy is enforced by default; keep headers.contentSecurityPolicyReportOnly only to try the next policy'),
  // CSP Evaluator, default checks
  rule('csp-unsafe-inline', 'high', 693, "The script policy allows 'unsafe-inline' without a nonce or hash: any injected inline script or event handler runs.", TALISMAN_STRICT, "rampart refuses 'unsafe-inline' in script-src beside the nonce; " + RAMPART_NONCE),
  rule('csp-unsafe-hashes', 'low', 693, "The script policy allows 'unsafe-hashes': inline event handlers whose hash is listed run.", "move handlers to a script file (addEventListener) and drop 'unsafe-hashes' from content_security_policy", "headers.contentSecurityPolicy: { directives: { 'script-src-attr': null } } and addEventListener in a nonced script"),
  rule('csp-unsafe-eval', 'low', 95, "The script policy allows 'unsafe-eval': strings that reach eval(), new Function() or setTimeout(string) run as code.", "drop 'unsafe-eval' from content_security_policy['script-src'] (use 'wasm-unsafe-eval' if only WebAssembly needs it)", "not in any preset; remove CSP.unsafeEval from headers.contentSecurityPolicy.directives['script-src']"),
  rule('csp-plain-scheme', 'high', 693, 'A script, object or base-uri directive allows a whole scheme (https:, http:, data:): scripts from any site, or a data: URL, run.', TALISMAN_STRICT, "headers.contentSecurityPolicy: { directives: { 'script-src': [NONCE, CSP.strictDynamic] } } (the default; https: after 'strict-dynamic' is ignored)"),
  rule('csp-wildcard', 'high', 693, "A script, object or base-uri directive allows '*': scripts from any site run.", TALISMAN_STRICT, "remove '*' from headers.contentSecurityPolicy.directives; the strict preset allows scripts by nonce only"),
  rule('csp-missing-object-src', 'high', 693, "No object-src and no default-src: <object> and <embed> plugins can run script.", "content_security_policy={'default-src': \"'self'\", 'object-src': \"'none'\", …} (Talisman's default has it)", "on by default (object-src 'none')"),
  rule('csp-missing-script-src', 'high', 693, 'No script-src and no default-src: the policy does not restrict scripts at all.', TALISMAN_STRICT, RAMPART_DEFAULT),
  rule('csp-missing-base-uri', 'high', 693, "A nonce-based policy without base-uri: an injected <base href> points the page's relative script URLs at another site.", "content_security_policy={…, 'base-uri': \"'none'\"}", "on by default (base-uri 'none')"),
  rule('csp-allowlist-bypass', 'high', 693, 'The script allowlist names a host known to serve JSONP endpoints or AngularJS, which run any script an attacker asks for.', TALISMAN_STRICT, "drop the host: headers.contentSecurityPolicy: { directives: { 'script-src': [NONCE, CSP.strictDynamic] } } (the default) and load its script from a nonced tag"),
  rule('csp-allowlist-host', 'low', 693, 'The script allowlist names a host: any JSONP endpoint, AngularJS copy or user upload on it becomes a script an attacker can use.', TALISMAN_STRICT, "the strict preset allows scripts by nonce, not by host: drop the host from headers.contentSecurityPolicy.directives['script-src']"),
  rule('csp-self-script', 'low', 693, "script-src allows 'self': a JSONP endpoint, an AngularJS copy or a user-uploaded file on this origin can be used to run script.", TALISMAN_STRICT, "the strict preset has no 'self' in script-src (nonce and 'strict-dynamic' only)"),
  rule('csp-object-bypass', 'high', 693, 'object-src allows a host known to serve Flash files that run caller-supplied script.', "content_security_policy={…, 'object-src': \"'none'\"}", "on by default (object-src 'none')"),
  rule('csp-object-allowlist', 'low', 693, "object-src allows sources other than 'none': plugins can be loaded from them.", "content_security_policy={…, 'object-src': \"'none'\"}", "on by default (object-src 'none'); remove headers.contentSecurityPolicy.directives['object-src'] overrides"),
  rule('csp-ip-source', 'info', undefined, 'A source is an IP address: it only matches that literal address (and 127.0.0.1 should not ship to production).', 'name hosts, not addresses, in content_security_policy', 'name hosts, not addresses, in headers.contentSecurityPolicy.directives'),
  rule('csp-nonce-length', 'medium', 330, 'A nonce is shorter than 8 characters: it can be guessed.', "content_security_policy_nonce_in=['script-src'] (Talisman draws 32 random characters per request)", 'on by default (128 random bits per response, from NONCE)'),
  rule('csp-nonce-charset', 'info', undefined, 'A nonce uses characters outside base64: some browsers reject it.', "content_security_policy_nonce_in=['script-src'] (Talisman's nonces are alphanumeric)", 'on by default (base64url nonces)'),
  rule('csp-http-source', 'medium', 319, 'A source or the report URI uses http://: what it serves (or the reports sent to it) can be read or changed on the network.', 'use https:// URLs in content_security_policy and content_security_policy_report_uri', 'use https:// URLs in headers.contentSecurityPolicy.directives (the builder accepts them as written)'),
  rule('csp-deprecated-directive', 'info', undefined, 'A directive that browsers removed or never shipped: it has no effect.', 'remove it from content_security_policy (see the message for its replacement)', 'rampart refuses retired directives at startup and says what replaces each'),
  rule('csp-unknown-directive', 'medium', undefined, 'A directive browsers do not know: it is ignored (often a typo).', 'fix the directive name in content_security_policy', 'rampart refuses unknown directives at startup with the closest name'),
  rule('csp-missing-semicolon', 'medium', undefined, 'A directive name appears as a source: a semicolon is missing, so that directive is not set.', "separate directives with '; ' in content_security_policy (or pass a dict)", 'headers.contentSecurityPolicy.directives takes one key per directive, so this cannot happen'),
  rule('csp-invalid-keyword', 'medium', undefined, "A keyword without its single quotes, or a quoted word that is not a keyword: browsers read it as a host or drop it.", "quote keywords in content_security_policy: \"'self'\", not 'self'", "use the CSP constants (CSP.self, CSP.strictDynamic, NONCE); the builder refuses unquoted keywords"),
  // CSP Evaluator, strict-CSP checks
  rule('csp-strict-dynamic-missing', 'low', 693, "The script policy is a host allowlist without 'strict-dynamic': allowlists can usually be bypassed; nonces with 'strict-dynamic' cannot.", TALISMAN_STRICT, RAMPART_DEFAULT),
  rule('csp-strict-dynamic-alone', 'info', undefined, "'strict-dynamic' without a nonce or hash blocks every script (Observatory grades such a policy invalid).", TALISMAN_STRICT, "rampart refuses 'strict-dynamic' without a nonce or hash at startup"),
  rule('csp-unsafe-inline-fallback', 'info', undefined, "A nonce or hash policy without 'unsafe-inline' as a fallback for browsers older than CSP2 (2016), which then block inline scripts.", "optional: add \"'unsafe-inline'\" to script-src (browsers that know nonces ignore it)", "deliberately not done: every browser rampart supports understands nonces, and the builder refuses 'unsafe-inline' beside one"),
  rule('csp-allowlist-fallback', 'info', undefined, "'strict-dynamic' without https: as a fallback for browsers older than CSP3, which then block scripts loaded by scripts.", "optional: add 'https:' to script-src (browsers that know 'strict-dynamic' ignore it)", "deliberately not done: every browser rampart supports understands 'strict-dynamic'"),
  rule('csp-no-trusted-types', 'info', 79, "No require-trusted-types-for 'script': DOM XSS sinks (innerHTML, eval…) accept plain strings.", "content_security_policy={…, 'require-trusted-types-for': \"'script'\"} once the front end uses Trusted Types", "headers.contentSecurityPolicy: { preset: 'strict-trusted-types' }"),
  // Beyond CSP Evaluator
  rule('csp-duplicate-directive', 'medium', undefined, 'A directive appears twice in one policy: browsers apply the first and ignore the rest (Observatory grades such a policy invalid).', 'give each directive once in content_security_policy (a dict cannot repeat keys)', 'headers.contentSecurityPolicy.directives takes one key per directive, so this cannot happen'),
  rule('csp-meta-forbidden-directive', 'low', 693, 'A <meta> policy carries frame-ancestors, report-uri or sandbox, which browsers ignore there.', 'send the policy as a header: Talisman(app, content_security_policy={…}) instead of a <meta> tag', 'rampart sends the policy as a header on every HTML response'),
  rule('csp-style-unsafe-inline', 'low', 693, "The style policy allows 'unsafe-inline' without a nonce or hash: injected <style> and style= attributes apply (CSS can read attribute values and redraw the page).", "content_security_policy={…, 'style-src': \"'self'\"}, content_security_policy_nonce_in=['script-src', 'style-src']", "on by default (style-src 'self' 'nonce-…'); the relaxed preset allows 'unsafe-inline' for styles"),
  rule('csp-frame-ancestors-broad', 'medium', 1021, "frame-ancestors allows '*' or a whole scheme: any site can frame the page (clickjacking), and browsers ignore X-Frame-Options when frame-ancestors is present.", "content_security_policy={…, 'frame-ancestors': \"'none'\"} (or \"'self'\")", "on by default (frame-ancestors 'none'); a route that must be framed: security.headerPolicy({ contentSecurityPolicy: { set: { 'frame-ancestors': [CSP.self, 'https://partner.example'] } } })"),
  rule('csp-frame-ancestors-missing', 'info', 1021, "No frame-ancestors: only X-Frame-Options (if any) protects against framing, and it cannot name the sites allowed to frame.", "content_security_policy={…, 'frame-ancestors': \"'none'\"}", "on by default (frame-ancestors 'none')"),
  rule('csp-form-action-missing', 'low', 693, 'No form-action: an injected <form> can send what users type to any site (form-action does not fall back to default-src).', "content_security_policy={…, 'form-action': \"'self'\"}", "on by default (form-action 'self')"),
  rule('csp-form-action-broad', 'low', 693, "form-action allows '*' or a whole scheme: an injected <form> can send what users type to any site.", "content_security_policy={…, 'form-action': \"'self'\"}", "on by default (form-action 'self')"),
  rule('csp-insecure-scheme', 'medium', 319, 'On an HTTPS page, the policy allows a plain-text scheme (http:, ws:, ftp:): content from it can be read or changed on the network.', "use https:/wss: sources in content_security_policy, and add 'upgrade-insecure-requests': ''", "list https: sources in headers.contentSecurityPolicy.directives; upgrade-insecure-requests is on in production"),
  rule('csp-upgrade-insecure-requests-missing', 'info', 319, 'On an HTTPS page, no upgrade-insecure-requests: http:// links to subresources in old content are not upgraded.', "content_security_policy={…, 'upgrade-insecure-requests': ''}", 'on by default in production'),
  rule('csp-no-reporting', 'info', undefined, 'The policy has no report-uri or report-to: blocked attacks and broken pages go unnoticed.', "Talisman(app, content_security_policy_report_uri='/csp-report')", 'on by default (report-uri /_rampart/csp-report, and report-to over HTTPS)'),
  rule('csp-report-to-only', 'info', undefined, 'The policy reports only through report-to, which only Chromium-based browsers support: add report-uri.', "Talisman(app, content_security_policy_report_uri='/csp-report')", 'on by default (both report-uri and report-to over HTTPS)'),
  rule('csp-static-nonce', 'high', 344, 'The CSP nonce is the same on two responses: an attacker who reads it once can run any script.', "content_security_policy_nonce_in=['script-src'] makes a fresh nonce per request; never hard-code 'nonce-…' in content_security_policy or cache pages with their headers", 'on by default (a fresh nonce per response); rampart refuses a fixed nonce in the options'),
  rule('csp-nonce-unused', 'info', undefined, "The policy has a script nonce but no element on the page carries it: the page's scripts are blocked (the templates do not print the nonce).", 'nonce="{{ csp_nonce() }}" on every <script> (Flask-Talisman)', RAMPART_NONCE),
  rule('csp-script-without-nonce', 'info', undefined, "A <script> on the page has no matching nonce and the policy does not allow it otherwise: browsers block it.", 'nonce="{{ csp_nonce() }}" on every <script> (Flask-Talisman)', RAMPART_NONCE),
];

function rule(id: string, severity: Severity, cwe: number | undefined, title: string, flask: string, rampart: string): Rule {
  return { id, practice: 'headers', severity, title, ...(cwe === undefined ? {} : { cwe }), fix: { flask, rampart } };
}

const RULE_SEVERITY = new Map(CSP_RULES.map((entry) => [entry.id, entry.severity]));

// ---------------------------------------------------------------------------------------------
// Vocabulary (csp_evaluator's `csp.ts`, with what browsers added since)

const FETCH_DIRECTIVES = new Set<string>(FETCH_DIRECTIVE_NAMES);

/** What replaces each retired directive (CSP Evaluator knows the first four). */
const DEPRECATED_DIRECTIVES: Readonly<Record<string, string>> = {
  'reflected-xss': 'reflected-xss was removed in CSP2; the XSS auditor it drove is gone too: rely on script-src',
  referrer: 'referrer was removed in CSP2; use the Referrer-Policy header',
  'disown-opener': 'disown-opener never shipped; use the Cross-Origin-Opener-Policy header',
  'prefetch-src': 'prefetch-src was removed from CSP3 and browsers ignore it',
  'block-all-mixed-content': 'block-all-mixed-content is obsolete: browsers block mixed content; use upgrade-insecure-requests',
  'plugin-types': "plugin-types was removed with plugins; object-src 'none' covers them",
  'navigate-to': 'navigate-to never shipped in any browser',
  'require-sri-for': 'require-sri-for was removed and browsers ignore it',
};

const KNOWN_DIRECTIVES = new Set([
  ...FETCH_DIRECTIVES,
  'base-uri',
  'sandbox',
  'form-action',
  'frame-ancestors',
  'report-to',
  'report-uri',
  'upgrade-insecure-requests',
  'trusted-types',
  'require-trusted-types-for',
  'webrtc',
  ...Object.keys(DEPRECATED_DIRECTIVES),
]);

/** Directives whose values are not sources (group names, tokens, policy names). */
const NOT_SOURCE_LISTS = new Set(['report-to', 'sandbox', 'trusted-types', 'require-trusted-types-for', 'webrtc', 'plugin-types']);

/** Directives a `<meta>` policy cannot carry (CSP3 §6.1.6 / HTML's http-equiv processing). */
const META_FORBIDDEN = ['frame-ancestors', 'report-uri', 'sandbox'];

const KEYWORDS = new Set([
  "'self'",
  "'none'",
  "'unsafe-inline'",
  "'unsafe-eval'",
  "'wasm-eval'",
  "'wasm-unsafe-eval'",
  "'strict-dynamic'",
  "'unsafe-hashed-attributes'",
  "'unsafe-hashes'",
  "'report-sample'",
  "'block'",
  "'allow'",
  "'inline-speculation-rules'",
  // Shipped after csp_evaluator 1.1.8.
  "'trusted-types-eval'",
  "'report-sha256'",
  "'report-sha384'",
  "'report-sha512'",
]);
const UNQUOTED_KEYWORDS = new Set([...KEYWORDS].map((keyword) => keyword.slice(1, -1)));

const SCRIPT_DIRECTIVES = ['script-src', 'script-src-attr', 'script-src-elem'];
const STYLE_DIRECTIVES = ['style-src', 'style-src-elem', 'style-src-attr'];
/** Directives where a scheme, a wildcard or a host lets an attacker run script (CSP Evaluator's DIRECTIVES_CAUSING_XSS). */
const XSS_DIRECTIVES = [...SCRIPT_DIRECTIVES, 'object-src', 'base-uri'];
const XSS_SCHEMES = ['data:', 'http:', 'https:'];
const CLEARTEXT_SCHEMES = ['http:', 'ws:', 'ftp:'];
const PASSIVE_DIRECTIVES = new Set(['img-src', 'media-src']);

const UNSAFE_INLINE = "'unsafe-inline'";
const STRICT_DYNAMIC = "'strict-dynamic'";

// CSP3 §2.3.1: scheme-source; nonce-source and hash-source with base64 or base64url values.
const URL_SCHEME = /^[a-zA-Z][+a-zA-Z0-9.-]*:$/;
const STRICT_NONCE = /^'nonce-[a-zA-Z0-9+/_-]+={0,2}'$/;
const ANY_NONCE = /^'nonce-(.+)'$/;
const STRICT_HASH = /^'(?:sha256|sha384|sha512)-[a-zA-Z0-9+/_-]+={0,2}'$/;
const ASCII_WHITESPACE = /[\t\n\f\r ]+/;

const isUrlScheme = (value: string): boolean => URL_SCHEME.test(value);
const isNonce = (value: string): boolean => STRICT_NONCE.test(value);
const isHash = (value: string): boolean => STRICT_HASH.test(value);
const isWildcard = (value: string): boolean => schemeFree(value) === '*';

// ---------------------------------------------------------------------------------------------
// Parsing and the effective policy

/** One policy, parsed the way browsers parse it. */
export interface ParsedCsp {
  /** The policy text as received. */
  readonly text: string;
  /**
   * Directives in order: lowercase name → its sources in order, duplicates removed
   * (keywords and schemes lowercased, hosts as written). The first occurrence of a
   * directive wins, as in browsers.
   */
  readonly directives: ReadonlyMap<string, readonly string[]>;
  /** Names of directives that appeared more than once (the later ones are ignored). */
  readonly duplicates: readonly string[];
}

/**
 * Parses one serialized policy (CSP3 §2.2.1): directives split on `;`, names
 * lowercased, later duplicates ignored. A header value may hold several policies
 * separated by commas: split it with `splitCspList` first.
 *
 * @example
 * ```ts
 * parseCsp("script-src 'SELF' https://CDN.example; script-src *").directives.get('script-src')
 * // ["'self'", 'https://CDN.example'], and duplicates: ['script-src']
 * ```
 */
export function parseCsp(value: string): ParsedCsp {
  const directives = new Map<string, string[]>();
  const duplicates: string[] = [];
  for (const token of value.split(';')) {
    const parts = token.split(ASCII_WHITESPACE).filter((part) => part !== '');
    const name = parts[0]?.toLowerCase();
    if (name === undefined) continue;
    if (directives.has(name)) {
      if (!duplicates.includes(name)) duplicates.push(name);
      continue;
    }
    const values: string[] = [];
    for (const part of parts.slice(1)) {
      const normalized = normalizeSource(part);
      if (!values.includes(normalized)) values.push(normalized);
    }
    directives.set(name, values);
  }
  return { text: value, directives, duplicates };
}

/** Keywords and schemes are case-insensitive; hosts and paths are kept as written. */
function normalizeSource(value: string): string {
  const lower = value.toLowerCase();
  return KEYWORDS.has(lower) || isUrlScheme(value) ? lower : value;
}

/**
 * Splits a header value into its policies (CSP3 §2.2.2: a comma separates policies,
 * each enforced on its own). Empty policies are dropped.
 *
 * @example
 * ```ts
 * splitCspList("default-src 'self', script-src 'none'") // ["default-src 'self'", "script-src 'none'"]
 * ```
 */
export function splitCspList(headerValue: string): string[] {
  return headerValue
    .split(',')
    .map((policy) => policy.trim())
    .filter((policy) => parseCsp(policy).directives.size > 0);
}

/**
 * The directive that governs `name` in a policy: `script-src-elem`/`-attr` fall back to
 * `script-src`, `style-src-elem`/`-attr` to `style-src`, fetch directives to `default-src`;
 * others (`base-uri`, `form-action`, `frame-ancestors`…) have no fallback.
 *
 * @example
 * ```ts
 * effectiveDirective(parseCsp("default-src 'self'").directives, 'script-src-elem') // 'default-src'
 * ```
 */
export function effectiveDirective(directives: ReadonlyMap<string, readonly string[]>, name: string): string {
  if (directives.has(name)) return name;
  if ((name === 'script-src-attr' || name === 'script-src-elem') && directives.has('script-src')) return 'script-src';
  if ((name === 'style-src-attr' || name === 'style-src-elem') && directives.has('style-src')) return 'style-src';
  if (FETCH_DIRECTIVES.has(name)) return 'default-src';
  return name;
}

/**
 * The script directives as a CSP3 browser enforces them (CSP Evaluator's
 * `getEffectiveCsp` for CSP3): `'unsafe-inline'` is ignored when the list has a nonce or
 * a hash; with `'strict-dynamic'`, host and scheme sources, `'self'` and `'unsafe-inline'`
 * are ignored. Applied to whichever directive governs `script-src`, `-elem` and `-attr`
 * (possibly `default-src`). Other directives are unchanged.
 *
 * @example
 * ```ts
 * effectiveCsp(parseCsp("script-src 'nonce-r4nd0m00' 'strict-dynamic' https: 'unsafe-inline'")).get('script-src')
 * // ["'nonce-r4nd0m00'", "'strict-dynamic'"]
 * ```
 */
export function effectiveCsp(policy: ParsedCsp): ReadonlyMap<string, readonly string[]> {
  const effective = new Map<string, string[]>([...policy.directives].map(([name, values]) => [name, [...values]]));
  for (const name of SCRIPT_DIRECTIVES) {
    const directive = effectiveDirective(effective, name);
    const values = effective.get(directive);
    if (values === undefined) continue;
    const original = policy.directives.get(directive) ?? [];
    if (values.some(isNonce) || values.some(isHash)) remove(values, UNSAFE_INLINE);
    if (original.includes(STRICT_DYNAMIC)) {
      for (const value of original) {
        if (!value.startsWith("'") || value === "'self'" || value === UNSAFE_INLINE) remove(values, value);
      }
    }
  }
  return effective;
}

function remove(values: string[], value: string): void {
  const index = values.indexOf(value);
  if (index !== -1) values.splice(index, 1);
}

/**
 * The nonces of some policies (header values or `<meta>` contents), without the
 * `'nonce-…'` wrapping: what to remember from one response to check the next one's.
 *
 * @example
 * ```ts
 * cspNonces(["script-src 'nonce-abc123XYZ' 'strict-dynamic'"]) // ['abc123XYZ']
 * ```
 */
export function cspNonces(policies: readonly string[]): string[] {
  const nonces: string[] = [];
  for (const policy of policies.flatMap(splitCspList)) {
    for (const values of parseCsp(policy).directives.values()) {
      for (const value of values) {
        const nonce = ANY_NONCE.exec(value)?.[1];
        if (nonce !== undefined && !nonces.includes(nonce)) nonces.push(nonce);
      }
    }
  }
  return nonces;
}

// ---------------------------------------------------------------------------------------------
// Checks on one policy

/** One problem of one policy, before it becomes a `Finding`. */
export interface CspIssue {
  readonly ruleId: string;
  readonly severity: Severity;
  /** The directive it is about, as the policy names it (the effective one, e.g. `default-src`). */
  readonly directive: string;
  /** The source it is about, if any. */
  readonly value?: string;
  readonly message: string;
}

/** A policy with its effective form, for checks and for comparing policies. */
interface PolicyView {
  readonly parsed: ParsedCsp;
  readonly effective: ReadonlyMap<string, readonly string[]>;
}

/**
 * An issue, and whether it still holds when the page has other policies too: a
 * weakness is real only if every policy has it (CSP3 enforces all of them), while a
 * mistake (syntax, a short nonce) is one whatever the other policies say.
 */
interface PolicyIssue extends CspIssue {
  readonly holdsWith?: (others: readonly PolicyView[]) => boolean;
}

interface CheckContext {
  readonly https: boolean;
}

/**
 * CSP Evaluator's checks, and ours that look at one policy alone, on one parsed policy.
 * Page-level checks (missing policy, Report-Only only, nonce reuse, the HTML) are in
 * `analyzeCsp`.
 *
 * @example
 * ```ts
 * evaluateCsp(parseCsp("script-src 'unsafe-inline'")).map((issue) => issue.ruleId)
 * // ['csp-unsafe-inline', 'csp-missing-object-src', …]
 * ```
 */
export function evaluateCsp(policy: ParsedCsp, context: { readonly https?: boolean } = {}): CspIssue[] {
  return policyIssues(view(policy), { https: context.https ?? false }).map(({ holdsWith: _holdsWith, ...issue }) => issue);
}

function view(parsed: ParsedCsp): PolicyView {
  return { parsed, effective: effectiveCsp(parsed) };
}

function policyIssues(policy: PolicyView, context: CheckContext): PolicyIssue[] {
  const { parsed, effective } = policy;
  const issues: PolicyIssue[] = [
    // CSP Evaluator's DEFAULT_CHECKS, on the effective policy.
    ...checkScriptUnsafeInline(effective),
    ...checkScriptUnsafeEval(effective),
    ...checkPlainUrlSchemes(effective),
    ...checkWildcards(effective),
    ...checkMissingDirectives(effective),
    ...checkScriptAllowlistBypass(effective),
    ...checkObjectAllowlistBypass(effective),
    ...checkIpSource(effective),
    ...checkNonces(effective),
    ...checkSrcHttp(effective),
    ...checkDeprecatedDirectives(effective),
    // Syntax: on the policy as written. (CSP Evaluator runs these on the effective
    // policy, where 'strict-dynamic' has already removed unquoted words from script-src,
    // so it misses `script-src 'nonce-…' 'strict-dynamic' object-src 'none'`.)
    ...checkUnknownDirectives(parsed.directives),
    ...checkMissingSemicolon(parsed.directives),
    ...checkInvalidKeywords(parsed.directives),
    // CSP Evaluator's STRICTCSP_CHECKS, on the policy as written.
    ...checkStrictDynamic(parsed.directives),
    ...checkStrictDynamicNotStandalone(parsed.directives),
    ...checkUnsafeInlineFallback(parsed.directives),
    ...checkAllowlistFallback(parsed.directives),
    ...checkTrustedTypes(parsed.directives),
    // Ours.
    ...checkDuplicates(parsed),
    ...checkStyleUnsafeInline(parsed.directives),
    ...checkBroadNavigation(parsed.directives, 'frame-ancestors'),
    ...checkBroadNavigation(parsed.directives, 'form-action'),
  ];
  if (context.https) issues.push(...checkCleartextSchemes(effective, issues));
  return issues;
}

function issue(ruleId: string, directive: string, message: string, value?: string, severity?: Severity, holdsWith?: PolicyIssue['holdsWith']): PolicyIssue {
  const ruleSeverity = RULE_SEVERITY.get(ruleId);
  if (ruleSeverity === undefined) throw new TypeError(`unknown CSP rule ${ruleId}`);
  return {
    ruleId,
    severity: severity ?? ruleSeverity,
    directive,
    ...(value === undefined ? {} : { value }),
    message,
    ...(holdsWith === undefined ? {} : { holdsWith }),
  };
}

type Directives = ReadonlyMap<string, readonly string[]>;

/** The distinct directives that govern `names`, each with the names it governs. */
function governing(directives: Directives, names: readonly string[]): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const name of names) {
    const directive = effectiveDirective(directives, name);
    result.set(directive, [...(result.get(directive) ?? []), name]);
  }
  return result;
}

/** ` (no script-src, so default-src applies)` when the policy falls back to default-src. */
function fallbackNote(directive: string, family: 'script-src' | 'style-src'): string {
  return directive === 'default-src' ? ` (no ${family}, so default-src applies)` : '';
}

/** The weakness holds for the page if, for one of `names`, every other policy allows `token` too. */
function allowedByAll(names: readonly string[], token: string): PolicyIssue['holdsWith'] {
  return (others) => names.some((name) => others.every((other) => allows(other, name, token)));
}

function checkScriptUnsafeInline(effective: Directives): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const [directive, names] of governing(effective, SCRIPT_DIRECTIVES)) {
    const values = effective.get(directive) ?? [];
    const where = `${directive}${fallbackNote(directive, 'script-src')}`;
    if (values.includes(UNSAFE_INLINE)) {
      issues.push(issue('csp-unsafe-inline', directive, `${where} allows 'unsafe-inline' with no nonce or hash: any injected inline <script> or event handler (onclick=…) runs.`, UNSAFE_INLINE, undefined, allowedByAll(names, UNSAFE_INLINE)));
    }
    if (values.includes("'unsafe-hashes'")) {
      issues.push(issue('csp-unsafe-hashes', directive, `${where} allows 'unsafe-hashes': inline event handlers and javascript: URLs whose hash is listed run; move them to a script file.`, "'unsafe-hashes'", undefined, allowedByAll(names, "'unsafe-hashes'")));
    }
  }
  return issues;
}

function checkScriptUnsafeEval(effective: Directives): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const [directive, names] of governing(effective, SCRIPT_DIRECTIVES)) {
    if (!(effective.get(directive) ?? []).includes("'unsafe-eval'")) continue;
    issues.push(issue('csp-unsafe-eval', directive, `${directive}${fallbackNote(directive, 'script-src')} allows 'unsafe-eval': strings passed to eval(), new Function() or setTimeout() run as code.`, "'unsafe-eval'", undefined, allowedByAll(names, "'unsafe-eval'")));
  }
  return issues;
}

function checkPlainUrlSchemes(effective: Directives): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const [directive, names] of governing(effective, XSS_DIRECTIVES)) {
    for (const value of effective.get(directive) ?? []) {
      if (!XSS_SCHEMES.includes(value)) continue;
      const what = value === 'data:' ? 'a data: URL, which anyone can write,' : `any ${value.slice(0, -1)} site`;
      issues.push(issue('csp-plain-scheme', directive, `${directive} allows ${value}: ${what} can ${consequence(names)}.`, value, undefined, allowedByAll(names, value)));
    }
  }
  return issues;
}

function checkWildcards(effective: Directives): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const [directive, names] of governing(effective, XSS_DIRECTIVES)) {
    for (const value of effective.get(directive) ?? []) {
      if (!isWildcard(value)) continue;
      issues.push(issue('csp-wildcard', directive, `${directive} allows ${value}: any site can ${consequence(names)}.`, value, undefined, allowedByAll(names, '*')));
    }
  }
  return issues;
}

/** What a source allowed in these directives lets an attacker do. */
function consequence(names: readonly string[]): string {
  if (names.some((name) => name.startsWith('script-src'))) return 'serve scripts this page runs';
  if (names.includes('object-src')) return 'serve plugins this page runs';
  return "become the page's <base>, so relative script URLs load from it";
}

function checkMissingDirectives(effective: Directives): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  // An object-src or default-src that is present but empty allows nothing, like 'none'
  // (CSP3 §6.7.2.5). CSP Evaluator reports it as missing; we do not.
  if (!effective.has('object-src') && !effective.has('default-src')) {
    issues.push(issue('csp-missing-object-src', 'object-src', "No object-src and no default-src: <object> and <embed> can load plugins that run script. Set object-src 'none'.", undefined, undefined, (others) => others.every((other) => !other.effective.has('object-src') && !other.effective.has('default-src'))));
  }
  if (!effective.has('script-src') && !effective.has('default-src')) {
    issues.push(issue('csp-missing-script-src', 'script-src', 'No script-src and no default-src: scripts are not restricted at all.', undefined, undefined, (others) => others.every((other) => !other.effective.has('script-src') && !other.effective.has('default-src'))));
  }
  if (needsBaseUri(effective) && !effective.has('base-uri')) {
    issues.push(issue('csp-missing-base-uri', 'base-uri', "The script policy relies on a nonce (or hashes with 'strict-dynamic') but there is no base-uri: an injected <base href> makes relative script URLs load from another site. Set base-uri 'none' (or 'self').", undefined, undefined, (others) => others.every((other) => !other.effective.has('base-uri'))));
  }
  return issues;
}

function scriptValues(directives: Directives, name = 'script-src'): readonly string[] {
  return directives.get(effectiveDirective(directives, name)) ?? [];
}

function needsBaseUri(directives: Directives): boolean {
  const values = scriptValues(directives);
  return values.some(isNonce) || (values.some(isHash) && values.includes(STRICT_DYNAMIC));
}

function checkScriptAllowlistBypass(effective: Directives): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const [directive, names] of governing(effective, ['script-src', 'script-src-elem'])) {
    const values = effective.get(directive) ?? [];
    if (values.includes("'none'")) continue;
    for (const value of values) {
      const holds = allowedByAll(names, value);
      if (value === "'self'") {
        issues.push(issue('csp-self-script', directive, `${directive} allows 'self': a JSONP endpoint, an AngularJS copy or a user-uploaded file on this origin can be used to run script.`, value, undefined, holds));
        continue;
      }
      // Keywords, nonces and hashes; bare schemes; words without a dot are not hosts.
      if (value.startsWith("'") || isUrlScheme(value) || !value.includes('.')) continue;
      const bypass = knownScriptBypass(value, values);
      if (bypass === undefined) {
        issues.push(issue('csp-allowlist-host', directive, `${directive} allows ${value}: no known bypass, but make sure it serves no JSONP endpoint, AngularJS or user uploads.`, value, undefined, holds));
      } else {
        issues.push(issue('csp-allowlist-bypass', directive, `${directive} allows ${value}, and ${bypass.host} is known to host ${bypass.what} (e.g. //${bypass.host}${bypass.path}), which run whatever script an attacker asks for.`, value, undefined, holds));
      }
    }
  }
  return issues;
}

function knownScriptBypass(value: string, values: readonly string[]): { host: string; path: string; what: string } | undefined {
  const url = `//${schemeFree(value)}`;
  const angular = matchWildcardUrls(url, parsedList('angular'));
  let jsonp = matchWildcardUrls(url, parsedList('jsonp'));
  // Some JSONP-like endpoints only run arbitrary code through eval().
  if (jsonp && JSONP_NEEDS_EVAL.includes(jsonp.hostname) && !values.includes("'unsafe-eval'")) jsonp = undefined;
  if (jsonp && angular) return { host: angular.hostname, path: angular.pathname, what: 'JSONP endpoints and AngularJS' };
  if (angular) return { host: angular.hostname, path: angular.pathname, what: 'AngularJS' };
  if (jsonp) return { host: jsonp.hostname, path: jsonp.pathname, what: 'JSONP endpoints' };
  return undefined;
}

function checkObjectAllowlistBypass(effective: Directives): PolicyIssue[] {
  const directive = effectiveDirective(effective, 'object-src');
  const values = effective.get(directive) ?? [];
  const pluginTypes = effective.get('plugin-types');
  if (pluginTypes && !pluginTypes.includes('application/x-shockwave-flash')) return [];
  const issues: PolicyIssue[] = [];
  for (const value of values) {
    if (value === "'none'") return [];
    const holds = allowedByAll(['object-src'], value);
    const flash = matchWildcardUrls(`//${schemeFree(value)}`, parsedList('flash'));
    if (flash) {
      issues.push(issue('csp-object-bypass', directive, `${directive} allows ${value}, and ${flash.hostname} is known to host Flash files (//${flash.hostname}${flash.pathname}) that run caller-supplied script.`, value, undefined, holds));
    } else if (directive === 'object-src') {
      issues.push(issue('csp-object-allowlist', directive, `object-src allows ${value}: can it be 'none' only?`, value, undefined, holds));
    }
  }
  return issues;
}

function checkIpSource(effective: Directives): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const [directive, values] of effective) {
    // CSP Evaluator also reads group names (report-to 1234) as addresses; we skip lists of non-sources.
    if (NOT_SOURCE_LISTS.has(directive)) continue;
    for (const value of values) {
      const host = hostOf(value);
      if (!looksLikeIpAddress(host)) continue;
      const message =
        host === '127.0.0.1'
          ? `${directive} allows ${value}, the local machine: remove it in production.`
          : `${directive} has an IP address as a source (${value}): it matches only URLs written with that address, never a host name.`;
      issues.push(issue('csp-ip-source', directive, message, value));
    }
  }
  return issues;
}

function looksLikeIpAddress(host: string): boolean {
  return (host.startsWith('[') && host.endsWith(']')) || /^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/.test(host);
}

function checkNonces(effective: Directives): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const [directive, values] of effective) {
    for (const value of values) {
      const nonce = ANY_NONCE.exec(value)?.[1];
      if (nonce === undefined) continue;
      if (nonce.length < 8) issues.push(issue('csp-nonce-length', directive, `${directive} has a ${nonce.length}-character nonce (${value}): nonces need at least 8 random characters (rampart uses 22).`, value));
      if (!isNonce(value)) issues.push(issue('csp-nonce-charset', directive, `${directive} has a nonce with characters outside base64 (${value}).`, value));
    }
  }
  return issues;
}

function checkSrcHttp(effective: Directives): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const [directive, values] of effective) {
    for (const value of values) {
      if (!value.startsWith('http://')) continue;
      const message = directive === 'report-uri' ? `report-uri sends violation reports over plain HTTP (${value}): use https://.` : `${directive} allows ${value} over plain HTTP: allow only resources downloaded over HTTPS.`;
      issues.push(issue('csp-http-source', directive, message, value));
    }
  }
  return issues;
}

function checkDeprecatedDirectives(effective: Directives): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const directive of effective.keys()) {
    const replacement = DEPRECATED_DIRECTIVES[directive];
    if (replacement !== undefined) issues.push(issue('csp-deprecated-directive', directive, `${replacement}.`));
  }
  return issues;
}

function checkUnknownDirectives(directives: Directives): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const directive of directives.keys()) {
    if (KNOWN_DIRECTIVES.has(directive)) continue;
    const message = directive.endsWith(':') ? `"${directive}": CSP directives do not end with a colon, so browsers ignore this one.` : `"${directive}" is not a CSP directive: browsers ignore it.`;
    issues.push(issue('csp-unknown-directive', directive, message));
  }
  return issues;
}

function checkMissingSemicolon(directives: Directives): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const [directive, values] of directives) {
    for (const value of values) {
      if (KNOWN_DIRECTIVES.has(value)) issues.push(issue('csp-missing-semicolon', directive, `"${value}" appears as a source of ${directive}: a semicolon is missing before it, so ${value} is not set.`, value));
    }
  }
  return issues;
}

function checkInvalidKeywords(directives: Directives): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const [directive, values] of directives) {
    for (const value of values) {
      // CSP Evaluator misses `require-trusted-types-for script`, which leaves Trusted Types off.
      const unquotedSink = directive === 'require-trusted-types-for' && value === 'script';
      if (unquotedSink || UNQUOTED_KEYWORDS.has(value) || value.startsWith('nonce-') || /^(?:sha256|sha384|sha512)-/.test(value)) {
        issues.push(issue('csp-invalid-keyword', directive, `${directive} has ${value} without single quotes: browsers read it as a host name. Write '${value}'.`, value));
        continue;
      }
      if (!value.startsWith("'") || validQuoted(directive, value)) continue;
      issues.push(issue('csp-invalid-keyword', directive, `${directive} has ${value}, which is not a CSP keyword: browsers drop it.`, value));
    }
  }
  return issues;
}

function validQuoted(directive: string, value: string): boolean {
  if (directive === 'require-trusted-types-for') return value === "'script'";
  if (directive === 'trusted-types') return value === "'allow-duplicates'" || value === "'none'";
  return KEYWORDS.has(value) || isHash(value) || isNonce(value);
}

function checkStrictDynamic(directives: Directives): PolicyIssue[] {
  const directive = effectiveDirective(directives, 'script-src');
  const values = directives.get(directive) ?? [];
  if (!values.some(isAllowlistSource) || values.includes(STRICT_DYNAMIC)) return [];
  const allowlist = values.filter(isAllowlistSource).join(' ');
  return [
    issue('csp-strict-dynamic-missing', directive, `${directive} is an allowlist (${allowlist}) without 'strict-dynamic': allowlists can usually be bypassed. Use a nonce with 'strict-dynamic'.`, undefined, undefined, (others) =>
      others.every((other) => {
        const otherValues = other.parsed.directives.get(effectiveDirective(other.parsed.directives, 'script-src'));
        return otherValues === undefined || (otherValues.some(isAllowlistSource) && !otherValues.includes(STRICT_DYNAMIC));
      }),
    ),
  ];
}

const isAllowlistSource = (value: string): boolean => !value.startsWith("'");

function checkStrictDynamicNotStandalone(directives: Directives): PolicyIssue[] {
  const directive = effectiveDirective(directives, 'script-src');
  const values = directives.get(directive) ?? [];
  if (!values.includes(STRICT_DYNAMIC) || values.some(isNonce) || values.some(isHash)) return [];
  return [issue('csp-strict-dynamic-alone', directive, `${directive} has 'strict-dynamic' but no nonce or hash: every script is blocked.`)];
}

function checkUnsafeInlineFallback(directives: Directives): PolicyIssue[] {
  const directive = effectiveDirective(directives, 'script-src');
  const values = directives.get(directive) ?? [];
  if (!(values.some(isNonce) || values.some(isHash)) || values.includes(UNSAFE_INLINE)) return [];
  return [issue('csp-unsafe-inline-fallback', directive, `${directive} uses a nonce or hash without 'unsafe-inline' as a fallback: browsers older than CSP2 (before 2016) block inline scripts. Nothing to do unless you support them.`)];
}

function checkAllowlistFallback(directives: Directives): PolicyIssue[] {
  const directive = effectiveDirective(directives, 'script-src');
  const values = directives.get(directive) ?? [];
  if (!values.includes(STRICT_DYNAMIC)) return [];
  if (values.some((value) => ['http:', 'https:', '*'].includes(value) || value.includes('.'))) return [];
  return [issue('csp-allowlist-fallback', directive, `${directive} has 'strict-dynamic' without https: as a fallback: browsers older than CSP3 block scripts that scripts load. Nothing to do unless you support them.`)];
}

function checkTrustedTypes(directives: Directives): PolicyIssue[] {
  if ((directives.get('require-trusted-types-for') ?? []).includes("'script'")) return [];
  return [
    issue('csp-no-trusted-types', 'require-trusted-types-for', "No require-trusted-types-for 'script': DOM sinks such as innerHTML accept plain strings, so DOM XSS is not locked down.", undefined, undefined, (others) =>
      others.every((other) => !(other.parsed.directives.get('require-trusted-types-for') ?? []).includes("'script'")),
    ),
  ];
}

function checkDuplicates(parsed: ParsedCsp): PolicyIssue[] {
  return parsed.duplicates.map((directive) => {
    const reporting = directive === 'report-uri' || directive === 'report-to';
    const message = `${directive} appears more than once: browsers apply the first and ignore the others${reporting ? ', so reports go to the first destination only' : ''}.`;
    return issue('csp-duplicate-directive', directive, message, undefined, reporting ? 'low' : undefined);
  });
}

function checkStyleUnsafeInline(directives: Directives): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const [directive, names] of governing(directives, STYLE_DIRECTIVES)) {
    const values = directives.get(directive);
    if (values === undefined || !listAllowsInline(values)) continue;
    issues.push(issue('csp-style-unsafe-inline', directive, `${directive}${fallbackNote(directive, 'style-src')} allows 'unsafe-inline' with no nonce or hash: injected <style> elements and style= attributes apply.`, UNSAFE_INLINE, undefined, allowedByAll(names, UNSAFE_INLINE)));
  }
  return issues;
}

/** `frame-ancestors` or `form-action` allowing any site. */
function checkBroadNavigation(directives: Directives, directive: 'frame-ancestors' | 'form-action'): PolicyIssue[] {
  const broad = (directives.get(directive) ?? []).filter(isBroad);
  if (broad.length === 0) return [];
  const what = directive === 'frame-ancestors' ? 'any site can frame this page (clickjacking), and X-Frame-Options is ignored when frame-ancestors is present' : 'an injected <form> can send what users type to any site';
  const ruleId = directive === 'frame-ancestors' ? 'csp-frame-ancestors-broad' : 'csp-form-action-broad';
  return [
    issue(ruleId, directive, `${directive} allows ${broad.join(' ')}: ${what}.`, broad[0], undefined, (others) =>
      others.every((other) => {
        const values = other.parsed.directives.get(directive);
        return values === undefined || values.some(isBroad);
      }),
    ),
  ];
}

const isBroad = (value: string): boolean => isWildcard(value) || isUrlScheme(value);

/** On HTTPS pages: `http:`, `ws:`, `ftp:` sources (those in script, object and base-uri are csp-plain-scheme already). */
function checkCleartextSchemes(effective: Directives, already: readonly PolicyIssue[]): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const [directive, values] of effective) {
    if (NOT_SOURCE_LISTS.has(directive) || directive === 'report-uri') continue;
    for (const value of values) {
      if (!CLEARTEXT_SCHEMES.includes(value)) continue;
      if (already.some((other) => other.ruleId === 'csp-plain-scheme' && other.directive === directive && other.value === value)) continue;
      const severity = PASSIVE_DIRECTIVES.has(directive) ? 'low' : undefined;
      issues.push(issue('csp-insecure-scheme', directive, `${directive} allows ${value} on an HTTPS page: what it loads can be read or changed on the network.`, value, severity, allowedByAll([directive], value)));
    }
  }
  return issues;
}

// ---------------------------------------------------------------------------------------------
// Sources: what a source list allows

/**
 * Whether the policy allows `token` (a keyword, a scheme, a host source or `*`) for the
 * directive `name`, following the fallbacks. A missing directive allows everything.
 * Approximate for hosts (ports and paths are ignored): it errs towards "allows", so a
 * weakness found in one policy is kept unless another policy clearly blocks it.
 */
function allows(policy: PolicyView, name: string, token: string): boolean {
  const values = policy.effective.get(effectiveDirective(policy.effective, name));
  if (values === undefined) return true;
  if (token === UNSAFE_INLINE) return listAllowsInline(values);
  if (token === "'unsafe-hashes'") return values.includes(token) || listAllowsInline(values);
  if (token.startsWith("'")) return values.includes(token) || (token === "'self'" && values.some(isWildcard));
  if (token === '*') return values.some(isWildcard);
  if (isUrlScheme(token)) {
    if (values.includes(token)) return true;
    if (token === 'https:' && values.includes('http:')) return true;
    return token !== 'data:' && values.some(isWildcard);
  }
  return values.some((value) => isWildcard(value) || value === 'https:' || value === 'http:' || hostCovers(value, token));
}

/** `'unsafe-inline'` counts only without a nonce or hash in the same list (CSP3 §6.7.3.3). */
function listAllowsInline(values: readonly string[]): boolean {
  return values.includes(UNSAFE_INLINE) && !values.some((value) => isNonce(value) || isHash(value));
}

function hostCovers(pattern: string, source: string): boolean {
  if (pattern.startsWith("'") || isUrlScheme(pattern)) return false;
  const wanted = hostOf(source);
  const host = hostOf(pattern);
  if (host.startsWith('*.')) return wanted.endsWith(host.slice(1));
  return host === wanted;
}

/** `https://a.example:8443/x` → `https://a.example:8443/x` without the scheme: `a.example:8443/x`. */
function schemeFree(value: string): string {
  return value.replace(/^\w[+\w.-]*:\/\//i, '').replace(/^\/\//, '');
}

/** The host of a source expression, lowercase (`[::1]` kept in brackets). */
function hostOf(value: string): string {
  const rest = schemeFree(value);
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    return (end === -1 ? rest : rest.slice(0, end + 1)).toLowerCase();
  }
  return (rest.split(/[/?#]/)[0] ?? '').replace(/:[^:]*$/, '').toLowerCase();
}

// CSP Evaluator's matchWildcardUrls: a source (host with an optional `*.` and path)
// against a list of scheme-relative URLs. The URL parser lowercases hosts and
// normalises paths; `*` is swapped for a placeholder because not every URL parser
// accepts it in a host.
const WILDCARD_PLACEHOLDER = 'wildcard_placeholder';
let parsedLists: Record<'jsonp' | 'angular' | 'flash', readonly URL[]> | undefined;

function parsedList(name: 'jsonp' | 'angular' | 'flash'): readonly URL[] {
  parsedLists ??= {
    jsonp: JSONP_URLS.map(withScheme),
    angular: ANGULAR_URLS.map(withScheme),
    flash: FLASH_URLS.map(withScheme),
  };
  return parsedLists[name];
}

function withScheme(url: string): URL {
  return new URL(url.startsWith('//') ? `https:${url}` : url);
}

function matchWildcardUrls(source: string, candidates: readonly URL[]): URL | undefined {
  let url: URL;
  try {
    url = withScheme(source.replace(':*', '').replace('*', WILDCARD_PLACEHOLDER));
  } catch {
    return undefined;
  }
  const host = url.hostname.toLowerCase();
  const hostHasWildcard = host.startsWith(`${WILDCARD_PLACEHOLDER}.`);
  const wildcardFreeHost = host.replace(WILDCARD_PLACEHOLDER, '');
  const path = url.pathname;
  for (const candidate of candidates) {
    if (!candidate.hostname.endsWith(wildcardFreeHost)) continue;
    if (!hostHasWildcard && host !== candidate.hostname) continue;
    // CSP2 §4.2.2.2 path matching: a path ending in / is a prefix, else an exact path.
    if (path !== '/') {
      if (path.endsWith('/') ? !candidate.pathname.startsWith(path) : candidate.pathname !== path) continue;
    }
    return candidate;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The page

/** What `analyzeCsp` needs from one HTML response. */
export interface CspInput {
  /** The URL of the response. */
  readonly url: string;
  /** Whether the page was served over HTTPS. */
  readonly https: boolean;
  /** Every `Content-Security-Policy` header value, in order (a value may hold several policies, comma-separated). */
  readonly headers: readonly string[];
  /** Every `Content-Security-Policy-Report-Only` header value. */
  readonly reportOnly: readonly string[];
  /** The `content` of every `<meta http-equiv="Content-Security-Policy">` of the page. */
  readonly meta: readonly string[];
  /** The exchanges that show these headers. */
  readonly exchanges: readonly number[];
  /** A nonce of another response to the same URL (bare or as `'nonce-…'`), for the static-nonce check; see `cspNonces`. */
  readonly nonceSeenElsewhere?: string;
  /** The page, when its body was read completely: for the nonce-unused and script-without-nonce hints. */
  readonly html?: string;
}

/** Where a policy came from, for evidence. */
interface Delivered {
  readonly policy: PolicyView;
  readonly label: string;
}

/**
 * Analyses the Content-Security-Policy of one HTML response: every header and `<meta>`
 * policy (a load happens only if every policy allows it, CSP3 §1.2), Report-Only when
 * nothing is enforced, and, given the page and a second response's nonce, the nonce.
 *
 * @example
 * ```ts
 * analyzeCsp({
 *   url: 'https://app.example/', https: true, exchanges: [0],
 *   headers: ["default-src 'self'; script-src 'self' https://www.google.com"], reportOnly: [], meta: [],
 * }).map((finding) => finding.ruleId)
 * // ['csp-self-script', 'csp-allowlist-bypass', …]
 * ```
 */
export function analyzeCsp(input: CspInput): Finding[] {
  const page = pageKey(input.url);
  const findings = new Map<string, Finding>();
  const add = (found: CspIssue, evidence: string | undefined): void => {
    const fingerprint = [found.ruleId, page, found.directive, ...(found.value === undefined ? [] : [stableValue(found.value)])].join('|');
    if (findings.has(fingerprint)) return;
    findings.set(fingerprint, {
      ruleId: found.ruleId,
      severity: found.severity,
      message: found.message,
      url: input.url,
      ...(evidence === undefined ? {} : { evidence }),
      exchanges: [...input.exchanges],
      fingerprint,
    });
  };

  const delivered: Delivered[] = [];
  for (const value of input.headers) {
    for (const text of splitCspList(value)) delivered.push({ policy: view(parseCsp(text)), label: 'Content-Security-Policy' });
  }
  for (const text of input.meta) {
    const parsed = parseCsp(text);
    if (parsed.directives.size === 0) continue;
    const forbidden = META_FORBIDDEN.filter((name) => parsed.directives.has(name));
    const label = '<meta http-equiv="Content-Security-Policy">';
    for (const directive of forbidden) {
      add(issue('csp-meta-forbidden-directive', directive, `The <meta> policy sets ${directive}, which browsers ignore in <meta>: send the policy as a header.`), evidenceFor(label, parsed.text, directive));
    }
    const directives = new Map([...parsed.directives].filter(([name]) => !META_FORBIDDEN.includes(name)));
    delivered.push({ policy: view({ text: parsed.text, directives, duplicates: parsed.duplicates }), label });
  }

  if (delivered.length === 0) {
    const reportOnly = input.reportOnly.flatMap(splitCspList);
    if (reportOnly.length > 0) {
      add(issue('csp-report-only-only', 'content-security-policy-report-only', 'Only Content-Security-Policy-Report-Only is sent: the policy reports violations but blocks nothing.'), truncate(`Content-Security-Policy-Report-Only: ${reportOnly.join(', ')}`));
    } else {
      add(issue('csp-missing', 'content-security-policy', `${input.url} sends no Content-Security-Policy (header or <meta>).`), undefined);
    }
    return [...findings.values()];
  }

  const context: CheckContext = { https: input.https };
  for (const [index, { policy, label }] of delivered.entries()) {
    const others = delivered.filter((_, otherIndex) => otherIndex !== index).map((other) => other.policy);
    for (const found of policyIssues(policy, context)) {
      if (found.holdsWith && others.length > 0 && !found.holdsWith(others)) continue;
      add(found, evidenceFor(label, policy.parsed.text, found.directive));
    }
  }

  for (const [found, evidence] of pageIssues(input, delivered)) add(found, evidence);
  return [...findings.values()];
}

/** Checks of the whole set of policies, the nonce across responses, and the page. */
function pageIssues(input: CspInput, delivered: readonly Delivered[]): [CspIssue, string | undefined][] {
  const results: [CspIssue, string | undefined][] = [];
  const headerPolicies = delivered.filter((entry) => entry.label === 'Content-Security-Policy');
  const has = (directive: string, among: readonly Delivered[] = delivered): Delivered | undefined => among.find((entry) => entry.policy.parsed.directives.has(directive));
  const first = delivered[0]!;
  const firstEvidence = evidenceFor(first.label, first.policy.parsed.text, undefined);

  if (!has('frame-ancestors', headerPolicies)) {
    results.push([issue('csp-frame-ancestors-missing', 'frame-ancestors', "No policy sets frame-ancestors (it only works in a header): framing is limited by X-Frame-Options alone, if at all. Set frame-ancestors 'none' or 'self'."), firstEvidence]);
  }
  if (!has('form-action')) {
    // A page whose policy loads and runs nothing (`default-src 'none'`, the usual error or
    // API response) and that has no form itself: an advice, not a weakness.
    const locked = delivered.some((entry) => entry.policy.parsed.directives.get('default-src')?.join(' ') === "'none'" && !entry.policy.parsed.directives.has('script-src'));
    const noForm = input.html !== undefined && !/<form[\s>]/i.test(input.html);
    results.push([
      issue('csp-form-action-missing', 'form-action', "No form-action: an injected <form> can post to any site (form-action does not fall back to default-src). Set form-action 'self'.", undefined, locked && noForm ? 'info' : undefined),
      firstEvidence,
    ]);
  }
  if (input.https && !has('upgrade-insecure-requests')) {
    results.push([issue('csp-upgrade-insecure-requests-missing', 'upgrade-insecure-requests', 'The HTTPS page has no upgrade-insecure-requests: http:// subresource URLs in old content are not upgraded.'), firstEvidence]);
  }
  const reportUri = has('report-uri');
  const reportTo = has('report-to');
  if (!reportUri && !reportTo) {
    results.push([issue('csp-no-reporting', 'report-uri', 'No report-uri or report-to: violations (attacks and breakage) are not reported anywhere.'), firstEvidence]);
  } else if (!reportUri && reportTo) {
    results.push([issue('csp-report-to-only', 'report-to', 'Reports go only to report-to, which only Chromium-based browsers support: add report-uri for the others.'), evidenceFor(reportTo.label, reportTo.policy.parsed.text, 'report-to')]);
  }

  const staticNonce = input.nonceSeenElsewhere?.replace(/^'nonce-(.*)'$/, '$1');
  const token = `'nonce-${staticNonce}'`;
  const reused = staticNonce ? delivered.find((entry) => [...entry.policy.parsed.directives.values()].some((values) => values.includes(token))) : undefined;
  if (reused) {
    const directives = [...reused.policy.parsed.directives].filter(([, values]) => values.includes(token)).map(([name]) => name);
    const message = `${directives.join(' and ')} ${directives.length === 1 ? 'has' : 'have'} the same nonce ('nonce-${abbreviate(staticNonce!)}') as another response to this URL: a nonce must be new on every response, or an attacker who reads it once can run any script.`;
    results.push([issue('csp-static-nonce', directives[0]!, message, token), evidenceFor(reused.label, reused.policy.parsed.text, directives[0])]);
  }

  if (input.html !== undefined) results.push(...scriptHints(input.html, delivered));
  return results;
}

/** Scripts that the policies block: a nonce the page never prints, or scripts without it. */
function scriptHints(html: string, delivered: readonly Delivered[]): [CspIssue, string | undefined][] {
  const scriptLists = delivered.map((entry) => ({ entry, directive: effectiveDirective(entry.policy.effective, 'script-src-elem') }));
  const nonceLists = scriptLists.filter(({ entry, directive }) => (entry.policy.effective.get(directive) ?? []).some(isNonce));
  const tags = scanTags(html);
  const scripts = tags.filter((tag) => tag.name === 'script' && isExecutableScript(tag.attributes.get('type')));
  if (scripts.length === 0) return [];

  if (nonceLists.length > 0) {
    const policyNonces = new Set(nonceLists.flatMap(({ entry, directive }) => (entry.policy.effective.get(directive) ?? []).filter(isNonce).map((value) => value.slice(7, -1))));
    const used = tags.some((tag) => policyNonces.has(tag.attributes.get('nonce') ?? ''));
    if (!used) {
      const { entry, directive } = nonceLists[0]!;
      return [[issue('csp-nonce-unused', directive, `${directive} has a nonce, but none of the page's ${scripts.length} <script> elements carries it: the templates do not print the nonce, so these scripts are blocked.`), evidenceFor(entry.label, entry.policy.parsed.text, directive)]];
    }
  }

  const blocked = scripts.filter((script) =>
    scriptLists.some(({ entry, directive }) => {
      const values = entry.policy.effective.get(directive);
      return values !== undefined && blocksScript(values, script.attributes);
    }),
  );
  if (blocked.length === 0) return [];
  const inline = blocked.filter((script) => !script.attributes.has('src')).length;
  const { entry, directive } = scriptLists.find(({ entry: candidate, directive: name }) => {
    const values = candidate.policy.effective.get(name);
    return values !== undefined && blocksScript(values, blocked[0]!.attributes);
  })!;
  const firstSource = blocked[0]!.attributes.get('src');
  const example = firstSource === undefined ? 'an inline <script>' : `<script src="${abbreviate(firstSource, 80)}">`;
  return [[issue('csp-script-without-nonce', directive, `${blocked.length} <script> element${blocked.length === 1 ? '' : 's'} (${inline} inline) ${blocked.length === 1 ? 'has' : 'have'} no nonce that ${directive} accepts, and nothing else in it allows ${blocked.length === 1 ? 'it' : 'them'} (first: ${example}): browsers block ${blocked.length === 1 ? 'it' : 'them'}.`), evidenceFor(entry.label, entry.policy.parsed.text, directive)]];
}

/** Classic and module scripts, import maps: what CSP governs (data blocks like JSON are not). */
function isExecutableScript(type: string | undefined): boolean {
  const essence = (type ?? '').split(';')[0]!.trim().toLowerCase();
  return essence === '' || essence === 'module' || essence === 'importmap' || /^(?:text|application)\/(?:x-)?(?:javascript|ecmascript)$|^text\/(?:jscript|livescript|javascript1\.[0-5])$/.test(essence);
}

/**
 * Whether an effective script-src-elem list blocks this parser-inserted script. Hashes
 * are not computed: a list with hashes is assumed to allow inline scripts and scripts
 * with `integrity`.
 */
function blocksScript(values: readonly string[], attributes: ReadonlyMap<string, string>): boolean {
  const nonce = attributes.get('nonce');
  if (nonce !== undefined && values.includes(`'nonce-${nonce}'`)) return false;
  const hashes = values.some(isHash);
  if (!attributes.has('src')) return !values.includes(UNSAFE_INLINE) && !hashes;
  if (hashes && attributes.has('integrity')) return false;
  // Any remaining host, scheme, 'self' or '*' may allow it (not checked against the URL).
  return !values.some((value) => !value.startsWith("'") || value === "'self'");
}

// ---------------------------------------------------------------------------------------------
// Evidence and fingerprints

/** Origin and path, without the query: where a page-level finding is. */
function pageKey(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url;
  }
}

/** Nonces change on every response: fingerprints must not. */
function stableValue(value: string): string {
  return ANY_NONCE.test(value) ? "'nonce-…'" : value.toLowerCase();
}

const EVIDENCE_LIMIT = 300;

/** The policy as delivered; when long, the directive the finding is about. */
function evidenceFor(label: string, text: string, directive: string | undefined): string {
  const whole = label.startsWith('<meta') ? `<meta http-equiv="Content-Security-Policy" content="${text}">` : `${label}: ${text}`;
  if (whole.length <= EVIDENCE_LIMIT || directive === undefined) return truncate(whole);
  const escaped = directive.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`(?:^|;)\\s*(${escaped}(?:[\\t\\n\\f\\r ][^;]*)?)(?:;|$)`, 'i').exec(text);
  if (!match?.[1]) return truncate(whole);
  return truncate(`${label}: …${match[1].trim()}…`);
}

function truncate(text: string): string {
  return text.length > EVIDENCE_LIMIT ? `${text.slice(0, EVIDENCE_LIMIT - 1)}…` : text;
}

function abbreviate(text: string, limit = 12): string {
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}
