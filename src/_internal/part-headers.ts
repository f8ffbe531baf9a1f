/**
 * The header block of a `multipart/form-data` part, read once by the rules both of
 * rampart's readers follow: the upload parser (`uploads/multipart.ts`) and the CSRF
 * token scanner (`csrf/form.ts`). One function, so the two can never disagree on which
 * part is which field, or which part is a file: the scanner must find the token where
 * the parser will.
 */

import { skipSpaces, trimSpaces } from './http-syntax.ts';

/** What a part's headers say. */
export interface PartHeaders {
  /** The `name` of its `Content-Disposition: form-data`. */
  readonly name: string;
  /** Its `filename` (or the decoded `filename*`): a part with one is a file, even when it is empty. */
  readonly filename: string | undefined;
  /** Its `Content-Type`, lowercased, without parameters. */
  readonly contentType: string | undefined;
}

/** RFC 9110 `token`: a header name. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * A part's header block (the lines between the delimiter line and the blank line, CRLF
 * between them), or `undefined` for one that is refused: a line without a name, a bare
 * CR or LF (obsolete line folding included), a `Content-Disposition` or `Content-Type`
 * given twice, a `Content-Transfer-Encoding` that is not an identity (RFC 7578 §4.7
 * deprecates them; decoding one would let the bytes checked differ from the bytes
 * sent), or no `Content-Disposition: form-data` with a `name`. Size limits are the
 * caller's.
 */
export function readPartHeaders(block: string): PartHeaders | undefined {
  let disposition: string | undefined;
  let contentType: string | undefined;
  for (let start = 0; start < block.length; ) {
    const lineEnd = block.indexOf('\r\n', start);
    const end = lineEnd === -1 ? block.length : lineEnd;
    const line = block.slice(start, end);
    start = end + 2;
    const colon = line.indexOf(':');
    if (colon <= 0 || line.includes('\r') || line.includes('\n')) return undefined;
    const name = line.slice(0, colon).toLowerCase();
    if (!TOKEN.test(name)) return undefined;
    const value = trimSpaces(line.slice(colon + 1));
    if (name === 'content-disposition') {
      if (disposition !== undefined) return undefined;
      disposition = value;
    } else if (name === 'content-type') {
      if (contentType !== undefined) return undefined;
      contentType = value;
    } else if (name === 'content-transfer-encoding') {
      if (!/^(?:7bit|8bit|binary)$/i.test(value)) return undefined;
    }
  }
  if (disposition === undefined) return undefined;
  const parameters = formDataParameters(disposition);
  const name = parameters?.get('name');
  if (name === undefined) return undefined;
  let filename = parameters!.get('filename');
  if (filename === undefined) {
    const extended = parameters!.get('filename*');
    if (extended !== undefined) filename = decodeExtended(extended);
  }
  const type = contentType === undefined ? undefined : trimSpaces(contentType.split(';', 1)[0]!).toLowerCase();
  return { name, filename, contentType: type === '' ? undefined : type };
}

/**
 * One `key=value` or `key="value"` parameter and what ends it (`;` or the end), read
 * from `lastIndex` on. Only space and tab count as whitespace (RFC 9110 OWS): a
 * no-break space must not separate parameters.
 */
const PARAMETER = /[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*(?:"([^"]*)"|([^ \t;"]*))[ \t]*(?:;|$)/y;

/**
 * The parameters of `form-data; name="…"; filename="…"`, by lowercase key, read in
 * order, so a `name=` inside another parameter's quoted value is only text; `undefined`
 * for another type, a parameter that does not parse, or a key given twice. Values are
 * read as browsers write them (the HTML standard's encoding: `"` sent as `%22`, CR and
 * LF as `%0D`/`%0A`, no backslash escapes), so a quoted value ends at the next quote.
 */
function formDataParameters(value: string): Map<string, string> | undefined {
  const semicolon = value.indexOf(';');
  if (trimSpaces(semicolon === -1 ? value : value.slice(0, semicolon)).toLowerCase() !== 'form-data') return undefined;
  const parameters = new Map<string, string>();
  let position = semicolon === -1 ? value.length : semicolon + 1;
  for (;;) {
    position = skipSpaces(value, position);
    if (position === value.length) return parameters;
    PARAMETER.lastIndex = position;
    const match = PARAMETER.exec(value);
    if (!match) return undefined;
    const key = match[1]!.toLowerCase();
    if (parameters.has(key)) return undefined;
    parameters.set(key, match[2] ?? match[3]!);
    position = PARAMETER.lastIndex;
  }
}

/** RFC 8187 `charset'language'value`, UTF-8 only; anything else is kept as sent. */
function decodeExtended(value: string): string {
  const match = /^utf-8'[^']*'(.*)$/i.exec(value);
  if (!match) return value;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return value;
  }
}
