/**
 * `rampart(options)`: validates every option once, precomputes every header value,
 * and returns the instance adapters use to create one context per request.
 */

import { encodeNonce } from './_internal/base64.ts';
import { describe, isPlainObject, rejectUnknownKeys } from './_internal/describe.ts';
import { environmentVariable } from './_internal/environment.ts';
import { isTokenCharacter, skipSpaces } from './_internal/http-syntax.ts';
import { fillRandom } from './_internal/random.ts';
import { errorResponse, isRampartError, RampartError } from './errors.ts';
import {
  compileHeaders,
  compileOverrides,
  type HeaderBlocks,
  type HeaderEntry,
  type HeaderOverrides,
  type HeadersOptions,
  type ResolvedHeaders,
} from './headers/policy.ts';
import { compileReports, type ReportReceiver, type ReportsOptions } from './headers/reports.ts';
import { compileOutgoingCookies, type OutgoingCookieCheck, type OutgoingCookiesOptions } from './cookies/outgoing.ts';
import { BINDING_COOKIE, Csrf, TOKEN_FIELD, type CsrfOptions, type CsrfOutcome } from './csrf/csrf.ts';
import { decodeBinding, newBinding } from './csrf/token.ts';
import { parseKeyring, type KeyInput, type Keyring } from './keys.ts';
import { compileProxyPolicy, direct, type ForwardedFacts, type ProxyPolicy, type TrustProxyOption } from './proxy.ts';
import { Sessions, type Session, type SessionOptions, type SessionShape } from './session/session.ts';
import { getCookie } from './cookies/parse.ts';
import { fillMarkers, SafeHtml } from './html/html.ts';

/** Where log lines go. Default: `console`. */
export interface Logger {
  warn(message: string): void;
  /** Unexpected errors from handlers. Default: `warn`. */
  error?(message: string, error: unknown): void;
}

/** Options of `rampart()`. Every option has a secure default; see each for it. */
export interface RampartOptions {
  /** Default: `'production'` when `NODE_ENV` is `production`, else `'development'`. */
  readonly mode?: 'production' | 'development';
  /**
   * Secret keys, current first; older keys still verify. Default: the
   * `RAMPART_KEYS` environment variable (comma-separated). Required in production.
   */
  readonly keys?: KeyInput | readonly KeyInput[];
  /** The public origin(s) of the site, e.g. `'https://example.com'`. Required in production. */
  readonly origin?: string | readonly string[];
  /** Proxies allowed to set `X-Forwarded-*`: a hop count or addresses/CIDR ranges. Default `false`. */
  readonly trustProxy?: TrustProxyOption;
  /** Redirect plain-HTTP requests to the HTTPS origin. Default: on in production, off in development. */
  readonly httpsRedirect?: boolean | { readonly exempt?: readonly string[] };
  /** The security headers. */
  readonly headers?: HeadersOptions;
  /** The CSP violation report endpoint, or `false` to turn it off. Default on at `/_rampart/csp-report`. */
  readonly reports?: ReportsOptions | false;
  /** Sealed cookie sessions, reached with `await context.session()`. */
  readonly session?: SessionOptions;
  /** What rampart does about cookies the application sets itself. Default: warn once about each insecure one. */
  readonly cookies?: OutgoingCookiesOptions;
  /** CSRF protection, on for every route by default; `false` turns it off (say why in a comment). */
  readonly csrf?: CsrfOptions | false;
  /**
   * HTML made without the engine. `strict: true` refuses (a 500, logged) any 2xx
   * `text/html` response whose body did not come from `context.render()`: "do not
   * generate HTML without the template engine". Default: a warning in development.
   */
  readonly html?: { readonly strict?: boolean };
  /** Where warnings go. Default `console`. */
  readonly logger?: Logger;
  /** The clock, in milliseconds since the epoch. Default `Date.now`; tests inject their own. */
  readonly clock?: () => number;
}

/**
 * What an adapter knows about an incoming request. It is cheaper than a `Request`
 * on runtimes that do not have one already (node:http); `toRequest()` builds one
 * only when rampart needs the body.
 */
export interface IncomingRequest {
  readonly method: string;
  /** The request target in origin form: path and query, e.g. `/a?b=1`. */
  readonly target: string;
  /** True when the connection itself is TLS. */
  readonly tls: boolean;
  /** The peer address of the connection. */
  readonly remoteAddress: string | undefined;
  /** A header value by lowercase name, duplicates joined with `, `. */
  header(lowerName: string): string | undefined;
  /** The whole request as a Web `Request`, body included. */
  toRequest(): Request;
  /**
   * Reads the start of the body for rampart's own use (the CSRF token of a form) and
   * leaves all of it for the application to read, unchanged. `decide` sees the bytes
   * so far (and whether the body has ended) and returns an answer or `'more'`; when
   * it still wants more past `limit` bytes, the answer is `'too_large'`.
   */
  peekBody<Answer>(limit: number, decide: (prefix: Uint8Array, complete: boolean) => Answer | 'more'): Promise<Answer | 'too_large'>;
}

/** A precompiled set of header changes for some routes; see `Rampart.headerPolicy`. */
export class HeaderPolicy {
  readonly #blocks: HeaderBlocks;
  /** @internal Created by `Rampart.headerPolicy`. */
  constructor(blocks: HeaderBlocks, token: symbol) {
    if (token !== POLICY_TOKEN) throw new TypeError('rampart: create header policies with security.headerPolicy(overrides).');
    this.#blocks = blocks;
  }
  /** @internal */
  static blocksOf(policy: HeaderPolicy): HeaderBlocks {
    return policy.#blocks;
  }
}
const POLICY_TOKEN = Symbol('HeaderPolicy');

/** Distinct warnings logged per instance; beyond, new ones are dropped. */
const MAX_DISTINCT_WARNINGS = 1000;

/** Response headers rampart removes whatever the handler did. */
const STRIPPED_HEADERS = ['x-powered-by', 'public-key-pins', 'public-key-pins-report-only', 'expect-ct', 'feature-policy'] as const;

/** The per-request context: one per request, reachable from every adapter. */
export class RequestContext {
  /** This response's CSP nonce: 128 random bits, base64url. Put it on inline `<script>` and `<style>`. */
  readonly nonce: string;
  /** True when the request came over HTTPS (as decided by `trustProxy`). */
  readonly secure: boolean;
  /** The host the client asked for (as decided by `trustProxy`). */
  readonly host: string | undefined;
  /** The client's address (as decided by `trustProxy`). */
  readonly clientAddress: string | undefined;
  readonly #instance: Rampart;
  #blocks: HeaderBlocks;
  readonly #cookieHeader: string | undefined;
  #sessionLoading: Promise<Session> | undefined;
  #session: Session | undefined;
  /** The CSRF binding: its bytes once known, `null` before it is looked up. */
  #binding: Uint8Array | undefined | null;
  /** A binding made in this request, sent as the `__Host-csrf` cookie. */
  #newBinding: string | undefined;
  #minted = false;
  /** The response head is written: cookies can no longer be set. */
  #committed = false;
  #rendered = false;

  /** @internal Created by `Rampart.begin`. */
  constructor(instance: Rampart, blocks: HeaderBlocks, incoming: IncomingRequest, facts: ForwardedFacts | undefined, binding: Uint8Array | undefined | null = null) {
    this.#instance = instance;
    this.#blocks = blocks;
    this.nonce = newNonce();
    // Copied, not kept: a context that reaches its request would make every weak map
    // keyed by the request a cycle that the young-generation GC cannot collect.
    this.secure = facts === undefined ? incoming.tls : facts.secure;
    this.host = facts === undefined ? incoming.header('host') : facts.host;
    this.clientAddress = facts === undefined ? incoming.remoteAddress : facts.clientAddress;
    this.#cookieHeader = incoming.header('cookie');
    this.#binding = binding;
  }

  /**
   * A fresh CSRF token for a form or a `fetch` call of this page: a new value on
   * every call (so a compressed page never repeats a secret), every one valid until
   * it expires or the session is regenerated. Send it as the `csrf_token` form field
   * (first in the form) or the `X-CSRF-Token` header.
   */
  csrfToken(): string {
    const tokens = this.#instance.csrfTokens;
    if (tokens === undefined) throw new TypeError('rampart: csrfToken(): CSRF protection is turned off (csrf: false).');
    if (this.#binding === null) this.#binding = decodeBinding(this.#cookieValue(BINDING_COOKIE));
    if (this.#binding === undefined) {
      if (this.#committed) {
        throw new TypeError(
          'rampart: csrfToken() after the response head was written, for a browser that has no CSRF cookie yet: render the page (and its forms) before writeHead().',
        );
      }
      this.#newBinding = newBinding();
      this.#binding = decodeBinding(this.#newBinding);
    }
    this.#minted = true;
    return tokens.mint(this.#binding!);
  }

  /**
   * A page made with `html`, ready to send: its `<script>` and `<style>` elements
   * get this response's nonce, and its POST forms their CSRF field (a fresh token
   * on every render, the same for the forms of one page). Render before writing the response head (the first token may set a cookie).
   *
   * @example
   * ```ts
   * res.type('html').send(req.rampart.render(html`<h1>${title}</h1>`))
   * ```
   */
  render(page: SafeHtml): string {
    if (!SafeHtml.is(page)) throw new TypeError('rampart: render() takes a page made with the html`…` tag; HTML is not built from strings.');
    this.#rendered = true;
    if (this.#instance.csrfTokens === undefined) return fillMarkers(page, this.nonce, undefined);
    // One token per render, shared by the page's forms: fresh on every response (which
    // is what defeats BREACH), without an HMAC per form.
    let field: string | undefined;
    return fillMarkers(page, this.nonce, () => (field ??= this.csrfField()));
  }

  /**
   * @internal Whether a response may go out as it is, as far as the template engine is
   * concerned: `false` for a 2xx HTML document whose body did not come from `render()`
   * when the instance is strict (it is logged; warned about in development).
   */
  allowsDocument(status: number, contentType: string | undefined, csp: string | undefined): boolean {
    if (this.#rendered || status < 200 || status >= 300 || !isDocument(contentType)) return true;
    // A document that can run and load nothing (rampart's own error pages) is no risk.
    if (csp !== undefined && /(?:^|;)\s*default-src 'none'/.test(csp) && !/script-src/.test(csp)) return true;
    return this.#instance.allowsUnrenderedHtml();
  }

  /** `<input type="hidden" name="csrf_token" value="…">`: put it first in every POST form. */
  csrfField(): string {
    return `<input type="hidden" name="${TOKEN_FIELD}" value="${this.csrfToken()}">`;
  }

  /** `<meta name="csrf-token" content="…">`, for scripts to send as `X-CSRF-Token`. */
  csrfMeta(): string {
    return `<meta name="csrf-token" content="${this.csrfToken()}">`;
  }

  #cookieValue(name: string): string | undefined {
    const header = this.#cookieHeader;
    return header === undefined || !header.includes(name) ? undefined : getCookie(header, name);
  }

  /**
   * The session's identity changed (login, logout): the browser's binding is replaced,
   * so every token minted before stops verifying; tokens minted from now on get the
   * new one. A browser without a binding yet gets one only if a token is minted.
   */
  #rotateBinding(): void {
    if (this.#instance.csrfTokens === undefined) return;
    if (this.#newBinding === undefined && this.#cookieValue(BINDING_COOKIE) === undefined) {
      this.#binding = undefined;
      return;
    }
    this.#newBinding = newBinding();
    this.#binding = decodeBinding(this.#newBinding);
  }

  /**
   * This request's session: the one its cookie carries, or a new, empty one (no
   * cookie is sent until something is stored in it). The same object on every call.
   * Changes are sealed into the response's `Set-Cookie` when its head is written.
   * The data is typed by `SessionData` (declare it once, see `rampart/session`), or
   * per call: `context.session<{ user: string }>()`.
   *
   * @example
   * ```ts
   * const session = await context.session()
   * const user = session.get('user')
   * ```
   */
  session<Data extends object = SessionShape>(): Promise<Session<Data>> {
    this.#sessionLoading ??= this.#instance.sessions.load(this.#cookieHeader, () => this.#rotateBinding()).then((session) => {
      // Loaded after the head was written: it can no longer change, and says so when asked to.
      if (this.#committed) void session.commit(this);
      else this.#session = session;
      return session;
    });
    // The data type is the caller's declaration; the runtime checks only that values are JSON.
    return this.#sessionLoading as unknown as Promise<Session<Data>>;
  }

  /**
   * @internal The `Set-Cookie` values rampart adds to this response (the session's,
   * when it changed). Synchronous where the runtime's crypto is (node:crypto); after
   * this, the session can no longer change.
   */
  responseCookies(): readonly string[] | Promise<readonly string[]> {
    this.#committed = true;
    const binding = this.#newBinding === undefined ? undefined : bindingCookie(this.#newBinding);
    const session = this.#session;
    const cookie = session === undefined ? undefined : session.commit(this);
    if (cookie instanceof Promise) return cookie.then((value) => withBinding(value, binding));
    return withBinding(cookie, binding);
  }

  /** @internal True when the response must not be stored by any cache: it carries a token or sets a cookie. */
  get privateResponse(): boolean {
    return this.#minted || this.#newBinding !== undefined;
  }

  /**
   * @internal The `Cache-Control` of a response that sets a cookie or carries a token:
   * the handler's own when it already keeps the response out of shared caches (see
   * `forbidsSharedStorage`), else `no-store` (nothing was set) or `private, no-store`
   * (a shared cache would hand one user's cookie or token to the next).
   */
  privateCacheControl(current: string | undefined): string {
    if (current === undefined) return 'no-store';
    if (forbidsSharedStorage(current, true)) return current;
    this.#instance.warnOnce(
      'rampart: a response that sets a cookie or carries a CSRF token had a shared-cache policy (Cache-Control without an unqualified private or no-store); it was sent as "private, no-store" instead.',
    );
    return 'private, no-store';
  }

  /**
   * @internal The value of a field addressed to shared caches only (`CDN-Cache-Control`,
   * `Surrogate-Control`, any `…-Cache-Control`; see `isSharedCacheField`) on a response
   * that sets a cookie or carries a token: the handler's own when it says an unqualified
   * `no-store`, else `no-store`. A CDN obeys such a field instead of `Cache-Control`, so
   * a `private` there would not keep the response out of it.
   */
  privateSharedCacheField(lowerName: string, current: string): string {
    if (forbidsSharedStorage(current, false)) return current;
    this.#instance.warnOnce(
      `rampart: a response that sets a cookie or carries a CSRF token had a ${lowerName} header that lets a shared cache store it; it was sent as "no-store" instead.`,
    );
    return 'no-store';
  }

  /** @internal A `Set-Cookie` value the application set, as rampart lets it leave (checked, or fixed). */
  outgoingCookie(setCookie: string): string {
    return this.#instance.checkCookie(setCookie);
  }

  /**
   * Changes this response's security headers: pass a policy made at startup with
   * `security.headerPolicy(...)` (precomputed, the fast way) or overrides directly.
   *
   * @example
   * ```ts
   * const embeddable = security.headerPolicy({ xFrameOptions: false, contentSecurityPolicy: { set: { 'frame-ancestors': ['https://partner.example'] } } })
   * app.get('/widget', (req, res) => { req.rampart.useHeaders(embeddable); ... })
   * ```
   */
  useHeaders(policy: HeaderPolicy | HeaderOverrides): void {
    this.#blocks = HeaderPolicy.blocksOf(policy instanceof HeaderPolicy ? policy : this.#instance.headerPolicy(policy));
  }

  /**
   * The security headers for a response of this content type, as a flat list of
   * `[lowercaseName, Name, value]` triplets. For adapter authors; a header the
   * handler already set is to be left as the handler set it.
   */
  securityHeaders(contentType: string | null | undefined): readonly string[] {
    return materialize(this.#entries(contentType), this.nonce);
  }

  /**
   * @internal Appends `name, value` pairs of the security headers whose lowercase
   * name is not in `present` to `flat`: what every adapter writes, without the
   * triplet list `securityHeaders` builds.
   */
  appendSecurityHeaders(contentType: string | undefined, flat: unknown[], present: readonly string[]): void {
    const entries = this.#entries(contentType);
    for (let index = 0; index < entries.length; index++) {
      const { lowerName, name, value } = entries[index]!;
      if (!present.includes(lowerName)) flat.push(name, typeof value === 'string' ? value : spliceNonce(value, this.nonce));
    }
  }

  #entries(contentType: string | null | undefined): readonly HeaderEntry[] {
    const blocks = this.#blocks;
    if (isDocument(contentType)) return this.secure ? blocks.htmlSecure : blocks.htmlInsecure;
    return this.secure ? blocks.otherSecure : blocks.otherInsecure;
  }
}

const NO_COOKIES: readonly string[] = Object.freeze([]);

/**
 * True for a response header that tells shared caches only how to store the response,
 * and that they obey instead of `Cache-Control`: `CDN-Cache-Control` and the targeted
 * fields named like it (RFC 9213: `Cloudflare-CDN-Cache-Control`, `Akamai-Cache-Control`),
 * and `Surrogate-Control` (Fastly, Akamai, Varnish). `lowerName` is lowercase.
 *
 * @internal For adapters: on a response that sets a cookie or carries a token, each is
 * replaced by `RequestContext.privateSharedCacheField`.
 */
export function isSharedCacheField(lowerName: string): boolean {
  return lowerName === 'surrogate-control' || (lowerName.endsWith('-cache-control') && lowerName.length > 14);
}

/**
 * Whether a cache policy keeps a response out of every shared cache. The directives
 * are read by RFC 9111 §5.2 (a list of `name[=value]`, the value a token or a quoted
 * string), so a `private` inside a quoted value is text, not a directive. What counts:
 * an unqualified `no-store`; or, when `privateCounts` (in `Cache-Control`), an
 * unqualified `private` that no `public` or `s-maxage` contradicts. A qualified
 * `private="Set-Cookie"` or `no-cache="…"` lets a shared cache store everything but the
 * fields named, and `no-cache` alone lets it store and revalidate (a 304 would hand
 * out the stored token), so neither counts. A value that does not parse counts for
 * nothing, and a quoted string with a backslash does not parse: RFC 9110 reads `\"` as
 * a quote inside the string, other readers as its end, and the two would see
 * different directives.
 */
function forbidsSharedStorage(value: string, privateCounts: boolean): boolean {
  let noStore = false;
  let isPrivate = false;
  let sharedAllowed = false;
  const length = value.length;
  let position = 0;
  // #element = [ element ] *( OWS "," OWS [ element ] ), element = token [ "=" ( token / quoted-string ) ]
  while (position < length) {
    position = skipSpaces(value, position);
    if (position === length) break;
    if (value.charCodeAt(position) === 0x2c) {
      position++;
      continue;
    }
    const nameStart = position;
    while (position < length && isTokenCharacter(value.charCodeAt(position))) position++;
    if (position === nameStart) return false;
    const name = value.slice(nameStart, position).toLowerCase();
    let qualified = false;
    position = skipSpaces(value, position);
    if (value.charCodeAt(position) === 0x3d) {
      qualified = true;
      position = skipSpaces(value, position + 1);
      if (value.charCodeAt(position) === 0x22) {
        const close = value.indexOf('"', position + 1);
        if (close === -1 || value.slice(position + 1, close).includes('\\')) return false;
        position = close + 1;
      } else {
        const start = position;
        while (position < length && isTokenCharacter(value.charCodeAt(position))) position++;
        if (position === start) return false;
      }
      position = skipSpaces(value, position);
    }
    if (position < length && value.charCodeAt(position) !== 0x2c) return false;
    if (name === 'no-store' && !qualified) noStore = true;
    else if (name === 'private' && !qualified) isPrivate = true;
    else if (name === 'public' || name === 's-maxage') sharedAllowed = true;
  }
  return noStore || (privateCounts && isPrivate && !sharedAllowed);
}

/**
 * The `Set-Cookie` of a CSRF binding. Persistent (400 days, the most browsers keep), so
 * tabs restored after a browser restart keep working; login and logout replace it.
 */
function bindingCookie(value: string): string {
  return `${BINDING_COOKIE}=${value}; Path=/; Max-Age=34560000; Secure; HttpOnly; SameSite=Lax`;
}

function withBinding(session: string | undefined, binding: string | undefined): readonly string[] {
  if (session === undefined) return binding === undefined ? NO_COOKIES : [binding];
  return binding === undefined ? [session] : [session, binding];
}
const NONCE_BYTES = new Uint8Array(16);
function newNonce(): string {
  return encodeNonce(fillRandom(NONCE_BYTES));
}

/** `parts.join(nonce)`, by concatenation: V8 keeps the result as a rope until it is written. */
function spliceNonce(parts: readonly string[], nonce: string): string {
  let value = parts[0]!;
  for (let index = 1; index < parts.length; index++) value += nonce + parts[index]!;
  return value;
}

function materialize(entries: readonly HeaderEntry[], nonce: string): string[] {
  const flat = new Array<string>(entries.length * 3);
  for (let index = 0; index < entries.length; index++) {
    const { lowerName, name, value } = entries[index]!;
    flat[index * 3] = lowerName;
    flat[index * 3 + 1] = name;
    flat[index * 3 + 2] = typeof value === 'string' ? value : spliceNonce(value, nonce);
  }
  return flat;
}

/** True for the media types browsers render as a document that can run script. */
function isDocument(contentType: string | null | undefined): boolean {
  if (!contentType) return false;
  // The common spellings first, without allocating.
  if (contentType.startsWith('text/html') && (contentType.length === 9 || contentType[9] === ';')) return true;
  const end = contentType.indexOf(';');
  const type = (end === -1 ? contentType : contentType.slice(0, end)).trim().toLowerCase();
  return type === 'text/html' || type === 'application/xhtml+xml';
}

function readMode(option: unknown): 'production' | 'development' {
  if (option === 'production' || option === 'development') return option;
  if (option !== undefined) throw new TypeError(`rampart: mode: expected "production" or "development", got ${describe(option)}.`);
  return environmentVariable('NODE_ENV') === 'production' ? 'production' : 'development';
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function readOrigins(option: unknown, production: boolean): URL[] {
  if (option === undefined) {
    if (production) {
      throw new TypeError(
        'rampart: origin: production mode needs the public origin of the site, e.g. origin: "https://example.com". It decides where HTTP is redirected and which requests are same-origin.',
      );
    }
    return [];
  }
  const list = typeof option === 'string' ? [option] : option;
  if (!Array.isArray(list) || list.length === 0) throw new TypeError(`rampart: origin: expected an origin or a list of origins, got ${describe(option)}.`);
  return (list as unknown[]).map((item, index) => {
    const where = list.length === 1 ? 'origin' : `origin[${index}]`;
    let url: URL;
    try {
      if (typeof item !== 'string') throw new TypeError('not a string');
      url = new URL(item);
    } catch {
      throw new TypeError(`rampart: ${where}: ${describe(item)} is not an absolute URL like "https://example.com".`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`rampart: ${where}: ${describe(item)} must use https: (or http: for local development).`);
    if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
      throw new TypeError(`rampart: ${where}: ${describe(item)} must be an origin only (scheme, host and port), like ${JSON.stringify(url.origin)}.`);
    }
    if (production && url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
      throw new TypeError(`rampart: ${where}: ${describe(item)} uses plain HTTP in production; cookies and CSRF protection need https:.`);
    }
    return url;
  });
}

function readRedirect(option: unknown, production: boolean, origins: readonly URL[]): { exempt: ReadonlySet<string> } | undefined {
  const httpsOrigin = origins.some((origin) => origin.protocol === 'https:');
  if (option === undefined) return production && httpsOrigin ? { exempt: new Set() } : undefined;
  if (option === false) return undefined;
  if (option !== true && !isPlainObject(option)) throw new TypeError(`rampart: httpsRedirect: expected true, false or { exempt }, got ${describe(option)}.`);
  if (!httpsOrigin) throw new TypeError('rampart: httpsRedirect: needs an https: origin to redirect to; set the origin option.');
  if (option === true) return { exempt: new Set() };
  rejectUnknownKeys(option, ['exempt'], 'httpsRedirect.');
  const exempt = option.exempt ?? [];
  if (!Array.isArray(exempt) || exempt.some((path) => typeof path !== 'string' || !path.startsWith('/'))) {
    throw new TypeError(`rampart: httpsRedirect.exempt: expected exact paths like "/healthz", got ${describe(exempt)}.`);
  }
  return { exempt: new Set(exempt as string[]) };
}

const OPTION_NAMES = ['mode', 'keys', 'origin', 'trustProxy', 'httpsRedirect', 'headers', 'reports', 'session', 'cookies', 'csrf', 'html', 'logger', 'clock'];

function readHtmlOptions(option: unknown): boolean {
  if (option === undefined) return false;
  if (!isPlainObject(option)) throw new TypeError(`rampart: html: expected { strict: true } or nothing, got ${describe(option)}.`);
  rejectUnknownKeys(option, ['strict'], 'html.');
  if (option.strict !== undefined && typeof option.strict !== 'boolean') throw new TypeError(`rampart: html.strict: expected true or false, got ${describe(option.strict)}.`);
  return option.strict === true;
}

/** The origin a request names: its scheme and Host (used only in development without a configured origin). */
function siteOrigin(incoming: IncomingRequest, facts: ForwardedFacts | undefined): string | undefined {
  const host = facts === undefined ? incoming.header('host') : facts.host;
  if (host === undefined) return undefined;
  return `${(facts === undefined ? incoming.tls : facts.secure) ? 'https' : 'http'}://${host.toLowerCase()}`;
}

function pathOf(target: string): string {
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}

/**
 * A configured rampart instance. Create it once at startup with `rampart(options)`
 * and hand it to an adapter.
 */
export class Rampart {
  readonly mode: 'production' | 'development';
  /** The configured public origins (`https://example.com`), empty in development when none is set. */
  readonly origins: readonly string[];
  /** @internal The keyring, for the modules that derive subkeys from it. */
  readonly keyring: Keyring;
  readonly #logger: Logger;
  readonly #headers: ResolvedHeaders;
  readonly #proxy: ProxyPolicy | undefined;
  readonly #redirect: { exempt: ReadonlySet<string> } | undefined;
  readonly #reports: ReportReceiver | undefined;
  readonly #httpsOrigins: readonly URL[];
  readonly #overrides = new WeakMap<object, HeaderPolicy>();
  readonly #warned = new Set<string>();
  readonly #outgoingCookie: OutgoingCookieCheck | undefined;
  /** @internal The session configuration. */
  readonly sessions: Sessions;
  readonly #csrf: Csrf | undefined;
  readonly #strictHtml: boolean;

  /** @internal Use `rampart(options)`. */
  constructor(options: RampartOptions = {}) {
    if (!isPlainObject(options as unknown)) throw new TypeError(`rampart: expected an options object, got ${describe(options)}.`);
    rejectUnknownKeys(options, OPTION_NAMES, '');
    const logger = options.logger ?? console;
    if (typeof logger?.warn !== 'function') throw new TypeError('rampart: logger: expected an object with a warn(message) method.');
    this.#logger = logger;
    const warn = (message: string): void => logger.warn(message);
    const clock = options.clock ?? Date.now;
    if (typeof clock !== 'function') throw new TypeError(`rampart: clock: expected a function returning milliseconds, got ${describe(clock)}.`);
    this.mode = readMode(options.mode);
    const production = this.mode === 'production';
    this.keyring = parseKeyring(options.keys, production, warn);
    const origins = readOrigins(options.origin, production);
    this.origins = origins.map((origin) => origin.origin);
    this.#httpsOrigins = origins.filter((origin) => origin.protocol === 'https:');
    const proxy = compileProxyPolicy(options.trustProxy);
    this.#proxy = proxy === direct ? undefined : proxy;
    this.#redirect = readRedirect(options.httpsRedirect, production, origins);
    this.#reports = compileReports(options.reports, warn, clock);
    this.#headers = compileHeaders(options.headers, { production, reportPath: this.#reports?.path, warn });
    const warnOnce = (message: string): void => this.warnOnce(message);
    this.sessions = new Sessions(options.session, { keyring: this.keyring, clock, warnOnce });
    this.#outgoingCookie = compileOutgoingCookies(options.cookies, warnOnce);
    this.#csrf = options.csrf === false ? undefined : new Csrf(options.csrf, { keyring: this.keyring, clock, origins: this.origins, warnOnce });
    this.#strictHtml = readHtmlOptions(options.html);
  }

  /** @internal Decides (and reports) a 2xx HTML response that did not come from `render()`. */
  allowsUnrenderedHtml(): boolean {
    if (this.#strictHtml) {
      this.warnOnce('rampart: refused a text/html response that was not made with context.render(html`…`) (html.strict); it was answered with a 500.');
      return false;
    }
    if (this.mode === 'development') {
      this.warnOnce('rampart: a text/html response was not made with context.render(html`…`); its HTML was built without the template engine. Set html: { strict: true } to refuse such responses.');
    }
    return true;
  }

  /** @internal The CSRF token minter, `undefined` when CSRF protection is off. */
  get csrfTokens(): Csrf['tokens'] | undefined {
    return this.#csrf?.tokens;
  }

  /** @internal Checks (or fixes, with `cookies.outgoing: 'enforce'`) a `Set-Cookie` the application set. */
  checkCookie(setCookie: string): string {
    return this.#outgoingCookie === undefined ? setCookie : this.#outgoingCookie(setCookie);
  }

  /** @internal True when application cookies are checked at all. */
  get checksCookies(): boolean {
    return this.#outgoingCookie !== undefined;
  }

  /**
   * Precompiles header changes for some routes, once, at startup. Apply them per
   * response with `context.useHeaders(policy)`.
   *
   * @example
   * ```ts
   * const withCdnImages = security.headerPolicy({ contentSecurityPolicy: { add: { 'img-src': ['https://cdn.example'] } } })
   * ```
   */
  headerPolicy(overrides: HeaderOverrides): HeaderPolicy {
    if (overrides !== null && typeof overrides === 'object') {
      const cached = this.#overrides.get(overrides);
      if (cached) return cached;
    }
    const environment = { production: this.mode === 'production', reportPath: this.#reports?.path, warn: (message: string) => this.#logger.warn(message) };
    const policy = new HeaderPolicy(compileOverrides(this.#headers, overrides, environment), POLICY_TOKEN);
    this.#overrides.set(overrides, policy);
    return policy;
  }

  /**
   * Starts handling a request. Returns the request's context, or a response to
   * send instead of calling the handler (the HTTPS redirect, the report endpoint).
   * For adapter authors.
   */
  begin(incoming: IncomingRequest): RequestContext | Response | Promise<RequestContext | Response> {
    const facts = this.#proxy?.(incoming);
    if (this.#reports !== undefined || this.#redirect !== undefined) {
      const path = pathOf(incoming.target);
      const secure = facts === undefined ? incoming.tls : facts.secure;
      if (this.#redirect !== undefined && !secure && !this.#redirect.exempt.has(path)) {
        return this.#redirectToHttps(incoming.target, (facts ?? direct(incoming)).host);
      }
      if (this.#reports !== undefined && path === this.#reports.path) {
        return this.#receiveReport(incoming, facts ?? direct(incoming));
      }
    }
    const csrf = this.#csrf;
    if (csrf === undefined) return new RequestContext(this, this.#headers.blocks, incoming, facts);
    const outcome = csrf.check(incoming, this.origins.length === 0 ? siteOrigin(incoming, facts) : undefined);
    if (outcome instanceof Promise) return outcome.then((settled) => this.#afterCsrf(settled, incoming, facts));
    return this.#afterCsrf(outcome, incoming, facts);
  }

  #afterCsrf(outcome: CsrfOutcome, incoming: IncomingRequest, facts: ForwardedFacts | undefined): RequestContext | Response {
    if (outcome.ok) return new RequestContext(this, this.#headers.blocks, incoming, facts, outcome.binding ?? null);
    const error = new RampartError(outcome.code);
    const response = errorResponse(error, incoming.header('accept'));
    response.headers.set('Vary', 'Sec-Fetch-Site, Origin, Cookie');
    // A page of ours whose token went stale (several hours in a tab, a login in another
    // tab): the client gets a fresh token to retry once with.
    const fromUs = outcome.passed === 'same-origin' || outcome.passed === 'origin' || outcome.passed === 'referer';
    if (error.retryable && fromUs && this.#csrf !== undefined) {
      let binding = outcome.binding;
      if (binding === undefined) {
        const value = newBinding();
        binding = decodeBinding(value)!;
        response.headers.append('Set-Cookie', bindingCookie(value));
      }
      response.headers.set('X-CSRF-Token', this.#csrf.tokens.mint(binding));
    }
    return this.#withMinimalHeaders(response, (facts ?? direct(incoming)).secure);
  }

  /**
   * Adds the security headers to a response the handler produced, leaving headers
   * the handler set itself as they are (except `X-Powered-By` and retired headers
   * such as `Public-Key-Pins`, which are removed). For adapter authors.
   */
  finish(context: RequestContext, response: Response): Response | Promise<Response> {
    const cookies = context.responseCookies();
    if (cookies instanceof Promise) return cookies.then((resolved) => this.#finish(context, response, resolved));
    return this.#finish(context, response, cookies);
  }

  #finish(context: RequestContext, response: Response, cookies: readonly string[]): Response {
    if (!context.allowsDocument(response.status, response.headers.get('content-type') ?? undefined, response.headers.get('content-security-policy') ?? undefined)) {
      void response.body?.cancel();
      return this.#withMinimalHeaders(new Response('Internal Server Error\n', { status: 500, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } }), context.secure);
    }
    let target = response;
    try {
      applyHeaders(context, target.headers, this, cookies);
    } catch {
      // Responses from fetch() or Response.redirect() have immutable headers: copy.
      target = new Response(response.body, response);
      applyHeaders(context, target.headers, this, cookies);
    }
    return target;
  }

  /**
   * The response for an error a handler threw: a rampart error's own response, or a
   * plain 500 (logged; never the message or stack) for anything else. For adapter authors.
   */
  failureResponse(error: unknown, accept: string | null | undefined): Response {
    if (isRampartError(error)) return errorResponse(error, accept);
    if (this.#logger.error) this.#logger.error('rampart: a request handler failed', error);
    else this.#logger.warn(`rampart: a request handler failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return this.#withMinimalHeaders(
      new Response('Internal Server Error\n', { status: 500, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } }),
      false,
    );
  }

  /** @internal Warns once per distinct message. */
  warnOnce(message: string): void {
    if (this.#warned.has(message)) return;
    // Bounded: a message that varied with request data could not grow memory without end.
    if (this.#warned.size >= MAX_DISTINCT_WARNINGS) return;
    this.#warned.add(message);
    this.#logger.warn(message);
  }

  #redirectToHttps(target: string, host: string | undefined): Response {
    const requested = host?.replace(/:\d+$/, '').toLowerCase();
    const origin = this.#httpsOrigins.find((candidate) => candidate.hostname === requested) ?? this.#httpsOrigins[0]!;
    const location = `${origin.origin}${target.startsWith('/') ? target : '/'}`;
    return this.#withMinimalHeaders(new Response(null, { status: 308, headers: { Location: location, 'Cache-Control': 'no-store' } }), false);
  }

  async #receiveReport(incoming: IncomingRequest, facts: ForwardedFacts): Promise<Response> {
    let response: Response;
    try {
      response = await this.#reports!.receive(incoming.toRequest(), facts.clientAddress);
    } catch {
      // A request that cannot even be read as a Request is a malformed report, not a crash.
      response = errorResponse(new RampartError('csp_report_malformed'), incoming.header('accept'));
    }
    return this.#withMinimalHeaders(response, facts.secure);
  }

  /**
   * @internal The headers of rampart's own minimal responses (a 500, a redirect):
   * `default-src 'none'` and the rest, for an answer a framework writes before any
   * request of rampart's exists (see `protectUnhooked` in the node adapters).
   */
  minimalHeaders(secure: boolean): readonly (readonly [string, string])[] {
    const entries = secure ? this.#headers.blocks.otherSecure : this.#headers.blocks.otherInsecure;
    const minimal: [string, string][] = [];
    for (const { name, value } of entries) if (typeof value === 'string') minimal.push([name, value]);
    return minimal;
  }

  #withMinimalHeaders(response: Response, secure: boolean): Response {
    const blocks = this.#headers.blocks;
    const entries = secure ? blocks.otherSecure : blocks.otherInsecure;
    for (const { name, value } of entries) {
      if (!response.headers.has(name) && typeof value === 'string') response.headers.set(name, value);
    }
    return response;
  }
}

function applyHeaders(context: RequestContext, headers: Headers, instance: Rampart, cookies: readonly string[]): void {
  // One pass over what the handler set: cheaper than a has() per security header.
  const present: string[] = [];
  let contentType: string | undefined;
  headers.forEach((value, name) => {
    present.push(name);
    if (name === 'content-type') contentType = value;
  });
  for (const name of STRIPPED_HEADERS) {
    if (!present.includes(name)) continue;
    headers.delete(name);
    if (name !== 'x-powered-by') instance.warnOnce(`rampart: removed the ${name} header a handler set; browsers no longer support it.`);
  }
  if (instance.checksCookies && present.includes('set-cookie')) {
    const set = headers.getSetCookie();
    const checked = set.map((value) => instance.checkCookie(value));
    if (checked.some((value, index) => value !== set[index])) {
      headers.delete('set-cookie');
      for (const value of checked) headers.append('set-cookie', value);
    }
  }
  const missing: string[] = [];
  context.appendSecurityHeaders(contentType, missing, present);
  for (let index = 0; index < missing.length; index += 2) headers.set(missing[index]!, missing[index + 1]!);
  for (const cookie of cookies) headers.append('set-cookie', cookie);
  // A cache must never hand one user's cookie or CSRF token to another: neither the
  // browser's own nor a shared one, which obeys its own field when there is one.
  if (cookies.length > 0 || context.privateResponse) {
    const current = headers.get('cache-control') ?? undefined;
    const policy = context.privateCacheControl(current);
    if (policy !== current) headers.set('cache-control', policy);
    for (const name of present) {
      if (!isSharedCacheField(name)) continue;
      const field = headers.get(name)!;
      const fixed = context.privateSharedCacheField(name, field);
      if (fixed !== field) headers.set(name, fixed);
    }
  }
}

/**
 * Creates a rampart instance: validates every option (a mistake throws here, at
 * startup, naming the option and the fix) and precomputes every header.
 *
 * @example
 * ```ts
 * import { rampart } from 'rampart'
 * const security = rampart({ origin: 'https://example.com', trustProxy: 1 })
 * ```
 */
export function rampart(options?: RampartOptions): Rampart {
  return new Rampart(options);
}

export { STRIPPED_HEADERS };
