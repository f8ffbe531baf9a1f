import { describe, expect, it } from 'vitest';
import { compileOutgoingCookies } from './outgoing.ts';

function compile(option: unknown) {
  const warnings: string[] = [];
  const warned = new Set<string>();
  const check = compileOutgoingCookies(option, (message) => {
    if (!warned.has(message)) warnings.push(message);
    warned.add(message);
  });
  return { check: check!, warnings };
}

describe('warn (the default)', () => {
  it('leaves cookies as they are and names what each one lacks, once', () => {
    const { check, warnings } = compile(undefined);
    expect(check('theme=dark')).toBe('theme=dark');
    expect(check('theme=dark')).toBe('theme=dark');
    expect(warnings).toEqual([expect.stringContaining('"theme" is set without Secure, without HttpOnly, without SameSite')]);
  });

  it.each([
    ['a cookie with every flag', 'a=1; Path=/; Secure; HttpOnly; SameSite=Lax', []],
    ['flags in any case and order', 'a=1; samesite=strict; httponly; SECURE', []],
    ['SameSite=None', 'a=1; Secure; HttpOnly; SameSite=None', ['with SameSite=None']],
    ['an unknown SameSite', 'a=1; Secure; HttpOnly; SameSite=Lazy', ['an unknown SameSite value']],
    ['no HttpOnly', 'a=1; Secure; SameSite=Lax', ['without HttpOnly']],
    ['a __Host- cookie with a Domain', '__Host-a=1; Secure; HttpOnly; SameSite=Lax; Path=/; Domain=example.com', ['browsers refuse it']],
    ['a __Host- cookie with another path', '__Host-a=1; Secure; HttpOnly; SameSite=Lax; Path=/app', ['browsers refuse it']],
    ['flags behind a no-break space, which browsers do not trim', 'sid=abc; \u00a0Secure; \u00a0HttpOnly; SameSite=Lax', ['without Secure, without HttpOnly']],
    ['SameSite without a value', 'a=1; Secure; HttpOnly; SameSite', ['an unknown SameSite value']],
    ['a __Secure- cookie without Secure', '__Secure-a=1; HttpOnly; SameSite=Lax', ['without Secure']],
  ])('%s', (_name, cookie, expected) => {
    const { check, warnings } = compile({});
    check(cookie);
    expect(warnings).toEqual(expected.map((text) => expect.stringContaining(text)));
  });

  it('does not ask for HttpOnly on cookies scripts must read', () => {
    const { check, warnings } = compile({ readableByScript: ['theme'] });
    check('theme=dark; Secure; SameSite=Lax');
    expect(warnings).toEqual([]);
  });
});

describe('enforce', () => {
  it.each([
    ['adds every missing flag', 'theme=dark', 'theme=dark; Secure; HttpOnly; SameSite=Lax'],
    ['keeps what is there', 'a=1; Path=/; Max-Age=60; HttpOnly', 'a=1; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax'],
    ['keeps a stricter SameSite', 'a=1; SameSite=Strict', 'a=1; SameSite=Strict; Secure; HttpOnly'],
    ['replaces an unknown SameSite', 'a=1; Secure; HttpOnly; SameSite=Lazy', 'a=1; Secure; HttpOnly; SameSite=Lax'],
    ['drops a trailing separator', 'a=1;', 'a=1; Secure; HttpOnly; SameSite=Lax'],
    ['leaves a right cookie untouched', 'a=1; Secure; HttpOnly; SameSite=Lax', 'a=1; Secure; HttpOnly; SameSite=Lax'],
  ])('%s', (_name, cookie, expected) => {
    expect(compile({ outgoing: 'enforce' }).check(cookie)).toBe(expected);
  });

  it('makes SameSite=None cookies Secure but keeps the choice, and says so', () => {
    const { check, warnings } = compile({ outgoing: 'enforce' });
    expect(check('embed=1; SameSite=None')).toBe('embed=1; SameSite=None; Secure; HttpOnly');
    expect(warnings).toEqual([expect.stringContaining('with SameSite=None')]);
  });

  it('leaves cookies scripts must read without HttpOnly', () => {
    expect(compile({ outgoing: 'enforce', readableByScript: ['theme'] }).check('theme=dark')).toBe('theme=dark; Secure; SameSite=Lax');
  });
});

describe('options', () => {
  it('off compiles to no check', () => {
    expect(compileOutgoingCookies({ outgoing: 'off' }, () => {})).toBeUndefined();
  });

  it.each([
    [{ outgoing: 'fix' }, 'expected "warn", "enforce" or "off"'],
    [{ readableByScript: 'theme' }, 'expected a list of cookie names'],
    [{ outgonig: 'warn' }, 'Did you mean "outgoing"?'],
    ['enforce', 'expected an options object'],
  ])('%j is refused', (option, message) => {
    expect(() => compileOutgoingCookies(option, () => {})).toThrow(message);
  });
});
