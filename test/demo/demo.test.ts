/**
 * The status feed (demo/) over HTTP: every flow of issue 7, its refusals, persistence
 * across restarts, and a crash in the middle of an upload. The browser tests drive the
 * same app in Chromium.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, listen, rawRequest } from '../support/targets.ts';

const ORIGIN = 'https://feed.test';
const KEY = 'nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s';
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d1a9b00000000049454e44ae426082',
  'hex',
);
const directories: string[] = [];

function temporaryDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'rampart-demo-test-'));
  directories.push(directory);
  return directory;
}

afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

interface DemoModule {
  createDemo(options: { dataDir: string; origin: string; mode?: string; keys?: string[]; logger?: { warn(message: string): void } }): {
    app: Parameters<typeof createServer>[1];
    close(): void;
  };
}

async function startDemo(dataDir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const entry = '../../demo/app.mjs';
  const { createDemo } = (await import(/* @vite-ignore */ entry)) as DemoModule;
  // Development mode: these tests speak plain HTTP on loopback (production would redirect to HTTPS).
  const demo = createDemo({ dataDir, origin: ORIGIN, mode: 'development', keys: [KEY], logger: { warn: () => {} } });
  const server: Server = createServer(demo.app);
  const url = await listen(server);
  return {
    url,
    async stop() {
      await closeServer(server);
      demo.close();
    },
  };
}

/** Files under `directory`, relative, sorted. */
function filesUnder(directory: string): string[] {
  const found: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(current, entry.name));
      else found.push(relative(directory, join(current, entry.name)));
    }
  };
  walk(directory);
  return found.sort();
}

/** A client with a cookie jar that submits the site's own forms, as a same-origin browser would. */
class Visitor {
  readonly #base: string;
  readonly cookies = new Map<string, string>();
  lastPage = '';

  constructor(base: string) {
    this.#base = base;
  }

  #cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  #remember(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      if (attributes.some((attribute) => /max-age=0|expires=thu, 01 jan 1970/i.test(attribute.trim()))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(path: string): Promise<Response> {
    const response = await rawRequest(this.#base, path, { headers: { host: 'feed.test', cookie: this.#cookieHeader() } });
    this.#remember(response);
    this.lastPage = await response.clone().text();
    return response;
  }

  token(page = this.lastPage): string {
    const token = /name="csrf_token" value="([^"]+)"/.exec(page)?.[1];
    if (!token) throw new Error('no csrf_token on the page');
    return token;
  }

  /** Posts a urlencoded form with the token of the last page. */
  async post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    const body = new URLSearchParams({ csrf_token: this.token(), ...fields }).toString();
    return this.#send(path, 'application/x-www-form-urlencoded', Buffer.from(body), headers);
  }

  /** Posts the multipart status form (token first, as the page orders it). */
  async postStatus(text: string, attachment?: { name: string; type: string; content: Buffer }, headers: Record<string, string> = {}): Promise<Response> {
    const boundary = '----feedTestBoundary3xW9';
    const parts: Buffer[] = [
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n${this.token()}\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n${text}\r\n`),
    ];
    if (attachment) {
      parts.push(
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="attachment"; filename="${attachment.name}"\r\nContent-Type: ${attachment.type}\r\n\r\n`),
        attachment.content,
        Buffer.from('\r\n'),
      );
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    return this.#send('/statuses', `multipart/form-data; boundary=${boundary}`, Buffer.concat(parts), headers);
  }

  async #send(path: string, type: string, body: Buffer, headers: Record<string, string>): Promise<Response> {
    const response = await rawRequest(this.#base, path, {
      method: 'POST',
      headers: { host: 'feed.test', origin: ORIGIN, 'sec-fetch-site': 'same-origin', cookie: this.#cookieHeader(), 'content-type': type, ...headers },
      body: new Uint8Array(body),
    });
    this.#remember(response);
    return response;
  }

  async register(username: string, password = 'correct horse battery'): Promise<Response> {
    await this.get('/register');
    return this.post('/register', { username, password });
  }
}

describe('the status feed', () => {
  let dataDir: string;
  let demo: { url: string; stop(): Promise<void> };

  beforeAll(async () => {
    dataDir = temporaryDirectory();
    demo = await startDemo(dataDir);
  });
  afterAll(() => demo.stop());

  it('registers, shows the post form only when logged in, and rotates the session on login', async () => {
    const alice = new Visitor(demo.url);
    await alice.get('/');
    expect(alice.lastPage).not.toContain('name="text"');
    const registered = await alice.register('alice');
    expect(registered.status).toBe(303);
    await alice.get('/');
    expect(alice.lastPage).toContain('@alice');
    expect(alice.lastPage).toContain('name="text"');
    const first = alice.cookies.get('__Host-session');
    await alice.post('/logout', {});
    expect(alice.cookies.has('__Host-session')).toBe(false);
    await alice.get('/login');
    const loggedIn = await alice.post('/login', { username: 'ALICE', password: 'correct horse battery' });
    expect(loggedIn.status).toBe(303);
    expect(alice.cookies.get('__Host-session')).not.toBe(first);
  });

  it('refuses bad registrations and logins with a clear message, the same for an unknown user and a wrong password', async () => {
    const visitor = new Visitor(demo.url);
    expect((await visitor.register('a!')).status).toBe(422);
    expect((await visitor.register('bob', 'short')).status).toBe(422);
    expect((await visitor.register('bob')).status).toBe(303);
    const other = new Visitor(demo.url);
    const taken = await other.register('BOB');
    expect(taken.status).toBe(409);
    expect(await taken.text()).toContain('That username is taken.');
    await other.get('/login');
    const wrong = await other.post('/login', { username: 'bob', password: 'not the password' });
    const unknown = await other.post('/login', { username: 'nobody', password: 'not the password' });
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(await wrong.text()).toContain('Wrong username or password.');
    expect(await unknown.text()).toContain('Wrong username or password.');
  });

  it('posts statuses as text (an XSS payload included), with an inline image or a downloadable file', async () => {
    const carol = new Visitor(demo.url);
    await carol.register('carol');
    await carol.get('/');
    const payload = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    expect((await carol.postStatus(payload)).status).toBe(303);
    await carol.get('/');
    expect(carol.lastPage).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(carol.lastPage).not.toContain('<script>alert(1)');

    expect((await carol.postStatus('a picture', { name: 'dot.png', type: 'image/png', content: PNG })).status).toBe(303);
    await carol.get('/');
    const image = /<img src="\/attachments\/([0-9a-f]{32})"/.exec(carol.lastPage)?.[1];
    expect(image).toBeDefined();
    const served = await carol.get(`/attachments/${image}`);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(served.headers.get('content-disposition')).toMatch(/^inline;/);
    expect(served.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(Buffer.from(await served.arrayBuffer())).toEqual(PNG);

    await carol.get('/');
    const page = Buffer.from('<!doctype html><script>alert(document.cookie)</script>');
    expect((await carol.postStatus('a page', { name: 'page.html', type: 'text/html', content: page })).status).toBe(303);
    await carol.get('/');
    const download = /<a href="\/attachments\/([0-9a-f]{32})" download="page.html">/.exec(carol.lastPage)?.[1];
    expect(download).toBeDefined();
    const file = await carol.get(`/attachments/${download}`);
    expect(file.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(file.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(file.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('refuses empty, long and oversized posts with a message, keeping no file', async () => {
    const dave = new Visitor(demo.url);
    await dave.register('dave');
    await dave.get('/');
    const committed = (): string[] => filesUnder(join(dataDir, 'uploads')).filter((path) => !path.startsWith('incoming/'));
    const before = committed();
    const empty = await dave.postStatus('   ', { name: 'a.png', type: 'image/png', content: PNG });
    expect(empty.status).toBe(422);
    expect(await empty.text()).toContain('Write something first.');
    const long = await dave.postStatus('é'.repeat(501));
    expect(long.status).toBe(422);
    expect(await long.text()).toContain('at most 500 characters');
    expect((await dave.postStatus('é'.repeat(500))).status).toBe(303);
    await dave.get('/');
    const big = await dave.postStatus('big', { name: 'big.png', type: 'image/png', content: Buffer.concat([PNG, Buffer.alloc(5 * 1024 * 1024)]) });
    expect(big.status).toBe(413);
    expect(await big.text()).toContain('That file is too large');
    const exe = await dave.postStatus('a program', { name: 'x.exe', type: 'application/octet-stream', content: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]) });
    expect(exe.status).toBe(415);
    expect(committed()).toEqual(before);
    expect(filesUnder(join(dataDir, 'uploads', 'incoming'))).toEqual([]);
  });

  it('deletes only your own statuses, with their attachment', async () => {
    const erin = new Visitor(demo.url);
    await erin.register('erin');
    await erin.get('/');
    await erin.postStatus('mine', { name: 'dot.png', type: 'image/png', content: PNG });
    await erin.get('/u/erin');
    const id = /id="status-(\d+)"/.exec(erin.lastPage)![1]!;
    const attachment = /\/attachments\/([0-9a-f]{32})/.exec(erin.lastPage)![1]!;
    expect(erin.lastPage).toContain(`action="/statuses/${id}/delete"`);

    const frank = new Visitor(demo.url);
    await frank.register('frank');
    await frank.get('/');
    expect(frank.lastPage).not.toContain(`action="/statuses/${id}/delete"`);
    expect((await frank.post(`/statuses/${id}/delete`, {})).status).toBe(404);
    expect((await erin.get('/u/erin')).status).toBe(200);
    expect(erin.lastPage).toContain(`id="status-${id}"`);

    expect((await erin.post(`/statuses/${id}/delete`, {})).status).toBe(303);
    await erin.get('/u/erin');
    expect(erin.lastPage).not.toContain(`id="status-${id}"`);
    expect((await erin.get(`/attachments/${attachment}`)).status).toBe(404);
  });

  it('refuses a post from a logged-out visitor and from another site, changing nothing', async () => {
    const grace = new Visitor(demo.url);
    await grace.register('grace');
    await grace.get('/');
    const count = async (): Promise<number> => ((await grace.get('/u/grace')) && grace.lastPage.match(/class="status"/g)?.length) ?? 0;
    await grace.get('/');
    const crossSite = await grace.postStatus('forged', undefined, { origin: 'https://evil.test', 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    await grace.get('/');
    const noToken = await rawRequest(demo.url, '/statuses', {
      method: 'POST',
      headers: { host: 'feed.test', origin: ORIGIN, cookie: [...grace.cookies].map(([name, value]) => `${name}=${value}`).join('; '), 'content-type': 'application/x-www-form-urlencoded' },
      body: new TextEncoder().encode('text=forged'),
    });
    expect(noToken.status).toBe(403);
    expect(await count()).toBe(0);
    const stranger = new Visitor(demo.url);
    await stranger.get('/login');
    expect((await stranger.postStatus('anonymous')).status).toBe(401);
  });

  it('does not take a session cookie back after logout', async () => {
    const heidi = new Visitor(demo.url);
    await heidi.register('heidi');
    const stolen = heidi.cookies.get('__Host-session')!;
    await heidi.get('/');
    await heidi.post('/logout', {});
    const replay = new Visitor(demo.url);
    replay.cookies.set('__Host-session', stolen);
    await replay.get('/');
    expect(replay.lastPage).not.toContain('action="/logout"');
    expect(replay.lastPage).toContain('href="/login"');
  });

  it('pages the feed, newest first, 20 at a time', async () => {
    const ivan = new Visitor(demo.url);
    await ivan.register('ivan');
    await ivan.get('/');
    for (let index = 1; index <= 45; index++) {
      const response = await ivan.postStatus(`numbered ${index}`);
      expect(response.status).toBe(303);
    }
    const seen: string[] = [];
    let path: string | undefined = '/u/ivan';
    while (path) {
      await ivan.get(path);
      seen.push(...[...ivan.lastPage.matchAll(/numbered (\d+)/g)].map((match) => match[1]!));
      path = /<a href="([^"]+)" rel="next">/.exec(ivan.lastPage)?.[1]?.replaceAll('&amp;', '&');
    }
    expect(seen).toEqual(Array.from({ length: 45 }, (_, index) => String(45 - index)));
  });

  it('answers another method on a known path with 405 and Allow, HEAD like GET, and unknown or malformed paths with 404', async () => {
    const visitor = new Visitor(demo.url);
    const getLogout = await visitor.get('/logout');
    expect(getLogout.status).toBe(405);
    expect(getLogout.headers.get('allow')).toBe('POST');
    await visitor.get('/login');
    // A POST passes CSRF protection (it carries a token) before the app answers 405.
    const postFeed = await visitor.post('/', {});
    expect(postFeed.status).toBe(405);
    expect(postFeed.headers.get('allow')).toBe('GET, HEAD');
    const head = await rawRequest(demo.url, '/login', { method: 'HEAD', headers: { host: 'feed.test' } });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await head.text()).toBe('');
    // The absolute form of the request target, as a proxy sends it.
    const absolute = await rawRequest(demo.url, 'http://feed.test/login?x=1', { headers: { host: 'feed.test' } });
    expect(absolute.status).toBe(200);
    expect(await absolute.text()).toContain('<h1>Log in</h1>');
    for (const path of ['/nope', '/u/', '/u/%E0%A4%A', '/u/nobody', `/u/${'x'.repeat(5000)}`, '/statuses/1/delete/x', '/static/', '/attachments/../../db.mjs', '/attachments/x']) {
      expect([path, (await visitor.get(path)).status]).toEqual([path, 404]);
    }
    // A way out of the stylesheet's folder is refused as such (rampart's staticFiles).
    const traversal = await visitor.get('/static/..%2fapp.mjs');
    expect(traversal.status).toBe(400);
    expect(visitor.lastPage).toContain('path_traversal');
    expect((await visitor.get('/static/style.css')).status).toBe(200);
  });

  it('shows what another process sharing the database wrote, and honours its logouts, from the next request on', async () => {
    // Two apps on one data directory: what node:cluster's workers are.
    const second = await startDemo(dataDir);
    try {
      const mallory = new Visitor(demo.url);
      await mallory.register('mallory');
      await mallory.get('/');
      const elsewhere = new Visitor(second.url);
      await elsewhere.get('/');
      const before = elsewhere.lastPage;
      expect((await mallory.postStatus('written by the first process')).status).toBe(303);
      await elsewhere.get('/');
      expect(before).not.toContain('written by the first process');
      expect(elsewhere.lastPage).toContain('written by the first process');
      // The session cookie works on both, until a logout on the first.
      const cookie = mallory.cookies.get('__Host-session')!;
      const copy = new Visitor(second.url);
      copy.cookies.set('__Host-session', cookie);
      await copy.get('/');
      expect(copy.lastPage).toContain('action="/logout"');
      await mallory.get('/');
      await mallory.post('/logout', {});
      await copy.get('/');
      expect(copy.lastPage).not.toContain('action="/logout"');
    } finally {
      await second.stop();
    }
  });

  it('keeps its data and its revocations across a restart', async () => {
    const judy = new Visitor(demo.url);
    await judy.register('judy');
    await judy.get('/');
    await judy.postStatus('before the restart');
    const old = judy.cookies.get('__Host-session')!;
    await judy.get('/');
    await judy.post('/logout', {});
    await demo.stop();
    demo = await startDemo(dataDir);
    const later = new Visitor(demo.url);
    await later.get('/u/judy');
    expect(later.lastPage).toContain('before the restart');
    later.cookies.set('__Host-session', old);
    await later.get('/');
    expect(later.lastPage).not.toContain('action="/logout"');
    expect(later.lastPage).toContain('href="/login"');
  });
});

describe('npm start (demo/server.mjs)', () => {
  function start(env: Record<string, string>): ChildProcess {
    return spawn(process.execPath, ['demo/server.mjs'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  function output(child: ChildProcess, pattern: RegExp): Promise<string> {
    return new Promise((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`no ${pattern} in: ${text}`)), 20_000);
      const onData = (chunk: Buffer): void => {
        text += chunk;
        if (pattern.test(text)) {
          clearTimeout(timer);
          resolve(text);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
    });
  }

  it('refuses production mode without keys, saying how to fix it', async () => {
    const child = start({ NODE_ENV: 'production', RAMPART_KEYS: '', DATA_DIR: temporaryDirectory(), PORT: '0' });
    const text = await output(child, /RAMPART_KEYS/);
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(text).toMatch(/needs RAMPART_KEYS.*and ORIGIN/s);
  });

  it('leaves no file behind when killed in the middle of an upload, or between storing a file and recording its status', async () => {
    const dataDir = temporaryDirectory();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const env = { NODE_ENV: '', DATA_DIR: dataDir, PORT: String(port), RAMPART_KEYS: KEY, ORIGIN: `http://localhost:${port}` };
    const first = start(env);
    await output(first, /status feed on/);
    const visitor = new Visitor(`http://127.0.0.1:${port}`);
    await visitor.register('kim');
    await visitor.get('/');
    const boundary = 'killTestBoundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n${visitor.token()}\r\n--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nhi\r\n--${boundary}\r\nContent-Disposition: form-data; name="attachment"; filename="big.png"\r\n\r\n`;
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const cookie = [...visitor.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    socket.write(
      `POST /statuses HTTP/1.1\r\nHost: feed.test\r\nOrigin: ${env.ORIGIN}\r\nSec-Fetch-Site: same-origin\r\nCookie: ${cookie}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 4000000\r\n\r\n`,
    );
    socket.write(head);
    socket.write(Buffer.concat([PNG, Buffer.alloc(256 * 1024)]));
    socket.on('error', () => {});
    await expect.poll(() => filesUnder(join(dataDir, 'uploads', 'incoming')).length, { timeout: 10_000 }).toBe(1);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.on('exit', resolve));
    socket.destroy();
    expect(filesUnder(join(dataDir, 'uploads', 'incoming'))).toHaveLength(1);
    // And a file committed just before a crash, whose status was never recorded.
    const orphan = 'ab'.repeat(16);
    mkdirSync(join(dataDir, 'uploads', 'ab'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, 'uploads', 'ab', orphan), PNG, { mode: 0o600 });
    writeFileSync(join(dataDir, 'uploads', 'ab', `${orphan}.json`), JSON.stringify({ id: orphan, type: 'image/png', size: PNG.length, name: 'x.png', field: 'attachment', created: Date.now() }), { mode: 0o600 });
    const second = start(env);
    await output(second, /status feed on/);
    expect(filesUnder(join(dataDir, 'uploads'))).toEqual([]);
    second.kill('SIGTERM');
    await new Promise((resolve) => second.on('exit', resolve));
  });
});
