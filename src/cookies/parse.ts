/**
 * Parsing the `Cookie` request header (RFC 6265bis §5.7.4, the server side of
 * §4.2.1): split on `;`, trim only space and tab, split each pair at the first `=`,
 * strip one pair of surrounding double quotes. It never throws and never decodes:
 * values are opaque (rampart's own cookies are base64url).
 *
 * Which duplicate wins: the first. Browsers list cookies with longer paths first, so
 * a sibling subdomain that tosses a same-named cookie with a longer path could come
 * first: that is why every cookie rampart sets is `__Host-`, which only this host can
 * set (Secure, `Path=/`, no `Domain`), so any duplicate of it is this host's own.
 */

/** At most this many pairs are read from one header; the rest is ignored. */
const MAX_PAIRS = 256;

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** True when the text holds a control character (a forged or broken pair is skipped). */
function hasControl(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * Calls `each(name, value)` for every well-formed pair, in header order; stops when
 * `each` returns `false`.
 */
function forEachPair(header: string, each: (name: string, value: string) => boolean | void): void {
  let start = 0;
  let pairs = 0;
  const length = header.length;
  while (start < length && pairs < MAX_PAIRS) {
    let end = header.indexOf(';', start);
    if (end === -1) end = length;
    const equals = header.indexOf('=', start);
    if (equals !== -1 && equals < end) {
      let nameStart = start;
      let nameEnd = equals;
      while (nameStart < nameEnd && isSpace(header.charCodeAt(nameStart))) nameStart++;
      while (nameEnd > nameStart && isSpace(header.charCodeAt(nameEnd - 1))) nameEnd--;
      let valueStart = equals + 1;
      let valueEnd = end;
      while (valueStart < valueEnd && isSpace(header.charCodeAt(valueStart))) valueStart++;
      while (valueEnd > valueStart && isSpace(header.charCodeAt(valueEnd - 1))) valueEnd--;
      if (valueEnd - valueStart >= 2 && header.charCodeAt(valueStart) === 0x22 && header.charCodeAt(valueEnd - 1) === 0x22) {
        valueStart++;
        valueEnd--;
      }
      if (nameEnd > nameStart) {
        const name = header.slice(nameStart, nameEnd);
        const value = header.slice(valueStart, valueEnd);
        pairs++;
        if (!hasControl(name) && !hasControl(value) && each(name, value) === false) return;
      }
    }
    start = end + 1;
  }
}

/**
 * The cookies of a `Cookie` header, by name; the first of duplicate names wins.
 *
 * @example
 * ```ts
 * const cookies = parseCookies(request.headers.get('cookie'))
 * cookies.get('__Host-session')
 * ```
 */
export function parseCookies(header: string | null | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  forEachPair(header, (name, value) => {
    if (!cookies.has(name)) cookies.set(name, value);
  });
  return cookies;
}

/** Every pair of a `Cookie` header in order, duplicates included (to detect shadowing). */
export function parseCookieList(header: string | null | undefined): [name: string, value: string][] {
  const list: [string, string][] = [];
  if (header) forEachPair(header, (name, value) => void list.push([name, value]));
  return list;
}

/** The value of one cookie (the first of that name), without building a map. */
export function getCookie(header: string | null | undefined, name: string): string | undefined {
  let found: string | undefined;
  if (header) {
    forEachPair(header, (candidate, value) => {
      if (candidate !== name) return true;
      found = value;
      return false;
    });
  }
  return found;
}
