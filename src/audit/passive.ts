/**
 * Passive checks: what every response of the crawl says about the seed's practices,
 * without sending anything of our own. Headers on every HTML response (error pages
 * included), every cookie seen, POST forms without a CSRF token, HTTPS and HSTS, debug
 * pages and version leaks. Pure functions of recorded exchanges. (CSP has its own
 * module, `csp.ts`.)
 */

import { decodeReferences, scanForms, scanTags } from './html-scan.ts';
import type { Exchange, Finding, Rule, Severity } from './types.ts';

const TALISMAN = 'Flask-Talisman';

/** The rules of this module. */
export const PASSIVE_RULES: readonly Rule[] = [
  // Headers (practice 5)
  rule('xfo-missing', 'headers', 'medium', 'No X-Frame-Options header and no CSP frame-ancestors: the page can be framed by any site (clickjacking).', 1021, `${TALISMAN}(app, frame_options='DENY')`, "on by default: X-Frame-Options: DENY and CSP frame-ancestors 'none'"),
  rule('xfo-allow-from', 'headers', 'medium', 'X-Frame-Options ALLOW-FROM is obsolete: browsers ignore it, so the page can be framed by any site.', 1021, "Talisman(app, frame_options='DENY') and a CSP frame-ancestors list", "headers: { contentSecurityPolicy: { set: { 'frame-ancestors': [\"'self'\", 'https://partner.example'] } } }"),
  rule('xfo-invalid', 'headers', 'medium', 'X-Frame-Options has a value browsers do not understand (only DENY and SAMEORIGIN work).', 1021, "Talisman(app, frame_options='DENY')", "headers: { xFrameOptions: 'DENY' } (the default)"),
  rule('nosniff-missing', 'headers', 'low', 'X-Content-Type-Options: nosniff is missing: browsers may guess a script or page out of another type.', 693, 'Talisman sets it (content_security_policy aside); or response.headers["X-Content-Type-Options"] = "nosniff" in after_request', 'on by default'),
  rule('referrer-policy-missing', 'headers', 'low', 'No Referrer-Policy: full URLs (with their query strings) may leak to other sites in Referer.', 200, "Talisman(app, referrer_policy='strict-origin-when-cross-origin')", 'on by default (strict-origin-when-cross-origin)'),
  rule('referrer-policy-unsafe', 'headers', 'low', 'Referrer-Policy sends full URLs to other sites.', 200, "Talisman(app, referrer_policy='strict-origin-when-cross-origin')", "headers: { referrerPolicy: 'strict-origin-when-cross-origin' } (the default)"),
  rule('xpcdp-missing', 'headers', 'low', 'X-Permitted-Cross-Domain-Policies is not "none": Flash and PDF readers may load cross-domain policy files from this site.', 693, 'response.headers["X-Permitted-Cross-Domain-Policies"] = "none" in an after_request hook', 'on by default (none)'),
  rule('x-download-options-missing', 'headers', 'info', 'X-Download-Options: noopen is missing (old Internet Explorer opens downloads in the site\'s context).', 693, 'response.headers["X-Download-Options"] = "noopen" in an after_request hook', 'on by default (noopen)'),
  rule('x-xss-protection-enabled', 'headers', 'low', 'X-XSS-Protection enables the retired XSS auditor, whose filtering could be abused to leak data; today\'s value is 0.', 693, 'response.headers["X-XSS-Protection"] = "0" (Talisman 1.0 sends "1; mode=block": override it)', 'on by default (0)'),
  rule('x-xss-protection-missing', 'headers', 'info', 'X-XSS-Protection: 0 is not set (older browsers may still run the retired XSS auditor).', 693, 'response.headers["X-XSS-Protection"] = "0"', 'on by default (0)'),
  rule('hpkp-present', 'headers', 'low', 'Public-Key-Pins is retired: browsers ignore it, and where honoured it could lock users out of the site.', 693, 'remove the Public-Key-Pins header', 'rampart removes it from every response'),
  rule('permissions-policy-missing', 'headers', 'info', 'No Permissions-Policy: powerful features (camera, microphone, geolocation…) are not denied by default.', 693, 'Talisman(app, permissions_policy={...}) or an after_request header', 'on by default (every powerful feature denied)'),
  rule('coop-missing', 'headers', 'info', 'No Cross-Origin-Opener-Policy: other sites that open this page keep a handle on its window.', 693, 'response.headers["Cross-Origin-Opener-Policy"] = "same-origin"', 'on by default (same-origin)'),
  rule('corp-missing', 'headers', 'info', 'No Cross-Origin-Resource-Policy: other sites can embed this response (Spectre-class leaks).', 693, 'response.headers["Cross-Origin-Resource-Policy"] = "same-origin"', 'on by default (same-origin)'),
  // HTTPS (practice 4)
  rule('https-unavailable', 'https', 'high', 'The site is not served over HTTPS: everything, cookies included, crosses the network in clear text.', 319, 'serve the app behind TLS and set SESSION_COOKIE_SECURE = True', 'serve behind TLS; rampart({ origin: "https://…" }) redirects HTTP and sets HSTS'),
  rule('tls-invalid-certificate', 'https', 'high', 'The HTTPS certificate does not verify.', 295, 'install a valid certificate (for private CAs, audit with --ca-file)', 'install a valid certificate (for private CAs, audit with --ca-file)'),
  rule('http-no-redirect', 'https', 'high', 'Plain HTTP serves the site instead of redirecting to HTTPS.', 319, 'Talisman(app, force_https=True) (the default)', 'on by default in production (httpsRedirect)'),
  rule('http-redirect-not-https', 'https', 'high', 'Plain HTTP redirects, but not to HTTPS.', 319, 'Talisman(app, force_https=True)', 'on by default in production (httpsRedirect)'),
  rule('http-redirect-other-host', 'https', 'low', 'Plain HTTP redirects to HTTPS on another host first (HSTS for this host is never set).', 319, 'redirect http://host to https://host (same host) first', 'rampart redirects to the same host among its origins'),
  rule('hsts-missing', 'https', 'medium', 'No Strict-Transport-Security on HTTPS: a network attacker can downgrade the first request of every visit.', 319, 'Talisman(app, strict_transport_security=True, strict_transport_security_max_age=63072000)', 'on by default over HTTPS (max-age=63072000; includeSubDomains)'),
  rule('hsts-invalid', 'https', 'medium', 'Strict-Transport-Security is malformed, so browsers ignore it.', 319, 'Strict-Transport-Security: max-age=63072000; includeSubDomains', 'on by default'),
  rule('hsts-disabled', 'https', 'medium', 'Strict-Transport-Security has max-age=0: it turns HSTS off.', 319, 'strict_transport_security_max_age=63072000', 'on by default'),
  rule('hsts-short', 'https', 'low', 'Strict-Transport-Security max-age is under six months.', 319, 'strict_transport_security_max_age=63072000', 'on by default (two years)'),
  rule('hsts-no-subdomains', 'https', 'info', 'Strict-Transport-Security does not include subdomains.', 319, 'strict_transport_security_include_subdomains=True (the default)', 'on by default (includeSubDomains)'),
  // Cookies (practice 4)
  rule('cookie-no-secure', 'cookies', 'medium', 'A cookie without Secure: it is also sent over plain HTTP.', 614, 'SESSION_COOKIE_SECURE = True; response.set_cookie(..., secure=True)', 'every cookie rampart sets is Secure; cookies: { outgoing: "enforce" } adds it to yours'),
  rule('cookie-session-no-secure', 'cookies', 'high', 'A session cookie without Secure: a network attacker can steal the session.', 614, 'SESSION_COOKIE_SECURE = True', 'sessions are __Host- cookies, always Secure'),
  rule('cookie-session-no-httponly', 'cookies', 'high', 'A session cookie without HttpOnly: any XSS can read and steal it.', 1004, 'SESSION_COOKIE_HTTPONLY = True (the default)', 'sessions are HttpOnly; cookies: { outgoing: "enforce" } adds it to yours'),
  rule('cookie-no-samesite', 'cookies', 'low', 'A cookie without SameSite: its behaviour on cross-site requests depends on the browser.', 1275, "SESSION_COOKIE_SAMESITE = 'Lax'; set_cookie(..., samesite='Lax')", 'every cookie rampart sets is SameSite=Lax'),
  rule('cookie-session-no-samesite', 'cookies', 'medium', 'A session cookie without SameSite=Lax or Strict: browsers without Lax-by-default send it on cross-site requests.', 1275, "SESSION_COOKIE_SAMESITE = 'Lax'", 'sessions are SameSite=Lax'),
  rule('cookie-samesite-none', 'cookies', 'medium', 'A session cookie with SameSite=None: it goes with every cross-site request.', 1275, "SESSION_COOKIE_SAMESITE = 'Lax'", 'sessions are SameSite=Lax (None is refused)'),
  rule('cookie-samesite-invalid', 'cookies', 'medium', 'A cookie with an invalid SameSite (not Lax, Strict or None, or None without Secure): browsers treat it unpredictably.', 1275, "set_cookie(..., samesite='Lax', secure=True)", 'every cookie rampart sets is SameSite=Lax'),
  rule('cookie-prefix-broken', 'cookies', 'medium', 'A __Host-/__Secure- cookie that breaks its prefix rules: browsers refuse it.', 614, '__Host- cookies need Secure, Path=/ and no Domain', 'the types refuse a __Host- cookie that cannot be one'),
  rule('cookie-session-no-prefix', 'cookies', 'info', 'A session cookie without the __Host- prefix: a sibling subdomain can set or shadow it.', 614, "SESSION_COOKIE_NAME = '__Host-session' (with SESSION_COOKIE_SECURE and SESSION_COOKIE_PATH = '/')", 'sessions are __Host-session'),
  // CSRF (practice 2)
  rule('form-no-csrf-token', 'csrf', 'high', 'A POST form without a CSRF token field.', 352, "CSRFProtect(app) and {{ csrf_token() }} in every form (Flask-WTF)", 'on by default: html templates add the token to every POST form'),
  rule('csrf-token-short', 'csrf', 'medium', 'A CSRF token field whose value is too short to be unguessable (under 16 characters).', 352, 'Flask-WTF tokens are long enough; do not roll your own', 'tokens are 50 characters of HMAC output'),
  // Disclosure
  rule('debug-page', 'disclosure', 'critical', 'A debug page: an interactive debugger or a stack trace is shown to visitors (the Werkzeug debugger runs code).', 489, 'never run with debug=True in production (FLASK_DEBUG unset)', 'rampart answers handler errors with a plain 500, logged, never the stack'),
  rule('server-version', 'disclosure', 'info', 'The Server header names the software and its version.', 200, 'run behind a proxy that drops the version (nginx server_tokens off)', 'set by your server or proxy, not by rampart'),
  rule('x-powered-by', 'disclosure', 'info', 'X-Powered-By names the framework.', 200, 'do not set it', 'rampart removes it'),
];

function rule(id: string, practice: Rule['practice'], severity: Severity, title: string, cwe: number, flask: string, rampart: string): Rule {
  return { id, practice, severity, title, cwe, fix: { flask, rampart } };
}

const RULES_BY_ID = new Map(PASSIVE_RULES.map((entry) => [entry.id, entry]));

function finding(ruleId: string, exchange: Exchange, message: string, evidence?: string, location = pageKey(exchange.request.url), severity?: Severity): Finding {
  const known = RULES_BY_ID.get(ruleId);
  if (!known) throw new TypeError(`unknown rule ${ruleId}`);
  return {
    ruleId,
    severity: severity ?? known.severity,
    message,
    url: exchange.request.url,
    ...(evidence === undefined ? {} : { evidence: evidence.length > 300 ? `${evidence.slice(0, 300)}…` : evidence }),
    exchanges: [exchange.index],
    fingerprint: `${ruleId}|${location}`,
  };
}

/** Origin and path, without the query: where a page-level finding is. */
function pageKey(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url;
  }
}

/** All values of a response header, in order. */
export function headerValues(exchange: Exchange, name: string): string[] {
  return exchange.response.headers.filter(([key]) => key === name).map(([, value]) => value);
}

/**
 * The MIME type browsers use (Fetch, "extract a MIME type"): the last valid type of all
 * the Content-Type values, commas splitting them too; `undefined` when there is none.
 */
export function contentType(exchange: Exchange): string | undefined {
  let type: string | undefined;
  for (const value of headerValues(exchange, 'content-type')) {
    for (const part of value.split(',')) {
      const essence = part.split(';')[0]!.trim().toLowerCase();
      if (/^[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+$/.test(essence) && essence !== '*/*') type = essence;
    }
  }
  return type;
}

/**
 * The start of a body browsers sniff as HTML when no type is given (MIME Sniffing,
 * "rules for identifying an unknown MIME type"): whitespace, then one of these tags or a
 * comment, then a space or `>`.
 */
const SNIFFED_HTML = /^[\t\n\f\r ]*(?:<!doctype html|<html|<head|<script|<iframe|<h1|<div|<font|<table|<a|<style|<title|<b|<body|<br|<p|<!--)[ >]/i;

/** True for responses browsers render as a document: an HTML type, or no type and a body that starts like HTML. */
export function isHtml(exchange: Exchange): boolean {
  const type = contentType(exchange);
  if (type === undefined) return SNIFFED_HTML.test(exchange.response.body.slice(0, 512));
  return type === 'text/html' || type === 'application/xhtml+xml';
}

/**
 * Header checks on one HTML response (a page or an error page). Findings of the same
 * rule repeat per URL; the report groups them.
 */
export function analyzeHeaders(exchange: Exchange): Finding[] {
  const findings: Finding[] = [];
  const url = exchange.request.url;
  const csp = headerValues(exchange, 'content-security-policy');
  const frameAncestors = csp.some((policy) => /(?:^|;)\s*frame-ancestors\b/i.test(policy));
  const xfo = headerValues(exchange, 'x-frame-options')[0]?.trim();
  if (xfo === undefined) {
    if (!frameAncestors) findings.push(finding('xfo-missing', exchange, `${url} sends neither X-Frame-Options nor CSP frame-ancestors.`));
  } else if (/^allow-from/i.test(xfo)) {
    if (!frameAncestors) findings.push(finding('xfo-allow-from', exchange, `X-Frame-Options: ${xfo} is ignored by browsers.`, xfo));
  } else if (!/^(?:deny|sameorigin)$/i.test(xfo) && !frameAncestors) {
    findings.push(finding('xfo-invalid', exchange, `X-Frame-Options: ${xfo} is not DENY or SAMEORIGIN.`, xfo));
  }
  const nosniff = headerValues(exchange, 'x-content-type-options')[0];
  if (nosniff?.trim().toLowerCase() !== 'nosniff') findings.push(finding('nosniff-missing', exchange, `${url} lacks X-Content-Type-Options: nosniff.`, nosniff));
  const referrer = lastValidReferrerPolicy([...headerValues(exchange, 'referrer-policy'), ...metaValues(exchange, 'referrer')]);
  if (referrer === undefined) findings.push(finding('referrer-policy-missing', exchange, `${url} sends no Referrer-Policy.`));
  else if (['unsafe-url', 'no-referrer-when-downgrade', 'origin-when-cross-origin', 'origin'].includes(referrer)) {
    findings.push(finding('referrer-policy-unsafe', exchange, `Referrer-Policy: ${referrer} sends ${referrer === 'origin' || referrer === 'origin-when-cross-origin' ? 'the origin on every request, HTTP included' : 'full URLs to other sites'}.`, referrer));
  }
  const xpcdp = headerValues(exchange, 'x-permitted-cross-domain-policies')[0];
  if (xpcdp?.trim().toLowerCase() !== 'none') findings.push(finding('xpcdp-missing', exchange, `X-Permitted-Cross-Domain-Policies is ${xpcdp === undefined ? 'missing' : `"${xpcdp}"`} on ${url}.`, xpcdp));
  const download = headerValues(exchange, 'x-download-options')[0];
  if (download?.trim().toLowerCase() !== 'noopen') findings.push(finding('x-download-options-missing', exchange, `X-Download-Options is ${download === undefined ? 'missing' : `"${download}"`} on ${url}.`, download));
  const xss = headerValues(exchange, 'x-xss-protection')[0];
  if (xss === undefined) findings.push(finding('x-xss-protection-missing', exchange, `${url} does not send X-XSS-Protection: 0.`));
  else if (xss.trim() !== '0') findings.push(finding('x-xss-protection-enabled', exchange, `X-XSS-Protection: ${xss} turns the retired XSS auditor on.`, xss));
  for (const name of ['public-key-pins', 'public-key-pins-report-only']) {
    const pins = headerValues(exchange, name)[0];
    if (pins !== undefined) findings.push(finding('hpkp-present', exchange, `${name === 'public-key-pins' ? 'Public-Key-Pins' : 'Public-Key-Pins-Report-Only'} is sent on ${url}.`, pins));
  }
  if (headerValues(exchange, 'permissions-policy').length === 0) findings.push(finding('permissions-policy-missing', exchange, `${url} sends no Permissions-Policy.`));
  if (headerValues(exchange, 'cross-origin-opener-policy').length === 0) findings.push(finding('coop-missing', exchange, `${url} sends no Cross-Origin-Opener-Policy.`));
  if (headerValues(exchange, 'cross-origin-resource-policy').length === 0) findings.push(finding('corp-missing', exchange, `${url} sends no Cross-Origin-Resource-Policy.`));
  return findings;
}

const REFERRER_POLICIES = new Set([
  'no-referrer',
  'no-referrer-when-downgrade',
  'origin',
  'origin-when-cross-origin',
  'same-origin',
  'strict-origin',
  'strict-origin-when-cross-origin',
  'unsafe-url',
]);

/** The policy browsers apply: the last valid token of all the values. */
function lastValidReferrerPolicy(values: readonly string[]): string | undefined {
  let policy: string | undefined;
  for (const value of values) {
    for (const token of value.split(',')) {
      const candidate = token.trim().toLowerCase();
      if (REFERRER_POLICIES.has(candidate)) policy = candidate;
    }
  }
  return policy;
}

function metaValues(exchange: Exchange, name: string): string[] {
  if (!isHtml(exchange)) return [];
  return scanTags(exchange.response.body)
    .filter((tag) => tag.name === 'meta' && tag.attributes.get('name')?.trim().toLowerCase() === name && tag.attributes.has('content'))
    .map((tag) => tag.attributes.get('content')!);
}

/** A parsed `Set-Cookie` line. */
export interface SetCookie {
  readonly name: string;
  readonly value: string;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  /** As sent (case kept), `undefined` when absent. */
  readonly sameSite: string | undefined;
  readonly path: string | undefined;
  readonly domain: string | undefined;
  readonly expired: boolean;
}

/** Parses a `Set-Cookie` value (RFC 6265bis §5.6: attributes are case-insensitive, the last of each wins). */
export function parseSetCookie(line: string): SetCookie | undefined {
  const [pair, ...attributes] = line.split(';');
  const equals = pair!.indexOf('=');
  if (equals === -1) return undefined;
  const name = pair!.slice(0, equals).trim();
  if (name === '') return undefined;
  let secure = false;
  let httpOnly = false;
  let sameSite: string | undefined;
  let path: string | undefined;
  let domain: string | undefined;
  // RFC 6265 §5.3 step 3: Max-Age, when valid, wins over Expires whatever their order.
  let maxAge: number | undefined;
  let expires: number | undefined;
  for (const attribute of attributes) {
    const separator = attribute.indexOf('=');
    const key = (separator === -1 ? attribute : attribute.slice(0, separator)).trim().toLowerCase();
    const value = separator === -1 ? '' : attribute.slice(separator + 1).trim();
    if (key === 'secure') secure = true;
    else if (key === 'httponly') httpOnly = true;
    else if (key === 'samesite') sameSite = value;
    else if (key === 'path') path = value;
    else if (key === 'domain') domain = value;
    else if (key === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value);
    else if (key === 'expires' && !Number.isNaN(Date.parse(value))) expires = Date.parse(value);
  }
  const expired = maxAge !== undefined ? maxAge <= 0 : expires !== undefined && expires < Date.now();
  return { name, value: pair!.slice(equals + 1).trim(), secure, httpOnly, sameSite, path, domain, expired };
}

/**
 * A session-like cookie, by its name (Flask's `session`, `sid`, `auth`, `token`,
 * `remember`, `login`, `jwt`…) or its value (long and random-looking, a JWT, or an
 * itsdangerous-signed payload): not only by the name containing "sess" as Observatory does.
 */
export function isSessionLike(cookie: SetCookie): boolean {
  if (/csrf|xsrf/i.test(cookie.name)) return false;
  if (/sess|sid|auth|token|remember|login|jwt|identity|user/i.test(cookie.name)) return true;
  const value = cookie.value.replace(/^"|"$/g, '');
  if (/^eyJ[\w-]+\.[\w-]*\.[\w-]*/.test(value)) return true;
  if (/^\.?[\w-]{8,}\.[\w-]{4,}\.[\w-]{16,}$/.test(value)) return true;
  return value.length >= 32 && /^[\w\-+/=%.]+$/.test(value) && new Set(value).size >= 16;
}

/** Checks of every cookie set in the crawl, once per cookie name and problem. */
export function analyzeCookies(exchanges: readonly Exchange[]): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const report = (ruleId: string, exchange: Exchange, cookie: SetCookie, message: string, line: string): void => {
    const key = `${ruleId}|${cookie.name}`;
    if (seen.has(key)) return;
    seen.add(key);
    const origin = safeOrigin(exchange.request.url);
    findings.push(finding(ruleId, exchange, message, redactCookie(line), `${origin}|${cookie.name}`));
  };
  for (const exchange of exchanges) {
    for (const line of headerValues(exchange, 'set-cookie')) {
      const cookie = parseSetCookie(line);
      if (!cookie || cookie.expired) continue;
      const session = isSessionLike(cookie);
      const label = `Cookie ${cookie.name}`;
      if (!cookie.secure) report(session ? 'cookie-session-no-secure' : 'cookie-no-secure', exchange, cookie, `${label} is set without Secure.`, line);
      if (session && !cookie.httpOnly) report('cookie-session-no-httponly', exchange, cookie, `${label} looks like a session cookie and is readable by scripts (no HttpOnly).`, line);
      const sameSite = cookie.sameSite?.toLowerCase();
      if (sameSite === undefined) {
        report(session ? 'cookie-session-no-samesite' : 'cookie-no-samesite', exchange, cookie, `${label} has no SameSite attribute.`, line);
      } else if (!['lax', 'strict', 'none'].includes(sameSite) || (sameSite === 'none' && !cookie.secure)) {
        report('cookie-samesite-invalid', exchange, cookie, `${label} has SameSite=${cookie.sameSite}${sameSite === 'none' ? ' without Secure' : ''}.`, line);
      } else if (sameSite === 'none' && session) {
        report('cookie-samesite-none', exchange, cookie, `${label} looks like a session cookie and has SameSite=None.`, line);
      }
      if (cookie.name.startsWith('__Host-') && (!cookie.secure || cookie.path !== '/' || cookie.domain !== undefined)) {
        report('cookie-prefix-broken', exchange, cookie, `${label} has the __Host- prefix without Secure, Path=/ and no Domain.`, line);
      } else if (cookie.name.startsWith('__Secure-') && !cookie.secure) {
        report('cookie-prefix-broken', exchange, cookie, `${label} has the __Secure- prefix without Secure.`, line);
      } else if (session && !cookie.name.startsWith('__Host-')) {
        report('cookie-session-no-prefix', exchange, cookie, `${label} looks like a session cookie without the __Host- prefix.`, line);
      }
    }
  }
  return findings;
}

/** A Set-Cookie line with its value hidden: reports must not carry session secrets. */
function redactCookie(line: string): string {
  const equals = line.indexOf('=');
  const semicolon = line.indexOf(';');
  const end = semicolon === -1 ? line.length : semicolon;
  return `${line.slice(0, equals + 1)}…${line.slice(end)}`;
}

/** Field names frameworks use for CSRF tokens (Flask-WTF, Django, Rails, Laravel, ASP.NET, Express, rampart…). */
export const CSRF_FIELD_NAMES = /^(?:csrf_token|csrfmiddlewaretoken|authenticity_token|_csrf|_csrf_token|__requestverificationtoken|_token|csrf|csrftoken|xsrf|_xsrf|xsrf_token|anticsrf|__csrf_magic|csrf_nonce|form_token|token)$/i;

/** POST forms of an HTML page without a token field (GET forms only read, as the seed says they should). */
export function analyzeForms(exchange: Exchange): Finding[] {
  if (!isHtml(exchange)) return [];
  const findings: Finding[] = [];
  for (const form of scanForms(scanTags(exchange.response.body))) {
    if (form.method !== 'post') continue;
    const action = resolveAction(exchange.request.url, form.action);
    const token = form.fields.find((field) => CSRF_FIELD_NAMES.test(field.name) && (field.type === 'hidden' || field.tag !== 'input'));
    if (!token) {
      findings.push(finding('form-no-csrf-token', exchange, `The POST form to ${action} on ${exchange.request.url} has no CSRF token field.`, `<form method="post" action="${form.action ?? ''}"> fields: ${form.fields.map((field) => field.name).join(', ') || '(none)'}`, `${pageKey(exchange.request.url)}|${pageKey(action)}`));
    } else if (decodeReferences(token.value).length < 16) {
      findings.push(finding('csrf-token-short', exchange, `The token field ${token.name} of the form to ${action} holds ${token.value.length} characters.`, undefined, `${pageKey(exchange.request.url)}|${pageKey(action)}`));
    }
  }
  return findings;
}

function resolveAction(page: string, action: string | undefined): string {
  try {
    return new URL(action ?? '', page).href;
  } catch {
    return page;
  }
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/** Markers of debug pages: the Werkzeug debugger, Python and Node stack traces, framework error pages. */
const DEBUG_MARKERS: readonly RegExp[] = [
  /__debugger__|Werkzeug Debugger|The debugger caught an exception|EVALEX|CONSOLE_MODE/,
  /Traceback \(most recent call last\)/,
  /\bat (?:[\w.<>$]+ )?\(?(?:\/|[A-Z]:\\|file:\/\/)[^\s)]+\.(?:m?js|ts|cjs):\d+:\d+\)?/,
  /Django Version:|You're seeing this error because you have <code>DEBUG = True<\/code>/,
];

/**
 * Express's error page (its `<title>Error: …</title>`, then a `<pre>` with a stack frame).
 * Searched step by step, each step from where the last ended: one regex with two
 * `[\s\S]*` backtracks quadratically (seconds on a few hundred kilobytes).
 */
function expressErrorPage(body: string): number | undefined {
  const title = /<title>Error: [^<]*<\/title>/.exec(body);
  if (title === null) return undefined;
  const pre = body.indexOf('<pre>', title.index + title[0].length);
  if (pre === -1) return undefined;
  const frame = /at [\w.]+ \(/y;
  for (let at = body.indexOf('at ', pre); at !== -1; at = body.indexOf('at ', at + 1)) {
    frame.lastIndex = at;
    if (frame.test(body)) return title.index;
  }
  return undefined;
}

/** Where a debug page shows itself in `body`, or `undefined`. */
export function debugMarker(body: string): number | undefined {
  for (const pattern of DEBUG_MARKERS) {
    const match = pattern.exec(body);
    if (match !== null) return match.index;
  }
  return expressErrorPage(body);
}

/** Debug pages and version leaks, on any response. */
export function analyzeDisclosure(exchange: Exchange): Finding[] {
  const findings: Finding[] = [];
  const body = exchange.response.body;
  const marker = debugMarker(body);
  if (marker !== undefined) {
    findings.push(finding('debug-page', exchange, `${exchange.request.url} (status ${exchange.response.status}) shows a debug page or stack trace.`, excerpt(body, marker)));
  }
  const server = headerValues(exchange, 'server')[0];
  if (server !== undefined && /\d+\.\d+/.test(server)) findings.push(finding('server-version', exchange, `Server: ${server}`, server, safeOrigin(exchange.request.url)));
  const powered = headerValues(exchange, 'x-powered-by')[0];
  if (powered !== undefined) findings.push(finding('x-powered-by', exchange, `X-Powered-By: ${powered}`, powered, safeOrigin(exchange.request.url)));
  return findings;
}

function excerpt(text: string, index: number): string {
  return text.slice(Math.max(0, index - 60), index + 140).replace(/\s+/g, ' ');
}

/** What the crawler learned about transport security. */
export interface TransportFacts {
  /** The HTTP chain from http://host, hop by hop, or `undefined` when HTTP was not reachable (or not asked). */
  readonly http: readonly Exchange[] | undefined;
  /** The HTTPS chain, or `undefined` when HTTPS was not reachable. */
  readonly https: readonly Exchange[] | undefined;
  /** Why HTTPS was not reachable (connection refused, TLS error…). */
  readonly httpsError?: string;
}

/** HTTPS availability, the HTTP→HTTPS redirect, the certificate, and HSTS. */
export function analyzeTransport(facts: TransportFacts): Finding[] {
  const findings: Finding[] = [];
  const https = facts.https;
  const first = https?.[0];
  if (https === undefined || first === undefined) {
    const anchor = facts.http?.[0];
    if (anchor) findings.push(finding('https-unavailable', anchor, `No HTTPS response for ${new URL(anchor.request.url).host}${facts.httpsError ? ` (${facts.httpsError})` : ''}.`, facts.httpsError, safeOrigin(anchor.request.url)));
  } else {
    if (https.some((hop) => hop.tls && !hop.tls.verified)) {
      const bad = https.find((hop) => hop.tls && !hop.tls.verified)!;
      findings.push(finding('tls-invalid-certificate', bad, `The certificate of ${new URL(bad.request.url).host} does not verify${bad.tls?.error ? `: ${bad.tls.error}` : ''}.`, bad.tls?.error, safeOrigin(bad.request.url)));
    }
    findings.push(...hsts(hstsResponse(https)));
  }
  const http = facts.http;
  if (http !== undefined && http.length > 0) {
    const hop = http[0]!;
    const location = headerValues(hop, 'location')[0];
    const redirect = hop.response.status >= 300 && hop.response.status < 400 && location !== undefined;
    const origin = safeOrigin(hop.request.url);
    if (!redirect) {
      findings.push(finding('http-no-redirect', hop, `${hop.request.url} answers ${hop.response.status} over plain HTTP instead of redirecting to HTTPS.`, undefined, origin));
    } else {
      const target = new URL(location, hop.request.url);
      if (target.protocol !== 'https:') {
        const last = http.at(-1)!;
        if (!last.request.url.startsWith('https:')) findings.push(finding('http-redirect-not-https', hop, `${hop.request.url} redirects to ${target.href}, not to HTTPS.`, location, origin));
      } else if (target.hostname !== new URL(hop.request.url).hostname) {
        findings.push(finding('http-redirect-other-host', hop, `${hop.request.url} redirects to another host (${target.host}) first.`, location, origin));
      }
    }
  }
  return findings;
}

/**
 * The response whose HSTS counts: one from the target's own host (HSTS binds the host
 * that sent it, so a redirect to www. or a login host says nothing about this one), the
 * first of them that sends the header, else the first of them.
 */
function hstsResponse(https: readonly Exchange[]): Exchange {
  const host = hostnameOf(https[0]!.request.url);
  const own = https.filter((hop) => hop.request.url.startsWith('https:') && hostnameOf(hop.request.url) === host);
  return own.find((hop) => headerValues(hop, 'strict-transport-security').length > 0) ?? own[0] ?? https[0]!;
}

function hostnameOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

function hsts(exchange: Exchange): Finding[] {
  const origin = safeOrigin(exchange.request.url);
  const values = headerValues(exchange, 'strict-transport-security');
  if (values.length === 0) return [finding('hsts-missing', exchange, `${exchange.request.url} sends no Strict-Transport-Security.`, undefined, origin)];
  const value = values[0]!;
  const directives = new Map<string, string>();
  for (const part of value.split(';')) {
    const [name, ...rest] = part.split('=');
    const key = name!.trim().toLowerCase();
    if (key === '') continue;
    if (directives.has(key)) return [finding('hsts-invalid', exchange, `Strict-Transport-Security repeats ${key}.`, value, origin)];
    directives.set(key, rest.join('=').trim().replace(/^"|"$/g, ''));
  }
  const maxAge = directives.get('max-age');
  if (values.length > 1 || maxAge === undefined || !/^\d+$/.test(maxAge)) {
    return [finding('hsts-invalid', exchange, values.length > 1 ? 'Strict-Transport-Security is sent more than once.' : 'Strict-Transport-Security has no valid max-age.', value, origin)];
  }
  const seconds = Number(maxAge);
  if (seconds === 0) return [finding('hsts-disabled', exchange, 'Strict-Transport-Security: max-age=0 turns HSTS off.', value, origin)];
  const findings: Finding[] = [];
  if (seconds < 15_552_000) findings.push(finding('hsts-short', exchange, `Strict-Transport-Security max-age is ${seconds} seconds (under six months).`, value, origin));
  if (!directives.has('includesubdomains')) findings.push(finding('hsts-no-subdomains', exchange, 'Strict-Transport-Security lacks includeSubDomains.', value, origin));
  return findings;
}
