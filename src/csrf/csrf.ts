/**
 * CSRF protection in two layers, on for every route (the seed's second practice):
 *
 * 1. Before any byte of the body is read: the method policy, then where the request
 *    comes from (`Sec-Fetch-Site`, `Origin`, `Referer`; see `gate.ts`).
 * 2. A stateless token (see `token.ts`) from the `X-CSRF-Token` header or the
 *    `csrf_token` form field, bound to the browser's `__Host-csrf` cookie, which
 *    changes whenever the session is regenerated or destroyed.
 *
 * Each refusal is a `RampartError` with its own code (403, or 400/405/413 for
 * malformed requests), and never echoes a token.
 */

import { describe, isPlainObject, rejectUnknownKeys } from '../_internal/describe.ts';
import { getCookie, parseCookieList } from '../cookies/parse.ts';
import type { RampartErrorCode } from '../errors.ts';
import type { Keyring } from '../keys.ts';
import { checkSafeMethod, checkSignals, hasMethodOverride, isRefusedMethod, queryHasToken, SAFE_METHODS, type GateConfig, type Passed } from './gate.ts';
import {
  isValidBoundary,
  multipartHasMethodOverride,
  multipartToken,
  parseContentType,
  urlencodedHasMethodOverride,
  urlencodedToken,
  type FormToken,
  type PrefixExtent,
} from './form.ts';
import { CsrfTokens, decodeBinding, type TokenFailure } from './token.ts';

/** Options of CSRF protection: `rampart({ csrf: { ... } })`, or `csrf: false` to turn it off. */
export interface CsrfOptions {
  /**
   * `'strict'` (default): where the request comes from, and a token. `'headers-only'`:
   * no token; every request without a browser's same-origin signals is refused.
   */
  readonly mode?: 'strict' | 'headers-only';
  /** Let requests through and report what would have been refused (for a rollout). Default `false`. */
  readonly reportOnly?: boolean;
  /** Accept requests from sibling subdomains (`Sec-Fetch-Site: same-site`). Default `false`. */
  readonly allowSameSite?: boolean;
  /** Other exact origins whose requests pass the origin check (a token is still required in strict mode). */
  readonly trustedOrigins?: readonly string[];
  /**
   * Routes not checked, as exact `"METHOD /path"` strings (no prefixes, no normalisation).
   * A request to one that asks to be routed as another method (`_method`, an override
   * header) is refused: the exemption holds for the method as sent.
   */
  readonly exempt?: readonly string[];
  /** Seconds a token stays valid. Default 86400 (a day); the binding cookie ends sooner on logout. */
  readonly maxAge?: number;
  /** Most bytes of a form body read to find the token. Default 1 MiB (413 beyond). */
  readonly maxFormBytes?: number;
  /** Called for every refusal (and, in report-only mode, every request that would have been refused). Default: one log line per reason. */
  readonly onRefusal?: (event: CsrfRefusal) => void;
}

/** What a refusal reports: no token, cookie or body, only where the request came from. */
export interface CsrfRefusal {
  readonly code: RampartErrorCode;
  readonly method: string;
  readonly path: string;
  readonly secFetchSite: string | undefined;
  /** The `Origin` header, cut to 100 characters. */
  readonly origin: string | undefined;
  readonly reportOnly: boolean;
}

/** The outcome of the check for one request. */
export type CsrfOutcome =
  | { readonly ok: true; readonly binding: Uint8Array | undefined }
  | { readonly ok: false; readonly code: RampartErrorCode; readonly passed: Passed | undefined; readonly binding: Uint8Array | undefined };

/** The outcome of a request that needs no token (safe methods, exemptions, headers-only mode): shared, not allocated. */
const PASSED: CsrfOutcome = Object.freeze({ ok: true, binding: undefined });

/** The name of the binding cookie. */
export const BINDING_COOKIE = '__Host-csrf';
/** The request header a token may come in. */
export const TOKEN_HEADER = 'x-csrf-token';
/** The form field a token may come in. */
export const TOKEN_FIELD = 'csrf_token';

const OPTION_NAMES = ['mode', 'reportOnly', 'allowSameSite', 'trustedOrigins', 'exempt', 'maxAge', 'maxFormBytes', 'onRefusal'];
const MULTIPART_PREAMBLE_BYTES = 64 * 1024;

/** What the CSRF module needs from its rampart instance. */
export interface CsrfEnvironment {
  readonly keyring: Keyring;
  readonly clock: () => number;
  readonly origins: readonly string[];
  readonly warnOnce: (message: string) => void;
}

/** What a request looks like to the check. */
export interface CsrfRequest {
  readonly method: string;
  readonly target: string;
  header(lowerName: string): string | undefined;
  peekBody<Answer>(limit: number, decide: (prefix: Uint8Array, complete: boolean) => Answer | 'more'): Promise<Answer | 'too_large'>;
}

function readOrigin(value: unknown, where: string): string {
  let url: URL;
  try {
    if (typeof value !== 'string' || value === 'null') throw new TypeError('not an origin');
    url = new URL(value);
  } catch {
    throw new TypeError(`rampart: ${where}: ${describe(value)} is not an origin like "https://partner.example" ("null" can never be trusted).`);
  }
  if (url.origin !== value) throw new TypeError(`rampart: ${where}: ${describe(value)} must be written as the browser sends it: ${JSON.stringify(url.origin)}.`);
  return url.origin;
}

export class Csrf {
  readonly #gate: GateConfig;
  readonly #tokens: CsrfTokens;
  readonly #exempt: ReadonlySet<string>;
  readonly #maxFormBytes: number;
  readonly #reportOnly: boolean;
  readonly #report: (event: CsrfRefusal) => void;

  constructor(option: CsrfOptions | undefined, environment: CsrfEnvironment) {
    const options: CsrfOptions = option ?? {};
    if (!isPlainObject(options)) throw new TypeError(`rampart: csrf: expected an options object or false, got ${describe(option)}.`);
    rejectUnknownKeys(options, OPTION_NAMES, 'csrf.');
    const mode = options.mode ?? 'strict';
    if (mode !== 'strict' && mode !== 'headers-only') throw new TypeError(`rampart: csrf.mode: expected "strict" or "headers-only", got ${describe(mode)}.`);
    for (const name of ['reportOnly', 'allowSameSite'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'boolean') throw new TypeError(`rampart: csrf.${name}: expected true or false, got ${describe(options[name])}.`);
    }
    const trusted = options.trustedOrigins ?? [];
    if (!Array.isArray(trusted)) throw new TypeError(`rampart: csrf.trustedOrigins: expected a list of origins, got ${describe(trusted)}.`);
    const exempt = options.exempt ?? [];
    if (!Array.isArray(exempt)) throw new TypeError(`rampart: csrf.exempt: expected a list like ["POST /webhooks/stripe"], got ${describe(exempt)}.`);
    for (const [index, route] of (exempt as unknown[]).entries()) {
      if (typeof route !== 'string' || !/^[A-Z]+ \/\S*$/.test(route)) {
        throw new TypeError(`rampart: csrf.exempt[${index}]: expected "METHOD /exact/path" (e.g. "POST /webhooks/stripe"), got ${describe(route)}.`);
      }
      if (route.endsWith('*')) throw new TypeError(`rampart: csrf.exempt[${index}]: ${JSON.stringify(route)}: exemptions are exact paths; prefixes are how exemptions get bypassed.`);
      if (SAFE_METHODS.has(route.slice(0, route.indexOf(' ')))) throw new TypeError(`rampart: csrf.exempt[${index}]: ${JSON.stringify(route)}: safe methods are never checked.`);
    }
    const maxAge = options.maxAge ?? 86_400;
    if (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 60) throw new TypeError(`rampart: csrf.maxAge: expected whole seconds, at least 60, got ${describe(maxAge)}.`);
    const maxFormBytes = options.maxFormBytes ?? 1024 * 1024;
    if (typeof maxFormBytes !== 'number' || !Number.isInteger(maxFormBytes) || maxFormBytes < 1024) {
      throw new TypeError(`rampart: csrf.maxFormBytes: expected whole bytes, at least 1024, got ${describe(maxFormBytes)}.`);
    }
    if (options.onRefusal !== undefined && typeof options.onRefusal !== 'function') throw new TypeError('rampart: csrf.onRefusal: expected a function.');

    this.#gate = {
      origins: new Set(environment.origins),
      trustedOrigins: new Set((trusted as unknown[]).map((origin, index) => readOrigin(origin, `csrf.trustedOrigins[${index}]`))),
      allowSameSite: options.allowSameSite === true,
      headersOnly: mode === 'headers-only',
    };
    this.#tokens = new CsrfTokens(environment.keyring, environment.clock, maxAge);
    this.#exempt = new Set(exempt as string[]);
    this.#maxFormBytes = maxFormBytes;
    this.#reportOnly = options.reportOnly === true;
    this.#report =
      (options.onRefusal as ((event: CsrfRefusal) => void) | undefined) ??
      ((event) =>
        environment.warnOnce(
          `rampart: CSRF ${event.reportOnly ? 'would refuse (report-only)' : 'refused'} a request: ${event.code} (first seen: ${event.method} ${event.path}). Each reason is logged once; pass csrf.onRefusal to see every one.`,
        ));
    if (environment.origins.length === 0) {
      environment.warnOnce('rampart: csrf: no origin is configured, so a request\'s Origin is compared with the Host it names (development only). Set the origin option.');
    }
  }

  /** @internal The token minter, for the context. */
  get tokens(): CsrfTokens {
    return this.#tokens;
  }

  /**
   * Decides one request. Synchronous unless the token has to be read from a form body.
   * `siteOrigin` is the origin the request names (scheme and Host), used only in
   * development when no origin is configured.
   */
  check(request: CsrfRequest, siteOrigin: string | undefined): CsrfOutcome | Promise<CsrfOutcome> {
    const method = request.method;
    if (SAFE_METHODS.has(method)) {
      const refusal = checkSafeMethod(request.target, request);
      return refusal === undefined ? PASSED : this.#refuse(request, refusal, undefined, undefined);
    }
    if (isRefusedMethod(method)) return this.#refuse(request, 'csrf_method_not_allowed', undefined, undefined);
    const query = request.target.indexOf('?');
    const path = query === -1 ? request.target : request.target.slice(0, query);
    if (this.#exempt.size > 0 && this.#exempt.has(`${method} ${path}`)) return this.#checkExempt(request);
    if (query !== -1 && queryHasToken(request.target.slice(query + 1))) return this.#refuse(request, 'csrf_token_in_query', undefined, undefined);

    const passed = checkSignals(request, this.#gate, siteOrigin);
    if (!isPass(passed)) return this.#refuse(request, passed, undefined, undefined);
    if (this.#gate.headersOnly) return PASSED;

    const binding = this.#binding(request.header('cookie'));
    if (binding === 'duplicate') return this.#refuse(request, 'csrf_duplicate_cookie', passed, undefined);
    const headerToken = request.header(TOKEN_HEADER);
    if (headerToken?.includes(',')) return this.#refuse(request, 'csrf_token_conflict', passed, binding);
    const { type, boundary } = parseContentType(request.header('content-type'));

    if (type === 'application/x-www-form-urlencoded') {
      return request
        .peekBody(this.#maxFormBytes, (prefix, complete) => (complete ? urlencodedToken(prefix) : 'more'))
        .then((found) => {
          if (found === 'too_large') return this.#refuse(request, 'csrf_form_too_large', passed, binding);
          if ('missing' in found && found.missing !== 'csrf_token_missing') return this.#refuse(request, found.missing, passed, binding);
          const fieldToken = 'token' in found ? found.token : undefined;
          if (headerToken !== undefined && fieldToken !== undefined && headerToken !== fieldToken) return this.#refuse(request, 'csrf_token_conflict', passed, binding);
          return this.#verify(request, headerToken ?? fieldToken, binding, passed);
        });
    }
    if (type === 'multipart/form-data' && headerToken === undefined) {
      if (!isValidBoundary(boundary)) return this.#refuse(request, 'csrf_form_malformed', passed, binding);
      return request
        .peekBody(MULTIPART_PREAMBLE_BYTES, (prefix, complete): FormToken => multipartWindow(prefix, complete, (bytes, extent) => multipartToken(bytes, boundary, extent)))
        .then((found) => {
          // No token within the first 64 KiB: the form was not built with the token first.
          if (found === 'too_large') return this.#refuse(request, 'csrf_token_missing', passed, binding);
          if ('missing' in found) return this.#refuse(request, found.missing, passed, binding);
          return this.#verify(request, found.token, binding, passed);
        });
    }
    // Any other body (JSON, text/plain, none): the token can only come in the header.
    return this.#verify(request, headerToken, binding, passed);
  }

  /**
   * An exempt route: nothing is checked but that the request stays the method it was
   * exempted as. Override middleware (Express's method-override, Hono's methodOverride)
   * would route `POST /webhooks/stripe?_method=DELETE` to the DELETE handler of that
   * path, which no exemption covers, with no check at all; so every override signal is
   * refused here: a header, `_method` in the query, or a `_method` field in a form body
   * (urlencoded: all of it, up to `maxFormBytes`; multipart: the fields before the
   * first file, within the first 64 KiB, as for the token).
   */
  #checkExempt(request: CsrfRequest): CsrfOutcome | Promise<CsrfOutcome> {
    if (hasMethodOverride(request.target, request)) return this.#refuse(request, 'csrf_exempt_method_override', undefined, undefined);
    const contentType = request.header('content-type');
    if (contentType === undefined) return PASSED;
    const { type, boundary } = parseContentType(contentType);
    if (type === 'application/x-www-form-urlencoded') {
      return request
        .peekBody(this.#maxFormBytes, (prefix, complete) => (complete ? urlencodedHasMethodOverride(prefix) : 'more'))
        .then((found) => {
          // Unread, a `_method` at its end could not be ruled out.
          if (found === 'too_large') return this.#refuse(request, 'csrf_form_too_large', undefined, undefined);
          return found ? this.#refuse(request, 'csrf_exempt_method_override', undefined, undefined) : PASSED;
        });
    }
    if (type === 'multipart/form-data') {
      if (!isValidBoundary(boundary)) return this.#refuse(request, 'csrf_form_malformed', undefined, undefined);
      return request
        .peekBody(MULTIPART_PREAMBLE_BYTES, (prefix, complete) => multipartWindow(prefix, complete, (bytes, extent) => multipartHasMethodOverride(bytes, boundary, extent)))
        .then((found) => {
          if (found === 'malformed') return this.#refuse(request, 'csrf_form_malformed', undefined, undefined);
          return found === true ? this.#refuse(request, 'csrf_exempt_method_override', undefined, undefined) : PASSED;
        });
    }
    return PASSED;
  }

  #verify(request: CsrfRequest, token: string | undefined, binding: Uint8Array | undefined, passed: Passed): CsrfOutcome {
    if (token === undefined || token === '') return this.#refuse(request, 'csrf_token_missing', passed, binding);
    if (binding === undefined) return this.#refuse(request, 'csrf_cookie_missing', passed, binding);
    const verdict: true | TokenFailure = this.#tokens.verify(token.trim(), binding);
    if (verdict === true) return { ok: true, binding };
    const code = ({ malformed: 'csrf_token_malformed', invalid: 'csrf_token_invalid', expired: 'csrf_token_expired' } as const)[verdict];
    return this.#refuse(request, code, passed, binding);
  }

  /**
   * The request's binding: its bytes, none, or `'duplicate'` when several different
   * ones came. Only this host can set a `__Host-` cookie: two different ones mean
   * something is wrong.
   */
  #binding(cookieHeader: string | undefined): Uint8Array | undefined | 'duplicate' {
    if (!cookieHeader) return undefined;
    const first = cookieHeader.indexOf(BINDING_COOKIE);
    if (first === -1) return undefined;
    // The name written once: at most one pair has it. Not `__Host-csrf=`: the parser
    // trims spaces and tabs around names, so `__Host-csrf =B` is the same cookie.
    if (cookieHeader.indexOf(BINDING_COOKIE, first + BINDING_COOKIE.length) === -1) return decodeBinding(getCookie(cookieHeader, BINDING_COOKIE));
    // Decided from the parsed pairs, as the session decides about its own cookie.
    let value: string | undefined;
    for (const [name, other] of parseCookieList(cookieHeader)) {
      if (name !== BINDING_COOKIE) continue;
      if (value !== undefined && other !== value) return 'duplicate';
      value = other;
    }
    return decodeBinding(value);
  }

  #refuse(request: CsrfRequest, code: RampartErrorCode, passed: Passed | undefined, binding: Uint8Array | undefined): CsrfOutcome {
    const query = request.target.indexOf('?');
    const origin = request.header('origin');
    this.#report({
      code,
      method: request.method,
      path: query === -1 ? request.target : request.target.slice(0, query),
      secFetchSite: request.header('sec-fetch-site'),
      origin: origin === undefined ? undefined : origin.slice(0, 100),
      reportOnly: this.#reportOnly,
    });
    return this.#reportOnly ? { ok: true, binding } : { ok: false, code, passed, binding };
  }
}

/**
 * Reads a multipart prefix with `read`: only the first 64 KiB count, however the bytes
 * arrived; what lies beyond is never looked at.
 */
function multipartWindow<Answer>(prefix: Uint8Array, complete: boolean, read: (bytes: Uint8Array, extent: PrefixExtent) => Answer): Answer {
  if (prefix.length <= MULTIPART_PREAMBLE_BYTES) return read(prefix, complete ? 'body' : 'partial');
  return read(prefix.subarray(0, MULTIPART_PREAMBLE_BYTES), 'window');
}

function isPass(result: Passed | RampartErrorCode): result is Passed {
  return !result.startsWith('csrf_');
}
