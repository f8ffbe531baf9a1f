/**
 * `uploads(options)`: receiving `multipart/form-data` uploads under finite limits,
 * storing each file under a random name after checking its bytes against an allowlist,
 * and serving stored files back only in ways a browser cannot run.
 *
 * Every failure (a limit, malformed framing, a refused type, a client that leaves, a
 * stalled upload, a storage error) removes every file of the request, including those
 * already complete: a form is stored whole or not at all.
 */

import { RampartError } from '../errors.ts';
import { parseContentType } from '../csrf/form.ts';
import { concatBytes } from '../_internal/bytes.ts';
import { describe } from '../_internal/describe.ts';
import { randomBytes } from '../_internal/random.ts';
import { MultipartParser, type MultipartHandler, type PartInfo } from './multipart.ts';
import { contentDisposition, displayName } from './names.ts';
import { SNIFF_BYTES, sniff, UPLOAD_TYPES, type UploadType } from './sniff.ts';
import type { StoredUpload, UploadSink, UploadStorage } from './storage.ts';

/** Limits of one upload request. Every one is finite by default. */
export interface UploadLimits {
  /** Most bytes of the whole body, counted as read (a `Content-Length` is not trusted). Default 10 MiB. */
  readonly maxBodyBytes?: number;
  /** Most bytes of one file. Default 5 MiB. */
  readonly maxFileBytes?: number;
  /** Most files. Default 1. */
  readonly maxFiles?: number;
  /** Most plain fields (the CSRF token included). Default 50. */
  readonly maxFields?: number;
  /** Most bytes of one field's value. Default 64 KiB. */
  readonly maxFieldBytes?: number;
  /** Most bytes of a field's name. Default 256. */
  readonly maxFieldNameBytes?: number;
  /** Most parts. Default `maxFiles + maxFields`. */
  readonly maxParts?: number;
  /** Most bytes of one part's header block. Default 8 KiB. */
  readonly maxHeaderBytes?: number;
  /** Most header lines of one part. Default 16. */
  readonly maxHeaderPairs?: number;
  /** Most UTF-8 bytes kept of a client's file name, for display. Default 255. */
  readonly maxFilenameBytes?: number;
  /** The upload fails (408) when no byte arrives for this long. Default 10 s; at most 2^31 - 1. */
  readonly idleTimeoutMs?: number;
  /** The upload fails (408) when it takes longer than this in all. Default 120 s; at most 2^31 - 1. */
  readonly totalTimeoutMs?: number;
}

/** Options of `uploads()`. */
export interface UploadsOptions {
  /** Where files go: `diskStorage()` from `rampart/uploads/disk`, `memoryStorage()`, or your own. */
  readonly storage: UploadStorage;
  /**
   * The types files may be, decided from their bytes (see `UPLOAD_TYPES`). Required:
   * there is no "anything" default. `'text/plain'` and `'application/octet-stream'` are
   * only ever served as downloads.
   */
  readonly allowedTypes: readonly UploadType[];
  /** The form fields that may carry a file; a file in any other field is refused. Default: any field. */
  readonly fileFields?: readonly string[];
  readonly limits?: UploadLimits;
}

/** A received form: its plain fields, and its files, all stored. */
export interface ReceivedForm {
  /** The plain fields in order (the CSRF token left out). */
  readonly fields: URLSearchParams;
  /** The stored files, in order. */
  readonly files: readonly StoredUpload[];
  /** The first file of `field`, if any. */
  file(field: string): StoredUpload | undefined;
}

/** A Node-style readable request (node:http, Express, Fastify's `request.raw`), typed without Node's types. */
export interface NodeReadableRequest {
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  read(): unknown;
  // `any`, as in Node's own EventEmitter typing: listeners of every event must fit.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: string, listener: (...args: any[]) => void): unknown;
  resume(): unknown;
  destroy(error?: Error): unknown;
  readonly readableEnded?: boolean;
  readonly readableAborted?: boolean;
  /** node:http's `IncomingMessage#complete`: the whole message has arrived and was parsed. */
  readonly complete?: boolean;
  readonly destroyed?: boolean;
  readonly errored?: unknown;
}

/** A request body to receive: a Web `Request`, or a Node request stream. */
export type UploadSource = Request | NodeReadableRequest;

/** The request `serve` answers: its method and headers (a Web `Request` or a Node request both fit). */
export interface ServeRequest {
  /** `GET` (the default) or `HEAD`; anything else is answered 405. */
  readonly method?: string;
  readonly headers: Headers | Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** Options of `Uploads.serve`. */
export interface ServeOptions {
  /** Always `Content-Disposition: attachment`, even for images that would be shown inline. */
  readonly download?: boolean;
}

const DEFAULTS = {
  maxBodyBytes: 10 * 1024 * 1024,
  maxFileBytes: 5 * 1024 * 1024,
  maxFiles: 1,
  maxFields: 50,
  maxFieldBytes: 64 * 1024,
  maxFieldNameBytes: 256,
  maxHeaderBytes: 8 * 1024,
  maxHeaderPairs: 16,
  maxFilenameBytes: 255,
  idleTimeoutMs: 10_000,
  totalTimeoutMs: 120_000,
} as const;

type Limits = { -readonly [Key in keyof UploadLimits]-?: number };

interface Settings {
  readonly storage: UploadStorage;
  readonly allowed: ReadonlySet<UploadType>;
  readonly fileFields: ReadonlySet<string> | undefined;
  readonly limits: Limits;
}

const ID = /^[0-9a-f]{32}$/;
/**
 * After a refusal the rest of the body is read and thrown away for a while before the
 * connection is closed ("lingering close", as nginx does): closing a socket with unread
 * data makes the kernel send a reset, which can destroy the answer before the client
 * reads it. Bounded in time and bytes, so a client cannot hold the server forever.
 */
const DRAIN_MS = 5000;
const DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * Receives uploads and serves them back. Create one per set of rules (validated
 * once); `withOptions` derives stricter or looser rules for a route.
 *
 * @example
 * ```ts
 * import { uploads } from 'rampart/uploads'
 * import { diskStorage } from 'rampart/uploads/disk'
 *
 * const files = uploads({ storage: diskStorage({ directory: './data/uploads' }), allowedTypes: ['image/png', 'image/jpeg'] })
 * app.post('/avatar', async (req, res) => {
 *   const form = await files.receive(req)          // a RampartError (4xx) on anything wrong
 *   res.json({ id: form.file('avatar')?.id })
 * })
 * app.get('/avatars/:id', async (req, res) => send(res, await files.serve(req.params.id, req)))
 * ```
 */
export class Uploads {
  readonly #options: UploadsOptions;
  readonly #settings: Settings;

  constructor(options: UploadsOptions) {
    this.#settings = readOptions(options);
    this.#options = options;
  }

  /**
   * The same storage under some other rules, for one route (validated now, not per
   * request). Limits given here replace those of the same name.
   *
   * @example
   * ```ts
   * const avatars = files.withOptions({ allowedTypes: ['image/png'], limits: { maxFileBytes: 512 * 1024 } })
   * ```
   */
  withOptions(overrides: Partial<Omit<UploadsOptions, 'storage'>>): Uploads {
    const base = this.#options;
    return new Uploads({ ...base, ...overrides, storage: base.storage, limits: { ...base.limits, ...overrides.limits } });
  }

  /**
   * Reads a form's request body: `multipart/form-data`, storing its files, or
   * `application/x-www-form-urlencoded` (fields only, under the same limits), so one
   * call reads whatever a browser's form sends. Throws a `RampartError` (4xx, see
   * docs/errors.md) for any body that breaks the rules; then nothing of it is stored.
   */
  async receive(source: UploadSource): Promise<ReceivedForm> {
    const settings = this.#settings;
    const { limits } = settings;
    const header = headerReader(source);
    const encoding = header('content-encoding');
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') throw new RampartError('upload_media_type');
    const { type, boundary } = parseContentType(header('content-type'));
    if (type !== 'multipart/form-data' && type !== 'application/x-www-form-urlencoded') throw new RampartError('upload_media_type');
    if (type === 'multipart/form-data' && boundary === undefined) throw new RampartError('upload_boundary_invalid');
    const declared = header('content-length');
    if (isNodeReadable(source) && source.readableEnded === true && declared !== undefined && Number(declared) > 0) {
      // Read as empty, the form would silently lose its fields.
      throw new TypeError('rampart: uploads.receive: the request body was already read (a body parser such as express.urlencoded() ran first?); let receive() read it.');
    }
    if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limits.maxBodyBytes) {
      bodyReader(source).abandon();
      throw new RampartError('upload_too_large');
    }
    return type === 'multipart/form-data' ? this.#receiveMultipart(source, boundary!) : receiveFields(source, limits);
  }

  async #receiveMultipart(source: UploadSource, boundary: string): Promise<ReceivedForm> {
    const settings = this.#settings;
    const { limits } = settings;
    const form = new FormReceiver(settings);
    const parser = new MultipartParser(boundary, form, limits);
    const reader = bodyReader(source);
    const timer = new UploadTimer(limits, () => reader.destroy());
    try {
      await readChunks(reader, timer, limits, (chunk) => {
        parser.write(chunk);
        // After the close delimiter only the epilogue remains: the form is complete.
        const flushing = form.flush();
        return flushing === undefined ? parser.done : timer.race(flushing).then(() => parser.done);
      });
      parser.end();
      reader.abandon();
      return await form.commit();
    } catch (error) {
      reader.abandon();
      await form.discard();
      throw error;
    } finally {
      timer.stop();
    }
  }

  /**
   * The response for the stored upload `id`: a download (`Content-Disposition:
   * attachment`) unless it is an image type shown inline, never sniffed
   * (`nosniff`), in a sandbox that runs nothing even when opened directly (`CSP:
   * default-src 'none'; sandbox`), readable only by this origin's pages (CORP). An id
   * that is malformed or unknown throws `upload_not_found` (404). A method other than
   * `GET` and `HEAD` is answered 405 with `Allow: GET, HEAD`, as `staticFiles` does.
   */
  async serve(id: string, request?: ServeRequest, options: ServeOptions = {}): Promise<Response> {
    const method = request?.method?.toUpperCase() ?? 'GET';
    // Before the id is looked at: another method tells nothing of which uploads exist.
    if (method !== 'GET' && method !== 'HEAD') {
      return new Response(null, { status: 405, headers: { Allow: 'GET, HEAD', 'Cache-Control': 'no-store' } });
    }
    if (typeof id !== 'string' || !ID.test(id)) throw new RampartError('upload_not_found');
    const etag = `"${id}"`;
    const headers: Record<string, string> = {
      'Content-Security-Policy': "default-src 'none'; sandbox",
      'X-Content-Type-Options': 'nosniff',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'private, no-cache',
      ETag: etag,
    };
    const opened = await this.#settings.storage.open(id);
    if (!opened) throw new RampartError('upload_not_found');
    const { upload, body } = opened;
    const ifNoneMatch = request ? headerFrom(request.headers, 'if-none-match') : undefined;
    if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
      await body.cancel();
      return new Response(null, { status: 304, headers });
    }
    const inline = UPLOAD_TYPES[upload.type].inline && options.download !== true;
    headers['Content-Type'] = upload.type === 'text/plain' ? 'text/plain; charset=utf-8' : upload.type;
    headers['Content-Length'] = String(upload.size);
    headers['Content-Disposition'] = contentDisposition(inline ? 'inline' : 'attachment', withExtension(upload));
    if (method === 'HEAD') {
      await body.cancel();
      return new Response(null, { status: 200, headers });
    }
    return new Response(body, { status: 200, headers });
  }

  /** Deletes the stored upload `id`; `false` when there was none (or the id is malformed). */
  async remove(id: string): Promise<boolean> {
    if (typeof id !== 'string' || !ID.test(id)) return false;
    return this.#settings.storage.remove(id);
  }
}

/** Creates an `Uploads` (see there). */
export function uploads(options: UploadsOptions): Uploads {
  return new Uploads(options);
}

/** The download name: the display name, with the stored type's extension when it lacks it. */
function withExtension(upload: StoredUpload): string {
  const extension = UPLOAD_TYPES[upload.type].extension;
  return upload.name.toLowerCase().endsWith(`.${extension}`) ? upload.name : `${upload.name}.${extension}`;
}

/** One file of the form: its sink is created on its first byte and written in order. */
interface FileInProgress {
  readonly id: string;
  readonly field: string;
  readonly name: string;
  size: number;
  type: UploadType | undefined;
  head: Uint8Array | undefined;
  headLength: number;
  /** The sink, once created (creating it may be asynchronous). */
  sink: Promise<UploadSink>;
  /** The last write; each waits for the one before. */
  written: Promise<void>;
  /** `commit` was called: from then on the storage may hold the file, even if the commit failed. */
  commitStarted: boolean;
}

class FormReceiver implements MultipartHandler {
  readonly #settings: Settings;
  readonly #fields = new URLSearchParams();
  readonly #files: FileInProgress[] = [];
  readonly #stored: StoredUpload[] = [];
  #fieldCount = 0;
  #part: PartInfo | undefined;
  #file: FileInProgress | undefined;
  #fieldChunks: Uint8Array[] = [];
  #fieldBytes = 0;
  /** A storage failure, reported at the next `flush`. */
  #failure: unknown;

  constructor(settings: Settings) {
    this.#settings = settings;
  }

  onPart(part: PartInfo): void {
    const limits = this.#settings.limits;
    if (longerInUtf8(part.name, limits.maxFieldNameBytes)) throw new RampartError('upload_field_name_too_long');
    this.#part = part;
    if (part.filename !== undefined) {
      const fields = this.#settings.fileFields;
      if (fields !== undefined && !fields.has(part.name)) throw new RampartError('upload_unexpected_file');
      return;
    }
    if (++this.#fieldCount > limits.maxFields) throw new RampartError('upload_too_many_fields');
    this.#fieldChunks = [];
    this.#fieldBytes = 0;
  }

  onData(bytes: Uint8Array): void {
    const part = this.#part!;
    const limits = this.#settings.limits;
    if (part.filename === undefined) {
      this.#fieldBytes += bytes.length;
      if (this.#fieldBytes > limits.maxFieldBytes) throw new RampartError('upload_field_too_large');
      this.#fieldChunks.push(bytes.slice());
      return;
    }
    const file = this.#file ?? this.#startFile(part);
    file.size += bytes.length;
    if (file.size > limits.maxFileBytes) throw new RampartError('upload_file_too_large');
    if (file.type === undefined) this.#sniff(file, bytes, false);
    file.written = Promise.all([file.sink, file.written]).then(([sink]) => sink.write(bytes));
    file.written.catch((error: unknown) => {
      this.#failure ??= error;
    });
  }

  onPartEnd(): void {
    const part = this.#part!;
    this.#part = undefined;
    if (part.filename === undefined) {
      const value = utf8Decoder.decode(concatBytes(this.#fieldChunks, this.#fieldBytes));
      this.#fieldChunks = [];
      if (part.name !== 'csrf_token') this.#fields.append(part.name, value);
      return;
    }
    const file = this.#file;
    this.#file = undefined;
    if (file === undefined) {
      // `filename=""` with no content is a file input left empty: no file at all.
      if (part.filename === '') return;
      throw new RampartError('upload_file_empty');
    }
    if (file.type === undefined) this.#sniff(file, new Uint8Array(0), true);
  }

  /**
   * Waits for the writes so far (back-pressure), and reports a storage failure;
   * `undefined` when there is nothing to wait for (no file being written, no failure).
   */
  flush(): Promise<void> | undefined {
    const file = this.#file;
    if (file === undefined && this.#failure === undefined) return undefined;
    return (async () => {
      if (file) await file.written.catch(() => {});
      if (this.#failure !== undefined) throw storageError(this.#failure);
    })();
  }

  /** Commits every file; on any failure, removes all of them. */
  async commit(): Promise<ReceivedForm> {
    try {
      for (const file of this.#files) {
        const sink = await file.sink;
        await file.written;
        const upload: StoredUpload = { id: file.id, type: file.type!, size: file.size, name: file.name, field: file.field, created: Date.now() };
        file.commitStarted = true;
        await sink.commit(upload);
        this.#stored.push(upload);
      }
    } catch (error) {
      await this.discard();
      throw storageError(error);
    }
    const files = [...this.#stored];
    return { fields: this.#fields, files, file: (field) => files.find((upload) => upload.field === field) };
  }

  /** Removes everything written, committed or not. Never throws. */
  async discard(): Promise<void> {
    const storage = this.#settings.storage;
    await Promise.all(
      this.#files.map(async (file) => {
        await file.written.catch(() => {});
        const sink = await file.sink.catch(() => undefined);
        await sink?.abort().catch(() => {});
        // Not only the files committed: a commit that failed half-way (the file in place,
        // then its metadata refused, or a failed sync) may have left the file servable. The
        // id is fresh and random, so removing it can only remove this file.
        if (file.commitStarted) await storage.remove(file.id).catch(() => false);
      }),
    );
    this.#stored.length = 0;
  }

  #startFile(part: PartInfo): FileInProgress {
    const limits = this.#settings.limits;
    if (this.#files.length >= limits.maxFiles) throw new RampartError('upload_too_many_files');
    const id = newId();
    const file: FileInProgress = {
      id,
      field: part.name,
      name: displayName(part.filename!, limits.maxFilenameBytes),
      size: 0,
      type: undefined,
      head: new Uint8Array(SNIFF_BYTES),
      headLength: 0,
      sink: Promise.resolve().then(() => this.#settings.storage.create(id)),
      written: Promise.resolve(),
      commitStarted: false,
    };
    // Observed here so that a failing create is never an unhandled rejection; it is reported by `flush`.
    file.sink.catch((error: unknown) => {
      this.#failure ??= error;
    });
    this.#files.push(file);
    this.#file = file;
    return file;
  }

  /** Collects the first bytes and decides the type once there are enough (or the file ended). */
  #sniff(file: FileInProgress, bytes: Uint8Array, complete: boolean): void {
    const head = file.head!;
    const take = Math.min(bytes.length, SNIFF_BYTES - file.headLength);
    head.set(bytes.subarray(0, take), file.headLength);
    file.headLength += take;
    if (!complete && file.headLength < SNIFF_BYTES) return;
    const type = sniff(head.subarray(0, file.headLength), this.#settings.allowed, complete && file.headLength < SNIFF_BYTES);
    if (type === undefined) throw new RampartError('upload_type_not_allowed');
    file.type = type;
    file.head = undefined;
  }
}

/**
 * An `application/x-www-form-urlencoded` body: read whole (it holds no files) under
 * the body limit and timeouts, then held to the field limits multipart fields have.
 */
async function receiveFields(source: UploadSource, limits: Limits): Promise<ReceivedForm> {
  const reader = bodyReader(source);
  const timer = new UploadTimer(limits, () => reader.destroy());
  const chunks: Uint8Array[] = [];
  try {
    await readChunks(reader, timer, limits, (chunk) => {
      chunks.push(chunk.slice());
      return false;
    });
  } catch (error) {
    reader.abandon();
    throw error;
  } finally {
    timer.stop();
  }
  reader.abandon();
  const text = utf8Decoder.decode(concatBytes(chunks));
  // Counted before parsing: a body of `a&a&a…` must not become millions of pairs first.
  let pairs = 0;
  for (let start = 0; start < text.length; ) {
    const end = text.indexOf('&', start);
    const stop = end === -1 ? text.length : end;
    if (stop > start && ++pairs > limits.maxFields) throw new RampartError('upload_too_many_fields');
    start = stop + 1;
  }
  const fields = new URLSearchParams();
  for (const [name, value] of new URLSearchParams(text)) {
    // A string's UTF-8 form is at most 3 bytes per UTF-16 unit: most need no encoding to check.
    if (longerInUtf8(name, limits.maxFieldNameBytes)) throw new RampartError('upload_field_name_too_long');
    if (longerInUtf8(value, limits.maxFieldBytes)) throw new RampartError('upload_field_too_large');
    if (name !== 'csrf_token') fields.append(name, value);
  }
  return { fields, files: [], file: () => undefined };
}

/**
 * Reads the body a chunk at a time, counting bytes as read against the body limit,
 * until it ends or `take` returns true (done). What has already arrived is taken at
 * once; only a wait for the client is raced against the timer.
 */
async function readChunks(reader: BodyReader, timer: UploadTimer, limits: Limits, take: (chunk: Uint8Array) => boolean | Promise<boolean>): Promise<void> {
  let total = 0;
  for (;;) {
    let chunk = readArrived(reader);
    if (chunk === undefined) chunk = await timer.race(reader.read().catch(clientGone));
    if (chunk === null) return;
    total += chunk.length;
    if (total > limits.maxBodyBytes) throw new RampartError('upload_too_large');
    const done = take(chunk);
    if (typeof done === 'boolean') {
      if (done) return;
      continue;
    }
    // Stored meanwhile: the body may end, fail or be left by the client before the next read.
    reader.listen();
    if (await done) return;
  }
}

function readArrived(reader: BodyReader): Uint8Array | null | undefined {
  try {
    return reader.readArrived();
  } catch (error) {
    return clientGone(error);
  }
}

/** The body stream failed: the client closed the connection, or sent a body its framing (chunked encoding) broke. */
function clientGone(error: unknown): never {
  throw new RampartError('upload_truncated', { cause: error });
}

/** A storage error as the client should see it: a full disk is 507, anything else stays an error of the server. */
function storageError(error: unknown): unknown {
  if (error instanceof RampartError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new RampartError('upload_storage_full', { cause: error });
  return error;
}

/**
 * Idle and total timeouts around each wait. One timer serves every wait of an upload:
 * a wait only notes when it expires, and the timer, when it fires early (armed by an
 * earlier wait), is armed again for what is left. Expiries never move earlier (the idle
 * time counts from a later start, the deadline is fixed), so the armed time is never late.
 */
class UploadTimer {
  readonly #idleMs: number;
  readonly #deadline: number;
  readonly #onTimeout: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The wait in progress: when it expires (monotonic ms), and how to fail it. */
  #expires = 0;
  #fail: ((error: RampartError) => void) | undefined;

  constructor(limits: Limits, onTimeout: () => void) {
    this.#idleMs = limits.idleTimeoutMs;
    // A monotonic clock: a step of the wall clock neither ends an upload early nor extends it.
    this.#deadline = performance.now() + limits.totalTimeoutMs;
    this.#onTimeout = onTimeout;
  }

  race<T>(work: Promise<T>): Promise<T> {
    const now = performance.now();
    const expires = Math.min(now + this.#idleMs, this.#deadline);
    if (expires <= now) {
      // The work is abandoned, but observed: its later failure is no unhandled rejection.
      work.catch(() => {});
      this.#onTimeout();
      return Promise.reject(new RampartError('upload_timeout'));
    }
    return new Promise<T>((resolve, reject) => {
      this.#expires = expires;
      this.#fail = reject;
      this.#timer ??= setTimeout(this.#fire, expires - now);
      work.then(
        (value) => {
          this.#fail = undefined;
          resolve(value);
        },
        (error: unknown) => {
          this.#fail = undefined;
          reject(error);
        },
      );
    });
  }

  #fire = (): void => {
    this.#timer = undefined;
    // No wait in progress: the next one arms the timer again.
    if (this.#fail === undefined) return;
    const now = performance.now();
    if (now < this.#expires) {
      this.#timer = setTimeout(this.#fire, this.#expires - now);
      return;
    }
    const fail = this.#fail;
    this.#fail = undefined;
    this.#onTimeout();
    fail(new RampartError('upload_timeout'));
  };

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#fail = undefined;
  }
}

interface BodyReader {
  /** The next chunk, or `null` at the end. Rejects when the client goes away. */
  read(): Promise<Uint8Array | null>;
  /** A chunk that has already arrived, `null` at an end already known, `undefined` when the next must be waited for. Throws when the client went away. */
  readArrived(): Uint8Array | null | undefined;
  /** Watches for the end, an error or the client leaving, from now on: before anything is awaited between reads. */
  listen(): void;
  /** Stops reading: what is left is drained (up to a cap, so the client sees the answer) or the body cancelled. */
  abandon(): void;
  /** Closes the body at once (a stalled client). */
  destroy(): void;
}

function isNodeReadable(source: UploadSource): source is NodeReadableRequest {
  return typeof (source as NodeReadableRequest).read === 'function' && typeof (source as NodeReadableRequest).on === 'function';
}

function bodyReader(source: UploadSource): BodyReader {
  return isNodeReadable(source) ? nodeBodyReader(source) : webBodyReader(source);
}

/** Reads a Node stream in paused mode; never through its async iterator, whose early exit would destroy the socket before the answer is sent. */
function nodeBodyReader(stream: NodeReadableRequest): BodyReader {
  let ended = stream.readableEnded === true;
  // A request whose client already left never emits another event: fail at once.
  let failure: Error | undefined =
    !ended && (stream.destroyed === true || stream.readableAborted === true || (stream.errored ?? null) !== null)
      ? new Error('the client closed the connection before the upload was read')
      : undefined;
  let wake: (() => void) | undefined;
  let attached = false;
  const notify = (): void => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (error: Error): void => {
    failure = error;
    notify();
  };
  const onClose = (): void => {
    if (!ended) failure ??= new Error('the client closed the connection during the upload');
    notify();
  };
  const detach = (): void => {
    if (!attached) return;
    attached = false;
    stream.off('readable', notify);
    stream.off('end', onEnd);
    stream.off('error', onError);
    stream.off('close', onClose);
  };
  const listen = (): void => {
    if (attached || ended) return;
    attached = true;
    stream.on('readable', notify);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  };
  /** Bytes handed out so far. */
  let taken = 0;
  const readNow = (): Uint8Array | null | undefined => {
    if (failure) throw failure;
    const chunk = stream.read();
    if (chunk !== null && chunk !== undefined) {
      if (!(chunk instanceof Uint8Array)) throw new TypeError('rampart: uploads: the request stream has an encoding set; read it as bytes.');
      taken += chunk.length;
      return chunk;
    }
    return ended ? null : undefined;
  };
  return {
    readArrived: readNow,
    listen,
    async read() {
      listen();
      for (;;) {
        const chunk = readNow();
        if (chunk !== undefined) return chunk;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    abandon() {
      detach();
      if (ended || failure) return;
      const declared = stream.headers['content-length'];
      const framedByLength = typeof declared === 'string' && stream.headers['transfer-encoding'] === undefined;
      if (stream.complete === true || (framedByLength && taken === Number(declared))) {
        // The whole body has arrived (node:http holds a body to its Content-Length, and
        // refuses one that also says Transfer-Encoding): nothing more can come from the
        // client, so there is nothing to cap or wait for. The stream is let run to its end.
        // Errors after the answer are the client's business (see below).
        stream.on('error', ignore);
        stream.resume();
        return;
      }
      let drained = 0;
      const stop = (): void => {
        clearTimeout(timer);
        stream.off('data', onData);
        stream.off('end', onDone);
        stream.off('close', onDone);
        stream.destroy();
      };
      const onDone = (): void => {
        clearTimeout(timer);
        stream.off('data', onData);
      };
      const onData = (chunk: Uint8Array): void => {
        drained += chunk.length;
        if (drained > DRAIN_BYTES) stop();
      };
      const timer = setTimeout(stop, DRAIN_MS);
      (timer as { unref?: () => void }).unref?.();
      stream.on('data', onData);
      stream.on('end', onDone);
      stream.on('close', onDone);
      // Errors after the answer are the client's business; without a listener they would crash the process.
      stream.on('error', ignore);
      stream.resume();
    },
    destroy() {
      detach();
      stream.on('error', ignore);
      stream.destroy();
    },
  };
}

function ignore(): void {}

function webBodyReader(request: Request): BodyReader {
  const reader = request.body?.getReader();
  let done = reader === undefined;
  return {
    // A Web stream hands out chunks only through a promise, and reports an end or a failure through it.
    readArrived: () => (reader === undefined ? null : undefined),
    listen: ignore,
    async read() {
      if (reader === undefined) return null;
      const result = await reader.read();
      if (result.done) {
        done = true;
        return null;
      }
      return result.value;
    },
    abandon() {
      if (done || reader === undefined) return;
      done = true;
      // Drained like a Node stream, then cancelled.
      let drained = 0;
      const deadline = Date.now() + DRAIN_MS;
      const drain = async (): Promise<void> => {
        for (;;) {
          const result = await reader.read();
          if (result.done) return;
          drained += result.value.length;
          if (drained > DRAIN_BYTES || Date.now() > deadline) {
            await reader.cancel();
            return;
          }
        }
      };
      drain().catch(() => {});
    },
    destroy() {
      done = true;
      reader?.cancel().catch(() => {});
    },
  };
}

function headerReader(source: UploadSource): (name: string) => string | undefined {
  const headers = source.headers;
  return (name) => headerFrom(headers, name);
}

function headerFrom(headers: ServeRequest['headers'], name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Readonly<Record<string, string | readonly string[] | undefined>>)[name];
  return Array.isArray(value) ? value.join(', ') : (value as string | undefined);
}

function newId(): string {
  let id = '';
  for (const byte of randomBytes(16)) id += byte.toString(16).padStart(2, '0');
  return id;
}

const utf8 = new TextEncoder();

/** Whether `text` takes more than `limit` bytes in UTF-8: at most 3 per UTF-16 code unit, so a short one is not encoded. */
function longerInUtf8(text: string, limit: number): boolean {
  return text.length * 3 > limit && utf8.encode(text).length > limit;
}

/** Field values: UTF-8, malformed bytes as U+FFFD, a leading BOM dropped (as a new TextDecoder() does). */
const utf8Decoder = new TextDecoder();

/** The longest delay a timer takes (2^31 - 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

const LIMIT_NAMES = [...(Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]), 'maxParts'] as const;
const LIMIT_TYPOS: Record<string, string> = {
  maxFileSize: 'maxFileBytes',
  fileSize: 'maxFileBytes',
  maxBodySize: 'maxBodyBytes',
  maxFieldSize: 'maxFieldBytes',
  fieldSize: 'maxFieldBytes',
  maxFieldsSize: 'maxFieldBytes',
  files: 'maxFiles',
  fields: 'maxFields',
  parts: 'maxParts',
  maxTotalFileSize: 'maxBodyBytes',
};

function readOptions(options: UploadsOptions): Settings {
  if (typeof options !== 'object' || options === null) throw new TypeError(`rampart: uploads(options): expected an object, got ${describe(options)}.`);
  const { storage, allowedTypes, fileFields } = options;
  if (
    typeof storage !== 'object' ||
    storage === null ||
    typeof storage.create !== 'function' ||
    typeof storage.open !== 'function' ||
    typeof storage.remove !== 'function'
  ) {
    throw new TypeError(
      `rampart: uploads: storage: expected a storage (diskStorage({ directory }) from rampart/uploads/disk, or memoryStorage()), got ${describe(storage)}.`,
    );
  }
  if (!Array.isArray(allowedTypes) || allowedTypes.length === 0) {
    throw new TypeError(
      `rampart: uploads: allowedTypes: list the types files may be (there is no "anything" default), e.g. ['image/png', 'image/jpeg']; got ${describe(allowedTypes)}.`,
    );
  }
  for (const type of allowedTypes) {
    if (!Object.hasOwn(UPLOAD_TYPES, type)) {
      throw new TypeError(`rampart: uploads: allowedTypes: ${describe(type)} is not a type rampart recognises; use one of ${Object.keys(UPLOAD_TYPES).join(', ')}.`);
    }
  }
  if (fileFields !== undefined && (!Array.isArray(fileFields) || fileFields.some((field) => typeof field !== 'string'))) {
    throw new TypeError(`rampart: uploads: fileFields: expected an array of field names, got ${describe(fileFields)}.`);
  }
  const given = options.limits ?? {};
  for (const key of Object.keys(given)) {
    if ((LIMIT_NAMES as readonly string[]).includes(key)) continue;
    const hint = LIMIT_TYPOS[key];
    throw new TypeError(`rampart: uploads: limits.${key} is not a limit${hint ? `; did you mean limits.${hint}?` : `; the limits are ${LIMIT_NAMES.join(', ')}.`}`);
  }
  const limits = { ...DEFAULTS } as Limits;
  for (const key of LIMIT_NAMES) {
    const value = (given as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < (key === 'maxFiles' ? 0 : 1)) {
      throw new RangeError(`rampart: uploads: limits.${key}: expected a whole number${key === 'maxFiles' ? '' : ' above 0'} (finite: every limit is), got ${describe(value)}.`);
    }
    if ((key === 'idleTimeoutMs' || key === 'totalTimeoutMs') && value > MAX_TIMER_MS) {
      // Beyond this a timer fires at once (Node clamps it to 1 ms).
      throw new RangeError(`rampart: uploads: limits.${key}: at most ${MAX_TIMER_MS} ms (about 24.8 days), got ${value}.`);
    }
    limits[key] = value;
  }
  if ((given as UploadLimits).maxParts === undefined) limits.maxParts = limits.maxFiles + limits.maxFields;
  if ((given as UploadLimits).maxFileBytes === undefined) limits.maxFileBytes = Math.min(limits.maxFileBytes, limits.maxBodyBytes);
  if (limits.maxFileBytes > limits.maxBodyBytes) {
    throw new RangeError(`rampart: uploads: limits.maxFileBytes (${limits.maxFileBytes}) is above limits.maxBodyBytes (${limits.maxBodyBytes}); raise maxBodyBytes too.`);
  }
  return {
    storage,
    allowed: new Set(allowedTypes),
    fileFields: fileFields === undefined ? undefined : new Set(fileFields),
    limits,
  };
}
