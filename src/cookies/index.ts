/**
 * Cookies the way the seed's fourth practice asks, by default: parsing the `Cookie`
 * header per RFC 6265bis without ever throwing, and `Set-Cookie` values that are
 * `__Host-`, `Secure`, `HttpOnly` and `SameSite=Lax` unless you say otherwise.
 *
 * @packageDocumentation
 */

export { getCookie, parseCookieList, parseCookies } from './parse.ts';
export { deleteCookie, MAX_COOKIE_AGE_SECONDS, MAX_COOKIE_BYTES, serializeCookie } from './serialize.ts';
export type { CookieOptions, HostCookieOptions, SecureCookieOptions, UnprefixedCookieOptions } from './serialize.ts';
export type { OutgoingCookiesOptions } from './outgoing.ts';
