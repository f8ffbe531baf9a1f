// Helpers of bench/demo.mjs and bench/load.mjs: starting the status feed (demo/) and its
// Flask anchor (bench/anchors/flask/), a small HTTP client with a cookie jar that fills in
// CSRF tokens the way a browser's form would, multipart bodies, load clients (wrk, autocannon),
// /proc CPU times.

import { Blob, Buffer } from 'node:buffer';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEMO_SERVER = fileURLToPath(new URL('../demo/server.mjs', import.meta.url));
export const DEMO_CLUSTER = fileURLToPath(new URL('./demo-cluster.mjs', import.meta.url));
export const FLASK_DIR = fileURLToPath(new URL('./anchors/flask/', import.meta.url));
export const RESULTS_FILE = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
export const GUNICORN = process.env.GUNICORN ?? '/usr/bin/gunicorn';
export const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Fails with a clear message when the package is not built (the demo imports dist/). */
export function requireBuild() {
  if (!existsSync(new URL('../dist/index.js', import.meta.url))) {
    console.error('bench: dist/ is missing: run `npm run build` first (the demo imports the built package).');
    process.exit(2);
  }
}

/** Fails with a clear message when gunicorn or the Flask packages are missing. */
export function requireFlask() {
  if (!existsSync(GUNICORN)) {
    console.error(`bench: ${GUNICORN} is missing: apt-get install gunicorn python3-flask python3-flaskext.wtf python3-flask-talisman`);
    process.exit(2);
  }
  try {
    execFileSync(PYTHON, ['-c', 'import flask, flask_wtf, flask_talisman'], { stdio: 'pipe' });
  } catch {
    console.error('bench: the Flask anchor needs apt-get install python3-flask python3-flaskext.wtf python3-flask-talisman');
    process.exit(2);
  }
}

/** A running server: its child process, base URL and the headers every request must carry. */
class Server {
  constructor(name, child, url, headers, postHeaders) {
    this.name = name;
    this.child = child;
    this.url = url;
    /** Sent with every request (the Flask anchor: the TLS proxy's X-Forwarded-Proto). */
    this.headers = headers;
    /** Sent with every POST: what a browser's same-origin form submission carries. */
    this.postHeaders = postHeaders;
    this.output = '';
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.stdout.on('data', (chunk) => (this.output += chunk));
    child.stderr.on('data', (chunk) => (this.output += chunk));
  }

  get pid() {
    return this.child.pid;
  }

  /** Every pid of the server: the process and its children (gunicorn's workers). */
  pids() {
    return [this.child.pid, ...childPids(this.child.pid)];
  }

  async stop(signal = 'SIGTERM') {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

function childPids(pid) {
  const pids = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (children) pids.push(...children.split(/\s+/).map(Number));
    }
  } catch {
    // No /proc, or gone.
  }
  return pids;
}

/** User + system CPU seconds of these processes (all threads), from /proc; NaN without /proc. */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      return NaN;
    }
  }
  return ticks / CLOCK_TICKS;
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * Starts the demo (`node demo/server.mjs`) in production mode on loopback: its own keys
 * (pass the same `keys` to restart it on the same data with valid sessions). `workers`:
 * that many processes on node:cluster (bench/demo-cluster.mjs) instead of one.
 */
export async function startDemo({ dataDir, port, keys, env = {}, nodeArgs = [], workers = 0, name = 'demo' }) {
  const origin = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...nodeArgs, workers > 0 ? DEMO_CLUSTER : DEMO_SERVER], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', RAMPART_KEYS: keys, ORIGIN: origin, PORT: String(port), DATA_DIR: dataDir, DEMO_WORKERS: String(workers), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = new Server(name, child, origin, {}, { origin });
  if (workers > 0) {
    // Every worker listening (the cluster's primary says so once the last one is).
    for (let i = 0; i < 200 && !server.output.includes('workers listening'); i++) await sleep(50);
  }
  await waitReady(server);
  return server;
}

/**
 * Starts the Flask anchor under gunicorn (2 sync workers). It runs as behind a TLS proxy:
 * every request carries `X-Forwarded-Proto: https` (gunicorn trusts it from 127.0.0.1),
 * so Talisman's HTTPS redirect stays on and HSTS is sent, and Flask-WTF's strict Referer
 * check applies to POSTs (they carry the https Referer a browser would send).
 */
export async function startFlask({ dataDir, port, secret, workers = 2, workerClass = 'sync' }) {
  const child = spawn(GUNICORN, ['--workers', String(workers), '--worker-class', workerClass, '--bind', `127.0.0.1:${port}`, '--chdir', FLASK_DIR, 'app:app'], {
    cwd: FLASK_DIR,
    env: { ...process.env, DATA_DIR: dataDir, FEED_SECRET_KEY: secret, PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const publicOrigin = `https://127.0.0.1:${port}`;
  const server = new Server('flask', child, `http://127.0.0.1:${port}`, { 'x-forwarded-proto': 'https' }, { origin: publicOrigin, referer: `${publicOrigin}/` });
  await waitReady(server);
  // Both workers booted (gunicorn forks them after binding).
  for (let i = 0; i < 100 && childPids(child.pid).length < workers; i++) await sleep(100);
  return server;
}

async function waitReady(server) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (server.child.exitCode !== null) throw new Error(`${server.name} exited at start:\n${server.output}`);
    try {
      const response = await fetch(`${server.url}/`, { headers: server.headers, redirect: 'manual' });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      server.child.kill('SIGKILL');
      throw new Error(`${server.name} not ready after 20 s:\n${server.output}`);
    }
    await sleep(100);
  }
}

/** The first CSRF token of a page (every form carries the same one). */
export function tokenOf(page) {
  return /name="csrf_token" value="([^"]+)"/.exec(page)?.[1];
}

/** A browser-like client of one server: a cookie jar, same-origin headers on POSTs. */
export class Client {
  constructor(server) {
    this.server = server;
    this.cookies = new Map();
  }

  cookieHeader() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  async request(method, path, { body, headers = {} } = {}) {
    const response = await fetch(`${this.server.url}${path}`, {
      method,
      body,
      redirect: 'manual',
      headers: {
        ...this.server.headers,
        ...(method === 'POST' ? this.server.postHeaders : {}),
        ...(this.cookies.size > 0 ? { cookie: this.cookieHeader() } : {}),
        ...headers,
      },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: response.status, location: response.headers.get('location'), text: await response.text() };
  }

  /** A form's token, from the page at `path` (the page also sets the CSRF cookie). */
  async token(path = '/') {
    const page = await this.request('GET', path);
    const token = tokenOf(page.text);
    if (!token) throw new Error(`${this.server.name}: no csrf_token on ${path} (status ${page.status})`);
    return token;
  }

  async submit(path, formPath, fields) {
    const token = await this.token(formPath);
    const body = new URLSearchParams({ csrf_token: token, ...fields });
    return this.request('POST', path, { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }

  async register(username, password) {
    const response = await this.submit('/register', '/register', { username, password });
    if (response.status !== 303) throw new Error(`${this.server.name}: register ${username}: ${response.status}\n${response.text.slice(0, 500)}`);
  }

  async logIn(username, password) {
    const response = await this.submit('/login', '/login', { username, password });
    if (response.status !== 303) throw new Error(`${this.server.name}: log in ${username}: ${response.status}`);
    this.username = username;
  }

  /**
   * Logs in again: a new session cookie, and the post form's token under it. A load
   * client replays the cookie it was given and ignores a renewed one, which a browser
   * would keep: once the demo's session is old enough to roll forward (a tenth of its
   * 30-minute idle timeout), every replayed request would be re-sealed and answered
   * with a new cookie. Done before each measurement, so none runs on a stale cookie.
   */
  async freshSession() {
    await this.logIn(this.username, PASSWORD);
    this.postToken = await this.token('/');
  }

  /** Posts a status (multipart, the token first); `file`: { name, type, bytes } or undefined. */
  async post(text, file, token) {
    const form = new globalThis.FormData();
    form.append('csrf_token', token ?? (await this.token('/')));
    form.append('text', text);
    if (file) form.append('attachment', new Blob([file.bytes], { type: file.type }), file.name);
    return this.request('POST', '/statuses', { body: form });
  }
}

export const BOUNDARY = '----BenchFormBoundary7MA4YWxkTrZu0gW';

/** A multipart body of a text-only status post, token first (as the browser sends the form). */
export function statusBody(token, text) {
  return Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n${token}\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="text"\r\n\r\n${text}\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="attachment"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n` +
      `--${BOUNDARY}--\r\n`,
  );
}

export const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/**
 * autocannon writes the next request on the same socket even when the response said
 * `Connection: close` (gunicorn's sync workers close after every response): the write
 * meets a closed socket, ECONNRESET, and a request lost. Like wrk or a browser, this sends
 * nothing more on such a connection and opens a new one once the server has closed it
 * (autocannon reconnects on 'end'). Waiting for the server's FIN, rather than closing first,
 * leaves the TIME_WAIT on the server's side: closing first would leave one per request on
 * the client's, and tens of thousands of them make every connect() slower (the ephemeral
 * port search), which would slow the client down in later rounds and penalize the anchor.
 */
function honourConnectionClose(client) {
  let closing = false;
  client.on('headers', (info) => {
    closing = info.shouldKeepAlive === false;
  });
  const doRequest = client._doRequest;
  client._doRequest = function (...args) {
    if (closing) {
      // The server closes this connection: autocannon's 'end' handler connects again and
      // sends the next request on the new connection.
      closing = false;
      return undefined;
    }
    return doRequest.apply(this, args);
  };
}

/** Runs autocannon; resolves with its result (never rejects on HTTP errors: they are counted). */
export function cannon(options) {
  return new Promise((resolve, reject) => {
    const errorCodes = {};
    const instance = autocannon({ timeout: 10, setupClient: honourConnectionClose, ...options }, (error, result) => (error ? reject(error) : resolve({ ...result, errorCodes })));
    instance.on('error', () => {});
    instance.on('reqError', (error) => {
      const code = error?.code ?? error?.message ?? String(error);
      errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    });
  });
}

/**
 * `wrk debian/4.1.0-3+b2`, from `wrk -v` (which exits with 1); `undefined` when wrk (a load
 * client in C: apt-get install wrk) is not installed.
 */
export function wrkVersion() {
  let output;
  try {
    output = execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    output = String(error.stdout ?? '');
  }
  return /^wrk \S+/.exec(output)?.[0] ?? 'wrk (version unknown)';
}

/**
 * One wrk run (`threads` threads, `connections` connections, `duration` s, 10 s timeout),
 * with a Lua script that counts every response's status; the result has the fields of
 * an autocannon result that the benches read.
 *
 * `setCookies` counts the responses that carried a `Set-Cookie`.
 *
 * `request`: `{ method, path, headers }`, the same request every time; or, with `bodies`
 * (`[{ headers, prefix, suffix }]`, the body pieces as Buffers), a POST whose body is
 * `prefix`, a number unique in the run (thread, then sequence), then `suffix`, rotating
 * over the entries (one per user).
 */
export function wrk({ url, connections, duration, threads = 1, request }) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-wrk-'));
  const script = join(dir, 'bench.lua');
  writeFileSync(script, wrkScript(request));
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', [`-t${threads}`, `-c${connections}`, `-d${duration}s`, '--timeout', '10s', '-s', script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      rmSync(dir, { recursive: true, force: true });
      const line = /^WRKJSON (.*)$/m.exec(output)?.[1];
      if (code !== 0 || line === undefined) return reject(new Error(`wrk failed (exit ${code}):\n${output}`));
      const r = JSON.parse(line);
      const errorCodes = Object.fromEntries(Object.entries(r.errors).filter(([name, count]) => name !== 'status' && count > 0));
      resolve({
        duration: r.duration / 1e6,
        requests: { total: r.requests },
        statusCodeStats: Object.fromEntries(Object.entries(r.statuses).map(([status, count]) => [status, { count }])),
        errors: r.errors.connect + r.errors.read + r.errors.write,
        timeouts: r.errors.timeout,
        errorCodes,
        latency: { p50: Math.round(r.p50 / 1000), p99: Math.round(r.p99 / 1000) },
        throughput: { total: r.bytes },
        setCookies: r.setCookies,
      });
    });
  });
}

/**
 * A Lua string literal of `value`'s bytes (a string is taken as UTF-8; a Buffer as it
 * is): printable ASCII as itself, anything else (quotes, backslashes, control characters,
 * bytes from 0x7F) as a 3-digit decimal escape, so the script file's encoding never matters.
 */
function lua(value) {
  let literal = '"';
  for (const byte of Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8')) {
    literal += byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c ? String.fromCharCode(byte) : `\\${String(byte).padStart(3, '0')}`;
  }
  return `${literal}"`;
}
const luaTable = (headers) => `{ ${Object.entries(headers).map(([name, value]) => `[${lua(name)}] = ${lua(value)}`).join(', ')} }`;

function wrkScript({ method = 'GET', path, headers = {}, bodies }) {
  const build = bodies
    ? `local users = { ${bodies.map(({ headers: own, prefix, suffix }) => `{ headers = ${luaTable({ ...headers, ...own })}, prefix = ${lua(prefix)}, suffix = ${lua(suffix)} }`).join(', ')} }
local sequence = 0
request = function()
  sequence = sequence + 1
  local user = users[sequence % #users + 1]
  return wrk.format(${lua(method)}, ${lua(path)}, user.headers, user.prefix .. thread_id .. "-" .. sequence .. user.suffix)
end`
    : `-- One request, sent again and again: wrk builds it once (no Lua call per request).
wrk.method = ${lua(method)}
wrk.path = ${lua(path)}
for name, value in pairs(${luaTable(headers)}) do wrk.headers[name] = value end`;
  return `-- Generated by bench/demo-lib.mjs
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end
thread_id = 0
${build}
statuses = {}
setcookies = 0
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if headers["Set-Cookie"] ~= nil or headers["set-cookie"] ~= nil then setcookies = setcookies + 1 end
end
done = function(summary, latency, requests)
  local counts = {}
  local cookies = 0
  for _, thread in ipairs(threads) do
    cookies = cookies + thread:get("setcookies")
    for status, count in pairs(thread:get("statuses")) do counts[status] = (counts[status] or 0) + count end
  end
  local parts = {}
  for status, count in pairs(counts) do table.insert(parts, string.format('"%d":%d', status, count)) end
  local e = summary.errors
  io.write(string.format('WRKJSON {"duration":%d,"requests":%d,"bytes":%d,"p50":%d,"p99":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"statuses":{%s},"setCookies":%d}\\n',
    summary.duration, summary.requests, summary.bytes, latency:percentile(50), latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ","), cookies))
end
`;
}

/** A 1×1 PNG. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

/** Versions of the tools, for the report. */
export function versions() {
  const run = (file, args) => {
    try {
      return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch {
      return 'unknown';
    }
  };
  const python = run(PYTHON, ['-c', 'import sys; print(sys.version.split()[0])']);
  const flask = run(PYTHON, [
    '-c',
    "import importlib.metadata as m; print(', '.join(f'{n} {m.version(n)}' for n in ('flask', 'werkzeug', 'jinja2', 'flask-wtf', 'flask-talisman')))",
  ]);
  const gunicorn = run(GUNICORN, ['--version']).replace(/^gunicorn \(version (.*)\)$/, '$1');
  const pkg = (name) => JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
  let commit = run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = run('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'demo']);
  if (dirty && dirty !== 'unknown') commit += ' with uncommitted changes in src/ or demo/';
  return { node: process.version, python, flask, gunicorn, sqlite: pkg('better-sqlite3'), autocannon: pkg('autocannon'), wrk: wrkVersion() ?? 'wrk (not installed)', commit };
}

/** Replaces the text between `start` and `end` in RESULTS.md under `## Status feed` (created if missing). */
export const DEMO_MARKERS = ['<!-- bench/demo.mjs: start (generated, do not edit by hand) -->', '<!-- bench/demo.mjs: end -->'];
export const LOAD_MARKERS = ['<!-- bench/load.mjs: start (generated, do not edit by hand) -->', '<!-- bench/load.mjs: end -->'];

export function writeResults([start, end], block) {
  let text = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '# Benchmark results\n\n';
  const section = '## Status feed';
  const [demoStart, demoEnd] = DEMO_MARKERS;
  const [loadStart, loadEnd] = LOAD_MARKERS;
  if (!text.includes(`\n${section}\n`)) {
    text = `${text.trimEnd()}\n\n${section}\n\n${demoStart}\n${demoEnd}\n\n${loadStart}\n${loadEnd}\n`;
  }
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to === -1 || to < from) throw new Error(`RESULTS.md: markers ${start} … ${end} not found in the Status feed section`);
  writeFileSync(RESULTS_FILE, text.slice(0, from + start.length) + '\n' + block.trim() + '\n' + text.slice(to));
}

// --- The seeded data, the same for both apps ---

export const USERS = ['alice', 'bob', 'carol'];
export const PASSWORD = 'correct horse battery';
export const STATUSES = 200;

/** The i-th seeded status: the same for both apps; some carry characters that need escaping. */
export function seedStatus(i) {
  const texts = [
    `Status ${i}: a quiet morning, coffee and a long list of things to do.`,
    `Status ${i}: <b>bold</b> claims & "quoted" words, 'single' too — all shown as text.`,
    `Status ${i}: shipping the feed today. Benchmarks next; then lunch. 🚀`,
    `Status ${i}: a longer one. ${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(4)}`,
  ];
  const text = texts[i % texts.length];
  let file;
  if (i % 10 === 0) file = { name: `photo-${i}.png`, type: 'image/png', bytes: PNG };
  else if (i % 10 === 7) file = { name: `notes-${i}.txt`, type: 'text/plain', bytes: Buffer.from(`notes of status ${i}\n`.repeat(20)) };
  return { text, file };
}

/** Registers the users and posts the statuses, through the app's own routes. */
export async function seed(server) {
  const clients = [];
  for (const name of USERS) {
    const client = new Client(server);
    await client.register(name, PASSWORD);
    client.username = name;
    client.postToken = await client.token('/');
    clients.push(client);
  }
  for (let i = 0; i < STATUSES; i++) {
    const client = clients[i % clients.length];
    const { text, file } = seedStatus(i);
    const response = await client.post(text, file, client.postToken);
    if (response.status !== 303) throw new Error(`${server.name}: seeding status ${i}: ${response.status}\n${response.text.slice(0, 400)}`);
  }
  return clients;
}

/** What a feed page shows, to compare the two apps: the texts, attachments and delete forms. */
export function feedSummary(page) {
  // Decoded: the two template engines spell `"` differently (&quot; and &#34;).
  const entities = { '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#34;': '"', '&#39;': "'", '&#x27;': "'", '&amp;': '&' };
  const texts = [...page.matchAll(/<p class="text">([\s\S]*?)<\/p>/g)].map((m) => m[1].replace(/&(?:lt|gt|quot|amp|#34|#39|#x27);/g, (e) => entities[e]));
  return {
    texts,
    images: (page.match(/<img src="\/attachments\//g) ?? []).length,
    downloads: (page.match(/ download="/g) ?? []).length,
    deleteForms: (page.match(/action="\/statuses\/\d+\/delete"/g) ?? []).length,
    postForm: page.includes('action="/statuses"'),
    older: page.includes('rel="next"'),
  };
}
