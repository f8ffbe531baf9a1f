/**
 * The `csrf_token` field of a form body, read from the start of the body only.
 *
 * - `application/x-www-form-urlencoded`: the whole body (up to a limit) is read, so a
 *   field given twice with different values is caught.
 * - `multipart/form-data`: parts are read in order up to the first file part (or the
 *   end of the body, or of the window the caller reads); a file part before the token
 *   ends the search (`csrf_token_missing_before_file`), so no file byte is accepted
 *   from a request that is not verified yet, and two `csrf_token` parts with different
 *   values among those read are a conflict, as in a urlencoded body. rampart's
 *   templates put the field first.
 *
 * The framing is read by the rules of the upload parser (`uploads/multipart.ts`), and
 * part headers by the function it uses (`_internal/part-headers.ts`): the two never
 * disagree on which part is which field or which part is a file, and a body the upload
 * parser refuses before the token, this reader refuses too (`csrf_form_malformed`). Broken framing after the token is left
 * to the parser that reads the body, which refuses it with its own code.
 *
 * What is read is handed back to the application unchanged (see `IncomingRequest.peekBody`).
 */

import { isTokenCharacter, skipSpaces } from '../_internal/http-syntax.ts';
import { readPartHeaders } from '../_internal/part-headers.ts';

/** Where the token search ended. */
export type FormToken =
  | { readonly token: string }
  | { readonly missing: 'csrf_token_missing' | 'csrf_token_missing_before_file' | 'csrf_token_conflict' | 'csrf_form_malformed' }
  | 'more';

/**
 * How much of the body a prefix is: `'partial'`, what has arrived so far (more may
 * come); `'body'`, all of it; `'window'`, all the caller will read (the rest is never
 * looked at).
 */
export type PrefixExtent = 'partial' | 'body' | 'window';

/** A `Content-Type` with no parameters worth reading. */
const NO_CONTENT_TYPE = Object.freeze({ type: '', boundary: undefined });

/**
 * The media type (lowercased) and the `boundary` parameter of a `Content-Type` value.
 *
 * Parameters are read in order by RFC 9110 §5.6.6, each value a token or a quoted
 * string, so a `boundary=` written inside another parameter's quoted value is that
 * value's text: `x="; boundary=AAA"; boundary=BBB` has the boundary `BBB`, as a proxy
 * or a firewall reads it. `boundary` is `undefined` when there is none every reader
 * would agree on: absent, given twice, or in parameters that do not parse (a quoted
 * string with a backslash included: RFC 9110 reads `\"` as a quote inside the string,
 * other readers as its end).
 *
 * @example
 * ```ts
 * parseContentType('multipart/form-data; boundary="----x"') // { type: 'multipart/form-data', boundary: '----x' }
 * ```
 */
export function parseContentType(value: string | undefined): { type: string; boundary: string | undefined } {
  if (value === undefined) return NO_CONTENT_TYPE;
  const semicolon = value.indexOf(';');
  const type = (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  return { type, boundary: semicolon === -1 ? undefined : boundaryParameter(value, semicolon) };
}

/** `boundary` among the parameters that start at the `;` at `position`; `undefined` as `parseContentType` says. */
function boundaryParameter(value: string, position: number): string | undefined {
  let boundary: string | undefined;
  const length = value.length;
  // parameters = *( OWS ";" OWS [ parameter ] ); the loop starts on a ";".
  while (position < length) {
    position = skipSpaces(value, position + 1);
    if (position === length) break;
    if (value.charCodeAt(position) === SEMICOLON) continue;
    const nameStart = position;
    while (position < length && isTokenCharacter(value.charCodeAt(position))) position++;
    if (position === nameStart) return undefined;
    const name = value.slice(nameStart, position);
    // RFC 9110 has no space around "="; the old reader allowed it, and so does the
    // multipart reader, so it is kept (duplicates are caught whatever the spacing).
    position = skipSpaces(value, position);
    if (value.charCodeAt(position) !== EQUALS) return undefined;
    position = skipSpaces(value, position + 1);
    let parameter: string;
    if (value.charCodeAt(position) === QUOTE) {
      const close = value.indexOf('"', position + 1);
      if (close === -1) return undefined;
      parameter = value.slice(position + 1, close);
      if (parameter.includes('\\')) return undefined;
      position = close + 1;
    } else {
      // Unquoted: a token by RFC 9110, but boundaries are sent unquoted with other
      // characters of RFC 2046 (`=`, `/`, `:`); anything short of a separator is taken.
      const start = position;
      while (position < length && isUnquotedCharacter(value.charCodeAt(position))) position++;
      if (position === start) return undefined;
      parameter = value.slice(start, position);
    }
    position = skipSpaces(value, position);
    if (position < length && value.charCodeAt(position) !== SEMICOLON) return undefined;
    if (name.length === 8 && name.toLowerCase() === 'boundary') {
      // Two boundaries: a proxy may pick the other one, and see other parts.
      if (boundary !== undefined) return undefined;
      boundary = parameter;
    }
  }
  return boundary;
}

const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const QUOTE = 0x22;

/** A visible ASCII character that does not end or open anything: not `;`, `"` or `\`. */
function isUnquotedCharacter(code: number): boolean {
  return code > 0x20 && code < 0x7f && code !== SEMICOLON && code !== QUOTE && code !== 0x5c;
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

/**
 * True when a complete urlencoded body has a `_method` field (a method override), its
 * name decoded as every form parser decodes it (`%5Fmethod`), ASCII case ignored, and
 * also as `_method[…]` (what qs reads as `_method`).
 */
export function urlencodedHasMethodOverride(body: Uint8Array): boolean {
  const text = utf8.decode(body);
  // Only an escape can spell the name other than literally.
  if (!text.includes('%') && !/_method/i.test(text)) return false;
  for (const name of new URLSearchParams(text).keys()) if (isMethodOverrideName(name)) return true;
  return false;
}

/** `_method` or `_method[…]`, ASCII case ignored: the names method-override middleware reads. */
export function isMethodOverrideName(name: string): boolean {
  if (name.length < 7) return false;
  const lower = name.toLowerCase();
  return lower === '_method' || lower.startsWith('_method[');
}

const utf8 = new TextDecoder();

/** Parts read at most, however small. */
const MAX_PARTS = 64;

/**
 * The token of a multipart body, from the prefix of it given: `'more'` when the answer
 * needs more bytes. Reads field parts until the first file part, the end of the body,
 * 64 parts, or the end of what the caller reads (`extent`); a token found before any
 * of those is the answer, unless another `csrf_token` part read says something else.
 * Broken framing after the token is not this reader's to report: the parser that
 * reads the body refuses it with its own code (`upload_malformed`, `upload_truncated`).
 */
export function multipartToken(prefix: Uint8Array, boundary: string, extent: PrefixExtent): FormToken {
  let token: string | undefined;
  let conflict = false;
  const ended = walkMultipart(prefix, boundary, (name, text, start, end) => {
    if (name !== 'csrf_token') return true;
    const value = text.slice(start, end);
    if (token === undefined) token = value;
    else if (value !== token) conflict = true;
    return !conflict;
  });
  if (conflict) return { missing: 'csrf_token_conflict' };
  switch (ended) {
    case 'malformed':
      if (token === undefined) return { missing: 'csrf_form_malformed' };
      break;
    case 'incomplete':
      if (extent === 'partial') return 'more';
      if (extent === 'body' && token === undefined) return { missing: 'csrf_form_malformed' };
      break;
    case 'file':
      if (token === undefined) return { missing: 'csrf_token_missing_before_file' };
      break;
    default:
      break;
  }
  return token === undefined ? { missing: 'csrf_token_missing' } : { token };
}

/**
 * Whether a multipart body has a `_method` field (see `isMethodOverrideName`) among
 * the parts `multipartToken` reads: `'malformed'` when its framing is broken, `'more'`
 * when the answer needs more bytes. A `_method` part after the first file part, or
 * past what the caller reads, is not seen.
 */
export function multipartHasMethodOverride(prefix: Uint8Array, boundary: string, extent: PrefixExtent): boolean | 'malformed' | 'more' {
  let found = false;
  const ended = walkMultipart(prefix, boundary, (name) => {
    found = isMethodOverrideName(name);
    return !found;
  });
  if (found) return true;
  if (ended === 'malformed' || (ended === 'incomplete' && extent === 'body')) return 'malformed';
  return ended === 'incomplete' && extent === 'partial' ? 'more' : false;
}

/**
 * How a walk over multipart parts ended: `'stopped'` by its visitor, at the first
 * `'file'` part, at the close delimiter (`'end'`), after `MAX_PARTS` (`'parts'`),
 * short of bytes (`'incomplete'`), or on broken framing (`'malformed'`).
 */
type WalkEnd = 'stopped' | 'file' | 'end' | 'parts' | 'incomplete' | 'malformed';

/**
 * Visits the field parts of a multipart body prefix in order: `visit` gets the part's
 * name, and its content as `text.slice(start, end)` (the prefix read as Latin-1), and
 * returns `false` to stop.
 */
function walkMultipart(prefix: Uint8Array, boundary: string, visit: (name: string, text: string, start: number, end: number) => boolean): WalkEnd {
  // Latin-1 keeps one character per byte, so indexes into the text are byte offsets.
  const text = latin1(prefix);
  const delimiter = `--${boundary}`;
  // The first delimiter, as the upload parser finds it: at the very start, or after a
  // CRLF (a preamble, even an empty one: a body may open with CRLF).
  let position: number;
  if (text.startsWith(delimiter)) {
    position = 0;
  } else {
    const found = text.indexOf(`\r\n${delimiter}`);
    if (found === -1) return 'incomplete';
    position = found + 2;
  }
  for (let part = 0; part < MAX_PARTS; part++) {
    const afterDelimiter = position + delimiter.length;
    if (text.length < afterDelimiter + 2) return 'incomplete';
    if (text.startsWith('--', afterDelimiter)) return 'end';
    if (!text.startsWith('\r\n', afterDelimiter)) return 'malformed';
    // Searched from the CRLF that ends the delimiter line: an empty header block (CRLF
    // CRLF right there) is found, and refused, as the upload parser refuses it.
    const headersEnd = text.indexOf('\r\n\r\n', afterDelimiter);
    if (headersEnd === -1) return 'incomplete';
    if (headersEnd === afterDelimiter) return 'malformed';
    const disposition = contentDisposition(prefix, text, afterDelimiter + 2, headersEnd);
    if (disposition === undefined) return 'malformed';
    if (disposition.file) return 'file';
    const bodyStart = headersEnd + 4;
    const next = text.indexOf(`\r\n${delimiter}`, bodyStart);
    if (next === -1) return 'incomplete';
    if (!visit(disposition.name, text, bodyStart, next)) return 'stopped';
    position = next + 2;
  }
  return 'parts';
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
  /** A `filename` or `filename*` parameter is given: the upload parser takes the part as a file. */
  readonly file: boolean;
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

/** The field a part's header block describes; `undefined` for a block the upload parser refuses (see `readPartHeaders`). */
function readDisposition(block: string): Disposition | undefined {
  const headers = readPartHeaders(block);
  return headers === undefined ? undefined : Object.freeze({ name: headers.name, file: headers.filename !== undefined });
}
