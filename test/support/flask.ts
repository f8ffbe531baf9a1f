/**
 * Support for the auditor tests: the two Flask fixture apps of `test/fixtures/flask/`
 * (one following every practice of the seed, one violating each), run as real servers
 * on 127.0.0.1 by Debian's Python and Flask packages.
 *
 * They need `/usr/bin/python3` with python3-flask, python3-flaskext.wtf and
 * python3-flask-talisman (a pyenv `python3` on PATH is never used). A missing piece
 * fails the test with the command that installs it; nothing skips.
 */

import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type FlaskApp = 'compliant' | 'violating';

export interface FlaskOptions {
  /**
   * Serve the app over HTTPS with a throw-away self-signed certificate for 127.0.0.1,
   * plus a plain-HTTP port (`httpUrl`): the compliant app redirects it to HTTPS, the
   * violating app serves itself there too.
   */
  readonly https?: boolean;
}

export interface FlaskRequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
}

export interface FlaskFixture {
  readonly app: FlaskApp;
  /** The app: `http://127.0.0.1:<port>`, or `https://127.0.0.1:<port>` with `https`. */
  readonly url: string;
  /** The plain-HTTP port: `url` itself without `https`; another port with it. */
  readonly httpUrl: string;
  /** With `https`: the certificate (PEM, self-signed) to trust as a CA; otherwise `undefined`. */
  readonly ca: string | undefined;
  /** With `https`: a file holding `ca` (for `--ca-file`, `NODE_EXTRA_CA_CERTS`), removed by `stop`. */
  readonly caFile: string | undefined;
  /** The versions of flask, werkzeug, jinja2, flask-wtf, wtforms and flask-talisman that run. */
  readonly versions: Readonly<Record<string, string>>;
  /**
   * One request: `path` is sent as is to `url` (`/files/../x` keeps its dot segments), or
   * is an absolute URL (e.g. on `httpUrl`). Redirects are not followed.
   */
  request(path: string, options?: FlaskRequestOptions): Promise<Response>;
  /** `GET /__state`: counters of every state change the app made (posts accepted, uploads stored, …). */
  state(): Promise<Record<string, number>>;
  /** `GET /__requests`: requests received per route, `"METHOD /rule"` (not state; `/__*` not counted). */
  requests(): Promise<Record<string, number>>;
  /** Stops the server (its upload sandbox is removed) and removes the certificate. */
  stop(): Promise<void>;
}

export const FLASK_PYTHON = '/usr/bin/python3';
export const FLASK_FIXTURES_DIR = fileURLToPath(new URL('../fixtures/flask/', import.meta.url));

const INSTALL_HINT =
  'Install them with `apt-get install -y python3-flask python3-flaskext.wtf python3-flask-talisman` ' +
  '(Debian; the fixtures run under /usr/bin/python3, never a pyenv `python3`; PyPI is not used).';

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

interface ReadyLine {
  readonly url: string;
  readonly httpUrl: string;
  readonly versions: Record<string, string>;
}

/** Starts one fixture app and resolves once it answers `GET /__state`. */
export async function startFlask(app: FlaskApp, options: FlaskOptions = {}): Promise<FlaskFixture> {
  if (!existsSync(FLASK_PYTHON)) {
    throw new Error(`The Flask fixtures need ${FLASK_PYTHON}, which does not exist. Install Python 3 and the Flask packages: \`apt-get install -y python3 python3-flask python3-flaskext.wtf python3-flask-talisman\`.`);
  }
  const certificate = options.https === true ? makeCertificate() : undefined;
  const args = ['-B', '-E', '-s', join(FLASK_FIXTURES_DIR, `${app}.py`)];
  if (certificate) args.push('--https', certificate.certFile, certificate.keyFile);

  const child = spawn(FLASK_PYTHON, args, { cwd: FLASK_FIXTURES_DIR, stdio: ['pipe', 'pipe', 'pipe'] });
  let ready: ReadyLine;
  try {
    ready = await waitForReadyLine(app, child);
  } catch (error) {
    await killChild(child);
    if (certificate) rmSync(certificate.dir, { recursive: true, force: true });
    throw error;
  }

  const ca = certificate?.cert;
  const request = (path: string, requestOptions: FlaskRequestOptions = {}): Promise<Response> =>
    sendRequest(target(ready.url, path), requestOptions, ca);
  const getJson = async (path: string): Promise<Record<string, number>> => {
    const response = await request(path);
    if (response.status !== 200) throw new Error(`GET ${path} of the ${app} Flask fixture answered ${response.status}`);
    return (await response.json()) as Record<string, number>;
  };
  let stopped: Promise<void> | undefined;
  const fixture: FlaskFixture = {
    app,
    url: ready.url,
    httpUrl: ready.httpUrl,
    ca,
    caFile: certificate?.certFile,
    versions: ready.versions,
    request,
    state: () => getJson('/__state'),
    requests: () => getJson('/__requests'),
    stop: () => {
      stopped ??= killChild(child).then(() => {
        if (certificate) rmSync(certificate.dir, { recursive: true, force: true });
      });
      return stopped;
    },
  };
  try {
    await fixture.state();
  } catch (error) {
    await fixture.stop();
    throw new Error(`The ${app} Flask fixture printed its address (${ready.url}) but did not answer: ${describe(error)}`, { cause: error });
  }
  return fixture;
}

/** The first `csrf_token` of a page (none on the violating app) and the cookies it set, as a `Cookie` header. */
export async function flaskFormCredentials(fixture: FlaskFixture, path = '/'): Promise<{ token: string | undefined; cookie: string }> {
  const response = await fixture.request(path);
  const token = /name="csrf_token" type="hidden" value="([^"]+)"/.exec(await response.text())?.[1];
  const cookie = response.headers.getSetCookie().map((value) => value.split(';')[0]).join('; ');
  return { token, cookie };
}

function waitForReadyLine(app: FlaskApp, child: ChildProcessWithoutNullStreams): Promise<ReadyLine> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (error: Error | undefined, line?: ReadyLine): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Keep draining stdout: a full pipe would block the app.
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      if (error) reject(error);
      else resolve(line as ReadyLine);
    };
    const timer = setTimeout(() => {
      finish(new Error(`The ${app} Flask fixture did not start within ${READY_TIMEOUT_MS} ms.${stderrTail(stderr)}`));
    }, READY_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      const end = stdout.indexOf('\n');
      if (end === -1) return;
      try {
        const line = JSON.parse(stdout.slice(0, end)) as ReadyLine;
        finish(undefined, line);
      } catch {
        finish(new Error(`The ${app} Flask fixture printed an unexpected first line: ${stdout.slice(0, end)}${stderrTail(stderr)}`));
      }
    });
    child.stderr.on('data', (chunk: string) => {
      // Keep the end: that is where a traceback says what failed.
      stderr = (stderr + chunk).slice(-8192);
    });
    child.on('error', (error) => {
      finish(new Error(`Could not run ${FLASK_PYTHON} for the ${app} Flask fixture: ${error.message}`, { cause: error }));
    });
    child.on('exit', (code, signal) => {
      const missing = /FLASK_FIXTURE_MISSING: (.*)/.exec(stderr)?.[1];
      if (missing !== undefined) {
        finish(new Error(`The ${app} Flask fixture cannot import its packages under ${FLASK_PYTHON}: ${missing}. ${INSTALL_HINT}`));
        return;
      }
      finish(new Error(`The ${app} Flask fixture exited before listening (${signal ?? `status ${code}`}).${stderrTail(stderr)}\nIf a Flask module is missing or broken: ${INSTALL_HINT}`));
    });
  });
}

function stderrTail(stderr: string): string {
  const tail = stderr.trim();
  return tail ? `\nIts stderr:\n${tail}` : '';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** SIGTERM (the app removes its sandbox), then SIGKILL if it has not exited in time. */
function killChild(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

interface Certificate {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl (as test/support/browser.ts does). */
function makeCertificate(): Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-flask-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile];
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`The HTTPS Flask fixtures make a self-signed certificate with openssl, which failed. Install it with \`apt-get install -y openssl\`. (${describe(error)})`, { cause: error });
  }
  return { dir, certFile, keyFile, cert: readFileSync(certFile, 'utf8') };
}

function toHeaders(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  return headers;
}

interface RequestTarget {
  readonly url: URL;
  /** The request target as given: `/files/../x` keeps its dot segments (a URL would remove them). */
  readonly path: string;
}

function target(base: string, path: string): RequestTarget {
  if (path.startsWith('/')) return { url: new URL(base), path };
  const url = new URL(path);
  return { url, path: `${url.pathname}${url.search}` };
}

/** A raw HTTP/1.1 request (https: trusting `ca`), answered as a Web `Response` with the body read. */
function sendRequest({ url, path }: RequestTarget, options: FlaskRequestOptions, ca: string | undefined): Promise<Response> {
  const method = options.method ?? 'GET';
  const requestOptions = {
    host: url.hostname,
    port: url.port,
    path,
    method,
    headers: { connection: 'close', ...options.headers },
  };
  return new Promise((resolve, reject) => {
    const onResponse = (incoming: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const status = incoming.statusCode ?? 0;
        const body = status === 204 || status === 304 || method === 'HEAD' ? null : Buffer.concat(chunks);
        resolve(new Response(body, { status, headers: toHeaders(incoming.headers) }));
      });
      incoming.on('error', reject);
    };
    const outgoing = url.protocol === 'https:'
      ? httpsRequest({ ...requestOptions, ...(ca === undefined ? {} : { ca }) }, onResponse)
      : httpRequest(requestOptions, onResponse);
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}
