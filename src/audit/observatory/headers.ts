/**
 * Response headers the way Observatory 1.4.8 sees them. It reads axios'
 * `response.headers`, made from Node's `IncomingMessage.headers`, so repeated
 * headers are already merged: kept as an array for `set-cookie`, joined with
 * `; ` for `cookie`, only the first kept for the fields Node treats as singletons
 * (`content-type`, `location`, …), and joined with `, ` for every other field.
 * A second `Content-Security-Policy` header therefore reaches the CSP parser as
 * one string with a comma in it. axios then strips control characters and
 * surrounding spaces/tabs from each value.
 */

import type { Exchange } from '../types.ts';

/** Fields of which Node keeps only the first occurrence. */
const NODE_SINGLETONS = new Set([
  'content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization', 'proxy-authorization',
  'if-modified-since', 'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag',
  'last-modified', 'server', 'age', 'expires',
]);

// eslint-disable-next-line no-control-regex
const INVALID_VALUE_CHARS = /[\u0000-\u0008\u000a-\u001f\u007f]+/g;

function sanitize(value: string): string {
  return value.replace(INVALID_VALUE_CHARS, '').replace(/^[\t ]+|[\t ]+$/g, '');
}

/** A response's headers as axios exposes them to Observatory. */
export class ObservedHeaders {
  readonly #values: ReadonlyMap<string, string | readonly string[]>;

  constructor(pairs: Exchange['response']['headers']) {
    const merged = new Map<string, string | string[]>();
    for (const [rawName, value] of pairs) {
      const name = rawName.toLowerCase();
      const existing = merged.get(name);
      if (name === 'set-cookie') {
        if (Array.isArray(existing)) existing.push(value);
        else merged.set(name, [value]);
      } else if (existing === undefined) {
        merged.set(name, value);
      } else if (NODE_SINGLETONS.has(name)) {
        continue;
      } else {
        merged.set(name, `${existing as string}${name === 'cookie' ? '; ' : ', '}${value}`);
      }
    }
    this.#values = new Map(
      [...merged].map(([name, value]): [string, string | readonly string[]] => [name, typeof value === 'string' ? sanitize(value) : value.map(sanitize)]),
    );
  }

  /** Observatory's `getHttpHeaders`: every value of `name` (one merged string, or the Set-Cookie lines). */
  all(name: string): string[] {
    const value = this.#values.get(name.toLowerCase());
    if (value === undefined) return [];
    return typeof value === 'string' ? [value] : [...value];
  }

  /** Observatory's `getFirstHttpHeader`: the first value of `name`, or `null`. */
  first(name: string): string | null {
    return this.all(name)[0] ?? null;
  }
}
