/**
 * `GET /files/*` on every adapter (the reference app serves examples/static/ with
 * `staticFiles`): a generated traversal corpus (research/uploads.md §3.2, dotdotpwn
 * style: dot forms × slash forms × depth × targets, plus special cases) sent over raw
 * HTTP, so the path bytes reach the server exactly as written (a WHATWG URL would
 * resolve `%2e%2e` first). No request may be answered 2xx, 3xx or 5xx, or carry text
 * of a file outside examples/static; the controls show the same route does serve the
 * files that are there, so the corpus cannot pass because nothing is ever served.
 */

import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RampartOptions } from 'rampart';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADAPTERS, formCredentials, rawRequest, startTarget, testOptions, type Target } from '../support/targets.ts';

const ORIGIN = 'https://app.test';
const STATIC = new URL('../../examples/static/', import.meta.url);

/**
 * Text that appears only in files outside examples/static (or in its dotfile): the
 * repository's package.json (two levels up), /etc/passwd, the repository's
 * .git/config, and examples/static/.secret.
 */
const OUTSIDE_MARKERS = ['"name": "rampart"', ':0:0:', 'repositoryformatversion', 'SECRET='];

// The markers must be real: each is in the file it stands for.
const MARKER_SOURCES: [string, URL | string][] = [
  ['"name": "rampart"', new URL('../../package.json', import.meta.url)],
  [':0:0:', '/etc/passwd'], // root's line: `root:x:0:0:` (Linux), `root:*:0:0:` (macOS)
  ['repositoryformatversion', new URL('../../.git/config', import.meta.url)],
  ['SECRET=', new URL('.secret', STATIC)],
];

/** Dot forms: `..` as a server or a later layer might decode it. */
const DOTS = [
  '..',
  '%2e%2e',
  '%2E%2e',
  '.%2e',
  '%2e.',
  '%252e%252e', // double encoding
  '%c0%ae%c0%ae', // overlong UTF-8
  '%e0%80%ae%e0%80%ae', // 3-byte overlong UTF-8
  '%uff0e%uff0e', // IIS %u form of the fullwidth dot
  '%ef%bc%8e%ef%bc%8e', // fullwidth dot U+FF0E in UTF-8 (NFKC: `.`)
  '%e2%80%a5', // two-dot leader U+2025 (NFKC: `..`)
  '..%00',
  '...',
];

/** Slash forms. */
const SLASHES = [
  '/',
  '%2f',
  '%2F',
  '%5c',
  '\\', // a raw backslash
  '%252f',
  '%c0%af', // overlong UTF-8
  '%e2%88%95', // division slash U+2215
  '%ef%bc%8f', // fullwidth solidus U+FF0F (NFKC: `/`)
];

/**
 * Targets, relative to the directory the climb ends in: examples/static is four levels
 * below `/` and two below the repository root, so depth 2 reaches the real
 * package.json and .git/config, depth 4 and more /etc/passwd; `static-evil/x` is a
 * sibling whose name starts with the root's (send's CVE-2014-6394); `.secret` is the
 * root's own dotfile one level up or, at depth 0 (in the specials), in place.
 */
const TARGETS = ['package.json', 'etc/passwd', 'static-evil/x', '.secret', '.git/config'];
const DEPTHS = [1, 2, 3, 4, 5, 6];

function corpus(): string[] {
  const paths = new Set<string>();
  for (const dot of DOTS) {
    for (const slash of SLASHES) {
      for (const depth of DEPTHS) {
        for (const target of TARGETS) paths.add(`${`${dot}${slash}`.repeat(depth)}${target.replaceAll('/', slash)}`);
      }
    }
  }
  for (const special of SPECIALS) paths.add(special);
  return [...paths];
}

/** Hand-picked cases beside the product: dotfiles in place, mixed encodings, Windows forms, suffix tricks. */
const SPECIALS = [
  '.secret',
  '%2esecret',
  '%2Esecret',
  '.secret%00',
  '.secret%00.txt',
  '.secret/',
  '.SECRET',
  '.git/config',
  '.git%2fconfig',
  '%2egit/config',
  'docs/../.secret',
  'docs/..%2f.secret',
  'docs/%2e%2e/.secret',
  'docs/%2e%2e%2f.secret',
  'docs/.%2e/.secret',
  'docs%2f..%2f.secret',
  'docs/..%2f..%2f..%2fpackage.json',
  'docs/..%5c..%5c..%5cpackage.json',
  './.secret',
  '%2e/.secret',
  '..;/..;/package.json',
  '..%3b/..%3b/package.json',
  '....//....//package.json',
  '..././..././package.json',
  '.../.../package.json',
  '..//..//package.json',
  '..\\/..\\/package.json',
  '.%00./.%00./package.json',
  '..%01/..%01/package.json',
  '%%32%65%%32%65/%%32%65%%32%65/package.json',
  '%%32%65%%32%65%%32%66%%32%65%%32%65%%32%66package.json',
  '%u002e%u002e%u2215%u002e%u002e%u2215package.json',
  '..%c1%9c..%c1%9cpackage.json',
  '..%e0%80%af..%e0%80%afpackage.json',
  '..%255c..%255cpackage.json',
  '%2e%2e%2f%2e%2e%2fpackage.json%00hello.txt',
  '%2e%2e%2f%2e%2e%2fpackage.json%3bhello.txt',
  '%2e%2e%2f%2e%2e%2fpackage.json%23hello.txt',
  '%2e%2e%2f%2e%2e%2fpackage.json?hello.txt',
  '/etc/passwd',
  '%2fetc%2fpasswd',
  '//etc/passwd',
  '%2f%2fetc%2fpasswd',
  '%5cetc%5cpasswd',
  'C:%5cwindows%5cwin.ini',
  'C:/windows/win.ini',
  'C%3a%5cwindows%5cwin.ini',
  '%5c%5cevil%5cshare%5cx',
  '\\\\evil\\share\\x',
  '%5c%5c%3f%5cC:%5cx',
  'file:///etc/passwd',
  'hello.txt%00.png',
  'hello.txt::$DATA',
  'hello.txt.',
  'hello.txt%20',
  'con.txt',
  'CON',
  'nul.txt',
  'COM%c2%b9.txt',
  'hello.txt/',
  'docs',
  'docs/',
  '',
  '.',
  '%2e',
  '%zz',
  '%',
  '%c0',
  '%ed%a0%80', // an encoded lone surrogate
  `${'a'.repeat(300)}.txt`,
  `${'a/'.repeat(3000)}x`,
  `${'%2e%2e%2f'.repeat(200)}etc%2fpasswd`,
];

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** GET over kept-alive connections (rawRequest closes each one; the corpus is thousands of requests). */
function keepAliveGet(agent: Agent, base: string, path: string, retries = 3): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ agent, host: url.hostname, port: url.port, path, method: 'GET', headers: { accept: 'application/json' } }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks).toString('latin1') }));
      incoming.on('error', reject);
    });
    outgoing.setTimeout(10_000, () => outgoing.destroy(new Error(`GET ${path}: no answer within 10 s`)));
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      // A kept-alive connection the server closed after its last answer (after a 400, servers close): once more, on a new one.
      if (retries > 0 && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) keepAliveGet(agent, base, path, retries - 1).then(resolve, reject);
      else reject(error);
    });
    outgoing.end();
  });
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
async function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!);
      }
    }),
  );
  return results;
}

const PATHS = corpus();

it('the corpus is what it claims: several thousand distinct paths, and the markers are in the files they stand for', () => {
  expect(PATHS.length).toBeGreaterThan(3000);
  for (const [marker, source] of MARKER_SOURCES) expect(readFileSync(source, 'utf8'), String(source)).toContain(marker);
  for (const file of ['hello.txt', 'style.css', 'data.json', 'docs/readme.txt']) {
    for (const marker of OUTSIDE_MARKERS) expect(readFileSync(new URL(file, STATIC), 'utf8')).not.toContain(marker);
  }
});

describe.each(ADAPTERS)('%s', (adapter) => {
  let target: Target;
  let uploads: string;
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });

  beforeAll(async () => {
    // The app creates an upload directory; give it one this test removes.
    uploads = mkdtempSync(join(tmpdir(), `rampart-files-conformance-${adapter}-`));
    target = await startTarget(adapter, { ...testOptions({ origin: ORIGIN }), uploadsDirectory: uploads } as RampartOptions);
  });
  afterAll(async () => {
    agent.destroy();
    await target.close();
    rmSync(uploads, { recursive: true, force: true });
  });

  describe('controls', () => {
    it.each([
      ['hello.txt', 'text/plain; charset=utf-8', 'hello.txt'],
      ['docs/readme.txt', 'text/plain; charset=utf-8', 'docs/readme.txt'],
      // An encoded slash is decoded once, to a path still inside the root: served, the same file on every adapter.
      ['docs%2freadme.txt', 'text/plain; charset=utf-8', 'docs/readme.txt'],
      ['docs%2Freadme%2etxt', 'text/plain; charset=utf-8', 'docs/readme.txt'],
      ['style.css', 'text/css; charset=utf-8', 'style.css'],
      ['data.json', 'application/json', 'data.json'],
    ])('GET /files/%s is served as %s', async (path, type, file) => {
      const response = await rawRequest(target.url, `/files/${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(type);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await response.text()).toBe(readFileSync(new URL(file, STATIC), 'utf8'));
    });

    it('HEAD is answered with the headers and no body', async () => {
      const response = await rawRequest(target.url, '/files/hello.txt', { method: 'HEAD' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(response.headers.get('content-length')).toBe(String(readFileSync(new URL('hello.txt', STATIC)).length));
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await response.text()).toBe('');
    });

    it('POST /files/… is not served, with or without a valid CSRF token', async () => {
      const browser = await formCredentials(target);
      for (const headers of [{}, { cookie: browser.cookie, 'x-csrf-token': browser.token, 'sec-fetch-site': 'same-origin' }]) {
        const response = await rawRequest(target.url, '/files/hello.txt', { method: 'POST', headers: { accept: 'application/json', ...headers }, body: '' });
        expect([403, 404, 405]).toContain(response.status);
        expect(await response.text()).not.toContain('Hello from');
      }
    });

    it('the dotfile, directories and the root itself are 404 file_not_found', async () => {
      for (const path of ['.secret', 'docs', 'docs/', '']) {
        const response = await rawRequest(target.url, `/files/${path}`, { headers: { accept: 'application/json' } });
        const text = await response.text();
        expect([response.status, /"code":"([a-z_]+)"/.exec(text)?.[1]], path).toEqual([404, 'file_not_found']);
        expect(text).not.toContain('SECRET=');
      }
    });
  });

  it(`the traversal corpus (${PATHS.length} paths): no escape, no 2xx/3xx/5xx, only 400 or 404`, { timeout: 60_000 }, async () => {
    // A request that fails outright is reported with its path (status 0), not as one error for the whole corpus.
    const answers = await pool(PATHS, 8, async (path) => ({
      path,
      answer: await keepAliveGet(agent, target.url, `/files/${path}`).catch((error: Error): Answer => ({ status: 0, headers: {}, body: `(${error.message})` })),
    }));
    const statuses = new Map<string, number>();
    const problems: string[] = [];
    for (const { path, answer } of answers) {
      const code = /"code":"([a-z_]+)"/.exec(answer.body)?.[1];
      const key = `${answer.status} ${code ?? '(no code)'}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      const leaked = OUTSIDE_MARKERS.filter((marker) => answer.body.includes(marker));
      if (leaked.length > 0) problems.push(`${path}: the body holds ${leaked.join(', ')}`);
      if (answer.status !== 400 && answer.status !== 404) problems.push(`${path}: status ${answer.status} ${code ?? answer.body.slice(0, 80)}`);
      if (code !== undefined && !['path_malformed', 'path_traversal', 'file_not_found'].includes(code)) problems.push(`${path}: code ${code}`);
    }
    expect(problems, `${adapter}: ${[...statuses].map(([key, count]) => `${key}: ${count}`).join(', ')}`).toEqual([]);
    // Refusals say why: most of the corpus is answered by rampart's checks, not by a router that found no route.
    const refusedByRampart = answers.filter(({ answer }) => /"code":"(path_malformed|path_traversal|file_not_found)"/.test(answer.body)).length;
    expect(refusedByRampart, [...statuses].map(([key, count]) => `${key}: ${count}`).join(', ')).toBeGreaterThan(PATHS.length / 2);
  });

  it('the server still serves', async () => {
    expect((await rawRequest(target.url, '/files/hello.txt')).status).toBe(200);
  });
});
