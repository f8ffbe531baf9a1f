/**
 * Retrieves a site the way MDN HTTP Observatory 1.4.8 does, so that
 * `observatory()` can grade it exactly like Observatory would:
 *
 * 1. two chains in parallel, from `http://host/path` and from `https://host/path`,
 *    each a GET that follows up to 10 redirects (301, 302, 303, 307, 308) itself,
 *    every hop recorded; each chain has its own cookie jar, sent back on its hops;
 * 2. the "auto" session: the HTTPS chain when it got an answer, else the HTTP one;
 * 3. `GET /robots.txt` relative to where the auto session started;
 * 4. a CORS preflight, `OPTIONS` with `Origin: https://http-observatory.security.mozilla.org`
 *    and `Access-Control-Request-Method: GET`, to where the auto chain ended.
 *
 * Steps 3 and 4 go through a plain HTTP client that follows redirects itself (any
 * 3xx with a Location, at most 10) and, like Observatory's, only uses the auto
 * session's cookie jar when that session had to retry without certificate
 * verification — in which case, also like Observatory's, the preflight goes to
 * `/robots.txt` if that answered 2xx.
 *
 * Unlike Observatory 1.4.8, which puts both schemes on one port, the two chains
 * may use different ports. By default the target's own scheme uses the target's
 * port and the other scheme its default port (80/443); for a loopback target on a
 * non-default port (a dev server), the other scheme is not tried unless its port
 * is given: it is reported as unavailable, not as an error of the scan.
 */

import { CookieJar } from './observatory/cookie-jar.ts';
import type { ObservatoryInput } from './observatory.ts';
import { fetchExchange, type FetchOptions } from './fetch.node.ts';
import type { Exchange } from './types.ts';

/** Options of `retrieveSite`. */
export interface RetrieveOptions extends FetchOptions {
  /** Port of the HTTP side (default: the target's port if it is http:, else 80). */
  readonly httpPort?: number;
  /** Port of the HTTPS side (default: the target's port if it is https:, else 443). */
  readonly httpsPort?: number;
  /** A `Cookie` header value (a logged-in scan), sent to the target's host only, merged over the jar's cookies. */
  readonly cookies?: string;
}

/** What `retrieveSite` got: Observatory's view of the site, as exchanges. */
export interface SiteRetrieval extends ObservatoryInput {
  /** Why the HTTP chain has no answer (`http` is then `undefined`). */
  readonly httpError?: string;
  /** Why the HTTPS chain has no answer (`https` is then `undefined`). */
  readonly httpsError?: string;
  /** True when the HTTP side was not tried at all (see the module comment). */
  readonly httpUnavailable: boolean;
  /** True when the HTTPS side was not tried at all (see the module comment). */
  readonly httpsUnavailable: boolean;
  /** The final answer of the auto session (HTTPS if it answered, else HTTP); `undefined` when neither did. */
  readonly auto: Exchange | undefined;
  /** The auto session's cookie jar at the end, as the Set-Cookie lines that stored its cookies, oldest first. */
  readonly cookies: readonly string[];
  /** Every request sent, by index (including the hops of a chain that failed part-way). */
  readonly exchanges: readonly Exchange[];
  /** Problems of the retrieval for the report's `errors` (an unavailable side is not one). */
  readonly errors: readonly string[];
}

const STANDARD_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const ROBOTS_ACCEPT = 'text/plain,*/*;q=0.8';
const CORS_ORIGIN = 'https://http-observatory.security.mozilla.org';
const CHAIN_REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function firstHeader(exchange: Exchange, name: string): string | undefined {
  return exchange.response.headers.find(([header]) => header === name)?.[1];
}

function setCookieLines(exchange: Exchange): string[] {
  return exchange.response.headers.filter(([name]) => name === 'set-cookie').map(([, value]) => value);
}

/** The `Cookie` header: the jar's cookies, then the given ones replacing any of the same name (as http-cookie-agent merges them). */
function mergeCookies(fromJar: string, given: string | undefined): string {
  const byName = new Map<string, string>();
  for (const part of [...fromJar.split('; '), ...(given ?? '').split(';')]) {
    const pair = part.trim();
    const equals = pair.indexOf('=');
    if (equals <= 0) continue;
    byName.set(pair.slice(0, equals).trim(), pair);
  }
  return [...byName.values()].join('; ');
}

interface Chain {
  readonly exchanges: Exchange[];
  readonly error?: string;
}

/**
 * Retrieves `target` as Observatory 1.4.8 does (see the module comment).
 * `next` allocates exchange indexes (the caller's crawl continues the numbering).
 *
 * @example
 * ```ts
 * let counter = 0;
 * const site = await retrieveSite(new URL('https://127.0.0.1:8443/'), { httpPort: 8080, ca: pem }, () => counter++);
 * observatory(site)?.grade;
 * ```
 */
export async function retrieveSite(target: URL, options: RetrieveOptions, next: () => number): Promise<SiteRetrieval> {
  const host = target.hostname;
  const path = `${target.pathname}${target.search}`;
  const targetPort = target.port === '' ? undefined : Number(target.port);
  const ownScheme = target.protocol === 'https:' ? 'https' : 'http';
  const loopbackDevPort = isLoopback(host) && targetPort !== undefined;
  const httpPort = options.httpPort ?? (ownScheme === 'http' ? targetPort : undefined);
  const httpsPort = options.httpsPort ?? (ownScheme === 'https' ? targetPort : undefined);
  const httpUnavailable = ownScheme === 'https' && options.httpPort === undefined && loopbackDevPort;
  const httpsUnavailable = ownScheme === 'http' && options.httpsPort === undefined && loopbackDevPort;
  const httpStart = new URL(`http://${host}${httpPort === undefined || httpPort === 80 ? '' : `:${httpPort}`}${path}`);
  const httpsStart = new URL(`https://${host}${httpsPort === undefined || httpsPort === 443 ? '' : `:${httpsPort}`}${path}`);

  const { headers: extraHeaders, cookies: givenCookies, httpPort: _httpPort, httpsPort: _httpsPort, ...baseOptions } = options;
  const inScope = (url: URL): boolean => url.hostname === host;
  const fetchOptionsFor = (url: URL): FetchOptions => (inScope(url) && extraHeaders ? { ...baseOptions, headers: extraHeaders } : baseOptions);
  const all: Exchange[] = [];
  const errors: string[] = [];

  const send = async (method: string, url: URL, headers: Record<string, string>, reason: Exchange['reason'], jar: CookieJar | undefined): Promise<Exchange> => {
    const cookie = mergeCookies(jar ? jar.cookieHeader(url.href) : '', inScope(url) ? givenCookies : undefined);
    const exchange = await fetchExchange({ method, url: url.href, headers: cookie ? { ...headers, cookie } : headers }, fetchOptionsFor(url), { index: next(), reason });
    all.push(exchange);
    if (jar) for (const line of setCookieLines(exchange)) jar.setCookie(line, url.href);
    return exchange;
  };

  /** One of the two main chains: GET, redirects followed by hand, every hop through the chain's jar. */
  const chain = async (start: URL, reason: 'http-check' | 'https-check', jar: CookieJar): Promise<Chain> => {
    const exchanges: Exchange[] = [];
    let url = start;
    for (let redirects = 0; ; redirects++) {
      let exchange: Exchange;
      try {
        exchange = await send('GET', url, { accept: STANDARD_ACCEPT }, reason, jar);
      } catch (error) {
        return { exchanges, error: error instanceof Error ? error.message : String(error) };
      }
      exchanges.push(exchange);
      if (redirects >= MAX_REDIRECTS || !CHAIN_REDIRECTS.has(exchange.response.status)) return { exchanges };
      try {
        // Observatory resolves even a missing Location (as the string "undefined").
        url = new URL(firstHeader(exchange, 'location')?.trim() ?? 'undefined', url);
      } catch {
        return { exchanges, error: `${url.href} redirects to an invalid Location: ${firstHeader(exchange, 'location') ?? '(none)'}` };
      }
    }
  };

  /** robots.txt and the preflight: a client that follows any 3xx with a Location, up to 10, failing beyond. */
  const followed = async (method: string, start: URL, headers: Record<string, string>, reason: 'robots' | 'preflight', jar: CookieJar | undefined): Promise<Chain> => {
    const exchanges: Exchange[] = [];
    let url = start;
    let currentMethod = method;
    for (let redirects = 0; ; redirects++) {
      let exchange: Exchange;
      try {
        exchange = await send(currentMethod, url, headers, reason, jar && url.protocol === 'https:' ? jar : undefined);
      } catch (error) {
        return { exchanges, error: error instanceof Error ? error.message : String(error) };
      }
      exchanges.push(exchange);
      const status = exchange.response.status;
      const location = firstHeader(exchange, 'location');
      if (status < 300 || status >= 400 || location === undefined) return { exchanges };
      if (redirects >= MAX_REDIRECTS) return { exchanges, error: `${start.href}: more than ${MAX_REDIRECTS} redirects` };
      try {
        url = new URL(location, url);
      } catch {
        return { exchanges, error: `${url.href} redirects to an invalid Location: ${location}` };
      }
      if (status === 303 && currentMethod !== 'HEAD') currentMethod = 'GET';
    }
  };

  const httpJar = new CookieJar();
  const httpsJar = new CookieJar();
  const unavailable = (scheme: 'http' | 'https'): Chain => ({
    exchanges: [],
    error: `not tried: ${target.href} is a development server on loopback; give its ${scheme.toUpperCase()} port (--${scheme}-port) to check ${scheme}:// too`,
  });
  const [httpChain, httpsChain] = await Promise.all([
    httpUnavailable ? unavailable('http') : chain(httpStart, 'http-check', httpJar),
    httpsUnavailable ? unavailable('https') : chain(httpsStart, 'https-check', httpsJar),
  ]);
  if (httpChain.error && !httpUnavailable) errors.push(httpChain.error);
  if (httpsChain.error && !httpsUnavailable) errors.push(httpsChain.error);

  const httpsAnswered = !httpsChain.error && httpsChain.exchanges.length > 0;
  const httpAnswered = !httpChain.error && httpChain.exchanges.length > 0;
  const autoChain = httpsAnswered ? httpsChain : httpAnswered ? httpChain : undefined;
  const autoJar = httpsAnswered ? httpsJar : httpJar;
  let robots: Chain = { exchanges: [] };
  let preflight: Chain = { exchanges: [] };
  if (autoChain) {
    const autoStart = autoChain === httpsChain ? httpsStart : httpStart;
    const unverified = autoChain.exchanges.some((exchange) => exchange.tls?.verified === false);
    const agentJar = unverified ? autoJar : undefined;
    const robotsUrl = new URL('/robots.txt', autoStart);
    robots = await followed('GET', robotsUrl, { accept: ROBOTS_ACCEPT }, 'robots', agentJar);
    const robotsStatus = robots.exchanges.at(-1)?.response.status ?? 0;
    const preflightUrl =
      unverified && !robots.error && robotsStatus >= 200 && robotsStatus < 300 ? robotsUrl : new URL(autoChain.exchanges.at(-1)!.request.url);
    preflight = await followed('OPTIONS', preflightUrl, { accept: STANDARD_ACCEPT, 'access-control-request-method': 'GET', origin: CORS_ORIGIN }, 'preflight', agentJar);
  }

  return {
    hostname: target.host,
    http: httpChain.error ? undefined : httpChain.exchanges,
    https: httpsChain.error ? undefined : httpsChain.exchanges,
    ...(httpChain.error ? { httpError: httpChain.error } : {}),
    ...(httpsChain.error ? { httpsError: httpsChain.error } : {}),
    httpUnavailable,
    httpsUnavailable,
    robots: robots.exchanges,
    preflight: preflight.exchanges,
    auto: autoChain?.exchanges.at(-1),
    cookies: autoJar.all().map((cookie) => cookie.setCookie),
    exchanges: all.sort((a, b) => a.index - b.index),
    errors,
  };
}
