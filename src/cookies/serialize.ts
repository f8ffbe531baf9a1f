/**
 * `Set-Cookie` values with secure defaults: `__Host-` prefix, `Secure`, `HttpOnly`,
 * `SameSite=Lax`, `Path=/`. The types refuse a `__Host-` cookie that could not be
 * one (not Secure, another path, a Domain); the runtime refuses what the types cannot
 * see: injected separators, control characters, oversize cookies, lifetimes beyond
 * what browsers keep (RFC 6265bis §5.6.1 and §5.6.2: 400 days).
 */

import { describe } from '../_internal/describe.ts';

const encoder = new TextEncoder();

/** Attributes every kind of cookie may have. */
interface CommonCookieOptions {
  /** Seconds until the cookie expires; at most 400 days. Default: a session cookie. */
  readonly maxAge?: number;
  /** When the cookie expires; at most 400 days ahead. Prefer `maxAge`. */
  readonly expires?: Date;
  /** Unreadable from JavaScript. Default `true`. */
  readonly httpOnly?: boolean;
  /** Default `'Lax'` (the seed's practice 4). `'None'` requires Secure. */
  readonly sameSite?: 'Lax' | 'Strict' | 'None';
  /** CHIPS: partitioned by top-level site (requires Secure). */
  readonly partitioned?: boolean;
}

/** A `__Host-` cookie (the default): only this host can set it, over HTTPS, for every path. */
export interface HostCookieOptions extends CommonCookieOptions {
  readonly prefix?: '__Host-';
  readonly secure?: true;
  readonly path?: '/';
  readonly domain?: never;
}

/** A `__Secure-` cookie: set only over HTTPS, may name a domain and path. */
export interface SecureCookieOptions extends CommonCookieOptions {
  readonly prefix: '__Secure-';
  readonly secure?: true;
  readonly path?: string;
  readonly domain?: string;
}

/** A cookie without a prefix: any sibling subdomain can overwrite it. Say so explicitly. */
export interface UnprefixedCookieOptions extends CommonCookieOptions {
  readonly prefix: false;
  readonly secure?: boolean;
  readonly path?: string;
  readonly domain?: string;
}

/** Options of `serializeCookie`. */
export type CookieOptions = HostCookieOptions | SecureCookieOptions | UnprefixedCookieOptions;

/** Browsers cap a cookie's lifetime at 400 days (RFC 6265bis §5.6.1). */
export const MAX_COOKIE_AGE_SECONDS = 400 * 24 * 60 * 60;
/** Browsers keep at least 4096 bytes of name and value per cookie (RFC 6265bis §6.1); beyond, some drop it. */
export const MAX_COOKIE_BYTES = 4096;

// RFC 9110 §5.6.2 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 6265bis cookie-value: cookie-octets, optionally inside one pair of double quotes.
const COOKIE_VALUE = /^(?:[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*|"[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*")$/;
// A path or domain attribute value: printable ASCII without ';' (RFC 6265bis §4.1.1 av-octet).
const ATTRIBUTE_VALUE = /^[\x20-\x3A\x3C-\x7E]*$/;
const DOMAIN = /^\.?[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;
const KNOWN_OPTIONS = ['prefix', 'maxAge', 'expires', 'httpOnly', 'sameSite', 'partitioned', 'secure', 'path', 'domain'];

function fail(message: string): never {
  throw new TypeError(`rampart: cookie ${message}`);
}

/**
 * A `Set-Cookie` header value.
 *
 * @example
 * ```ts
 * serializeCookie('session', token, { maxAge: 3600 })
 * // '__Host-session=…; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax'
 * ```
 */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  for (const key of Object.keys(options)) if (!KNOWN_OPTIONS.includes(key)) fail(`option ${JSON.stringify(key)} is not known; use one of ${KNOWN_OPTIONS.join(', ')}.`);
  if (typeof name !== 'string' || !TOKEN.test(name)) fail(`name ${describe(name)} is not a token (letters, digits and !#$%&'*+-.^_\`|~).`);
  if (/^__(host|secure)-/i.test(name)) fail(`name ${JSON.stringify(name)} already carries a prefix; pass the bare name and the prefix option.`);
  if (typeof value !== 'string' || !COOKIE_VALUE.test(value)) {
    fail(`${JSON.stringify(name)}: the value contains a character a cookie cannot carry (space, ";", ",", "\\", a quote or a control character); encode it, e.g. base64url.`);
  }
  const prefix = options.prefix ?? '__Host-';
  if (prefix !== '__Host-' && prefix !== '__Secure-' && prefix !== false) fail(`prefix ${describe(prefix)} must be "__Host-", "__Secure-" or false.`);
  const secure = options.secure ?? true;
  const path = options.path ?? '/';
  const domain = options.domain;
  if (prefix !== false && secure !== true) fail(`${JSON.stringify(name)}: a ${prefix} cookie must be Secure.`);
  if (prefix === '__Host-' && (path !== '/' || domain !== undefined)) fail(`${JSON.stringify(name)}: a __Host- cookie must have Path=/ and no Domain.`);
  if (typeof path !== 'string' || !path.startsWith('/') || !ATTRIBUTE_VALUE.test(path)) fail(`path ${describe(path)} must start with "/" and contain no ";" or control character.`);
  if (domain !== undefined && (typeof domain !== 'string' || !DOMAIN.test(domain))) fail(`domain ${describe(domain)} is not a host name.`);
  const fullName = prefix === false ? name : `${prefix}${name}`;
  const bytes = encoder.encode(fullName).length + encoder.encode(value).length;
  if (bytes > MAX_COOKIE_BYTES) {
    throw new RangeError(`rampart: cookie ${JSON.stringify(fullName)} has ${bytes} bytes of name and value; browsers may drop cookies over ${MAX_COOKIE_BYTES}.`);
  }

  let cookie = `${fullName}=${value}; Path=${path}`;
  if (domain !== undefined) cookie += `; Domain=${domain}`;
  if (options.maxAge !== undefined) {
    const maxAge = options.maxAge;
    if (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0) fail(`maxAge ${describe(maxAge)} must be a whole number of seconds, 0 or more.`);
    if (maxAge > MAX_COOKIE_AGE_SECONDS) {
      throw new RangeError(`rampart: cookie maxAge ${maxAge} is over 400 days (${MAX_COOKIE_AGE_SECONDS} s), which browsers cut to 400 days; ask for at most that.`);
    }
    cookie += `; Max-Age=${maxAge}`;
  }
  if (options.expires !== undefined) {
    const expires = options.expires;
    if (!(expires instanceof Date) || Number.isNaN(expires.getTime())) fail(`expires ${describe(expires)} must be a valid Date.`);
    if (expires.getTime() - Date.now() > MAX_COOKIE_AGE_SECONDS * 1000) {
      throw new RangeError('rampart: cookie expires is more than 400 days ahead, which browsers cut to 400 days; ask for at most that.');
    }
    cookie += `; Expires=${expires.toUTCString()}`;
  }
  if (secure) cookie += '; Secure';
  if (options.httpOnly ?? true) cookie += '; HttpOnly';
  const sameSite = options.sameSite ?? 'Lax';
  if (sameSite !== 'Lax' && sameSite !== 'Strict' && sameSite !== 'None') fail(`sameSite ${describe(sameSite)} must be "Lax", "Strict" or "None".`);
  if (sameSite === 'None' && !secure) fail(`${JSON.stringify(name)}: SameSite=None requires Secure; browsers reject it otherwise.`);
  cookie += `; SameSite=${sameSite}`;
  if (options.partitioned) {
    if (!secure) fail(`${JSON.stringify(name)}: a Partitioned cookie must be Secure.`);
    cookie += '; Partitioned';
  }
  return cookie;
}

/**
 * A `Set-Cookie` value that removes a cookie: same name, prefix, path and domain,
 * empty value, `Max-Age=0`.
 */
export function deleteCookie(name: string, options: CookieOptions = {}): string {
  const { maxAge: _maxAge, expires: _expires, ...rest } = options;
  return serializeCookie(name, '', { ...rest, maxAge: 0 } as CookieOptions);
}
