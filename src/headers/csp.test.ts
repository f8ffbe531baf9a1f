import { describe, expect, it } from 'vitest';
import { buildContentSecurityPolicy, compileCsp, CSP, NONCE, patchCsp, serializeCsp, type CspOptions } from './csp.ts';

const nonce = 'AAAAAAAAAAAAAAAAAAAAAA';
const build = (options: CspOptions, production = true): string => buildContentSecurityPolicy(options, { nonce, production });

describe('presets', () => {
  it.each([
    [
      'strict',
      "default-src 'self'; script-src 'nonce-AAAAAAAAAAAAAAAAAAAAAA' 'strict-dynamic'; style-src 'self' 'nonce-AAAAAAAAAAAAAAAAAAAAAA'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; upgrade-insecure-requests",
    ],
    [
      'strict-trusted-types',
      "default-src 'self'; script-src 'nonce-AAAAAAAAAAAAAAAAAAAAAA' 'strict-dynamic'; style-src 'self' 'nonce-AAAAAAAAAAAAAAAAAAAAAA'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; upgrade-insecure-requests; require-trusted-types-for 'script'",
    ],
    [
      'relaxed',
      "default-src 'self'; script-src 'self' 'nonce-AAAAAAAAAAAAAAAAAAAAAA'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; font-src 'self' https: data:; object-src 'none'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'; upgrade-insecure-requests",
    ],
  ] as const)('%s', (preset, expected) => {
    expect(build({ preset })).toBe(expected);
  });

  it('defaults to strict', () => {
    expect(build({})).toBe(build({ preset: 'strict' }));
  });

  it('drops upgrade-insecure-requests outside production unless asked for', () => {
    expect(build({}, false)).not.toContain('upgrade-insecure-requests');
    expect(build({ directives: { 'upgrade-insecure-requests': true } }, false)).toContain('upgrade-insecure-requests');
  });
});

describe('directives', () => {
  it('adds, replaces and removes preset directives', () => {
    const value = build({ directives: { 'img-src': [CSP.self, 'https://cdn.example.com'], 'base-uri': [CSP.self], 'form-action': null } });
    expect(value).toContain("img-src 'self' https://cdn.example.com");
    expect(value).toContain("base-uri 'self'");
    expect(value).not.toContain('form-action');
  });

  it('accepts a space-separated string as a source list', () => {
    expect(build({ directives: { 'img-src': "'self'  https:" } })).toContain("img-src 'self' https:");
  });

  it.each([
    ['sandbox', { sandbox: ['allow-scripts', 'allow-forms'] }, 'sandbox allow-scripts allow-forms'],
    ['empty sandbox', { sandbox: true }, 'sandbox'],
    ['report-uri', { 'report-uri': ['/csp', 'https://r.example.com/x'] }, 'report-uri /csp https://r.example.com/x'],
    ['report-to', { 'report-to': 'main-endpoint' }, 'report-to main-endpoint'],
    ['trusted-types', { 'trusted-types': ['default', 'dompurify', "'allow-duplicates'"] }, "trusted-types default dompurify 'allow-duplicates'"],
    ['webrtc', { webrtc: "'block'" }, "webrtc 'block'"],
    ['hash', { 'script-src': [`'sha256-${'A'.repeat(43)}='`, CSP.strictDynamic] }, `script-src 'sha256-${'A'.repeat(43)}=' 'strict-dynamic'`],
    ['host sources', { 'connect-src': ['https://*.example.com:443/api/', 'wss://ws.example.com', 'blob:', '*'] }, 'connect-src https://*.example.com:443/api/ wss://ws.example.com blob: *'],
  ] as const)('serializes %s', (_name, directives, expected) => {
    expect(build({ directives: directives as CspOptions['directives'] & object })).toContain(expected);
  });

  it('accepts unpadded hashes and keywords in any case, written canonically', () => {
    const value = build({ directives: { 'script-src': [`'SHA256-${'A'.repeat(43)}'`, "'STRICT-DYNAMIC'"], 'img-src': ["'SELF'", 'https://a.example/p%20q/'] } });
    expect(value).toContain(`script-src 'sha256-${'A'.repeat(43)}' 'strict-dynamic'`);
    expect(value).toContain("img-src 'self' https://a.example/p%20q/");
  });

  it('puts the nonce wherever NONCE appears', () => {
    const parts = serializeCsp(compileCsp({ directives: { 'script-src-elem': [NONCE] } }, 'csp', { production: false }));
    expect(parts.length).toBe(4);
    expect(parts.join('XYZ')).toContain("script-src-elem 'nonce-XYZ'");
  });
});

describe('validation', () => {
  // Each row: a policy that must be refused at startup, and a fragment of the message.
  const refused: [string, CspOptions, string][] = [
    ['unquoted self', { directives: { 'img-src': ['self'] } }, `"self" must be quoted: "'self'"`],
    ['unquoted none', { directives: { 'object-src': ['none'] } }, "must be quoted"],
    ['unquoted strict-dynamic', { directives: { 'script-src': [NONCE, 'strict-dynamic'] } }, 'must be quoted'],
    ['unquoted unsafe-inline', { directives: { 'style-src': ['unsafe-inline'] } }, 'must be quoted'],
    ['semicolon injection', { directives: { 'img-src': ["'self'; script-src *"] } }, 'inject'],
    ['comma injection', { directives: { 'img-src': ['https://a.example,script-src'] } }, 'inject'],
    ['newline', { directives: { 'img-src': ['https://a.example\r\nSet-Cookie: x=1'] } }, 'control character'],
    ['non-ASCII host', { directives: { 'img-src': ['https://bücher.example'] } }, 'punycode'],
    ['unknown directive', { directives: { 'script-scr': [CSP.self] } as never }, 'Did you mean "script-src"'],
    ['camelCase directive', { directives: { scriptSrc: [CSP.self] } as never }, 'use "script-src"'],
    ['retired block-all-mixed-content', { directives: { 'block-all-mixed-content': true } as never }, 'upgrade-insecure-requests'],
    ['retired plugin-types', { directives: { 'plugin-types': ['application/pdf'] } as never }, 'not supported'],
    ['retired referrer', { directives: { referrer: ['no-referrer'] } as never }, 'Referrer-Policy'],
    ['unsafe-inline beside a nonce', { directives: { 'script-src': [NONCE, CSP.unsafeInline] } }, 'contradictory'],
    ['unsafe-inline beside a hash', { directives: { 'style-src': [`'sha256-${'A'.repeat(43)}='`, CSP.unsafeInline] } }, 'contradictory'],
    ['strict-dynamic without nonce', { directives: { 'script-src': [CSP.strictDynamic, CSP.self] } }, 'blocks every script'],
    ["'none' with others", { directives: { 'img-src': [CSP.none, CSP.self] } }, "cannot be combined"],
    ['fixed nonce', { directives: { 'script-src': ["'nonce-abcdefghijklmnopqrstuv'"] } }, 'fixed nonce'],
    ['nonce in img-src', { directives: { 'img-src': [NONCE] } }, 'no meaning in "img-src"'],
    ['hash in connect-src', { directives: { 'connect-src': [`'sha256-${'A'.repeat(43)}='`] } }, 'no meaning'],
    ['truncated hash', { directives: { 'script-src': ["'sha256-abc='", NONCE] } }, 'not a complete base64'],
    ['unknown keyword', { directives: { 'script-src': ["'unsafe-everything'"] } }, 'not a CSP keyword'],
    ['unsafe-inline in frame-ancestors', { directives: { 'frame-ancestors': [CSP.unsafeInline] } }, 'not allowed in "frame-ancestors"'],
    ['unsafe-eval in img-src', { directives: { 'img-src': [CSP.unsafeEval] } }, 'no meaning'],
    ['empty source list', { directives: { 'img-src': [] } }, "use [\"'none'\"]"],
    ['empty source', { directives: { 'img-src': [''] } }, 'empty string'],
    ['non-string source', { directives: { 'img-src': [42] } as never }, 'must be a string'],
    ['garbage source', { directives: { 'img-src': ['https://'] } }, 'not a valid source'],
    ['query in a host source', { directives: { 'img-src': ['https://a.example/x?y'] } }, 'not a valid source'],
    ['fragment in a host source', { directives: { 'img-src': ['https://a.example/x#y'] } }, 'not a valid source'],
    ['quote in a host source path', { directives: { 'img-src': ["https://a.example/'nonce'"] } }, 'not a valid source'],
    ['bad sandbox token', { directives: { sandbox: ['allow-everything'] } as never }, 'unknown sandbox token'],
    ['bad report-to', { directives: { 'report-to': 'two words' } }, 'one endpoint name'],
    ['bad report-uri', { directives: { 'report-uri': ['javascript:alert(1)'] } }, 'not an absolute http(s) URL'],
    ['bad require-trusted-types-for', { directives: { 'require-trusted-types-for': "'style'" } as never }, "the only value is"],
    ['trusted-types none with names', { directives: { 'trusted-types': ["'none'", 'default'] } }, 'cannot be combined'],
    ['bad webrtc', { directives: { webrtc: 'allow' } as never }, "expected \"'allow'\""],
    ['upgrade-insecure-requests not boolean', { directives: { 'upgrade-insecure-requests': 'yes' } as never }, 'expected true or false'],
    ['no default-src', { directives: { 'default-src': null } }, 'no "default-src"'],
    ['unknown preset', { preset: 'lenient' as never }, 'unknown preset'],
    ['unknown option', { directive: {} } as never, 'Did you mean "directives"'],
    ['dangerouslyDisableDefaultSrc not true', { dangerouslyDisableDefaultSrc: false } as never, 'expected true'],
    ['directives not an object', { directives: [] } as never, 'expected an object of directives'],
  ];

  it.each(refused)('refuses %s', (_name, options, message) => {
    expect(() => build(options)).toThrow(message);
  });

  it('refusals are TypeErrors prefixed with the option path', () => {
    expect(() => compileCsp({ directives: { 'img-src': ['self'] } }, 'headers.contentSecurityPolicy', { production: true })).toThrow(
      /^rampart: headers\.contentSecurityPolicy\.directives\["img-src"\]/,
    );
  });

  it('allows no default-src only when asked to, dangerously', () => {
    expect(build({ directives: { 'default-src': null }, dangerouslyDisableDefaultSrc: true })).not.toContain('default-src');
  });

  it('needs a nonce to build a nonce policy, and a real one', () => {
    expect(() => buildContentSecurityPolicy({})).toThrow('pass { nonce }');
    expect(() => buildContentSecurityPolicy({}, { nonce: 'short' })).toThrow('at least 128 bits');
  });
});

describe('report wiring', () => {
  it('adds report-uri and report-to for the built-in endpoint', () => {
    const parts = serializeCsp(compileCsp({}, 'csp', { production: true, reportPath: '/_r' }));
    expect(parts.join('N')).toContain('report-uri /_r; report-to rampart-csp');
  });

  it('keeps report directives the user set', () => {
    const parts = serializeCsp(compileCsp({ directives: { 'report-uri': 'https://r.example.com' } }, 'csp', { production: true, reportPath: '/_r' }));
    expect(parts.join('N')).toContain('report-uri https://r.example.com;');
  });
});

describe('patches', () => {
  const base = compileCsp({}, 'csp', { production: true });
  const text = (model: ReturnType<typeof compileCsp>): string => serializeCsp(model).join('N');

  it('adds sources, dropping a lone none', () => {
    const patched = patchCsp(base, { add: { 'img-src': ['https://cdn.example.com'], 'frame-ancestors': [CSP.self] } }, 'p');
    expect(text(patched)).toContain('img-src https://cdn.example.com');
    expect(text(patched)).toContain("frame-ancestors 'self'");
  });

  it('sets and removes directives', () => {
    const patched = patchCsp(base, { set: { 'frame-ancestors': ['https://partner.example.com'] }, remove: ['form-action'] }, 'p');
    expect(text(patched)).toContain('frame-ancestors https://partner.example.com');
    expect(text(patched)).not.toContain('form-action');
  });

  it('refuses a patch that makes the policy contradictory', () => {
    expect(() => patchCsp(base, { add: { 'script-src': [CSP.unsafeInline] } }, 'p')).toThrow('contradictory');
    expect(() => patchCsp(base, { remove: ['default-src'] }, 'p')).toThrow('no "default-src"');
    expect(() => patchCsp(base, { remove: ['scriptSrc' as never] }, 'p')).toThrow('use "script-src"');
    expect(() => patchCsp(base, { replace: {} } as never, 'p')).toThrow('unknown option');
    expect(() => patchCsp(base, { add: { 'report-to': 'other' } }, 'p')).toThrow('takes one value');
    expect(() => patchCsp(base, { add: { webrtc: "'block'" } }, 'p')).toThrow('takes one value');
  });

  it('leaves the base model untouched', () => {
    const before = text(base);
    patchCsp(base, { set: { 'img-src': ['https:'] } }, 'p');
    expect(text(base)).toBe(before);
  });
});
