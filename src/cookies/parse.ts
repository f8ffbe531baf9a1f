/**
 * Parsing the `Cookie` request header (RFC 6265bis §5.7.4, the server side of
 * §4.2.1): split on `;`, trim only space and tab, split each pair at the first `=`,
 * strip one pair of surrounding double quotes. It never throws, never decodes and
 * never interprets octets: values are opaque, and whoever reads one validates it
 * (rampart's own cookies are base64url, checked when opened). Node's HTTP parser
 * already refuses control characters in header values.
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

/** What one pass over a header produces: a record (first wins), every pair, or one value. */
type Collect = { readonly into: 'record'; readonly record: Record<string, string> } | { readonly into: 'list'; readonly list: [string, string][] } | { readonly into: 'find'; readonly name: string };

/**
 * One pass over a `Cookie` header, writing each well-formed pair where `collect`
 * says; returns the value found in `find` mode. One loop without callbacks: parsing
 * runs on every request.
 */
function scan(header: string, collect: Collect): string | undefined {
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
        pairs++;
        const name = header.slice(nameStart, nameEnd);
        if (collect.into === 'record') {
          if (collect.record[name] === undefined) collect.record[name] = header.slice(valueStart, valueEnd);
        } else if (collect.into === 'list') {
          collect.list.push([name, header.slice(valueStart, valueEnd)]);
        } else if (name === collect.name) {
          return header.slice(valueStart, valueEnd);
        }
      }
    }
    start = end + 1;
  }
  return undefined;
}

/**
 * An object that inherits nothing (its prototype's prototype is null), built by a
 * constructor so V8 keeps it in fast mode: `Object.create(null)` objects start as
 * dictionaries, which made parsing half as fast.
 */
const CookieRecord = function CookieRecord() {} as unknown as new () => object;
CookieRecord.prototype = Object.create(null) as object;

/**
 * The cookies of a `Cookie` header, by name, in an object that inherits nothing (so a
 * cookie named `__proto__` or `constructor` is just a cookie); the first of
 * duplicate names wins.
 *
 * @example
 * ```ts
 * const cookies = parseCookies(request.headers.get('cookie'))
 * cookies['__Host-session'] // string | undefined
 * ```
 */
export function parseCookies(header: string | null | undefined): Record<string, string> {
  const record = new CookieRecord() as Record<string, string>;
  if (header) scan(header, { into: 'record', record });
  return record;
}

/** Every pair of a `Cookie` header in order, duplicates included (to detect shadowing). */
export function parseCookieList(header: string | null | undefined): [name: string, value: string][] {
  const list: [string, string][] = [];
  if (header) scan(header, { into: 'list', list });
  return list;
}

/** The value of one cookie (the first of that name), without building a map. */
export function getCookie(header: string | null | undefined, name: string): string | undefined {
  return header ? scan(header, { into: 'find', name }) : undefined;
}
