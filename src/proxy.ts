/**
 * Trusted proxies: the one place that decides a request's scheme, host and client
 * address. Off by default, `X-Forwarded-*` headers are ignored, because any client
 * can send them. When on, they are read only as far as the chain of trusted proxies
 * reaches: a hop count (`trustProxy: 1` for one reverse proxy in front) or a list of
 * proxy addresses and CIDR ranges.
 */

import { describe } from './_internal/describe.ts';

/** Who may tell rampart the original scheme, host and client address. */
export type TrustProxyOption = false | number | readonly string[];

/** What the proxy policy concluded about a request. */
export interface ForwardedFacts {
  readonly secure: boolean;
  readonly host: string | undefined;
  readonly clientAddress: string | undefined;
}

/** The headers and connection facts the proxy policy reads. */
export interface ConnectionFacts {
  readonly tls: boolean;
  readonly remoteAddress: string | undefined;
  header(lowerName: string): string | undefined;
}

interface Range {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

const NAMED_RANGES: Record<string, readonly string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let index = 0; index < 4; index++) {
    const part = parts[index]!;
    if (!/^(?:0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return null;
    bytes[index] = Number(part);
  }
  return bytes;
}

function parseIPv6(text: string): Uint8Array | null {
  let address = text;
  const zone = address.indexOf('%');
  if (zone !== -1) address = address.slice(0, zone);
  let tail: Uint8Array | null = null;
  const lastColon = address.lastIndexOf(':');
  if (address.includes('.', lastColon)) {
    tail = parseIPv4(address.slice(lastColon + 1));
    if (!tail) return null;
    address = `${address.slice(0, lastColon + 1)}0:0`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest] : head;
  if (groups.length !== 8 || (halves.length === 2 && head.length + rest.length > 7)) return null;
  const bytes = new Uint8Array(16);
  for (let index = 0; index < 8; index++) {
    const group = groups[index]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    const value = parseInt(group, 16);
    bytes[index * 2] = value >> 8;
    bytes[index * 2 + 1] = value & 0xff;
  }
  if (tail) bytes.set(tail, 12);
  return bytes;
}

/** Parses an IPv4 or IPv6 address; IPv4-mapped IPv6 (`::ffff:1.2.3.4`) becomes IPv4. */
export function parseAddress(text: string): Uint8Array | null {
  const address = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!address.includes(':')) return parseIPv4(address);
  const bytes = parseIPv6(address);
  if (bytes && bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return bytes.slice(12);
  }
  return bytes;
}

function parseRange(text: string): Range[] {
  const named = NAMED_RANGES[text];
  if (named) return named.flatMap((range) => parseRange(range));
  const [addressText, prefixText, ...extra] = text.split('/');
  const bytes = addressText === undefined ? null : parseAddress(addressText);
  const maxPrefix = bytes ? bytes.length * 8 : 0;
  const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
  if (!bytes || extra.length > 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > maxPrefix || prefixText === '') {
    throw new TypeError(
      `rampart: trustProxy: ${describe(text)} is not an IP address, a CIDR range like "10.0.0.0/8", or one of ${Object.keys(NAMED_RANGES).join(', ')}.`,
    );
  }
  return [{ bytes, prefix }];
}

function inRange(address: Uint8Array, range: Range): boolean {
  if (address.length !== range.bytes.length) return false;
  let bits = range.prefix;
  for (let index = 0; bits > 0; index++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((address[index]! & mask) !== (range.bytes[index]! & mask)) return false;
  }
  return true;
}

/** Comma-separated header values, trimmed, in order (left = farthest from us). */
function list(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(',').map((item) => item.trim()).filter(Boolean);
}

// RFC 9110 §7.2 Host = uri-host [ ":" port ]; reg-name, IPv4 or a bracketed IPv6 literal.
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/;

/** True when `host` is a syntactically valid Host header value. */
export function isValidHost(host: string): boolean {
  return HOST.test(host);
}

/** The value a chain of `trustedHops` proxies vouches for: each appends, so count from the right. */
function fromTrustedHop(values: readonly string[], trustedHops: number): string | undefined {
  if (values.length === 0) return undefined;
  return values[Math.max(0, values.length - trustedHops)];
}

/** An X-Forwarded-For entry is client-written text: only a real address is passed on. */
function addressOrUndefined(text: string | undefined): string | undefined {
  return text !== undefined && parseAddress(text) !== null ? text : undefined;
}

/** A compiled proxy policy: what a request's scheme, host and client address are. */
export type ProxyPolicy = (connection: ConnectionFacts) => ForwardedFacts;

/** The facts of a request no proxy vouches for: the connection's own. */
export function direct(connection: ConnectionFacts): ForwardedFacts {
  return { secure: connection.tls, host: connection.header('host'), clientAddress: connection.remoteAddress };
}

function forwarded(connection: ConnectionFacts, chain: readonly string[], trustedHops: number): ForwardedFacts {
  if (trustedHops === 0) return direct(connection);
  const proto = fromTrustedHop(list(connection.header('x-forwarded-proto')), trustedHops)?.toLowerCase();
  const forwardedHost = fromTrustedHop(list(connection.header('x-forwarded-host')), trustedHops);
  return {
    secure: proto === 'https' ? true : proto === 'http' ? false : connection.tls,
    host: forwardedHost !== undefined && isValidHost(forwardedHost) ? forwardedHost : connection.header('host'),
    clientAddress: addressOrUndefined(chain[Math.min(trustedHops, chain.length - 1)]),
  };
}

/** Validates the `trustProxy` option and returns the policy for each request (`direct` when off). */
export function compileProxyPolicy(option: unknown): ProxyPolicy {
  if (option === undefined || option === false) return direct;
  if (option === true) {
    throw new TypeError(
      'rampart: trustProxy: true would let any client forge its address and scheme. Give the number of proxies in front of the app (usually 1) or their addresses, e.g. ["10.0.0.0/8"].',
    );
  }
  if (typeof option === 'number') {
    if (!Number.isInteger(option) || option < 1 || option > 10) {
      throw new RangeError(`rampart: trustProxy: expected the number of proxies in front of the app (1 to 10), got ${describe(option)}.`);
    }
    return (connection) => {
      const chain = [connection.remoteAddress ?? '', ...list(connection.header('x-forwarded-for')).reverse()];
      return forwarded(connection, chain, option);
    };
  }
  if (!Array.isArray(option) || option.length === 0) {
    throw new TypeError(`rampart: trustProxy: expected false, a hop count, or a list of proxy addresses, got ${describe(option)}.`);
  }
  const ranges = (option as unknown[]).flatMap((item) => {
    if (typeof item !== 'string') throw new TypeError(`rampart: trustProxy: expected address strings, got ${describe(item)}.`);
    return parseRange(item);
  });
  const trusted = (address: string): boolean => {
    const bytes = parseAddress(address);
    return bytes !== null && ranges.some((range) => inRange(bytes, range));
  };
  return (connection) => {
    const chain = [connection.remoteAddress ?? '', ...list(connection.header('x-forwarded-for')).reverse()];
    let trustedHops = 0;
    while (trustedHops < chain.length && trusted(chain[trustedHops]!)) trustedHops++;
    return forwarded(connection, chain, trustedHops);
  };
}
