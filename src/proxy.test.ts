import { describe, expect, it } from 'vitest';
import { compileProxyPolicy, isValidHost, parseAddress, type ConnectionFacts } from './proxy.ts';

function connection(remoteAddress: string, headers: Record<string, string> = {}, tls = false): ConnectionFacts {
  const all: Record<string, string> = { host: 'app.example', ...headers };
  return { tls, remoteAddress, header: (name) => all[name] };
}

const forged = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example', 'x-forwarded-for': '6.6.6.6' };

describe('trustProxy off (the default)', () => {
  const policy = compileProxyPolicy(undefined);

  it('ignores every X-Forwarded-* header', () => {
    expect(policy(connection('203.0.113.9', forged))).toEqual({ secure: false, host: 'app.example', clientAddress: '203.0.113.9' });
  });

  it('trusts only the connection for the scheme', () => {
    expect(policy(connection('203.0.113.9', {}, true)).secure).toBe(true);
  });
});

describe('trustProxy as a hop count', () => {
  const one = compileProxyPolicy(1);
  const two = compileProxyPolicy(2);

  // Each row: policy, peer, headers, expected facts.
  it.each([
    ['one proxy, its headers', one, '10.0.0.2', { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example', 'x-forwarded-for': '198.51.100.7' }, { secure: true, host: 'app.example', clientAddress: '198.51.100.7' }],
    ['one proxy that appends to a forged chain', one, '10.0.0.2', { 'x-forwarded-proto': 'http, https', 'x-forwarded-for': '6.6.6.6, 198.51.100.7', 'x-forwarded-host': 'evil.example, app.example' }, { secure: true, host: 'app.example', clientAddress: '198.51.100.7' }],
    ['one proxy, forged https before the real http', one, '10.0.0.2', { 'x-forwarded-proto': 'https, http', 'x-forwarded-for': '198.51.100.7' }, { secure: false, host: 'app.example', clientAddress: '198.51.100.7' }],
    ['two proxies', two, '10.0.0.3', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.0.0.2', 'x-forwarded-proto': 'https' }, { secure: true, host: 'app.example', clientAddress: '198.51.100.7' }],
    ['proxy without X-Forwarded-For', one, '10.0.0.2', { 'x-forwarded-proto': 'https' }, { secure: true, host: 'app.example', clientAddress: '10.0.0.2' }],
    ['nonsense proto is ignored', one, '10.0.0.2', { 'x-forwarded-proto': 'gopher' }, { secure: false, host: 'app.example', clientAddress: '10.0.0.2' }],
    ['invalid forwarded host is ignored', one, '10.0.0.2', { 'x-forwarded-host': 'a b<script>' }, { secure: false, host: 'app.example', clientAddress: '10.0.0.2' }],
    ['a forwarded address that is not an address', one, '10.0.0.2', { 'x-forwarded-for': 'not-an-ip' }, { secure: false, host: 'app.example', clientAddress: undefined }],
  ] as const)('%s', (_name, policy, peer, headers, expected) => {
    expect(policy(connection(peer, headers))).toEqual(expected);
  });
});

describe('trustProxy as addresses', () => {
  const policy = compileProxyPolicy(['10.0.0.0/8', '::1']);

  it('trusts headers only from a listed peer', () => {
    expect(policy(connection('203.0.113.9', forged))).toEqual({ secure: false, host: 'app.example', clientAddress: '203.0.113.9' });
    expect(policy(connection('10.1.2.3', { 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.7' })).clientAddress).toBe('198.51.100.7');
  });

  it('walks the chain through trusted proxies and stops at the first untrusted hop', () => {
    const facts = policy(connection('10.0.0.3', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.0.0.2' }));
    expect(facts.clientAddress).toBe('198.51.100.7');
  });

  it('accepts IPv6 and IPv4-mapped peers', () => {
    expect(policy(connection('::1', { 'x-forwarded-proto': 'https' })).secure).toBe(true);
    expect(policy(connection('::ffff:10.0.0.9', { 'x-forwarded-proto': 'https' })).secure).toBe(true);
  });

  it('understands named ranges', () => {
    const loopback = compileProxyPolicy(['loopback']);
    expect(loopback(connection('127.0.0.1', { 'x-forwarded-proto': 'https' })).secure).toBe(true);
    expect(loopback(connection('192.168.1.1', { 'x-forwarded-proto': 'https' })).secure).toBe(false);
    expect(compileProxyPolicy(['uniquelocal'])(connection('172.20.0.1', { 'x-forwarded-proto': 'https' })).secure).toBe(true);
  });
});

describe('options', () => {
  it.each([
    ['true', true, 'would let any client forge'],
    ['zero hops', 0, '1 to 10'],
    ['fractional hops', 1.5, '1 to 10'],
    ['empty list', [], 'expected false, a hop count'],
    ['a string', '10.0.0.1', 'expected false, a hop count'],
    ['bad address', ['10.0.0.300'], 'is not an IP address'],
    ['bad prefix', ['10.0.0.0/33'], 'is not an IP address'],
    ['empty prefix', ['10.0.0.0/'], 'is not an IP address'],
    ['hostname', ['proxy.internal'], 'is not an IP address'],
  ])('refuses %s', (_name, option, message) => {
    expect(() => compileProxyPolicy(option)).toThrow(message);
  });
});

describe('addresses and hosts', () => {
  it.each([
    ['127.0.0.1', [127, 0, 0, 1]],
    ['::ffff:127.0.0.1', [127, 0, 0, 1]],
    ['[::1]', [...Array(15).fill(0), 1]],
    ['2001:db8::1', [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1]],
    ['fe80::1%eth0', [0xfe, 0x80, ...Array(13).fill(0), 1]],
  ])('parses %s', (text, bytes) => {
    expect([...parseAddress(text)!]).toEqual(bytes);
  });

  it.each(['1.2.3', '01.2.3.4', '1.2.3.4.5', '::1::', 'g::1', '1:2:3:4:5:6:7:8:9', ''])('refuses %s', (text) => {
    expect(parseAddress(text)).toBeNull();
  });

  it.each([
    ['app.example', true],
    ['app.example:8443', true],
    ['[::1]:3000', true],
    ['127.0.0.1', true],
    ['evil.example/path', false],
    ['a b', false],
    ['app.example:99999999', false],
    ['', false],
  ])('host %s valid: %s', (host, valid) => {
    expect(isValidHost(host)).toBe(valid);
  });
});
