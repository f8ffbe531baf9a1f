import { describe, expect, it } from 'vitest';
import { FetchIncoming } from './adapters/_fetch.ts';
import { RampartError } from './errors.ts';
import { HeaderPolicy, rampart, RequestContext, type IncomingRequest, type RampartOptions } from './rampart.ts';

const key = 'nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s';
const quiet = { warn: () => {} };

function incoming(target = '/', headers: Record<string, string> = {}, options: { tls?: boolean; method?: string; remoteAddress?: string; body?: string } = {}): IncomingRequest {
  const request = new Request(`http://app.example${target}`, { method: options.method ?? 'GET', headers: { host: 'app.example', ...headers }, body: options.body ?? null });
  return new FetchIncoming(request, options.remoteAddress ?? '203.0.113.5', options.tls ?? false);
}

function production(options: RampartOptions = {}) {
  return rampart({ mode: 'production', keys: key, origin: 'https://app.example', logger: quiet, ...options });
}

function context(result: ReturnType<ReturnType<typeof rampart>['begin']>): RequestContext {
  if (!(result instanceof RequestContext)) throw new Error('expected a context');
  return result;
}

function triplets(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let index = 0; index < flat.length; index += 3) out[flat[index]!] = flat[index + 2]!;
  return out;
}

describe('options', () => {
  it.each([
    ['unknown option with a typo', { orgin: 'https://a.example' }, 'unknown option "orgin". Did you mean "origin"?'],
    ['unknown option far from any', { zzz: 1 }, 'Known options:'],
    ['bad mode', { mode: 'prod' }, 'mode: expected "production" or "development", got "prod"'],
    ['production without keys', { mode: 'production', origin: 'https://a.example' }, 'production mode needs at least one secret key'],
    ['production without origin', { mode: 'production', keys: key }, 'production mode needs the public origin'],
    ['origin with a path', { origin: 'https://a.example/app' }, 'must be an origin only'],
    ['origin not a URL', { origin: 'a.example' }, 'is not an absolute URL'],
    ['origin ftp', { origin: 'ftp://a.example' }, 'must use https:'],
    ['origin http in production', { mode: 'production', keys: key, origin: 'http://a.example' }, 'plain HTTP in production'],
    ['empty origin list', { origin: [] }, 'expected an origin or a list'],
    ['redirect without https origin', { httpsRedirect: true }, 'needs an https: origin'],
    ['redirect exempt not paths', { origin: 'https://a.example', httpsRedirect: { exempt: ['healthz'] } }, 'exact paths'],
    ['bad logger', { logger: { log() {} } }, 'warn(message)'],
    ['bad clock', { clock: 5 }, 'clock: expected a function'],
  ])('refuses %s', (_name, options, message) => {
    expect(() => rampart({ logger: quiet, ...(options as RampartOptions) })).toThrow(message);
  });

  it('refuses options that are not an object', () => {
    expect(() => rampart('strict' as never)).toThrow('expected an options object, got "strict"');
  });

  it('allows a loopback http origin in production, for local trials', () => {
    expect(rampart({ mode: 'production', keys: key, origin: 'http://localhost:3000', logger: quiet }).origins).toEqual(['http://localhost:3000']);
  });

  it('defaults the mode from NODE_ENV', () => {
    const previous = process.env.NODE_ENV;
    try {
      process.env.NODE_ENV = 'production';
      expect(() => rampart({ logger: quiet })).toThrow('production mode');
      process.env.NODE_ENV = 'test';
      expect(rampart({ logger: quiet }).mode).toBe('development');
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  it('reads RAMPART_KEYS when keys are not given', () => {
    const previous = process.env.RAMPART_KEYS;
    try {
      process.env.RAMPART_KEYS = `${key}, ${'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG8'}`;
      expect(production({ keys: undefined as never }).keyring.keys).toHaveLength(2);
    } finally {
      if (previous === undefined) delete process.env.RAMPART_KEYS;
      else process.env.RAMPART_KEYS = previous;
    }
  });
});

describe('per-request context', () => {
  it('has a fresh 128-bit nonce on every request', () => {
    const security = production();
    const nonces = new Set<string>();
    for (let index = 0; index < 1000; index++) nonces.add(context(security.begin(incoming('/', {}, { tls: true }))).nonce);
    expect(nonces.size).toBe(1000);
    for (const nonce of nonces) expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('puts the nonce in the CSP of HTML responses, and only the minimal set elsewhere', () => {
    const request = context(production().begin(incoming('/', {}, { tls: true })));
    const html = triplets(request.securityHeaders('text/html; charset=utf-8'));
    expect(html['content-security-policy']).toContain(`script-src 'nonce-${request.nonce}' 'strict-dynamic'`);
    expect(html['strict-transport-security']).toBe('max-age=63072000; includeSubDomains');
    expect(triplets(request.securityHeaders('TEXT/HTML'))['x-frame-options']).toBe('DENY');
    expect(triplets(request.securityHeaders('application/xhtml+xml'))['x-frame-options']).toBe('DENY');
    for (const type of ['application/json', 'image/svg+xml', 'text/plain', undefined, null, '']) {
      const other = triplets(request.securityHeaders(type));
      expect(other['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(other).not.toHaveProperty('x-frame-options');
    }
  });

  it('decides HTTPS through trustProxy only', () => {
    const forged = { 'x-forwarded-proto': 'https' };
    const direct = rampart({ keys: key, logger: quiet });
    expect(context(direct.begin(incoming('/', forged))).secure).toBe(false);
    const proxied = rampart({ keys: key, logger: quiet, trustProxy: 1 });
    expect(context(proxied.begin(incoming('/', forged))).secure).toBe(true);
  });

  it('applies per-route header policies', () => {
    const security = production();
    const embeddable = security.headerPolicy({ xFrameOptions: 'SAMEORIGIN', contentSecurityPolicy: { set: { 'frame-ancestors': ["'self'"] } } });
    const request = context(security.begin(incoming('/', {}, { tls: true })));
    request.useHeaders(embeddable);
    const html = triplets(request.securityHeaders('text/html'));
    expect(html['x-frame-options']).toBe('SAMEORIGIN');
    expect(html['content-security-policy']).toContain(`frame-ancestors 'self'`);
    expect(html['content-security-policy']).toContain(`'nonce-${request.nonce}'`);
  });

  it('warns about a per-route policy that weakens the headers, as about the global options', () => {
    const warnings: string[] = [];
    const security = production({ logger: { warn: (message) => warnings.push(message), error: () => {} } });
    security.headerPolicy({
      contentSecurityPolicy: { set: { 'script-src': ['*', "'unsafe-eval'"], 'object-src': ['*'] }, remove: ['base-uri'] },
      strictTransportSecurity: false,
      xContentTypeOptions: false,
    });
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining('headerPolicy.strictTransportSecurity is false'),
        expect.stringContaining('headerPolicy.xContentTypeOptions is false'),
        expect.stringContaining('headerPolicy.contentSecurityPolicy'),
      ]),
    );
    // A policy that only relaxes framing says nothing.
    warnings.length = 0;
    security.headerPolicy({ xFrameOptions: 'SAMEORIGIN', contentSecurityPolicy: { set: { 'frame-ancestors': ["'self'"] } } });
    expect(warnings).toEqual([]);
  });

  it('compiles inline overrides once per object', () => {
    const security = production();
    const overrides = { xFrameOptions: false } as const;
    expect(security.headerPolicy(overrides)).toBe(security.headerPolicy(overrides));
    expect(() => new HeaderPolicy({} as never, Symbol('forged'))).toThrow('security.headerPolicy');
  });
});

describe('HTTPS redirect', () => {
  it('redirects plain HTTP to the configured origin in production, with 308', async () => {
    const response = (await production().begin(incoming('/path?q=1', { host: 'app.example' }))) as Response;
    expect(response.status).toBe(308);
    expect(response.headers.get('location')).toBe('https://app.example/path?q=1');
    expect(response.headers.get('strict-transport-security')).toBeNull();
  });

  it('never redirects to a host the client chose', async () => {
    const response = (await production().begin(incoming('/', { host: 'evil.example' }))) as Response;
    expect(response.headers.get('location')).toBe('https://app.example/');
  });

  it('picks the matching origin among several', async () => {
    const response = (await production({ origin: ['https://app.example', 'https://www.app.example'] }).begin(incoming('/', { host: 'www.app.example:80' }))) as Response;
    expect(response.headers.get('location')).toBe('https://www.app.example/');
  });

  it('does not redirect HTTPS requests, exempt paths, or in development', () => {
    expect(production().begin(incoming('/', {}, { tls: true }))).toBeInstanceOf(RequestContext);
    expect(production({ httpsRedirect: { exempt: ['/healthz'] } }).begin(incoming('/healthz?x'))).toBeInstanceOf(RequestContext);
    expect(rampart({ keys: key, logger: quiet, origin: 'https://app.example' }).begin(incoming('/'))).toBeInstanceOf(RequestContext);
    expect(production({ httpsRedirect: false }).begin(incoming('/'))).toBeInstanceOf(RequestContext);
  });

  it('trusts a forged X-Forwarded-Proto only from a trusted proxy', async () => {
    const forged = { 'x-forwarded-proto': 'https' };
    expect(((await production().begin(incoming('/', forged))) as Response).status).toBe(308);
    expect(production({ trustProxy: ['10.0.0.0/8'] }).begin(incoming('/', forged, { remoteAddress: '10.0.0.1' }))).toBeInstanceOf(RequestContext);
  });
});

describe('report endpoint', () => {
  it('answers at its path before the handler, with the minimal headers', async () => {
    const received: unknown[] = [];
    const security = rampart({ keys: key, logger: quiet, reports: { sink: (violation) => void received.push(violation) } });
    const body = JSON.stringify({ 'csp-report': { 'effective-directive': 'script-src-elem', 'blocked-uri': 'inline' } });
    const response = await security.begin(incoming('/_rampart/csp-report', { 'content-type': 'application/csp-report' }, { method: 'POST', body }));
    expect(response).toBeInstanceOf(Response);
    expect((response as Response).status).toBe(204);
    expect((response as Response).headers.get('x-content-type-options')).toBe('nosniff');
    expect(received).toHaveLength(1);
  });

  it('is an ordinary path when reports are off', () => {
    const security = rampart({ keys: key, logger: quiet, reports: false, csrf: false });
    expect(security.begin(incoming('/_rampart/csp-report', {}, { method: 'POST' }))).toBeInstanceOf(RequestContext);
  });
});

describe('finish', () => {
  it('adds headers the handler did not set, keeps those it did, strips retired ones', async () => {
    const warnings: string[] = [];
    const security = rampart({ keys: key, origin: 'http://app.example', logger: { warn: (message) => warnings.push(message) } });
    const request = context(security.begin(incoming()));
    const response = await security.finish(
      request,
      new Response('<p>hi</p>', {
        headers: { 'content-type': 'text/html', 'x-frame-options': 'SAMEORIGIN', 'x-powered-by': 'PHP', 'public-key-pins': 'pin-sha256="x"' },
      }),
    );
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('content-security-policy')).toContain(request.nonce);
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(response.headers.get('public-key-pins')).toBeNull();
    // The page was built from a string, which development mode also points out.
    expect(warnings).toEqual([expect.stringContaining('was not made with context.render'), expect.stringContaining('removed the public-key-pins header')]);
  });

  // Each row: the handler's Cache-Control on a page that carries a CSRF token, and what is sent.
  it.each([
    ['nothing', undefined, 'no-store'],
    ['no-store', 'no-store', 'no-store'],
    ['private', 'private, max-age=0', 'private, max-age=0'],
    ['private in capitals', 'PRIVATE', 'PRIVATE'],
    ['no-store beside public', 'public, no-store', 'public, no-store'],
    ['a qualified private (shared caches store all but Set-Cookie)', 'public, max-age=600, private="set-cookie"', 'private, no-store'],
    ['a qualified private alone', 'private="Set-Cookie", max-age=600', 'private, no-store'],
    ['a qualified no-cache', 'public, no-cache="set-cookie"', 'private, no-store'],
    ['no-cache (stored, then revalidated: a 304 hands out the stored token)', 'no-cache', 'private, no-store'],
    ['private inside a quoted string', 'max-age=600, ext="a, private, b"', 'private, no-store'],
    ['no-store inside a quoted string', 'public, ext="no-store"', 'private, no-store'],
    ['a backslash in a quoted string (readers disagree on where it ends)', 'public, ext="\\", private', 'private, no-store'],
    ['an unterminated quoted string', 'public, ext="a, private', 'private, no-store'],
    ['private contradicted by public', 'public, private', 'private, no-store'],
    ['private contradicted by s-maxage', 'private, s-maxage=600', 'private, no-store'],
    ['private glued to another word', 'max-age=60, privately', 'private, no-store'],
    ['a value that does not parse', '"private"', 'private, no-store'],
  ])('keeps a page with a token out of shared caches: Cache-Control %s', async (_name, handler, sent) => {
    const security = rampart({ keys: key, logger: quiet });
    const request = context(security.begin(incoming()));
    request.csrfField();
    const response = await security.finish(request, new Response('<form>', handler === undefined ? {} : { headers: { 'cache-control': handler } }));
    expect(response.headers.get('cache-control')).toBe(sent);
  });

  // Each row: a field that a CDN obeys instead of Cache-Control, the handler's value, and what is sent.
  it.each([
    ['CDN-Cache-Control', 'max-age=600', 'no-store'],
    ['CDN-Cache-Control', 'private', 'no-store'],
    ['CDN-Cache-Control', 'no-store', 'no-store'],
    ['CDN-Cache-Control', 'max-age=600, ext="no-store"', 'no-store'],
    ['Cloudflare-CDN-Cache-Control', 'public, max-age=60', 'no-store'],
    ['Akamai-Cache-Control', 'max-age=60', 'no-store'],
    ['Surrogate-Control', 'max-age=3600', 'no-store'],
    ['Surrogate-Control', 'no-store', 'no-store'],
  ])('keeps a page with a token out of shared caches: %s: %s', async (name, handler, sent) => {
    const warnings: string[] = [];
    const security = rampart({ keys: key, logger: { warn: (message) => warnings.push(message) } });
    const request = context(security.begin(incoming()));
    request.csrfToken();
    const response = await security.finish(request, new Response('{}', { headers: { 'content-type': 'application/json', [name]: handler, 'cache-control': 'private' } }));
    expect(response.headers.get(name)).toBe(sent);
    expect(response.headers.get('cache-control')).toBe('private');
    if (sent !== handler) expect(warnings).toContainEqual(expect.stringContaining(`had a ${name.toLowerCase()} header`));
  });

  it('keeps a response that sets the session out of a CDN too, and leaves the CDN fields of other responses alone', async () => {
    const security = rampart({ keys: key, logger: quiet });
    const login = context(security.begin(incoming()));
    (await login.session()).set('user', 'a');
    const cdn = { 'cdn-cache-control': 'max-age=600', 'surrogate-control': 'max-age=600' };
    const sent = await security.finish(login, new Response('ok', { headers: cdn }));
    expect([sent.headers.get('cdn-cache-control'), sent.headers.get('surrogate-control')]).toEqual(['no-store', 'no-store']);
    const other = await security.finish(context(security.begin(incoming())), new Response('ok', { headers: cdn }));
    expect([other.headers.get('cdn-cache-control'), other.headers.get('surrogate-control')]).toEqual(['max-age=600', 'max-age=600']);
  });

  it('copies responses whose headers are immutable', async () => {
    const security = rampart({ keys: key, logger: quiet });
    const request = context(security.begin(incoming()));
    const immutable = Response.redirect('https://app.example/next', 303);
    const response = await security.finish(request, immutable);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('https://app.example/next');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers rampart errors with their code and other errors with a bare 500', async () => {
    const logged: unknown[] = [];
    const security = rampart({ keys: key, logger: { warn: () => {}, error: (_message, error) => void logged.push(error) } });
    const coded = security.failureResponse(new RampartError('csp_report_malformed'), 'application/json');
    expect(coded.status).toBe(400);
    expect(await coded.json()).toMatchObject({ code: 'csp_report_malformed', status: 400 });
    const secret = new Error('database password is hunter2');
    const generic = security.failureResponse(secret, 'text/html');
    expect(generic.status).toBe(500);
    expect(await generic.text()).toBe('Internal Server Error\n');
    expect(logged).toEqual([secret]);
  });
});
