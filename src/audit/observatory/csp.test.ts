import { describe, expect, it } from 'vitest';
import { cspTest, DUPLICATE_WARNINGS_KEY, parseCsp, parseCspMeta, type CspInput } from './csp.ts';

const sorted = (policy: Map<string, Set<string>> | undefined): Record<string, string[]> | undefined =>
  policy && Object.fromEntries([...policy].map(([directive, sources]) => [directive, [...sources].sort()]));

describe('parseCsp', () => {
  it('lower-cases, drops redundant sources and reads an empty source list as none', () => {
    expect(sorted(parseCsp(["Default-Src 'SELF' https: https://A.example/x; img-src; frame-ancestors"]))).toEqual({
      'default-src': ["'self'", 'https:'],
      'img-src': ["'none'"],
      'frame-ancestors': ["'none'"],
    });
  });

  it('keeps across policies only the sources both allow', () => {
    expect(sorted(parseCsp(["default-src 'self' https://a.example/", "default-src 'self' https://a.example/x/y"]))).toEqual({
      'default-src': ["'self'", 'https://a.example/x/y'],
    });
    // A directive only the second policy has ends up with nothing, which is 'none'.
    expect(sorted(parseCsp(["default-src 'self'", "script-src 'self'"]))).toEqual({ 'default-src': ["'self'"], 'script-src': ["'none'"] });
  });

  it('refuses short policies and repeated directives, allows repeated report-uri', () => {
    expect(parseCsp(['abc'])).toBeUndefined();
    expect(parseCsp([''])).toBeUndefined();
    expect(parseCsp(["default-src 'self'; DEFAULT-SRC 'none'"])).toBeUndefined();
    expect(parseCsp(["default-src 'self'; report-uri /a; report-uri /b"])?.get(DUPLICATE_WARNINGS_KEY)).toEqual(new Set(['report-uri']));
    expect(parseCsp([])).toEqual(new Map());
  });

  it('drops frame-ancestors, report-uri and sandbox from meta policies', () => {
    expect(sorted(parseCspMeta(["default-src 'none'; frame-ancestors 'none'; report-uri /r; sandbox"]))).toEqual({ 'default-src': ["'none'"] });
  });
});

describe('cspTest', () => {
  const input = (headers: string[], more: Partial<CspInput> = {}): CspInput => ({ headers, metas: [], reportOnly: false, protocol: 'https:', ...more });

  it('shares source sets with default-src, as Observatory does', () => {
    // The nonce removes 'unsafe-inline' from default-src itself, so style-src (falling back to it) is clean too.
    expect(cspTest(input(["default-src 'nonce-a' 'unsafe-inline'"])).result).toBe('csp-implemented-with-no-unsafe');
  });

  it('reports frame-ancestors whatever its value, and even when the policy is invalid', () => {
    expect(cspTest(input(["default-src 'self'; frame-ancestors *"]))).toEqual({ result: 'csp-implemented-with-no-unsafe', pass: true, frameAncestors: true });
    expect(cspTest(input(["script-src 'strict-dynamic'; frame-ancestors 'self'"]))).toEqual({ result: 'csp-header-invalid', pass: false, frameAncestors: true });
    expect(cspTest(input(['abc; frame-ancestors']))).toEqual({ result: 'csp-implemented-with-unsafe-inline', pass: false, frameAncestors: true });
  });

  it('checks insecure schemes only on an https: session', () => {
    expect(cspTest(input(["default-src 'self' http://a.example"], { protocol: 'http:' })).result).toBe('csp-implemented-with-no-unsafe');
    expect(cspTest(input(["default-src 'self' http://a.example"])).result).toBe('csp-implemented-with-insecure-scheme');
  });
});
