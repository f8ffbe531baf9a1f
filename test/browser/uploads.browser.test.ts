/**
 * "Data should never be sent from uploaded files as pages of the site": an uploaded
 * file never runs script in the site's origin. Judged by headless Chromium against the
 * real reference app (see DESIGN.md, "Testing stance").
 *
 * The app is reached over HTTPS at `https://app.test:<port>` and an attacker's site at
 * `https://evil.test:<port>` (Chromium maps both names to 127.0.0.1: two sites). Between
 * the HTTPS front and the app sits a lab server: it answers a few paths of its own on
 * the app's origin (`/__lab/…`: a page without any CSP, controls, a relay of the stored
 * uploads, a beacon endpoint), answers every request for `evil.test` with a blank page,
 * and forwards everything else to the app.
 *
 * Files whose content is active (HTML with a script, an `onerror` image or a refresh to
 * a `javascript:` URL; SVG; XHTML; JavaScript; CSS; HTML named and typed as a PNG or a
 * JPEG; PNG and GIF polyglots) are uploaded with the app's own form. Then each stored
 * upload is given every chance to run: a top-level navigation, `window.open`, and an
 * `<iframe>`, `<object>`, `<embed>`, `<img>`, `<script>`, `<script type=module>`,
 * `<link rel=stylesheet>`, `Worker` and service worker, each from three pages: the app's
 * own page (with the app's CSP, which blocks some of them by itself), a page of the same
 * origin without any CSP, and the attacker's page.
 *
 * Three oracles listen for script: a beacon function the payloads call (`__xss(tag)`, a
 * Playwright binding, present in every frame), a beacon request (`/__lab/beacon/<tag>`,
 * recorded by the lab server) and dialogs (`alert`); and an element that loaded (a
 * script, a stylesheet that applied, a worker that posted, a registered service worker)
 * counts as run. Each attempt also says what stopped it, from what Chromium reports: a
 * download (`Content-Disposition: attachment`), a sandboxed document (the upload's
 * `CSP: sandbox`: an opaque origin, and Chromium logs that it blocked Playwright's init
 * scripts there), a refused MIME type (`nosniff`), a blocked cross-origin response
 * (CORP), the embedding page's own CSP, or the browser's own rules; the test holds the
 * table of what must stop each.
 *
 * Controls serve the same payloads with their active type and no protective header and
 * see every oracle fire; the ablation tests relay the stored bytes with one protection
 * removed and show which one each attack depends on. So no assertion passes because
 * nothing was observed.
 *
 * Every payload runs on the node:http app; a sample on Express, and on Fastify with
 * nosniff, CORP and CSP turned off app-wide (the uploads must carry their own).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page, Response as PageResponse } from 'playwright-core';
import type { RampartOptions } from 'rampart';
import { launchChromium, startFront, type Front } from '../support/browser.ts';
import { closeServer, listen, startTarget, testOptions, type AdapterName, type Target } from '../support/targets.ts';

const APP_HOST = 'app.test';
const ATTACKER_HOST = 'evil.test';
/**
 * `.test` is reserved (RFC 6761): no real DNS answers for it. Chromium refuses to fetch a
 * service worker script over a certificate error even in a context that ignores them,
 * so the switch does it for the whole browser (the fronts' certificates are throwaway).
 */
const CHROMIUM_ARGS = [`--host-resolver-rules=MAP ${APP_HOST} 127.0.0.1, MAP ${ATTACKER_HOST} 127.0.0.1`, '--ignore-certificate-errors'];

// ---------------------------------------------------------------------------------------------
// The payloads
// ---------------------------------------------------------------------------------------------

/** Script that reports `tag` by every channel it reaches: the binding, a request, and (`dialog`) an alert. */
function beacon(tag: string, dialog = false): string {
  return `try{__xss('${tag}')}catch(e){}try{fetch('/__lab/beacon/${tag}')}catch(e){}${dialog ? `try{alert('${tag}')}catch(e){}` : ''}`;
}

/** One file sent with the app's form. */
interface Payload {
  readonly key: string;
  /** The file name and type the browser sends: claims only. */
  readonly name: string;
  readonly mimeType: string;
  readonly body: Buffer;
  /** What the server must store it as (from its bytes), or `refused`. */
  readonly stored: 'text/plain' | 'image/png' | 'image/gif' | 'refused';
  /** The type under which these bytes are active (the control serves them so). */
  readonly activeType?: string;
  /** It decodes as an image (an `<img>` of it loads on a page of the site). */
  readonly decodes?: boolean;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** A real 1×1 PNG. */
const TINY_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

/** An HTML page that reports `tag` from a script and `<tag>-onload` from its body's `onload`. */
function htmlPage(tag: string): string {
  return `<!doctype html><html><head><title>uploaded</title><script>${beacon(tag)}</script></head><body onload="${beacon(`${tag}-onload`)}"><p id="uploaded">uploaded page</p></body></html>`;
}

const PAYLOADS: readonly Payload[] = [
  { key: 'html-script', name: 'page.html', mimeType: 'text/html', body: Buffer.from(htmlPage('html-script')), stored: 'text/plain', activeType: 'text/html' },
  {
    key: 'html-onerror',
    name: 'img.html',
    mimeType: 'text/html',
    body: Buffer.from(`<!doctype html><p>x</p><img src="x:" onerror="${beacon('html-onerror', true)}">`),
    stored: 'text/plain',
    activeType: 'text/html',
  },
  {
    key: 'html-meta-refresh',
    name: 'refresh.html',
    mimeType: 'text/html',
    // Chromium never follows a refresh to a javascript: URL (a control shows it refusing).
    body: Buffer.from(`<!doctype html><meta http-equiv="refresh" content="0;url=javascript:${beacon('html-meta-refresh')}">`),
    stored: 'text/plain',
    activeType: 'text/html',
  },
  {
    key: 'svg',
    name: 'image.svg',
    mimeType: 'image/svg+xml',
    body: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="${beacon('svg-onload')}"><script>${beacon('svg-script')}</script><rect width="10" height="10"/></svg>`),
    stored: 'text/plain',
    activeType: 'image/svg+xml',
  },
  {
    key: 'xhtml',
    name: 'page.xhtml',
    mimeType: 'application/xhtml+xml',
    body: Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title><script>${beacon('xhtml')}</script></head><body><p>x</p></body></html>`),
    stored: 'text/plain',
    activeType: 'application/xhtml+xml',
  },
  {
    key: 'js',
    name: 'app.js',
    mimeType: 'text/javascript',
    // In a page it calls the binding; a worker has none, and posts a message too.
    body: Buffer.from(`${beacon('js')}try{postMessage('js')}catch(e){}`),
    stored: 'text/plain',
    activeType: 'text/javascript',
  },
  {
    key: 'css',
    name: 'style.css',
    mimeType: 'text/css',
    // Applied, it colours #probe and requests its background: the beacon.
    body: Buffer.from('#probe{color:rgb(1, 2, 3);background-image:url(/__lab/beacon/css)}'),
    stored: 'text/plain',
    activeType: 'text/css',
  },
  { key: 'html-as-png', name: 'photo.png', mimeType: 'image/png', body: Buffer.from(htmlPage('html-as-png')), stored: 'text/plain', activeType: 'text/html' },
  { key: 'html-as-jpg', name: 'photo.jpg', mimeType: 'image/jpeg', body: Buffer.from(htmlPage('html-as-jpg')), stored: 'text/plain', activeType: 'text/html' },
  {
    key: 'png-polyglot',
    name: 'poly.png',
    mimeType: 'image/png',
    // The PNG signature, then an HTML page: the server sees a PNG, an HTML parser a page.
    body: Buffer.concat([PNG_SIGNATURE, Buffer.from(htmlPage('png-polyglot'))]),
    stored: 'image/png',
    activeType: 'text/html',
  },
  {
    key: 'gif-polyglot',
    name: 'poly.gif',
    mimeType: 'image/gif',
    // GIF89a/JavaScript: a GIF header that is also the start of a valid script.
    body: Buffer.from(`GIF89a=1;${beacon('gif-polyglot')}`),
    stored: 'image/gif',
    activeType: 'text/javascript',
    decodes: true,
  },
  {
    key: 'utf16-html',
    name: 'page.html',
    mimeType: 'text/html',
    // UTF-16 with a byte order mark: NUL bytes, so neither text nor an allowed signature.
    body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(htmlPage('utf16-html'), 'utf16le')]),
    stored: 'refused',
  },
  { key: 'png', name: 'dot.png', mimeType: 'image/png', body: TINY_PNG, stored: 'image/png', decodes: true },
];

const PAYLOAD = new Map(PAYLOADS.map((payload) => [payload.key, payload]));

function payload(key: string): Payload {
  const found = PAYLOAD.get(key);
  if (!found) throw new Error(`no payload ${key}`);
  return found;
}

/** What the other adapters are sampled with: a page, an SVG, a script, HTML claiming to be a PNG, the PNG polyglot, a real PNG. */
const SAMPLE_KEYS = ['html-script', 'svg', 'js', 'html-as-png', 'png-polyglot', 'png'];

// ---------------------------------------------------------------------------------------------
// The lab: the app's origin with a few paths of the test's own, and the attacker's site
// ---------------------------------------------------------------------------------------------

const BLANK_PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>lab</title></head><body><p id="probe">probe</p></body></html>';

interface Lab {
  /** `https://app.test:<port>`. */
  readonly app: string;
  /** `https://evil.test:<port>`. */
  readonly evil: string;
  /** `<host>:<tag>` of every beacon request received. */
  readonly beacons: string[];
  close(): Promise<void>;
}

/**
 * Starts the lab server and its HTTPS front. Every path below answers on both names
 * unless said otherwise:
 * - `/__lab/beacon/<tag>`: records the beacon (204);
 * - `evil.test`, any other path: a blank page without security headers;
 * - `/__lab/page`: a blank page without security headers, on the app's origin;
 *   `/__lab/quirks`: the same in quirks mode (no doctype);
 * - `/__lab/raw/<key>?type=…`: the payload's bytes with its active type (or `type`) and no other header;
 * - `/__lab/relay/<id>?drop=a,b&type=…`: the app's `GET /uploads/<id>`, with the headers
 *   named in `drop` removed and the type replaced by `type`;
 * - anything else: forwarded to the app unchanged.
 */
async function startLab(target: Target): Promise<Lab> {
  const upstream = new URL(target.url);
  const beacons: string[] = [];
  const forward = (req: IncomingMessage, res: ServerResponse, path: string, rewrite: (headers: IncomingHttpHeaders) => void = () => {}): void => {
    const outgoing = httpRequest({ host: upstream.hostname, port: upstream.port, path, method: req.method, headers: req.headers }, (answer) => {
      const headers = { ...answer.headers };
      rewrite(headers);
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    });
    outgoing.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(outgoing);
  };
  const page = (res: ServerResponse, body: string): void => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body);
  };
  const server: Server = createServer((req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const url = new URL(req.url ?? '/', 'http://lab');
    if (url.pathname.startsWith('/__lab/beacon/')) {
      beacons.push(`${host}:${decodeURIComponent(url.pathname.slice('/__lab/beacon/'.length))}`);
      res.writeHead(204, { 'access-control-allow-origin': '*' });
      res.end();
    } else if (host === ATTACKER_HOST || url.pathname === '/__lab/page') {
      page(res, BLANK_PAGE);
    } else if (url.pathname === '/__lab/quirks') {
      page(res, '<title>quirks</title><p id="probe">probe</p>');
    } else if (url.pathname.startsWith('/__lab/raw/')) {
      const found = PAYLOAD.get(url.pathname.slice('/__lab/raw/'.length));
      res.writeHead(found ? 200 : 404, { 'content-type': url.searchParams.get('type') ?? found?.activeType ?? 'text/plain' });
      res.end(found?.body);
    } else if (url.pathname.startsWith('/__lab/relay/')) {
      const drop = (url.searchParams.get('drop') ?? '').split(',').filter(Boolean);
      const type = url.searchParams.get('type');
      forward(req, res, `/uploads/${url.pathname.slice('/__lab/relay/'.length)}`, (headers) => {
        for (const name of drop) delete headers[name];
        if (type) headers['content-type'] = type;
      });
    } else {
      forward(req, res, req.url ?? '/');
    }
  });
  let front: Front;
  try {
    front = await startFront(await listen(server), { https: true });
  } catch (error) {
    await closeServer(server);
    throw error;
  }
  const port = new URL(front.url).port;
  return {
    app: `https://${APP_HOST}:${port}`,
    evil: `https://${ATTACKER_HOST}:${port}`,
    beacons,
    close: async () => {
      await front.close();
      await closeServer(server);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// What the browser shows
// ---------------------------------------------------------------------------------------------

declare global {
  interface Window {
    /** The beacon the payloads call (a Playwright binding: it reports to the test). */
    __xss?: (tag: unknown) => void;
    /** Where the init script reports each CSP violation (a Playwright binding). */
    __cspViolationSeen?: (description: string) => void;
  }
}

/** Runs in every document before its own scripts (Playwright init scripts bypass CSP, not a sandbox). */
function reportViolations(): void {
  window.addEventListener('securitypolicyviolation', (event) => window.__cspViolationSeen?.(`${event.effectiveDirective} ${event.blockedURI}`), true);
}

/** Everything a browser context saw. */
interface Observations {
  /** Script that ran: `binding:<tag> in <frame URL>` and `dialog:<message>`. */
  readonly ran: string[];
  /** URLs of the downloads that started (each is cancelled). */
  readonly downloads: string[];
  /** `<url> <suggested file name>` of each download. */
  readonly downloadNames: string[];
  /** Console and log messages of every page and frame: Chromium explains its refusals there. */
  readonly console: string[];
  /** `<url> <error>` of every failed request. */
  readonly failed: string[];
  /** `<directive> <blocked URL>` of every CSP violation in a document whose init script ran. */
  readonly violations: string[];
}

interface Tab {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly seen: Observations;
  close(): Promise<void>;
}

async function openTab(): Promise<Tab> {
  const context = await chromium().newContext({ acceptDownloads: true, ignoreHTTPSErrors: true });
  context.setDefaultTimeout(10_000);
  const seen: Observations = { ran: [], downloads: [], downloadNames: [], console: [], failed: [], violations: [] };
  try {
    await context.exposeBinding('__xss', (source, tag: unknown) => {
      seen.ran.push(`binding:${String(tag)} in ${source.frame.url()}`);
    });
    await context.exposeBinding('__cspViolationSeen', (_source, description: unknown) => {
      seen.violations.push(String(description));
    });
    await context.addInitScript(reportViolations);
    context.on('page', (page) => {
      page.on('dialog', (dialog) => {
        seen.ran.push(`dialog:${dialog.message()}`);
        void dialog.dismiss().catch(() => {});
      });
      page.on('download', (download) => {
        seen.downloads.push(download.url());
        seen.downloadNames.push(`${download.url()} ${download.suggestedFilename()}`);
        void download.cancel().catch(() => {});
      });
      page.on('console', (message) => seen.console.push(message.text()));
      page.on('requestfailed', (request) => seen.failed.push(`${request.url()} ${request.failure()?.errorText ?? ''}`));
    });
    const page = await context.newPage();
    return { context, page, seen, close: () => context.close() };
  } catch (error) {
    await context.close();
    throw error;
  }
}

/** Waits until `done()` or `ms` have passed. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 25));
}

/** Navigates `page` to `url`: its response, or `null` when the response is a download (not a page). */
async function navigate(page: Page, url: string): Promise<PageResponse | null> {
  try {
    return await page.goto(url);
  } catch (error) {
    if (String(error).includes('Download is starting')) return null;
    throw error;
  }
}

/**
 * What kept the document `url` from running as a page of the site: `attachment` (a
 * download started), or `CSP sandbox, <type>` when `page` shows it in an opaque origin
 * (what the CSP `sandbox` directive does); anything else says what `page` shows.
 */
async function documentStop(tab: Tab, url: string, page: Page | undefined): Promise<string> {
  if (!page || tab.seen.downloads.includes(url)) {
    await until(() => tab.seen.downloads.includes(url), 3000);
    return tab.seen.downloads.includes(url) ? 'attachment' : 'neither a download nor a page';
  }
  const [type, origin] = await page.evaluate(() => [document.contentType, self.origin]);
  return origin === 'null' ? `CSP sandbox, ${type}` : `not sandboxed: ${type}`;
}

/**
 * What kept the popup `url` (opened with `window.open`) from running as a page of the
 * site, as `documentStop` says it. A popup whose response is a download closes.
 */
async function popupStop(tab: Tab, url: string): Promise<string> {
  const popup = (): Page | undefined => tab.context.pages().find((page) => page.url() === url && !page.isClosed());
  await until(() => tab.seen.downloads.includes(url) || popup() !== undefined, 5000);
  const page = popup();
  if (page && !tab.seen.downloads.includes(url)) {
    // Closed, or loaded; either way what it became is known then.
    await Promise.race([page.waitForLoadState().catch(() => {}), page.waitForEvent('close').catch(() => {})]);
  }
  return documentStop(tab, url, page && !page.isClosed() ? page : undefined);
}

/** Signals of script: the binding and dialogs seen in the tab, and beacon requests the lab received. */
function scriptSignals(tab: Tab, lab: Lab): string[] {
  return [...tab.seen.ran, ...lab.beacons.map((beaconSeen) => `request:${beaconSeen}`)];
}

// ---------------------------------------------------------------------------------------------
// The ways a page can try to run an upload
// ---------------------------------------------------------------------------------------------

const VECTORS = ['iframe', 'object', 'embed', 'img', 'script', 'module', 'stylesheet', 'worker', 'serviceworker'] as const;
type Vector = (typeof VECTORS)[number];

/** What the element (or worker, or registration) said about one URL. */
interface Outcome {
  readonly vector: Vector;
  readonly url: string;
  /** `load`, `error`, `message` (a worker's), `registered`, `rejected`, `threw` or `timeout`. */
  readonly event: string;
  readonly detail: string;
}

/** What `embed` is given: `[vector, url]` pairs, and how long to wait for frames and for everything else (ms). */
type EmbedArguments = [items: (readonly [Vector, string])[], frameWaitMs: number, eventWaitMs: number];

/**
 * Runs in the page: loads every `[vector, url]` at once and reports how each went. A
 * frame whose response is a download fires nothing: frames end in `timeout` after
 * `frameWaitMs`, and the test looks for the download; everything else ends with an
 * event, or in `timeout` after `eventWaitMs`.
 */
async function embed([items, frameWaitMs, eventWaitMs]: EmbedArguments): Promise<Outcome[]> {
  const timeout = <T>(promise: Promise<T>, fallback: () => T, waitMs = eventWaitMs): Promise<T> =>
    Promise.race([promise, new Promise<T>((resolve) => setTimeout(() => resolve(fallback()), waitMs))]);
  const probe = document.getElementById('probe');
  const loading = (vector: Vector, url: string, element: EventTarget, describe: () => string = () => ''): Promise<Outcome> =>
    timeout(
      new Promise<Outcome>((resolve) => {
        element.addEventListener('load', () => resolve({ vector, url, event: 'load', detail: describe() }));
        element.addEventListener('error', () => resolve({ vector, url, event: 'error', detail: describe() }));
      }),
      () => ({ vector, url, event: 'timeout', detail: describe() }),
      vector === 'iframe' || vector === 'object' || vector === 'embed' ? frameWaitMs : eventWaitMs,
    );
  const frameText = (doc: Document | null): string => (doc ? `readable: ${doc.URL} ${JSON.stringify(doc.body?.textContent?.slice(0, 40) ?? null)}` : 'not readable');
  const one = async (vector: Vector, url: string): Promise<Outcome> => {
    switch (vector) {
      case 'iframe': {
        const frame = document.createElement('iframe');
        frame.src = url;
        document.body.append(frame);
        return loading(vector, url, frame, () => frameText(frame.contentDocument));
      }
      case 'object': {
        const object = document.createElement('object');
        object.data = url;
        document.body.append(object);
        return loading(vector, url, object, () => frameText(object.contentDocument));
      }
      case 'embed': {
        const element = document.createElement('embed');
        element.src = url;
        document.body.append(element);
        return loading(vector, url, element);
      }
      case 'img': {
        const image = document.createElement('img');
        image.src = url;
        document.body.append(image);
        return loading(vector, url, image, () => `naturalWidth ${image.naturalWidth}`);
      }
      case 'script':
      case 'module': {
        const script = document.createElement('script');
        if (vector === 'module') script.type = 'module';
        script.src = url;
        document.body.append(script);
        return loading(vector, url, script);
      }
      case 'stylesheet': {
        const link = document.createElement('link');
        link.rel = 'stylesheet';
        link.href = url;
        document.head.append(link);
        return loading(vector, url, link, () => {
          let rules = 'unreadable';
          try {
            rules = String(link.sheet?.cssRules.length ?? 'no');
          } catch {
            // A cross-origin sheet's rules cannot be read (it would still apply).
          }
          return `${rules} rules, #probe color ${probe ? getComputedStyle(probe).color : 'n/a'}`;
        });
      }
      case 'worker': {
        const worker = new Worker(url);
        return timeout(
          new Promise<Outcome>((resolve) => {
            worker.addEventListener('message', (event) => resolve({ vector, url, event: 'message', detail: String(event.data) }));
            worker.addEventListener('error', () => resolve({ vector, url, event: 'error', detail: '' }));
          }),
          () => ({ vector, url, event: 'timeout', detail: '' }),
        );
      }
      case 'serviceworker':
        return timeout(
          navigator.serviceWorker.register(url, { scope: new URL('./', new URL(url, location.href)).pathname }).then(
            async (registration) => {
              await registration.unregister();
              return { vector, url, event: 'registered', detail: registration.scope };
            },
            (error: unknown) => ({ vector, url, event: 'rejected', detail: String(error) }),
          ),
          () => ({ vector, url, event: 'timeout', detail: '' }),
        );
    }
  };
  return Promise.all(
    items.map(([vector, url]) => one(vector, url).catch((error: unknown): Outcome => ({ vector, url, event: 'threw', detail: String(error) }))),
  );
}

/** The outcomes that are script or style running, whatever the oracles saw. */
function ranInElement(outcome: Outcome): boolean {
  switch (outcome.vector) {
    case 'script':
    case 'module':
      return outcome.event === 'load';
    case 'worker':
      return outcome.event === 'message';
    case 'serviceworker':
      return outcome.event === 'registered';
    case 'stylesheet':
      return outcome.detail.includes('rgb(1, 2, 3)') || /^[1-9]\d* rules/.test(outcome.detail);
    case 'iframe':
    case 'object':
      return outcome.detail.includes('uploaded page');
    default:
      return false;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * What stopped the attempt to load `outcome.url`, from what Chromium reported (the
 * first that applies), or `undefined` when nothing says.
 */
function stoppedBy(outcome: Outcome, seen: Observations): string | undefined {
  const { vector, url, event, detail } = outcome;
  const quoted = escapeRegExp(`'${url}'`);
  const message = (pattern: RegExp): RegExpExecArray | undefined => seen.console.map((text) => pattern.exec(text)).find((match) => match !== null) ?? undefined;
  const violation = seen.violations.find((description) => description.endsWith(` ${url}`));
  if (violation) return `page CSP: ${violation.split(' ')[0]}`;
  if (seen.downloads.includes(url)) return 'attachment';
  const failure = seen.failed.find((line) => line.startsWith(`${url} `));
  if (failure?.endsWith('net::ERR_BLOCKED_BY_RESPONSE.NotSameOrigin')) return 'CORP';
  if (failure?.endsWith('net::ERR_BLOCKED_BY_ORB')) return 'ORB';
  if (message(new RegExp(`^Blocked script execution in ${quoted} because the document's frame is sandboxed`))) return 'CSP sandbox';
  const script = message(new RegExp(`^Refused to execute script from ${quoted} because its MIME type \\('([^']+)'\\) is not executable, and strict MIME type checking is enabled`));
  if (script) return `nosniff: ${script[1]}`;
  const style = message(new RegExp(`^Refused to apply style from ${quoted} because its MIME type \\('([^']+)'\\) is not a supported stylesheet MIME type, and strict MIME checking is enabled`));
  if (style) return `nosniff: ${style[1]}`;
  if (message(new RegExp(`^Access to script at ${quoted} from origin '[^']+' has been blocked by CORS policy`))) return 'CORS';
  if (vector === 'module' && event === 'error' && message(/^Failed to load module script: Expected a JavaScript-or-Wasm module script but the server responded with a MIME type of/)) {
    return 'modules need a JavaScript type';
  }
  if (vector === 'worker' && event === 'threw' && detail.includes('cannot be accessed from origin')) return 'same origin only';
  // Chromium reports no reason to the page; the ablation test shows it is nosniff.
  if (vector === 'worker' && event === 'error') return 'worker refused';
  if (vector === 'serviceworker' && event === 'rejected') {
    if (detail.includes('does not match the current origin')) return 'same origin only';
    const type = /unsupported MIME type \('([^']+)'\)/.exec(detail);
    if (type) return `service workers need a JavaScript type, not ${type[1]}`;
  }
  if (vector === 'img' && event === 'error') return 'not an image';
  if (vector === 'img' && event === 'load' && detail !== 'naturalWidth 0') return 'an image';
  return undefined;
}

/** The page an attempt is made from. */
type Host = 'app page' | 'same-origin page' | 'other site';
const HOSTS: readonly Host[] = ['app page', 'same-origin page', 'other site'];

/** How each host marks its requests (`?via=<mark>-<vector>`). */
const VIA: Readonly<Record<Host, string>> = { 'app page': 'app', 'same-origin page': 'lab', 'other site': 'evil' };

function hostUrl(lab: Lab, host: Host): string {
  return host === 'app page' ? `${lab.app}/` : host === 'same-origin page' ? `${lab.app}/__lab/page` : `${lab.evil}/`;
}

/**
 * What must stop `vector` loading the stored `payload` from `host`: the table the test
 * checks. `appCsp` says the app's pages carry the app's CSP.
 */
function expectedStop(host: Host, vector: Vector, stored: Payload, appCsp: boolean): string {
  const image = stored.stored !== 'text/plain';
  const crossSite = host === 'other site';
  switch (vector) {
    case 'iframe':
      return image ? 'CSP sandbox' : 'attachment';
    case 'object':
    case 'embed':
      if (host === 'app page' && appCsp) return 'page CSP: object-src';
      return image ? 'CSP sandbox' : 'attachment';
    case 'img':
      if (crossSite) return 'CORP';
      return stored.decodes ? 'an image' : 'not an image';
    case 'script':
    case 'stylesheet':
      return crossSite ? 'CORP' : `nosniff: ${stored.stored}`;
    case 'module':
      return crossSite ? 'CORS' : 'modules need a JavaScript type';
    case 'worker':
      return crossSite ? 'same origin only' : 'worker refused';
    case 'serviceworker':
      return crossSite ? 'same origin only' : `service workers need a JavaScript type, not ${stored.stored}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

let browser: Browser | undefined;
/** Why Chromium did not start: every test fails with it (a failing hook would only mark them skipped). */
let launchError: unknown;

beforeAll(async () => {
  browser = await launchChromium(CHROMIUM_ARGS).catch((error: unknown) => {
    launchError = error;
    return undefined;
  });
});

afterAll(async () => {
  await browser?.close();
});

function chromium(): Browser {
  if (!browser) throw launchError instanceof Error ? launchError : new Error(`Chromium did not start: ${String(launchError)}`);
  return browser;
}

interface UploadAnswer {
  readonly status: number;
  readonly json?: { readonly id?: string; readonly name?: string; readonly type?: string; readonly size?: number } | undefined;
}

/** Chooses `file` in the app's own upload form, in the browser, submits it, and returns the answer of `POST /upload`. */
async function uploadThroughForm(page: Page, app: string, file: Payload): Promise<UploadAnswer> {
  await page.goto(`${app}/`);
  const form = page.locator('form[action="/upload"]');
  await form.locator('input[type="file"][name="file"]').setInputFiles({ name: file.name, mimeType: file.mimeType, buffer: file.body });
  const [response] = await Promise.all([
    page.waitForResponse((response) => response.url() === `${app}/upload` && response.request().method() === 'POST'),
    form.locator('button').click(),
  ]);
  const status = response.status();
  return status === 201 ? { status, json: (await response.json()) as UploadAnswer['json'] } : { status };
}

/** How many pages upload at once. */
const PARALLEL_UPLOADS = 4;

/** A stored upload: its payload and id. */
interface Stored {
  readonly payload: Payload;
  readonly id: string;
}

/** What the tests of one adapter share: its lab, and what its form stored. */
interface Suite {
  lab(): Lab;
  /** The stored uploads, or an error when the first test stored none. */
  uploads(): Stored[];
  /** `https://app.test:<port>/uploads/<id>?via=<via>`: `via` tells the requests of each attempt apart (the app ignores it). */
  uploadUrl(upload: Stored, via: string): string;
}

/**
 * Starts the reference app of `adapter` behind a lab, and defines the tests every
 * adapter runs: the payloads `keys` are uploaded with the app's form, then given every
 * chance to run.
 */
function uploadTests(adapter: AdapterName, keys: readonly string[], options: RampartOptions = {}): Suite {
  /** Every payload: the samples leave out `window.open`, which the first suite covers. */
  const everything = keys.length === PAYLOADS.length;
  const payloads = keys.map(payload);
  let target: Target | undefined;
  let running: Lab | undefined;
  let directory: string | undefined;
  const stored: Stored[] = [];

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'rampart-uploads-browser-'));
    target = await startTarget(adapter, { ...testOptions(options), uploadsDirectory: directory } as RampartOptions);
    running = await startLab(target);
  });

  beforeEach(() => {
    // Late beacons of an earlier test are not this test's.
    if (running) running.beacons.length = 0;
  });

  afterAll(async () => {
    await running?.close();
    await target?.close();
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  const suite: Suite = {
    lab: () => {
      if (!running) throw new Error(`the ${adapter} app did not start`);
      return running;
    },
    uploads: () => {
      if (stored.length === 0) throw new Error('nothing was stored: see the first test of this adapter');
      return stored;
    },
    uploadUrl: (upload, via) => `${suite.lab().app}/uploads/${upload.id}?via=${via}`,
  };
  const { lab, uploads, uploadUrl } = suite;

  test(`the app's form stores active content as text/plain and image polyglots as their image type${everything ? ', and refuses UTF-16 HTML' : ''}`, async () => {
    const tab = await openTab();
    try {
      // The CSRF binding cookie first, so that every page's form is bound to the same one.
      await tab.page.goto(`${lab().app}/`);
      const pages = [tab.page, ...(await Promise.all(Array.from({ length: PARALLEL_UPLOADS - 1 }, () => tab.context.newPage())))];
      const answers: UploadAnswer[] = [];
      let next = 0;
      await Promise.all(
        pages.map(async (page) => {
          for (let index = next++; index < payloads.length; index = next++) answers[index] = await uploadThroughForm(page, lab().app, payloads[index]!);
        }),
      );
      const seen: Record<string, string> = {};
      const expected: Record<string, string> = {};
      payloads.forEach((file, index) => {
        const answer = answers[index]!;
        seen[file.key] = answer.status === 201 ? `${answer.status} ${answer.json?.type} ${answer.json?.size}` : String(answer.status);
        expected[file.key] = file.stored === 'refused' ? '415' : `201 ${file.stored} ${file.body.length}`;
        if (answer.status === 201 && answer.json?.id) stored.push({ payload: file, id: answer.json.id });
      });
      expect(seen).toEqual(expected);
      expect(scriptSignals(tab, lab()), 'the JSON answers run nothing').toEqual([]);
    } finally {
      await tab.close();
    }
  });

  test('a top-level navigation to each upload downloads it, or shows an image in a sandbox; nothing runs', async () => {
    const tab = await openTab();
    try {
      const seen: Record<string, string> = {};
      const expected: Record<string, string> = {};
      const policies: Record<string, string | undefined> = {};
      const names: Record<string, string> = {};
      for (const upload of uploads()) {
        const url = uploadUrl(upload, 'navigate');
        const response = await navigate(tab.page, url);
        seen[upload.payload.key] = await documentStop(tab, url, response ? tab.page : undefined);
        expected[upload.payload.key] = upload.payload.stored === 'text/plain' ? 'attachment' : `CSP sandbox, ${upload.payload.stored}`;
        if (response) policies[upload.payload.key] = response.headers()['content-security-policy'];
        const downloaded = tab.seen.downloadNames.find((line) => line.startsWith(`${url} `))?.slice(url.length + 1);
        if (downloaded !== undefined) names[upload.payload.key] = downloaded;
      }
      expect(seen).toEqual(expected);
      expect(scriptSignals(tab, lab())).toEqual([]);
      // The pages shown are the images, under the upload's own policy (not the app's).
      expect(Object.values(policies)).toEqual(uploads().filter((upload) => upload.payload.stored !== 'text/plain').map(() => "default-src 'none'; sandbox"));
      // Saved, a download keeps a .txt name: a system that opens it by extension opens it as text.
      const text = uploads().filter((upload) => upload.payload.stored === 'text/plain');
      expect(names).toEqual(Object.fromEntries(text.map(({ payload: file }) => [file.key, `${file.name}.txt`])));
    } finally {
      await tab.close();
    }
  });

  if (everything) {
    test('window.open of each upload, from a same-origin page and from another site: downloads and sandboxed images; nothing runs', async () => {
      const tab = await openTab();
      try {
        const seen: Record<string, string> = {};
        const expected: Record<string, string> = {};
        const opener = await tab.context.newPage();
        await Promise.all(
          (['same-origin page', 'other site'] as const).map(async (host) => {
            const page = host === 'other site' ? opener : tab.page;
            await page.goto(hostUrl(lab(), host));
            const urls = uploads().map((upload) => uploadUrl(upload, `open-${VIA[host]}`));
            await page.evaluate((targets) => {
              for (const url of targets) window.open(url);
            }, urls);
            const stops = await Promise.all(urls.map((url) => popupStop(tab, url)));
            uploads().forEach((upload, index) => {
              seen[`${host}: ${upload.payload.key}`] = stops[index]!;
              expected[`${host}: ${upload.payload.key}`] = upload.payload.stored === 'text/plain' ? 'attachment' : `CSP sandbox, ${upload.payload.stored}`;
            });
          }),
        );
        expect(seen).toEqual(expected);
        expect(scriptSignals(tab, lab())).toEqual([]);
      } finally {
        await tab.close();
      }
    });
  }

  test(`from the app page, a same-origin page and another site, each upload by ${VECTORS.join(', ')}: nothing runs, and the expected protection stops each`, async () => {
    const tab = await openTab();
    try {
      const pages = [tab.page, ...(await Promise.all(HOSTS.slice(1).map(() => tab.context.newPage())))];
      // One page per host, each loading every upload every way at once; `via` tells the requests apart.
      const outcomes = (
        await Promise.all(
          HOSTS.map(async (host, index) => {
            const page = pages[index]!;
            await page.goto(hostUrl(lab(), host));
            const items = uploads().flatMap((upload) => VECTORS.map((vector) => [vector, uploadUrl(upload, `${VIA[host]}-${vector}`)] as const));
            const answers = await page.evaluate(embed, [items, 1000, 15_000] as EmbedArguments);
            return answers.map((outcome, position) => ({ host, upload: uploads()[Math.floor(position / VECTORS.length)]!, outcome }));
          }),
        )
      ).flat();
      // A frame's download may start after its page stopped waiting for it.
      await until(() => outcomes.every(({ outcome }) => stoppedBy(outcome, tab.seen) !== undefined), 5000);
      const seen: Record<string, string> = {};
      const expected: Record<string, string> = {};
      const appCsp = options.headers?.contentSecurityPolicy !== false;
      for (const { host, upload, outcome } of outcomes) {
        const cell = `${host}: ${outcome.vector} ${upload.payload.key}`;
        seen[cell] = ranInElement(outcome) ? `RAN (${outcome.event} ${outcome.detail})` : (stoppedBy(outcome, tab.seen) ?? `unexplained: ${outcome.event} ${outcome.detail}`);
        expected[cell] = expectedStop(host, outcome.vector, upload.payload, appCsp);
      }
      expect(seen).toEqual(expected);
      expect(scriptSignals(tab, lab())).toEqual([]);
    } finally {
      await tab.close();
    }
  }, 90_000);

  test('an unknown id that carries markup: a 404 that neither echoes it nor runs it', async () => {
    const tab = await openTab();
    try {
      // Short enough for every router (Fastify answers 414 to a parameter over 100 characters).
      const markup = "<svg/onload=__xss('not-found')>";
      const response = await tab.page.goto(`${lab().app}/uploads/${encodeURIComponent(markup)}`);
      expect(response?.status()).toBe(404);
      expect(await response?.text()).not.toContain('onload');
      expect(await tab.page.locator('svg').count()).toBe(0);
      expect(scriptSignals(tab, lab())).toEqual([]);
    } finally {
      await tab.close();
    }
  });

  return suite;
}

describe('node adapter, in Chromium: every payload', () => {
  const { lab, uploads, uploadUrl } = uploadTests('node', PAYLOADS.map((each) => each.key));
  /** One tab for the short tests below, emptied before each: a new context each time costs more than they do. */
  let shared: Tab | undefined;
  async function freshTab(): Promise<Tab> {
    shared ??= await openTab();
    for (const list of Object.values(shared.seen) as string[][]) list.length = 0;
    return shared;
  }
  afterAll(async () => {
    await shared?.close();
  });

  const storedId = (key: string): string => {
    const found = uploads().find((upload) => upload.payload.key === key);
    if (!found) throw new Error(`${key} was not stored`);
    return found.id;
  };

  test('an uploaded PNG shows inline in an <img> of the app page and of a same-origin page, not on another site (CORP)', async () => {
    const tab = await freshTab();
    const png = uploads().find((upload) => upload.payload.key === 'png');
    if (!png) throw new Error('the PNG was not stored');
    const widths: Record<string, string> = {};
    for (const host of HOSTS) {
      await tab.page.goto(hostUrl(lab(), host));
      const [outcome] = await tab.page.evaluate(embed, [[['img', uploadUrl(png, `png-${host.replace(/\W/g, '')}`)]], 3000, 3000] as EmbedArguments);
      widths[host] = `${outcome?.event} ${outcome?.detail}`;
    }
    expect(widths).toEqual({ 'app page': 'load naturalWidth 1', 'same-origin page': 'load naturalWidth 1', 'other site': 'error naturalWidth 0' });
  });

  /**
   * The controls: each payload with its active type and no protective header, from the
   * lab (same origin, no CSP). Each must set off the oracles, so that their silence
   * above means something.
   */
  const CONTROLS: readonly (readonly [string, Vector | 'navigate', readonly string[]])[] = [
    ['html-script', 'navigate', ['binding:html-script', 'binding:html-script-onload', 'request:html-script', 'request:html-script-onload']],
    ['html-onerror', 'navigate', ['binding:html-onerror', 'dialog:html-onerror', 'request:html-onerror']],
    ['svg', 'navigate', ['binding:svg-script', 'binding:svg-onload', 'request:svg-script', 'request:svg-onload']],
    ['xhtml', 'navigate', ['binding:xhtml', 'request:xhtml']],
    ['html-as-png', 'navigate', ['binding:html-as-png', 'request:html-as-png']],
    ['png-polyglot', 'navigate', ['binding:png-polyglot', 'request:png-polyglot']],
    ['html-script', 'iframe', ['binding:html-script', 'request:html-script']],
    ['svg', 'object', ['binding:svg-script', 'request:svg-script']],
    ['svg', 'embed', ['binding:svg-script', 'request:svg-script']],
    ['js', 'script', ['binding:js', 'request:js']],
    ['js', 'module', ['binding:js', 'request:js']],
    ['js', 'worker', ['message:js']],
    ['js', 'serviceworker', ['registered', 'request:js']],
    ['css', 'stylesheet', ['applied', 'request:css']],
    ['gif-polyglot', 'script', ['binding:gif-polyglot', 'request:gif-polyglot']],
  ];

  describe('controls: the same payloads served with their active type and no protective header do run', () => {
    test.each(CONTROLS)('%s by %s', async (key, vector, signals) => {
      const tab = await freshTab();
      const url = `${lab().app}/__lab/raw/${key}`;
      const events: string[] = [];
      if (vector === 'navigate') {
        await tab.page.goto(url);
      } else {
        await tab.page.goto(`${lab().app}/__lab/page`);
        const [outcome] = await tab.page.evaluate(embed, [[[vector, url]], 3000, 3000] as EmbedArguments);
        if (outcome?.event === 'message') events.push(`message:${outcome.detail}`);
        if (outcome?.event === 'registered') events.push('registered');
        if (outcome?.vector === 'stylesheet' && ranInElement(outcome)) events.push('applied');
      }
      // Every signal of the payload, without the frame each binding call came from.
      const observed = (): string[] => [
        ...tab.seen.ran.map((signal) => signal.replace(/ in .*$/, '')),
        ...lab().beacons.map((request) => `request:${request.replace(/^[^:]+:/, '')}`),
        ...events,
      ];
      await until(() => signals.every((signal) => observed().includes(signal)), 3000);
      expect(observed()).toEqual(expect.arrayContaining([...signals]));
    });

    test('the refresh to a javascript: URL: Chromium itself refuses to follow it, even with no protection at all', async () => {
      const tab = await freshTab();
      await tab.page.goto(`${lab().app}/__lab/raw/html-meta-refresh`);
      await until(() => tab.seen.console.some((text) => text.startsWith('Refused to refresh')), 3000);
      expect(tab.seen.console).toContainEqual(expect.stringMatching(/^Refused to refresh .* to a javascript: URL/));
      expect(scriptSignals(tab, lab())).toEqual([]);
    });
  });

  /**
   * Ablation: the stored bytes, relayed by the lab with one protection removed, show what
   * each attack depends on, and that each check above can fail.
   */
  describe('ablation: the stored uploads relayed with protections removed', () => {
    test.each([
      ['as text/html without attachment and CSP, the stored page runs (the relay and the oracles work)', 'type=text/html&drop=content-disposition,content-security-policy', 'runs'],
      ['as text/html with the CSP sandbox alone: nothing runs', 'type=text/html&drop=content-disposition', 'CSP sandbox, text/html'],
      ['as text/html with attachment alone: a download, nothing runs', 'type=text/html&drop=content-security-policy', 'attachment'],
      ['as text/plain alone (no attachment, no CSP, no nosniff): inert text', 'drop=content-disposition,content-security-policy,x-content-type-options', 'not sandboxed: text/plain'],
    ])('a navigation to the uploaded HTML, %s', async (_name, query, expected) => {
      const tab = await freshTab();
      const url = `${lab().app}/__lab/relay/${storedId('html-script')}?${query}`;
      const response = await navigate(tab.page, url);
      if (expected === 'runs') {
        await until(() => tab.seen.ran.length >= 2 && lab().beacons.length >= 2, 3000);
        expect(scriptSignals(tab, lab())).toEqual(expect.arrayContaining([`binding:html-script in ${url}`, 'request:app.test:html-script']));
        return;
      }
      expect(await documentStop(tab, url, response ? tab.page : undefined)).toBe(expected);
      expect(scriptSignals(tab, lab())).toEqual([]);
    });

    test.each([
      ['without nosniff, the uploaded script runs from <script src> on a same-origin page', 'js', 'script', 'page', 'x-content-type-options'],
      ['without nosniff, the uploaded script runs as a Worker of the site', 'js', 'worker', 'page', 'x-content-type-options'],
      ['without nosniff, the uploaded CSS applies to a same-origin page in quirks mode', 'css', 'stylesheet', 'quirks', 'x-content-type-options'],
      ['without nosniff and CORP, the uploaded script runs from <script src> on another site (in its origin)', 'js', 'script', 'evil', 'x-content-type-options,cross-origin-resource-policy'],
    ])('%s', async (_name, key, vector, page, drop) => {
      const tab = await freshTab();
      await tab.page.goto(page === 'evil' ? `${lab().evil}/` : `${lab().app}/__lab/${page}`);
      const url = `${lab().app}/__lab/relay/${storedId(key)}?drop=${drop}`;
      const [outcome] = await tab.page.evaluate(embed, [[[vector as Vector, url]], 3000, 3000] as EmbedArguments);
      expect(outcome && ranInElement(outcome), JSON.stringify(outcome)).toBe(true);
    });

    test.each([
      ['without CORP, the uploaded PNG loads in an <img> of another site', 'png', 'img', 'cross-origin-resource-policy', 'load naturalWidth 1'],
      ['without CORP, ORB still refuses the uploaded script to another site (nosniff and text/plain)', 'js', 'script', 'cross-origin-resource-policy', 'ORB'],
    ])('%s', async (_name, key, vector, drop, expected) => {
      const tab = await freshTab();
      await tab.page.goto(`${lab().evil}/`);
      const url = `${lab().app}/__lab/relay/${storedId(key)}?drop=${drop}`;
      const [outcome] = await tab.page.evaluate(embed, [[[vector as Vector, url]], 3000, 3000] as EmbedArguments);
      expect(outcome?.event === 'load' ? `${outcome.event} ${outcome.detail}` : outcome && stoppedBy(outcome, tab.seen)).toBe(expected);
    });
  });
});

describe('express adapter, in Chromium: a sample of the payloads', () => {
  uploadTests('express', SAMPLE_KEYS);
});

/**
 * A site that loosened its headers app-wide (no nosniff, CORP cross-origin, no CSP on
 * its pages): the uploads keep their own protections, which are then the only ones.
 * On Fastify.
 */
describe('fastify adapter, in Chromium, with nosniff, CORP and CSP turned off app-wide: a sample of the payloads', () => {
  uploadTests('fastify', SAMPLE_KEYS, { headers: { xContentTypeOptions: false, crossOriginResourcePolicy: 'cross-origin', contentSecurityPolicy: false } });
});
