// Multipart uploads, in one run: `npm run build && node bench/uploads.mjs`.
//
// One operation parses one multipart/form-data body holding a single file (100 MiB by
// default), delivered as fresh 64 KiB Buffers, in-process: no HTTP, no disk. Each parser
// hands the file's bytes to a sink that counts them (and, in the sanity pass, hashes
// them), and every parse must deliver exactly the file's bytes. Side by side:
//
// - the floor: a loop that only searches every chunk for the delimiter `CRLF--boundary`
//   with Buffer.prototype.indexOf, carrying delimiter.length - 1 bytes between chunks and
//   searching the junction; the file size is the close delimiter's offset minus the end of
//   the part's headers. The least any parser must do;
// - rampart's MultipartParser (rampart/uploads), write() per chunk, then end();
// - busboy 1.6 and @fastify/busboy 3, Node Writables: chunks written with the usual
//   back-pressure (await 'drain' when write() returns false), each file stream read with
//   a 'data' listener;
// - formidable 3.5, its raw MultipartParser class (an object-mode Transform), the way
//   formidable itself drives it: write() with back-pressure, 'data' events for
//   headerField/headerValue/partData, headers decoded per part, content counted from the
//   partData slices; formidable's IncomingForm (which writes to disk) is not used;
// - multer 2, the Express middleware over busboy: called with a fake IncomingMessage (a
//   Readable with headers, pushing the chunks) and a custom StorageEngine that counts and
//   discards the bytes;
// - Node's built-in Web `new Response(stream, { headers }).formData()` (undici), the
//   chunks in a ReadableStream; it buffers the whole body and returns a File.
//
// Three measurements:
//
// 1. Speed: time per parse of the 100 MiB body, interleaved rounds (order rotated), the
//    ratio to the floor taken within each round as throughput (floor time / parser time:
//    1 is as fast as the floor), median and middle half over rounds. Each timed parse is
//    preceded, untimed, by gc(), a warm-up parse of an 8 MiB body of the same kind and 20 ms
//    for V8's background compiler (see time()): steady state, nobody's JIT or GC work in
//    another parser's timing.
// 2. Hostile boundary: boundary = 70 × 'a', content all 'a' (the same size), timed in the
//    same rounds right after the same parser's normal parse: hostile time / normal time.
// 3. Memory: a child process per parser and size (fresh heap, --expose-gc), the body
//    generated on the fly as fresh 64 KiB chunks (100 MiB and 1 GiB). After a warm-up and
//    gc(), a baseline; then memoryUsage() is sampled after every chunk. Two runs each:
//    with V8's own GC (peak growth of RSS and of heap + external over the baseline: what
//    the process sees, the input chunks' garbage included; the floor's row is that
//    garbage alone), and with gc() forced every 8 MiB (peak growth of live heap +
//    external: what the parser keeps).
//
// Sanity first: every parser must deliver the file with the right name and the right
// bytes (sha256) from the normal body; from the hostile body too, or the refusal is
// reported (Node 20's formData() refuses it: undici's parser looks for the bare boundary
// text). Every timed parse checks its byte count.
//
// Settings (environment): BENCH_ROUNDS (15), BENCH_MIB (100: the file of the speed runs),
// BENCH_HOSTILE_MIB (as BENCH_MIB), BENCH_MEMORY_MIB (100,1024; empty: no memory runs),
// BENCH_FORMDATA_MAX_MIB (1024: larger formData() memory runs are skipped), BENCH_WARM_MIB (8:
// the warm-up parse before each timed one), BENCH_PARSERS (comma-separated, of rampart,
// fastifyBusboy, busboy, formidable, multer, formData; the floor is always measured). A run with any of these but BENCH_ROUNDS prints its tables
// and leaves RESULTS.md alone. About 2 minutes on 2 cores with the defaults.

import { Blob, Buffer } from 'node:buffer';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { Readable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import FastifyBusboy from '@fastify/busboy';
import busboy from 'busboy';
import { MultipartParser as FormidableParser } from 'formidable';
import multer from 'multer';
import { MultipartParser } from 'rampart/uploads';

const MIB = 1024 * 1024;
const CHUNK = 64 * 1024;
// Rounds of the speed and hostile measurements; each parses the normal and the hostile body
// once with every parser. Hostile bodies cost busboy and formidable 10-35× their normal time,
// which is most of a round.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const FILE_MIB = Number(process.env.BENCH_MIB ?? 100);
const HOSTILE_MIB = Number(process.env.BENCH_HOSTILE_MIB ?? FILE_MIB);
const MEMORY_MIB = (process.env.BENCH_MEMORY_MIB ?? '100,1024').split(',').filter(Boolean).map(Number);
// formData() holds the whole body, more than once: above this size its memory run is skipped.
const FORMDATA_MAX_MIB = Number(process.env.BENCH_FORMDATA_MAX_MIB ?? 1024);
// In the memory runs with forced GC: a gc() every this many chunks (8 MiB).
const GC_EVERY = 128;

const RESULTS_FILE = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const START_MARKER = '<!-- bench/uploads.mjs: start (generated, do not edit by hand) -->';
const END_MARKER = '<!-- bench/uploads.mjs: end -->';

setFlagsFromString('--expose-gc');
const gc = globalThis.gc ?? runInNewContext('gc');
// The gc() before each timed parse then frees the previous parser's dead ArrayBuffers (formData()
// leaves ~300 MiB) before the timing starts, instead of on another thread during the next
// parser's run. A parser's own buffers are then freed on the main thread, inside its timing.
if (process.argv[2] !== '--memory') setFlagsFromString('--no-concurrent-array-buffer-sweeping');

// ---- Bodies: `--B CRLF headers CRLF CRLF content CRLF --B-- CRLF`, cut into fresh 64 KiB Buffers.

const FILENAME = 'big.bin';
const contentType = (boundary) => `multipart/form-data; boundary=${boundary}`;
/** A browser's boundary: `----WebKitFormBoundary` and 16 random alphanumerics. */
function browserBoundary() {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let text = '----WebKitFormBoundary';
  for (let index = 0; index < 16; index++) text += alphabet[randomInt(alphabet.length)];
  return text;
}
const HOSTILE_BOUNDARY = 'a'.repeat(70);
// Random content from a pattern a little over 1 MiB long (not a multiple of the chunk size,
// so no two chunks of the body are alike).
const RANDOM_PATTERN = randomBytes(MIB + 4099);
const HOSTILE_PATTERN = Buffer.alloc(MIB, 'a');

/** A body's shape: its boundary, head, content (a repeated pattern) and tail. */
function bodyShape(boundary, contentBytes, pattern) {
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${FILENAME}"\r\nContent-Type: application/octet-stream\r\n\r\n`, 'latin1');
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  return { boundary, head, tail, contentBytes, pattern, total: head.length + contentBytes + tail.length };
}
const normalShape = (contentBytes) => bodyShape(browserBoundary(), contentBytes, RANDOM_PATTERN);
const hostileShape = (contentBytes) => bodyShape(HOSTILE_BOUNDARY, contentBytes, HOSTILE_PATTERN);

/** Copies the body's bytes [offset, offset + target.length) into target. */
function fillBody(shape, target, offset) {
  const { head, tail, contentBytes, pattern } = shape;
  let written = 0;
  while (written < target.length) {
    const at = offset + written;
    if (at < head.length) {
      written += head.copy(target, written, at);
    } else if (at < head.length + contentBytes) {
      const contentAt = at - head.length;
      const from = contentAt % pattern.length;
      const length = Math.min(pattern.length - from, contentBytes - contentAt, target.length - written);
      written += pattern.copy(target, written, from, from + length);
    } else {
      written += tail.copy(target, written, at - head.length - contentBytes);
    }
  }
}

/** The body as fresh Buffers (each its own ArrayBuffer), made as they are asked for. */
function* generateChunks(shape) {
  for (let offset = 0; offset < shape.total; offset += CHUNK) {
    const chunk = Buffer.allocUnsafeSlow(Math.min(CHUNK, shape.total - offset));
    fillBody(shape, chunk, offset);
    yield chunk;
  }
}

/** The content's sha256, computed from the pattern (not from any body). */
function contentDigest(shape) {
  const hash = createHash('sha256');
  for (let at = 0; at < shape.contentBytes; ) {
    const from = at % shape.pattern.length;
    const length = Math.min(shape.pattern.length - from, shape.contentBytes - at);
    hash.update(shape.pattern.subarray(from, from + length));
    at += length;
  }
  return hash.digest('hex');
}

// ---- Sinks: where each parser's file bytes go.

/** Counts the bytes (the timed runs). */
function countingSink() {
  const sink = {
    bytes: 0,
    data: (bytes) => {
      sink.bytes += bytes.length;
    },
    blob: async (blob) => {
      sink.bytes += blob.size;
    },
  };
  return sink;
}

/** Counts and hashes the bytes (the sanity pass). */
function hashingSink() {
  const hash = createHash('sha256');
  const sink = {
    bytes: 0,
    data: (bytes) => {
      sink.bytes += bytes.length;
      hash.update(bytes);
    },
    blob: async (blob) => {
      for await (const bytes of blob.stream()) sink.data(bytes);
    },
    digest: () => hash.digest('hex'),
  };
  return sink;
}

// ---- The parsers. Each parse(chunks, boundary, sink) takes an iterable of Buffers and
// resolves to { filename } (the floor: { bytes } instead, it delivers no content).

/** Writes every chunk, awaiting 'drain' whenever write() asks for it (what pipe() does). */
async function feed(writable, chunks) {
  for (const chunk of chunks) {
    if (!writable.write(chunk)) {
      await new Promise((resolve, reject) => {
        const settle = (error) => {
          writable.off('drain', settle);
          writable.off('error', settle);
          writable.off('close', closed);
          if (error) reject(error);
          else resolve();
        };
        const closed = () => settle(new Error('the parser closed before the body ended'));
        writable.on('drain', settle);
        writable.on('error', settle);
        writable.on('close', closed);
      });
    }
  }
}

/**
 * The floor, fed a chunk at a time like the parsers: a per-chunk function is optimized like
 * theirs (a loop over all chunks in one function runs as on-stack-replaced code, compiled again
 * on many calls). A plain function over a state object: written as a class, its optimized
 * code embedded objects that the gc() before each timed parse collected, and V8 threw it away
 * ("weak objects") and compiled it again during the next timed parse.
 */
function floorState(boundary) {
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const keep = delimiter.length - 1;
  // The lookbehind (the stream's last `keep` bytes) in [0, carried), then the chunk's first
  // `keep` bytes: a delimiter found starting in the lookbehind ends in this chunk (one wholly
  // inside a chunk is found by that chunk's own search). Bytes are moved with plain loops:
  // Buffer#copy costs ~0.5 µs a call on Node 20, more than moving 41 bytes.
  return { delimiter, keep, window: Buffer.alloc(2 * keep), carried: 0, offset: 0, headEnd: -1, firstDelimiter: -1, delimiters: 0 };
}

function floorWrite(state, chunk) {
  const { delimiter, keep, window } = state;
  let carried = state.carried;
  if (state.headEnd === -1) {
    state.headEnd = chunk.indexOf('\r\n\r\n') + 4;
    if (state.headEnd === 3) throw new Error('floor: the headers are not in the first chunk');
  }
  const taken = Math.min(keep, chunk.length);
  for (let index = 0; index < taken; index++) window[carried + index] = chunk[index];
  if (carried > 0) {
    const found = (carried + taken === window.length ? window : window.subarray(0, carried + taken)).indexOf(delimiter);
    if (found !== -1 && found < carried) floorFound(state, state.offset - carried + found);
  }
  let found = chunk.indexOf(delimiter);
  while (found !== -1) {
    floorFound(state, state.offset + found);
    found = chunk.indexOf(delimiter, found + delimiter.length);
  }
  if (chunk.length >= keep) {
    const from = chunk.length - keep;
    for (let index = 0; index < keep; index++) window[index] = chunk[from + index];
    carried = keep;
  } else {
    // A chunk shorter than the lookbehind: keep the last `keep` bytes of lookbehind + chunk.
    const total = carried + chunk.length;
    const drop = Math.max(0, total - keep);
    window.copyWithin(0, drop, total);
    carried = total - drop;
  }
  state.carried = carried;
  state.offset += chunk.length;
}

function floorFound(state, at) {
  state.delimiters++;
  if (state.firstDelimiter === -1) state.firstDelimiter = at;
}

/** The file's size: from the end of the part's headers to the close delimiter. */
function floorParse(chunks, boundary) {
  const state = floorState(boundary);
  for (const chunk of chunks) floorWrite(state, chunk);
  if (state.delimiters !== 1) throw new Error(`floor: ${state.delimiters} delimiters after the first, expected 1`);
  return { bytes: state.firstDelimiter - state.headEnd };
}

function rampartParse(chunks, boundary, sink) {
  let filename;
  let parts = 0;
  const parser = new MultipartParser(boundary, {
    onPart(part) {
      filename = part.filename;
    },
    onData: sink.data,
    onPartEnd() {
      parts++;
    },
  });
  for (const chunk of chunks) parser.write(chunk);
  parser.end();
  if (parts !== 1) throw new Error(`rampart: ${parts} parts ended`);
  return { filename };
}

function busboyParse(chunks, boundary, sink) {
  return new Promise((resolve, reject) => {
    const parser = busboy({ headers: { 'content-type': contentType(boundary) } });
    let filename;
    const ends = [];
    parser.on('file', (name, stream, info) => {
      filename = info.filename;
      stream.on('data', sink.data);
      ends.push(new Promise((done) => stream.on('end', done)));
    });
    parser.on('field', () => {});
    parser.on('error', reject);
    parser.on('close', () => Promise.all(ends).then(() => resolve({ filename })));
    feed(parser, chunks).then(() => parser.end(), reject);
  });
}

function fastifyBusboyParse(chunks, boundary, sink) {
  return new Promise((resolve, reject) => {
    const parser = new FastifyBusboy({ headers: { 'content-type': contentType(boundary) } });
    let filename;
    const ends = [];
    parser.on('file', (name, stream, sentName) => {
      filename = sentName;
      stream.on('data', sink.data);
      ends.push(new Promise((done) => stream.on('end', done)));
    });
    parser.on('field', () => {});
    parser.on('error', reject);
    parser.on('finish', () => Promise.all(ends).then(() => resolve({ filename })));
    feed(parser, chunks).then(() => parser.end(), reject);
  });
}

function formidableParse(chunks, boundary, sink) {
  return new Promise((resolve, reject) => {
    const parser = new FormidableParser();
    parser.initWithBoundary(boundary);
    let field = '';
    let value = '';
    let headers;
    let filename;
    let ended = false;
    parser.on('data', ({ name, buffer, start, end }) => {
      switch (name) {
        case 'partData':
          sink.data(buffer.subarray(start, end));
          break;
        case 'partBegin':
          headers = Object.create(null);
          break;
        case 'headerField':
          field += buffer.toString('latin1', start, end);
          break;
        case 'headerValue':
          value += buffer.toString('latin1', start, end);
          break;
        case 'headerEnd':
          headers[field.toLowerCase()] = value;
          field = value = '';
          break;
        case 'headersEnd':
          filename = /\bfilename="([^"]*)"/i.exec(headers['content-disposition'] ?? '')?.[1];
          break;
        case 'end':
          ended = true;
          break;
      }
    });
    parser.on('error', reject);
    parser.on('end', () => (ended ? resolve({ filename }) : reject(new Error('formidable: no end event'))));
    feed(parser, chunks).then(() => parser.end(), reject);
  });
}

/** What multer reads of a node:http request: a Readable body with headers. */
class FakeRequest extends Readable {
  constructor(chunks, boundary) {
    super();
    this.iterator = chunks[Symbol.iterator]();
    this.method = 'POST';
    this.url = '/upload';
    this.headers = { 'content-type': contentType(boundary), 'transfer-encoding': 'chunked' };
  }
  _read() {
    for (;;) {
      const next = this.iterator.next();
      if (next.done) {
        this.push(null);
        return;
      }
      if (!this.push(next.value)) return;
    }
  }
}
let multerSink;
/** A StorageEngine that counts the file's bytes and drops them. */
const countingStorage = {
  _handleFile(req, file, callback) {
    let size = 0;
    const sink = multerSink;
    file.stream.on('data', (bytes) => {
      size += bytes.length;
      sink.data(bytes);
    });
    file.stream.on('error', callback);
    file.stream.on('end', () => callback(null, { size }));
  },
  _removeFile(req, file, callback) {
    callback(null);
  },
};
const multerUpload = multer({ storage: countingStorage }).single('file');

function multerParse(chunks, boundary, sink) {
  multerSink = sink;
  const req = new FakeRequest(chunks, boundary);
  return new Promise((resolve, reject) => {
    multerUpload(req, {}, (error) => (error ? reject(error) : resolve({ filename: req.file?.originalname })));
  });
}

async function formDataParse(chunks, boundary, sink) {
  const iterator = chunks[Symbol.iterator]();
  const body = new ReadableStream({
    pull(controller) {
      const next = iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
  });
  const form = await new Response(body, { headers: { 'content-type': contentType(boundary) } }).formData();
  const file = form.get('file');
  if (!(file instanceof Blob)) throw new Error('formData(): no file');
  await sink.blob(file);
  return { filename: file.name };
}

const PARSERS = {
  floor: { label: 'floor: `Buffer.indexOf` of `CRLF--boundary` per chunk', parse: floorParse },
  rampart: { label: 'rampart `MultipartParser`', parse: rampartParse },
  fastifyBusboy: { label: '@fastify/busboy 3', parse: fastifyBusboyParse },
  busboy: { label: 'busboy 1.6', parse: busboyParse },
  formidable: { label: 'formidable 3.5, raw `MultipartParser`', parse: formidableParse },
  multer: { label: 'multer 2 (busboy), counting StorageEngine', parse: multerParse },
  formData: { label: '`Response.formData()` (Node 20 undici)', parse: formDataParse },
};
const FLOOR = 'floor';
const RAMPART = 'rampart';

function check(condition, message) {
  if (!condition) throw new Error(`bench sanity check failed: ${message}`);
}

/** One parse into the given sink; checks what came out. Resolves to the parse's result. */
async function parseInto(key, chunks, shape, sink) {
  const result = await PARSERS[key].parse(chunks, shape.boundary, sink);
  const bytes = key === FLOOR ? result.bytes : sink.bytes;
  check(bytes === shape.contentBytes, `${key} delivered ${bytes} file bytes, expected ${shape.contentBytes}`);
  if (key !== FLOOR) check(result.filename === FILENAME, `${key} reported the file name ${JSON.stringify(result.filename)}`);
  return result;
}

// ---- Memory, in a child process: `uploads.mjs --memory <parser> <MiB> <natural|forced>`.

async function memoryChild(key, mib, mode) {
  const shape = normalShape(mib * MIB);
  const warmShape = normalShape(2 * MIB);
  for (let index = 0; index < 3; index++) await parseInto(key, generateChunks(warmShape), warmShape, countingSink());
  gc();
  gc();
  const base = process.memoryUsage();
  const peak = { rss: 0, heap: 0 };
  const sample = () => {
    const now = process.memoryUsage();
    peak.rss = Math.max(peak.rss, now.rss - base.rss);
    peak.heap = Math.max(peak.heap, now.heapUsed + now.external - base.heapUsed - base.external);
  };
  function* sampled() {
    let index = 0;
    for (const chunk of generateChunks(shape)) {
      yield chunk;
      if (mode === 'forced') {
        if (++index % GC_EVERY === 0) {
          gc();
          sample();
        }
      } else sample();
    }
  }
  // Async parsers also get samples between their callbacks.
  const timer = mode === 'forced' ? undefined : setInterval(sample, 5);
  const start = process.hrtime.bigint();
  const sink = countingSink();
  const countBlob = sink.blob;
  sink.blob = async (blob) => {
    if (mode === 'forced') gc();
    sample();
    await countBlob(blob);
  };
  await parseInto(key, sampled(), shape, sink);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (mode === 'forced') gc();
  sample();
  clearInterval(timer);
  console.log(JSON.stringify({ key, mib, mode, peak, base: { rss: base.rss, heap: base.heapUsed + base.external }, ms }));
}

function runMemory(key, mib, mode) {
  // A forced gc() frees dead ArrayBuffers' memory only once V8's sweeper has run, which is
  // concurrent by default: memoryUsage() right after gc() would still count them.
  const flags = mode === 'forced' ? ['--expose-gc', '--no-concurrent-array-buffer-sweeping'] : ['--expose-gc'];
  const child = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), '--memory', key, String(mib), mode], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    timeout: 300_000,
  });
  const line = child.stdout.trim().split('\n').pop();
  if (child.status !== 0 || !line?.startsWith('{')) {
    const reason = (child.stderr || child.error?.message || `exit ${child.status ?? child.signal}`).trim().split('\n').slice(-3).join(' ');
    return { error: reason };
  }
  return JSON.parse(line);
}

// ---- Timing.

/** Wall-clock and CPU (user + system, all threads: GC included) milliseconds of one parse. */
// One counting sink for every timed parse: a fresh closure per parse would be compiled again
// by V8 each time, on a background thread, inside the timing.
const COUNTER = countingSink();
const WARM_MIB = Number(process.env.BENCH_WARM_MIB ?? 8);
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/**
 * Wall-clock and CPU (user + system, all threads: GC included) milliseconds of one parse of
 * `body`. Before it, untimed: gc(), which frees the previous parse's garbage but also throws
 * away optimized code that embedded objects now dead ("weak objects" deopts); a parse of an
 * 8 MiB body of the same kind (2 MiB was not enough for the floor), so that the parser runs optimized again; and 20 ms for V8's
 * background compiler to finish, so that neither its work nor another parser's lands in
 * this timing.
 */
async function time(key, body) {
  gc();
  COUNTER.bytes = 0;
  await parseInto(key, body.warm.chunks, body.warm.shape, COUNTER);
  await settle();
  COUNTER.bytes = 0;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await parseInto(key, body.chunks, body.shape, COUNTER);
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1000 };
}

/** A body cut into chunks, and a smaller one like it (same boundary and content) to warm up on. */
function cutBody(shape) {
  const warm = bodyShape(shape.boundary, WARM_MIB * MIB, shape.pattern);
  return { shape, chunks: [...generateChunks(shape)], warm: { shape: warm, chunks: [...generateChunks(warm)] } };
}

const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * q)];
const median = (values) => quantile(values, 0.5);
const middleHalf = (values, digits = 2) => `${quantile(values, 0.25).toFixed(digits)}–${quantile(values, 0.75).toFixed(digits)}`;
const mib = (bytes) => (bytes / MIB).toFixed(1);

function sourceVersion() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return `${commit}${dirty ? ' with uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

async function main() {
  const selected = process.env.BENCH_PARSERS ? [FLOOR, ...process.env.BENCH_PARSERS.split(',').filter((key) => key !== FLOOR)] : Object.keys(PARSERS);
  for (const key of selected) if (!PARSERS[key]) throw new Error(`unknown parser ${key}; known: ${Object.keys(PARSERS).join(', ')}`);
  const complete = selected.length === Object.keys(PARSERS).length && !process.env.BENCH_MIB && !process.env.BENCH_HOSTILE_MIB && !process.env.BENCH_MEMORY_MIB && !process.env.BENCH_WARM_MIB;
  const started = Date.now();
  const loadStart = loadavg()[0];
  const date = new Date().toUTCString();

  // The bodies, cut before any timing.
  const normal = normalShape(FILE_MIB * MIB);
  const hostile = hostileShape(HOSTILE_MIB * MIB);
  const normalBody = cutBody(normal);
  const hostileBody = cutBody(hostile);
  const normalChunks = normalBody.chunks;
  const hostileChunks = hostileBody.chunks;
  check(new Set(normalChunks.map((chunk) => chunk.buffer)).size === normalChunks.length, 'two chunks share memory');
  const fingerprint = (chunks) => chunks.reduce((hash, chunk) => hash.update(chunk), createHash('sha256')).digest('hex');
  const normalFingerprint = fingerprint(normalChunks);
  const hostileFingerprint = fingerprint(hostileChunks);
  console.log(`bench: ${selected.length} parsers; a ${FILE_MIB} MiB file in ${normalChunks.length} chunks of 64 KiB (boundary ${normal.boundary}), hostile ${HOSTILE_MIB} MiB; ${ROUNDS} rounds; memory at ${MEMORY_MIB.join(', ')} MiB`);

  // Sanity: the right bytes, or (hostile body only) a refusal that is reported.
  const refusedHostile = {};
  const normalDigest = contentDigest(normal);
  const hostileDigest = contentDigest(hostile);
  for (const key of selected) {
    if (key === FLOOR) {
      await parseInto(key, normalChunks, normal, countingSink());
      await parseInto(key, hostileChunks, hostile, countingSink());
      continue;
    }
    const sink = hashingSink();
    await parseInto(key, normalChunks, normal, sink);
    check(sink.digest() === normalDigest, `${key} delivered other bytes than the file's`);
    const hostileSink = hashingSink();
    try {
      await parseInto(key, hostileChunks, hostile, hostileSink);
      check(hostileSink.digest() === hostileDigest, `${key} delivered other bytes than the hostile file's`);
    } catch (error) {
      if (String(error.message).startsWith('bench sanity check failed')) throw error;
      refusedHostile[key] = `${error.name}: ${error.message}`;
      console.log(`  ${key} refused the hostile body: ${refusedHostile[key]}`);
    }
  }
  console.log('Sanity checks passed; warming up.');
  for (const key of selected) for (let index = 0; index < 2; index++) await time(key, normalBody);

  // Speed and hostile, interleaved.
  const speed = Object.fromEntries(selected.map((key) => [key, { wall: [], cpu: [], ratio: [], cpuRatio: [], hostile: [], hostileRatio: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = selected.slice(round % selected.length).concat(selected.slice(0, round % selected.length));
    const got = {};
    for (const key of order) {
      got[key] = await time(key, normalBody);
      if (!refusedHostile[key]) got[key].hostile = await time(key, hostileBody);
    }
    for (const key of selected) {
      const entry = speed[key];
      entry.wall.push(got[key].wall);
      entry.cpu.push(got[key].cpu);
      // Throughput relative to the floor: floor time / parser time (1: as fast as the floor).
      entry.ratio.push(got[FLOOR].wall / got[key].wall);
      entry.cpuRatio.push(got[FLOOR].cpu / got[key].cpu);
      if (got[key].hostile) {
        entry.hostile.push(got[key].hostile.wall);
        entry.hostileRatio.push(got[key].hostile.wall / (got[key].wall * (HOSTILE_MIB / FILE_MIB)));
      }
    }
    console.log(`Round ${round + 1}/${ROUNDS}: ${selected.map((key) => `${key} ${got[key].wall.toFixed(0)}${got[key].hostile ? `/${got[key].hostile.wall.toFixed(0)}` : ''}`).join(', ')} ms (normal/hostile)`);
  }
  check(fingerprint(normalChunks) === normalFingerprint && fingerprint(hostileChunks) === hostileFingerprint, 'a parser changed the chunks it was given');
  const speedSeconds = (Date.now() - started) / 1000;

  // Memory, each measurement in a child process.
  const memory = {};
  for (const key of selected) {
    memory[key] = {};
    for (const size of MEMORY_MIB) {
      if (key === 'formData' && size > FORMDATA_MAX_MIB) {
        memory[key][size] = { skipped: true };
        continue;
      }
      const natural = runMemory(key, size, 'natural');
      const forced = natural.error ? { error: 'not run' } : runMemory(key, size, 'forced');
      memory[key][size] = { natural, forced };
      const show = (run) => (run.error ? `error (${run.error})` : `RSS +${mib(run.peak.rss)} MiB, heap+external +${mib(run.peak.heap)} MiB`);
      console.log(`Memory ${key} ${size} MiB: V8 GC ${show(natural)}; forced GC ${forced.error ? `error (${forced.error})` : `live +${mib(forced.peak.heap)} MiB`}`);
    }
  }
  const seconds = (Date.now() - started) / 1000;

  const section = report({ selected, speed, memory, refusedHostile, normal, loadStart, date, speedSeconds, seconds });
  console.log(`\n${section.split('\n').slice(1, -1).join('\n')}\n`);
  if (complete) {
    writeResults(section);
    console.log(`Written to ${RESULTS_FILE}.`);
  } else {
    console.log(`Not written to ${RESULTS_FILE}: BENCH_PARSERS or a BENCH_*MIB setting changed what is measured.`);
  }
}

function report({ selected, speed, memory, refusedHostile, normal, loadStart, date, speedSeconds, seconds }) {
  const cpuModel = /model name\s*:\s*(.*)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const versions = ['busboy', '@fastify/busboy', 'formidable', 'multer'].map((name) => `${name} ${JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version}`);
  const undici = process.versions.undici ? `undici ${process.versions.undici}` : 'undici (bundled)';
  const fileMiB = FILE_MIB;

  const speedLines = [
    `| parser | ms per ${fileMiB} MiB parse (median) | MiB/s (median) | throughput × floor, median of per-round ratios (middle half) | CPU-time throughput × floor (median) |`,
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const key of selected) {
    const entry = speed[key];
    const ms = median(entry.wall);
    const ratio = key === FLOOR ? '1' : `**${median(entry.ratio).toFixed(2)}×** (${middleHalf(entry.ratio)})`;
    const cpuRatio = key === FLOOR ? '1' : `${median(entry.cpuRatio).toFixed(2)}×`;
    speedLines.push(`| ${PARSERS[key].label} | ${ms.toFixed(1)} | ${Math.round((fileMiB * 1000) / ms).toLocaleString('en-US')} | ${ratio} | ${cpuRatio} |`);
  }

  const hostileLines = [
    `| parser | normal body, ms (median) | hostile body, ms (median) | hostile ÷ normal, median of per-round ratios (middle half) |`,
    '| --- | ---: | ---: | ---: |',
  ];
  for (const key of selected) {
    const entry = speed[key];
    if (refusedHostile[key]) {
      hostileLines.push(`| ${PARSERS[key].label} | ${median(entry.wall).toFixed(1)} | refused the valid body: \`${refusedHostile[key]}\` | – |`);
      continue;
    }
    hostileLines.push(`| ${PARSERS[key].label} | ${median(entry.wall).toFixed(1)} | ${median(entry.hostile).toFixed(1)} | **${median(entry.hostileRatio).toFixed(2)}×** (${middleHalf(entry.hostileRatio)}) |`);
  }

  const memoryHeader = MEMORY_MIB.map((size) => `${size} MiB: peak RSS growth, V8 GC | ${size} MiB: peak heap + external growth, V8 GC | ${size} MiB: peak live heap + external, gc() every 8 MiB`).join(' | ');
  const memoryLines = [`| parser | ${memoryHeader} |`, `| --- | ${MEMORY_MIB.map(() => '---: | ---: | ---:').join(' | ')} |`];
  const cell = (run, field) => (run.error ? `error: ${run.error}` : `${mib(run.peak[field])} MiB`);
  for (const key of selected) {
    const cells = MEMORY_MIB.map((size) => {
      const entry = memory[key][size];
      if (entry.skipped) return `skipped (> ${FORMDATA_MAX_MIB} MiB) | | `;
      return `${cell(entry.natural, 'rss')} | ${cell(entry.natural, 'heap')} | ${cell(entry.forced, 'heap')}`;
    });
    memoryLines.push(`| ${PARSERS[key].label} | ${cells.join(' | ')} |`);
  }

  // Targets.
  const targets = [];
  if (selected.includes(RAMPART)) {
    const ours = median(speed[RAMPART].ratio);
    targets.push(`- ${ours >= 0.95 ? 'MET' : 'MISSED'}: rampart at least 0.95× the floor's throughput: **${ours.toFixed(3)}×** (middle half ${middleHalf(speed[RAMPART].ratio, 3)}; CPU time ${median(speed[RAMPART].cpuRatio).toFixed(3)}×).`);
    const hostileRatio = refusedHostile[RAMPART] ? NaN : median(speed[RAMPART].hostileRatio);
    targets.push(`- ${hostileRatio <= 1.2 ? 'MET' : 'MISSED'}: the hostile boundary at most 1.2× the normal time: **${Number.isNaN(hostileRatio) ? 'refused' : `${hostileRatio.toFixed(2)}×`}**.`);
    for (const size of MEMORY_MIB) {
      const { natural, forced } = memory[RAMPART][size];
      if (natural.error || forced.error) {
        targets.push(`- MISSED: memory growth at most 8 MiB at ${size} MiB: the run failed.`);
        continue;
      }
      const live = forced.peak.heap / MIB;
      const floorRun = memory[FLOOR][size].natural;
      const overFloor = floorRun.error ? NaN : (natural.peak.rss - floorRun.peak.rss) / MIB;
      // Judged on what the parser keeps alive. The peak with V8's own GC is mostly the input
      // chunks not yet collected, and moves by ±15 MiB from run to run with the collector's
      // timing (a busy second core slows concurrent marking): shown, not judged.
      targets.push(
        `- ${live <= 8 ? 'MET' : 'MISSED'}: memory growth at most 8 MiB at ${size} MiB: live heap + external **+${live.toFixed(1)} MiB** ` +
          `(peak RSS growth with V8's own GC +${mib(natural.peak.rss)} MiB, ${overFloor >= 0 ? '+' : ''}${overFloor.toFixed(1)} MiB against the floor's +${mib(floorRun.peak?.rss ?? NaN)} MiB, which is the input chunks not yet collected).`,
      );
    }
  }

  return `${START_MARKER}
## Uploads: a ${fileMiB} MiB multipart file, parsed in-process

\`\`\`
npm run build && node bench/uploads.mjs
\`\`\`

- Date: ${date}; rampart at ${sourceVersion()}
- Node ${process.version} (${undici}); ${versions.join(', ')}
- Machine: ${availableParallelism()} cores, ${cpuModel}; load average (1 min) ${loadStart.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end.
- Body: one part, \`Content-Disposition: form-data; name="file"; filename="${FILENAME}"\` and \`Content-Type: application/octet-stream\`, ${fileMiB} MiB of random bytes, a browser-like boundary (\`----WebKitFormBoundary\` + 16 alphanumerics); cut before timing into ${Math.ceil(normal.total / CHUNK)} fresh 64 KiB Buffers (each its own ArrayBuffer). In-process: no HTTP, no disk. Every parse must deliver exactly the file's bytes (sha256-checked once per parser, byte count on every timed parse).
- How each is driven: the floor keeps the stream's last ${normal.boundary.length + 3} bytes (the delimiter's length − 1, moved with plain loops), searches them joined with the chunk's first ${normal.boundary.length + 3} bytes, then the chunk, with \`Buffer#indexOf\`, and takes the file's size from the close delimiter's offset; rampart \`write(chunk)\` per chunk, then \`end()\`; busboy and @fastify/busboy \`write()\` with back-pressure (\`await 'drain'\`), file stream read by a \`'data'\` listener; formidable's raw \`MultipartParser\` (an object-mode Transform, how \`IncomingForm\` drives it) the same way, its \`partData\` slices counted, headers decoded per part; multer's \`single('file')\` middleware called with a fake \`IncomingMessage\` (a \`Readable\` with headers) and a StorageEngine that counts and discards; \`new Response(readableStream, { headers }).formData()\`, the file's \`size\` read from the returned \`File\`.
- Method: ${ROUNDS} interleaved rounds (order rotated every round); each round parses the normal body, then the hostile one, with every parser. Before each timed parse, untimed: a \`gc()\` (with V8's concurrent ArrayBuffer sweeping off, so that it frees the previous parser's buffers then, not on the other core during the next parser's run), a warm-up parse of a body of the same kind (${WARM_MIB} MiB) (the \`gc()\` discards optimized code that embedded dead objects: this gets every parser back to optimized code) and 20 ms for V8's background compiler to finish: each parse is measured in steady state, and no parser's JIT or GC work lands in another's timing. Ratios are taken within each round; the median over rounds is reported, the middle half (25th–75th percentile) in parentheses. CPU time: \`process.cpuUsage()\`, user + system, all threads (GC included). ${speedSeconds.toFixed(0)} s for speed and hostile, ${seconds.toFixed(0)} s in all.

${speedLines.join('\n')}

**Hostile boundary**: boundary = 70 × \`a\`, a ${HOSTILE_MIB} MiB file of \`a\`s, same chunks (each parser's normal time in the same round${HOSTILE_MIB === FILE_MIB ? '' : `, scaled to ${HOSTILE_MIB} MiB`}).

${hostileLines.join('\n')}

**Memory**: a child process per parser, size and mode (\`node --expose-gc\`), the body generated on the fly as fresh 64 KiB chunks of random bytes. Baseline after three warm-up parses of 2 MiB and \`gc()\`; \`process.memoryUsage()\` sampled after every chunk (and every 5 ms). "V8 GC": the collector left alone, so the growth includes the input chunks not yet collected (the floor's row is that alone). "gc() every 8 MiB": a forced collection before each sample, so what remains is what the parser holds. formData()'s last sample is taken with the returned \`File\` alive; its bytes are native Blob memory, which heap + external may not count: read its RSS.

${memoryLines.join('\n')}

Targets:

${targets.join('\n')}
${END_MARKER}`;
}

/** Replaces this benchmark's section of RESULTS.md, keeping anything written around it. */
function writeResults(section) {
  const existing = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '# Benchmark results\n\nLatest figures; each section says the command that produced it.\n\n';
  const start = existing.indexOf(START_MARKER);
  const end = existing.indexOf(END_MARKER);
  const updated =
    start !== -1 && end > start ? existing.slice(0, start) + section + existing.slice(end + END_MARKER.length) : `${existing.trimEnd()}\n\n${section}\n`;
  writeFileSync(RESULTS_FILE, updated);
}

if (process.argv[2] === '--memory') {
  await memoryChild(process.argv[3], Number(process.argv[4]), process.argv[5]);
} else {
  await main();
}
