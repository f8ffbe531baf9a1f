/**
 * The status feed (demo/, issue 7), end to end in headless Chromium, driven only
 * through its pages as a person would: fill, choose a file, click. The app needs no
 * JavaScript; one test runs the flows with JavaScript turned off.
 *
 * The demo runs in-process (`createDemo` on a temporary DATA_DIR, development mode,
 * a fixed key) behind a lab server and an HTTPS front, at `https://app.test:<port>`
 * (its configured origin: its `__Host-` cookies are Secure); an attacker's site is
 * served from `https://evil.test:<port>`. Chromium maps both names to 127.0.0.1: two
 * sites. The lab records every request the app receives (with its `Sec-Fetch-Site`,
 * whether it carried the session cookie, and the app's status), every CSP report the
 * browser sends, and answers a few paths of its own (`/__lab/…` on the app's origin,
 * everything on evil.test).
 *
 * Oracles for script: a beacon function the payloads call (`__xss(tag)`, a Playwright
 * binding), a beacon request (`/__lab/beacon/<tag>`, recorded by the lab; also what an
 * injected `<img>` would fetch without any script), dialogs, CSP violation events
 * (an init script listens) and CSP reports. What changed is read from the database
 * itself (the number of statuses) and from the uploads folder, not from the page.
 *
 * Controls show each oracle firing: the same payloads served raw by the lab, without a
 * CSP (script runs) and with the app's own CSP (violations are seen and reported); the
 * stored HTML attachment relayed as a page (it runs); a same-origin form posting to
 * `/statuses` (the count changes).
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Cookie, Download, Page, Response as PageResponse } from 'playwright-core';
import { launchChromium, startFront, type Front } from '../support/browser.ts';
import { closeServer, listen } from '../support/targets.ts';

const APP_HOST = 'app.test';
const ATTACKER_HOST = 'evil.test';
/** `.test` is reserved (RFC 6761): no real DNS answers for it and no HSTS preload covers it. */
const CHROMIUM_ARGS = [`--host-resolver-rules=MAP ${APP_HOST} 127.0.0.1, MAP ${ATTACKER_HOST} 127.0.0.1`];
const KEY = 'nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s';
const SESSION_COOKIE = '__Host-session';
const PASSWORD = 'correct horse battery';

// ---------------------------------------------------------------------------------------------
// The payloads
// ---------------------------------------------------------------------------------------------

/** Script that reports `tag` by every channel it reaches: the binding, a request, and a dialog. */
function beacon(tag: string): string {
  return `try{__xss('${tag}')}catch(e){}try{fetch('/__lab/beacon/${tag}')}catch(e){}try{alert('${tag}')}catch(e){}`;
}

/** Statuses whose text is an injection: each must come back as exactly this text. */
const XSS_TEXTS: readonly string[] = [
  `<script>${beacon('script')}</script>`,
  `<img src=x onerror="${beacon('img-onerror')}">`,
  `"><svg onload="${beacon('svg-onload')}">`,
  `javascript:${beacon('javascript-text')}`,
  `<a id="js-link" href="javascript:${beacon('javascript-link')}">click me</a>`,
  // Markup alone, no script: an image the lab sees requested if the text became HTML.
  `</p></li></ol><img src="/__lab/beacon/markup-img"><p>`,
  `<iframe srcdoc="<script>parent.__xss('srcdoc')</script>"></iframe>`,
  // Entities and quotes stay as typed: escaped once, not twice.
  `5 &lt; 6 & "7" > '4' — &amp; ünïcödé 🎉`,
];

/** What the raw payloads do when they are markup (the controls): every tag of script they carry. */
const XSS_SIGNALS = ['binding:script', 'binding:img-onerror', 'binding:svg-onload', 'binding:srcdoc', 'request:markup-img', 'request:script'];

/** A real PNG of `width` × `height` opaque pixels. */
function png(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer): number => {
    let c = 0xffffffff;
    for (const byte of bytes) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const check = Buffer.alloc(4);
    check.writeUInt32BE(crc(body));
    return Buffer.concat([length, body, check]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.concat(Array.from({ length: height }, () => Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 0x5a)])));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

const PICTURE = png(7, 5);
/** An HTML file that would report itself from a script, an `onerror` and its body's `onload`. */
const HTML_FILE = Buffer.from(
  `<!doctype html><html><head><title>uploaded</title><script>${beacon('html-file')}</script></head>` +
    `<body onload="${beacon('html-file-onload')}"><p id="uploaded">uploaded page</p><img src="x:" onerror="${beacon('html-file-onerror')}"></body></html>`,
);

// ---------------------------------------------------------------------------------------------
// The demo, the lab and the front
// ---------------------------------------------------------------------------------------------

interface DemoModule {
  createDemo(options: { dataDir: string; origin: string; mode?: string; keys?: string[]; logger?: { warn(message: string): void } }): {
    app: Parameters<typeof createServer>[1];
    close(): void;
  };
}

interface Sqlite {
  prepare(sql: string): { get(...parameters: unknown[]): unknown };
  close(): void;
}

/** A request as the app received it (through the lab), and the app's status. */
interface Received {
  readonly host: string;
  readonly method: string;
  readonly path: string;
  readonly fetchSite: string | undefined;
  readonly contentType: string | undefined;
  readonly session: boolean;
  status?: number;
}

interface LabPage {
  readonly body: string | Buffer;
  readonly headers?: Record<string, string>;
}

interface Lab {
  /** `https://app.test:<port>`: the demo's origin. */
  readonly app: string;
  /** `https://evil.test:<port>`. */
  readonly evil: string;
  /** Every request forwarded to the demo. */
  readonly received: Received[];
  /** The tags of beacon requests. */
  readonly beacons: string[];
  /** The bodies of CSP reports the browser sent the app. */
  readonly cspReports: string[];
  /** Pages the lab answers, by `<host><path>` (`app.test/__lab/…` or `evil.test/…`). */
  readonly pages: Map<string, LabPage>;
  readonly dataDir: string;
  /** The number of statuses in the database. */
  statusCount(): number;
  /** The stored uploads: their data files (the metadata and the `incoming/` folder aside). */
  storedFiles(): string[];
  /** Warnings rampart logged. */
  readonly warnings: string[];
  close(): Promise<void>;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function hasSession(cookie: string | undefined): boolean {
  return (cookie ?? '').split(';').some((pair) => pair.trim().startsWith(`${SESSION_COOKIE}=`));
}

function filesUnder(directory: string): string[] {
  const found: string[] = [];
  const walk = (current: string): void => {
    let entries;
    try {
      entries = readdirSync(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) walk(join(current, entry.name));
      else found.push(relative(directory, join(current, entry.name)));
    }
  };
  walk(directory);
  return found.sort();
}

async function startLab(): Promise<Lab> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rampart-demo-browser-'));
  const received: Received[] = [];
  const beacons: string[] = [];
  const cspReports: string[] = [];
  const warnings: string[] = [];
  const pages = new Map<string, LabPage>();
  let upstream: URL | undefined;

  const forward = (req: IncomingMessage, res: ServerResponse, path: string, rewrite?: (headers: IncomingHttpHeaders) => void): void => {
    const target = upstream!;
    const outgoing = httpRequest({ host: target.hostname, port: target.port, path, method: req.method, headers: req.headers }, (answer) => {
      const headers = { ...answer.headers };
      rewrite?.(headers);
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    });
    outgoing.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(outgoing);
  };

  const lab: Server = createServer((req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const url = new URL(req.url ?? '/', 'http://lab');
    if (url.pathname.startsWith('/__lab/beacon/')) {
      beacons.push(decodeURIComponent(url.pathname.slice('/__lab/beacon/'.length)));
      res.writeHead(204, { 'access-control-allow-origin': '*' });
      res.end();
      return;
    }
    if (host === ATTACKER_HOST || url.pathname.startsWith('/__lab/')) {
      if (url.pathname.startsWith('/__lab/relay/')) {
        // The stored attachment as a page: its type made text/html, its protections dropped.
        forward(req, res, `/attachments/${url.pathname.slice('/__lab/relay/'.length)}`, (headers) => {
          headers['content-type'] = 'text/html; charset=utf-8';
          delete headers['content-disposition'];
          delete headers['content-security-policy'];
        });
        return;
      }
      const found = pages.get(`${host}${url.pathname}`);
      res.writeHead(found ? 200 : 404, { 'content-type': 'text/html; charset=utf-8', ...found?.headers });
      res.end(found?.body ?? 'no such lab page');
      return;
    }
    const record: Received = {
      host,
      method: req.method ?? '',
      path: req.url ?? '',
      fetchSite: headerValue(req.headers, 'sec-fetch-site'),
      contentType: headerValue(req.headers, 'content-type'),
      session: hasSession(req.headers.cookie),
    };
    received.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    if (url.pathname === '/_rampart/csp-report') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        cspReports.push(Buffer.concat(chunks).toString('utf8'));
        const outgoing = httpRequest({ host: upstream!.hostname, port: upstream!.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        outgoing.on('error', () => res.end());
        outgoing.end(Buffer.concat(chunks));
      });
      return;
    }
    forward(req, res, req.url ?? '/');
  });

  let front: Front | undefined;
  let demoServer: Server | undefined;
  let demo: ReturnType<DemoModule['createDemo']> | undefined;
  let db: Sqlite | undefined;
  const close = async (): Promise<void> => {
    await front?.close();
    await closeServer(lab);
    if (demoServer) await closeServer(demoServer);
    db?.close();
    demo?.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    front = await startFront(await listen(lab), { https: true });
    const port = new URL(front.url).port;
    const app = `https://${APP_HOST}:${port}`;
    const entry = '../../demo/app.mjs';
    const { createDemo } = (await import(/* @vite-ignore */ entry)) as DemoModule;
    demo = createDemo({ dataDir, origin: app, mode: 'development', keys: [KEY], logger: { warn: (message) => warnings.push(message) } });
    demoServer = createServer(demo.app);
    upstream = new URL(await listen(demoServer));
    const sqlite = 'better-sqlite3';
    const Database = ((await import(/* @vite-ignore */ sqlite)) as { default: new (path: string, options?: { readonly?: boolean }) => Sqlite }).default;
    db = new Database(join(dataDir, 'feed.db'), { readonly: true });
    const count = db.prepare('SELECT count(*) AS n FROM statuses');
    return {
      app,
      evil: `https://${ATTACKER_HOST}:${port}`,
      received,
      beacons,
      cspReports,
      pages,
      dataDir,
      warnings,
      statusCount: () => (count.get() as { n: number }).n,
      // Each upload is its bytes and a `.json` of metadata, in a folder named by its id.
      storedFiles: () => filesUnder(join(dataDir, 'uploads')).filter((path) => !path.startsWith('incoming/') && !path.endsWith('.json')),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// The browser
// ---------------------------------------------------------------------------------------------

declare global {
  interface Window {
    __xss?: (tag: unknown) => void;
    __cspViolationSeen?: (description: string) => void;
  }
}

/** Runs in every document before its own scripts (Playwright init scripts bypass CSP). */
function reportViolations(): void {
  window.addEventListener('securitypolicyviolation', (event) => window.__cspViolationSeen?.(`${event.effectiveDirective} ${event.blockedURI}`), true);
}

/** What a browser context saw. */
interface Seen {
  /** `binding:<tag>` and `dialog:<message>`. */
  readonly ran: string[];
  /** `<directive> <blocked URI>` of every CSP violation event. */
  readonly violations: string[];
  readonly downloads: Download[];
  readonly console: string[];
}

interface Tab {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly seen: Seen;
}

let browser: Browser | undefined;
/** Why Chromium did not start: every test fails with it (a failing hook would only mark them skipped). */
let launchError: unknown;
let lab: Lab | undefined;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [browser, lab] = await Promise.all([
    launchChromium(CHROMIUM_ARGS).catch((error: unknown) => {
      launchError = error;
      return undefined;
    }),
    startLab(),
  ]);
});

afterAll(async () => {
  await Promise.all(contexts.map((context) => context.close().catch(() => {})));
  await browser?.close();
  await lab?.close();
});

function theLab(): Lab {
  if (!lab) throw new Error('the lab did not start');
  return lab;
}

/** The browser, or why it did not start (every test fails with it). */
function chromium(): Browser {
  if (!browser) throw launchError instanceof Error ? launchError : new Error(`Chromium did not start: ${String(launchError)}`);
  return browser;
}

async function openTab(options: { javaScriptEnabled?: boolean } = {}): Promise<Tab> {
  // ignoreHTTPSErrors: the HTTPS front has a throwaway self-signed certificate.
  const context = await chromium().newContext({ ignoreHTTPSErrors: true, acceptDownloads: true, ...options });
  contexts.push(context);
  context.setDefaultTimeout(10_000);
  const seen: Seen = { ran: [], violations: [], downloads: [], console: [] };
  if (options.javaScriptEnabled !== false) {
    await context.exposeBinding('__xss', (_source, tag: unknown) => {
      seen.ran.push(`binding:${String(tag)}`);
    });
    await context.exposeBinding('__cspViolationSeen', (_source, description: unknown) => {
      seen.violations.push(String(description));
    });
    await context.addInitScript(reportViolations);
  }
  context.on('page', (page) => {
    page.on('dialog', (dialog) => {
      seen.ran.push(`dialog:${dialog.message()}`);
      void dialog.dismiss().catch(() => {});
    });
    page.on('download', (download) => seen.downloads.push(download));
    page.on('console', (message) => seen.console.push(message.text()));
  });
  const page = await context.newPage();
  return { context, page, seen };
}

/** Every sign of script or of a blocked attempt: what the tab saw, beacon requests and CSP reports. */
function signals(tab: Tab): string[] {
  const { beacons, cspReports } = theLab();
  return [
    ...tab.seen.ran,
    ...tab.seen.violations.map((violation) => `violation:${violation}`),
    ...tab.seen.console.filter((text) => /Content Security Policy/i.test(text)).map((text) => `console:${text}`),
    ...beacons.map((tag) => `request:${tag}`),
    ...cspReports.map((report) => `report:${report}`),
  ];
}

/** Forgets what was seen so far (late signals of an earlier step are not this step's). */
function resetSignals(tab: Tab): void {
  for (const list of [tab.seen.ran, tab.seen.violations, tab.seen.console, theLab().beacons, theLab().cspReports]) list.length = 0;
}

/** Waits until `done()` or `ms` have passed. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 25));
}

/** Lets late signals (reports, lazy loads, timers) arrive. */
async function settle(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle').catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 300));
}

/**
 * Runs `action` (a click that submits a form) and waits for the page it leads to
 * (after redirects) to load; returns the answer to the form's POST.
 */
async function submit(page: Page, action: () => Promise<void>): Promise<PageResponse> {
  const posted = page.waitForResponse((response) => response.request().method() === 'POST' && response.request().resourceType() === 'document');
  const navigated = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() });
  await action();
  const [response] = await Promise.all([posted, navigated]);
  await page.waitForLoadState('load');
  return response;
}

async function register(page: Page, username: string): Promise<PageResponse> {
  await page.goto(`${theLab().app}/register`);
  await page.fill('form[action="/register"] input[name="username"]', username);
  await page.fill('form[action="/register"] input[name="password"]', PASSWORD);
  return submit(page, () => page.click('form[action="/register"] button'));
}

async function logIn(page: Page, username: string, password = PASSWORD): Promise<PageResponse> {
  await page.goto(`${theLab().app}/login`);
  await page.fill('form[action="/login"] input[name="username"]', username);
  await page.fill('form[action="/login"] input[name="password"]', password);
  return submit(page, () => page.click('form[action="/login"] button'));
}

async function logOut(page: Page): Promise<PageResponse> {
  return submit(page, () => page.click('form[action="/logout"] button'));
}

/** Posts a status with the feed's form (on the current page, or the feed). */
async function post(page: Page, text: string, attachment?: { name: string; mimeType: string; buffer: Buffer }): Promise<PageResponse> {
  if (new URL(page.url()).pathname !== '/') await page.goto(`${theLab().app}/`);
  const form = page.locator('form.post');
  await form.locator('textarea[name="text"]').fill(text);
  if (attachment) await form.locator('input[type="file"][name="attachment"]').setInputFiles(attachment);
  return submit(page, () => form.locator('button', { hasText: 'Post' }).click());
}

/** Who the page header says is logged in (`@name`), or `undefined` when it offers to log in. */
async function loggedInAs(page: Page): Promise<string | undefined> {
  if ((await page.locator('header form[action="/logout"]').count()) === 0) return undefined;
  return (await page.locator('header nav a').first().textContent())?.trim();
}

/** Who the feed says is logged in to a fresh browser holding only this session cookie. */
async function replay(cookie: Cookie): Promise<string | undefined> {
  const tab = await openTab();
  try {
    await tab.context.addCookies([{ name: cookie.name, value: cookie.value, url: theLab().app, secure: true, httpOnly: true, sameSite: 'Lax' }]);
    await tab.page.goto(`${theLab().app}/`);
    return await loggedInAs(tab.page);
  } finally {
    await tab.context.close();
  }
}

/** The text of every status on the page, newest first. */
async function statusTexts(page: Page): Promise<string[]> {
  return page.locator('li.status p.text').evaluateAll((elements) => elements.map((element) => element.textContent ?? ''));
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

describe('the status feed in Chromium', () => {
  /** Alice's tab, shared by the steps of her visit (each step needs the one before). */
  let alice: Tab | undefined;
  function aliceTab(): Tab {
    chromium();
    if (!alice) throw new Error('the first step did not open a tab: see its failure');
    return alice;
  }

  test('register, log out, log in (a new session), and the session survives navigation', async () => {
    alice = await openTab();
    const { page, context } = alice;
    const app = theLab().app;

    await page.goto(`${app}/`);
    expect(await loggedInAs(page)).toBeUndefined();
    expect(await page.locator('form.post').count(), 'no post form for a visitor').toBe(0);

    const registered = await register(page, 'alice');
    expect(registered.status()).toBe(303);
    expect(page.url()).toBe(`${app}/`);
    expect(await loggedInAs(page)).toBe('@alice');
    const first = (await context.cookies(app)).find((cookie) => cookie.name === SESSION_COOKIE);
    expect(first).toMatchObject({ domain: APP_HOST, path: '/', httpOnly: true, secure: true, sameSite: 'Lax' });

    await logOut(page);
    expect(page.url()).toBe(`${app}/`);
    expect(await loggedInAs(page)).toBeUndefined();
    expect((await context.cookies(app)).some((cookie) => cookie.name === SESSION_COOKIE), 'logout deletes the cookie').toBe(false);

    const wrong = await logIn(page, 'alice', 'not the password');
    expect(wrong.status()).toBe(401);
    expect(await page.locator('.errors').textContent()).toContain('Wrong username or password.');
    expect(await loggedInAs(page)).toBeUndefined();

    const loggedIn = await logIn(page, 'alice');
    expect(loggedIn.status()).toBe(303);
    expect(await loggedInAs(page)).toBe('@alice');
    const second = (await context.cookies(app)).find((cookie) => cookie.name === SESSION_COOKIE);
    expect(second?.value).not.toBe(first?.value);

    // Logging in again rotates the session: the cookie of the one before no longer works.
    expect((await logIn(page, 'alice')).status()).toBe(303);
    const third = (await context.cookies(app)).find((cookie) => cookie.name === SESSION_COOKIE);
    expect(await replay(third!), 'control: the current cookie, in another browser').toBe('@alice');
    expect(await replay(second!), 'the session before the last login').toBeUndefined();
    expect(await replay(first!), 'the session that logged out').toBeUndefined();

    // Navigation: links, a fresh load, a reload, a 404 page: still alice.
    await page.click('header nav a:has-text("@alice")');
    await page.waitForURL(`${app}/u/alice`);
    expect(await page.locator('h1').textContent()).toBe('@alice');
    expect(await loggedInAs(page)).toBe('@alice');
    await page.click('header a.brand');
    await page.waitForURL(`${app}/`);
    expect(await loggedInAs(page)).toBe('@alice');
    await page.reload();
    expect(await loggedInAs(page)).toBe('@alice');
    const missing = await page.goto(`${app}/no/such/page`);
    expect(missing?.status()).toBe(404);
    expect(await loggedInAs(page)).toBe('@alice');
    await page.goto(`${app}/`);
    expect(await page.locator('form.post textarea[name="text"]').count()).toBe(1);
  });

  test('statuses whose text is an XSS payload are shown as that text, and nothing runs, nothing is blocked', async () => {
    const tab = aliceTab();
    const { page } = tab;
    const before = theLab().statusCount();
    resetSignals(tab);
    for (const text of XSS_TEXTS) {
      const answer = await post(page, text);
      expect(answer.status(), text).toBe(303);
    }
    expect(theLab().statusCount()).toBe(before + XSS_TEXTS.length);

    for (const path of ['/', '/u/alice']) {
      await page.goto(`${theLab().app}${path}`);
      await settle(page);
      const shown = (await statusTexts(page)).slice(0, XSS_TEXTS.length);
      // Soft: each check reports on its own (each one fails when the text is rendered as markup).
      expect.soft(shown, `${path}: each text as typed, newest first`).toEqual([...XSS_TEXTS].reverse());
      // Text only: no element inside a status's text, and the page has no script at all.
      expect.soft(await page.locator('li.status p.text *').count(), path).toBe(0);
      expect.soft(await page.locator('a[href^="javascript:"], iframe, svg, script').count(), path).toBe(0);
      expect.soft(signals(tab), `${path}: script that ran, CSP violations and reports, beacons`).toEqual([]);
    }
  });

  test('an uploaded PNG is shown inline', async () => {
    const tab = aliceTab();
    const { page } = tab;
    const before = theLab().storedFiles().length;
    const answer = await post(page, 'a picture', { name: 'dot.png', mimeType: 'image/png', buffer: PICTURE });
    expect(answer.status()).toBe(303);
    expect(theLab().storedFiles()).toHaveLength(before + 1);

    const status = page.locator('li.status').first();
    expect(await status.locator('p.text').textContent()).toBe('a picture');
    const image = status.locator('img');
    expect(await image.getAttribute('src')).toMatch(/^\/attachments\/[0-9a-f]{32}$/);
    expect(await image.getAttribute('alt')).toBe('dot.png');
    await image.scrollIntoViewIfNeeded();
    // Lazy-loaded: wait until it is complete, then read what it decoded to.
    await expect
      .poll(() => image.evaluate((element: HTMLImageElement) => element.complete), { timeout: 5000 })
      .toBe(true);
    const size = await image.evaluate((element: HTMLImageElement) => [element.naturalWidth, element.naturalHeight]);
    expect(size, 'the image decoded: its natural size').toEqual([7, 5]);
    expect(tab.seen.downloads).toHaveLength(0);
  });

  test('an uploaded HTML file is offered as a download link; clicking or visiting it downloads it, and nothing renders or runs', async () => {
    const tab = aliceTab();
    const { page, context } = tab;
    const app = theLab().app;
    resetSignals(tab);
    const answer = await post(page, 'a page', { name: 'page.html', mimeType: 'text/html', buffer: HTML_FILE });
    expect(answer.status()).toBe(303);

    const status = page.locator('li.status').first();
    expect(await status.locator('p.text').textContent()).toBe('a page');
    expect(await status.locator('img, iframe, object, embed').count(), 'not embedded').toBe(0);
    const link = status.locator('a[download]');
    expect(await link.textContent()).toBe('page.html');
    const href = await link.getAttribute('href');
    expect(href).toMatch(/^\/attachments\/[0-9a-f]{32}$/);
    const url = `${app}${href}`;

    // Clicking the link: a download, the feed stays.
    const [clicked] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(clicked.url()).toBe(url);
    // The server's Content-Disposition name wins over the link's download="page.html".
    expect(clicked.suggestedFilename()).toBe('page.html.txt');
    expect(readFileSync((await clicked.path())!)).toEqual(HTML_FILE);
    expect(page.url()).toBe(`${app}/`);

    // Visiting it (no download attribute to help): the server's answer makes it a download.
    const visit = await context.newPage();
    const downloaded = visit.waitForEvent('download');
    const visited = await visit.goto(url).then(
      (response) => `a page (${response?.status()} ${response?.headers()['content-type']})`,
      (error: unknown) => (String(error).includes('Download is starting') ? 'download' : String(error)),
    );
    expect(visited).toBe('download');
    const download = await downloaded;
    expect(download.url()).toBe(url);
    expect(download.suggestedFilename(), 'saved as text, whatever the file claimed').toBe('page.html.txt');
    expect(readFileSync((await download.path())!)).toEqual(HTML_FILE);
    await visit.close();

    // An <iframe> of it on the app's own page: a download too, never a document of the site.
    const framed = page.waitForEvent('download');
    await page.evaluate((source) => {
      const frame = document.createElement('iframe');
      frame.src = source;
      document.body.append(frame);
    }, url);
    expect((await framed).url()).toBe(url);
    expect(page.frames().map((frame) => frame.url())).not.toContain(url);
    expect(await page.frames()[1]?.evaluate(() => document.getElementById('uploaded')?.textContent ?? null).catch(() => null)).toBeFalsy();

    await settle(page);
    expect(signals(tab)).toEqual([]);
    expect(tab.seen.downloads.map((each) => each.url())).toEqual([url, url, url]);
  });

  test('control: the stored HTML file, relayed as a page without its protections, renders and runs', async () => {
    const tab = await openTab();
    const { page } = tab;
    resetSignals(tab);
    await page.goto(`${theLab().app}/`);
    const href = await page.locator('li.status a[download]').first().getAttribute('href');
    expect(href).toMatch(/^\/attachments\/[0-9a-f]{32}$/);
    const id = href!.slice('/attachments/'.length);
    await page.goto(`${theLab().app}/__lab/relay/${id}`);
    expect(await page.textContent('#uploaded')).toBe('uploaded page');
    await until(() => tab.seen.ran.includes('binding:html-file') && theLab().beacons.includes('html-file'), 3000);
    expect(signals(tab)).toEqual(expect.arrayContaining(['binding:html-file', 'dialog:html-file', 'request:html-file', 'binding:html-file-onerror']));
    expect(tab.seen.downloads).toHaveLength(0);
  });

  test('controls: the XSS payloads served raw run without a CSP, and are seen blocked and reported under the app CSP', async () => {
    const tab = await openTab();
    const { page } = tab;
    const raw = `<!doctype html><html><head><title>raw</title></head><body><ol>${XSS_TEXTS.map((text) => `<li class="status"><p class="text">${text}</p></li>`).join('\n')}</ol></body></html>`;

    // No CSP: the oracles see the payloads run.
    resetSignals(tab);
    theLab().pages.set(`${APP_HOST}/__lab/raw`, { body: raw });
    await page.goto(`${theLab().app}/__lab/raw`);
    await until(() => XSS_SIGNALS.every((signal) => signals(tab).includes(signal)), 3000);
    await page.click('#js-link');
    const expected = [...XSS_SIGNALS, 'dialog:script', 'binding:javascript-link', 'dialog:javascript-link'];
    await until(() => expected.every((signal) => signals(tab).includes(signal)), 3000);
    expect(signals(tab)).toEqual(expect.arrayContaining(expected));
    // And the page-reading checks see markup: elements in the text, a javascript: link.
    expect(await page.locator('li.status p.text *').count()).toBeGreaterThan(0);
    expect(await statusTexts(page)).not.toEqual(XSS_TEXTS);

    // The app's own CSP (copied from the feed): nothing runs, and the violations are seen and reported.
    const feed = await page.goto(`${theLab().app}/`);
    const csp = feed?.headers()['content-security-policy'];
    expect(csp).toMatch(/script-src 'nonce-/);
    resetSignals(tab);
    theLab().pages.set(`${APP_HOST}/__lab/raw-csp`, { body: raw, headers: { 'content-security-policy': csp! } });
    await page.goto(`${theLab().app}/__lab/raw-csp`);
    await until(() => tab.seen.violations.length > 0 && theLab().cspReports.length > 0, 3000);
    expect(tab.seen.ran).toEqual([]);
    expect(tab.seen.violations.some((violation) => violation.startsWith('script-src'))).toBe(true);
    expect(theLab().cspReports.length).toBeGreaterThan(0);
    // Markup without script still gets through a CSP: only escaping stops the injected image.
    expect(theLab().beacons).toContain('markup-img');
  });

  test('deleting a status with its button removes it (and its attachment); then log out', async () => {
    const tab = aliceTab();
    const { page, context } = tab;
    const app = theLab().app;
    await page.goto(`${app}/`);
    const picture = page.locator('li.status', { has: page.locator('p.text', { hasText: /^a picture$/ }) });
    expect(await picture.count()).toBe(1);
    const id = await picture.getAttribute('id');
    const src = await picture.locator('img').getAttribute('src');
    const before = theLab().statusCount();
    const files = theLab().storedFiles().length;

    const answer = await submit(page, () => picture.locator('form[action$="/delete"] button').click());
    expect(answer.status()).toBe(303);
    expect(page.url()).toBe(`${app}/`);
    expect(await page.locator(`#${id}`).count()).toBe(0);
    expect(await page.locator('li.status p.text', { hasText: /^a picture$/ }).count()).toBe(0);
    expect(theLab().statusCount()).toBe(before - 1);
    expect(theLab().storedFiles()).toHaveLength(files - 1);
    expect((await page.goto(`${app}${src}`))?.status(), 'its attachment is gone').toBe(404);
    await page.goto(`${app}/u/alice`);
    expect(await page.locator(`#${id}`).count()).toBe(0);

    await logOut(page);
    expect(await loggedInAs(page)).toBeUndefined();
    expect(await page.locator('form.post').count()).toBe(0);
    expect(await page.locator('form[action$="/delete"]').count(), 'no delete buttons for a visitor').toBe(0);
    expect((await context.cookies(app)).some((cookie) => cookie.name === SESSION_COOKIE)).toBe(false);
    await page.goto(`${app}/u/alice`);
    expect(await loggedInAs(page)).toBeUndefined();
  });

  describe('CSRF: another site auto-submits a form to POST /statuses while the victim is logged in', () => {
    let victim: Tab | undefined;
    /** The tokens the attacker might hold. */
    const tokens: Record<string, string | undefined> = {};

    function victimTab(): Tab {
      chromium();
      if (!victim) throw new Error('the victim did not log in: see the first test of this group');
      return victim;
    }

    /** The attacker's page: a form posting `text` (and, multipart, a file) to the app as soon as it loads. */
    function forgery(action: string, encoding: 'urlencoded' | 'multipart', token: string | undefined, text: string): string {
      const attribute = (value: string): string => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
      const multipart = encoding === 'multipart';
      return `<!doctype html><title>you won</title>
<form id="forged" method="post" action="${attribute(action)}"${multipart ? ' enctype="multipart/form-data"' : ''}>
${token === undefined ? '' : `<input type="hidden" name="csrf_token" value="${attribute(token)}">`}
<input type="hidden" name="text" value="${attribute(text)}">
${multipart ? '<input type="file" name="attachment" id="file">' : ''}
</form>
<script>
${multipart ? "const files = new DataTransfer(); files.items.add(new File(['forged attachment'], 'forged.txt', { type: 'text/plain' })); document.getElementById('file').files = files.files;" : ''}
document.getElementById('forged').submit();
</script>`;
    }

    /**
     * Opens `pageUrl` (a page that auto-submits to POST /statuses), waits for the app's
     * answer to load, and returns it with the requests to /statuses the app received.
     */
    async function forge(pageUrl: string): Promise<{ status: number; code: string | null; received: Received[] }> {
      const { page } = victimTab();
      const from = theLab().received.length;
      const answered = page.waitForResponse((response) => response.url() === `${theLab().app}/statuses` && response.request().method() === 'POST');
      await page.goto(pageUrl, { waitUntil: 'commit' });
      const response = await answered;
      await page.waitForLoadState('load');
      const code = response.status() >= 400 ? await page.locator('code').first().textContent() : null;
      await until(() => theLab().received.slice(from).every((request) => request.status !== undefined), 2000);
      return { status: response.status(), code, received: theLab().received.slice(from).filter((request) => request.path === '/statuses') };
    }

    const ENCODINGS = ['urlencoded', 'multipart'] as const;
    const TOKENS = ['no token', 'a guessed token', "the attacker's own token", "the victim's token, issued before login", "the victim's current token (leaked)"] as const;

    test('the victim registers and logs in; the attacker holds a few tokens', async () => {
      victim = await openTab();
      const { page } = victim;
      const app = theLab().app;
      // Issued to the victim's browser before login.
      await page.goto(`${app}/login`);
      tokens["the victim's token, issued before login"] = await page.inputValue('form[action="/login"] input[name="csrf_token"]');
      expect((await register(page, 'victim')).status()).toBe(303);
      await page.goto(`${app}/`);
      tokens["the victim's current token (leaked)"] = await page.inputValue('form.post input[name="csrf_token"]');
      tokens['a guessed token'] = tokens["the victim's current token (leaked)"]!.replace(/[A-Za-z]/g, (letter) => (letter === 'A' ? 'B' : 'A'));
      // The attacker's own visit to the app: a real token, bound to the attacker's cookie.
      const attacker = await openTab();
      await attacker.page.goto(`${app}/login`);
      tokens["the attacker's own token"] = await attacker.page.inputValue('form[action="/login"] input[name="csrf_token"]');
      await attacker.context.close();
      expect(new Set(Object.values(tokens)).size).toBe(4);
      expect(await loggedInAs(page)).toBe('@victim');
    });

    test.each(ENCODINGS.flatMap((encoding) => TOKENS.map((token) => [encoding, token] as const)))('%s, %s: refused as cross-site, nothing changes', async (encoding, token) => {
      const { page } = victimTab();
      const { app, evil } = theLab();
      const before = { statuses: theLab().statusCount(), files: theLab().storedFiles() };
      const path = `/forge-${encoding}-${TOKENS.indexOf(token)}`;
      theLab().pages.set(`${ATTACKER_HOST}${path}`, { body: forgery(`${app}/statuses`, encoding, token === 'no token' ? undefined : tokens[token], `forged: ${encoding}, ${token}`) });

      const forged = await forge(`${evil}${path}`);
      expect(forged.received.map(({ method, fetchSite, session, status }) => ({ method, fetchSite, session, status }))).toEqual([
        // SameSite=Lax kept the session cookie home; CSRF protection refused the request anyway.
        { method: 'POST', fetchSite: 'cross-site', session: false, status: 403 },
      ]);
      expect(forged.received[0]!.contentType).toMatch(encoding === 'multipart' ? /^multipart\/form-data; boundary=/ : /^application\/x-www-form-urlencoded$/);
      expect({ status: forged.status, code: forged.code }).toEqual({ status: 403, code: 'csrf_cross_site' });
      expect(theLab().statusCount()).toBe(before.statuses);
      expect(theLab().storedFiles()).toEqual(before.files);
      await page.goto(`${app}/u/victim`);
      expect(await loggedInAs(page), 'the victim is still logged in').toBe('@victim');
      expect(await page.locator('li.status').count()).toBe(0);
    });

    test('with the session cookie made SameSite=None (so it travels cross-site), CSRF protection alone still refuses every variant', async () => {
      const { page, context } = victimTab();
      const { app, evil } = theLab();
      const cookie = (await context.cookies(app)).find((each) => each.name === SESSION_COOKIE)!;
      await context.addCookies([{ name: cookie.name, value: cookie.value, url: app, secure: true, httpOnly: true, sameSite: 'None' }]);
      try {
        const before = { statuses: theLab().statusCount(), files: theLab().storedFiles() };
        const seen: string[] = [];
        for (const encoding of ENCODINGS) {
          for (const token of [TOKENS[0], TOKENS[4]]) {
            const path = `/forge-none-${encoding}-${TOKENS.indexOf(token)}`;
            theLab().pages.set(`${ATTACKER_HOST}${path}`, { body: forgery(`${app}/statuses`, encoding, token === 'no token' ? undefined : tokens[token], 'forged with the cookie') });
            const forged = await forge(`${evil}${path}`);
            seen.push(`${encoding}, ${token}: ${forged.received.map((request) => `${request.fetchSite} session=${request.session} ${request.status}`).join()} ${forged.code}`);
          }
        }
        expect(seen).toEqual([
          'urlencoded, no token: cross-site session=true 403 csrf_cross_site',
          "urlencoded, the victim's current token (leaked): cross-site session=true 403 csrf_cross_site",
          'multipart, no token: cross-site session=true 403 csrf_cross_site',
          "multipart, the victim's current token (leaked): cross-site session=true 403 csrf_cross_site",
        ]);
        expect(theLab().statusCount()).toBe(before.statuses);
        expect(theLab().storedFiles()).toEqual(before.files);
        await page.goto(`${app}/`);
        expect(await loggedInAs(page)).toBe('@victim');
      } finally {
        await context.addCookies([{ name: cookie.name, value: cookie.value, url: app, secure: true, httpOnly: true, sameSite: 'Lax' }]);
      }
    });

    test('control: the same auto-submitting forms on a page of the app origin pass CSRF protection, and the multipart one posts (the count sees it)', async () => {
      const { page } = victimTab();
      const app = theLab().app;
      await page.goto(`${app}/`);
      const token = await page.inputValue('form.post input[name="csrf_token"]');
      const before = { statuses: theLab().statusCount(), files: theLab().storedFiles().length };
      const seen: string[] = [];
      for (const encoding of ENCODINGS) {
        theLab().pages.set(`${APP_HOST}/__lab/forge-${encoding}`, { body: forgery(`${app}/statuses`, encoding, token, `same origin, ${encoding}`) });
        const forged = await forge(`${app}/__lab/forge-${encoding}`);
        seen.push(`${encoding}: ${forged.received.map((request) => `${request.fetchSite} session=${request.session} ${request.status}`).join()} ${forged.code}`);
      }
      expect(seen).toEqual([
        // Past CSRF protection, both encodings post (the urlencoded one has no file).
        'urlencoded: same-origin session=true 303 null',
        'multipart: same-origin session=true 303 null',
      ]);
      expect(theLab().statusCount()).toBe(before.statuses + 2);
      expect(theLab().storedFiles()).toHaveLength(before.files + 1);
      await page.goto(`${app}/u/victim`);
      expect(await statusTexts(page)).toEqual(['same origin, multipart', 'same origin, urlencoded']);
      expect(await page.locator('li.status a[download]').textContent()).toBe('forged.txt');
    });
  });

  test('with JavaScript turned off: register, log out, log in, post (with an image), delete, log out', async () => {
    const tab = await openTab({ javaScriptEnabled: false });
    const { page } = tab;
    const app = theLab().app;
    expect((await register(page, 'no_script')).status()).toBe(303);
    expect(await loggedInAs(page)).toBe('@no_script');
    await logOut(page);
    expect(await loggedInAs(page)).toBeUndefined();
    expect((await logIn(page, 'no_script')).status()).toBe(303);
    expect(await loggedInAs(page)).toBe('@no_script');

    const before = theLab().statusCount();
    expect((await post(page, '<b>no script</b> needed')).status()).toBe(303);
    expect((await post(page, 'with a picture', { name: 'dot.png', mimeType: 'image/png', buffer: PICTURE })).status()).toBe(303);
    expect(theLab().statusCount()).toBe(before + 2);
    await page.goto(`${app}/u/no_script`);
    expect(await statusTexts(page)).toEqual(['with a picture', '<b>no script</b> needed']);
    expect(await page.locator('li.status img').count()).toBe(1);

    const first = page.locator('li.status').first();
    expect((await submit(page, () => first.locator('form[action$="/delete"] button').click())).status()).toBe(303);
    expect(theLab().statusCount()).toBe(before + 1);
    await page.goto(`${app}/u/no_script`);
    expect(await statusTexts(page)).toEqual(['<b>no script</b> needed']);
    await logOut(page);
    expect(await loggedInAs(page)).toBeUndefined();
  });
});
