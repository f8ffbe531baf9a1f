/**
 * `staticFiles`: serves the files of one directory, by a path from the URL, as Web
 * `Response`s (Node only: it opens files).
 *
 * The path is checked as a string first (`resolveInside`), then against the file
 * system, because a string check cannot see symlinks: the candidate is resolved with
 * `realpath` and must still be inside the real root; the file is opened with
 * `O_NOFOLLOW` (a symlink swapped in at the last component fails with `ELOOP`) and
 * `O_NONBLOCK` (opening a FIFO never waits for a writer), and the opened descriptor
 * must be the regular file that was checked. This is Go's `os.Root` rule ("symbolic
 * links may not reference a location outside the root") without `openat2`, which
 * Node does not expose.
 */

import { constants, realpathSync, statSync, type Stats } from 'node:fs';
import { open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { describe, isPlainObject, rejectUnknownKeys } from '../_internal/describe.ts';
import { RampartError } from '../errors.ts';
import { resolveInside } from './join.ts';

/** Options of `staticFiles`. */
export interface StaticFilesOptions {
  /** The directory to serve: an absolute path to an existing directory (symlinks resolved once, at startup). */
  readonly root: string;
  /** `'ignore'` (the default) answers 404 for every path with a segment starting with `.`; `'allow'` serves them. */
  readonly dotfiles?: 'ignore' | 'allow';
  /** Seconds a browser may reuse a file without asking: `Cache-Control: public, max-age=N`. Default 0 (`no-cache`: always revalidated by ETag). */
  readonly maxAge?: number;
}

/** The parts of a request `serve` reads: the method, and the conditional headers. */
export interface StaticFileRequest {
  /** `GET` (the default) or `HEAD`; anything else is answered 405. */
  readonly method?: string | undefined;
  /** A `Headers`, or node's `IncomingMessage.headers`. */
  readonly headers?: Headers | Readonly<Record<string, string | readonly string[] | undefined>> | undefined;
}

/** A directory of files to serve. */
export interface StaticFiles {
  /**
   * The response for the file at `untrusted` (the part of the URL path after the
   * route's prefix, percent-encoded or not). Throws a `RampartError`
   * (`path_malformed`, `path_traversal` 400; `file_not_found` 404) that the adapters
   * answer; consume or cancel the returned body, which holds the file open.
   */
  serve(untrusted: string, request?: StaticFileRequest): Promise<Response>;
}

const OPTION_NAMES = ['root', 'dotfiles', 'maxAge'] as const;

/** One year: longer `max-age` values are clamped by browsers anyway. */
const MAX_AGE_LIMIT = 31_536_000;

/** Files up to this size are read whole and closed before the response is returned. */
const SMALL_FILE = 64 * 1024;
const CHUNK = 64 * 1024;

/**
 * `O_NOFOLLOW`: the last component must not be a symlink. `O_NONBLOCK`: a FIFO
 * (or a device) opens without waiting, so a named pipe planted in the tree cannot
 * hang the thread pool; regular files ignore the flag.
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** Errors that mean "no such file here" rather than a server fault. */
const NOT_FOUND_ERRORS: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EACCES', 'EPERM', 'ENAMETOOLONG', 'ENXIO', 'EISDIR']);

/** Content types by extension; a text type carries its charset. Anything else is a download. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  json: 'application/json',
  map: 'application/json',
  txt: 'text/plain; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/x-icon',
  pdf: 'application/pdf',
  woff2: 'font/woff2',
  wasm: 'application/wasm',
};
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/**
 * Serves the files of `root`. Every path is checked by `resolveInside` (traversal in
 * any encoding, Windows names, dotfiles), then resolved on disk: a symlink that
 * leaves the root, a directory, a FIFO, a device or a socket is a 404, never a
 * redirect or a listing. Answers carry `Content-Type` (from the extension; unknown →
 * `application/octet-stream`), `Content-Length`, `Last-Modified`, a weak `ETag`
 * (`If-None-Match` → 304), `Cache-Control` and `X-Content-Type-Options: nosniff`.
 *
 * Routing is the caller's: give it GET and HEAD requests of one route prefix, and the
 * rest of the path. `Range` requests are answered with the whole file (200).
 *
 * @example
 * ```ts
 * const files = staticFiles({ root: fileURLToPath(new URL('./static/', import.meta.url)) })
 * // GET or HEAD /files/…: the rest of the URL path, as sent
 * const response = await files.serve(new URL(request.url).pathname.slice('/files/'.length), request)
 * ```
 */
export function staticFiles(options: StaticFilesOptions): StaticFiles {
  if (!isPlainObject(options)) {
    throw new TypeError(`rampart: staticFiles expects an options object such as { root: '/srv/static' }, got ${describe(options)}.`);
  }
  rejectUnknownKeys(options, OPTION_NAMES, '');
  const realRoot = realDirectory(options.root);
  const dotfiles = options.dotfiles ?? 'ignore';
  if (dotfiles !== 'ignore' && dotfiles !== 'allow') {
    throw new TypeError(`rampart: option "dotfiles" must be 'ignore' or 'allow', got ${describe(dotfiles)}.`);
  }
  const maxAge = options.maxAge ?? 0;
  if (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0 || maxAge > MAX_AGE_LIMIT) {
    throw new RangeError(`rampart: option "maxAge" must be a whole number of seconds from 0 to ${MAX_AGE_LIMIT} (one year), got ${describe(maxAge)}.`);
  }
  const cacheControl = maxAge === 0 ? 'no-cache' : `public, max-age=${maxAge}`;
  const inside = realRoot === '/' ? '/' : `${realRoot}/`;
  const joinOptions = { dotfiles } as const;

  /** The opened regular file that `candidate` names, inside the real root. */
  async function openInside(candidate: string): Promise<{ handle: FileHandle; stats: Stats }> {
    let real: string;
    let checked: Stats;
    try {
      real = await realpath(candidate);
      // A symlink may point anywhere inside the root, never out of it; and a link to
      // a dotfile is a dotfile.
      if (!real.startsWith(inside) || (dotfiles === 'ignore' && hasDotSegment(real.slice(inside.length)))) throw new RampartError('file_not_found');
      // Checked before opening, so a device is never opened (opening some has effects).
      checked = await stat(real);
    } catch (error) {
      throw notFound(error);
    }
    if (!checked.isFile()) throw new RampartError('file_not_found');
    let handle: FileHandle;
    try {
      handle = await open(real, OPEN_FLAGS);
    } catch (error) {
      throw notFound(error);
    }
    try {
      const stats = await handle.stat();
      // The descriptor must be the file that was checked, not one swapped in since.
      if (!stats.isFile() || stats.ino !== checked.ino || stats.dev !== checked.dev) throw new RampartError('file_not_found');
      if (!(await openedInside(handle, inside, dotfiles === 'ignore'))) throw new RampartError('file_not_found');
      return { handle, stats };
    } catch (error) {
      await handle.close();
      throw notFound(error);
    }
  }

  return {
    serve: async function serveStaticFile(untrusted: string, request: StaticFileRequest = {}): Promise<Response> {
      const method = (request.method ?? 'GET').toUpperCase();
      if (method !== 'GET' && method !== 'HEAD') {
        return new Response(null, { status: 405, headers: { Allow: 'GET, HEAD', 'Cache-Control': 'no-store' } });
      }
      const resolved = resolveInside(realRoot, untrusted, joinOptions);
      if ('rejected' in resolved) throw new RampartError(resolved.rejected);
      const { handle, stats } = await openInside(resolved.path);
      const etag = `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
      if (notModified(request.headers, etag, stats.mtimeMs)) {
        await handle.close();
        return new Response(null, { status: 304, headers: { ETag: etag, 'Cache-Control': cacheControl } });
      }
      const headers = {
        'Content-Type': contentType(resolved.path),
        'Content-Length': String(stats.size),
        'Last-Modified': new Date(stats.mtimeMs).toUTCString(),
        ETag: etag,
        'Cache-Control': cacheControl,
        'X-Content-Type-Options': 'nosniff',
      };
      if (method === 'HEAD') {
        await handle.close();
        return new Response(null, { status: 200, headers });
      }
      if (stats.size <= SMALL_FILE) return new Response(await readWhole(handle, stats.size), { status: 200, headers });
      return new Response(fileStream(handle, stats.size), { status: 200, headers });
    },
  };
}

/** The real path of the root directory, or a TypeError that says what is wrong. */
function realDirectory(root: unknown): string {
  const example = "e.g. fileURLToPath(new URL('./static/', import.meta.url))";
  if (typeof root !== 'string' || !root.startsWith('/')) {
    throw new TypeError(`rampart: staticFiles option "root" must be an absolute path to a directory, got ${describe(root)}. Pass one, ${example}.`);
  }
  let real: string;
  try {
    real = realpathSync(root);
  } catch {
    throw new TypeError(`rampart: staticFiles option "root" must be an existing directory; ${describe(root)} does not exist or cannot be read. Create it, or pass another path, ${example}.`);
  }
  if (!statSync(real).isDirectory()) {
    throw new TypeError(`rampart: staticFiles option "root" must be a directory; ${describe(root)} is not one. Pass the directory that holds the files.`);
  }
  if (!real.startsWith('/')) {
    throw new TypeError(`rampart: staticFiles serves POSIX paths only; the root resolved to ${describe(real)}.`);
  }
  // Checks the root the way every request will use it, so a root it refuses fails here, at startup.
  resolveInside(real, 'startup-check');
  return real;
}

/** A thrown file-system error as a 404 when it means "not here"; anything else as is. */
function notFound(error: unknown): unknown {
  if (error instanceof RampartError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NOT_FOUND_ERRORS.has(code)) return new RampartError('file_not_found', { cause: error });
  return error;
}

function hasDotSegment(relative: string): boolean {
  return relative.startsWith('.') || relative.includes('/.');
}

/**
 * Whether the descriptor really points inside the root (and, with `refuseDotfiles`,
 * not under a dot segment), read back from `/proc/self/fd` on Linux: a directory
 * swapped for a symlink between `realpath` and `open` (only the last component is
 * covered by `O_NOFOLLOW`) shows up here, whether the link leads out of the root or to
 * a `.hidden/` folder inside it. Without `/proc`, the checks before stand alone.
 */
async function openedInside(handle: FileHandle, inside: string, refuseDotfiles: boolean): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  let target: string;
  try {
    target = await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return true;
  }
  return target.startsWith(inside) && !(refuseDotfiles && hasDotSegment(target.slice(inside.length)));
}

function contentType(path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  if (dot <= slash + 1) return DEFAULT_CONTENT_TYPE;
  return CONTENT_TYPES[path.slice(dot + 1).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}

function header(headers: StaticFileRequest['headers'], name: string): string | undefined {
  if (headers === undefined) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  let value = headers[name];
  if (value === undefined) {
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === name) {
        value = headers[key];
        break;
      }
    }
  }
  return typeof value === 'string' ? value : value?.join(', ');
}

/**
 * RFC 9110 §13.1.2 and §13.2.2: `If-None-Match` (weak comparison, `*` included) wins;
 * `If-Modified-Since` is used only without it, at one-second resolution.
 */
function notModified(headers: StaticFileRequest['headers'], etag: string, mtimeMs: number): boolean {
  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    const opaque = etag.slice(2);
    return ifNoneMatch.split(',').some((tag) => {
      const trimmed = tag.trim();
      return trimmed === '*' || (trimmed.startsWith('W/') ? trimmed.slice(2) : trimmed) === opaque;
    });
  }
  const ifModifiedSince = header(headers, 'if-modified-since');
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return Number.isFinite(since) && Math.floor(mtimeMs / 1000) * 1000 <= since;
}

/** A small file, read whole; the handle is closed whatever happens. */
async function readWhole(handle: FileHandle, size: number): Promise<Uint8Array<ArrayBuffer>> {
  try {
    const bytes = new Uint8Array(size);
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await handle.read(bytes, offset, size - offset, offset);
      if (bytesRead === 0) throw new Error('rampart: a served file shrank while it was read');
      offset += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}

/**
 * The first `size` bytes of the file as a stream (exactly `Content-Length`), closing
 * the handle when the last byte is read, on a read error, and when the reader cancels
 * (a client that disconnects): no descriptor outlives the response.
 */
function fileStream(handle: FileHandle, size: number): ReadableStream<Uint8Array> {
  let position = 0;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const length = Math.min(CHUNK, size - position);
          const chunk = new Uint8Array(length);
          const { bytesRead } = await handle.read(chunk, 0, length, position);
          if (bytesRead === 0) throw new Error('rampart: a served file shrank while it was read');
          position += bytesRead;
          controller.enqueue(bytesRead === length ? chunk : chunk.subarray(0, bytesRead));
          if (position >= size) {
            await close();
            controller.close();
          }
        } catch (error) {
          await close().catch(() => {});
          controller.error(error);
        }
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
}
