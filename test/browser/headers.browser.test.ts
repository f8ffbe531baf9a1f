/**
 * The security headers, judged by the browser that enforces them: headless Chromium
 * against the real reference app of every adapter (see DESIGN.md, "Testing stance").
 *
 * Every protection is tested as an attack, next to a control that removes the
 * protection and shows the same attack succeeding, so no assertion passes because
 * the test failed to observe something.
 */

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { CspViolation } from 'rampart';
import { launchChromium, startFramingHost, startFront, type FramingHost, type Front } from '../support/browser.ts';
import { ADAPTERS, startTarget, testOptions, type Target } from '../support/targets.ts';

/** What a stored XSS puts into a page: an inline script and an inline event handler. */
const INJECTION = '<script>window.__injected = true</script>\n<img src="data:," onerror="window.__handler = true">\n';

/** How long the report endpoint may take to receive the browser's reports. */
const REPORT_TIMEOUT_MS = 3000;

/** A CSP violation as the page's `securitypolicyviolation` event describes it. */
interface PageViolation {
  readonly effectiveDirective: string;
  readonly blockedURI: string;
  readonly disposition: string;
}

declare global {
  interface Window {
    __injected?: boolean;
    __handler?: boolean;
    __violations?: PageViolation[];
  }
}

/** Runs in every document before its own scripts (Playwright init scripts bypass CSP). */
function recordViolations(): void {
  const seen: PageViolation[] = [];
  window.__violations = seen;
  window.addEventListener(
    'securitypolicyviolation',
    (event) => seen.push({ effectiveDirective: event.effectiveDirective, blockedURI: event.blockedURI, disposition: event.disposition }),
    true,
  );
}

/** The nonce of each `'nonce-…'` source of the CSP header, and of each `nonce="…"` attribute of the body. */
function nonces(csp: string | undefined, body: string): { header: string[]; script: string[]; style: string[] } {
  return {
    header: [...(csp ?? '').matchAll(/'nonce-([^']*)'/g)].map((match) => match[1] ?? ''),
    script: [...body.matchAll(/<script nonce="([^"]*)">/g)].map((match) => match[1] ?? ''),
    style: [...body.matchAll(/<style nonce="([^"]*)">/g)].map((match) => match[1] ?? ''),
  };
}

/** Text of an element of a frame, or null when the frame has no such element or cannot be read. */
async function textOf(page: Page, frameId: string, selector: string): Promise<{ url: string; text: string | null }> {
  const frame = await (await page.$(`#${frameId}`))?.contentFrame();
  if (!frame) return { url: '', text: null };
  const text = await frame.evaluate((query) => document.querySelector(query)?.textContent ?? null, selector).catch(() => null);
  return { url: frame.url(), text };
}

let browser: Browser | undefined;
/** Why Chromium did not start: every test fails with it (a failing hook would only mark them skipped). */
let launchError: unknown;
let framingHost: FramingHost | undefined;

beforeAll(async () => {
  [browser, framingHost] = await Promise.all([
    launchChromium().catch((error: unknown) => {
      launchError = error;
      return undefined;
    }),
    startFramingHost(),
  ]);
});

afterAll(async () => {
  await Promise.all([browser?.close(), framingHost?.close()]);
});

describe.each(ADAPTERS)('%s adapter, in Chromium', (adapter) => {
  /** Every violation the app's report endpoint passed to its sink. */
  const reported: CspViolation[] = [];
  let target: Target;
  /** The target behind a reverse proxy, over HTTP and over HTTPS: these can store an XSS in a real response. */
  let httpFront: Front;
  let httpsFront: Front;
  let context: BrowserContext;
  let page: Page;
  let consoleMessages: string[];

  beforeAll(async () => {
    const sink = (violation: CspViolation): void => {
      reported.push(violation);
    };
    target = await startTarget(adapter, testOptions({ reports: { sink } }));
    [httpFront, httpsFront] = await Promise.all([startFront(target.url, { https: false }), startFront(target.url, { https: true })]);
  });

  afterAll(async () => {
    await Promise.all([httpFront?.close(), httpsFront?.close(), target?.close()]);
  });

  beforeEach(async () => {
    if (!browser) throw launchError instanceof Error ? launchError : new Error(`Chromium did not start: ${String(launchError)}`);
    // ignoreHTTPSErrors: the HTTPS front has a throwaway self-signed certificate.
    context = await browser.newContext({ ignoreHTTPSErrors: true });
    await context.addInitScript(recordViolations);
    page = await context.newPage();
    consoleMessages = [];
    page.on('console', (message) => consoleMessages.push(message.text()));
  });

  afterEach(async () => {
    await context?.close();
  });

  /**
   * Serves `url` as the server answered it (status and every header) with `INJECTION`
   * stored before `</body>`, like a stored XSS. `headers` may change the headers.
   */
  async function storeXss(url: string, headers: (original: Record<string, string>) => Record<string, string> = (original) => original): Promise<void> {
    let injected = false;
    await page.route(url, async (route) => {
      const response = await route.fetch();
      const body = await response.text();
      const end = body.lastIndexOf('</body>');
      injected = end !== -1;
      await route.fulfill({ response, body: body.slice(0, end) + INJECTION + body.slice(end), headers: headers(response.headers()) });
    });
    await page.goto(url);
    expect(injected, 'the page was served through the injecting route').toBe(true);
  }

  function injectedRan(): Promise<{ script: boolean; handler: boolean }> {
    return page.evaluate(() => ({ script: window.__injected === true, handler: window.__handler === true }));
  }

  /** Waits until the page has seen both blocked injections (the handler's fires when the image fails). */
  async function expectInjectionBlocked(): Promise<void> {
    await expect
      .poll(scriptViolationsInPage, { timeout: 3000 })
      .toEqual([
        { effectiveDirective: 'script-src-elem', blockedURI: 'inline', disposition: 'enforce' },
        { effectiveDirective: 'script-src-attr', blockedURI: 'inline', disposition: 'enforce' },
      ]);
    expect(await injectedRan()).toEqual({ script: false, handler: false });
  }

  function scriptViolationsInPage(): Promise<PageViolation[]> {
    return page.evaluate(() => (window.__violations ?? []).filter((violation) => violation.effectiveDirective.startsWith('script-src')));
  }

  /**
   * Loads the home page through `front` with the injection stored into it by the
   * front (a real response: see `startFront`), and waits for the app's report
   * endpoint to receive both violations.
   */
  async function expectReportsThrough(front: Front, hint: string): Promise<void> {
    front.inject(INJECTION);
    let body: string;
    try {
      body = (await (await page.goto(`${front.url}/`))?.text()) ?? '';
    } finally {
      front.inject(undefined);
    }
    expect(body, 'the front stored the injection').toContain(INJECTION);
    const scriptLine = body.slice(0, body.indexOf(INJECTION)).split('\n').length;
    await expectInjectionBlocked();

    const documentUrl = `${front.url}/`;
    const received = (): CspViolation[] => reported.filter((violation) => violation.documentUrl === documentUrl && violation.blockedUrl === 'inline');
    await expect
      .poll(received, { timeout: REPORT_TIMEOUT_MS, interval: 50, message: `the report endpoint received no report of the blocked injection within ${REPORT_TIMEOUT_MS} ms. ${hint}` })
      .toEqual(
        expect.arrayContaining([
          expect.objectContaining({ disposition: 'enforce', effectiveDirective: 'script-src-elem', lineNumber: scriptLine }),
          expect.objectContaining({ disposition: 'enforce', effectiveDirective: 'script-src-attr' }),
        ]),
      );
  }

  /** `<origin> <directive>` of each frame Chromium refused for a CSP directive, sorted. */
  function framingRefusals(): string[] {
    return consoleMessages
      .flatMap((message) => {
        const match = /^Framing '([^']*)' violates the following Content Security Policy directive: "([^"]*)"/.exec(message);
        return match ? [`${match[1]} ${match[2]}`] : [];
      })
      .sort();
  }

  describe('nonce', () => {
    test("the app's inline script runs, and the CSP carries the nonce of its script and style", async () => {
      const response = await page.goto(`${target.url}/`);
      expect(response?.status()).toBe(200);
      await expect.poll(() => page.textContent('#status')).toBe('inline script ran');

      const csp = response?.headers()['content-security-policy'];
      const found = nonces(csp, await response!.text());
      expect(csp).toMatch(/(^|; )script-src [^;]*'nonce-[A-Za-z0-9_-]{22,}'/);
      expect(found.script).toHaveLength(1);
      expect(found.header.length).toBeGreaterThan(0);
      expect(new Set(found.header), 'every nonce source of the CSP is the one of the script').toEqual(new Set(found.script));
      expect(found.style).toEqual(found.script);
      // Chromium hides the attribute after parsing; the IDL property keeps it.
      expect(await page.evaluate(() => document.querySelector('script')?.nonce)).toBe(found.script[0]);

      const again = await page.goto(`${target.url}/`);
      const next = nonces(again?.headers()['content-security-policy'], await again!.text());
      expect(next.script[0], 'a fresh nonce on every response').not.toBe(found.script[0]);
      expect(next.header[0]).toBe(next.script[0]);
    });

    test('control: the same script with a wrong nonce does not run', async () => {
      await page.route(`${target.url}/`, async (route) => {
        const response = await route.fetch();
        const body = (await response.text()).replace(/<script nonce="[^"]*">/, '<script nonce="AAAAAAAAAAAAAAAAAAAAAA">');
        await route.fulfill({ response, body });
      });
      await page.goto(`${target.url}/`);
      expect(await page.textContent('#status')).toBe('inline script did not run');
      expect(await scriptViolationsInPage()).toEqual([{ effectiveDirective: 'script-src-elem', blockedURI: 'inline', disposition: 'enforce' }]);
    });
  });

  describe('stored XSS', () => {
    test('an injected inline script and inline event handler are blocked, and the page sees both violations', async () => {
      await storeXss(`${target.url}/`);
      await expectInjectionBlocked();
      expect(await page.textContent('#status'), "the app's own nonce'd script still runs").toBe('inline script ran');
    });

    test('control: without the Content-Security-Policy header the same injection runs', async () => {
      await storeXss(`${target.url}/`, ({ 'content-security-policy': _csp, ...rest }) => rest);
      await expect.poll(injectedRan, { timeout: 3000 }).toEqual({ script: true, handler: true });
      expect(await scriptViolationsInPage()).toEqual([]);
    });

    test('the report endpoint receives both violations (HTTPS, as in production)', async () => {
      await expectReportsThrough(httpsFront, 'Over HTTPS Chromium posts them through the Reporting API (report-to and Reporting-Endpoints).');
    });

    test('the report endpoint receives both violations (plain HTTP, as in development)', async () => {
      await expectReportsThrough(
        httpFront,
        'Over http: Chromium ignores Reporting-Endpoints, and a policy with report-to has its report-uri ignored, so it sends nothing: an insecure response must not carry report-to.',
      );
    });
  });

  describe('framing', () => {
    test('a page on another site cannot frame the home page, /embed or /data.json', async () => {
      const sources = [`${target.url}/`, `${target.url}/embed`, `${target.url}/data.json`];
      await page.goto(framingHost!.pageFraming(...sources));
      // Chromium says which directive refused each frame (it names the origin only).
      await expect
        .poll(framingRefusals)
        .toEqual([`${target.url}/ frame-ancestors 'none'`, `${target.url}/ frame-ancestors 'none'`, `${target.url}/ frame-ancestors 'self'`]);
      const home = await textOf(page, 'frame0', '#status');
      const embed = await textOf(page, 'frame1', '#widget');
      const data = await textOf(page, 'frame2', 'body');
      expect(home.url).not.toBe(sources[0]);
      expect(home.text).not.toBe('inline script ran');
      expect(embed.url).not.toBe(sources[1]);
      expect(embed.text).not.toBe('widget ready');
      expect(data.url).not.toBe(sources[2]);
      expect(data.text ?? '').not.toContain('rampart reference app');
    });

    test('X-Frame-Options alone (the CSP removed) also refuses the other site, as browsers without frame-ancestors need', async () => {
      await context.route(
        (url) => url.origin === target.url,
        async (route) => {
          const response = await route.fetch();
          const { 'content-security-policy': _csp, ...headers } = response.headers();
          await route.fulfill({ response, headers });
        },
      );
      await page.goto(framingHost!.pageFraming(`${target.url}/`, `${target.url}/embed`));
      // Chromium logs each refusal twice, naming the origin only.
      const refusals = (): string[] => [...new Set(consoleMessages.filter((message) => message.startsWith('Refused to display')))].sort();
      await expect.poll(refusals).toEqual([
        `Refused to display '${target.url}/' in a frame because it set 'X-Frame-Options' to 'deny'.`,
        `Refused to display '${target.url}/' in a frame because it set 'X-Frame-Options' to 'sameorigin'.`,
      ]);
      expect((await textOf(page, 'frame0', '#status')).text).not.toBe('inline script ran');
      expect((await textOf(page, 'frame1', '#widget')).text).not.toBe('widget ready');
      expect(framingRefusals(), 'no CSP was there to refuse them').toEqual([]);
    });

    test('control: without the framing headers the other site does frame the home page', async () => {
      await context.route(`${target.url}/`, async (route) => {
        const response = await route.fetch();
        const { 'content-security-policy': _csp, 'x-frame-options': _xfo, ...headers } = response.headers();
        await route.fulfill({ response, headers });
      });
      await page.goto(framingHost!.pageFraming(`${target.url}/`));
      await expect.poll(() => textOf(page, 'frame0', '#status')).toEqual({ url: `${target.url}/`, text: 'inline script ran' });
    });

    test('a page of the same origin can frame /embed but not the home page', async () => {
      await page.route(`${target.url}/__frame_host`, (route) =>
        route.fulfill({
          contentType: 'text/html; charset=utf-8',
          body: '<!doctype html><title>same origin</title><iframe id="frame0" src="/embed"></iframe><iframe id="frame1" src="/"></iframe>',
        }),
      );
      await page.goto(`${target.url}/__frame_host`);
      await expect.poll(() => textOf(page, 'frame0', '#widget')).toEqual({ url: `${target.url}/embed`, text: 'widget ready' });
      await expect.poll(framingRefusals).toEqual([`${target.url}/ frame-ancestors 'none'`]);
      const home = await textOf(page, 'frame1', '#status');
      expect(home.url).not.toBe(`${target.url}/`);
      expect(home.text).not.toBe('inline script ran');
    });
  });

  describe('Permissions-Policy', () => {
    const complaint = /Unrecognized feature|Permissions-Policy/i;

    test('Chromium recognizes every feature the header names (no console warning)', async () => {
      const home = await page.goto(`${target.url}/`);
      expect(home?.headers()['permissions-policy']).toMatch(/(^|, )camera=\(\)(,|$)/);
      await page.goto(`${target.url}/embed`);
      expect(consoleMessages.filter((message) => complaint.test(message))).toEqual([]);
    });

    test('control: a feature Chromium does not know is reported on the console', async () => {
      await page.route(`${target.url}/`, async (route) => {
        const response = await route.fetch();
        const headers = response.headers();
        await route.fulfill({ response, headers: { ...headers, 'permissions-policy': `${headers['permissions-policy']}, rampart-no-such-feature=()` } });
      });
      await page.goto(`${target.url}/`);
      expect(consoleMessages).toContain("Error with Permissions-Policy header: Unrecognized feature: 'rampart-no-such-feature'.");
    });
  });

  describe('non-HTML responses', () => {
    test("/data.json carries the CSP that lets nothing load or frame it", async () => {
      const response = await page.goto(`${target.url}/data.json`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-type']).toMatch(/^application\/json/);
      expect(response?.headers()['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(await response?.json()).toEqual({ ok: true, service: 'rampart reference app' });
    });
  });
});
