/**
 * Sealed cookie sessions, judged by the browser that keeps the cookie: headless
 * Chromium against the real reference app of every adapter (see DESIGN.md, "Testing
 * stance").
 *
 * The app is reached over HTTPS (a `__Host-` cookie is Secure) at `https://app.test`,
 * and an attacker's page is served from `https://evil.test`: Chromium resolves both
 * names to 127.0.0.1, so they are two different sites to it (a site is the scheme and
 * the registrable domain; ports do not count). Between the HTTPS front and the app,
 * a recorder notes which requests arrived with the session cookie, so what the
 * browser sent is seen at the server, not guessed from the outcome.
 *
 * Every protection is tested next to a control that shows the test can observe it
 * failing.
 */

import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Cookie, Page } from 'playwright-core';
import { launchChromium, startFront, type Front } from '../support/browser.ts';
import { ADAPTERS, closeServer, listen, rawRequest, startTarget, testOptions, type Target } from '../support/targets.ts';

const SESSION_COOKIE = '__Host-session';
const APP_HOST = 'app.test';
const ATTACKER_HOST = 'evil.test';
/** `.test` is reserved (RFC 6761): no real DNS answers for it and no HSTS preload covers it. */
const HOST_RESOLVER_RULES = `--host-resolver-rules=MAP ${APP_HOST} 127.0.0.1, MAP ${ATTACKER_HOST} 127.0.0.1`;

/** A request as the app received it. */
interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  /** The request's `Cookie` header, if it had one. */
  readonly cookie: string | undefined;
}

/** A plain-HTTP proxy in front of a target that remembers every request it forwards. */
interface Recorder {
  readonly url: string;
  readonly received: ReceivedRequest[];
  close(): Promise<void>;
}



async function startRecorder(targetUrl: string): Promise<Recorder> {
  const target = new URL(targetUrl);
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    received.push({ method: req.method ?? '', path: req.url ?? '', cookie: req.headers.cookie });
    const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  const url = await listen(server);
  return { url, received, close: () => closeServer(server) };
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The attacker's site: `/?action=<url>&user=<name>` is a page that posts a form with a
 * `user` field to `action` as soon as it loads, as a CSRF page does.
 */
function serveForgedForms(req: IncomingMessage, res: ServerResponse): void {
  const query = new URL(req.url ?? '/', 'http://attacker').searchParams;
  const action = escapeAttribute(query.get('action') ?? '');
  const user = escapeAttribute(query.get('user') ?? '');
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html>
<title>another site</title>
<form id="forged" method="post" action="${action}"><input type="hidden" name="user" value="${user}"></form>
<script>document.getElementById('forged').submit();</script>
`);
}

/** `https://<host>:<port of the front>`: the front, under the name Chromium maps to 127.0.0.1. */
function named(front: Front, host: string): string {
  return `https://${host}:${new URL(front.url).port}`;
}

function carriesSession(request: ReceivedRequest): boolean {
  return (request.cookie ?? '').split(';').some((pair) => pair.trim().startsWith(`${SESSION_COOKIE}=`));
}

let browser: Browser | undefined;
/** Why Chromium did not start: every test fails with it (a failing hook would only mark them skipped). */
let launchError: unknown;
let attackerServer: Server | undefined;
let attackerFront: Front | undefined;
let attackerOrigin: string;

beforeAll(async () => {
  attackerServer = createServer(serveForgedForms);
  [browser, attackerFront] = await Promise.all([
    launchChromium([HOST_RESOLVER_RULES]).catch((error: unknown) => {
      launchError = error;
      return undefined;
    }),
    listen(attackerServer).then((url) => startFront(url, { https: true })),
  ]);
  attackerOrigin = named(attackerFront, ATTACKER_HOST);
});

afterAll(async () => {
  await Promise.all([browser?.close(), attackerFront?.close(), attackerServer && closeServer(attackerServer)]);
});

describe.each(ADAPTERS)('%s adapter, in Chromium', (adapter) => {
  let target: Target;
  let recorder: Recorder;
  let front: Front;
  /** `https://app.test:<port>`: the app as the browser reaches it. */
  let app: string;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    target = await startTarget(adapter, testOptions());
    recorder = await startRecorder(target.url);
    front = await startFront(recorder.url, { https: true });
    app = named(front, APP_HOST);
  });

  afterAll(async () => {
    await front?.close();
    await Promise.all([recorder?.close(), target?.close()]);
  });

  beforeEach(async () => {
    if (!browser) throw launchError instanceof Error ? launchError : new Error(`Chromium did not start: ${String(launchError)}`);
    // ignoreHTTPSErrors: the HTTPS fronts have a throwaway self-signed certificate for 127.0.0.1.
    context = await browser.newContext({ ignoreHTTPSErrors: true });
    // A clear Playwright error instead of the test's 30-second timeout when a page never comes.
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    recorder.received.length = 0;
  });

  afterEach(async () => {
    await context?.close();
  });

  /** Logs in with the home page's form, as a person would, and returns the session cookie. */
  async function logIn(user: string): Promise<Cookie> {
    await page.goto(`${app}/`);
    await page.fill('input[name="user"]', user);
    await page.click('form[action="/login"] button');
    await page.waitForURL(`${app}/me`);
    expect(await page.textContent('#user')).toBe(user);
    const cookie = await sessionCookie();
    expect(cookie, `the browser keeps ${SESSION_COOKIE} after logging in`).toBeDefined();
    return cookie!;
  }

  async function sessionCookie(): Promise<Cookie | undefined> {
    return (await context.cookies(app)).find((cookie) => cookie.name === SESSION_COOKIE);
  }

  /** Loads /me in the browser: its status and the user it names. */
  async function whoAmI(): Promise<{ status: number | undefined; user: string | null }> {
    const response = await page.goto(`${app}/me`);
    const user = response?.status() === 200 ? await page.textContent('#user') : null;
    return { status: response?.status(), user };
  }

  /** What /me says to a request carrying `cookie`, sent straight to the app, past the browser. */
  async function replay(cookie: Cookie): Promise<{ status: number; user: string | undefined }> {
    const response = await rawRequest(target.url, '/me', { headers: { cookie: `${cookie.name}=${cookie.value}` } });
    const user = /<strong id="user">([^<]*)<\/strong>/.exec(await response.text())?.[1];
    return { status: response.status, user };
  }

  /**
   * Opens the attacker's page, which posts `user` to `action` on the app; waits for the
   * app's answer to load, and returns the POSTs to `action` the app received meanwhile.
   */
  async function forgeFrom(attacker: string, action: string, user: string, landing: string): Promise<ReceivedRequest[]> {
    recorder.received.length = 0;
    const query = new URLSearchParams({ action: `${app}${action}`, user });
    // The page navigates away while loading: wait for its commit only, then for the app's page.
    await page.goto(`${attacker}/?${query}`, { waitUntil: 'commit' });
    await page.waitForURL(`${app}${landing}`);
    return receivedFor('POST', action);
  }

  /** The requests the app received for `method path`. */
  function receivedFor(method: string, path: string): ReceivedRequest[] {
    return recorder.received.filter((request) => request.method === method && request.path === path);
  }

  test('the session survives navigation, and the logout form of /me ends it', async () => {
    const cookie = await logIn('alice');

    const home = await page.goto(`${app}/`);
    expect(home?.status()).toBe(200);
    expect(await whoAmI(), 'a fresh navigation to /me').toEqual({ status: 200, user: 'alice' });
    expect(await replay(cookie), 'the cookie alone names the user').toEqual({ status: 200, user: 'alice' });

    await page.click('button');
    await page.waitForURL(`${app}/`);
    expect(receivedFor('POST', '/logout').map(carriesSession), 'the same-site logout form sent the cookie').toEqual([true]);
    expect(await sessionCookie(), 'logout deletes the cookie').toBeUndefined();
    expect(await whoAmI()).toEqual({ status: 401, user: null });
    expect(await replay(cookie), 'the old cookie is revoked, not only deleted').toEqual({ status: 401, user: undefined });
  });

  test('document.cookie cannot read the session cookie: the jar holds it HttpOnly, Secure, SameSite=Lax, host-only', async () => {
    await logIn('alice');

    const visible = await page.evaluate(() => {
      document.cookie = 'probe=1; Secure; SameSite=Lax';
      return document.cookie;
    });
    expect(visible, 'control: the page reads a cookie that is not HttpOnly').toContain('probe=1');
    expect(visible).not.toContain(SESSION_COOKIE);

    expect(await sessionCookie()).toMatchObject({ domain: APP_HOST, path: '/', httpOnly: true, secure: true, sameSite: 'Lax', expires: -1 });
    expect((await context.cookies(app)).map((cookie) => cookie.name).sort()).toEqual(['__Host-csrf', SESSION_COOKIE, 'probe'].sort());
  });

  test('a cross-site form posting to /logout arrives without the cookie: the victim stays logged in', async () => {
    const cookie = await logIn('alice');

    // CSRF protection refuses it too (403, on /logout): SameSite is the first of two walls.
    const forged = await forgeFrom(attackerOrigin, '/logout', 'mallory', '/logout');
    expect(forged, 'the forged request reached the app').toHaveLength(1);
    expect(forged.map(carriesSession)).toEqual([false]);
    expect(await sessionCookie(), 'the answer to a request without a session changes no cookie').toEqual(cookie);
    expect(await whoAmI()).toEqual({ status: 200, user: 'alice' });
  });

  test('control: the same cross-site form does carry a SameSite=None cookie, and CSRF protection still refuses it', async () => {
    const cookie = await logIn('alice');
    await context.addCookies([{ name: cookie.name, value: cookie.value, url: app, secure: true, httpOnly: true, sameSite: 'None' }]);
    expect(await sessionCookie()).toMatchObject({ value: cookie.value, sameSite: 'None' });

    const forged = await forgeFrom(attackerOrigin, '/logout', 'mallory', '/logout');
    expect(forged.map(carriesSession), 'the recorder sees a cookie when one is sent').toEqual([true]);
    expect(await page.textContent('code')).toBe('csrf_cross_site');
    expect(await whoAmI()).toEqual({ status: 200, user: 'alice' });
  });

  test("a cross-site form posting to /login arrives without the victim's cookie, and is refused: no login CSRF", async () => {
    const cookie = await logIn('alice');

    const forged = await forgeFrom(attackerOrigin, '/login', 'mallory', '/login');
    expect(forged, 'the forged login reached the app').toHaveLength(1);
    expect(forged.map(carriesSession)).toEqual([false]);
    expect(await replay(cookie)).toEqual({ status: 200, user: 'alice' });
    // SameSite alone cannot stop login CSRF: it limits which requests carry a cookie, not
    // which responses may set one, and Chromium keeps the Set-Cookie of a top-level
    // navigation from another site. CSRF protection refuses the forged POST, so the
    // browser keeps the victim's own session.
    expect(await page.textContent('code')).toBe('csrf_cross_site');
    expect(await whoAmI()).toEqual({ status: 200, user: 'alice' });
  });
});
