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
} as const satisfies Record<string, { status: number; title: string }>;

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

  constructor(code: RampartErrorCode, options?: { cause?: unknown }) {
    super(ERROR_CODES[code].title, options);
    this.code = code;
    this.status = ERROR_CODES[code].status;
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
    return new Response(JSON.stringify({ type: 'about:blank', title, status, code }), { status, headers });
  }
  headers['Content-Type'] = 'text/html; charset=utf-8';
  const body =
    `<!doctype html><html lang="en"><meta charset="utf-8"><title>${status} ${escapeText(title)}</title>` +
    `<h1>${status}</h1><p>${escapeText(title)}</p><p>Error code: <code>${code}</code></p></html>\n`;
  return new Response(body, { status, headers });
}
