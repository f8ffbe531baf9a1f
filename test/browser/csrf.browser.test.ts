/**
 * CSRF protection, judged by the browser that sends the forged requests: headless
 * Chromium against the real reference app of every adapter (see DESIGN.md, "Testing
 * stance"; the rows are those of the attack test matrix of the CSRF research).
 *
 * The app is reached over HTTPS at `https://app.test`; the attacker's pages are served
 * from `https://evil.test` (another site) and `https://sub.app.test` (a sibling
 * subdomain: the same site, another origin). Chromium resolves the three names to
 * 127.0.0.1; a site is the scheme and the registrable domain, so ports do not count.
 *
 * What decides each test is seen at the server, not guessed from the browser:
 * `GET /state.json` counts the echoes the app accepted (a forged request that got
 * through changes it), and a recorder between the HTTPS front and the app notes what
 * the browser sent (`Sec-Fetch-Site`, `Origin`, cookies) and what the app answered.
 * A control sends the same forged requests to the same app with `csrf: false`, and
 * sees each of them change the state.
 */

import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Cookie, Page } from 'playwright-core';
import type { RampartOptions } from 'rampart';
import { launchChromium, startFront, type Front } from '../support/browser.ts';
import { ADAPTERS, closeServer, listen, rawRequest, startTarget, testOptions, type AdapterName, type Target } from '../support/targets.ts';

const APP_HOST = 'app.test';
const ATTACKER_HOST = 'evil.test';
/** A sibling subdomain of the app: the same site, another origin. */
const SIBLING_HOST = 'sub.app.test';
/** `.test` is reserved (RFC 6761): no real DNS answers for it and no HSTS preload covers it. */
const HOST_RESOLVER_RULES = `--host-resolver-rules=MAP ${APP_HOST} 127.0.0.1, MAP ${ATTACKER_HOST} 127.0.0.1, MAP ${SIBLING_HOST} 127.0.0.1`;
const BINDING_COOKIE = '__Host-csrf';
/** The shortest token lifetime rampart accepts; the tests move the app's clock past it. */
const MAX_AGE_SECONDS = 60;

/** A request as the app received it, and what the app answered. */
interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly secFetchSite: string | undefined;
  readonly origin: string | undefined;
  readonly contentType: string | undefined;
  /** The request's `Cookie` header, if it had one. */
  readonly cookie: string | undefined;
  readonly status: number;
  /** The error code of a refusal (from its HTML page or problem+json), if any. */
  readonly code: string | undefined;
  /** The `X-CSRF-Token` response header: a fresh token to retry with. */
  readonly freshToken: string | undefined;
}

/** A plain-HTTP proxy in front of a target that remembers every exchange it forwards. */
interface Recorder {
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Where requests go: set once the target is started (its options need the front's port). */
  forwardTo(targetUrl: string): void;
  close(): Promise<void>;
}

/** What `GET /state.json` says: THE state oracle of these tests. */
interface EchoState {
  readonly echoes: number;
  readonly lastMessage: string | null;
}

/** The reference app of one adapter as the browser reaches it: HTTPS front → recorder → app. */
interface Site {
  readonly target: Target;
  readonly recorder: Recorder;
  readonly front: Front;
  /** `https://app.test:<port of the front>`, also the app's configured `origin`. */
  readonly origin: string;
  /** Moves the app's clock (frozen otherwise) forward. */
  advanceClock(seconds: number): void;
  close(): Promise<void>;
}

/** The attacker's web server, for `evil.test` and `sub.app.test` alike. */
interface AttackerServer {
  /** `https://<host>:<port of its front>`. */
  origin(host: string): string;
  /** Serves `html` (with these extra headers) at a new path, and returns the path. */
  serve(html: string, headers?: Record<string, string | string[]>): string;
  close(): Promise<void>;
}



function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The `code` of rampart's refusal page (`<code>csrf_…</code>`) or problem+json. */
function refusalCode(body: string): string | undefined {
  return /<code>([a-z_]+)<\/code>/.exec(body)?.[1] ?? /"code":"([a-z_]+)"/.exec(body)?.[1];
}

async function startRecorder(): Promise<Recorder> {
  let target: URL | undefined;
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    if (target === undefined) {
      res.writeHead(503);
      res.end();
      return;
    }
    const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      // The answer is read whole (pages are small), so the refusal code can be noted.
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        received.push({
          method: req.method ?? '',
          path: req.url ?? '',
          secFetchSite: headerValue(req.headers, 'sec-fetch-site'),
          origin: headerValue(req.headers, 'origin'),
          contentType: headerValue(req.headers, 'content-type'),
          cookie: headerValue(req.headers, 'cookie'),
          status: answer.statusCode ?? 0,
          code: refusalCode(body.toString('utf8')),
          freshToken: headerValue(answer.headers, 'x-csrf-token'),
        });
        const headers = { ...answer.headers };
        delete headers['transfer-encoding'];
        delete headers['connection'];
        res.writeHead(answer.statusCode ?? 502, headers);
        res.end(body);
      });
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  const url = await listen(server);
  return {
    url,
    received,
    forwardTo: (targetUrl) => {
      target = new URL(targetUrl);
    },
    close: () => closeServer(server),
  };
}

/**
 * Starts the reference app of `adapter` behind a recorder and an HTTPS front, with
 * `origin` set to the name the browser uses, a frozen clock and a one-minute token
 * lifetime (unless `csrf` is `false`).
 */
async function startSite(adapter: AdapterName, csrf: RampartOptions['csrf']): Promise<Site> {
  const recorder = await startRecorder();
  const front = await startFront(recorder.url, { https: true });
  const origin = `https://${APP_HOST}:${new URL(front.url).port}`;
  let now = Date.now();
  const clock = (): number => now;
  const target = await startTarget(adapter, testOptions({ origin, clock, csrf: csrf === false ? false : { maxAge: MAX_AGE_SECONDS, ...csrf } }));
  recorder.forwardTo(target.url);
  return {
    target,
    recorder,
    front,
    origin,
    advanceClock: (seconds) => {
      now += seconds * 1000;
    },
    close: async () => {
      await front.close();
      await Promise.all([recorder.close(), target.close()]);
    },
  };
}

/**
 * The state oracle, asked of the very server the browser talks to (never through
 * `target.request`: for the `fetch` adapter that is another app instance, with its
 * own counter).
 */
async function echoState(site: Site): Promise<EchoState> {
  const response = await rawRequest(site.target.url, '/state.json');
  expect(response.status, 'GET /state.json').toBe(200);
  return (await response.json()) as EchoState;
}

/** The POSTs to `path` the app received (and answered) so far. */
function postsTo(site: Site, path: string): ReceivedRequest[] {
  return site.recorder.received.filter((request) => request.method === 'POST' && request.path === path);
}

/** Waits until the app has answered `count` POSTs to /echo, and returns them. */
async function awaitEchoPosts(site: Site, count: number): Promise<ReceivedRequest[]> {
  await expect.poll(() => postsTo(site, '/echo').length, { timeout: 5000, message: `the app received ${count} POST /echo` }).toBe(count);
  return postsTo(site, '/echo');
}

async function startAttackerServer(): Promise<AttackerServer> {
  const pages = new Map<string, { html: string; headers: Record<string, string | string[]> }>();
  const http = createServer((req, res) => {
    const page = pages.get(req.url ?? '');
    if (page === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Not Found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...page.headers });
    res.end(page.html);
  });
  const front = await startFront(await listen(http), { https: true });
  const port = new URL(front.url).port;
  return {
    origin: (host) => `https://${host}:${port}`,
    serve: (html, headers = {}) => {
      const path = `/attack/${pages.size + 1}`;
      pages.set(path, { html, headers });
      return path;
    },
    close: async () => {
      await front.close();
      await closeServer(http);
    },
  };
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function hiddenFields(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeAttribute(name)}" value="${escapeAttribute(value)}">`)
    .join('');
}

/** A page that posts a urlencoded form as soon as it loads, as a CSRF page does. */
function autoSubmittingForm(action: string, fields: Record<string, string>, head = ''): string {
  return `<!doctype html>
<title>another site</title>${head}
<form method="post" action="${escapeAttribute(action)}">${hiddenFields(fields)}</form>
<script>document.forms[0].submit();</script>
`;
}

/** A page whose sandboxed frame (an opaque origin: `Origin: null`) posts the form as it loads. */
function sandboxedForm(action: string, fields: Record<string, string>): string {
  return `<!doctype html>
<title>another site</title>
<iframe sandbox="allow-forms allow-scripts" srcdoc="${escapeAttribute(autoSubmittingForm(action, fields))}"></iframe>
`;
}

/** `Name=value` of every cookie named `name` in a `Cookie` header, in order. */
function cookiePairs(header: string | undefined, name: string): string[] {
  return (header ?? '')
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair.startsWith(`${name}=`));
}

let browser: Browser | undefined;
/** Why Chromium did not start: every test fails with it (a failing hook would only mark them skipped). */
let launchError: unknown;
let attacker: AttackerServer | undefined;

beforeAll(async () => {
  [browser, attacker] = await Promise.all([
    launchChromium([HOST_RESOLVER_RULES]).catch((error: unknown) => {
      launchError = error;
      return undefined;
    }),
    startAttackerServer(),
  ]);
});

afterAll(async () => {
  await Promise.all([browser?.close(), attacker?.close()]);
});

/** The attacker's server, started by the file's `beforeAll`. */
function attackerServer(): AttackerServer {
  if (attacker === undefined) throw new Error('the attacker server did not start');
  return attacker;
}

/** Opens `path` of the attacker's server on `host`; the page navigates away as it loads, so only its commit is awaited. */
async function openAttackPage(page: Page, host: string, path: string): Promise<void> {
  await page.goto(`${attackerServer().origin(host)}${path}`, { waitUntil: 'commit' });
}

/** X1: an auto-submitted cross-site form POST; waits for the app's answer to load in the tab. */
async function forgeCrossSiteForm(page: Page, site: Site, fields: Record<string, string>, head = ''): Promise<ReceivedRequest> {
  const path = attackerServer().serve(autoSubmittingForm(`${site.origin}/echo`, fields, head));
  await openAttackPage(page, ATTACKER_HOST, path);
  await page.waitForURL(`${site.origin}/echo`);
  const [forged] = await awaitEchoPosts(site, 1);
  return forged!;
}

/** X5–X7: `fetch(…, { mode: 'no-cors' })` from the attacker's page, with three bodies a simple request allows. */
async function forgeNoCorsFetches(page: Page, site: Site): Promise<ReceivedRequest[]> {
  await page.goto(`${attackerServer().origin(ATTACKER_HOST)}${attackerServer().serve('<!doctype html><title>another site</title>')}`);
  const types = await page.evaluate(async (url) => {
    const bodies: [string, BodyInit, Record<string, string>][] = [
      ['text/plain', 'message=forged-text', { 'Content-Type': 'text/plain' }],
      ['urlencoded', new URLSearchParams({ message: 'forged-urlencoded' }), {}],
      // A Blob without a type: no Content-Type header at all.
      ['none', new Blob(['message=forged-blob']), {}],
    ];
    const seen: string[] = [];
    for (const [name, body, headers] of bodies) {
      try {
        const response = await fetch(url, { method: 'POST', mode: 'no-cors', credentials: 'include', headers, body });
        seen.push(`${name}: ${response.type}`);
      } catch (error) {
        seen.push(`${name}: ${error instanceof TypeError ? 'network error' : String(error)}`);
      }
    }
    return seen;
  }, `${site.origin}/echo`);
  // The request is sent either way; the attacker cannot read the answer, which
  // Cross-Origin-Resource-Policy even turns into a network error.
  expect(types).toEqual(['text/plain: network error', 'urlencoded: network error', 'none: network error']);
  return awaitEchoPosts(site, 3);
}

/** X9: a form posted from a sandboxed frame of the attacker's page (`Origin: null`). */
async function forgeFromSandboxedFrame(page: Page, site: Site): Promise<ReceivedRequest> {
  await page.goto(`${attackerServer().origin(ATTACKER_HOST)}${attackerServer().serve(sandboxedForm(`${site.origin}/echo`, { message: 'forged-sandbox' }))}`);
  const [forged] = await awaitEchoPosts(site, 1);
  return forged!;
}

/**
 * S2: cookie tossing. A page of the sibling `sub.app.test` tries to plant the
 * attacker's binding as the app's `__Host-csrf`, by `Set-Cookie` and by
 * `document.cookie`: with `Domain=app.test`, as `__host-csrf` (prefixes are matched
 * without case), and as a nameless cookie whose value starts with the name (which a
 * browser would send as `__Host-csrf=…`). It plants unprefixed `csrf`, `csrf-header`
 * and `x__Host-csrf` cookies too, to show that tossing works at all, then posts a
 * form carrying the attacker's own token. Returns what the sibling page could read of
 * its cookies afterwards.
 */
async function tossCookiesAndPost(page: Page, site: Site, attackerToken: string, attackerBinding: string): Promise<string> {
  const domain = `Domain=${APP_HOST}; Path=/; Secure; SameSite=Lax`;
  const toss = [
    `${BINDING_COOKIE}=${attackerBinding}; ${domain}`,
    `=${BINDING_COOKIE}=${attackerBinding}; ${domain}`,
    `__host-csrf=${attackerBinding}; ${domain}`,
    `csrf=${attackerBinding}; ${domain}`,
    // Allowed (no prefix), and sent first for /echo: a parser that looks for the name
    // as a substring of the header would read the attacker's binding from it.
    `x${BINDING_COOKIE}=${attackerBinding}; Domain=${APP_HOST}; Path=/echo; Secure`,
  ];
  const html = `<!doctype html>
<title>a sibling of the app</title>
<form method="post" action="${escapeAttribute(`${site.origin}/echo`)}">${hiddenFields({ csrf_token: attackerToken, message: 'forged-sibling' })}<button>go</button></form>
<script>for (const cookie of ${JSON.stringify(toss)}) document.cookie = cookie;</script>
`;
  const path = attackerServer().serve(html, { 'set-cookie': [`${BINDING_COOKIE}=${attackerBinding}; ${domain}`, `=${BINDING_COOKIE}=${attackerBinding}; ${domain}`, `csrf-header=${attackerBinding}; ${domain}`] });
  await page.goto(`${attackerServer().origin(SIBLING_HOST)}${path}`);
  const visible = await page.evaluate(() => document.cookie);
  await Promise.all([page.waitForURL(`${site.origin}/echo`), page.click('button')]);
  return visible;
}

/** A token and binding of the attacker's own, minted by a raw request to the app. */
async function attackerCredentials(site: Site): Promise<{ token: string; binding: string }> {
  const response = await rawRequest(site.target.url, '/');
  const token = /name="csrf_token" value="([^"]+)"/.exec(await response.text())?.[1];
  const binding = response.headers
    .getSetCookie()
    .find((value) => value.startsWith(`${BINDING_COOKIE}=`))
    ?.split(';')[0]
    ?.slice(BINDING_COOKIE.length + 1);
  if (token === undefined || binding === undefined) throw new Error('GET / gave the attacker no token and binding');
  return { token, binding };
}

describe.each(ADAPTERS)('%s adapter, in Chromium', (adapter) => {
  /** The app as shipped: strict CSRF protection. */
  let site: Site;
  /** The same app with `csrf.allowSameSite`: siblings pass the first layer, the token still applies. */
  let siblingTrusting: Site;
  /** The control: the same app with `csrf: false`. */
  let unprotected: Site;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    [site, siblingTrusting, unprotected] = await Promise.all([startSite(adapter, {}), startSite(adapter, { allowSameSite: true }), startSite(adapter, false)]);
  });

  afterAll(async () => {
    await Promise.all([site?.close(), siblingTrusting?.close(), unprotected?.close()]);
  });

  beforeEach(async () => {
    if (!browser) throw launchError instanceof Error ? launchError : new Error(`Chromium did not start: ${String(launchError)}`);
    // ignoreHTTPSErrors: the HTTPS fronts have a throwaway self-signed certificate for 127.0.0.1.
    context = await browser.newContext({ ignoreHTTPSErrors: true });
    // A clear Playwright error instead of the test's 30-second timeout when a page never comes.
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    for (const each of [site, siblingTrusting, unprotected]) each.recorder.received.length = 0;
  });

  afterEach(async () => {
    await context?.close();
  });

  /** Loads the home page of `on` in `tab`, as the victim does; returns the token of its echo form. */
  async function visitHome(tab: Page, on: Site = site): Promise<string> {
    const response = await tab.goto(`${on.origin}/`);
    expect(response?.status(), 'GET /').toBe(200);
    return tab.inputValue('form[action="/echo"] input[name="csrf_token"]');
  }

  /** The browser's `__Host-csrf` cookie for the app. */
  async function bindingCookie(on: Site = site): Promise<Cookie | undefined> {
    const cookies = (await context.cookies(on.origin)).filter((cookie) => cookie.name === BINDING_COOKIE);
    expect(cookies.length, `at most one ${BINDING_COOKIE} cookie`).toBeLessThanOrEqual(1);
    return cookies[0];
  }

  /** Submits the echo form of the page in `tab`, as a person does; returns what came back. */
  async function submitEcho(tab: Page, message: string): Promise<{ status: number; freshToken: string | undefined; shown: string | null }> {
    // As a person switches to the tab: Chromium throttles the timers of a tab in the background.
    await tab.bringToFront();
    await tab.fill('form[action="/echo"] input[name="message"]', message);
    const [response] = await Promise.all([
      tab.waitForResponse((answer) => answer.request().method() === 'POST' && new URL(answer.url()).pathname === '/echo'),
      tab.waitForURL(`${site.origin}/echo`),
      tab.click('form[action="/echo"] button'),
    ]);
    const status = response.status();
    const shown = await tab.textContent(status === 200 ? '#message' : 'code');
    return { status, freshToken: response.headers()['x-csrf-token'], shown };
  }

  /** POSTs `message` to /echo with `fetch` from the page in `tab`, the token in `X-CSRF-Token`. */
  function fetchEcho(tab: Page, message: string, token: string | undefined, accept = '*/*'): Promise<{ status: number; freshToken: string | null; body: string }> {
    return tab.evaluate(
      async ([text, csrfToken, acceptHeader]) => {
        const headers: Record<string, string> = { Accept: acceptHeader };
        if (csrfToken !== undefined) headers['X-CSRF-Token'] = csrfToken;
        const response = await fetch('/echo', { method: 'POST', headers, body: new URLSearchParams({ message: text }) });
        return { status: response.status, freshToken: response.headers.get('x-csrf-token'), body: await response.text() };
      },
      [message, token, accept] as const,
    );
  }

  describe('forged requests from another site (https://evil.test) change nothing', () => {
    test.each([
      ['X1: an auto-submitted form', 'plain'],
      ["X2: the same form carrying the victim's own valid token", 'leaked token'],
      ['X10: the same form from a page with Referrer-Policy: no-referrer (Origin: null)', 'no-referrer'],
    ] as const)('%s is refused with csrf_cross_site', async (_name, variant) => {
      const victimToken = await visitHome(page);
      const before = await echoState(site);
      const fields = variant === 'leaked token' ? { csrf_token: victimToken, message: 'forged' } : { message: 'forged' };
      const head = variant === 'no-referrer' ? '\n<meta name="referrer" content="no-referrer">' : '';

      const forged = await forgeCrossSiteForm(page, site, fields, head);
      expect(forged).toMatchObject({ secFetchSite: 'cross-site', status: 403, code: 'csrf_cross_site', freshToken: undefined });
      expect(forged.origin).toBe(variant === 'no-referrer' ? 'null' : attackerServer().origin(ATTACKER_HOST));
      expect(cookiePairs(forged.cookie, BINDING_COOKIE), 'the SameSite=Lax binding stays home').toEqual([]);
      expect(await page.textContent('code'), 'the refusal page the victim sees').toBe('csrf_cross_site');
      expect(await echoState(site)).toEqual(before);
    });

    test('X5–X7: no-cors fetch with a text/plain, urlencoded or typeless body is refused with csrf_cross_site; X8: a CORS request with X-CSRF-Token never gets past its preflight', async () => {
      await visitHome(page);
      const before = await echoState(site);

      const forged = await forgeNoCorsFetches(page, site);
      expect(forged.map(({ contentType, secFetchSite, origin, status, code }) => ({ contentType, secFetchSite, origin, status, code }))).toEqual(
        ['text/plain', 'application/x-www-form-urlencoded;charset=UTF-8', undefined].map((contentType) => ({
          contentType,
          secFetchSite: 'cross-site',
          origin: attackerServer().origin(ATTACKER_HOST),
          status: 403,
          code: 'csrf_cross_site',
        })),
      );

      const cors = await page.evaluate(async (url) => {
        try {
          await fetch(url, { method: 'POST', credentials: 'include', headers: { 'X-CSRF-Token': 'x', 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'message=forged-cors' });
          return 'sent';
        } catch (error) {
          return error instanceof TypeError ? 'blocked' : String(error);
        }
      }, `${site.origin}/echo`);
      expect(cors, 'the browser refuses to send the POST: the preflight is not allowed').toBe('blocked');
      expect(site.recorder.received.filter((request) => request.method === 'OPTIONS' && request.path === '/echo'), 'the preflight reached the app').toHaveLength(1);
      expect(postsTo(site, '/echo'), 'no POST after the preflight').toHaveLength(3);
      expect(await echoState(site)).toEqual(before);
    });

    test('X9: a form posted from a sandboxed frame (Origin: null) is refused', async () => {
      await visitHome(page);
      const before = await echoState(site);

      const forged = await forgeFromSandboxedFrame(page, site);
      expect(forged).toMatchObject({ origin: 'null', secFetchSite: 'cross-site', status: 403, code: 'csrf_cross_site', freshToken: undefined });
      expect(await echoState(site)).toEqual(before);
    });
  });

  describe('a sibling subdomain (https://sub.app.test) cannot toss the binding cookie', () => {
    test("S1/S2: its form with the attacker's own token is refused with csrf_same_site, and the victim's __Host-csrf is unchanged", async () => {
      await visitHome(page);
      const victimBinding = await bindingCookie();
      expect(victimBinding).toMatchObject({ domain: APP_HOST, path: '/', secure: true, httpOnly: true, sameSite: 'Lax' });
      const { token, binding } = await attackerCredentials(site);
      const before = await echoState(site);

      const visible = await tossCookiesAndPost(page, site, token, binding);
      expect(visible, 'the sibling sees only the unprefixed cookies it planted').not.toContain(BINDING_COOKIE);

      const [forged] = postsTo(site, '/echo');
      expect(forged).toMatchObject({ secFetchSite: 'same-site', origin: attackerServer().origin(SIBLING_HOST), status: 403, code: 'csrf_same_site', freshToken: undefined });
      expect(cookiePairs(forged?.cookie, BINDING_COOKIE), 'the app received the victim binding, and only it').toEqual([`${BINDING_COOKIE}=${victimBinding?.value}`]);
      expect(cookiePairs(forged?.cookie, 'csrf'), 'control: tossing an unprefixed cookie works').toEqual([`csrf=${binding}`]);
      expect(cookiePairs(forged?.cookie, `x${BINDING_COOKIE}`), 'and it comes first with a longer path').toEqual([`x${BINDING_COOKIE}=${binding}`]);
      expect(forged?.cookie?.startsWith(`x${BINDING_COOKIE}=`)).toBe(true);
      expect(await page.textContent('code')).toBe('csrf_same_site');

      expect(await bindingCookie(), 'the victim binding is unchanged').toEqual(victimBinding);
      const jar = await context.cookies();
      expect(jar.filter((cookie) => cookie.value.includes(BINDING_COOKIE) || cookie.name.toLowerCase() === BINDING_COOKIE.toLowerCase()), 'no spoof of the binding is kept').toEqual([victimBinding]);
      expect(await echoState(site)).toEqual(before);
    });

    test('with allowSameSite, the sibling passes the first layer but its token does not verify: csrf_token_invalid, or csrf_cookie_missing for a browser without a binding; never a fresh token', async () => {
      const { token, binding } = await attackerCredentials(siblingTrusting);
      const before = await echoState(siblingTrusting);

      // A browser that has never visited the app: only a tossed binding could verify the attacker's token.
      await tossCookiesAndPost(page, siblingTrusting, token, binding);
      expect(await bindingCookie(siblingTrusting), 'no binding was planted').toBeUndefined();
      // A victim with a binding of their own.
      await visitHome(page, siblingTrusting);
      await tossCookiesAndPost(page, siblingTrusting, token, binding);

      const forged = await awaitEchoPosts(siblingTrusting, 2);
      expect(forged.map(({ secFetchSite, status, code, freshToken }) => ({ secFetchSite, status, code, freshToken }))).toEqual([
        { secFetchSite: 'same-site', status: 403, code: 'csrf_cookie_missing', freshToken: undefined },
        { secFetchSite: 'same-site', status: 403, code: 'csrf_token_invalid', freshToken: undefined },
      ]);
      expect(await echoState(siblingTrusting)).toEqual(before);
    });
  });

  describe('the same attacks against the app with csrf: false (the control)', () => {
    test('each forged request changes the state: the tests above would see an attack that got through', async () => {
      const before = await echoState(unprotected);

      await forgeCrossSiteForm(page, unprotected, { message: 'forged-form' });
      expect(await echoState(unprotected)).toEqual({ echoes: before.echoes + 1, lastMessage: 'forged-form' });
      unprotected.recorder.received.length = 0;

      const fetches = await forgeNoCorsFetches(page, unprotected);
      // The app reads urlencoded bodies only: it refuses the other two itself (400, or 415 from Fastify).
      expect(fetches.map((request) => request.status === 200)).toEqual([false, true, false]);
      expect(await echoState(unprotected)).toEqual({ echoes: before.echoes + 2, lastMessage: 'forged-urlencoded' });
      unprotected.recorder.received.length = 0;

      await forgeFromSandboxedFrame(page, unprotected);
      expect(await echoState(unprotected)).toEqual({ echoes: before.echoes + 3, lastMessage: 'forged-sandbox' });
      unprotected.recorder.received.length = 0;

      await tossCookiesAndPost(page, unprotected, 'whatever', 'A'.repeat(43));
      expect(await echoState(unprotected)).toEqual({ echoes: before.echoes + 4, lastMessage: 'forged-sibling' });
    });
  });

  describe('legitimate use works', () => {
    test('L1: the form of the home page; L2: fetch with X-CSRF-Token read from the page (and refused without it)', async () => {
      const before = await echoState(site);
      const token = await visitHome(page);

      const withoutHeader = await fetchEcho(page, 'no header', undefined, 'application/json');
      expect(withoutHeader).toMatchObject({ status: 403, freshToken: null });
      expect(JSON.parse(withoutHeader.body), 'control: the header is what makes it pass').toMatchObject({ code: 'csrf_token_missing' });
      const viaHeader = await fetchEcho(page, 'via header', token);
      expect(viaHeader.status).toBe(200);
      expect(viaHeader.body).toContain('<p id="message">via header</p>');
      expect(await echoState(site)).toEqual({ echoes: before.echoes + 1, lastMessage: 'via header' });

      await page.goto(`${site.origin}/`);
      expect(await submitEcho(page, 'via form')).toEqual({ status: 200, freshToken: undefined, shown: 'via form' });
      expect(await echoState(site)).toEqual({ echoes: before.echoes + 2, lastMessage: 'via form' });
      expect(postsTo(site, '/echo').map((request) => request.secFetchSite)).toEqual(['same-origin', 'same-origin', 'same-origin']);
    });

    test('L4: two tabs; the form of the first is submitted after the second loaded, then the second: both succeed', async () => {
      const before = await echoState(site);
      const second = await context.newPage();
      const firstToken = await visitHome(page);
      const binding = await bindingCookie();
      const secondToken = await visitHome(second);
      expect(secondToken, 'every render has its own token').not.toBe(firstToken);
      expect(await bindingCookie(), 'the second tab kept the binding').toEqual(binding);

      expect(await submitEcho(page, 'tab one')).toMatchObject({ status: 200, shown: 'tab one' });
      expect(await submitEcho(second, 'tab two')).toMatchObject({ status: 200, shown: 'tab two' });
      expect(await echoState(site)).toEqual({ echoes: before.echoes + 2, lastMessage: 'tab two' });
    });

    test('L5: submit, go Back, submit the form again: succeeds', async () => {
      const before = await echoState(site);
      await visitHome(page);
      expect(await submitEcho(page, 'first')).toMatchObject({ status: 200, shown: 'first' });

      // The home page is `Cache-Control: no-store` (it carries tokens), so Chromium does
      // not restore it from the back/forward cache: it loads it again, with a new token.
      await page.goBack();
      expect(page.url()).toBe(`${site.origin}/`);
      expect(await submitEcho(page, 'again')).toMatchObject({ status: 200, shown: 'again' });
      expect(await echoState(site)).toEqual({ echoes: before.echoes + 2, lastMessage: 'again' });
    });

    test("L7: after a login in another tab, a page loaded before it is refused with a retryable csrf_token_invalid and a fresh token, which works; a reload works too", async () => {
      const before = await echoState(site);
      await visitHome(page);
      const oldBinding = await bindingCookie();

      const other = await context.newPage();
      await visitHome(other);
      await other.fill('input[name="user"]', 'alice');
      await Promise.all([other.waitForURL(`${site.origin}/me`), other.click('form[action="/login"] button')]);
      expect(await other.textContent('#user')).toBe('alice');
      expect((await bindingCookie())?.value, 'the login rotated the binding').not.toBe(oldBinding?.value);

      const stale = await submitEcho(page, 'stale');
      expect(stale).toMatchObject({ status: 403, shown: 'csrf_token_invalid' });
      expect(stale.freshToken, 'a fresh token to retry with').toMatch(/^[A-Za-z0-9_-]{50}$/);
      expect(await echoState(site), 'the stale form changed nothing').toEqual(before);

      const retried = await fetchEcho(other, 'retried', stale.freshToken);
      expect(retried.status).toBe(200);
      await page.goto(`${site.origin}/`);
      expect(await submitEcho(page, 'reloaded')).toMatchObject({ status: 200, shown: 'reloaded' });
      expect(await echoState(site)).toEqual({ echoes: before.echoes + 2, lastMessage: 'reloaded' });
    });

    test('two tabs whose first visits race (no binding yet): the tab that lost the binding is refused with a retryable csrf_token_invalid and a fresh token, and a reload works', async () => {
      const before = await echoState(site);
      const tabs = [page, await context.newPage()] as const;
      await Promise.all(tabs.map((tab) => visitHome(tab)));
      const bindingsMade = site.recorder.received.filter((request) => request.path === '/' && request.cookie === undefined).length;

      const refused: number[] = [];
      for (const [index, tab] of tabs.entries()) {
        const result = await submitEcho(tab, `tab ${index}`);
        if (result.status === 200) {
          expect(result.shown).toBe(`tab ${index}`);
          continue;
        }
        // Each response set a binding of its own; the browser keeps the last one it received.
        refused.push(index);
        expect(result).toMatchObject({ status: 403, shown: 'csrf_token_invalid' });
        expect(result.freshToken).toMatch(/^[A-Za-z0-9_-]{50}$/);
        await tab.goto(`${site.origin}/`);
        expect(await submitEcho(tab, `tab ${index}`)).toMatchObject({ status: 200, shown: `tab ${index}` });
      }
      expect(refused.length, 'at most the tab whose binding was replaced is refused').toBeLessThanOrEqual(bindingsMade - 1);
      expect((await echoState(site)).echoes).toBe(before.echoes + 2);
    });

    test('the binding cookie lost (a browser restart ends it; a restored tab keeps its page): refused with a retryable csrf_cookie_missing, a new binding and a fresh token, which works', async () => {
      const before = await echoState(site);
      await visitHome(page);
      await context.clearCookies();

      const lost = await submitEcho(page, 'no cookie');
      expect(lost).toMatchObject({ status: 403, shown: 'csrf_cookie_missing' });
      expect(lost.freshToken).toMatch(/^[A-Za-z0-9_-]{50}$/);
      expect(await bindingCookie(), 'the refusal set a new binding').toMatchObject({ domain: APP_HOST, secure: true, httpOnly: true });
      expect(await echoState(site), 'the refused form changed nothing').toEqual(before);

      await page.goto(`${site.origin}/`);
      expect(await fetchEcho(page, 'retried', lost.freshToken)).toMatchObject({ status: 200 });
      expect(await echoState(site)).toEqual({ echoes: before.echoes + 1, lastMessage: 'retried' });
    });

    test('L8: a token older than maxAge is refused with a retryable csrf_token_expired and a fresh token; the retry, and a reload, work', async () => {
      const before = await echoState(site);
      const token = await visitHome(page);
      site.advanceClock(MAX_AGE_SECONDS + 1);

      const expired = await fetchEcho(page, 'late', token, 'application/json');
      expect(expired.status).toBe(403);
      expect(JSON.parse(expired.body)).toMatchObject({ code: 'csrf_token_expired', retryable: true });
      expect(expired.freshToken).toMatch(/^[A-Za-z0-9_-]{50}$/);
      expect(await fetchEcho(page, 'retried', expired.freshToken ?? undefined)).toMatchObject({ status: 200 });

      const form = await submitEcho(page, 'late form');
      expect(form).toMatchObject({ status: 403, shown: 'csrf_token_expired' });
      expect(form.freshToken).toMatch(/^[A-Za-z0-9_-]{50}$/);
      await page.goto(`${site.origin}/`);
      expect(await submitEcho(page, 'reloaded')).toMatchObject({ status: 200, shown: 'reloaded' });
      expect(await echoState(site)).toEqual({ echoes: before.echoes + 2, lastMessage: 'reloaded' });
    });
  });
});
