/**
 * The Observatory-compatible block: MDN HTTP Observatory 1.4.8 (algorithm 4)
 * recomputed from recorded exchanges. Same ten tests, same result strings, pass
 * flags and score modifiers, same score and grade — quirks included, so that a
 * CI job can compare our block with `mdn-http-observatory-scan` output directly
 * (test/audit/observatory.golden.test.ts checks it against the real thing).
 * Where Observatory is too lenient, rampart's own checklist says so; this block
 * does not.
 *
 * Pure: no I/O, no clock unless `now` is left out (cookie expiry).
 *
 * @example
 * ```ts
 * const site = await retrieveSite(new URL('https://example.com/'), {}, counter);
 * const block = observatory(site);
 * if (block) console.log(block.grade, block.score);
 * else console.log(observatoryError(site));
 * ```
 */

import { CookieJar } from './observatory/cookie-jar.ts';
import { cspTest } from './observatory/csp.ts';
import { hostnameOf, registrableDomain } from './observatory/domain.ts';
import { ObservedHeaders } from './observatory/headers.ts';
import { scanPage, type PageFacts } from './observatory/html.ts';
import type { Exchange, ObservatoryResult, ObservatoryTest } from './types.ts';

/** What Observatory's retrieval produced, as recorded exchanges (see `retrieveSite`). */
export interface ObservatoryInput {
  /**
   * The string Observatory is given (`scan <hostname>`): the target's host, with
   * its port when not the default one, e.g. `example.com` or `127.0.0.1:8443`.
   * The HSTS preload lookup and the SRI "same site" comparison use it.
   */
  readonly hostname: string;
  /** Every hop of the chain from `http://…`, or `undefined` when that side failed. */
  readonly http: readonly Exchange[] | undefined;
  /** Every hop of the chain from `https://…`, or `undefined` when that side failed. */
  readonly https: readonly Exchange[] | undefined;
  /** The `/robots.txt` request and the redirects it followed. */
  readonly robots: readonly Exchange[];
  /** The CORS preflight (`OPTIONS`) and the redirects it followed. */
  readonly preflight: readonly Exchange[];
}

/** An entry of Chromium's HSTS preload list, as Observatory stores it (`conf/hsts-preload.json`). */
export interface HstsPreloadEntry {
  readonly includeSubDomains: boolean;
  /** `force-https` for hosts that are preloaded (others only pin keys). */
  readonly mode: string;
}

export interface ObservatoryOptions {
  /**
   * The HSTS preload list (host → entry). Default: empty, like an offline
   * Observatory install; pass a snapshot of Chromium's list for public sites.
   */
  readonly hstsPreload?: ReadonlyMap<string, HstsPreloadEntry> | Readonly<Record<string, HstsPreloadEntry>>;
  /** The time cookie expiry is judged at (ms since the epoch). Default: now. */
  readonly now?: number;
}

/** The tests in Observatory's order, with the expectation each is measured against. */
const TESTS = [
  ['content-security-policy', 'csp-implemented-with-no-unsafe'],
  ['cookies', 'cookies-secure-with-httponly-sessions'],
  ['cross-origin-resource-sharing', 'cross-origin-resource-sharing-not-implemented'],
  ['redirection', 'redirection-to-https'],
  ['referrer-policy', 'referrer-policy-private'],
  ['strict-transport-security', 'hsts-implemented-max-age-at-least-six-months'],
  ['subresource-integrity', 'sri-implemented-and-external-scripts-loaded-securely'],
  ['x-content-type-options', 'x-content-type-options-nosniff'],
  ['x-frame-options', 'x-frame-options-sameorigin-or-deny'],
  ['cross-origin-resource-policy', 'corp-implemented-with-same-site'],
] as const;

/** Observatory 1.4.8's SCORE_TABLE: result → score modifier. */
export const OBSERVATORY_MODIFIERS: ReadonlyMap<string, number> = new Map([
  ['csp-implemented-with-no-unsafe-default-src-none', 10],
  ['csp-implemented-with-no-unsafe', 5],
  ['csp-implemented-with-unsafe-inline-in-style-src-only', 0],
  ['csp-implemented-with-insecure-scheme-in-passive-content-only', -10],
  ['csp-implemented-with-unsafe-eval', -10],
  ['csp-implemented-with-unsafe-inline', -20],
  ['csp-implemented-with-insecure-scheme', -20],
  ['csp-header-invalid', -25],
  ['csp-not-implemented', -25],
  ['csp-not-implemented-but-reporting-enabled', -25],
  ['csp-implemented-but-duplicate-directives', 0],
  ['cookies-secure-with-httponly-sessions-and-samesite', 5],
  ['cookies-secure-with-httponly-sessions', 0],
  ['cookies-not-found', 0],
  ['cookies-without-secure-flag-but-protected-by-hsts', -5],
  ['cookies-session-without-secure-flag-but-protected-by-hsts', -10],
  ['cookies-without-secure-flag', -20],
  ['cookies-samesite-flag-invalid', -20],
  ['cookies-anticsrf-without-samesite-flag', -20],
  ['cookies-session-without-httponly-flag', -30],
  ['cookies-session-without-secure-flag', -40],
  ['cross-origin-resource-sharing-not-implemented', 0],
  ['cross-origin-resource-sharing-implemented-with-public-access', 0],
  ['cross-origin-resource-sharing-implemented-with-restricted-access', 0],
  ['cross-origin-resource-sharing-implemented-with-universal-access', -50],
  ['redirection-all-redirects-preloaded', 0],
  ['redirection-to-https', 0],
  ['redirection-not-needed-no-http', 0],
  ['redirection-off-host-from-http', -5],
  ['redirection-not-to-https-on-initial-redirection', -10],
  ['redirection-not-to-https', -20],
  ['redirection-missing', -20],
  ['redirection-invalid-cert', -20],
  ['referrer-policy-private', 5],
  ['referrer-policy-not-implemented', 0],
  ['referrer-policy-unsafe', -5],
  ['referrer-policy-header-invalid', -5],
  ['hsts-preloaded', 5],
  ['hsts-implemented-max-age-at-least-six-months', 0],
  ['hsts-implemented-max-age-less-than-six-months', -10],
  ['hsts-not-implemented', -20],
  ['hsts-header-invalid', -20],
  ['hsts-not-implemented-no-https', -20],
  ['hsts-invalid-cert', -20],
  ['sri-implemented-and-all-scripts-loaded-securely', 5],
  ['sri-implemented-and-external-scripts-loaded-securely', 5],
  ['sri-not-implemented-response-not-html', 0],
  ['sri-not-implemented-but-no-scripts-loaded', 0],
  ['sri-not-implemented-but-all-scripts-loaded-from-secure-origin', 0],
  ['sri-not-implemented-but-external-scripts-loaded-securely', -5],
  ['sri-implemented-but-external-scripts-not-loaded-securely', -20],
  ['sri-not-implemented-and-external-scripts-not-loaded-securely', -50],
  ['x-content-type-options-nosniff', 0],
  ['x-content-type-options-not-implemented', -5],
  ['x-content-type-options-header-invalid', -5],
  ['x-frame-options-implemented-via-csp', 5],
  ['x-frame-options-sameorigin-or-deny', 0],
  ['x-frame-options-allow-from-origin', 0],
  ['x-frame-options-not-implemented', -20],
  ['x-frame-options-header-invalid', -20],
  ['corp-header-invalid', -5],
  ['corp-implemented-with-cross-origin', 0],
  ['corp-implemented-with-same-origin', 10],
  ['corp-implemented-with-same-site', 10],
  ['corp-not-implemented', 0],
  ['html-not-parseable', -20],
]);

const MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90;
const GRADE_CHART: ReadonlyMap<number, string> = new Map([
  [100, 'A+'], [95, 'A'], [90, 'A'], [85, 'A-'], [80, 'B+'], [75, 'B'], [70, 'B'], [65, 'B-'], [60, 'C+'], [55, 'C'], [50, 'C'],
  [45, 'C-'], [40, 'D+'], [35, 'D'], [30, 'D'], [25, 'D-'], [20, 'F'], [15, 'F'], [10, 'F'], [5, 'F'], [0, 'F'],
]);

const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);
const SIX_MONTHS = 15552000;

/** A response the way one of Observatory's sessions holds it. */
interface SessionResponse {
  readonly exchange: Exchange;
  readonly headers: ObservedHeaders;
  /** False when the session had to retry without certificate verification. */
  readonly verified: boolean;
}

/** Everything the tests read, derived once from the input. */
interface Retrieval {
  readonly hostname: string;
  readonly auto: SessionResponse;
  /** The URL the auto session started from. */
  readonly sessionUrl: URL;
  readonly http: SessionResponse | null;
  readonly https: SessionResponse | null;
  readonly httpRoute: readonly URL[];
  readonly cors: SessionResponse | null;
  /** axios' `response.data`: the body, JSON-parsed when it parses. */
  readonly data: unknown;
  /** The page parsed as a document (scripts, `<base>`), when it is HTML. */
  readonly page: PageFacts | null;
  /** The page parsed as a fragment (its `<meta>` tags), when it is HTML. */
  readonly fragment: PageFacts | null;
  readonly jar: CookieJar;
  readonly hstsPreload: (host: string) => HstsPreloadEntry | null;
}

interface Outcome {
  readonly result: string;
  readonly pass: boolean;
}

class ObservatoryFailure extends Error {}

function chainVerified(chain: readonly Exchange[]): boolean {
  return chain.every((exchange) => exchange.tls === undefined || exchange.tls.verified);
}

function sessionResponse(chain: readonly Exchange[] | undefined): SessionResponse | null {
  const last = chain?.at(-1);
  if (!chain || !last) return null;
  return { exchange: last, headers: new ObservedHeaders(last.response.headers), verified: chainVerified(chain) };
}

function setCookieLines(exchange: Exchange): string[] {
  return exchange.response.headers.filter(([name]) => name.toLowerCase() === 'set-cookie').map(([, value]) => value);
}

/** axios parses any non-empty string body as JSON when it can (`transitional.forcedJSONParsing`). */
function axiosData(body: string): unknown {
  if (!body) return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

function preloadLookup(list: ObservatoryOptions['hstsPreload']): (host: string) => HstsPreloadEntry | null {
  const map: ReadonlyMap<string, HstsPreloadEntry> = list === undefined ? new Map() : list instanceof Map ? list : new Map(Object.entries(list));
  return (hostname) => {
    const existing = map.get(hostname);
    if (existing && existing.mode === 'force-https') return existing;
    const parts = hostname.split('.');
    for (parts.shift(); parts.length > 0; parts.shift()) {
      const entry = map.get(parts.join('.'));
      if (entry && entry.mode === 'force-https' && entry.includeSubDomains) return entry;
    }
    return null;
  };
}

function prepare(input: ObservatoryInput, options: ObservatoryOptions): Retrieval | string {
  const httpsSucceeded = input.https !== undefined && input.https.length > 0;
  const autoChain = httpsSucceeded ? input.https : input.http;
  const auto = sessionResponse(autoChain);
  if (!autoChain || !auto) return 'The site seems to be down.';
  const status = auto.exchange.response.status;
  if (status < 200 || (status >= 400 && status !== 401 && status !== 403)) {
    return `Site did respond with an unexpected HTTP status code ${status}.`;
  }
  const now = options.now ?? Date.now();

  // The auto session's cookie jar. Its own chain goes through the cookie agent;
  // robots.txt and the preflight only do when the session retried without
  // certificate verification (the retry installs the agent on the client that
  // sends them), and then only for https: URLs. Each request first drops the
  // expired cookies it would have carried, as tough-cookie does.
  const jar = new CookieJar();
  const throughAgent = [...autoChain];
  if (!auto.verified) {
    throughAgent.push(...[...input.robots, ...input.preflight].filter((exchange) => exchange.request.url.startsWith('https:')));
  }
  for (const exchange of throughAgent) {
    jar.cookiesFor(exchange.request.url, now);
    for (const line of setCookieLines(exchange)) jar.setCookie(line, exchange.request.url, now);
  }

  // axios rejects a non-2xx answer to the preflight, which leaves no CORS response.
  const preflight = sessionResponse(input.preflight);
  const corsStatus = preflight?.exchange.response.status ?? 0;
  const cors = preflight && corsStatus >= 200 && corsStatus < 300 ? preflight : null;

  const data = axiosData(auto.exchange.response.body);
  const isHtml = HTML_TYPES.has((auto.headers.first('content-type') ?? '').split(';')[0]!);
  const page = isHtml ? scanPage(String(data || ''), 'document') : null;
  const fragment = isHtml ? scanPage(String(data || ''), 'fragment') : null;

  return {
    hostname: input.hostname,
    auto,
    sessionUrl: new URL(autoChain[0]!.request.url),
    http: sessionResponse(input.http),
    https: sessionResponse(input.https),
    httpRoute: (input.http ?? []).map((exchange) => new URL(exchange.request.url)),
    cors,
    data,
    page,
    fragment,
    jar,
    hstsPreload: preloadLookup(options.hstsPreload),
  };
}

/** `<meta http-equiv>` values as Observatory's `parseHttpEquivHeaders` collects them (only for HTML with a body). */
function httpEquiv(retrieval: Retrieval): { csp: string[]; referrer: string[] } {
  const csp: string[] = [];
  let referrer: string[] = [];
  if (!retrieval.fragment || !retrieval.data) return { csp, referrer };
  for (const meta of retrieval.fragment.metas) {
    if (meta.httpEquiv !== null && meta.content !== null) {
      if (meta.content && meta.httpEquiv.toLowerCase().trim() === 'content-security-policy') csp.push(meta.content);
    } else if (meta.name?.toLowerCase().trim() === 'referrer') {
      if (meta.content) referrer = [meta.content];
    }
  }
  return { csp, referrer };
}

function onlyIfWorse(newResult: string, oldResult: string | null, order: readonly string[]): string {
  if (!oldResult) return newResult;
  return order.indexOf(newResult) > order.indexOf(oldResult) ? newResult : oldResult;
}

function csp(retrieval: Retrieval): ReturnType<typeof cspTest> {
  return cspTest({
    headers: retrieval.auto.headers.all('content-security-policy'),
    metas: httpEquiv(retrieval).csp,
    reportOnly: Boolean(retrieval.auto.headers.first('content-security-policy-report-only')),
    protocol: retrieval.sessionUrl.protocol,
  });
}

function hsts(retrieval: Retrieval): Outcome {
  const response = retrieval.https;
  let result = 'hsts-not-implemented';
  if (!response) {
    result = 'hsts-not-implemented-no-https';
  } else if (!response.verified) {
    result = 'hsts-invalid-cert';
  } else {
    const header = response.headers.all('strict-transport-security')[0];
    if (header !== undefined) {
      const data = header.slice(0, 1024);
      let maxAge: number | null = null;
      if (data.includes(',')) {
        result = 'hsts-header-invalid';
      } else {
        for (const parameter of data.split(';').map((item) => item.trim().toLowerCase())) {
          // parseInt of a non-number is NaN, and NaN is not below six months.
          if (parameter.startsWith('max-age=')) maxAge = parseInt(parameter.slice(8, 128), 10);
        }
        if (maxAge === null) result = 'hsts-header-invalid';
        else result = maxAge < SIX_MONTHS ? 'hsts-implemented-max-age-less-than-six-months' : 'hsts-implemented-max-age-at-least-six-months';
      }
    }
  }
  if (response && retrieval.hstsPreload(retrieval.hostname)) result = 'hsts-preloaded';
  return { result, pass: result === 'hsts-implemented-max-age-at-least-six-months' || result === 'hsts-preloaded' };
}

const COOKIE_ORDER = [
  'cookies-without-secure-flag-but-protected-by-hsts',
  'cookies-without-secure-flag',
  'cookies-session-without-secure-flag-but-protected-by-hsts',
  'cookies-samesite-flag-invalid',
  'cookies-anticsrf-without-samesite-flag',
  'cookies-session-without-httponly-flag',
  'cookies-session-without-secure-flag',
];

function containsInvalidSameSite(line: string): boolean {
  for (const part of line.trim().split(';')) {
    const [key, value] = part.trim().split('=');
    if (key!.trim().toLowerCase() === 'samesite') {
      if (!value) return true;
      if (!['lax', 'strict', 'none'].includes(value.trim().toLowerCase())) return true;
    }
  }
  return false;
}

function cookies(retrieval: Retrieval): Outcome {
  let result: string | null = null;
  const protectedByHsts = hsts(retrieval).pass;
  for (const line of retrieval.auto.headers.all('set-cookie')) {
    if (containsInvalidSameSite(line)) result = onlyIfWorse('cookies-samesite-flag-invalid', result, COOKIE_ORDER);
  }
  const jarCookies = retrieval.jar.all().filter((cookie) => cookie.key && cookie.key !== 'heroku-session-affinity');
  if (jarCookies.length === 0) {
    result = 'cookies-not-found';
  } else {
    let missingSameSite = false;
    for (const cookie of jarCookies) {
      const name = cookie.key.toLowerCase();
      const session = name.includes('login') || name.includes('sess');
      const antiCsrf = name.includes('csrf');
      if (!cookie.secure && cookie.sameSite === 'none') result = onlyIfWorse('cookies-samesite-flag-invalid', result, COOKIE_ORDER);
      if (!cookie.secure && protectedByHsts) result = onlyIfWorse('cookies-without-secure-flag-but-protected-by-hsts', result, COOKIE_ORDER);
      else if (!cookie.secure) result = onlyIfWorse('cookies-without-secure-flag', result, COOKIE_ORDER);
      if (antiCsrf && !cookie.sameSite) result = onlyIfWorse('cookies-anticsrf-without-samesite-flag', result, COOKIE_ORDER);
      if (session && !cookie.secure && protectedByHsts) result = onlyIfWorse('cookies-session-without-secure-flag-but-protected-by-hsts', result, COOKIE_ORDER);
      else if (session && !cookie.secure) result = onlyIfWorse('cookies-session-without-secure-flag', result, COOKIE_ORDER);
      if (session && !cookie.httpOnly) result = onlyIfWorse('cookies-session-without-httponly-flag', result, COOKIE_ORDER);
      if (!cookie.sameSite) missingSameSite = true;
    }
    result ??= missingSameSite ? 'cookies-secure-with-httponly-sessions' : 'cookies-secure-with-httponly-sessions-and-samesite';
  }
  const pass = ['cookies-not-found', 'cookies-secure-with-httponly-sessions-and-samesite', 'cookies-secure-with-httponly-sessions'].includes(result);
  return { result, pass };
}

function cors(retrieval: Retrieval): Outcome {
  let result = 'cross-origin-resource-sharing-not-implemented';
  const response = retrieval.cors;
  const allowOrigin = response?.headers.first('access-control-allow-origin') ?? null;
  // Observatory reads the Origin it sent from `response.request.headers`, but axios'
  // `response.request` is Node's ClientRequest, which has no `headers` property: the
  // sent Origin is always unknown, so a reflected origin with credentials is only
  // ever "restricted access" in 1.4.8, never "universal access" (−50).
  const sentOrigin: string | null = null;
  if (response && allowOrigin) {
    const data = allowOrigin.slice(0, 256).trim().toLowerCase();
    const credentials = response.headers.first('access-control-allow-credentials');
    if (data === '*') result = 'cross-origin-resource-sharing-implemented-with-public-access';
    else if (sentOrigin !== null && sentOrigin === allowOrigin && credentials?.toLowerCase().trim() === 'true') result = 'cross-origin-resource-sharing-implemented-with-universal-access';
    else result = 'cross-origin-resource-sharing-implemented-with-restricted-access';
  }
  return { result, pass: result !== 'cross-origin-resource-sharing-implemented-with-universal-access' };
}

function redirection(retrieval: Retrieval): Outcome {
  const response = retrieval.http;
  let result: string;
  if (!response) {
    result = 'redirection-not-needed-no-http';
  } else if (!response.verified) {
    result = 'redirection-invalid-cert';
  } else {
    const route = retrieval.httpRoute;
    if (route.every((url) => retrieval.hstsPreload(url.hostname))) result = 'redirection-all-redirects-preloaded';
    else if (route.length === 1) result = 'redirection-missing';
    else if (route.at(-1)!.protocol !== 'https:') result = 'redirection-not-to-https';
    else if (route[1]!.protocol === 'http:') result = 'redirection-not-to-https-on-initial-redirection';
    else if (route[0]!.protocol === 'http:' && route[1]!.protocol === 'https:' && route[0]!.hostname !== route[1]!.hostname) result = 'redirection-off-host-from-http';
    else result = 'redirection-to-https';
  }
  return { result, pass: ['redirection-not-needed-no-http', 'redirection-all-redirects-preloaded', 'redirection-to-https'].includes(result) };
}

const REFERRER_GOOD = ['no-referrer', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin'];
const REFERRER_BAD = ['origin', 'origin-when-cross-origin', 'unsafe-url', 'no-referrer-when-downgrade'];

function referrerPolicy(retrieval: Retrieval): Outcome {
  const headers = retrieval.auto.headers.all('referrer-policy');
  const metas = httpEquiv(retrieval).referrer;
  if (headers.length === 0 && metas.length === 0) return { result: 'referrer-policy-not-implemented', pass: true };
  const valid = [...REFERRER_GOOD, ...REFERRER_BAD];
  const policy =
    [...headers, ...metas]
      .join(', ')
      .split(',')
      .filter((token) => valid.includes(token.toLowerCase().trim()))
      .reverse()[0]
      ?.toLowerCase()
      .trim() ?? '';
  const result = REFERRER_GOOD.includes(policy) ? 'referrer-policy-private' : REFERRER_BAD.includes(policy) ? 'referrer-policy-unsafe' : 'referrer-policy-header-invalid';
  return { result, pass: result === 'referrer-policy-private' };
}

const SRI_ORDER = [
  'sri-implemented-and-all-scripts-loaded-securely',
  'sri-implemented-and-external-scripts-loaded-securely',
  'sri-implemented-but-external-scripts-not-loaded-securely',
  'sri-not-implemented-but-external-scripts-loaded-securely',
  'sri-not-implemented-and-external-scripts-not-loaded-securely',
  'sri-not-implemented-response-not-html',
];

/** jsdom's `script.src`: the attribute resolved against the document's base URL (`about:blank` unless `<base>` says otherwise), or the raw value when that fails. */
function reflectedSrc(value: string, baseHref: string | null): string {
  let base = 'about:blank';
  if (baseHref !== null) {
    try {
      base = new URL(baseHref, 'about:blank').href;
    } catch {
      // an unparsable <base href> leaves the document URL as the base
    }
  }
  try {
    return new URL(value, base).href;
  } catch {
    return value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  }
}

function subresourceIntegrity(retrieval: Retrieval): Outcome {
  const passing = (result: string): Outcome => ({
    result,
    pass: [
      'sri-implemented-and-all-scripts-loaded-securely',
      'sri-implemented-and-external-scripts-loaded-securely',
      'sri-not-implemented-response-not-html',
      'sri-not-implemented-but-all-scripts-loaded-from-secure-origin',
      'sri-not-implemented-but-no-scripts-loaded',
    ].includes(result),
  });
  const page = retrieval.page;
  if (!page) return passing('sri-not-implemented-response-not-html');
  let result: string | null = null;
  let foreignScripts = false;
  const scannedDomain = registrableDomain(retrieval.hostname);
  for (const script of page.scripts) {
    if (script.src === null) continue;
    const src = reflectedSrc(script.src, page.baseHref);
    if (!src) continue;
    const integrity = script.integrity;
    let relativeOrigin = false;
    let relativeProtocol = false;
    let sameSecondLevelDomain: boolean;
    if (/^(\/\/)[^/]/.test(src)) {
      relativeProtocol = true;
      sameSecondLevelDomain = true;
    } else if (/^https?:\/\//.test(src)) {
      sameSecondLevelDomain = registrableDomain(hostnameOf(src)) === scannedDomain;
    } else {
      relativeOrigin = true;
      sameSecondLevelDomain = true;
    }
    const secureOrigin = relativeOrigin || (sameSecondLevelDomain && !relativeProtocol);
    if (!secureOrigin) foreignScripts = true;
    let scheme: string | null = null;
    if (!relativeProtocol && !relativeOrigin) {
      try {
        scheme = new URL(src).protocol;
      } catch {
        // Observatory's `new URL(script.src)` throws here, and the whole scan fails with it.
        throw new ObservatoryFailure('Invalid URL');
      }
    }
    const secureScheme = scheme === 'https:' || (relativeOrigin && retrieval.sessionUrl.protocol === 'https:');
    if (!secureOrigin) {
      if (integrity && !secureScheme) result = onlyIfWorse('sri-implemented-but-external-scripts-not-loaded-securely', result, SRI_ORDER);
      else if (!integrity && secureScheme) result = onlyIfWorse('sri-not-implemented-but-external-scripts-loaded-securely', result, SRI_ORDER);
      else if (!integrity && !secureScheme) result = onlyIfWorse('sri-not-implemented-and-external-scripts-not-loaded-securely', result, SRI_ORDER);
    } else if (integrity && secureScheme && !result) {
      result = 'sri-implemented-and-all-scripts-loaded-securely';
    }
  }
  if (page.scripts.length === 0) return passing('sri-not-implemented-but-no-scripts-loaded');
  result ??= foreignScripts ? 'sri-implemented-and-external-scripts-loaded-securely' : 'sri-not-implemented-but-all-scripts-loaded-from-secure-origin';
  return passing(result);
}

function xContentTypeOptions(retrieval: Retrieval): Outcome {
  const header = retrieval.auto.headers.first('x-content-type-options');
  const result = !header
    ? 'x-content-type-options-not-implemented'
    : header.slice(0, 256).trim().toLowerCase() === 'nosniff'
      ? 'x-content-type-options-nosniff'
      : 'x-content-type-options-header-invalid';
  return { result, pass: result === 'x-content-type-options-nosniff' };
}

function xFrameOptions(retrieval: Retrieval): Outcome {
  const header = retrieval.auto.headers.first('x-frame-options');
  let result: string;
  if (header) {
    const value = header.slice(0, 1024).trim().toLowerCase();
    if (value === 'deny' || value === 'sameorigin') result = 'x-frame-options-sameorigin-or-deny';
    else if (value.startsWith('allow-from')) result = 'x-frame-options-allow-from-origin';
    else result = 'x-frame-options-header-invalid';
  } else {
    result = 'x-frame-options-not-implemented';
  }
  // Any frame-ancestors in the policy (whatever it allows) replaces the header.
  if (csp(retrieval).frameAncestors) result = 'x-frame-options-implemented-via-csp';
  return {
    result,
    pass: ['x-frame-options-allow-from-origin', 'x-frame-options-sameorigin-or-deny', 'x-frame-options-implemented-via-csp'].includes(result),
  };
}

function crossOriginResourcePolicy(retrieval: Retrieval): Outcome {
  // Observatory looks for a <meta http-equiv> CORP too, but never collects one.
  const header = retrieval.auto.headers.first('cross-origin-resource-policy');
  let result = 'corp-not-implemented';
  if (header) {
    const value = header.slice(0, 256).trim().toLowerCase();
    if (value === 'same-site') result = 'corp-implemented-with-same-site';
    else if (value === 'same-origin') result = 'corp-implemented-with-same-origin';
    else if (value === 'cross-origin') result = 'corp-implemented-with-cross-origin';
    else result = 'corp-header-invalid';
  }
  return { result, pass: result !== 'corp-header-invalid' };
}

const RUNNERS: Readonly<Record<(typeof TESTS)[number][0], (retrieval: Retrieval) => Outcome>> = {
  'content-security-policy': csp,
  cookies,
  'cross-origin-resource-sharing': cors,
  redirection,
  'referrer-policy': referrerPolicy,
  'strict-transport-security': hsts,
  'subresource-integrity': subresourceIntegrity,
  'x-content-type-options': xContentTypeOptions,
  'x-frame-options': xFrameOptions,
  'cross-origin-resource-policy': crossOriginResourcePolicy,
};

/** Observatory's grade chart: the score, floored at 0, rounded down to a multiple of 5, capped at 100. */
export function observatoryGrade(score: number): string {
  const floored = Math.max(score, 0);
  return GRADE_CHART.get(Math.min(floored - (floored % 5), 100)) ?? 'F';
}

function run(input: ObservatoryInput, options: ObservatoryOptions): ObservatoryResult | string {
  const retrieval = prepare(input, options);
  if (typeof retrieval === 'string') return retrieval;
  const tests: Record<string, ObservatoryTest> = {};
  let testsPassed = 0;
  let scoreWithExtraCredit = 100;
  let uncurvedScore = 100;
  try {
    for (const [name, expectation] of TESTS) {
      const { result, pass } = RUNNERS[name](retrieval);
      const scoreModifier = OBSERVATORY_MODIFIERS.get(result) ?? 0;
      tests[name] = { result, pass, scoreModifier, expectation };
      if (pass) testsPassed++;
      scoreWithExtraCredit += scoreModifier;
      if (scoreModifier < 0) uncurvedScore += scoreModifier;
    }
  } catch (error) {
    if (error instanceof ObservatoryFailure) return error.message;
    throw error;
  }
  // Bonuses count only when the penalties alone leave an A.
  const score = Math.max(uncurvedScore >= MINIMUM_SCORE_FOR_EXTRA_CREDIT ? scoreWithExtraCredit : uncurvedScore, 0);
  return {
    algorithmVersion: 4,
    score,
    grade: observatoryGrade(score),
    testsPassed,
    testsFailed: TESTS.length - testsPassed,
    testsQuantity: TESTS.length,
    tests,
  };
}

/**
 * The Observatory 1.4.8 block for a retrieved site, or `undefined` where
 * Observatory itself reports an error instead of a grade (the site is down, or
 * the final answer is not 2xx, 3xx, 401 or 403); `observatoryError` says which.
 */
export function observatory(input: ObservatoryInput, options: ObservatoryOptions = {}): ObservatoryResult | undefined {
  const outcome = run(input, options);
  return typeof outcome === 'string' ? undefined : outcome;
}

/** Observatory's error message for `input` (`{"error": …}` in its output), or `undefined` when it grades the site. */
export function observatoryError(input: ObservatoryInput, options: ObservatoryOptions = {}): string | undefined {
  const outcome = run(input, options);
  return typeof outcome === 'string' ? outcome : undefined;
}
