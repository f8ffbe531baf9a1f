/**
 * The Flask fixtures are what test/fixtures/flask/README.md says: each planted issue of
 * the violating app and its compliant counterpart, checked with plain HTTP requests.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flaskFormCredentials, startFlask, type FlaskFixture } from './flask.ts';

const CANARY = `aud1'"<aud1x>`;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function multipart(fields: Record<string, string>, file: { name: string; filename: string; content: string }): { headers: Record<string, string>; body: string } {
  const boundary = 'fixture-boundary-7d1c';
  const parts = Object.entries(fields).map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n${file.content}\r\n`);
  return { headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: `${parts.join('')}--${boundary}--\r\n` };
}

function cookieNamed(response: Response, name: string): string {
  const cookie = response.headers.getSetCookie().find((value) => value.startsWith(`${name}=`));
  if (cookie === undefined) throw new Error(`no ${name} cookie in ${JSON.stringify(response.headers.getSetCookie())}`);
  return cookie;
}

const SECURITY_HEADERS = [
  'content-security-policy',
  'x-frame-options',
  'x-content-type-options',
  'referrer-policy',
  'x-permitted-cross-domain-policies',
  'x-download-options',
  'strict-transport-security',
];

describe('compliant Flask fixture (HTTP)', () => {
  let app: FlaskFixture;
  beforeAll(async () => {
    app = await startFlask('compliant');
  });
  afterAll(() => app?.stop());

  it('runs Debian’s Flask stack', () => {
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Object.keys(app.versions)).toEqual(['flask', 'werkzeug', 'jinja2', 'flask-wtf', 'wtforms', 'flask-talisman']);
  });

  it('escapes q in text, in a quoted attribute and in an href, and drops javascript: hrefs', async () => {
    const page = await (await app.request(`/search?q=${encodeURIComponent(CANARY)}`)).text();
    expect(page).not.toContain('<aud1x>');
    expect(page).toContain('<h1>Results for aud1&#39;&#34;&lt;aud1x&gt;</h1>');
    expect(page).toContain('value="aud1&#39;&#34;&lt;aud1x&gt;"');
    for (const url of ['javascript:aud1', ' JaVa\tScript:aud1', 'data:text/html,aud1']) {
      const linked = await (await app.request(`/search?q=${encodeURIComponent(url)}`)).text();
      expect(linked).toContain('<a href="#">open');
    }
    expect(await (await app.request('/search?q=https%3A%2F%2Fexample.com%2F')).text()).toContain('<a href="https://example.com/">open');
  });

  it('sends the security headers, a fresh CSP nonce on each page, and no Server header', async () => {
    const first = await app.request('/');
    const second = await app.request('/');
    for (const name of SECURITY_HEADERS.filter((header) => header !== 'strict-transport-security')) expect(first.headers.get(name), name).not.toBeNull();
    const csp = first.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/^default-src 'self'; script-src 'strict-dynamic' 'nonce-[\w-]{32}'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'$/);
    const nonce = /'nonce-([\w-]+)'/.exec(csp)?.[1];
    expect(await first.text()).toContain(`<script nonce="${nonce}">`);
    expect(second.headers.get('content-security-policy')).not.toContain(nonce);
    expect(first.headers.get('x-frame-options')).toBe('DENY');
    expect(first.headers.get('x-xss-protection')).toBe('0');
    expect(first.headers.get('x-download-options')).toBe('noopen');
    expect(first.headers.get('x-permitted-cross-domain-policies')).toBe('none');
    expect(first.headers.get('public-key-pins')).toBeNull();
    expect(first.headers.get('server')).toBeNull();
    expect(first.headers.get('x-powered-by')).toBeNull();
    // HSTS only over HTTPS (Talisman): see the HTTPS suite.
    expect(first.headers.get('strict-transport-security')).toBeNull();
  });

  it('sets every cookie Secure, HttpOnly, SameSite=Lax', async () => {
    const response = await app.request('/');
    for (const name of ['session', 'remember']) {
      const cookie = cookieNamed(response, name);
      expect(cookie).toContain('; Secure');
      expect(cookie).toContain('; HttpOnly');
      expect(cookie).toContain('; SameSite=Lax');
    }
  });

  it('rejects a tokenless POST with 400 before validation, and changes state only for a valid, token-carrying one', async () => {
    const before = await app.state();
    const tokenless = await app.request('/post', { method: 'POST', headers: FORM, body: 'amount=5' });
    expect(tokenless.status).toBe(400);
    expect(await tokenless.text()).toContain('The CSRF token is missing.');
    // Talisman runs before CSRFProtect: even the rejection carries a nonce ('strict-dynamic' alone would block all scripts).
    expect(tokenless.headers.get('content-security-policy')).toContain("'nonce-");
    expect(await app.state()).toEqual(before);

    const { token, cookie } = await flaskFormCredentials(app);
    expect(token).toBeDefined();
    const invalid = await app.request('/post', { method: 'POST', headers: { ...FORM, cookie }, body: `csrf_token=${token}&amount=notanumber` });
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toContain('invalid form: amount: Not a valid integer value.');
    expect(await app.state()).toEqual(before);

    const valid = await app.request('/post', { method: 'POST', headers: { ...FORM, cookie }, body: `csrf_token=${token}&amount=5` });
    expect(valid.status).toBe(200);
    expect(await app.state()).toEqual({ ...before, posts_accepted: before['posts_accepted']! + 1, amount_total: before['amount_total']! + 5 });
  });

  it('stores uploads under a random name, only with a token, and serves them as attachments', async () => {
    const before = await app.state();
    const tokenless = multipart({}, { name: 'file', filename: '../../evil.txt', content: 'x' });
    expect((await app.request('/upload', { method: 'POST', ...tokenless })).status).toBe(400);
    expect(await app.state()).toEqual(before);

    const { token, cookie } = await flaskFormCredentials(app);
    const upload = multipart({ csrf_token: token ?? '' }, { name: 'file', filename: '../../evil.txt', content: 'uploaded text' });
    const stored = await app.request('/upload', { method: 'POST', headers: { ...upload.headers, cookie }, body: upload.body });
    expect(stored.status).toBe(201);
    const link = /href="(\/uploads\/[0-9a-f]{32}\.txt)"/.exec(await stored.text())?.[1];
    expect(link).toBeDefined();
    const served = await app.request(link ?? '/');
    expect(served.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(await served.text()).toBe('uploaded text');
    expect(await app.state()).toEqual({ ...before, uploads_stored: before['uploads_stored']! + 1 });
  });

  it('does not traverse out of files/ (send_from_directory)', async () => {
    const report = await app.request('/download?file=report.txt');
    expect(report.status).toBe(200);
    expect(report.headers.get('content-disposition')).toMatch(/^attachment;/);
    for (const path of ['/download?file=../files/report.txt', '/download?file=..%2ffiles%2freport.txt', '/download?file=../secret.txt', '/files/..%2ffiles%2freport.txt', '/files/../secret.txt']) {
      expect((await app.request(path)).status, path).toBe(404);
    }
    expect((await app.request('/files/report.txt')).status).toBe(200);
  });

  it('answers /error with a generic 500 page that keeps the headers', async () => {
    const response = await app.request('/error');
    expect(response.status).toBe(500);
    const page = await response.text();
    expect(page).not.toMatch(/__debugger__|Werkzeug Debugger|Traceback/);
    expect(response.headers.get('content-security-policy')).toContain("'nonce-");
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('violating Flask fixture (HTTP)', () => {
  let app: FlaskFixture;
  beforeAll(async () => {
    app = await startFlask('violating');
  });
  afterAll(() => app?.stop());

  it('reflects q raw in text, unquoted in an attribute, and unchecked in an href', async () => {
    const page = await (await app.request(`/search?q=${encodeURIComponent(CANARY)}`)).text();
    expect(page).toContain(`<h1>Results for ${CANARY}</h1>`);
    expect(page).toContain('value=aud1&#39;&#34;&lt;aud1x&gt;>');
    expect(await (await app.request('/search?q=javascript:aud1')).text()).toContain('<a href="javascript:aud1">');
  });

  it('sends no security header, but retired ones and version leaks', async () => {
    const response = await app.request('/');
    for (const name of SECURITY_HEADERS) expect(response.headers.get(name), name).toBeNull();
    expect(response.headers.get('x-xss-protection')).toBe('1; mode=block');
    expect(response.headers.get('public-key-pins')).toMatch(/^pin-sha256=/);
    expect(response.headers.get('server')).toMatch(/^Werkzeug\/\d+\.\d+\.\d+ Python\/\d/);
    expect(response.headers.get('x-powered-by')).toMatch(/^Flask\/\d/);
  });

  it('sets a session cookie without Secure and HttpOnly, and a remember cookie without SameSite', async () => {
    const response = await app.request('/');
    const session = cookieNamed(response, 'session');
    expect(session).not.toMatch(/; Secure|; HttpOnly/);
    expect(session).toContain('; SameSite=Lax');
    const remember = cookieNamed(response, 'remember');
    expect(remember).toContain('; Secure');
    expect(remember).toContain('; HttpOnly');
    expect(remember).not.toContain('SameSite');
  });

  it('has POST forms without a token and accepts a tokenless cross-site POST; an invalid body changes nothing', async () => {
    const page = await (await app.request('/')).text();
    expect(page).toContain('<form method="post" action="/post">');
    expect(page).not.toContain('csrf_token');

    const before = await app.state();
    const crossSite = { ...FORM, origin: 'https://aud-probe.invalid', 'sec-fetch-site': 'cross-site' };
    const invalid = await app.request('/post', { method: 'POST', headers: crossSite, body: 'amount=notanumber' });
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toContain('invalid form: amount: Not a valid integer value.');
    expect(await app.state()).toEqual(before);

    const valid = await app.request('/post', { method: 'POST', headers: crossSite, body: 'amount=5' });
    expect(valid.status).toBe(200);
    expect(await app.state()).toEqual({ ...before, posts_accepted: before['posts_accepted']! + 1, amount_total: before['amount_total']! + 5 });
  });

  it('traverses out of files/ with a dir-echo (same body), and reads a file outside it', async () => {
    const report = await (await app.request('/download?file=report.txt')).text();
    expect(report).toContain('Quarterly report');
    for (const path of ['/download?file=../files/report.txt', '/download?file=..%2ffiles%2freport.txt', '/files/..%2ffiles%2freport.txt', '/files/../files/report.txt']) {
      const response = await app.request(path);
      expect(response.status, path).toBe(200);
      expect(await response.text(), path).toBe(report);
    }
    expect(await (await app.request('/download?file=../secret.txt')).text()).toContain('PLANTED-SECRET');
    expect(await (await app.request('/files/..%2fsecret.txt')).text()).toContain('PLANTED-SECRET');
    // A random directory in the path is not a dir-echo: the file is not found (POSIX).
    expect((await app.request('/download?file=aud1/../report.txt')).status).toBe(404);
  });

  it('stores uploads under the client’s name (escaping the upload directory) and serves them inline', async () => {
    const before = await app.state();
    const html = multipart({}, { name: 'file', filename: 'page.html', content: '<p>uploaded</p>' });
    expect((await app.request('/upload', { method: 'POST', ...html })).status).toBe(201);
    const served = await app.request('/uploads/page.html');
    expect(served.headers.get('content-type')).toMatch(/^text\/html/);
    expect(served.headers.get('content-disposition') ?? 'inline').toMatch(/^inline/);

    const escaping = multipart({}, { name: 'file', filename: '../escaped.txt', content: 'x' });
    expect((await app.request('/upload', { method: 'POST', ...escaping })).status).toBe(201);
    expect(await app.state()).toEqual({ ...before, uploads_stored: before['uploads_stored']! + 2, uploads_outside_upload_dir: before['uploads_outside_upload_dir']! + 1 });

    // The fixture's own guard: nothing is written outside its sandbox.
    const outside = multipart({}, { name: 'file', filename: '../../../../../../../../tmp/rampart-evil.txt', content: 'x' });
    expect((await app.request('/upload', { method: 'POST', ...outside })).status).toBe(403);
  });

  it('shows the Werkzeug debugger on /error', async () => {
    const response = await app.request('/error');
    expect(response.status).toBe(500);
    const page = await response.text();
    expect(page).toContain('__debugger__');
    expect(page).toContain('Werkzeug Debugger');
    expect(page).toContain('EVALEX = false');
  });

  it('counts requests per route without counting them as state', async () => {
    const before = await app.state();
    const seen = await app.requests();
    await app.request('/search?q=x');
    expect(await app.state()).toEqual(before);
    expect((await app.requests())['GET /search']).toBe((seen['GET /search'] ?? 0) + 1);
  });
});

describe('Flask fixtures over HTTPS', () => {
  let compliant: FlaskFixture;
  let violating: FlaskFixture;
  beforeAll(async () => {
    [compliant, violating] = await Promise.all([startFlask('compliant', { https: true }), startFlask('violating', { https: true })]);
  });
  afterAll(() => Promise.all([compliant?.stop(), violating?.stop()]));

  it('compliant: HSTS on HTTPS, and the HTTP port redirects to HTTPS', async () => {
    expect(compliant.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(compliant.ca).toContain('BEGIN CERTIFICATE');
    const page = await compliant.request('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains; preload');
    const redirect = await compliant.request(`${compliant.httpUrl}/search?q=a%20b`);
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe(`${compliant.url}/search?q=a%20b`);
  });

  it('compliant: Flask-WTF also wants a same-origin Referer on HTTPS', async () => {
    const { token, cookie } = await flaskFormCredentials(compliant);
    const body = `csrf_token=${token}&amount=notanumber`;
    const noReferer = await compliant.request('/post', { method: 'POST', headers: { ...FORM, cookie }, body });
    expect(await noReferer.text()).toContain('The referrer header is missing.');
    const withReferer = await compliant.request('/post', { method: 'POST', headers: { ...FORM, cookie, referer: `${compliant.url}/` }, body });
    expect(await withReferer.text()).toContain('invalid form: amount: Not a valid integer value.');
  });

  it('violating: no HSTS, and the HTTP port serves the app', async () => {
    const page = await violating.request('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('strict-transport-security')).toBeNull();
    const plain = await violating.request(`${violating.httpUrl}/`);
    expect(plain.status).toBe(200);
    expect(cookieNamed(plain, 'session')).not.toContain('Secure');
  });
});
