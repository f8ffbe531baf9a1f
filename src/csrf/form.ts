/**
 * The `csrf_token` field of a form body, read from the start of the body only.
 *
 * - `application/x-www-form-urlencoded`: the whole body (up to a limit) is read, so a
 *   field given twice with different values is caught.
 * - `multipart/form-data`: parts are read in order until the token; a file part before
 *   it ends the search (`csrf_token_missing_before_file`), so no file byte is accepted
 *   from a request that is not verified yet. rampart's templates put the field first.
 *
 * What is read is handed back to the application unchanged (see `IncomingRequest.peekBody`).
 */

/** Where the token search ended. */
export type FormToken =
  | { readonly token: string }
  | { readonly missing: 'csrf_token_missing' | 'csrf_token_missing_before_file' | 'csrf_token_conflict' | 'csrf_form_malformed' }
  | 'more';

/** The media type and parameters of a `Content-Type` value, lowercased where case does not matter. */
export function parseContentType(value: string | undefined): { type: string; boundary: string | undefined } {
  if (value === undefined) return { type: '', boundary: undefined };
  const semicolon = value.indexOf(';');
  const type = (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  let boundary: string | undefined;
  if (semicolon !== -1) {
    const match = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(value.slice(semicolon));
    if (match) boundary = match[1] ?? match[2];
  }
  return { type, boundary };
}

/** A multipart boundary as RFC 2046 §5.1.1 allows it: 1 to 70 characters of its alphabet. */
export function isValidBoundary(boundary: string | undefined): boundary is string {
  return boundary !== undefined && /^[0-9A-Za-z'()+_,./:=? -]{0,69}[0-9A-Za-z'()+_,./:=?-]$/.test(boundary);
}

/** The token of a complete urlencoded body. */
export function urlencodedToken(body: Uint8Array): FormToken {
  const values = new URLSearchParams(utf8.decode(body)).getAll('csrf_token');
  if (values.length === 0) return { missing: 'csrf_token_missing' };
  if (values.some((value) => value !== values[0])) return { missing: 'csrf_token_conflict' };
  return { token: values[0]! };
}

const utf8 = new TextDecoder();

const MAX_PARTS_BEFORE_TOKEN = 64;

/**
 * The token of a multipart body, from what has arrived so far: `'more'` when the
 * answer needs more bytes, `complete` when the body has ended.
 */
export function multipartToken(prefix: Uint8Array, boundary: string, complete: boolean): FormToken {
  // Latin-1 keeps one character per byte, so indexes into the text are byte offsets.
  const text = latin1(prefix);
  const delimiter = `--${boundary}`;
  let position = text.startsWith(delimiter) ? 0 : text.indexOf(`\r\n${delimiter}`);
  if (position === -1) return complete ? { missing: 'csrf_form_malformed' } : 'more';
  if (position > 0) position += 2;
  for (let part = 0; part < MAX_PARTS_BEFORE_TOKEN; part++) {
    const afterDelimiter = position + delimiter.length;
    if (text.length < afterDelimiter + 2) return complete ? { missing: 'csrf_form_malformed' } : 'more';
    if (text.startsWith('--', afterDelimiter)) return { missing: 'csrf_token_missing' };
    if (!text.startsWith('\r\n', afterDelimiter)) return { missing: 'csrf_form_malformed' };
    const headersEnd = text.indexOf('\r\n\r\n', afterDelimiter + 2);
    if (headersEnd === -1) return complete ? { missing: 'csrf_form_malformed' } : 'more';
    const disposition = contentDisposition(prefix, text, afterDelimiter + 2, headersEnd);
    if (disposition === undefined) return { missing: 'csrf_form_malformed' };
    if (disposition.filename) return { missing: 'csrf_token_missing_before_file' };
    const bodyStart = headersEnd + 4;
    const next = text.indexOf(`\r\n${delimiter}`, bodyStart);
    if (next === -1) return complete ? { missing: 'csrf_form_malformed' } : 'more';
    if (disposition.name === 'csrf_token') return { token: text.slice(bodyStart, next) };
    position = next + 2;
  }
  return { missing: 'csrf_token_missing' };
}

/**
 * One character per byte. WHATWG's "latin1" is windows-1252, which differs from
 * ISO-8859-1 only in what bytes 0x80–0x9F become: still one non-ASCII character each,
 * so offsets and every ASCII match (delimiters, header names, the token) are the same.
 * (Spreading the bytes into String.fromCharCode cost ~9 µs for a 400-byte form.)
 */
const LATIN1 = ((): TextDecoder | undefined => {
  try {
    return new TextDecoder('latin1');
  } catch {
    return undefined; // a runtime whose TextDecoder knows UTF-8 only
  }
})();

function latin1(bytes: Uint8Array): string {
  if (LATIN1 !== undefined) return LATIN1.decode(bytes);
  let text = '';
  for (let start = 0; start < bytes.length; start += 8192) text += String.fromCharCode(...bytes.subarray(start, start + 8192));
  return text;
}

interface Disposition {
  readonly name: string;
  readonly filename: boolean;
}

/**
 * Part headers read lately: a browser sends the same few with every post of a form.
 * What they say depends on their text alone. Bounded: emptied when full.
 */
const KNOWN_HEADERS = new Map<string, Disposition>();
const MAX_KNOWN_HEADERS = 128;
const MAX_KNOWN_HEADERS_LENGTH = 256;

/**
 * `readDisposition` of the part headers at `start`–`end` of the body prefix (`bytes`,
 * and `text`, its Latin-1 reading), without reading again headers read lately.
 */
function contentDisposition(bytes: Uint8Array, text: string, start: number, end: number): Disposition | undefined {
  if (end - start > MAX_KNOWN_HEADERS_LENGTH) return readDisposition(text.slice(start, end));
  // A string of its own: a slice of `text` would keep the whole prefix (up to 64 KiB)
  // alive for as long as the cache keeps it, and so would the name read from it.
  const headers = latin1(bytes.subarray(start, end));
  const known = KNOWN_HEADERS.get(headers);
  if (known !== undefined) return known;
  const disposition = readDisposition(headers);
  if (disposition !== undefined) {
    if (KNOWN_HEADERS.size >= MAX_KNOWN_HEADERS) KNOWN_HEADERS.clear();
    KNOWN_HEADERS.set(headers, disposition);
  }
  return disposition;
}

/** The `name` and whether a `filename` is given, from a part's headers; `undefined` without a form-data disposition. */
function readDisposition(headers: string): Disposition | undefined {
  for (const line of headers.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon === -1 || line.slice(0, colon).toLowerCase() !== 'content-disposition') continue;
    const value = line.slice(colon + 1);
    // Space and tab only, as in the upload parser (uploads/multipart.ts): the two must
    // agree on which part is a file.
    if (!/^[ \t]*form-data[ \t]*(?:;|$)/i.test(value)) return undefined;
    const name = /;[ \t]*name[ \t]*=[ \t]*(?:"([^"]*)"|([^; \t"]+))/i.exec(value);
    if (!name) return undefined;
    return Object.freeze({ name: name[1] ?? name[2]!, filename: /;[ \t]*filename\*?[ \t]*=/i.test(value) });
  }
  return undefined;
}
