/**
 * The escapers of the template engine, one per context, and the URL filters.
 *
 * Text, RCDATA and quoted attribute values share one escaper: `& < > " '` become
 * character references and NUL becomes U+FFFD (what the parser would make of it).
 * NUL is also the engine's own marker for the nonce and CSRF slots: no escaper lets
 * one through and templates may not hold one, so data can never forge a marker.
 * (An ASCII marker keeps pages one-byte strings, which Node writes without
 * transcoding: a U+FDD0 marker made every page with a form UTF-16, and writing it
 * cost more than rendering it.)
 */

/** The marker that starts a slot filled when a page is rendered for a request. */
export const MARKER = '\0';
/** The nonce of the response: `nonce="${MARKER}N"`. */
export const NONCE_MARKER = `${MARKER}N`;
/** The CSRF hidden field of a form. */
export const CSRF_MARKER = `${MARKER}F`;

const SPECIAL = /[&<>"'\0]/;
/** Which code points below 63 must be escaped (`\0 " & ' < >`). */
const SPECIAL_LOW = new Uint8Array(63);
for (const code of [0x00, 0x22, 0x26, 0x27, 0x3c, 0x3e]) SPECIAL_LOW[code] = 1;

/** The index of the first character to escape, or -1. A loop for short strings, the regex engine for long ones. */
function firstSpecial(text: string): number {
  const length = text.length;
  if (length > 64) return text.search(SPECIAL);
  for (let index = 0; index < length; index++) {
    const code = text.charCodeAt(index);
    if (code < 63 && SPECIAL_LOW[code] === 1) return index;
  }
  return -1;
}

/** Escapes text for element content, RCDATA and quoted attribute values. */
export function escapeHtml(text: string): string {
  // Most strings have nothing to escape: one scan, no allocation.
  const first = firstSpecial(text);
  if (first === -1) return text;
  let out = text.slice(0, first);
  let last = first;
  for (let index = first; index < text.length; index++) {
    let replacement: string;
    switch (text.charCodeAt(index)) {
      case 0x26: replacement = '&amp;'; break;
      case 0x3c: replacement = '&lt;'; break;
      case 0x3e: replacement = '&gt;'; break;
      case 0x22: replacement = '&quot;'; break;
      case 0x27: replacement = '&#39;'; break;
      case 0x00: replacement = '\uFFFD'; break;
      default: continue;
    }
    if (last !== index) out += text.slice(last, index);
    out += replacement;
    last = index + 1;
  }
  return last === text.length ? out : out + text.slice(last);
}

/** URL schemes a link or source may have; anything else becomes `about:invalid#rampart`. */
const SAFE_SCHEMES: ReadonlySet<string> = new Set(['http', 'https', 'mailto', 'tel']);
/** What an unsafe URL is replaced with: inert, and recognisable in the page. */
export const INVALID_URL = 'about:invalid#rampart';

/**
 * A URL for a link or source: kept when it is relative or its scheme is http, https,
 * mailto or tel; `about:invalid#rampart` otherwise. The scheme is the text before the
 * first `:` that comes before any `/`, `?` or `#`, compared exactly (lowercased): so
 * `java\tscript:`, ` javascript:` or `\u0001javascript:` are simply not allowed schemes,
 * without trying to normalise what the browser would (fails closed).
 */
export function filterUrl(url: string): string {
  const colon = url.indexOf(':');
  if (colon === -1) return url;
  // The common case first, without allocating: http: and https: in any case.
  if ((colon === 4 || colon === 5) && (url.charCodeAt(0) | 0x20) === 0x68 && (url.charCodeAt(1) | 0x20) === 0x74 && (url.charCodeAt(2) | 0x20) === 0x74 && (url.charCodeAt(3) | 0x20) === 0x70) {
    if (colon === 4 || (url.charCodeAt(4) | 0x20) === 0x73) return url;
  }
  for (let index = 0; index < colon; index++) {
    const code = url.charCodeAt(index);
    // '/', '?' or '#' before the colon: a relative URL whose path or query has a colon.
    if (code === 0x2f || code === 0x3f || code === 0x23) return url;
  }
  return SAFE_SCHEMES.has(url.slice(0, colon).toLowerCase()) ? url : INVALID_URL;
}

/**
 * An SVG animation's `values="…"`: a `;`-separated list, each of which the animation
 * may set (as `href`, when `attributeName` says so), each through `filterUrl`.
 */
export function filterUrlList(list: string): string {
  return list.includes(';') ? list.split(';').map(filterUrl).join(';') : filterUrl(list);
}

const DESCRIPTOR = /^\d+(?:\.\d+)?[wxh]$/;

/**
 * A `srcset` value: each candidate's URL through `filterUrl`, descriptors kept only
 * when they are a width, density or height (WHATWG "parse a srcset attribute").
 */
export function filterSrcset(srcset: string): string {
  const candidates: string[] = [];
  let position = 0;
  const length = srcset.length;
  while (position < length) {
    while (position < length && (isSpace(srcset.charCodeAt(position)) || srcset[position] === ',')) position++;
    if (position >= length) break;
    let end = position;
    while (end < length && !isSpace(srcset.charCodeAt(end))) end++;
    let url = srcset.slice(position, end);
    position = end;
    let descriptors = '';
    if (url.endsWith(',')) {
      url = url.replace(/,+$/, '');
    } else {
      const comma = srcset.indexOf(',', position);
      descriptors = srcset.slice(position, comma === -1 ? length : comma).trim();
      position = comma === -1 ? length : comma + 1;
    }
    const kept = descriptors.split(/\s+/).filter((descriptor) => DESCRIPTOR.test(descriptor));
    candidates.push(kept.length > 0 ? `${filterUrl(url)} ${kept.join(' ')}` : filterUrl(url));
  }
  return candidates.join(', ');
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

// JSON.stringify already writes NUL (every control character) as a \u escape.
const JSON_UNSAFE = /[<>&\u2028\u2029]/g;
const JSON_REPLACEMENTS: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/**
 * JSON for a `<script type="application/json">` element: `<`, `>` and `&` as `\u`
 * escapes, so neither `</script>` nor `<!--` can appear, and U+2028/9 escaped for
 * older JavaScript parsers. `JSON.parse(element.textContent)` gives the value back.
 */
export function scriptJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    // A BigInt, a cycle, or a toJSON that throws: say which call, keep V8's reason.
    throw new TypeError(`rampart: json(): the value is not JSON data (${(error as Error).message}); pass plain objects, arrays, strings, numbers, booleans and null.`, { cause: error });
  }
  if (text === undefined) throw new TypeError(`rampart: json(): ${typeof value} is not JSON data.`);
  return text.replace(JSON_UNSAFE, (character) => JSON_REPLACEMENTS[character]!);
}
