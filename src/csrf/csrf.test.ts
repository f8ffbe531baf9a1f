import { describe, expect, it } from 'vitest';
import { decodeBase64Url, encodeBase64Url } from '../_internal/base64.ts';
import { FetchIncoming } from '../adapters/_fetch.ts';
import { RampartError } from '../errors.ts';
import { generateKey } from '../keys.ts';
import { rampart, RequestContext, type Rampart, type RampartOptions } from '../rampart.ts';
import { checkSignals, type GateConfig } from './gate.ts';
import { MultipartParser } from '../uploads/multipart.ts';
import { memoryStorage } from '../uploads/storage.ts';
import { uploads } from '../uploads/uploads.ts';
import { multipartToken, parseContentType, urlencodedToken, type FormToken } from './form.ts';
import { readJson } from './json.ts';
import { CsrfTokens, newBinding, decodeBinding } from './token.ts';

const ORIGIN = 'https://app.example';
const key = generateKey();

function setup(options: RampartOptions = {}) {
  const clock = { now: Date.UTC(2026, 10, 29, 12) };
  const refusals: string[] = [];
  const security = rampart({
    keys: key,
    origin: ORIGIN,
    logger: { warn: () => {} },
    clock: () => clock.now,
    ...options,
    csrf: { onRefusal: (event) => refusals.push(event.code), ...(options.csrf || {}) },
  });
  return { security, clock, refusals };
}

interface Sent {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
}

/** The outcome of `begin` for a request: the context, or the refusal's code and response. */
async function send(security: Rampart, { method = 'POST', path = '/echo', headers = {}, body }: Sent): Promise<{ context?: RequestContext; code?: string; response?: Response }> {
  const init: RequestInit = { method, headers: { host: 'app.example', ...headers } };
  if (body !== undefined) init.body = body;
  const started = await security.begin(new FetchIncoming(new Request(`${ORIGIN}${path}`, init), '203.0.113.9', true));
  if (started instanceof RequestContext) return { context: started };
  const text = await started.clone().text();
  return { code: /<code>([a-z_]+)<\/code>/.exec(text)?.[1] ?? `status ${started.status}`, response: started };
}

/** A page load: a token and the binding cookie a browser would then hold. */
async function page(security: Rampart, cookie?: string): Promise<{ token: string; cookie: string }> {
  const { context } = await send(security, { method: 'GET', path: '/', headers: cookie ? { cookie } : {} });
  const token = context!.csrfToken();
  const cookies = context!.responseCookies() as readonly string[];
  const binding = cookies.find((value) => value.startsWith('__Host-csrf='))?.split(';')[0];
  return { token, cookie: [cookie, binding].filter(Boolean).join('; ') };
}

const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' };

/** The token with one character in its MAC changed: the same length, never the same value. */
function tamper(token: string): string {
  return `${token.slice(0, 30)}${token[30] === 'A' ? 'B' : 'A'}${token.slice(31)}`;
}

describe('L0: the method policy', () => {
  it.each(['GET', 'HEAD', 'OPTIONS'])('%s is not checked', async (method) => {
    const { security } = setup();
    expect((await send(security, { method, headers: { 'sec-fetch-site': 'cross-site' } })).context).toBeDefined();
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'PURGE', 'QUERY'])('%s without a token is refused, extension methods included', async (method) => {
    const { security } = setup();
    expect((await send(security, { method, headers: SAME_ORIGIN })).code).toBe('csrf_token_missing');
  });

  it.each(['TRACE', 'TRACK', 'trace'])('%s is refused outright with 405', async (method) => {
    const { security } = setup();
    // A Web Request cannot carry these methods; node:http can.
    const incoming = new FetchIncoming(new Request(`${ORIGIN}/echo`, { method: 'POST' }), undefined, true);
    const started = await security.begin({
      method,
      target: '/echo',
      tls: true,
      remoteAddress: undefined,
      header: (name) => incoming.header(name),
      toRequest: () => incoming.toRequest(),
      peekBody: (limit, decide) => incoming.peekBody(limit, decide),
    });
    expect(started).toBeInstanceOf(Response);
    expect((started as Response).status).toBe(405);
  });

  it.each([
    ['a _method query on GET', { method: 'GET', path: '/echo?_method=POST' }],
    ['a lowercase _METHOD query', { method: 'GET', path: '/echo?a=1&_METHOD=DELETE' }],
    ['X-HTTP-Method-Override on GET', { method: 'GET', headers: { 'x-http-method-override': 'POST' } }],
    ['X-HTTP-Method on HEAD', { method: 'HEAD', headers: { 'x-http-method': 'DELETE' } }],
    ['X-Method-Override on OPTIONS', { method: 'OPTIONS', headers: { 'x-method-override': 'PUT' } }],
  ])('%s is refused with 400 (an <img> must never POST)', async (_name, request) => {
    const { security } = setup();
    const { response, code } = await send(security, request);
    expect(code).toBe('csrf_method_override');
    expect(response!.status).toBe(400);
  });
});

describe('L1: where the request comes from, before the body', () => {
  const config: GateConfig = { origins: new Set([ORIGIN]), trustedOrigins: new Set(['https://idp.example']), allowSameSite: false, headersOnly: false };
  const headersOnly: GateConfig = { ...config, headersOnly: true };
  const siblings: GateConfig = { ...config, allowSameSite: true };

  it.each<[string, Record<string, string>, GateConfig, string]>([
    ['same-origin', { 'sec-fetch-site': 'same-origin' }, config, 'same-origin'],
    ['same-origin wins over Origin: null (a no-referrer page of ours)', { 'sec-fetch-site': 'same-origin', origin: 'null' }, config, 'same-origin'],
    ['cross-site', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }, config, 'csrf_cross_site'],
    ['cross-site with our Origin (a forged Origin cannot make it pass)', { 'sec-fetch-site': 'cross-site', origin: ORIGIN }, config, 'csrf_cross_site'],
    ['cross-site from a trusted origin', { 'sec-fetch-site': 'cross-site', origin: 'https://idp.example' }, config, 'trusted'],
    ['same-site (a sibling subdomain)', { 'sec-fetch-site': 'same-site', origin: 'https://sub.app.example' }, config, 'csrf_same_site'],
    ['same-site when siblings are trusted', { 'sec-fetch-site': 'same-site' }, siblings, 'same-site'],
    ['none, then our Origin', { 'sec-fetch-site': 'none', origin: ORIGIN }, config, 'origin'],
    ['none, no Origin (strict: the token decides)', { 'sec-fetch-site': 'none' }, config, 'unknown'],
    ['none in headers-only mode', { 'sec-fetch-site': 'none', origin: ORIGIN }, headersOnly, 'csrf_sec_fetch_site_none'],
    ['an unknown value is ignored, Origin decides', { 'sec-fetch-site': 'same-planet', origin: ORIGIN }, config, 'origin'],
    ['an unknown value with a foreign Origin', { 'sec-fetch-site': 'same-planet', origin: 'https://evil.example' }, config, 'csrf_origin_mismatch'],
    ['Origin: null', { origin: 'null' }, config, 'csrf_origin_null'],
    ['Origin suffix confusion', { origin: 'https://app.example.evil.example' }, config, 'csrf_origin_mismatch'],
    ['Origin with another scheme', { origin: 'http://app.example' }, config, 'csrf_origin_mismatch'],
    ['Origin with an explicit default port', { origin: 'https://app.example:443' }, config, 'csrf_origin_mismatch'],
    ['Origin with another port', { origin: 'https://app.example:8443' }, config, 'csrf_origin_mismatch'],
    ['Origin in upper case', { origin: 'https://APP.example' }, config, 'csrf_origin_mismatch'],
    ['a malformed Origin', { origin: '::::' }, config, 'csrf_origin_mismatch'],
    ['another malformed Origin', { origin: 'https://[' }, config, 'csrf_origin_mismatch'],
    ['two Origin headers', { origin: `${ORIGIN}, https://evil.example` }, config, 'csrf_malformed_header'],
    ['two Sec-Fetch-Site headers', { 'sec-fetch-site': 'same-origin, cross-site' }, config, 'csrf_malformed_header'],
    ['Referer only, ours', { referer: `${ORIGIN}/form?x=1` }, config, 'referer'],
    ['Referer only, foreign', { referer: 'https://evil.example/x' }, config, 'csrf_referer_mismatch'],
    ['Referer only, ours but plain HTTP', { referer: 'http://app.example/x' }, config, 'csrf_referer_mismatch'],
    ['Referer only, suffix confusion', { referer: 'https://app.example.evil.example/' }, config, 'csrf_referer_mismatch'],
    ['Referer only, malformed', { referer: '::::' }, config, 'csrf_referer_mismatch'],
    ['no signal at all (strict: the token decides)', {}, config, 'unknown'],
    ['no signal at all in headers-only mode', {}, headersOnly, 'csrf_no_browser_signals'],
  ])('%s', (_name, headers, gate, expected) => {
    expect(checkSignals({ header: (name) => headers[name] }, gate, undefined)).toBe(expected);
  });

  it('without a configured origin (development), compares with the origin the request names', () => {
    const open: GateConfig = { ...config, origins: new Set() };
    expect(checkSignals({ header: (name) => ({ origin: 'http://localhost:3000' })[name] }, open, 'http://localhost:3000')).toBe('origin');
    expect(checkSignals({ header: (name) => ({ origin: 'http://evil.localhost:3000' })[name] }, open, 'http://localhost:3000')).toBe('csrf_origin_mismatch');
  });

  it('refuses a cross-site request before reading any of its body', async () => {
    const { security } = setup();
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(64 * 1024));
      },
    });
    const request = new Request(`${ORIGIN}/upload`, {
      method: 'POST',
      headers: { 'sec-fetch-site': 'cross-site', 'content-type': 'multipart/form-data; boundary=x' },
      body,
      duplex: 'half',
    } as RequestInit);
    const started = await security.begin(new FetchIncoming(request, undefined, true));
    expect(started).toBeInstanceOf(Response);
    expect(pulled).toBeLessThanOrEqual(1); // a stream may be primed with one chunk; never read on
  });
});

describe('L2: the token', () => {
  it('passes a form with its page token, from the field or the header', async () => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    const form = { 'content-type': 'application/x-www-form-urlencoded', cookie, ...SAME_ORIGIN };
    expect((await send(security, { headers: form, body: `csrf_token=${token}&message=hi` })).context).toBeDefined();
    expect((await send(security, { headers: { ...form, 'x-csrf-token': token }, body: 'message=hi' })).context).toBeDefined();
    expect((await send(security, { headers: { cookie, 'x-csrf-token': token, 'content-type': 'application/json' }, body: '{}' })).context).toBeDefined();
  });

  it('gives a different token on every call, each valid (several tabs, the Back button)', async () => {
    const { security } = setup();
    const first = await page(security);
    const { context } = await send(security, { method: 'GET', path: '/', headers: { cookie: first.cookie } });
    const tokens = [first.token, context!.csrfToken(), context!.csrfToken()];
    expect(new Set(tokens).size).toBe(3);
    for (const token of tokens) expect((await send(security, { headers: { cookie: first.cookie, 'x-csrf-token': token } })).context).toBeDefined();
  });

  it.each([
    ['no token', (token: string) => ({ headers: {}, body: undefined, _: token }), 'csrf_token_missing'],
    ['an empty field', () => ({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'csrf_token=&message=x' }), 'csrf_token_missing'],
    ['the token in the query string', (token: string) => ({ path: `/echo?csrf_token=${token}`, headers: { 'x-csrf-token': token } }), 'csrf_token_in_query'],
    ['header and field differ', (token: string) => ({ headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': token }, body: `csrf_token=${tamper(token)}` }), 'csrf_token_conflict'],
    ['the field twice with different values', (token: string) => ({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf_token=${token}&csrf_token=x` }), 'csrf_token_conflict'],
    ['two token headers', (token: string) => ({ headers: { 'x-csrf-token': `${token}, ${token}` } }), 'csrf_token_conflict'],
    ['a JSON body with the token inside', (token: string) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ csrf_token: token }) }), 'csrf_token_missing'],
    ['a text/plain "form" with the token', (token: string) => ({ headers: { 'content-type': 'text/plain' }, body: `csrf_token=${token}` }), 'csrf_token_missing'],
    ['a truncated token', (token: string) => ({ headers: { 'x-csrf-token': token.slice(0, 40) } }), 'csrf_token_malformed'],
    ['not base64url', () => ({ headers: { 'x-csrf-token': '!'.repeat(50) } }), 'csrf_token_malformed'],
    ['the binding cookie value as the token', () => ({ headers: { 'x-csrf-token': 'COOKIE' } }), 'csrf_token_malformed'],
  ])('refuses %s', async (_name, build, code) => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    const request = build(token) as Sent;
    const binding = cookie.split('=')[1]!;
    if (request.headers?.['x-csrf-token'] === 'COOKIE') request.headers['x-csrf-token'] = binding;
    expect((await send(security, { ...request, headers: { cookie, ...SAME_ORIGIN, ...request.headers } })).code).toBe(code);
  });

  it('refuses a token with any bit flipped (version, key id, nonce, time, MAC)', async () => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    const bytes = decodeBase64Url(token)!;
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const flipped = bytes.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const { code } = await send(security, { headers: { cookie, 'x-csrf-token': encodeBase64Url(flipped) } });
      expect(['csrf_token_invalid', 'csrf_token_malformed'], `bit ${bit}`).toContain(code);
    }
  });

  it("refuses another browser's token (cross-binding replay)", async () => {
    const { security } = setup();
    const victim = await page(security);
    const attacker = await page(security);
    expect((await send(security, { headers: { cookie: victim.cookie, 'x-csrf-token': attacker.token } })).code).toBe('csrf_token_invalid');
  });

  it('refuses a token without its binding cookie, retryably, with a fresh token and cookie for a request from the site', async () => {
    const { security } = setup();
    const { token } = await page(security);
    const { code, response } = await send(security, { headers: { 'x-csrf-token': token, accept: 'application/json', ...SAME_ORIGIN } });
    expect(code).toBe('status 403');
    expect(await response!.json()).toMatchObject({ code: 'csrf_cookie_missing', retryable: true });
    const fresh = response!.headers.get('x-csrf-token')!;
    const cookie = response!.headers.getSetCookie()[0]!.split(';')[0]!;
    expect((await send(security, { headers: { cookie, 'x-csrf-token': fresh, ...SAME_ORIGIN } })).context).toBeDefined();
  });

  it('gives no fresh token to a request that did not come from the site', async () => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    const { response } = await send(security, { headers: { cookie, 'x-csrf-token': tamper(token) } });
    expect(response!.status).toBe(403);
    expect(response!.headers.get('x-csrf-token')).toBeNull();
  });

  it('refuses several different binding cookies', async () => {
    const { security } = setup();
    const victim = await page(security);
    const attacker = await page(security);
    const { code } = await send(security, { headers: { cookie: `${attacker.cookie}; ${victim.cookie}`, 'x-csrf-token': victim.token } });
    expect(code).toBe('csrf_duplicate_cookie');
  });

  it('expires tokens after maxAge, retryably, and refuses tokens from the future', async () => {
    const { security, clock } = setup({ csrf: { maxAge: 3600 } });
    const { token, cookie } = await page(security);
    clock.now += 3600_000;
    expect((await send(security, { headers: { cookie, 'x-csrf-token': token } })).context).toBeDefined();
    clock.now += 1000;
    const { code, response } = await send(security, { headers: { cookie, 'x-csrf-token': token, ...SAME_ORIGIN } });
    expect(code).toBe('csrf_token_expired');
    expect(response!.headers.get('x-csrf-token')).toMatch(/^[A-Za-z0-9_-]{50}$/);
    clock.now -= 2 * 3600_000;
    expect((await send(security, { headers: { cookie, 'x-csrf-token': token } })).code).toBe('csrf_token_invalid');
  });

  it('keeps tokens valid across key rotation while the old key is in the ring, not after', async () => {
    const oldKey = setup();
    const { token, cookie } = await page(oldKey.security);
    const rotated = setup({ keys: [generateKey(), key] });
    expect((await send(rotated.security, { headers: { cookie, 'x-csrf-token': token } })).context).toBeDefined();
    const retired = setup({ keys: generateKey() });
    expect((await send(retired.security, { headers: { cookie, 'x-csrf-token': token } })).code).toBe('csrf_token_invalid');
  });

  it('rebinds on login: tokens minted before regenerate() stop verifying, new ones work', async () => {
    const { security } = setup();
    const before = await page(security);
    const { context } = await send(security, { headers: { cookie: before.cookie, 'x-csrf-token': before.token } });
    await (await context!.session()).regenerate();
    const after = context!.csrfToken();
    const cookies = context!.responseCookies() as readonly string[];
    const binding = cookies.find((value) => value.startsWith('__Host-csrf='))!.split(';')[0]!;
    const session = cookies.find((value) => value.startsWith('__Host-session='))!.split(';')[0]!;
    expect(binding).not.toBe(before.cookie);
    const cookie = `${session}; ${binding}`;
    expect((await send(security, { headers: { cookie, 'x-csrf-token': before.token } })).code).toBe('csrf_token_invalid');
    expect((await send(security, { headers: { cookie, 'x-csrf-token': after } })).context).toBeDefined();
  });

  it('never puts a token, binding or key in a refusal', async () => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    for (const accept of ['application/json', 'text/html']) {
      const { response } = await send(security, { headers: { cookie, accept, 'x-csrf-token': tamper(token), 'sec-fetch-site': 'cross-site' } });
      const text = await response!.text();
      for (const secret of [token, cookie.split('=')[1]!, key]) expect(text).not.toContain(secret);
      expect(response!.headers.get('vary')).toBe('Sec-Fetch-Site, Origin, Cookie');
      expect(response!.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('marks pages that carry a token no-store', async () => {
    const { security } = setup();
    const { context } = await send(security, { method: 'GET', path: '/' });
    context!.csrfField();
    expect((await security.finish(context!, new Response('<form>', { headers: { 'content-type': 'text/html' } }))).headers.get('cache-control')).toBe('no-store');
  });

  it('renders the field and the meta tag', async () => {
    const { security } = setup();
    const { context } = await send(security, { method: 'GET', path: '/' });
    expect(context!.csrfField()).toMatch(/^<input type="hidden" name="csrf_token" value="[A-Za-z0-9_-]{50}">$/);
    expect(context!.csrfMeta()).toMatch(/^<meta name="csrf-token" content="[A-Za-z0-9_-]{50}">$/);
  });

  it('refuses to mint, after the head is written, a token that would need a new cookie', async () => {
    const { security } = setup();
    const { context } = await send(security, { method: 'GET', path: '/' });
    context!.responseCookies();
    expect(() => context!.csrfToken()).toThrow('render the page (and its forms) before writeHead()');
  });
});

describe('multipart: the token before any file', () => {
  const boundary = '----rampart7MA4YWxkTrZu0gW';
  const part = (name: string, value: string, filename?: string): string =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"\r\nContent-Type: application/octet-stream` : ''}\r\n\r\n${value}\r\n`;
  const end = `--${boundary}--\r\n`;
  const type = `multipart/form-data; boundary=${boundary}`;

  it('passes with the token first, even before a large file', async () => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    const body = part('csrf_token', token) + part('file', 'x'.repeat(200_000), 'a.bin') + end;
    expect((await send(security, { headers: { cookie, 'content-type': type }, body })).context).toBeDefined();
  });

  it('passes with text fields before the token', async () => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    const body = part('title', 'hello') + part('csrf_token', token) + part('file', 'x', 'a.bin') + end;
    expect((await send(security, { headers: { cookie, 'content-type': type }, body })).context).toBeDefined();
  });

  it.each([
    ['a file before the token', (token: string) => part('file', 'x'.repeat(1000), 'a.bin') + part('csrf_token', token) + end, 'csrf_token_missing_before_file'],
    ['no token at all', () => part('title', 'x') + end, 'csrf_token_missing'],
    ['a token after 64 KiB of fields', (token: string) => part('pad', 'x'.repeat(70_000)) + part('csrf_token', token) + end, 'csrf_token_missing'],
    ['no boundary in the body', () => 'garbage', 'csrf_form_malformed'],
    ['a part without a disposition', () => `--${boundary}\r\nContent-Type: text/plain\r\n\r\nx\r\n${end}`, 'csrf_form_malformed'],
    ['LF instead of CRLF', (token: string) => `--${boundary}\nContent-Disposition: form-data; name="csrf_token"\n\n${token}\n${end}`, 'csrf_form_malformed'],
  ])('refuses %s', async (_name, build, code) => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    expect((await send(security, { headers: { cookie, 'content-type': type }, body: build(token) })).code).toBe(code);
  });

  it.each(['', 'a'.repeat(71), 'ends with a space '])('refuses the boundary %j', async (bad) => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    const body = part('csrf_token', token) + end;
    expect((await send(security, { headers: { cookie, 'content-type': `multipart/form-data; boundary="${bad}"` }, body })).code).toBe('csrf_form_malformed');
  });

  it('leaves the whole body for the application', async () => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    const body = part('csrf_token', token) + part('file', 'y'.repeat(100_000), 'a.bin') + end;
    const request = new Request(`${ORIGIN}/upload`, { method: 'POST', headers: { cookie, 'content-type': type }, body });
    const started = await security.begin(new FetchIncoming(request, undefined, true));
    expect(started).toBeInstanceOf(RequestContext);
    expect(await request.text()).toBe(body);
  });
});

describe('urlencoded bodies', () => {
  it('refuses a form over maxFormBytes with 413', async () => {
    const { security } = setup({ csrf: { maxFormBytes: 4096 } });
    const { token, cookie } = await page(security);
    const { code, response } = await send(security, { headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf_token=${token}&m=${'x'.repeat(5000)}` });
    expect(code).toBe('csrf_form_too_large');
    expect(response!.status).toBe(413);
  });

  it('reads the token of a form whose content type is written oddly', async () => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    const headers = { cookie, 'content-type': 'Application/X-WWW-Form-URLEncoded; charset=UTF-8' };
    expect((await send(security, { headers, body: `message=hi&csrf_token=${token}` })).context).toBeDefined();
  });

  it.each([
    ['csrf_token=abc', { token: 'abc' }],
    ['a=1&csrf_token=abc&b=2', { token: 'abc' }],
    ['csrf_token=abc&csrf_token=abc', { token: 'abc' }],
    ['a=1', { missing: 'csrf_token_missing' }],
    ['csrf_token=a&csrf_token=b', { missing: 'csrf_token_conflict' }],
  ])('urlencodedToken(%j)', (body, expected) => {
    expect(urlencodedToken(new TextEncoder().encode(body))).toEqual(expected);
  });

  it('multipartToken asks for more until a part is complete', () => {
    const text = '--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\nabc';
    expect(multipartToken(new TextEncoder().encode(text), 'b', 'partial')).toBe('more');
    expect(multipartToken(new TextEncoder().encode(`${text}\r\n--b--`), 'b', 'partial')).toEqual({ token: 'abc' });
  });

  it('multipartToken reads the same part headers alike every time, among many others', () => {
    const encode = (text: string) => new TextEncoder().encode(text);
    const body = (first: string) => encode(`--b\r\n${first}\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\ntok\r\n--b--`);
    // Each body twice in a row (the second time from what was kept), and more distinct
    // headers than are kept: some are read again after being forgotten.
    const cases: [string, FormToken][] = [
      // Two csrf_token parts, "x" then "tok".
      ['Content-Disposition: form-data; name="csrf_token"', { missing: 'csrf_token_conflict' }],
      ['Content-Disposition: form-data; name="note"', { token: 'tok' }],
      ['Content-Disposition: form-data; name="note"; filename="a"', { missing: 'csrf_token_missing_before_file' }],
      ['Content-Disposition: form-data; name="note"; filename*=UTF-8\'\'a', { missing: 'csrf_token_missing_before_file' }],
      ['Content-Disposition: attachment; name="note"', { missing: 'csrf_form_malformed' }],
    ];
    for (let round = 0; round < 2; round++) {
      for (let index = 0; index < 300; index++) {
        for (const [headers, expected] of cases) {
          const distinct = headers.replace('name="note"', `name="note${index}"`);
          for (let time = 0; time < 2; time++) expect(multipartToken(body(distinct), 'b', 'body'), distinct).toEqual(expected);
        }
      }
    }
  });

  it('multipartToken keeps byte offsets whatever the bytes before the token (every value 0x00–0xFF)', () => {
    const encode = (text: string) => new TextEncoder().encode(text);
    const field = Uint8Array.from({ length: 256 * 3 }, (_, index) => (index % 256 === 0x0d ? 0x20 : index % 256));
    const body = new Uint8Array([
      ...encode('--b\r\nContent-Disposition: form-data; name="note"\r\n\r\n'),
      ...field,
      ...encode('\r\n--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\ntok\r\n--b\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\nx\r\n--b--'),
    ]);
    expect(multipartToken(body, 'b', 'body')).toEqual({ token: 'tok' });
  });
});

describe('exemptions, modes and options', () => {
  it('exempts only the exact method and path', async () => {
    const { security } = setup({ csrf: { exempt: ['POST /webhooks/stripe'] } });
    expect((await send(security, { path: '/webhooks/stripe', headers: { 'sec-fetch-site': 'cross-site' } })).context).toBeDefined();
    for (const path of ['/webhooks/stripe/', '/webhooks//stripe', '/webhooks/stripe/../../echo', '/webhooks/stripe%2F..%2Fecho', '/webhooks/stripeX', '/Webhooks/stripe']) {
      expect((await send(security, { path, headers: SAME_ORIGIN })).code, path).toBe('csrf_token_missing');
    }
    expect((await send(security, { method: 'PUT', path: '/webhooks/stripe', headers: SAME_ORIGIN })).code).toBe('csrf_token_missing');
  });

  it('report-only lets requests through and reports each refusal', async () => {
    const { security, refusals } = setup({ csrf: { reportOnly: true } });
    expect((await send(security, { headers: { 'sec-fetch-site': 'cross-site' } })).context).toBeDefined();
    expect((await send(security, { headers: SAME_ORIGIN })).context).toBeDefined();
    expect(refusals).toEqual(['csrf_cross_site', 'csrf_token_missing']);
  });

  it('headers-only mode needs no token but refuses every uncertain request', async () => {
    const { security } = setup({ csrf: { mode: 'headers-only' } });
    expect((await send(security, { headers: SAME_ORIGIN })).context).toBeDefined();
    expect((await send(security, { headers: { origin: ORIGIN } })).context).toBeDefined();
    expect((await send(security, {})).code).toBe('csrf_no_browser_signals');
    expect((await send(security, { headers: { 'sec-fetch-site': 'none' } })).code).toBe('csrf_sec_fetch_site_none');
  });

  it('trusted origins pass the origin check, and still need a token', async () => {
    const { security } = setup({ csrf: { trustedOrigins: ['https://idp.example'] } });
    expect((await send(security, { headers: { 'sec-fetch-site': 'cross-site', origin: 'https://idp.example' } })).code).toBe('csrf_token_missing');
  });

  it('csrf: false turns it off, and csrfToken() says so', async () => {
    const security = rampart({ keys: key, logger: { warn: () => {} }, csrf: false });
    const started = await security.begin(new FetchIncoming(new Request(`${ORIGIN}/echo`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } }), undefined, true));
    expect(started).toBeInstanceOf(RequestContext);
    expect(() => (started as RequestContext).csrfToken()).toThrow('CSRF protection is turned off');
  });

  it.each([
    [{ mode: 'strictest' }, 'expected "strict" or "headers-only"'],
    [{ exempt: ['/webhooks'] }, 'expected "METHOD /exact/path"'],
    [{ exempt: ['POST /webhooks/*'] }, 'exemptions are exact paths'],
    [{ exempt: ['GET /x'] }, 'safe methods are never checked'],
    [{ trustedOrigins: ['null'] }, '"null" can never be trusted'],
    [{ trustedOrigins: ['https://idp.example/'] }, 'must be written as the browser sends it'],
    [{ maxAge: 10 }, 'at least 60'],
    [{ reportonly: true }, 'Did you mean "reportOnly"?'],
  ])('refuses %j at startup', (csrf, message) => {
    expect(() => rampart({ keys: key, logger: { warn: () => {} }, csrf: csrf as never })).toThrow(message);
  });
});

describe('tokens', () => {
  it('are 50 base64url characters, bound to 32 bytes of binding', () => {
    const tokens = new CsrfTokens({ keys: [new Uint8Array(32).fill(1)], ephemeral: false }, () => 0, 60);
    const binding = decodeBinding(newBinding())!;
    const token = tokens.mint(binding);
    expect(token).toMatch(/^[A-Za-z0-9_-]{50}$/);
    expect(tokens.verify(token, binding)).toBe(true);
    expect(tokens.verify(token, decodeBinding(newBinding())!)).toBe('invalid');
  });

  it.each(['', 'short', 'x'.repeat(42), 'x'.repeat(44), `${'A'.repeat(42)}+`, `${'A'.repeat(42)}B`, `${'A'.repeat(41)}==`])('decodeBinding refuses %j', (value) => {
    expect(decodeBinding(value)).toBeUndefined();
  });
});

describe('readJson', () => {
  const json = (body: string, type = 'application/json') => new Request('https://app.example/', { method: 'POST', headers: { 'content-type': type }, body });

  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/problem+json', 'application/vnd.api+json'])('reads %s', async (type) => {
    expect(await readJson(json('{"a":1}', type))).toEqual({ a: 1 });
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', 'application/jsonx', 'text/json'])('refuses %j with 415', async (type) => {
    await expect(readJson(json('{"a":1}', type))).rejects.toMatchObject({ code: 'json_media_type', status: 415 });
  });

  it('refuses a body over the limit with 413, and invalid JSON or UTF-8 with 400', async () => {
    await expect(readJson(json(`"${'x'.repeat(2000)}"`), { limit: 1000 })).rejects.toMatchObject({ code: 'json_too_large', status: 413 });
    await expect(readJson(json('{"a":'))).rejects.toBeInstanceOf(RampartError);
    const invalidUtf8 = new Request('https://app.example/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array([0x22, 0xff, 0x22]) });
    await expect(readJson(invalidUtf8)).rejects.toMatchObject({ code: 'json_malformed', status: 400 });
  });
});

describe('review: method overrides hidden by encoding, and on exempt routes', () => {
  it.each([
    ['a percent-encoded _method (qs decodes it)', '/echo?%5Fmethod=DELETE'],
    ['a lowercase escape and capitals', '/echo?a=1&%5fMETHOD=DELETE'],
    ['every letter escaped', '/echo?%5F%6D%65%74%68%6F%64=PUT'],
    ['qs array syntax', '/echo?_method[]=DELETE'],
    ['qs array syntax, escaped', '/echo?%5Fmethod%5B%5D=DELETE'],
    ['no value', '/echo?_method'],
  ])('refuses %s on GET', async (_name, path) => {
    const { security } = setup();
    expect((await send(security, { method: 'GET', path })).code).toBe('csrf_method_override');
  });

  it.each(['/echo?q=%20', '/echo?x_method=1', '/echo?_methods=1', '/echo?_method+=1', '/echo?q=_method', '/echo?q=%5Fmethod'])('lets GET %s through (no _method parameter)', async (path) => {
    const { security } = setup();
    expect((await send(security, { method: 'GET', path })).context).toBeDefined();
  });

  it.each([
    ['percent-encoded', (token: string) => `/echo?%63srf_token=${token}`],
    ['an escaped underscore', (token: string) => `/echo?csrf%5Ftoken=${token}`],
  ])('refuses a token in the query, %s', async (_name, build) => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    expect((await send(security, { path: build(token), headers: { cookie, 'x-csrf-token': token, ...SAME_ORIGIN } })).code).toBe('csrf_token_in_query');
  });

  it('does not take csrf_token as a query value for a token', async () => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    expect((await send(security, { path: '/echo?q=csrf_token', headers: { cookie, 'x-csrf-token': token, ...SAME_ORIGIN } })).context).toBeDefined();
  });

  const boundary = 'hook';
  const multipart = (...parts: string[]): string => `${parts.map((part) => `--${boundary}\r\n${part}\r\n`).join('')}--${boundary}--\r\n`;
  const field = (name: string, value: string): string => `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`;
  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  const MULTIPART = { 'content-type': `multipart/form-data; boundary=${boundary}` };
  const CROSS_SITE = { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' };

  // Each row: a cross-site request to the exempt POST /webhooks/stripe, and the code expected (undefined: it passes).
  it.each<[string, Sent, string | undefined]>([
    ['a plain webhook', { headers: FORM, body: 'type=charge.succeeded' }, undefined],
    ['a JSON webhook that mentions _method', { headers: { 'content-type': 'application/json' }, body: '{"_method":"DELETE"}' }, undefined],
    ['a multipart webhook', { headers: MULTIPART, body: multipart(field('from', 'a@example.com')) }, undefined],
    ['_method in the query', { path: '/webhooks/stripe?_method=DELETE' }, 'csrf_exempt_method_override'],
    ['_method in the query, percent-encoded', { path: '/webhooks/stripe?%5Fmethod=DELETE' }, 'csrf_exempt_method_override'],
    ['X-HTTP-Method-Override', { headers: { 'x-http-method-override': 'DELETE' } }, 'csrf_exempt_method_override'],
    ['X-HTTP-Method', { headers: { 'x-http-method': 'DELETE' } }, 'csrf_exempt_method_override'],
    ['X-Method-Override', { headers: { 'x-method-override': 'DELETE' } }, 'csrf_exempt_method_override'],
    ['_method in a urlencoded body', { headers: FORM, body: 'type=x&_method=DELETE' }, 'csrf_exempt_method_override'],
    ['_method in a urlencoded body, percent-encoded', { headers: FORM, body: 'type=x&%5Fmethod=DELETE' }, 'csrf_exempt_method_override'],
    ['_method at the end of a long urlencoded body', { headers: FORM, body: `pad=${'x'.repeat(200_000)}&_method=DELETE` }, 'csrf_exempt_method_override'],
    ['a urlencoded body too large to read whole', { headers: FORM, body: `pad=${'x'.repeat(1024 * 1024)}&_method=DELETE` }, 'csrf_form_too_large'],
    ['_method in a multipart body', { headers: MULTIPART, body: multipart(field('from', 'a'), field('_method', 'DELETE')) }, 'csrf_exempt_method_override'],
    ['_METHOD in a multipart body', { headers: MULTIPART, body: multipart(field('_METHOD', 'DELETE')) }, 'csrf_exempt_method_override'],
    ['a multipart body with a broken boundary', { headers: { 'content-type': 'multipart/form-data; boundary=a; boundary=b' }, body: multipart(field('_method', 'DELETE')) }, 'csrf_form_malformed'],
    ['a multipart body whose framing is broken', { headers: MULTIPART, body: `--${boundary}\r\nX-Nothing: 1\r\n\r\nx\r\n--${boundary}--` }, 'csrf_form_malformed'],
  ])('exempt route: %s', async (_name, request, code) => {
    const { security } = setup({ csrf: { exempt: ['POST /webhooks/stripe'] } });
    const result = await send(security, { path: '/webhooks/stripe', ...request, headers: { ...CROSS_SITE, ...request.headers } });
    expect(result.code).toBe(code);
  });

  it('exempt route: a multipart _method after the first file is not looked for (documented)', async () => {
    const { security } = setup({ csrf: { exempt: ['POST /webhooks/stripe'] } });
    const body = multipart(`Content-Disposition: form-data; name="a"; filename="a.txt"\r\n\r\nx`, field('_method', 'DELETE'));
    expect((await send(security, { path: '/webhooks/stripe', headers: { ...CROSS_SITE, ...MULTIPART }, body })).context).toBeDefined();
  });

  it('exempt route: reports in report-only mode, and lets the body through untouched', async () => {
    const { security, refusals } = setup({ csrf: { exempt: ['POST /webhooks/stripe'], reportOnly: true } });
    const request = new Request(`${ORIGIN}/webhooks/stripe`, { method: 'POST', headers: { ...CROSS_SITE, ...FORM }, body: 'a=1&_method=DELETE' });
    expect(await security.begin(new FetchIncoming(request, undefined, true))).toBeInstanceOf(RequestContext);
    expect(await request.text()).toBe('a=1&_method=DELETE');
    expect(refusals).toEqual(['csrf_exempt_method_override']);
  });
});

describe('review: a second binding cookie written with spaces around its name', () => {
  it.each([
    ['a space before =', (victim: string, attacker: string) => `${victim}; ${attacker.replace('=', ' =')}`],
    ['a tab before =', (victim: string, attacker: string) => `${victim}; ${attacker.replace('=', '\t=')}`],
    ['the spaced one first', (victim: string, attacker: string) => `${attacker.replace('=', ' =')}; ${victim}`],
    ['both spaced', (victim: string, attacker: string) => `${victim.replace('=', ' =')}; ${attacker.replace('=', ' =')}`],
  ])('refuses %s', async (_name, build) => {
    const { security } = setup();
    const victim = await page(security);
    const attacker = await page(security);
    const cookie = build(victim.cookie, attacker.cookie);
    expect((await send(security, { headers: { cookie, 'x-csrf-token': victim.token, ...SAME_ORIGIN } })).code).toBe('csrf_duplicate_cookie');
  });

  it('accepts the same binding twice, and a name that merely contains it', async () => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    for (const header of [`${cookie}; ${cookie.replace('=', ' =')}`, `x${cookie}; ${cookie}`, `a=__Host-csrf; ${cookie}`]) {
      expect((await send(security, { headers: { cookie: header, 'x-csrf-token': token, ...SAME_ORIGIN } })).context, header).toBeDefined();
    }
  });
});

describe('review: the CSRF reader and the upload parser read multipart bodies alike', () => {
  const B = 'xYz';
  const encode = (text: string): Uint8Array => Uint8Array.from(text, (character) => character.charCodeAt(0));
  const disposition = (name: string): string => `Content-Disposition: form-data; name="${name}"`;
  const part = (headers: string, value: string): string => `--${B}\r\n${headers}\r\n\r\n${value}\r\n`;
  const close = `--${B}--\r\n`;
  const token = part(disposition('csrf_token'), 'TOKEN');
  const file = part(`${disposition('f')}; filename="a.txt"\r\nContent-Type: text/plain`, 'data');

  /**
   * What the token search must answer, derived from what the upload parser reads of the
   * body. Framing the upload parser refuses after the token is its own to report
   * (`upload_malformed`, `upload_truncated`): the CSRF reader answers the token.
   */
  function byUploadParser(body: Uint8Array): FormToken {
    const parts: { name: string; file: boolean; value: string; ended: boolean }[] = [];
    let failed = false;
    try {
      const parser = new MultipartParser(B, {
        onPart: (info) => void parts.push({ name: info.name, file: info.filename !== undefined, value: '', ended: false }),
        onData: (bytes) => void (parts.at(-1)!.value += String.fromCharCode(...bytes)),
        onPartEnd: () => void (parts.at(-1)!.ended = true),
      });
      parser.write(body);
      parser.end();
    } catch (error) {
      if (!(error instanceof RampartError)) throw error;
      failed = true;
    }
    let found: string | undefined;
    for (const { name, file: isFile, value, ended } of parts) {
      if (isFile) return found === undefined ? { missing: 'csrf_token_missing_before_file' } : { token: found };
      if (!ended) return found === undefined ? { missing: 'csrf_form_malformed' } : { token: found };
      if (name !== 'csrf_token') continue;
      if (found !== undefined && value !== found) return { missing: 'csrf_token_conflict' };
      found = value;
    }
    if (found !== undefined) return { token: found };
    return failed ? { missing: 'csrf_form_malformed' } : { missing: 'csrf_token_missing' };
  }

  // Each row: a body, and what both must read of it.
  it.each<[string, string, FormToken]>([
    ['a browser form', token + part(disposition('title'), 'hi') + file + close, { token: 'TOKEN' }],
    ['a CRLF before the first delimiter', `\r\n${token}${close}`, { token: 'TOKEN' }],
    ['a text preamble', `this is a preamble\r\n${token}${close}`, { token: 'TOKEN' }],
    ['a body opening with a longer boundary', `--${B}X\r\n${disposition('csrf_token')}\r\n\r\nTOKEN\r\n${close}`, { missing: 'csrf_form_malformed' }],
    ['only the close delimiter', close, { missing: 'csrf_token_missing' }],
    ['an empty body', '', { missing: 'csrf_form_malformed' }],
    ['no close delimiter', part(disposition('a'), '1'), { missing: 'csrf_form_malformed' }],
    ['the token part unfinished', token, { missing: 'csrf_form_malformed' }],
    ['truncated after the token (the upload parser refuses it)', `${token}--${B}`, { token: 'TOKEN' }],
    ['the token after fields', part(disposition('a'), '1') + part(disposition('b'), '2') + token + close, { token: 'TOKEN' }],
    ['a file first', file + token + close, { missing: 'csrf_token_missing_before_file' }],
    ['two tokens that differ', token + part(disposition('csrf_token'), 'OTHER') + close, { missing: 'csrf_token_conflict' }],
    ['two tokens that differ, a field between', token + part(disposition('x'), '1') + part(disposition('csrf_token'), 'OTHER') + file + close, { missing: 'csrf_token_conflict' }],
    ['the same token twice', token + token + close, { token: 'TOKEN' }],
    ['a second token after the first file', token + file + part(disposition('csrf_token'), 'OTHER') + close, { token: 'TOKEN' }],
    ['content that resembles a delimiter', part(disposition('a'), `1\r\n--${B}X`) + token + close, { missing: 'csrf_form_malformed' }],
    ['a broken part after the token (the upload parser refuses it)', token + part(`${disposition('a')}\r\n${disposition('b')}`, '1') + close, { token: 'TOKEN' }],
    ['LF line endings', `--${B}\n${disposition('csrf_token')}\n\nTOKEN\n${close}`, { missing: 'csrf_form_malformed' }],
    ['transport padding after the delimiter', `--${B}  \r\n${disposition('csrf_token')}\r\n\r\nTOKEN\r\n${close}`, { missing: 'csrf_form_malformed' }],
    ['an empty header block', `--${B}\r\n\r\nTOKEN\r\n${close}`, { missing: 'csrf_form_malformed' }],
    ['Content-Disposition twice', part(`${disposition('x')}\r\n${disposition('csrf_token')}`, 'TOKEN') + close, { missing: 'csrf_form_malformed' }],
    ['Content-Type twice', part(`${disposition('csrf_token')}\r\nContent-Type: text/plain\r\nContent-Type: text/html`, 'TOKEN') + close, { missing: 'csrf_form_malformed' }],
    ['a header line without a colon', part(`${disposition('csrf_token')}\r\njunk`, 'TOKEN') + close, { missing: 'csrf_form_malformed' }],
    ['a folded header line', part(`Content-Disposition: form-data;\r\n name="csrf_token"`, 'TOKEN') + close, { missing: 'csrf_form_malformed' }],
    ['a bare CR in a header line', part(`${disposition('csrf_token')}\rX-A: 1`, 'TOKEN') + close, { missing: 'csrf_form_malformed' }],
    ['a header name with a space', part(`${disposition('csrf_token')}\r\nX A: 1`, 'TOKEN') + close, { missing: 'csrf_form_malformed' }],
    ['Content-Transfer-Encoding: base64', part(`${disposition('csrf_token')}\r\nContent-Transfer-Encoding: base64`, 'VE9LRU4=') + close, { missing: 'csrf_form_malformed' }],
    ['Content-Transfer-Encoding: binary', part(`${disposition('csrf_token')}\r\nContent-Transfer-Encoding: binary`, 'TOKEN') + close, { token: 'TOKEN' }],
    ['a disposition that is not form-data', part('Content-Disposition: attachment; name="csrf_token"', 'TOKEN') + close, { missing: 'csrf_form_malformed' }],
    ['a disposition without a name', part('Content-Disposition: form-data; filename="a"', 'x') + close, { missing: 'csrf_form_malformed' }],
    ['name given twice', part('Content-Disposition: form-data; name="x"; name="csrf_token"', 'TOKEN') + close, { missing: 'csrf_form_malformed' }],
    ['name= inside another quoted parameter', part('Content-Disposition: form-data; x="; name=csrf_token"; name="note"', 'TOKEN') + close, { missing: 'csrf_token_missing' }],
    ['filename= inside another quoted parameter', part('Content-Disposition: form-data; name="note"; x="; filename=a"', 'x') + token + close, { token: 'TOKEN' }],
    ['filename* alone', part(`Content-Disposition: form-data; name="f"; filename*=UTF-8''a.txt`, 'x') + token + close, { missing: 'csrf_token_missing_before_file' }],
    ['an empty filename (an empty file input)', part('Content-Disposition: form-data; name="f"; filename=""', '') + token + close, { missing: 'csrf_token_missing_before_file' }],
    ['capitals and spacing', part('CONTENT-DISPOSITION:\tFORM-DATA ;  NAME = "csrf_token" ', 'TOKEN') + close, { token: 'TOKEN' }],
    ['an unquoted name', part('Content-Disposition: form-data; name=csrf_token', 'TOKEN') + close, { token: 'TOKEN' }],
    ['a name that only starts like the field', part(disposition('csrf_token\u00e9'), 'TOKEN') + close, { missing: 'csrf_token_missing' }],
    ['an epilogue', token + close + 'epilogue', { token: 'TOKEN' }],
  ])('%s', (_name, text, expected) => {
    const body = encode(text);
    expect(byUploadParser(body), 'upload parser').toEqual(expected);
    expect(multipartToken(body, B, 'body'), 'CSRF reader').toEqual(expected);
  });

  it('passes a form whose body opens with CRLF, end to end', async () => {
    const { security } = setup();
    const { token: value, cookie } = await page(security);
    const body = `\r\n--${B}\r\n${disposition('csrf_token')}\r\n\r\n${value}\r\n${close}`;
    expect((await send(security, { headers: { cookie, 'content-type': `multipart/form-data; boundary=${B}` }, body })).context).toBeDefined();
  });

  it('refuses two different tokens in a multipart form, end to end, and keeps a token followed by a large field', async () => {
    const { security } = setup();
    const { token: value, cookie } = await page(security);
    const other = (await page(security, cookie)).token;
    const headers = { cookie, 'content-type': `multipart/form-data; boundary=${B}` };
    const twice = part(disposition('csrf_token'), value) + part(disposition('csrf_token'), other) + close;
    expect((await send(security, { headers, body: twice })).code).toBe('csrf_token_conflict');
    // Past the 64 KiB that are read, nothing is looked for: the token stands.
    const large = part(disposition('csrf_token'), value) + part(disposition('text'), 'x'.repeat(100_000)) + part(disposition('csrf_token'), other) + close;
    expect((await send(security, { headers, body: large })).context).toBeDefined();
  });
});

describe('review: the boundary parameter, read as a proxy reads it', () => {
  // Each row: a Content-Type, and the boundary (undefined: none every reader agrees on).
  it.each<[string, string | undefined]>([
    ['multipart/form-data; boundary=AAA', 'AAA'],
    ['multipart/form-data; boundary="AAA"', 'AAA'],
    ['Multipart/Form-Data; BOUNDARY=AAA', 'AAA'],
    ['multipart/form-data;boundary=AAA;charset=utf-8', 'AAA'],
    ['multipart/form-data; charset=utf-8; boundary=AAA', 'AAA'],
    ['multipart/form-data ;  boundary = AAA ;', 'AAA'],
    ['multipart/form-data; ; boundary=AAA', 'AAA'],
    ['multipart/form-data; boundary="a b:c"', 'a b:c'],
    ['multipart/form-data; boundary=----=_Part_0.12', '----=_Part_0.12'],
    ['multipart/form-data; x="; boundary=AAA; y="; boundary=BBB', 'BBB'],
    ['multipart/form-data; x="; boundary=AAA"; boundary=BBB', 'BBB'],
    ['multipart/form-data; x="boundary=AAA"', undefined],
    ['multipart/form-data; boundary=AAA; boundary=BBB', undefined],
    ['multipart/form-data; boundary=AAA; Boundary="AAA"', undefined],
    ['multipart/form-data; boundary=AAA, multipart/form-data; boundary=BBB', undefined],
    ['multipart/form-data; x="\\"; boundary=AAA"; boundary=BBB', undefined],
    ['multipart/form-data; x="unterminated; boundary=AAA', undefined],
    ['multipart/form-data; boundary', undefined],
    ['multipart/form-data; boundary=', undefined],
    ['multipart/form-data; boundary=AAA junk', undefined],
    ['multipart/form-data; boundary=AAA\u00a0', undefined],
    ['multipart/form-data; boundary="AAA"x', undefined],
    ['multipart/form-data', undefined],
  ])('%j', (value, boundary) => {
    expect(parseContentType(value)).toEqual({ type: 'multipart/form-data', boundary });
  });

  const body = (boundary: string, value: string): string => `--${boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n${value}\r\n--${boundary}--\r\n`;

  it('reads the token with the boundary outside the quoted value, end to end', async () => {
    const { security } = setup();
    const { token, cookie } = await page(security);
    const type = 'multipart/form-data; x="; boundary=AAA; y="; boundary=BBB';
    expect((await send(security, { headers: { cookie, 'content-type': type }, body: body('BBB', token) })).context).toBeDefined();
    expect((await send(security, { headers: { cookie, 'content-type': type }, body: body('AAA', token) })).code).toBe('csrf_form_malformed');
  });

  it.each(['multipart/form-data; boundary=AAA; boundary=BBB', 'multipart/form-data; boundary=AAA; boundary=AAA'])(
    'refuses two boundaries (%j): csrf_form_malformed, and upload_boundary_invalid in uploads',
    async (type) => {
      const { security } = setup();
      const { token, cookie } = await page(security);
      expect((await send(security, { headers: { cookie, 'content-type': type }, body: body('AAA', token) })).code).toBe('csrf_form_malformed');
      const receiver = uploads({ storage: memoryStorage(), allowedTypes: ['text/plain'] });
      const upload = new Request(`${ORIGIN}/upload`, { method: 'POST', headers: { 'content-type': type }, body: body('AAA', 'x') });
      await expect(receiver.receive(upload)).rejects.toMatchObject({ code: 'upload_boundary_invalid' });
    },
  );
});
