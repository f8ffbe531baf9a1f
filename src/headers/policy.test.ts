import { describe, expect, it } from 'vitest';
import { compileHeaders, compileOverrides, type HeaderBlocks, type HeadersOptions } from './policy.ts';

const quiet = { production: true, reportPath: undefined, warn: () => {} };

/** The headers of one block as a plain record, with the nonce filled in. */
function headersOf(blocks: HeaderBlocks, block: keyof HeaderBlocks, nonce = 'NONCE'): Record<string, string> {
  return Object.fromEntries(blocks[block].map((entry) => [entry.name, typeof entry.value === 'string' ? entry.value : entry.value.join(nonce)]));
}

describe('default headers', () => {
  const { blocks } = compileHeaders(undefined, quiet);

  it('HTML over HTTPS gets every header of the seed, with today\'s values', () => {
    expect(headersOf(blocks, 'htmlSecure')).toEqual({
      'Content-Security-Policy':
        "default-src 'self'; script-src 'nonce-NONCE' 'strict-dynamic'; style-src 'self' 'nonce-NONCE'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; upgrade-insecure-requests",
      'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'X-Permitted-Cross-Domain-Policies': 'none',
      'X-Download-Options': 'noopen',
      'X-XSS-Protection': '0',
      'Referrer-Policy': 'strict-origin-when-cross-origin',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Origin-Agent-Cluster': '?1',
      'X-DNS-Prefetch-Control': 'off',
      'Permissions-Policy': expect.stringMatching(/^accelerometer=\(\), .*camera=\(\), .*geolocation=\(\), .*microphone=\(\), .*payment=\(\)/),
    });
  });

  it('never sends HSTS over plain HTTP (RFC 6797 §7.2)', () => {
    expect(headersOf(blocks, 'htmlInsecure')).not.toHaveProperty('Strict-Transport-Security');
    expect(headersOf(blocks, 'otherInsecure')).not.toHaveProperty('Strict-Transport-Security');
    expect(headersOf(blocks, 'otherSecure')).toHaveProperty('Strict-Transport-Security');
  });

  it('non-HTML responses get a minimal set that still forbids scripts and framing', () => {
    expect(headersOf(blocks, 'otherSecure')).toEqual({
      'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
      'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
      'X-Content-Type-Options': 'nosniff',
      'X-Permitted-Cross-Domain-Policies': 'none',
      'X-Download-Options': 'noopen',
      'Referrer-Policy': 'strict-origin-when-cross-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
    });
  });

  it('never sends Public-Key-Pins, Expect-CT or Feature-Policy', () => {
    for (const block of ['htmlSecure', 'htmlInsecure', 'otherSecure', 'otherInsecure'] as const) {
      const names = Object.keys(headersOf(blocks, block)).map((name) => name.toLowerCase());
      expect(names).not.toContain('public-key-pins');
      expect(names).not.toContain('expect-ct');
      expect(names).not.toContain('feature-policy');
    }
  });

  it('wires the report endpoint into the CSP and Reporting-Endpoints', () => {
    const wired = compileHeaders(undefined, { ...quiet, reportPath: '/_r' }).blocks;
    const html = headersOf(wired, 'htmlSecure');
    expect(html['Reporting-Endpoints']).toBe('rampart-csp="/_r"');
    expect(html['Content-Security-Policy']).toContain('report-uri /_r; report-to rampart-csp');
    expect(headersOf(wired, 'otherSecure')).not.toHaveProperty('Reporting-Endpoints');
  });

  it('names the report group only over HTTPS, where Chromium honours Reporting-Endpoints', () => {
    const wired = compileHeaders({ contentSecurityPolicyReportOnly: {} }, { ...quiet, reportPath: '/_r' }).blocks;
    const html = headersOf(wired, 'htmlInsecure');
    expect(html).not.toHaveProperty('Reporting-Endpoints');
    expect(html['Content-Security-Policy']).toMatch(/report-uri \/_r$/);
    expect(html['Content-Security-Policy-Report-Only']).toMatch(/report-uri \/_r$/);
    expect(headersOf(wired, 'htmlSecure')['Content-Security-Policy-Report-Only']).toMatch(/report-uri \/_r; report-to rampart-csp$/);
  });

  it('keeps a report directive removed with null removed', () => {
    const wired = compileHeaders({ contentSecurityPolicy: { directives: { 'report-to': null } } }, { ...quiet, reportPath: '/_r' }).blocks;
    const html = headersOf(wired, 'htmlSecure');
    expect(html['Content-Security-Policy']).toMatch(/report-uri \/_r$/);
    expect(html).not.toHaveProperty('Reporting-Endpoints');
  });
});

describe('header options', () => {
  // Each row: options, the header, the value expected (false: absent) in the HTML-over-HTTPS block.
  const rows: [string, HeadersOptions, string, string | false][] = [
    ['HSTS preload', { strictTransportSecurity: { preload: true } }, 'Strict-Transport-Security', 'max-age=63072000; includeSubDomains; preload'],
    ['HSTS without subdomains', { strictTransportSecurity: { maxAge: 600, includeSubDomains: false } }, 'Strict-Transport-Security', 'max-age=600'],
    ['HSTS off', { strictTransportSecurity: false }, 'Strict-Transport-Security', false],
    ['X-Frame-Options SAMEORIGIN', { xFrameOptions: 'SAMEORIGIN' }, 'X-Frame-Options', 'SAMEORIGIN'],
    ['X-Frame-Options off', { xFrameOptions: false }, 'X-Frame-Options', false],
    ['nosniff off', { xContentTypeOptions: false }, 'X-Content-Type-Options', false],
    ['cross-domain master-only', { xPermittedCrossDomainPolicies: 'master-only' }, 'X-Permitted-Cross-Domain-Policies', 'master-only'],
    ['X-Download-Options off', { xDownloadOptions: false }, 'X-Download-Options', false],
    ['X-XSS-Protection off', { xXssProtection: false }, 'X-XSS-Protection', false],
    ['Referrer-Policy list', { referrerPolicy: ['no-referrer', 'strict-origin-when-cross-origin'] }, 'Referrer-Policy', 'no-referrer, strict-origin-when-cross-origin'],
    ['COOP for OAuth popups', { crossOriginOpenerPolicy: 'same-origin-allow-popups' }, 'Cross-Origin-Opener-Policy', 'same-origin-allow-popups'],
    ['CORP cross-origin', { crossOriginResourcePolicy: 'cross-origin' }, 'Cross-Origin-Resource-Policy', 'cross-origin'],
    ['COEP opt-in', { crossOriginEmbedderPolicy: 'credentialless' }, 'Cross-Origin-Embedder-Policy', 'credentialless'],
    ['COEP off by default', {}, 'Cross-Origin-Embedder-Policy', false],
    ['Origin-Agent-Cluster off', { originAgentCluster: false }, 'Origin-Agent-Cluster', false],
    ['DNS prefetch on', { xDnsPrefetchControl: 'on' }, 'X-DNS-Prefetch-Control', 'on'],
    ['Permissions-Policy allowlists', { permissionsPolicy: { camera: ['self'], geolocation: ['self', 'https://maps.example.com'], fullscreen: ['*'] } }, 'Permissions-Policy', 'camera=(self), geolocation=(self "https://maps.example.com"), fullscreen=*'],
    ['Permissions-Policy off', { permissionsPolicy: false }, 'Permissions-Policy', false],
    ['CSP off', { contentSecurityPolicy: false }, 'Content-Security-Policy', false],
    ['report-only beside enforced', { contentSecurityPolicyReportOnly: { preset: 'strict-trusted-types' } }, 'Content-Security-Policy-Report-Only', expect.stringContaining("require-trusted-types-for 'script'") as unknown as string],
  ];

  it.each(rows)('%s', (_name, options, header, expected) => {
    const html = headersOf(compileHeaders(options, quiet).blocks, 'htmlSecure');
    if (expected === false) expect(html).not.toHaveProperty(header);
    else expect(html[header]).toEqual(expected);
  });

  it('warns when production turns off a protection', () => {
    const warnings: string[] = [];
    compileHeaders({ contentSecurityPolicy: false, strictTransportSecurity: false }, { ...quiet, warn: (message) => warnings.push(message) });
    expect(warnings).toEqual([expect.stringContaining('contentSecurityPolicy is false'), expect.stringContaining('strictTransportSecurity is false')]);
  });

  it('warns about weak but valid policies, and not about the presets', () => {
    const warningsOf = (options: HeadersOptions): string[] => {
      const warnings: string[] = [];
      compileHeaders(options, { ...quiet, warn: (message) => warnings.push(message) });
      return warnings;
    };
    expect(warningsOf({})).toEqual([]);
    expect(warningsOf({ contentSecurityPolicy: { preset: 'strict-trusted-types' } })).toEqual([]);
    expect(warningsOf({ contentSecurityPolicy: { preset: 'relaxed' } })).toEqual([]);
    expect(
      warningsOf({ contentSecurityPolicy: { directives: { 'script-src': ["'self'", 'https:', "'unsafe-inline'", "'unsafe-eval'"], 'object-src': null, 'base-uri': null } } }),
    ).toEqual([
      expect.stringContaining('script-src allows "https:"'),
      expect.stringContaining("'unsafe-inline', so injected inline scripts run"),
      expect.stringContaining("'unsafe-eval'"),
      expect.stringContaining("object-src is not 'none'"),
      expect.stringContaining('no base-uri'),
    ]);
    // 'strict-dynamic' makes browsers ignore host and scheme sources: nothing to warn about.
    expect(warningsOf({ contentSecurityPolicy: { directives: { 'script-src': ["'nonce'", "'strict-dynamic'", 'https:'] } } })).toEqual([]);
  });

  it('warns when X-Frame-Options and frame-ancestors disagree', () => {
    const warnings: string[] = [];
    compileHeaders({ xFrameOptions: 'SAMEORIGIN' }, { ...quiet, warn: (message) => warnings.push(message) });
    expect(warnings).toEqual([expect.stringContaining('make them agree')]);
  });
});

describe('refused options', () => {
  const refused: [string, unknown, RegExp | string][] = [
    ['Public-Key-Pins', { publicKeyPins: { sha256s: ['x'] } }, /publicKeyPins is refused\. .*Certificate Transparency/],
    ['Expect-CT', { expectCt: { maxAge: 1 } }, /expectCt is refused\. Expect-CT is obsolete/],
    ['Feature-Policy', { featurePolicy: {} }, /featurePolicy is refused\. .*permissionsPolicy/],
    ['X-XSS-Protection 1', { xXssProtection: '1' }, /XSS auditor.*Use "0"/],
    ['X-XSS-Protection block', { xXssProtection: '1; mode=block' }, /XSS auditor/],
    ['X-Frame-Options ALLOW-FROM', { xFrameOptions: 'ALLOW-FROM https://a.example.com' }, /frame-ancestors instead/],
    ['X-Frame-Options lowercase', { xFrameOptions: 'deny' }, /Did you mean "DENY"/],
    ['HSTS includeSubdomains typo', { strictTransportSecurity: { includeSubdomains: true } }, /Did you mean "includeSubDomains"/],
    ['HSTS maxage typo', { strictTransportSecurity: { maxage: 5 } }, /Did you mean "maxAge"/],
    ['HSTS negative max-age', { strictTransportSecurity: { maxAge: -1 } }, /whole number of seconds, got -1/],
    ['HSTS fractional max-age', { strictTransportSecurity: { maxAge: 1.5 } }, /whole number/],
    ['HSTS preload without subdomains', { strictTransportSecurity: { preload: true, includeSubDomains: false } }, /preload list requires includeSubDomains/],
    ['HSTS preload short', { strictTransportSecurity: { preload: true, maxAge: 86400 } }, /at least 31536000/],
    ['HSTS as string', { strictTransportSecurity: 'max-age=1' }, /expected \{ maxAge, includeSubDomains, preload \} or false, got "max-age=1"/],
    ['helmet alias hsts', { hsts: {} }, /use "strictTransportSecurity"/],
    ['helmet alias frameguard', { frameguard: {} }, /use "xFrameOptions"/],
    ['unknown option', { contentSecurityPolicyy: {} }, /Did you mean "contentSecurityPolicy"/],
    ['unknown referrer token', { referrerPolicy: 'no-refferer' }, /"no-refferer" is not a Referrer-Policy token/],
    ['duplicate referrer token', { referrerPolicy: ['origin', 'origin'] }, /listed twice/],
    ['unsafe-url referrer', { referrerPolicy: 'unsafe-url' }, /leaks full URLs/],
    ['bad COOP', { crossOriginOpenerPolicy: 'same-site' }, /"same-site" is not allowed/],
    ['bad CORP', { crossOriginResourcePolicy: 'none' }, /is not allowed/],
    ['bad cross-domain policy', { xPermittedCrossDomainPolicies: 'nothing' }, /is not allowed/],
    ['boolean as string', { xDownloadOptions: 'true' }, /expected true or false, got "true"/],
    ['unknown permission', { permissionsPolicy: { camara: [] } }, /unknown feature "camara"\. Did you mean "camera"\?/],
    ['interest-cohort', { permissionsPolicy: { 'interest-cohort': [] } }, /unknown feature/],
    ['quoted self permission', { permissionsPolicy: { camera: ["'self'"] } }, /write 'self' as "self"/],
    ['none permission', { permissionsPolicy: { camera: ['none'] } }, /empty array/],
    ['permission origin', { permissionsPolicy: { camera: ['maps.example.com'] } }, /not "self", "\*" or an origin/],
    ['permission star with others', { permissionsPolicy: { camera: ['*', 'self'] } }, /cannot be combined/],
    ['permission not array', { permissionsPolicy: { camera: 'self' } }, /expected an array/],
    ['headers not an object', 'strict', /headers: expected an object/],
  ];

  it.each(refused)('%s', (_name, options, message) => {
    expect(() => compileHeaders(options as HeadersOptions, quiet)).toThrow(message);
  });
});

describe('overrides', () => {
  const base = compileHeaders(undefined, quiet);

  it('replace, drop and patch on top of the global headers', () => {
    const blocks = compileOverrides(
      base,
      { xFrameOptions: 'SAMEORIGIN', crossOriginResourcePolicy: 'cross-origin', permissionsPolicy: false, contentSecurityPolicy: { set: { 'frame-ancestors': ["'self'"] } } },
      quiet,
    );
    const html = headersOf(blocks, 'htmlSecure');
    expect(html['X-Frame-Options']).toBe('SAMEORIGIN');
    expect(html['Cross-Origin-Resource-Policy']).toBe('cross-origin');
    expect(html).not.toHaveProperty('Permissions-Policy');
    expect(html['Content-Security-Policy']).toContain("frame-ancestors 'self'");
    expect(html['Strict-Transport-Security']).toBe('max-age=63072000; includeSubDomains');
    expect(headersOf(blocks, 'otherSecure')['Cross-Origin-Resource-Policy']).toBe('cross-origin');
  });

  it('can add a report-only policy on one route', () => {
    const blocks = compileOverrides(base, { contentSecurityPolicyReportOnly: { set: { 'default-src': ["'none'"] } } }, quiet);
    expect(headersOf(blocks, 'htmlSecure')['Content-Security-Policy-Report-Only']).toBe("default-src 'none'");
  });

  it('are validated like the options', () => {
    expect(() => compileOverrides(base, { xXssProtection: '1' } as never, quiet)).toThrow(/XSS auditor/);
    expect(() => compileOverrides(base, { publicKeyPins: {} } as never, quiet)).toThrow(/refused/);
    expect(() => compileOverrides(base, { contentSecurityPolicy: { add: { 'script-src': ["'unsafe-inline'"] } } }, quiet)).toThrow(/contradictory/);
  });

  it('leave the global blocks unchanged', () => {
    const before = headersOf(base.blocks, 'htmlSecure');
    compileOverrides(base, { xFrameOptions: false, contentSecurityPolicy: false }, quiet);
    expect(headersOf(base.blocks, 'htmlSecure')).toEqual(before);
  });
});
