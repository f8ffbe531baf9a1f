/**
 * Where uploads go: a small interface, so the parser and its rules stay the same
 * whether files land on a local disk (`rampart/uploads/disk`), in memory, or in object
 * storage shared by many instances.
 */

import type { UploadType } from './sniff.ts';

/** What is known about a stored upload. Only `id` is ever used to find it. */
export interface StoredUpload {
  /** 128 random bits as 32 lowercase hex digits: the only name the file has. */
  readonly id: string;
  /** The type decided from the file's bytes (never the client's claim). */
  readonly type: UploadType;
  /** Size in bytes. */
  readonly size: number;
  /** The client's file name, cleaned for display (see `displayName`); never a path. */
  readonly name: string;
  /** The form field the file came in. */
  readonly field: string;
  /** When it was stored, in milliseconds since the epoch. */
  readonly created: number;
}

/** A file being written. Nothing of it is visible to `open` until `commit`. */
export interface UploadSink {
  /** Appends bytes. The caller waits for a returned promise before writing more. */
  write(bytes: Uint8Array): void | Promise<void>;
  /**
   * Makes the complete file visible under its id, with its metadata. Rejects after a
   * failed write (the file has a hole), and when any step fails; then nothing of the
   * file may stay visible or on storage: undo what was done, and reject with the
   * storage's own error.
   */
  commit(upload: StoredUpload): Promise<void>;
  /** Removes everything written. Never throws; safe to call more than once, and after `commit` fails. */
  abort(): Promise<void>;
}

/** A stored upload opened for reading. */
export interface OpenedUpload {
  readonly upload: StoredUpload;
  /** The content. Cancel it when not read to the end (files are closed on cancel). */
  readonly body: ReadableStream<Uint8Array>;
}

/** A place to keep uploads. */
export interface UploadStorage {
  /** A new, empty file for the upload `id` (always a fresh random id: never overwrite). */
  create(id: string): UploadSink | Promise<UploadSink>;
  /** The committed upload `id`, or `undefined`. */
  open(id: string): Promise<OpenedUpload | undefined>;
  /** Deletes the upload `id`; `false` when there was none. */
  remove(id: string): Promise<boolean>;
}

/**
 * Uploads kept in memory, up to `maxBytes` in total (default 64 MiB): for tests, and
 * for runtimes without a file system. Everything is lost on restart.
 *
 * @example
 * ```ts
 * const files = uploads({ storage: memoryStorage(), allowedTypes: ['image/png'] })
 * ```
 */
export function memoryStorage(options: { readonly maxBytes?: number } = {}): UploadStorage {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`rampart: memoryStorage: maxBytes must be a whole number of bytes, got ${String(maxBytes)}.`);
  const files = new Map<string, { upload: StoredUpload; chunks: readonly Uint8Array[] }>();
  let used = 0;
  return {
    create(id) {
      const chunks: Uint8Array[] = [];
      let size = 0;
      let settled = false;
      /** The write refused for lack of room: the file lacks those bytes, so it is never committed. */
      let failedWrite: Error | undefined;
      const release = (): void => {
        if (settled) return;
        settled = true;
        used -= size;
      };
      return {
        write(bytes) {
          if (settled) throw new TypeError('rampart: memoryStorage: write after commit or abort.');
          if (failedWrite) throw failedWrite;
          // ENOSPC, like a full disk: the client gets 507, not a 500.
          if (used + bytes.length > maxBytes) {
            failedWrite = Object.assign(new RangeError('rampart: memoryStorage is full.'), { code: 'ENOSPC' });
            throw failedWrite;
          }
          used += bytes.length;
          size += bytes.length;
          chunks.push(bytes.slice());
        },
        async commit(upload) {
          if (settled) throw new TypeError('rampart: memoryStorage: commit after abort.');
          if (failedWrite) {
            release();
            chunks.length = 0;
            throw failedWrite;
          }
          settled = true;
          files.set(id, { upload, chunks });
        },
        async abort() {
          release();
          chunks.length = 0;
        },
      };
    },
    async open(id) {
      const file = files.get(id);
      if (!file) return undefined;
      let index = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const chunk = file.chunks[index++];
          if (chunk === undefined) controller.close();
          else controller.enqueue(chunk.slice());
        },
      });
      return { upload: file.upload, body };
    },
    async remove(id) {
      const file = files.get(id);
      if (!file) return false;
      files.delete(id);
      used -= file.upload.size;
      return true;
    },
  };
}
