import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RampartError } from '../errors.ts';
import { staticFiles, type StaticFiles } from './static.node.ts';

let base: string;
let root: string;
let files: StaticFiles;
const big = randomBytes(1024 * 1024 + 123);

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'rampart-static-'));
  root = join(base, 'public');
  const evil = join(base, 'public-evil');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(root, '.git'));
  mkdirSync(evil);
  const write = (name: string, content: string | Uint8Array) => writeFileSync(join(root, name), content);
  write('a.txt', 'hello');
  write('index.html', '<!doctype html><title>x</title>');
  write('style.css', 'body{}');
  write('app.js', 'export {}');
  write('app.mjs', 'export {}');
  write('data.json', '{}');
  write('logo.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>');
  write('img.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
  write('photo.JPG', 'jpg');
  write('font.woff2', 'woff2');
  write('module.wasm', 'wasm');
  write('doc.pdf', 'pdf');
  write('unknown.xyz', 'x');
  write('noext', 'x');
  write('big.bin', big);
  write('sub/nested.txt', 'nested');
  write('.env', 'SECRET=1');
  write('.git/config', '[core]');
  writeFileSync(join(evil, 'secret.txt'), 'outside');
  utimesSync(join(root, 'a.txt'), new Date('2026-01-02T03:04:05Z'), new Date('2026-01-02T03:04:05Z'));
  // Symlinks out of the root, to a sibling whose name shares the root's prefix.
  symlinkSync('../public-evil/secret.txt', join(root, 'leak.txt'));
  symlinkSync(join(evil, 'secret.txt'), join(root, 'leak-absolute.txt'));
  symlinkSync('../public-evil', join(root, 'leakdir'));
  symlinkSync('/etc/passwd', join(root, 'passwd'));
  // Symlinks that stay inside.
  symlinkSync('a.txt', join(root, 'alias.txt'));
  symlinkSync('sub', join(root, 'subalias'));
  symlinkSync('.env', join(root, 'env-link'));
  symlinkSync('loop', join(root, 'loop'));
  symlinkSync('missing.txt', join(root, 'dangling.txt'));
  execFileSync('mkfifo', [join(root, 'pipe')]);
  symlinkSync(root, join(base, 'root-link'));
  files = staticFiles({ root });
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

/** The code of the RampartError `serve` throws, or `'served'` with the status. */
async function outcome(promise: Promise<Response>): Promise<string> {
  try {
    const response = await promise;
    await response.body?.cancel();
    return `served ${response.status}`;
  } catch (error) {
    if (error instanceof RampartError) return error.code;
    throw error;
  }
}

function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('staticFiles: serving', () => {
  it('serves a file with its headers', async () => {
    const response = await files.serve('a.txt');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello');
    expect(Object.fromEntries(response.headers)).toEqual({
      'content-type': 'text/plain; charset=utf-8',
      'content-length': '5',
      'last-modified': 'Fri, 02 Jan 2026 03:04:05 GMT',
      etag: expect.stringMatching(/^W\/"5-[0-9a-f]+"$/),
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
  });

  it.each([
    ['index.html', 'text/html; charset=utf-8'],
    ['style.css', 'text/css; charset=utf-8'],
    ['app.js', 'text/javascript; charset=utf-8'],
    ['app.mjs', 'text/javascript; charset=utf-8'],
    ['data.json', 'application/json'],
    ['logo.svg', 'image/svg+xml'],
    ['img.png', 'image/png'],
    ['photo.JPG', 'image/jpeg'],
    ['font.woff2', 'font/woff2'],
    ['module.wasm', 'application/wasm'],
    ['doc.pdf', 'application/pdf'],
    ['unknown.xyz', 'application/octet-stream'],
    ['noext', 'application/octet-stream'],
    ['big.bin', 'application/octet-stream'],
  ])('%s is %s', async (path, type) => {
    const response = await files.serve(path);
    await response.body?.cancel();
    expect(response.headers.get('content-type')).toBe(type);
  });

  it('streams a large file whole, with its length', async () => {
    const response = await files.serve('big.bin');
    expect(response.headers.get('content-length')).toBe(String(big.length));
    expect(Buffer.from(await response.arrayBuffer()).equals(big)).toBe(true);
  });

  it('serves nested files, percent-encoded paths and symlinks that stay inside', async () => {
    expect(await (await files.serve('sub/nested.txt')).text()).toBe('nested');
    expect(await (await files.serve('sub%2Fnested.txt')).text()).toBe('nested');
    expect(await (await files.serve('alias.txt')).text()).toBe('hello');
    expect(await (await files.serve('subalias/nested.txt')).text()).toBe('nested');
  });

  it('serves a root given through a symlink', async () => {
    const linked = staticFiles({ root: join(base, 'root-link') });
    expect(await (await linked.serve('a.txt')).text()).toBe('hello');
  });

  it('sets Cache-Control from maxAge', async () => {
    const cached = staticFiles({ root, maxAge: 3600 });
    const response = await cached.serve('a.txt');
    await response.body?.cancel();
    expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
  });

  it('answers HEAD with the headers and no body', async () => {
    const response = await files.serve('big.bin', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.body).toBeNull();
    expect(response.headers.get('content-length')).toBe(String(big.length));
  });

  it('answers other methods 405, for the caller to route them elsewhere', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const response = await files.serve('a.txt', { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
  });
});

describe('staticFiles: conditional requests', () => {
  async function etagOf(path: string): Promise<string> {
    const response = await files.serve(path, { method: 'HEAD' });
    return response.headers.get('etag')!;
  }

  it('answers 304 to a matching If-None-Match, in every form', async () => {
    const etag = await etagOf('a.txt');
    for (const value of [etag, etag.slice(2), `"other", ${etag}`, '*']) {
      for (const headers of [new Headers({ 'if-none-match': value }), { 'if-none-match': value }, { 'If-None-Match': [value] }]) {
        const response = await files.serve('a.txt', { headers });
        expect(response.status, value).toBe(304);
        expect(response.body).toBeNull();
        expect(response.headers.get('etag')).toBe(etag);
        expect(response.headers.get('cache-control')).toBe('no-cache');
      }
    }
  });

  it('serves the file when the ETag differs', async () => {
    const response = await files.serve('a.txt', { headers: { 'if-none-match': 'W/"5-0"' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello');
  });

  it('uses If-Modified-Since only without If-None-Match', async () => {
    const later = 'Sat, 03 Jan 2026 00:00:00 GMT';
    const earlier = 'Thu, 01 Jan 2026 00:00:00 GMT';
    expect((await files.serve('a.txt', { headers: { 'if-modified-since': 'Fri, 02 Jan 2026 03:04:05 GMT' } })).status).toBe(304);
    expect((await files.serve('a.txt', { headers: { 'if-modified-since': later } })).status).toBe(304);
    expect(await outcome(files.serve('a.txt', { headers: { 'if-modified-since': earlier } }))).toBe('served 200');
    expect(await outcome(files.serve('a.txt', { headers: { 'if-modified-since': 'garbage' } }))).toBe('served 200');
    expect(await outcome(files.serve('a.txt', { headers: { 'if-modified-since': later, 'if-none-match': '"nope"' } }))).toBe('served 200');
  });
});

describe('staticFiles: refusals', () => {
  it.each([
    ['../public-evil/secret.txt', 'path_traversal'],
    ['..%2fpublic-evil%2fsecret.txt', 'path_traversal'],
    ['%2e%2e/public-evil/secret.txt', 'path_traversal'],
    ['/etc/passwd', 'path_traversal'],
    ['sub/../a.txt', 'path_traversal'],
    ['a.txt%00', 'path_malformed'],
    ['%c0%ae%c0%ae/etc/passwd', 'path_malformed'],
    ['\uFF0E\uFF0E/public-evil/secret.txt', 'path_traversal'],
    // Symlinks that leave the root
    ['leak.txt', 'file_not_found'],
    ['leak-absolute.txt', 'file_not_found'],
    ['leakdir/secret.txt', 'file_not_found'],
    ['passwd', 'file_not_found'],
    // What is not a regular file
    ['', 'file_not_found'],
    ['sub', 'file_not_found'],
    ['sub/', 'file_not_found'],
    ['subalias', 'file_not_found'],
    ['pipe', 'file_not_found'],
    ['loop', 'file_not_found'],
    ['dangling.txt', 'file_not_found'],
    ['missing.txt', 'file_not_found'],
    ['a.txt/x', 'file_not_found'],
    // Dotfiles, directly or through a link
    ['.env', 'file_not_found'],
    ['.git/config', 'file_not_found'],
    ['env-link', 'file_not_found'],
  ])('%j → %s', async (path, code) => {
    expect(await outcome(files.serve(path))).toBe(code);
  });

  it('throws RampartErrors with the status the adapters answer', async () => {
    const errors = await Promise.all(['../x', '%zz', 'missing.txt'].map((path) => files.serve(path).catch((error: unknown) => error as RampartError)));
    expect(errors.map((error) => [error instanceof RampartError, (error as RampartError).status])).toEqual([
      [true, 400],
      [true, 400],
      [true, 404],
    ]);
  });

  it('does not hang on a FIFO, even with a writer nowhere', async () => {
    const started = Date.now();
    expect(await outcome(files.serve('pipe'))).toBe('file_not_found');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('serves dotfiles only with dotfiles: allow', async () => {
    const open = staticFiles({ root, dotfiles: 'allow' });
    expect(await (await open.serve('.env')).text()).toBe('SECRET=1');
    expect(await (await open.serve('env-link')).text()).toBe('SECRET=1');
    expect(await (await open.serve('.git/config')).text()).toBe('[core]');
    expect(await outcome(open.serve('leak.txt'))).toBe('file_not_found');
    expect(await outcome(open.serve('../public-evil/secret.txt'))).toBe('path_traversal');
  });
});

describe('staticFiles: options', () => {
  it.each([
    [{ root: 'public' }, /"root" must be an absolute path to a directory, got "public"/],
    [{ root: undefined }, /"root" must be an absolute path/],
    [{ root: '/nonexistent/rampart-static' }, /must be an existing directory; "\/nonexistent\/rampart-static" does not exist/],
    [{ root: '/etc/hostname' }, /must be a directory; "\/etc\/hostname" is not one/],
    [{ root: '/tmp', dotfiles: 'deny' }, /"dotfiles" must be 'ignore' or 'allow', got "deny"/],
    [{ root: '/tmp', maxage: 60 }, /unknown option "maxage". Did you mean "maxAge"\?/],
  ])('%j is a TypeError', (options, message) => {
    expect(() => staticFiles(options as never)).toThrow(TypeError);
    expect(() => staticFiles(options as never)).toThrow(message);
  });

  it.each([[-1], [1.5], [Infinity], ['60'], [400_000_000]])('maxAge %j is a RangeError', (maxAge) => {
    expect(() => staticFiles({ root: '/tmp', maxAge: maxAge as number })).toThrow(RangeError);
  });

  it('refuses a missing options object', () => {
    expect(() => staticFiles(undefined as never)).toThrow(/expects an options object/);
  });
});

/**
 * Serves `<folder>/f.txt` for 1.5 s while another process keeps swapping the real
 * directory `<folder>` for a symlink to `linkTarget` (the check-then-open race that
 * O_NOFOLLOW alone cannot close, since it covers only the last component), and counts
 * what each serve gave: the file's text, or the refusal's code.
 */
async function serveWhileSwapped(folder: string, linkTarget: string): Promise<Map<string, number>> {
  const race = join(root, folder);
  const swapper = spawn(process.execPath, [
    '-e',
    `const fs = require('node:fs');
     const [race, parked, link, target] = process.argv.slice(1);
     fs.symlinkSync(target, link);
     const end = Date.now() + 3000;
     while (Date.now() < end) {
       try { fs.renameSync(race, parked); fs.renameSync(link, race); fs.renameSync(race, link); fs.renameSync(parked, race); } catch {}
     }`,
    race,
    `${race}-parked`,
    `${race}-link`,
    linkTarget,
  ], { stdio: 'ignore' });
  const exited = new Promise((resolve) => swapper.once('exit', resolve));
  const seen = new Map<string, number>();
  try {
    const end = Date.now() + 1500;
    while (Date.now() < end) {
      const result = await files.serve(`${folder}/f.txt`).then(
        (response) => response.text(),
        (error: unknown) => (error instanceof RampartError ? error.code : 'error'),
      );
      seen.set(result, (seen.get(result) ?? 0) + 1);
    }
  } finally {
    swapper.kill();
    await exited;
  }
  return seen;
}

describe('staticFiles: a directory swapped for a symlink while serving', () => {
  it('never serves the file outside, whatever the timing', async () => {
    mkdirSync(join(root, 'race'));
    writeFileSync(join(root, 'race', 'f.txt'), 'inside');
    writeFileSync(join(base, 'public-evil', 'f.txt'), 'outside');
    const seen = await serveWhileSwapped('race', join(base, 'public-evil'));
    // The race was really run: the file was served between swaps, and refused during them.
    expect(seen.get('inside')).toBeGreaterThan(0);
    expect(seen.get('outside')).toBeUndefined();
    expect([...seen.keys()].every((result) => result === 'inside' || result === 'file_not_found'), JSON.stringify([...seen])).toBe(true);
  });

  it('never serves what a dot folder inside the root holds, whatever the timing', async () => {
    mkdirSync(join(root, 'race-dot'));
    writeFileSync(join(root, 'race-dot', 'f.txt'), 'inside');
    mkdirSync(join(root, '.hidden-race'));
    writeFileSync(join(root, '.hidden-race', 'f.txt'), 'hidden');
    const seen = await serveWhileSwapped('race-dot', join(root, '.hidden-race'));
    expect(seen.get('inside')).toBeGreaterThan(0);
    expect(seen.get('hidden')).toBeUndefined();
    expect([...seen.keys()].every((result) => result === 'inside' || result === 'file_not_found'), JSON.stringify([...seen])).toBe(true);
  });
});

describe('staticFiles: file descriptors', () => {
  it('leaks none over 200 serves: read, cancelled, abandoned mid-stream, HEAD, 304 and refused', async () => {
    const etag = (await files.serve('a.txt', { method: 'HEAD' })).headers.get('etag')!;
    const before = openDescriptors();
    for (let round = 0; round < 20; round++) {
      await (await files.serve('a.txt')).text();
      await (await files.serve('big.bin')).arrayBuffer();
      await (await files.serve('big.bin')).body!.cancel();
      const reader = (await files.serve('big.bin')).body!.getReader();
      await reader.read();
      await reader.cancel();
      await files.serve('big.bin', { method: 'HEAD' });
      await files.serve('a.txt', { headers: { 'if-none-match': etag } });
      await outcome(files.serve('pipe'));
      await outcome(files.serve('leak.txt'));
      await outcome(files.serve('sub'));
      await outcome(files.serve('../x'));
    }
    expect(openDescriptors()).toBe(before);
  });
});
