/**
 * Every `Set-Cookie` the application sends passes through here on its way out:
 * rampart's own cookies are right by construction, but a handler (or a library it
 * uses) can set one without `Secure`, `HttpOnly` or `SameSite`. By default rampart
 * says so once per cookie name; with `cookies: { outgoing: 'enforce' }` it adds the
 * missing attributes itself.
 */

import { describe, isPlainObject, rejectUnknownKeys } from '../_internal/describe.ts';

/** Options of outgoing cookie checks: `rampart({ cookies: { ... } })`. */
export interface OutgoingCookiesOptions {
  /**
   * `'warn'` (default): log once per cookie that lacks `Secure`, `HttpOnly` or
   * `SameSite`. `'enforce'`: add what is missing (`Secure`, `HttpOnly`,
   * `SameSite=Lax`) to every cookie. `'off'`: leave them alone.
   */
  readonly outgoing?: 'warn' | 'enforce' | 'off';
  /** Names of cookies that page scripts must read (e.g. a theme): not made HttpOnly, not warned about. */
  readonly readableByScript?: readonly string[];
}

/** @internal The compiled check: rewrites (or only inspects) one `Set-Cookie` value. */
export type OutgoingCookieCheck = (setCookie: string) => string;

interface Attributes {
  name: string;
  secure: boolean;
  httpOnly: boolean;
  sameSite: string | undefined;
  domain: boolean;
  path: string | undefined;
}

/** Trims what RFC 6265bis trims: space and tab only (not U+00A0, which `String.trim` would). */
function trimWhitespace(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** The attributes of a `Set-Cookie` value that matter here (RFC 6265bis §5.6, case-insensitive names). */
function readAttributes(setCookie: string): Attributes {
  const parts = setCookie.split(';');
  const pair = parts[0]!;
  const equals = pair.indexOf('=');
  const attributes: Attributes = { name: trimWhitespace(equals === -1 ? '' : pair.slice(0, equals)), secure: false, httpOnly: false, sameSite: undefined, domain: false, path: undefined };
  for (let index = 1; index < parts.length; index++) {
    const part = parts[index]!;
    const separator = part.indexOf('=');
    const key = trimWhitespace(separator === -1 ? part : part.slice(0, separator)).toLowerCase();
    const value = separator === -1 ? '' : trimWhitespace(part.slice(separator + 1));
    if (key === 'secure') attributes.secure = true;
    else if (key === 'httponly') attributes.httpOnly = true;
    else if (key === 'samesite') attributes.sameSite = value.toLowerCase();
    else if (key === 'domain') attributes.domain = true;
    else if (key === 'path') attributes.path = value;
  }
  return attributes;
}

/** What is wrong with a cookie, in words; empty when nothing is. */
function problems(attributes: Attributes, readable: boolean): string[] {
  const found: string[] = [];
  if (!attributes.secure) found.push('without Secure');
  if (!attributes.httpOnly && !readable) found.push('without HttpOnly');
  if (attributes.sameSite === undefined) found.push('without SameSite');
  else if (attributes.sameSite === 'none') found.push('with SameSite=None (sent on cross-site requests)');
  else if (attributes.sameSite !== 'lax' && attributes.sameSite !== 'strict') found.push('with an unknown SameSite value');
  if (/^__host-/i.test(attributes.name) && (attributes.domain || attributes.path !== '/')) {
    found.push('as __Host- with a Domain or a Path other than "/" (browsers refuse it)');
  }
  return found;
}

/** Compiles the `cookies` option into the check each outgoing `Set-Cookie` goes through, or `undefined` for none. */
export function compileOutgoingCookies(option: unknown, warnOnce: (message: string) => void): OutgoingCookieCheck | undefined {
  if (option === undefined) option = {};
  if (!isPlainObject(option)) throw new TypeError(`rampart: cookies: expected an options object, got ${describe(option)}.`);
  rejectUnknownKeys(option, ['outgoing', 'readableByScript'], 'cookies.');
  const mode = option.outgoing ?? 'warn';
  if (mode !== 'warn' && mode !== 'enforce' && mode !== 'off') throw new TypeError(`rampart: cookies.outgoing: expected "warn", "enforce" or "off", got ${describe(mode)}.`);
  const readable = option.readableByScript ?? [];
  if (!Array.isArray(readable) || readable.some((name) => typeof name !== 'string' || name === '')) {
    throw new TypeError(`rampart: cookies.readableByScript: expected a list of cookie names, got ${describe(readable)}.`);
  }
  const readableNames = new Set(readable as string[]);
  if (mode === 'off') return undefined;

  if (mode === 'warn') {
    return (setCookie) => {
      const attributes = readAttributes(setCookie);
      const found = problems(attributes, readableNames.has(attributes.name));
      if (found.length > 0) {
        warnOnce(
          `rampart: the cookie ${JSON.stringify(attributes.name)} is set ${found.join(', ')}. Set it with serializeCookie() from rampart/cookies, or let rampart fix every cookie with cookies: { outgoing: 'enforce' }.`,
        );
      }
      return setCookie;
    };
  }

  return (setCookie) => {
    const attributes = readAttributes(setCookie);
    let fixed = setCookie.trimEnd();
    if (fixed.endsWith(';')) fixed = fixed.slice(0, -1);
    if (!attributes.secure) fixed += '; Secure';
    if (!attributes.httpOnly && !readableNames.has(attributes.name)) fixed += '; HttpOnly';
    if (attributes.sameSite === undefined) fixed += '; SameSite=Lax';
    else if (attributes.sameSite !== 'lax' && attributes.sameSite !== 'strict' && attributes.sameSite !== 'none') fixed = `${fixed.replace(/;\s*samesite\s*=[^;]*/gi, '')}; SameSite=Lax`;
    const readableByScript = readableNames.has(attributes.name);
    const left = fixed === setCookie ? problems(attributes, readableByScript) : problems(readAttributes(fixed), readableByScript);
    if (left.length > 0) warnOnce(`rampart: the cookie ${JSON.stringify(attributes.name)} is set ${left.join(', ')}; rampart leaves that as the application chose.`);
    return fixed;
  };
}
