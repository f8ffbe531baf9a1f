import { describe, expect, it } from 'vitest';
import { CookieJar, parseCookieDate, parseSetCookie } from './cookie-jar.ts';

const NOW = Date.UTC(2026, 0, 1);
const keys = (jar: CookieJar): string[] => jar.all().map((cookie) => `${cookie.key}=${cookie.value}`);

describe('parseSetCookie', () => {
  it('reads the attributes tough-cookie reads', () => {
    expect(parseSetCookie(' id = a b ; Secure; HTTPONLY; SameSite=STRICT; Path=/x; Domain=.Example.COM; Max-Age=-5; Expires=Wed, 21 Oct 2015 07:28:00 GMT')).toEqual({
      key: 'id',
      value: 'a b',
      expires: new Date(Date.UTC(2015, 9, 21, 7, 28, 0)),
      maxAge: -5,
      domain: 'example.com',
      path: '/x',
      secure: true,
      httpOnly: true,
      sameSite: 'strict',
    });
  });

  it.each(['', 'novalue', '=value', 'a\u0001=b'])('refuses %j', (line) => {
    expect(parseSetCookie(line)).toBeUndefined();
  });

  it('keeps an unknown SameSite as absent and a relative Path as default', () => {
    expect(parseSetCookie('a=1; SameSite=Bogus; Path=x')).toMatchObject({ sameSite: undefined, path: null });
  });
});

describe('parseCookieDate', () => {
  it.each([
    ['Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2015, 9, 21, 7, 28, 0)],
    ['Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(1994, 10, 6, 8, 49, 37)],
    ['Sun Nov  6 08:49:37 1994', Date.UTC(1994, 10, 6, 8, 49, 37)],
    ['1 jan 69 0:0:0', Date.UTC(2069, 0, 1)],
  ])('%s', (text, time) => {
    expect(parseCookieDate(text)?.getTime()).toBe(time);
  });

  it.each(['tomorrow', '32 Jan 2020 00:00:00', '1 Jan 1600 00:00:00', '1 Jan 2020 24:00:00'])('refuses %s', (text) => {
    expect(parseCookieDate(text)).toBeUndefined();
  });
});

describe('CookieJar', () => {
  it('refuses what tough-cookie refuses, silently', () => {
    const jar = new CookieJar();
    const url = 'https://www.example.com/a/b';
    for (const line of [
      'ip=1; Domain=127.0.0.1',
      'suffix=1; Domain=com',
      'other=1; Domain=example.org',
      '__Secure-a=1',
      '__Host-a=1; Secure; Path=/a',
      '__Host-b=1; Secure; Domain=example.com; Path=/',
      'ok=1; Domain=example.com',
      '__Host-c=1; Secure; Path=/',
      '__Secure-d=1; Secure',
    ]) {
      jar.setCookie(line, url, NOW);
    }
    expect(keys(jar)).toEqual(['ok=1', '__Host-c=1', '__Secure-d=1']);
  });

  it('accepts special-use domains like tough-cookie (allowSpecialUseDomain)', () => {
    const jar = new CookieJar();
    jar.setCookie('a=1; Domain=localhost', 'http://localhost/', NOW);
    jar.setCookie('b=1; Domain=app.test', 'http://www.app.test/', NOW);
    jar.setCookie('c=1; Domain=test', 'http://www.app.test/', NOW);
    expect(keys(jar)).toEqual(['a=1', 'b=1']);
  });

  it('replaces by name, domain and path, keeping the original order', () => {
    const jar = new CookieJar();
    jar.setCookie('a=1', 'https://example.com/', NOW);
    jar.setCookie('b=1', 'https://example.com/', NOW);
    jar.setCookie('a=2', 'https://example.com/', NOW);
    jar.setCookie('a=3; Path=/x', 'https://example.com/', NOW);
    expect(keys(jar)).toEqual(['a=2', 'b=1', 'a=3']);
  });

  it('uses the request path, query included, for the default path', () => {
    const jar = new CookieJar();
    jar.setCookie('a=1', 'https://example.com/dir/page?next=/x/y', NOW);
    jar.setCookie('b=1', 'https://example.com/dir/page', NOW);
    expect(jar.all().map((cookie) => cookie.path)).toEqual(['/dir/page%3Fnext=/x', '/dir']);
  });

  it('sends matching cookies, longest path first, and drops expired ones when it meets them', () => {
    const jar = new CookieJar();
    jar.setCookie('root=1', 'https://example.com/', NOW);
    jar.setCookie('deep=1; Path=/a', 'https://example.com/', NOW);
    jar.setCookie('secure=1; Secure', 'https://example.com/', NOW);
    jar.setCookie('gone=1; Max-Age=0', 'https://example.com/', NOW);
    jar.setCookie('old=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/other', 'https://example.com/', NOW);
    expect(jar.all()).toHaveLength(5);
    expect(jar.cookieHeader('http://example.com/a/b', NOW)).toBe('deep=1; root=1');
    // The expired cookie matched that request: it is gone. The other one was not met.
    expect(keys(jar)).toEqual(['root=1', 'deep=1', 'secure=1', 'old=1']);
    expect(jar.cookieHeader('https://example.com/', NOW)).toBe('root=1; secure=1');
    expect(jar.cookieHeader('https://sub.example.com/', NOW)).toBe('');
  });

  it('sends domain cookies to subdomains, host-only cookies to the host only', () => {
    const jar = new CookieJar();
    jar.setCookie('wide=1; Domain=example.com', 'https://example.com/', NOW);
    jar.setCookie('narrow=1', 'https://example.com/', NOW);
    expect(jar.cookieHeader('https://a.example.com/', NOW)).toBe('wide=1');
  });
});
