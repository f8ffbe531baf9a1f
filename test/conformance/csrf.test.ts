/**
 * CSRF over raw HTTP on every adapter: the protocol-level rows of the attack matrix
 * (research/csrf.md §5.5), against the reference app's `POST /echo`. Each attack
 * must be refused with its code AND leave `GET /state.json` unchanged; the legitimate
 * controls must change it, so an assertion cannot pass because nothing was observed.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADAPTERS, formCredentials, startTarget, testOptions, type FormCredentials, type RequestOptions, type Target } from '../support/targets.ts';

const ORIGIN = 'https://app.test';
const FORM = 'application/x-www-form-urlencoded';
const boundary = 'rampartBoundary7MA4YWxk';
const part = (name: string, value: string, filename?: string): string =>
  `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"\r\nContent-Type: application/octet-stream` : ''}\r\n\r\n${value}\r\n`;

/** One character of the token's MAC changed. */
function tamper(token: string): string {
  return `${token.slice(0, 30)}${token[30] === 'A' ? 'B' : 'A'}${token.slice(31)}`;
}

describe.each(ADAPTERS)('%s', (adapter) => {
  let target: Target;
  let victim: FormCredentials;

  beforeAll(async () => {
    target = await startTarget(adapter, testOptions({ origin: ORIGIN }));
    victim = await formCredentials(target);
  });
  afterAll(() => target.close());

  async function echoes(): Promise<number> {
    return ((await (await target.request('/state.json')).json()) as { echoes: number }).echoes;
  }

  /** Sends one request and returns its status and refusal code, checking whether the state changed as expected. */
  async function attempt(path: string, options: RequestOptions, expectChange: boolean): Promise<{ status: number; code: string | undefined; response: Response }> {
    const before = await echoes();
    const response = await target.request(path, { ...options, headers: { accept: 'application/json', ...options.headers } });
    const body = await response.clone().text();
    const code = /"code":"([a-z_]+)"/.exec(body)?.[1];
    expect(await echoes(), `state after ${options.method ?? 'GET'} ${path}`).toBe(before + (expectChange ? 1 : 0));
    return { status: response.status, code, response };
  }

  const post = (headers: Record<string, string>, body: string, path = '/echo'): Promise<{ status: number; code: string | undefined; response: Response }> =>
    attempt(path, { method: 'POST', headers: { 'content-type': FORM, cookie: victim.cookie, ...headers }, body }, false);

  it('control: the form as the page gives it changes the state', async () => {
    const { status } = await attempt('/echo', { method: 'POST', headers: { 'content-type': FORM, cookie: victim.cookie, 'sec-fetch-site': 'same-origin' }, body: `csrf_token=${victim.token}&message=hi` }, true);
    expect(status).toBe(200);
  });

  it('control: the token in the X-CSRF-Token header, Origin only', async () => {
    const { status } = await attempt('/echo', { method: 'POST', headers: { 'content-type': FORM, cookie: victim.cookie, origin: ORIGIN, 'x-csrf-token': victim.token }, body: 'message=hi' }, true);
    expect(status).toBe(200);
  });

  it.each<[string, Record<string, string>, (token: string) => string, string]>([
    ['R1 no signals, no token (a script with a stolen cookie)', {}, () => 'message=x', 'csrf_token_missing'],
    ['R2 a valid token from a cross-site page', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.test' }, (token) => `csrf_token=${token}&message=x`, 'csrf_cross_site'],
    ['R2b a valid token from a sibling subdomain', { 'sec-fetch-site': 'same-site', origin: 'https://sub.app.test' }, (token) => `csrf_token=${token}&message=x`, 'csrf_same_site'],
    ['R3 Origin: null', { origin: 'null' }, (token) => `csrf_token=${token}&message=x`, 'csrf_origin_null'],
    ['R4 Origin suffix confusion', { origin: 'https://app.test.evil.test' }, (token) => `csrf_token=${token}&message=x`, 'csrf_origin_mismatch'],
    ['R5 Origin scheme downgrade', { origin: 'http://app.test' }, (token) => `csrf_token=${token}&message=x`, 'csrf_origin_mismatch'],
    ['R6 Origin port confusion', { origin: 'https://app.test:8443' }, (token) => `csrf_token=${token}&message=x`, 'csrf_origin_mismatch'],
    ['R7 Referer of another origin', { referer: 'https://evil.test/x' }, (token) => `csrf_token=${token}&message=x`, 'csrf_referer_mismatch'],
    ['R7b a malformed Referer', { referer: '::::' }, (token) => `csrf_token=${token}&message=x`, 'csrf_referer_mismatch'],
    ['R7c our Referer over plain HTTP', { referer: 'http://app.test/' }, (token) => `csrf_token=${token}&message=x`, 'csrf_referer_mismatch'],
    ['R8 two Sec-Fetch-Site values', { 'sec-fetch-site': 'same-origin, cross-site' }, (token) => `csrf_token=${token}&message=x`, 'csrf_malformed_header'],
    ['R8b two Origin values', { origin: `${ORIGIN}, https://evil.test` }, (token) => `csrf_token=${token}&message=x`, 'csrf_malformed_header'],
    ['R10 a malformed Origin', { origin: 'https://[' }, (token) => `csrf_token=${token}&message=x`, 'csrf_origin_mismatch'],
    ['R11 a tampered token', { 'sec-fetch-site': 'same-origin' }, (token) => `csrf_token=${tamper(token)}&message=x`, 'csrf_token_invalid'],
    ['R11b a truncated token', { 'sec-fetch-site': 'same-origin' }, (token) => `csrf_token=${token.slice(0, 30)}&message=x`, 'csrf_token_malformed'],
    ['R16 the field twice, different', { 'sec-fetch-site': 'same-origin' }, (token) => `csrf_token=${token}&csrf_token=${tamper(token)}&message=x`, 'csrf_token_conflict'],
  ])('%s', async (_name, headers, body, expected) => {
    const { status, code } = await post(headers, body(victim.token));
    expect(code).toBe(expected);
    expect(status).toBe(403);
  });

  it('R9 an unknown Sec-Fetch-Site value is ignored: our Origin and a token pass, another Origin does not', async () => {
    await attempt('/echo', { method: 'POST', headers: { 'content-type': FORM, cookie: victim.cookie, 'sec-fetch-site': 'same-planet', origin: ORIGIN }, body: `csrf_token=${victim.token}&message=x` }, true);
    expect((await post({ 'sec-fetch-site': 'same-planet', origin: 'https://evil.test' }, `csrf_token=${victim.token}&message=x`)).code).toBe('csrf_origin_mismatch');
  });

  it("R12 another browser's token with the victim's cookie", async () => {
    const attacker = await formCredentials(target);
    expect((await post({ 'sec-fetch-site': 'same-origin' }, `csrf_token=${attacker.token}&message=x`)).code).toBe('csrf_token_invalid');
  });

  it('R15 the token in the query string', async () => {
    const { status, code } = await post({ 'sec-fetch-site': 'same-origin' }, 'message=x', `/echo?csrf_token=${victim.token}`);
    expect([status, code]).toEqual([400, 'csrf_token_in_query']);
  });

  it('R16b header and field differ', async () => {
    expect((await post({ 'sec-fetch-site': 'same-origin', 'x-csrf-token': victim.token }, `csrf_token=${tamper(victim.token)}&message=x`)).code).toBe('csrf_token_conflict');
  });

  it('R17 the binding cookie value as the token', async () => {
    const binding = victim.cookie.split('=')[1]!;
    expect((await post({ 'sec-fetch-site': 'same-origin', 'x-csrf-token': binding }, 'message=x')).code).toBe('csrf_token_malformed');
  });

  it('K5 a text/plain body shaped like JSON or a form', async () => {
    const { code } = await post({ 'content-type': 'text/plain', 'sec-fetch-site': 'same-origin' }, `csrf_token=${victim.token}&message=x`);
    expect(code).toBe('csrf_token_missing');
    const json = await post({ 'content-type': 'text/plain' }, JSON.stringify({ csrf_token: victim.token, message: 'x' }));
    expect(json.code).toBe('csrf_token_missing');
  });

  it('K5 no Content-Type at all (fetch no-cors with a Blob)', async () => {
    const { code } = await attempt('/echo', { method: 'POST', headers: { cookie: victim.cookie }, body: `csrf_token=${victim.token}&message=x` }, false);
    expect(code).toBe('csrf_token_missing');
  });

  it('R18 a multipart form with a file before its token, refused before the file is read', async () => {
    const body = part('file', 'x'.repeat(1_000_000), 'a.html') + part('csrf_token', victim.token) + `--${boundary}--\r\n`;
    const { status, code } = await post({ 'content-type': `multipart/form-data; boundary=${boundary}`, 'sec-fetch-site': 'same-origin' }, body);
    expect([status, code]).toEqual([403, 'csrf_token_missing_before_file']);
  });

  it('R19 a multipart preamble flood of small fields', async () => {
    const body = Array.from({ length: 5000 }, (_, index) => part(`f${index}`, 'x')).join('') + part('csrf_token', victim.token) + `--${boundary}--\r\n`;
    const { status, code } = await post({ 'content-type': `multipart/form-data; boundary=${boundary}`, 'sec-fetch-site': 'same-origin' }, body);
    expect([status, code]).toEqual([403, 'csrf_token_missing']);
  });

  it('R20 an oversized urlencoded body: 413 before the token is looked at', async () => {
    const { status, code } = await post({ 'sec-fetch-site': 'same-origin' }, `csrf_token=${victim.token}&message=${'x'.repeat(2 * 1024 * 1024)}`);
    expect([status, code]).toEqual([413, 'csrf_form_too_large']);
  });

  it.each(['PUT', 'DELETE', 'PATCH', 'PROPFIND'])('R21 %s without a token is checked, not skipped', async (method) => {
    const { status, code } = await attempt('/echo', { method, headers: { cookie: victim.cookie, 'sec-fetch-site': 'same-origin' } }, false);
    expect([status, code]).toEqual([403, 'csrf_token_missing']);
  });

  it('R22 a method override on GET', async () => {
    for (const headers of [{ 'x-http-method-override': 'POST' }, { 'x-http-method': 'DELETE' }]) {
      const { status, code } = await attempt('/echo', { method: 'GET', headers: { cookie: victim.cookie, ...headers } }, false);
      expect([status, code]).toEqual([400, 'csrf_method_override']);
    }
    const { status, code } = await attempt('/echo?_method=POST', { method: 'GET', headers: { cookie: victim.cookie } }, false);
    expect([status, code]).toEqual([400, 'csrf_method_override']);
  });

  it('R23 HEAD to the state-changing route changes nothing', async () => {
    const { status } = await attempt('/echo', { method: 'HEAD', headers: { cookie: victim.cookie } }, false);
    expect(status).toBe(404);
  });

  it('R26/R27 a refusal carries no token, binding or secret, and Vary on the signals', async () => {
    const { response } = await post({ 'sec-fetch-site': 'cross-site', 'x-csrf-token': victim.token }, `csrf_token=${victim.token}&message=x`);
    const text = await response.text();
    expect(text).not.toContain(victim.token);
    expect(text).not.toContain(victim.cookie.split('=')[1]);
    expect(response.headers.get('vary')).toContain('Sec-Fetch-Site');
    expect(response.headers.get('vary')).toContain('Origin');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('a page with a token is no-store, with a fresh token on every render (one per page)', async () => {
    const first = await target.request('/', { headers: { cookie: victim.cookie } });
    const second = await target.request('/', { headers: { cookie: victim.cookie } });
    expect(first.headers.get('cache-control')).toBe('no-store');
    const tokens = [...(await first.text()).matchAll(/name="csrf_token" value="([^"]+)"/g), ...(await second.text()).matchAll(/name="csrf_token" value="([^"]+)"/g)].map((match) => match[1]);
    // Three forms a page: one token a render, shared by the page's forms, fresh on every render.
    expect(tokens).toHaveLength(6);
    expect(new Set(tokens).size).toBe(2);
    expect(new Set(tokens.slice(0, 3)).size).toBe(1);
    // A browser that has a binding keeps it: no new cookie.
    expect(first.headers.getSetCookie()).toEqual([]);
  });

  it('the server keeps serving after all of the above', async () => {
    expect((await target.request('/')).status).toBe(200);
  });
});
