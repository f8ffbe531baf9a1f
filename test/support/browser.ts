/**
 * Support for the browser tests: headless Chromium (Debian's `chromium` package,
 * driven by playwright-core; `npx playwright install` cannot download here), a
 * cross-site page that frames a target, and a reverse proxy (HTTP or HTTPS) in
 * front of a target.
 *
 * A missing tool fails the tests with the command that installs it; nothing skips.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM_HINT =
  'Install it with `apt-get install chromium` (Debian); `npx playwright install` cannot download here.';

/** The path `command -v chromium` prints, or an error that says how to install it. */
export function chromiumPath(): string {
  let path = '';
  try {
    path = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // `command -v` exits with status 1 when the name is not found.
  }
  if (!path) throw new Error(`The browser tests need Chromium, and \`command -v chromium\` found none on PATH. ${CHROMIUM_HINT}`);
  return path;
}

/**
 * Launches headless Chromium. One browser per test file; one context per test.
 * `extraArgs` are more command-line switches, e.g. `--host-resolver-rules` to give
 * 127.0.0.1 the names of several sites.
 */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  const executablePath = chromiumPath();
  try {
    return await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        // Upload Reporting API reports after 100 ms instead of batching them for a minute
        // (a switch Chromium has for tests), so CSP reports reach the endpoint during a test.
        '--short-reporting-delay',
        ...extraArgs,
      ],
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Chromium at ${executablePath} did not start: ${reason}\nIf the installation is broken, reinstall it: ${CHROMIUM_HINT}`, { cause: error });
  }
}

function listen(server: Server | HttpsServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A page on another site that frames whatever URLs it is asked to. */
export interface FramingHost {
  /** `http://localhost:<port>`: another site than `http://127.0.0.1:<port>` targets. */
  readonly origin: string;
  /** The URL of a page with one `<iframe>` per URL, ids `frame0`, `frame1`, … */
  pageFraming(...urls: readonly string[]): string;
  close(): Promise<void>;
}

/**
 * Starts the framing page on 127.0.0.1 and names it `localhost`: a different host,
 * so a different origin and a different site from the targets on `127.0.0.1`.
 * It sends no security headers, so only the framed response decides.
 */
export async function startFramingHost(): Promise<FramingHost> {
  const server = createHttpServer((req, res) => {
    const urls = new URL(req.url ?? '/', 'http://localhost').searchParams.getAll('src');
    const frames = urls.map((url, index) => `<iframe id="frame${index}" src="${escapeAttribute(url)}"></iframe>`).join('\n');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html>\n<title>another site</title>\n${frames}\n`);
  });
  const origin = `http://localhost:${await listen(server)}`;
  return {
    origin,
    pageFraming: (...urls) => `${origin}/?${urls.map((url) => `src=${encodeURIComponent(url)}`).join('&')}`,
    close: () => closeServer(server),
  };
}

/** A throwaway self-signed certificate for 127.0.0.1, made with openssl. */
let certificate: { key: string; cert: string } | undefined;

function selfSignedCertificate(): { key: string; cert: string } {
  certificate ??= makeCertificate();
  return certificate;
}

function makeCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-tls-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile];
    try {
      execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      throw new Error(`The HTTPS browser tests make a self-signed certificate with openssl, which failed. Install it with \`apt-get install openssl\`. (${error instanceof Error ? error.message : String(error)})`, { cause: error });
    }
    return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

/** A reverse proxy in front of a target. */
export interface Front {
  /** `http://127.0.0.1:<port>` or `https://127.0.0.1:<port>` (self-signed: use a context with `ignoreHTTPSErrors`). */
  readonly url: string;
  /**
   * Stores `html` into every HTML page forwarded from now on, before `</body>`, as a
   * stored XSS would put it there: the page keeps every header the target sent.
   * `undefined` stops it.
   */
  inject(html: string | undefined): void;
  close(): Promise<void>;
}

/**
 * Starts a reverse proxy on another port that forwards every request to the target
 * unchanged, as a load balancer does; with `https`, it terminates TLS (browsers
 * honor some headers only over HTTPS: Chromium ignores `Reporting-Endpoints` on
 * http: URLs, even on 127.0.0.1).
 *
 * Its page responses come from the network, unlike those Playwright's
 * `route.fulfill` makes up: Chromium does not register the `Reporting-Endpoints` of
 * a fulfilled response, so the Reporting API needs this.
 */
export async function startFront(targetUrl: string, options: { readonly https: boolean }): Promise<Front> {
  const target = new URL(targetUrl);
  let injection: string | undefined;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: forwardable(req.headers) },
      (answer) => {
        const headers = forwardable(answer.headers);
        const html = /^text\/html\b/i.test(answer.headers['content-type'] ?? '');
        if (injection === undefined || !html) {
          res.writeHead(answer.statusCode ?? 502, headers);
          answer.pipe(res);
          return;
        }
        const payload = injection;
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const page = Buffer.concat(chunks).toString('utf8');
          const end = page.lastIndexOf('</body>');
          const body = end === -1 ? page : page.slice(0, end) + payload + page.slice(end);
          delete headers['content-length'];
          res.writeHead(answer.statusCode ?? 502, headers);
          res.end(body);
        });
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  };
  const server = options.https ? createHttpsServer(selfSignedCertificate(), handler) : createHttpServer(handler);
  const url = `${options.https ? 'https' : 'http'}://127.0.0.1:${await listen(server)}`;
  return {
    url,
    inject: (html) => {
      injection = html;
    },
    close: () => closeServer(server),
  };
}
