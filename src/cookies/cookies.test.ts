import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getCookie, parseCookieList, parseCookies } from './parse.ts';
import { deleteCookie, serializeCookie, type CookieOptions } from './serialize.ts';

describe('parsing the Cookie header', () => {
  // Each row: the header, and the cookies expected (first of duplicates wins).
  it.each([
    ['simple', 'a=1; b=2', [['a', '1'], ['b', '2']]],
    ['no space after ;', 'a=1;b=2', [['a', '1'], ['b', '2']]],
    ['spaces and tabs trimmed', ' a = 1 ;\tb=2\t', [['a', '1'], ['b', '2']]],
    ['quoted value', 'a="x y"', [['a', 'x y']]],
    ['lone quote kept', 'a="x', [['a', '"x']]],
    ['= in value', 'a=b=c', [['a', 'b=c']]],
    ['empty value', 'a=; b=2', [['a', ''], ['b', '2']]],
    ['duplicate: first wins', '__Host-s=mine; __Host-s=tossed', [['__Host-s', 'mine']]],
    ['pair without =', 'junk; a=1', [['a', '1']]],
    ['empty name', '=x; a=1', [['a', '1']]],
    ['empty pairs', ';;; a=1;;', [['a', '1']]],
    ['octets are not interpreted: values are opaque', 'a=1\u0001; b=2', [['a', '1\u0001'], ['b', '2']]],
    ['no-break space is not trimmed (GHSA-r5rp-j6wh-rvv4)', '\u00a0__Host-s=x', [['\u00a0__Host-s', 'x']]],
    ['percent-encoding is not decoded', 'a=%3Cscript%3E', [['a', '%3Cscript%3E']]],
    ['empty header', '', []],
  ] as const)('%s', (_name, header, expected) => {
    expect(Object.entries(parseCookies(header))).toEqual(expected);
  });

  it('cannot be polluted through its prototype', () => {
    const cookies = parseCookies('__proto__=x; constructor=y; toString=z');
    expect(cookies.__proto__).toBe('x');
    expect(cookies.constructor).toBe('y');
    expect(parseCookies('a=1').toString).toBeUndefined();
    expect(parseCookies('a=1').hasOwnProperty).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('keeps every duplicate in the list, to detect shadowing', () => {
    expect(parseCookieList('s=a; t=1; s=b')).toEqual([['s', 'a'], ['t', '1'], ['s', 'b']]);
  });

  it('lists a name written with spaces or tabs around it as the same name (duplicate checks must count it)', () => {
    // Why the CSRF and session duplicate checks search for the name, not for "name=".
    expect(parseCookieList('__Host-csrf=A; __Host-csrf =B;\t__Host-csrf\t=C')).toEqual([
      ['__Host-csrf', 'A'],
      ['__Host-csrf', 'B'],
      ['__Host-csrf', 'C'],
    ]);
  });

  it('finds one cookie without a map', () => {
    expect(getCookie('a=1; b=2; b=3', 'b')).toBe('2');
    expect(getCookie('a=1', 'b')).toBeUndefined();
    expect(getCookie(null, 'b')).toBeUndefined();
  });

  it('reads at most 256 pairs of a huge header', () => {
    const header = Array.from({ length: 5000 }, (_, index) => `c${index}=${index}`).join('; ');
    expect(Object.keys(parseCookies(header))).toHaveLength(256);
  });

  it('never throws, whatever the header', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (header) => {
        const cookies = parseCookies(header);
        for (const name of Object.keys(cookies)) expect(name.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('serializing Set-Cookie', () => {
  it('is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/ by default', () => {
    expect(serializeCookie('session', 'abc')).toBe('__Host-session=abc; Path=/; Secure; HttpOnly; SameSite=Lax');
  });

  it.each([
    ['max-age', { maxAge: 3600 }, '__Host-s=v; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax'],
    ['strict', { sameSite: 'Strict' }, '__Host-s=v; Path=/; Secure; HttpOnly; SameSite=Strict'],
    ['readable by script', { httpOnly: false }, '__Host-s=v; Path=/; Secure; SameSite=Lax'],
    ['partitioned', { partitioned: true, sameSite: 'None' }, '__Host-s=v; Path=/; Secure; HttpOnly; SameSite=None; Partitioned'],
    ['__Secure- with a domain', { prefix: '__Secure-', domain: 'example.com', path: '/app' }, '__Secure-s=v; Path=/app; Domain=example.com; Secure; HttpOnly; SameSite=Lax'],
    ['unprefixed over HTTP, explicitly', { prefix: false, secure: false }, 's=v; Path=/; HttpOnly; SameSite=Lax'],
    ['expires', { expires: new Date(Date.now() + 3_600_000) }, /^__Host-s=v; Path=\/; Expires=\w{3}, \d{2} \w{3} \d{4} [\d:]{8} GMT; Secure/],
  ] as [string, CookieOptions, string | RegExp][])('%s', (_name, options, expected) => {
    const cookie = serializeCookie('s', 'v', options);
    if (typeof expected === 'string') expect(cookie).toBe(expected);
    else expect(cookie).toMatch(expected);
  });

  // Each row: name, value, options, and the error expected.
  it.each([
    ['; in the value', 's', 'a; Domain=evil.example', {}, /encode it/],
    ['CR LF in the value', 's', 'a\r\nSet-Cookie: x=1', {}, /encode it/],
    ['space in the value', 's', 'a b', {}, /encode it/],
    ['comma in the value', 's', 'a,b', {}, /encode it/],
    ['; in the name', 's;x', 'v', {}, /not a token/],
    ['= in the name', 's=x', 'v', {}, /not a token/],
    ['empty name', '', 'v', {}, /not a token/],
    ['prefix in the name', '__Host-s', 'v', {}, /already carries a prefix/],
    ['case-changed prefix in the name', '__HOST-s', 'v', {}, /already carries a prefix/],
    ['__Host- not secure', 's', 'v', { secure: false }, /must be Secure/],
    ['__Host- with a path', 's', 'v', { path: '/app' }, /Path=\/ and no Domain/],
    ['__Host- with a domain', 's', 'v', { domain: 'example.com' }, /Path=\/ and no Domain/],
    ['__Secure- not secure', 's', 'v', { prefix: '__Secure-', secure: false }, /must be Secure/],
    ['SameSite=None without Secure', 's', 'v', { prefix: false, secure: false, sameSite: 'None' }, /requires Secure/],
    ['Partitioned without Secure', 's', 'v', { prefix: false, secure: false, partitioned: true }, /must be Secure/],
    ['path injection', 's', 'v', { prefix: false, path: '/; Domain=evil.example' }, /no ";"/],
    ['relative path', 's', 'v', { prefix: false, path: 'app' }, /must start with/],
    ['bad domain', 's', 'v', { prefix: false, domain: 'evil.example; Secure' }, /not a host name/],
    ['negative max-age', 's', 'v', { maxAge: -1 }, /whole number/],
    ['max-age over 400 days', 's', 'v', { maxAge: 400 * 86400 + 1 }, /over 400 days/],
    ['expires over 400 days', 's', 'v', { expires: new Date(Date.now() + 401 * 86_400_000) }, /more than 400 days/],
    ['invalid date', 's', 'v', { expires: new Date('nope') }, /valid Date/],
    ['bad sameSite', 's', 'v', { sameSite: 'lax' }, /must be "Lax", "Strict" or "None"/],
    ['unknown option', 's', 'v', { httponly: true }, /"httponly" is not known/],
    ['over 4096 bytes', 's', 'x'.repeat(4096), {}, /browsers may drop cookies over 4096/],
  ] as [string, string, string, object, RegExp][])('refuses %s', (_name, name, value, options, message) => {
    expect(() => serializeCookie(name, value, options as CookieOptions)).toThrow(message);
  });

  it('deletes with the same attributes and Max-Age=0', () => {
    expect(deleteCookie('session', { maxAge: 3600 })).toBe('__Host-session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax');
  });

  it('round-trips any valid value through parsing', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]{0,64}$/), (value) => {
        const cookie = serializeCookie('s', value);
        expect(getCookie(cookie.split('; Path=')[0], '__Host-s')).toBe(value);
      }),
    );
  });

  it('types refuse a __Host- cookie that cannot be one', () => {
    // @ts-expect-error a __Host- cookie is always Secure
    expect(() => serializeCookie('s', 'v', { secure: false })).toThrow();
    // @ts-expect-error a __Host- cookie has Path=/
    expect(() => serializeCookie('s', 'v', { path: '/app' })).toThrow();
    // @ts-expect-error a __Host- cookie has no Domain
    expect(() => serializeCookie('s', 'v', { domain: 'example.com' })).toThrow();
    // @ts-expect-error a __Secure- cookie is always Secure
    expect(() => serializeCookie('s', 'v', { prefix: '__Secure-', secure: false })).toThrow();
  });
});
