import { describe, expect, it } from 'vitest';
import { hostnameOf, isIpAddress, registrableDomain } from './domain.ts';

describe('hostnameOf', () => {
  it.each([
    ['127.0.0.1:8443', '127.0.0.1'],
    ['Example.COM.', 'example.com'],
    ['www.example.com:8443/path?x', 'www.example.com'],
    ['https://user:pw@cdn.example.net:444/x.js', 'cdn.example.net'],
    ['https://[::1]:8443/x', '::1'],
    ['//cdn.example.net/x', 'cdn.example.net'],
  ])('%s → %s', (value, host) => {
    expect(hostnameOf(value)).toBe(host);
  });
});

describe('registrableDomain (tldts `domain`, ICANN suffixes)', () => {
  it.each([
    ['127.0.0.1:8443', null],
    ['[::1]', null],
    ['localhost', null],
    ['com', null],
    ['example.com', 'example.com'],
    ['a.b.example.com', 'example.com'],
    ['www.example.co.uk', 'example.co.uk'],
    ['co.uk', null],
    ['a.b.github.io', 'github.io'],
    ['x.test', 'x.test'],
  ])('%s → %s', (host, domain) => {
    expect(registrableDomain(host)).toBe(domain);
  });

  it('counts private suffixes when asked (tough-cookie)', () => {
    expect(registrableDomain('a.b.github.io', { privateSuffixes: true })).toBe('b.github.io');
    expect(registrableDomain('github.io', { privateSuffixes: true })).toBeNull();
  });
});

describe('isIpAddress', () => {
  it.each([['127.0.0.1', true], ['0x7f.1', true], ['2130706433', true], ['::1', true], ['1.2.3.4.5', false], ['example.com', false], ['1.2.3.a', false]])('%s → %s', (host, ip) => {
    expect(isIpAddress(host)).toBe(ip);
  });
});
