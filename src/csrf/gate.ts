/**
 * The first two CSRF layers, decided from headers alone, before any byte of the body
 * is read:
 *
 * - L0, the method: GET, HEAD and OPTIONS are safe (and must stay so: a method
 *   override on them is refused); TRACE, TRACK and CONNECT are refused; every other
 *   method, extension methods included, is checked.
 * - L1, where the request comes from: `Sec-Fetch-Site` first, then `Origin` compared
 *   exactly (scheme, host, port) with the site's configured origins, then `Referer`.
 *   `same-site` is refused unless siblings are trusted; `Origin: null` never passes.
 */

import { isMethodOverrideName } from './form.ts';

/** The method is safe: no check, and no body is expected to change anything. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Refused outright: browsers cannot send them from a page, and nothing should accept them. */
const REFUSED_METHODS: ReadonlySet<string> = new Set(['TRACE', 'TRACK', 'CONNECT']);
/** The headers method-override middleware reads (Express's method-override, Rack, Symfony, Hono). */
const OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const;

/** Where headers are read from: the request itself, by lowercase name. */
export interface HeaderSource {
  header(lowerName: string): string | undefined;
}

/** How L1 let a request through. `unknown`: no browser signal at all (a non-browser client). */
export type Passed = 'same-origin' | 'same-site' | 'trusted' | 'origin' | 'referer' | 'unknown';

/** The reasons L0 and L1 refuse, as error codes. */
export type GateRefusal =
  | 'csrf_method_not_allowed'
  | 'csrf_method_override'
  | 'csrf_malformed_header'
  | 'csrf_cross_site'
  | 'csrf_same_site'
  | 'csrf_sec_fetch_site_none'
  | 'csrf_origin_null'
  | 'csrf_origin_mismatch'
  | 'csrf_referer_mismatch'
  | 'csrf_no_browser_signals';

export interface GateConfig {
  /** The site's own origins, serialized (`https://example.com`). */
  readonly origins: ReadonlySet<string>;
  /** Other origins whose requests pass L1 (L2 still applies). */
  readonly trustedOrigins: ReadonlySet<string>;
  readonly allowSameSite: boolean;
  /** `headers-only` mode: no token, so every uncertain case is refused. */
  readonly headersOnly: boolean;
}

/** L0 for a safe method: a method override on it is refused (an `<img>` must not POST). */
export function checkSafeMethod(target: string, headers: HeaderSource): GateRefusal | undefined {
  return hasMethodOverride(target, headers) ? 'csrf_method_override' : undefined;
}

/**
 * True when the request asks middleware to route it as another method: an override
 * header, or `_method` in the query (see `queryHasMethodOverride`). The request body is
 * not looked at here.
 */
export function hasMethodOverride(target: string, headers: HeaderSource): boolean {
  for (const name of OVERRIDE_HEADERS) if (headers.header(name) !== undefined) return true;
  const query = target.indexOf('?');
  return query !== -1 && queryHasMethodOverride(target.slice(query + 1));
}

/**
 * True when a query string has a `_method` parameter as the parsers of the frameworks
 * read it: the name percent-decoded and `+` read as a space (URLSearchParams, Node's
 * querystring and Express's qs all do; `?%5Fmethod=DELETE` is `_method`), ASCII case
 * ignored, `_method[…]` included (qs reads `_method[]=DELETE` as `_method`).
 */
export function queryHasMethodOverride(query: string): boolean {
  // Only an escape can spell the name other than literally: most queries stop here.
  if (!query.includes('%') && !/_method/i.test(query)) return false;
  for (const name of new URLSearchParams(query).keys()) if (isMethodOverrideName(name)) return true;
  return false;
}

/** True when a query string has a `csrf_token` parameter, its name decoded as in `queryHasMethodOverride` (exact otherwise). */
export function queryHasToken(query: string): boolean {
  if (!query.includes('%') && !query.includes('csrf_token')) return false;
  for (const name of new URLSearchParams(query).keys()) if (name === 'csrf_token') return true;
  return false;
}

/** True when the method is one rampart refuses outright. */
export function isRefusedMethod(method: string): boolean {
  return REFUSED_METHODS.has(method.toUpperCase());
}

/** The origin of an absolute URL, or `undefined` when it does not parse. Never throws. */
function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * L1. `siteOrigin` is used when no origin is configured (development only): the
 * origin the request itself names.
 */
export function checkSignals(headers: HeaderSource, config: GateConfig, siteOrigin: string | undefined): Passed | GateRefusal {
  const fetchSite = headers.header('sec-fetch-site');
  const origin = headers.header('origin');
  // Node and Fetch join repeated headers with ", ": one value never contains a comma.
  if (fetchSite?.includes(',') || origin?.includes(',')) return 'csrf_malformed_header';
  const isOurs = (value: string): boolean => config.origins.has(value) || (config.origins.size === 0 && value === siteOrigin);

  switch (fetchSite?.trim().toLowerCase()) {
    case 'same-origin':
      // Wins over Origin: a same-origin POST from a page with Referrer-Policy: no-referrer carries Origin: null.
      return 'same-origin';
    case 'same-site':
      if (origin !== undefined && config.trustedOrigins.has(origin)) return 'trusted';
      return config.allowSameSite ? 'same-site' : 'csrf_same_site';
    case 'cross-site':
      return origin !== undefined && config.trustedOrigins.has(origin) ? 'trusted' : 'csrf_cross_site';
    case 'none':
      // A user-initiated navigation (bookmark, typed URL) that is not a page of ours.
      if (config.headersOnly) return 'csrf_sec_fetch_site_none';
      break;
    default:
      // Absent, or a value from a future spec: decided by Origin and Referer.
      break;
  }

  if (origin !== undefined) {
    if (origin === 'null') return 'csrf_origin_null';
    if (isOurs(origin)) return 'origin';
    return config.trustedOrigins.has(origin) ? 'trusted' : 'csrf_origin_mismatch';
  }
  const referer = headers.header('referer');
  if (referer !== undefined) {
    const refererOrigin = originOf(referer);
    return refererOrigin !== undefined && isOurs(refererOrigin) ? 'referer' : 'csrf_referer_mismatch';
  }
  return config.headersOnly ? 'csrf_no_browser_signals' : 'unknown';
}
