/**
 * A cookie jar that behaves like the one Observatory 1.4.8 keeps (tough-cookie 5
 * behind http-cookie-agent): the same Set-Cookie parsing, the same refusals
 * (public-suffix and foreign `Domain`, `__Secure-`/`__Host-` prefixes, silently),
 * the same replacement of a cookie by name, domain and path, and the same
 * expiry rule: an expired cookie stays in the jar until a later request it would
 * be sent with removes it. Observatory's cookie test reads the whole jar, expired
 * cookies included, so this timing matters.
 *
 * The retriever uses it too, to send cookies back the way Observatory does.
 */

import { hostnameOf, registrableDomain } from './domain.ts';

/** A cookie in the jar, with tough-cookie's field semantics. */
export interface JarCookie {
  readonly key: string;
  readonly value: string;
  /** `Expires`, or `'Infinity'` when absent. */
  readonly expires: Date | 'Infinity';
  /** `Max-Age` in seconds (`'Infinity'`/`'-Infinity'` as tough-cookie stores them), or `null` when absent. */
  readonly maxAge: number | 'Infinity' | '-Infinity' | null;
  readonly domain: string;
  readonly path: string;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  /** `strict`, `lax`, `none`, or `undefined` when absent or not one of those. */
  readonly sameSite: 'strict' | 'lax' | 'none' | undefined;
  readonly hostOnly: boolean;
  /** When it was stored (or last sent: tough-cookie counts Max-Age from the last access). */
  readonly lastAccessed: number;
  /** Insertion order, kept when a cookie is replaced. */
  readonly creationIndex: number;
  /** The Set-Cookie line it came from. */
  readonly setCookie: string;
}

interface ParsedCookie {
  key: string;
  value: string;
  expires: Date | 'Infinity';
  maxAge: number | 'Infinity' | '-Infinity' | null;
  domain: string | null;
  path: string | null;
  secure: boolean;
  httpOnly: boolean;
  sameSite: 'strict' | 'lax' | 'none' | undefined;
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\x00-\x1F]/;
const TERMINATORS = ['\n', '\r', '\0'];

/** Parses one Set-Cookie line like tough-cookie's `Cookie.parse` (strict mode); `undefined` when it refuses it. */
export function parseSetCookie(line: string): ParsedCookie | undefined {
  if (line === '') return undefined;
  const text = line.trim();
  const firstSemi = text.indexOf(';');
  let pair = firstSemi === -1 ? text : text.slice(0, firstSemi);
  for (const terminator of TERMINATORS) {
    const at = pair.indexOf(terminator);
    if (at !== -1) pair = pair.slice(0, at);
  }
  const firstEq = pair.indexOf('=');
  if (firstEq <= 0) return undefined;
  const key = pair.slice(0, firstEq).trim();
  const value = pair.slice(firstEq + 1).trim();
  if (CONTROL_CHARS.test(key) || CONTROL_CHARS.test(value)) return undefined;
  const cookie: ParsedCookie = {
    key,
    value,
    expires: 'Infinity',
    maxAge: null,
    domain: null,
    path: null,
    secure: false,
    httpOnly: false,
    sameSite: undefined,
  };
  if (firstSemi === -1) return cookie;
  const unparsed = text.slice(firstSemi + 1).trim();
  if (unparsed.length === 0) return cookie;
  for (const raw of unparsed.split(';')) {
    const attribute = raw.trim();
    if (attribute.length === 0) continue;
    const separator = attribute.indexOf('=');
    const name = (separator === -1 ? attribute : attribute.slice(0, separator)).trim().toLowerCase();
    let attributeValue = separator === -1 ? null : attribute.slice(separator + 1);
    if (attributeValue) attributeValue = attributeValue.trim();
    switch (name) {
      case 'expires':
        if (attributeValue) {
          const date = parseCookieDate(attributeValue);
          if (date) cookie.expires = date;
        }
        break;
      case 'max-age':
        if (attributeValue && /^-?[0-9]+$/.test(attributeValue)) {
          const delta = parseInt(attributeValue, 10);
          cookie.maxAge = delta === Infinity ? 'Infinity' : delta === -Infinity ? '-Infinity' : delta;
        }
        break;
      case 'domain':
        if (attributeValue) {
          const domain = attributeValue.trim().replace(/^\./, '');
          if (domain) cookie.domain = domain.toLowerCase();
        }
        break;
      case 'path':
        cookie.path = attributeValue && attributeValue[0] === '/' ? attributeValue : null;
        break;
      case 'secure':
        cookie.secure = true;
        break;
      case 'httponly':
        cookie.httpOnly = true;
        break;
      case 'samesite': {
        const sameSite = attributeValue ? attributeValue.toLowerCase() : '';
        cookie.sameSite = sameSite === 'strict' || sameSite === 'lax' || sameSite === 'none' ? sameSite : undefined;
        break;
      }
      default:
        break;
    }
  }
  return cookie;
}

// RFC 6265 §5.1.1, as tough-cookie implements it.
const DATE_DELIMITER = /[\t\x20-\x2F\x3B-\x40\x5B-\x60\x7B-\x7E]/;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

function parseDigits(token: string, minDigits: number, maxDigits: number, trailingOk: boolean): number | undefined {
  let count = 0;
  while (count < token.length) {
    const code = token.charCodeAt(count);
    if (code <= 0x2f || code >= 0x3a) break;
    count++;
  }
  if (count < minDigits || count > maxDigits) return undefined;
  if (!trailingOk && count !== token.length) return undefined;
  return parseInt(token.slice(0, count), 10);
}

function parseTime(token: string): [number, number, number] | undefined {
  const parts = token.split(':');
  if (parts.length !== 3) return undefined;
  const result: [number, number, number] = [0, 0, 0];
  for (let index = 0; index < 3; index++) {
    const number = parseDigits(parts[index] ?? '', 1, 2, index === 2);
    if (number === undefined) return undefined;
    result[index] = number;
  }
  return result;
}

/** A cookie date (`Expires`), or `undefined` when it does not parse. */
export function parseCookieDate(text: string): Date | undefined {
  let time: [number, number, number] | undefined;
  let day: number | undefined;
  let month: number | undefined;
  let year: number | undefined;
  for (const raw of text.split(DATE_DELIMITER)) {
    const token = raw.trim();
    if (!token.length) continue;
    if (time === undefined) {
      const parsed = parseTime(token);
      if (parsed) {
        time = parsed;
        continue;
      }
    }
    if (day === undefined) {
      const parsed = parseDigits(token, 1, 2, true);
      if (parsed !== undefined) {
        day = parsed;
        continue;
      }
    }
    if (month === undefined) {
      const index = MONTHS.indexOf(token.slice(0, 3).toLowerCase());
      if (index !== -1) {
        month = index;
        continue;
      }
    }
    if (year === undefined) {
      const parsed = parseDigits(token, 2, 4, true);
      if (parsed !== undefined) {
        year = parsed >= 70 && parsed <= 99 ? parsed + 1900 : parsed >= 0 && parsed <= 69 ? parsed + 2000 : parsed;
      }
    }
  }
  if (time === undefined || day === undefined || month === undefined || year === undefined) return undefined;
  if (day < 1 || day > 31 || year < 1601 || time[0] > 23 || time[1] > 59 || time[2] > 59) return undefined;
  return new Date(Date.UTC(year, month, day, time[0], time[1], time[2]));
}

/** tough-cookie's `canonicalDomain`: trimmed, no leading dot, lowercase (IDNA for non-ASCII). */
function canonicalDomain(domain: string): string {
  let text = domain.trim().replace(/^\./, '');
  if (text.includes(':')) {
    const bracketed = `[${text.replace(/^\[/, '').replace(/\]$/, '')}]`;
    try {
      return new URL(`http://${bracketed}`).hostname.slice(1, -1);
    } catch {
      return text.toLowerCase();
    }
  }
  // eslint-disable-next-line no-control-regex
  if (/[^\u0001-\u007f]/.test(text)) {
    try {
      text = new URL(`http://${text}`).hostname;
    } catch {
      // tough-cookie throws here and the agent ignores the cookie; an unmatchable domain does the same.
      return '\u0000';
    }
  }
  return text.toLowerCase();
}

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)){3}$/;

/** tough-cookie's `domainMatch` without canonicalisation. */
function domainMatch(host: string, cookieDomain: string): boolean {
  if (host === cookieDomain) return true;
  const index = host.lastIndexOf(cookieDomain);
  if (index <= 0) return false;
  if (host.length !== cookieDomain.length + index) return false;
  if (host.substring(index - 1, index) !== '.') return false;
  return !(IPV4.test(host) || host.includes(':'));
}

function pathMatch(requestPath: string, cookiePath: string): boolean {
  if (cookiePath === requestPath) return true;
  if (requestPath.indexOf(cookiePath) === 0) {
    if (cookiePath.endsWith('/')) return true;
    if (requestPath[cookiePath.length] === '/') return true;
  }
  return false;
}

function defaultPath(path: string): string {
  if (!path || !path.startsWith('/')) return '/';
  if (path === '/') return path;
  const rightSlash = path.lastIndexOf('/');
  if (rightSlash === 0) return '/';
  return path.slice(0, rightSlash);
}

const SPECIAL_USE_DOMAINS = ['local', 'example', 'invalid', 'localhost', 'test'];
const SPECIAL_TREATMENT_DOMAINS = ['localhost', 'invalid'];

/** tough-cookie's `getPublicSuffix` (with `allowSpecialUseDomain`): the registrable part of a cookie domain, if any. */
function cookieDomainSuffix(domain: string): string | undefined {
  const parts = domain.split('.');
  const top = parts[parts.length - 1];
  if (top !== undefined && SPECIAL_USE_DOMAINS.includes(top)) {
    if (parts.length > 1) return `${parts[parts.length - 2]}.${top}`;
    if (SPECIAL_TREATMENT_DOMAINS.includes(top)) return top;
  }
  return registrableDomain(domain, { privateSuffixes: true }) ?? undefined;
}

function expiryTime(cookie: JarCookie): number {
  if (cookie.maxAge !== null) {
    const maxAge = typeof cookie.maxAge === 'number' ? cookie.maxAge : -Infinity;
    return maxAge <= 0 ? -Infinity : cookie.lastAccessed + maxAge * 1000;
  }
  return cookie.expires === 'Infinity' ? Infinity : cookie.expires.getTime();
}

/**
 * The request as the cookie agent describes it to tough-cookie. http-cookie-agent
 * formats the request path (query included) as a URL *pathname*, so a `?` becomes
 * `%3F` and the query counts as part of the path (for the default cookie path).
 */
function requestContext(url: string): { host: string; path: string; secure: boolean } {
  const parsed = new URL(url);
  const path = `${parsed.pathname}${parsed.search}`.replace(/\?/g, '%3F');
  return { host: canonicalDomain(hostnameOf(parsed.href)), path: path || '/', secure: parsed.protocol === 'https:' || parsed.protocol === 'wss:' };
}

/** A cookie jar with tough-cookie's behaviour (see the module comment). */
export class CookieJar {
  readonly #cookies = new Map<string, JarCookie>();
  #nextIndex = 0;

  /** Stores one Set-Cookie line received from `url`; refused cookies are dropped silently, as the agent does. */
  setCookie(line: string, url: string, now: number = Date.now()): void {
    const parsed = parseSetCookie(line);
    if (!parsed) return;
    const context = requestContext(url);
    const host = context.host;
    let hostOnly: boolean;
    let domain: string;
    if (parsed.domain) {
      const cookieDomain = canonicalDomain(parsed.domain);
      const suffix = cookieDomainSuffix(cookieDomain);
      if (suffix === undefined && !parsed.domain.includes(':')) return;
      if (!domainMatch(host, cookieDomain)) return;
      hostOnly = false;
      domain = parsed.domain;
    } else {
      hostOnly = true;
      domain = host;
    }
    const path = parsed.path && parsed.path.startsWith('/') ? parsed.path : defaultPath(context.path);
    if (parsed.key.startsWith('__Secure-') && !parsed.secure) return;
    if (parsed.key.startsWith('__Host-') && !(parsed.secure && hostOnly && path === '/')) return;
    const id = `${domain}\u0000${path}\u0000${parsed.key}`;
    const old = this.#cookies.get(id);
    this.#cookies.set(id, {
      key: parsed.key,
      value: parsed.value,
      expires: parsed.expires,
      maxAge: parsed.maxAge,
      domain,
      path,
      secure: parsed.secure,
      httpOnly: parsed.httpOnly,
      sameSite: parsed.sameSite,
      hostOnly,
      lastAccessed: now,
      creationIndex: old ? old.creationIndex : this.#nextIndex++,
      setCookie: line,
    });
  }

  /**
   * The cookies to send to `url`, in tough-cookie's order (longest path first, then
   * oldest). Like tough-cookie, this removes the expired cookies it comes across.
   */
  cookiesFor(url: string, now: number = Date.now()): JarCookie[] {
    const context = requestContext(url);
    const matching: JarCookie[] = [];
    for (const [id, cookie] of this.#cookies) {
      if (cookie.hostOnly ? cookie.domain !== context.host : !domainMatch(context.host, cookie.domain)) continue;
      if (!pathMatch(context.path, cookie.path)) continue;
      if (cookie.secure && !context.secure) continue;
      if (expiryTime(cookie) <= now) {
        this.#cookies.delete(id);
        continue;
      }
      const accessed = { ...cookie, lastAccessed: now };
      this.#cookies.set(id, accessed);
      matching.push(accessed);
    }
    return matching.sort((a, b) => b.path.length - a.path.length || a.creationIndex - b.creationIndex);
  }

  /** The `Cookie` header value for `url` (empty when no cookie applies). */
  cookieHeader(url: string, now: number = Date.now()): string {
    return this.cookiesFor(url, now).map((cookie) => `${cookie.key}=${cookie.value}`).join('; ');
  }

  /** Every cookie in the jar, expired ones included, in insertion order. */
  all(): JarCookie[] {
    return [...this.#cookies.values()].sort((a, b) => a.creationIndex - b.creationIndex);
  }
}
