/**
 * `rampart/uploads/disk`: uploads on the local file system (Node).
 *
 * Layout under the directory (created 0700, and refused when others may write to it):
 * - `incoming/<host>.<pid namespace>.<pid>.<start>/<id>`: files being received, one folder per process;
 * - `<id[0..1]>/<id>` and `<id[0..1]>/<id>.json`: committed files and their metadata.
 *
 * Files are created exclusively (`O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0600): nothing is
 * ever overwritten and no symlink is followed. Names are the random ids only, so no
 * client input reaches a path. A file appears under its id only once complete (a
 * rename), and what a crash leaves behind in `incoming/` is removed at the next start.
 *
 * @example
 * ```ts
 * import { uploads } from 'rampart/uploads'
 * import { diskStorage } from 'rampart/uploads/disk'
 *
 * const files = uploads({ storage: diskStorage({ directory: './data/uploads' }), allowedTypes: ['image/png'] })
 * ```
 *
 * @packageDocumentation
 */

import { constants, lstatSync, mkdirSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { describe } from '../_internal/describe.ts';
import type { OpenedUpload, StoredUpload, UploadSink, UploadStorage } from './storage.ts';
import { UPLOAD_TYPES } from './sniff.ts';

/** Options of `diskStorage`. */
export interface DiskStorageOptions {
  /** The directory for uploads, outside every directory the site serves. Created if missing. */
  readonly directory: string;
  /** `fsync` each file before it is committed (survives a power loss, not only a crash). Default `true`. */
  readonly fsync?: boolean;
  /**
   * Files in another process's `incoming/` folder older than this are removed at start
   * (a process that died on another host sharing the directory). Default one hour.
   */
  readonly staleAfterMs?: number;
}

const ID = /^[0-9a-f]{32}$/;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
// O_NONBLOCK: a FIFO planted in the directory must not block a thread of the pool.
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const READ_CHUNK = 64 * 1024;
/**
 * When this process started (ms): with the pid, it tells this process's folder from one
 * a crashed process with the same pid left (in a container, the app is pid 1 every time).
 */
const PROCESS_STARTED = Math.round(Date.now() - process.uptime() * 1000);
/**
 * This process's PID namespace (Linux): pids are only comparable inside one. Two
 * containers sharing a volume and a host name both run as pid 1; without this, each
 * would take the other's folder for that of its own crashed predecessor.
 */
const PID_NAMESPACE = pidNamespace();

function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? 'none';
  } catch {
    return 'none';
  }
}

/** A disk storage: an `UploadStorage` that can also list what it holds. */
export interface DiskStorage extends UploadStorage {
  /**
   * The ids of every committed upload, for housekeeping: an application that records
   * uploads elsewhere (a database row per upload) removes at start the ones it has no
   * record of, e.g. those of a crash between storing a file and recording it.
   */
  list(): Promise<string[]>;
}

/**
 * A storage on the local disk. Creating it prepares the directory and removes the
 * leftovers of a crash (synchronously: call it at startup).
 */
export function diskStorage(options: DiskStorageOptions): DiskStorage {
  if (typeof options !== 'object' || options === null || typeof options.directory !== 'string' || options.directory === '') {
    throw new TypeError(`rampart: diskStorage: directory: expected the path of the uploads directory, got ${describe(options?.directory)}.`);
  }
  const fsync = options.fsync ?? true;
  const staleAfterMs = options.staleAfterMs ?? 60 * 60 * 1000;
  const root = prepareRoot(resolve(options.directory));
  const incomingRoot = join(root, 'incoming');
  mkdirSync(incomingRoot, { recursive: true, mode: 0o700 });
  const ownFolder = `${hostname()}.${PID_NAMESPACE}.${process.pid}.${PROCESS_STARTED}`;
  sweep(incomingRoot, ownFolder, staleAfterMs);
  const incoming = join(incomingRoot, ownFolder);
  mkdirSync(incoming, { recursive: true, mode: 0o700 });

  const dataPath = (id: string): string => join(root, id.slice(0, 2), id);

  return {
    async create(id) {
      if (!ID.test(id)) throw new TypeError(`rampart: diskStorage: ${describe(id)} is not an upload id.`);
      const partial = join(incoming, id);
      let handle: FileHandle;
      try {
        handle = await open(partial, CREATE_FLAGS, 0o600);
      } catch (error) {
        // The folder was removed under us (by hand, or a tmp cleaner): make it again, once.
        if ((error as { code?: string }).code !== 'ENOENT') throw error;
        await mkdir(incoming, { recursive: true, mode: 0o700 });
        handle = await open(partial, CREATE_FLAGS, 0o600);
      }
      return new DiskSink(handle, id, partial, incoming, root, fsync);
    },

    async open(id): Promise<OpenedUpload | undefined> {
      if (!ID.test(id)) return undefined;
      const path = dataPath(id);
      let upload: StoredUpload;
      let handle: FileHandle;
      try {
        upload = parseMetadata(await readFile(`${path}.json`, { encoding: 'utf8', flag: READ_FLAGS }), id);
        handle = await open(path, READ_FLAGS);
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
      const stats = await handle.stat();
      if (!stats.isFile() || stats.size !== upload.size) {
        await handle.close();
        return undefined;
      }
      return { upload, body: fileStream(handle) };
    },

    async list() {
      const ids: string[] = [];
      for (const shard of await readdir(root)) {
        if (!/^[0-9a-f]{2}$/.test(shard)) continue;
        for (const name of await readdir(join(root, shard)).catch(() => [] as string[])) {
          if (name.endsWith('.json') && ID.test(name.slice(0, -5)) && name.startsWith(shard)) ids.push(name.slice(0, -5));
        }
      }
      return ids.sort();
    },

    async remove(id) {
      if (!ID.test(id)) return false;
      const path = dataPath(id);
      // Metadata first: without it the file is not found, whatever happens next.
      const removed = await unlink(`${path}.json`).then(
        () => true,
        (error: unknown) => (isMissing(error) ? false : Promise.reject(error as Error)),
      );
      await unlink(path).catch((error: unknown) => (isMissing(error) ? undefined : Promise.reject(error as Error)));
      return removed;
    },
  };
}

/** Resolves the directory (creating it 0700) and refuses one that is not safe to keep uploads in. */
function prepareRoot(directory: string): string {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const real = realpathSync(directory);
  const stats = statSync(real);
  if (!stats.isDirectory()) throw new TypeError(`rampart: diskStorage: directory: ${describe(directory)} is not a directory.`);
  if ((stats.mode & 0o022) !== 0) {
    throw new TypeError(
      `rampart: diskStorage: directory: ${describe(directory)} is writable by other users; they could plant files or links in it. Use a directory only the app can write (chmod 700 ${real}).`,
    );
  }
  if (typeof process.getuid === 'function' && stats.uid !== process.getuid()) {
    throw new TypeError(`rampart: diskStorage: directory: ${describe(directory)} belongs to another user; use a directory the app owns.`);
  }
  return real;
}

/**
 * Removes what a crash left in `incoming/`: folders of processes of this host that are
 * no longer running (or whose pid now belongs to another process), and, in folders of
 * other hosts sharing the directory, files older than `staleAfterMs`.
 */
function sweep(incomingRoot: string, ownFolder: string, staleAfterMs: number): void {
  const host = hostname();
  const now = Date.now();
  for (const entry of readdirSync(incomingRoot)) {
    if (entry === ownFolder) continue;
    const folder = join(incomingRoot, entry);
    // Only real folders: a link planted here must not lead the sweep elsewhere.
    let stats;
    try {
      stats = lstatSync(folder);
    } catch {
      continue;
    }
    if (!stats.isDirectory()) {
      rmSync(folder, { force: true });
      continue;
    }
    // `<host>.<pid namespace>.<pid>.<start>`; host names may contain dots.
    const parts = entry.split('.');
    const started = Number(parts.pop());
    const pid = Number(parts.pop());
    const namespace = parts.pop();
    const sameHost = parts.join('.') === host;
    const comparable = sameHost && namespace === PID_NAMESPACE && Number.isSafeInteger(pid) && pid > 0 && Number.isSafeInteger(started);
    // A pid is only judged within this PID namespace of this host; elsewhere, only age counts.
    if (comparable && (pid === process.pid || !isRunning(pid))) {
      rmSync(folder, { recursive: true, force: true });
      continue;
    }
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(folder, name);
      try {
        if (now - lstatSync(path).mtimeMs > staleAfterMs) rmSync(path, { force: true });
      } catch {
        // Gone already: another process swept it.
      }
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as { code?: string }).code === 'EPERM';
  }
}

/**
 * A file being written: writes are queued in order; `abort` closes, then unlinks (closing
 * first, so no descriptor outlives the file). A failed `commit` undoes itself: nothing of
 * the file is left, in `incoming/` or under its id, whether or not the caller aborts.
 */
class DiskSink implements UploadSink {
  readonly #handle: FileHandle;
  readonly #id: string;
  readonly #partial: string;
  readonly #incoming: string;
  readonly #root: string;
  readonly #fsync: boolean;
  #queue: Promise<unknown> = Promise.resolve();
  /** The first write that failed: the file has a hole, so it is never extended nor committed. */
  #failedWrite: { readonly error: unknown } | undefined;
  #closed = false;
  #settled = false;

  constructor(handle: FileHandle, id: string, partial: string, incoming: string, root: string, fsync: boolean) {
    this.#handle = handle;
    this.#id = id;
    this.#partial = partial;
    this.#incoming = incoming;
    this.#root = root;
    this.#fsync = fsync;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#settled) return Promise.reject(new TypeError('rampart: diskStorage: write after commit or abort.'));
    const done = this.#queue.then(() => {
      // Checked when its turn comes: a write queued behind the failed one must not fill the hole.
      if (this.#failedWrite) throw this.#failedWrite.error;
      return writeAll(this.#handle, bytes);
    });
    // The queue itself never rejects (each write is awaited by its caller); the failure is kept for `commit`.
    this.#queue = done.catch((error: unknown) => {
      this.#failedWrite ??= { error };
    });
    return done;
  }

  async commit(upload: StoredUpload): Promise<void> {
    if (this.#settled) throw new TypeError('rampart: diskStorage: commit after commit or abort.');
    // The id names the paths: only the sink's own, checked by `create`, may reach them.
    if (upload.id !== this.#id) throw new TypeError(`rampart: diskStorage: commit: the upload's id ${describe(upload.id)} is not the id this file was created for.`);
    this.#settled = true;
    /** What is already in place under the id, in the order it was put there. */
    const published: string[] = [];
    try {
      await this.#publish(upload, published);
    } catch (error) {
      // Metadata first (the reverse order): without it, `open` finds nothing whatever happens next.
      for (const path of published.reverse()) await unlink(path).catch(() => {});
      // The removals are synced like the renames were; at best, since the disk has just failed.
      if (this.#fsync && published.length > 0) await syncDirectory(dirname(published[0]!)).catch(() => {});
      await this.#removeIncoming();
      // The storage's own error, not one of the cleanup: a full disk stays a full disk (507).
      throw error;
    }
  }

  /** Writes the metadata and moves both files under the id; `published` receives each path once it is there. */
  async #publish(upload: StoredUpload, published: string[]): Promise<void> {
    await this.#queue;
    if (this.#failedWrite) throw this.#failedWrite.error;
    if (this.#fsync) await this.#handle.datasync();
    await this.#close();
    const id = this.#id;
    const shard = join(this.#root, id.slice(0, 2));
    await mkdir(shard, { recursive: true, mode: 0o700 });
    // The shard must be a real folder of ours: a link planted in its place would carry
    // the upload out of the directory.
    const shardStats = await lstat(shard);
    if (!shardStats.isDirectory() || (typeof process.getuid === 'function' && shardStats.uid !== process.getuid())) {
      throw new Error(`rampart: diskStorage: ${shard} is not a folder of this app (a link or another user's); refusing to store uploads through it.`);
    }
    const metadata = join(this.#incoming, `${id}.json`);
    const handle = await open(metadata, CREATE_FLAGS, 0o600);
    try {
      await handle.writeFile(JSON.stringify(upload));
      if (this.#fsync) await handle.datasync();
    } finally {
      await handle.close();
    }
    // The file first, then its metadata: until both are in place, `open` finds nothing.
    const target = join(shard, id);
    if (!target.startsWith(this.#root + sep)) throw new TypeError('rampart: diskStorage: an upload path left the directory.');
    // Noted only once moved: what a failed rename left in place (a planted folder) is not ours to remove.
    await rename(this.#partial, target);
    published.push(target);
    await rename(metadata, `${target}.json`);
    published.push(`${target}.json`);
    // The renames are only durable once the folders holding them are synced too.
    if (this.#fsync) await Promise.all([syncDirectory(shard), syncDirectory(this.#incoming)]);
  }

  async abort(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    await this.#removeIncoming();
  }

  /** Closes the file and removes what is left of it in `incoming/`. Never throws. */
  async #removeIncoming(): Promise<void> {
    await this.#queue;
    await this.#close().catch(() => {});
    await rm(this.#partial, { force: true }).catch(() => {});
    await rm(join(this.#incoming, `${this.#id}.json`), { force: true }).catch(() => {});
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

/** A Web stream over an open file; the file is closed at the end, on error and on cancel. */
function fileStream(handle: FileHandle): ReadableStream<Uint8Array> {
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close().catch(() => {});
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const buffer = new Uint8Array(READ_CHUNK);
        const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK, null);
        if (bytesRead === 0) {
          await close();
          controller.close();
          return;
        }
        controller.enqueue(buffer.subarray(0, bytesRead));
      } catch (error) {
        await close();
        controller.error(error);
      }
    },
    cancel: close,
  });
}

function parseMetadata(text: string, id: string): StoredUpload {
  const value = JSON.parse(text) as Partial<StoredUpload> | null;
  if (
    value === null ||
    value.id !== id ||
    typeof value.type !== 'string' ||
    !Object.hasOwn(UPLOAD_TYPES, value.type) ||
    !Number.isSafeInteger(value.size) ||
    typeof value.name !== 'string' ||
    typeof value.field !== 'string' ||
    typeof value.created !== 'number'
  ) {
    throw new Error(`rampart: diskStorage: the metadata of upload ${id} is damaged.`);
  }
  return value as StoredUpload;
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}
