/**
 * Rejected untrusted input. Setup mistakes throw `TypeError`/`RangeError` at
 * startup; everything a client can cause is a `RampartError` with a stable code
 * from the closed union below, an HTTP status, and a message that never contains
 * request data or secrets, so it is safe to show to the client.
 *
 * `docs/errors.md` documents every code; a test keeps the two in sync.
 */

/** Every error code rampart can produce, with its HTTP status and public title. */
export const ERROR_CODES = {
  csp_report_method: { status: 405, title: 'Violation reports must be sent with POST.' },
  csp_report_media_type: {
    status: 415,
    title: 'Violation reports must be application/csp-report or application/reports+json.',
  },
  csp_report_too_large: { status: 413, title: 'The violation report is too large.' },
  csp_report_malformed: { status: 400, title: 'The violation report is not valid JSON of the expected shape.' },
  csp_report_rate_limited: { status: 429, title: 'Too many violation reports; try again later.' },
  csrf_method_not_allowed: { status: 405, title: 'This method is not allowed.' },
  csrf_method_override: { status: 400, title: 'A method override is not allowed on a GET, HEAD or OPTIONS request.' },
  csrf_exempt_method_override: { status: 400, title: 'A method override is not allowed on a route exempt from CSRF protection.' },
  csrf_token_in_query: { status: 400, title: 'The CSRF token must not be sent in the URL.' },
  csrf_malformed_header: { status: 403, title: 'The request carries a repeated Origin or Sec-Fetch-Site header.' },
  csrf_cross_site: { status: 403, title: 'This request was sent from another site.' },
  csrf_same_site: { status: 403, title: 'This request was sent from another part of this site.' },
  csrf_sec_fetch_site_none: { status: 403, title: 'This request did not come from a page of this site.' },
  csrf_origin_null: { status: 403, title: 'This request was sent from a page with no origin.' },
  csrf_origin_mismatch: { status: 403, title: 'This request was sent from another origin.' },
  csrf_referer_mismatch: { status: 403, title: 'This request was sent from another origin.' },
  csrf_no_browser_signals: { status: 403, title: 'This request carries no Origin, Referer or Sec-Fetch-Site.' },
  csrf_duplicate_cookie: { status: 403, title: 'The request carries several different CSRF cookies.' },
  csrf_cookie_missing: { status: 403, title: 'The CSRF cookie is missing; reload the page and try again.', retryable: true },
  csrf_token_missing: { status: 403, title: 'The CSRF token is missing.' },
  csrf_token_missing_before_file: { status: 403, title: 'The CSRF token must come before any file in the form.' },
  csrf_token_malformed: { status: 403, title: 'The CSRF token is malformed.' },
  csrf_token_invalid: { status: 403, title: 'The CSRF token is not valid; reload the page and try again.', retryable: true },
  csrf_token_expired: { status: 403, title: 'This form has expired; reload the page and try again.', retryable: true },
  csrf_token_conflict: { status: 403, title: 'The request carries different CSRF tokens.' },
  csrf_form_too_large: { status: 413, title: 'The form is too large.' },
  csrf_form_malformed: { status: 400, title: 'The form body is malformed.' },
  json_media_type: { status: 415, title: 'The body must be JSON (application/json).' },
  json_too_large: { status: 413, title: 'The JSON body is too large.' },
  json_malformed: { status: 400, title: 'The body is not valid JSON.' },
  upload_media_type: { status: 415, title: 'The body must be a form (multipart/form-data or application/x-www-form-urlencoded), without a Content-Encoding.' },
  upload_boundary_invalid: { status: 400, title: 'The multipart boundary is missing or invalid (1 to 70 characters of RFC 2046).' },
  upload_malformed: { status: 400, title: 'The multipart body is malformed.' },
  upload_truncated: { status: 400, title: 'The form body ended before it was complete (the connection closed, or a multipart body lacked its closing boundary).' },
  upload_part_headers_too_large: { status: 400, title: 'A part of the form has too many or too large headers.' },
  upload_field_name_too_long: { status: 400, title: 'A form field name is too long.' },
  upload_too_large: { status: 413, title: 'The upload is too large.' },
  upload_file_too_large: { status: 413, title: 'A file is too large.' },
  upload_too_many_files: { status: 413, title: 'The form has too many files.' },
  upload_too_many_fields: { status: 413, title: 'The form has too many fields.' },
  upload_field_too_large: { status: 413, title: 'A form field is too large.' },
  upload_too_many_parts: { status: 413, title: 'The form has too many parts.' },
  upload_unexpected_file: { status: 400, title: 'The form has a file in a field that does not take one.' },
  upload_file_empty: { status: 400, title: 'A file is empty.' },
  upload_type_not_allowed: { status: 415, title: 'This type of file is not allowed.' },
  upload_timeout: { status: 408, title: 'The upload was too slow or stalled.' },
  upload_storage_full: { status: 507, title: 'There is no space left to store the upload.' },
  upload_not_found: { status: 404, title: 'There is no such upload.' },
  path_malformed: { status: 400, title: 'The path is malformed.' },
  path_traversal: { status: 400, title: 'The path leaves its directory or names a reserved file.' },
  file_not_found: { status: 404, title: 'There is no such file.' },
  request_aborted: { status: 400, title: 'The client closed the connection before sending the whole body.' },
} as const satisfies Record<string, { status: number; title: string; retryable?: boolean }>;

/** The closed union of error codes. */
export type RampartErrorCode = keyof typeof ERROR_CODES;

/**
 * An error caused by a request rampart refused.
 *
 * @example
 * ```ts
 * try { await handler(request) } catch (error) {
 *   if (error instanceof RampartError) return errorResponse(error, request)
 *   throw error
 * }
 * ```
 */
export class RampartError extends Error {
  override readonly name = 'RampartError';
  readonly code: RampartErrorCode;
  readonly status: number;
  /** True when the same request with fresh state (a reloaded page, a new token) can succeed. */
  readonly retryable: boolean;

  constructor(code: RampartErrorCode, options?: { cause?: unknown }) {
    super(ERROR_CODES[code].title, options);
    this.code = code;
    const entry: { status: number; retryable?: boolean } = ERROR_CODES[code];
    this.status = entry.status;
    this.retryable = entry.retryable === true;
  }

  /**
   * This error's response, without content negotiation (HTML). Frameworks that answer
   * errors with a `getResponse()` method use it (Hono's default error handler does,
   * instead of logging an expected refusal as a crash); rampart's adapters replace it
   * with the negotiated `errorResponse`.
   */
  getResponse(): Response {
    return errorResponse(this);
  }
}

/** True when `value` is a `RampartError` (also across copies of the package). */
export function isRampartError(value: unknown): value is RampartError {
  return value instanceof RampartError || (value instanceof Error && value.name === 'RampartError' && 'code' in value);
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]!);
}

/** True when the client prefers a machine-readable error (JSON) over an HTML page. */
function wantsJson(accept: string | null | undefined): boolean {
  if (!accept) return false;
  const value = accept.toLowerCase();
  if (value.includes('text/html')) return false;
  return value.includes('json');
}

/**
 * The response for a refused request: `application/problem+json` (RFC 9457) when
 * the client asks for JSON, otherwise a short HTML page. It carries only the code,
 * status and fixed title: never the request's data, never a stack trace.
 */
export function errorResponse(error: RampartError, accept?: string | null): Response {
  const { code, status } = error;
  const title = ERROR_CODES[code].title;
  const headers: Record<string, string> = {
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
  };
  if (wantsJson(accept)) {
    headers['Content-Type'] = 'application/problem+json';
    const problem = error.retryable ? { type: 'about:blank', title, status, code, retryable: true } : { type: 'about:blank', title, status, code };
    return new Response(JSON.stringify(problem), { status, headers });
  }
  headers['Content-Type'] = 'text/html; charset=utf-8';
  const body =
    `<!doctype html><html lang="en"><meta charset="utf-8"><title>${status} ${escapeText(title)}</title>` +
    `<h1>${status}</h1><p>${escapeText(title)}</p><p>Error code: <code>${code}</code></p></html>\n`;
  return new Response(body, { status, headers });
}
