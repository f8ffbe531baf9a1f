import { describe, expect, it } from 'vitest';
import { RampartError } from '../errors.ts';
import { displayName } from './names.ts';
import { memoryStorage, type UploadStorage } from './storage.ts';
import { uploads, type NodeReadableRequest, type UploadLimits, type UploadsOptions } from './uploads.ts';

const BOUNDARY = '----rampartTestBoundary7MA4YWxkTrZu0gW';
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
const encoder = new TextEncoder();

type Part = { name: string; value: string | Uint8Array; filename?: string; filenameStar?: string; type?: string };

function body(parts: readonly Part[], boundary = BOUNDARY): Uint8Array {
  const pieces: Uint8Array[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    if (part.filenameStar !== undefined) head += `; filename*=UTF-8''${percentEncode(part.filenameStar)}`;
    head += `\r\n${part.type ? `Content-Type: ${part.type}\r\n` : ''}\r\n`;
    pieces.push(encoder.encode(head), typeof part.value === 'string' ? encoder.encode(part.value) : part.value, encoder.encode('\r\n'));
  }
  pieces.push(encoder.encode(`--${boundary}--\r\n`));
  const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    joined.set(piece, offset);
    offset += piece.length;
  }
  return joined;
}

function percentEncode(text: string): string {
  return Array.from(encoder.encode(text), (byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
}

function request(payload: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}): Request {
  return new Request('https://app.test/upload', {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, ...headers },
    body: payload,
    duplex: 'half',
  } as RequestInit);
}

/** A storage that records every call, over memory storage. */
function recordingStorage(inner: UploadStorage = memoryStorage()): UploadStorage & { calls: string[]; live: Set<string> } {
  const calls: string[] = [];
  const live = new Set<string>();
  return {
    calls,
    live,
    async create(id) {
      calls.push(`create ${id}`);
      const sink = await inner.create(id);
      live.add(id);
      return {
        write: (bytes) => sink.write(bytes),
        async commit(upload) {
          calls.push(`commit ${id}`);
          await sink.commit(upload);
        },
        async abort() {
          calls.push(`abort ${id}`);
          live.delete(id);
          await sink.abort();
        },
      };
    },
    open: (id) => inner.open(id),
    async remove(id) {
      calls.push(`remove ${id}`);
      live.delete(id);
      return inner.remove(id);
    },
  };
}

function setup(options: Partial<UploadsOptions> & { limits?: UploadLimits } = {}) {
  const storage = recordingStorage();
  const files = uploads({ storage, allowedTypes: ['image/png', 'text/plain'], ...options });
  return { storage, files };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RampartError) return error.code;
    throw error;
  }
  return 'ok';
}

describe('uploads().receive', () => {
  it('stores a file under a random id with its sniffed type, and returns the fields', async () => {
    const { files, storage } = setup();
    const form = await files.receive(
      request(
        body([
          { name: 'csrf_token', value: 'token' },
          { name: 'title', value: 'Été' },
          { name: 'title', value: 'second' },
          { name: 'file', value: PNG, filename: '../../etc/passwd.png', type: 'text/html' },
        ]),
      ),
    );
    expect([...form.fields]).toEqual([
      ['title', 'Été'],
      ['title', 'second'],
    ]);
    const file = form.file('file')!;
    expect(file).toMatchObject({ type: 'image/png', size: PNG.length, name: 'passwd.png', field: 'file' });
    expect(file.id).toMatch(/^[0-9a-f]{32}$/);
    expect(storage.calls).toEqual([`create ${file.id}`, `commit ${file.id}`]);
    const opened = await storage.open(file.id);
    expect(new Uint8Array(await new Response(opened!.body).arrayBuffer())).toEqual(PNG);
  });

  it('reads a Node-style request stream too', async () => {
    const { files } = setup();
    const { Readable } = await import('node:stream');
    const stream = Readable.from([body([{ name: 'file', value: 'hello', filename: 'a.txt' }])]) as unknown as NodeReadableRequest;
    Object.assign(stream, { headers: { 'content-type': `multipart/form-data; boundary="${BOUNDARY}"` } });
    const form = await files.receive(stream);
    expect(form.files[0]).toMatchObject({ type: 'text/plain', size: 5, name: 'a.txt' });
  });

  it('turns a Node request whose client has already left into upload_truncated', async () => {
    const { files, storage } = setup();
    const { PassThrough } = await import('node:stream');
    const stream = new PassThrough();
    stream.write(body([{ name: 'file', value: 'hello', filename: 'a.txt' }]));
    stream.destroy();
    Object.assign(stream, { headers: { 'content-type': `multipart/form-data; boundary="${BOUNDARY}"` } });
    expect(await codeOf(files.receive(stream as unknown as NodeReadableRequest))).toBe('upload_truncated');
    expect(storage.calls).toEqual([]);
  });

  it('notices a Node client that leaves while a chunk it already sent is being stored', async () => {
    const { PassThrough } = await import('node:stream');
    const stream = new PassThrough();
    Object.assign(stream, { headers: { 'content-type': `multipart/form-data; boundary="${BOUNDARY}"` } });
    // Part of a file has arrived; the rest never comes: the client leaves while the
    // storage is still creating the file.
    stream.write(body([{ name: 'file', value: 'x'.repeat(1000), filename: 'a.txt' }]).subarray(0, 600));
    const storage = recordingStorage();
    const slow: UploadStorage = {
      ...storage,
      async create(id) {
        stream.destroy();
        await new Promise((resolve) => setTimeout(resolve, 50));
        return storage.create(id);
      },
    };
    const files = uploads({ storage: slow, allowedTypes: ['text/plain'], limits: { idleTimeoutMs: 5000 } });
    const started = performance.now();
    expect(await codeOf(files.receive(stream as unknown as NodeReadableRequest))).toBe('upload_truncated');
    // At once, not when the idle timeout (5 s) gives up on a wait nothing would end.
    expect(performance.now() - started).toBeLessThan(2000);
    expect(storage.live.size).toBe(0);
  });

  it('on node:http, answers a form refused once it has all arrived, and serves the next request on the same connection', async () => {
    const { files } = setup({ limits: { maxFields: 1 } });
    const { createServer } = await import('node:http');
    const { connect } = await import('node:net');
    const server = createServer((req, res) => {
      const answer = (status: number, text = ''): void => void res.writeHead(status, { 'content-length': Buffer.byteLength(text) }).end(text);
      files.receive(req).then(
        (form) => answer(200, form.fields.get('a') ?? ''),
        (error: { status?: number; code?: string }) => answer(error.status ?? 500, error.code),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const socket = connect((server.address() as { port: number }).port, '127.0.0.1');
    try {
      let received = '';
      socket.setEncoding('latin1').on('data', (text: string) => (received += text));
      /** Sends a form on the one connection; resolves with the status and body of its answer. */
      const send = async (parts: readonly Part[]): Promise<[number, string]> => {
        const payload = Buffer.from(body(parts));
        received = '';
        // One write: the whole message arrives at once, as a small form does.
        socket.write(Buffer.concat([Buffer.from(`POST / HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${payload.length}\r\n\r\n`), payload]));
        for (let tries = 0; tries < 200; tries++) {
          const match = /^HTTP\/1\.1 (\d+)[^]*?\r\ncontent-length: (\d+)\r\n[^]*?\r\n\r\n/i.exec(received);
          if (match && received.length >= match[0].length + Number(match[2])) return [Number(match[1]), received.slice(match[0].length)];
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        throw new Error(`no answer on the connection (closed: ${socket.destroyed}): ${JSON.stringify(received)}`);
      };
      // Refused at the second field, with the rest of the body (a file) unread.
      expect(await send([{ name: 'a', value: '1' }, { name: 'b', value: '2' }, { name: 'file', value: 'x'.repeat(4096), filename: 'a.txt' }])).toEqual([413, 'upload_too_many_fields']);
      expect(await send([{ name: 'a', value: 'next' }])).toEqual([200, 'next']);
      expect(socket.destroyed).toBe(false);
    } finally {
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('says so when a body parser read the Node request stream first, rather than finding no fields', async () => {
    const { files } = setup();
    const { Readable } = await import('node:stream');
    const stream = Readable.from([Buffer.from('text=hello')]) as unknown as NodeReadableRequest;
    Object.assign(stream, { headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '10' } });
    for await (const _chunk of stream as unknown as AsyncIterable<unknown>) {
      // What express.urlencoded() does before the route runs.
    }
    await expect(files.receive(stream)).rejects.toThrow(/already read .*express\.urlencoded/);
    const unread = Readable.from([Buffer.from('text=hello')]) as unknown as NodeReadableRequest;
    Object.assign(unread, { headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '10' } });
    expect((await files.receive(unread)).fields.get('text')).toBe('hello');
  });

  it('skips a file input left empty, and refuses an empty file', async () => {
    const { files, storage } = setup();
    const form = await files.receive(request(body([{ name: 'file', value: '', filename: '' }, { name: 'x', value: '1' }])));
    expect(form.files).toEqual([]);
    expect(storage.calls).toEqual([]);
    expect(await codeOf(files.receive(request(body([{ name: 'file', value: '', filename: 'empty.txt' }]))))).toBe('upload_file_empty');
  });

  const LIMITED: readonly [string, UploadLimits, Part[], string][] = [
    ['a file one byte over', { maxFileBytes: 9 }, [{ name: 'f', value: 'a'.repeat(10), filename: 'a.txt' }], 'upload_file_too_large'],
    ['the body over', { maxBodyBytes: 300, maxFileBytes: 200 }, [{ name: 'f', value: 'a'.repeat(200), filename: 'a.txt' }, { name: 'x', value: 'b'.repeat(100) }], 'upload_too_large'],
    ['two files', { maxFiles: 1 }, [{ name: 'f', value: 'a', filename: 'a.txt' }, { name: 'g', value: 'b', filename: 'b.txt' }], 'upload_too_many_files'],
    ['three fields', { maxFields: 2 }, [{ name: 'a', value: '' }, { name: 'b', value: '' }, { name: 'c', value: '' }], 'upload_too_many_fields'],
    ['a field one byte over', { maxFieldBytes: 4 }, [{ name: 'a', value: '12345' }], 'upload_field_too_large'],
    ['a long field name', { maxFieldNameBytes: 8 }, [{ name: 'ééééé', value: '' }], 'upload_field_name_too_long'],
    ['too many parts', { maxParts: 2 }, [{ name: 'a', value: '' }, { name: 'b', value: '' }, { name: 'c', value: '' }], 'upload_too_many_parts'],
    ['a long header block', { maxHeaderBytes: 64 }, [{ name: 'a'.repeat(80), value: '' }], 'upload_part_headers_too_large'],
  ];

  it.each(LIMITED)('refuses %s, and stores nothing', async (_label, limits, parts, code) => {
    const { files, storage } = setup({ limits });
    expect(await codeOf(files.receive(request(body(parts))))).toBe(code);
    expect(storage.live.size).toBe(0);
  });

  it('accepts exactly the limits', async () => {
    const { files } = setup({ limits: { maxFileBytes: 10, maxFieldBytes: 5, maxFields: 2, maxFiles: 2 } });
    const form = await files.receive(
      request(
        body([
          { name: 'a', value: '12345' },
          { name: 'b', value: '' },
          { name: 'f', value: 'a'.repeat(10), filename: 'a.txt' },
          { name: 'g', value: 'b'.repeat(10), filename: 'b.txt' },
        ]),
      ),
    );
    expect(form.files.map((file) => file.size)).toEqual([10, 10]);
  });

  it('removes the files already complete when a later part fails', async () => {
    const { files, storage } = setup({ limits: { maxFiles: 2, maxFieldBytes: 3 } });
    const parts = [{ name: 'f', value: PNG, filename: 'a.png' }, { name: 'g', value: 'text', filename: 'b.txt' }, { name: 'late', value: 'toolong' }];
    expect(await codeOf(files.receive(request(body(parts))))).toBe('upload_field_too_large');
    expect(storage.live.size).toBe(0);
    expect(storage.calls.filter((call) => call.startsWith('abort'))).toHaveLength(2);
  });

  it('refuses a type outside the allowlist whatever the client claims, early and without a trace', async () => {
    const { files, storage } = setup({ allowedTypes: ['image/png'] });
    const html = '<!doctype html><script>alert(1)</script>';
    expect(await codeOf(files.receive(request(body([{ name: 'f', value: html, filename: 'x.png', type: 'image/png' }]))))).toBe('upload_type_not_allowed');
    const polyglot = new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, ...encoder.encode('<script>')]);
    expect(await codeOf(files.receive(request(body([{ name: 'f', value: polyglot, filename: 'x.png' }]))))).toBe('upload_type_not_allowed');
    expect(storage.live.size).toBe(0);
    const { files: textOnly } = setup({ allowedTypes: ['text/plain'] });
    expect(await codeOf(textOnly.receive(request(body([{ name: 'f', value: new Uint8Array([0x61, 0, 0x62]), filename: 'a.txt' }]))))).toBe('upload_type_not_allowed');
    expect(await codeOf(textOnly.receive(request(body([{ name: 'f', value: new Uint8Array([0xc0, 0xae]), filename: 'a.txt' }]))))).toBe('upload_type_not_allowed');
  });

  it('decides on a text file cut inside a UTF-8 sequence at the sniffing window', async () => {
    const { files } = setup({ allowedTypes: ['text/plain'] });
    const text = `${'a'.repeat(4095)}é${'b'.repeat(10)}`;
    expect((await files.receive(request(body([{ name: 'f', value: text, filename: 'a.txt' }])))).files[0]!.type).toBe('text/plain');
  });

  it('refuses a file in a field that does not take one', async () => {
    const { files } = setup({ fileFields: ['avatar'] });
    expect(await codeOf(files.receive(request(body([{ name: 'other', value: PNG, filename: 'a.png' }]))))).toBe('upload_unexpected_file');
  });

  it('refuses the wrong media type, a compressed body and bad boundaries before reading', async () => {
    const { files } = setup();
    const payload = body([{ name: 'a', value: '1' }]);
    expect(await codeOf(files.receive(request(payload, { 'content-type': 'text/plain' })))).toBe('upload_media_type');
    expect(await codeOf(files.receive(request(payload, { 'content-type': 'application/json' })))).toBe('upload_media_type');
    expect(await codeOf(files.receive(request(payload, { 'content-type': `multipart/mixed; boundary=${BOUNDARY}` })))).toBe('upload_media_type');
    expect(await codeOf(files.receive(request(payload, { 'content-encoding': 'gzip' })))).toBe('upload_media_type');
    expect(await codeOf(files.receive(request(payload, { 'content-type': 'multipart/form-data' })))).toBe('upload_boundary_invalid');
    expect(await codeOf(files.receive(request(payload, { 'content-type': 'multipart/form-data; boundary=' })))).toBe('upload_boundary_invalid');
    expect(await codeOf(files.receive(request(payload, { 'content-type': `multipart/form-data; boundary=${'a'.repeat(71)}` })))).toBe('upload_boundary_invalid');
    expect(await codeOf(files.receive(request(payload, { 'content-type': `Multipart/Form-Data; BOUNDARY="${BOUNDARY}"` })))).toBe('ok');
  });

  describe('an application/x-www-form-urlencoded body (what a form without files sends)', () => {
    const URLENCODED = { 'content-type': 'application/x-www-form-urlencoded' };
    const encode = (text: string) => new TextEncoder().encode(text);

    it('reads its fields, in order, the CSRF token left out, and stores nothing', async () => {
      const { files, storage } = setup();
      const form = await files.receive(request(encode('csrf_token=t&user=al%C3%AFce&note=a+b%26c&user=2&empty='), URLENCODED));
      expect([...form.fields]).toEqual([
        ['user', 'alïce'],
        ['note', 'a b&c'],
        ['user', '2'],
        ['empty', ''],
      ]);
      expect(form.files).toEqual([]);
      expect(form.file('user')).toBeUndefined();
      expect(storage.calls).toEqual([]);
    });

    it('reads an empty body, a charset parameter and a body in many chunks', async () => {
      const { files } = setup();
      expect([...(await files.receive(request(new Uint8Array(0), URLENCODED))).fields]).toEqual([]);
      const withCharset = await files.receive(request(encode('a=%E2%82%AC'), { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' }));
      expect(withCharset.fields.get('a')).toBe('€');
      const bytes = encode(`text=${'x'.repeat(5000)}&b=1`);
      const chunked = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < bytes.length; at += 7) controller.enqueue(bytes.slice(at, at + 7));
          controller.close();
        },
      });
      const form = await files.receive(request(chunked, URLENCODED));
      expect(form.fields.get('text')).toHaveLength(5000);
      expect(form.fields.get('b')).toBe('1');
    });

    it('holds it to the limits multipart fields have, each refusal its own code', async () => {
      const { files } = setup({ limits: { maxBodyBytes: 200, maxFields: 3, maxFieldBytes: 10, maxFieldNameBytes: 10 } });
      const cases: [string, string][] = [
        ['a=1&b=2&c=3', 'ok'],
        // Exactly at each limit is accepted; the token counts as a field.
        [`n234567890=${'v'.repeat(10)}`, 'ok'],
        ['a=1&b=2&c=3&d=4', 'upload_too_many_fields'],
        ['csrf_token=t&a=1&b=2&c=3', 'upload_too_many_fields'],
        [`a=${'v'.repeat(11)}`, 'upload_field_too_large'],
        // Counted in UTF-8 bytes after decoding: 4 × 3 bytes.
        ['a=%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC', 'upload_field_too_large'],
        ['n2345678901=1', 'upload_field_name_too_long'],
        [`a=${'v'.repeat(200)}`, 'upload_too_large'],
      ];
      for (const [payload, code] of cases) expect([payload, await codeOf(files.receive(request(encode(payload), URLENCODED)))]).toEqual([payload, code]);
    });

    it('counts fields before parsing them (empty pieces are not fields)', async () => {
      const { files } = setup({ limits: { maxFields: 3 } });
      expect(await codeOf(files.receive(request(encode('a=1&&&b=2&&c=3&'), URLENCODED)))).toBe('ok');
      expect(await codeOf(files.receive(request(encode('a&'.repeat(1_000_000)), URLENCODED)))).toBe('upload_too_many_fields');
    });

    it('refuses a body over the limit whatever its Content-Length says, and a compressed one', async () => {
      const { files } = setup({ limits: { maxBodyBytes: 100 } });
      expect(await codeOf(files.receive(request(encode('a=1'), { ...URLENCODED, 'content-length': '101' })))).toBe('upload_too_large');
      const endless = new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(encode('a=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'));
        },
      });
      expect(await codeOf(files.receive(request(endless, URLENCODED)))).toBe('upload_too_large');
      expect(await codeOf(files.receive(request(encode('a=1'), { ...URLENCODED, 'content-encoding': 'gzip' })))).toBe('upload_media_type');
    });

    it('times out a body that stops arriving', async () => {
      const { files } = setup({ limits: { idleTimeoutMs: 50 } });
      const stalled = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encode('a=1'));
        },
      });
      expect(await codeOf(files.receive(request(stalled, URLENCODED)))).toBe('upload_timeout');
    });
  });

  it('refuses a declared length over the limit without reading, and counts bytes read whatever the header says', async () => {
    const { files } = setup({ limits: { maxBodyBytes: 100 } });
    // An endless body: refused on its header, then drained up to a cap (so the client can
    // read the answer) and cancelled.
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(64 * 1024));
      },
      cancel() {
        cancelled = true;
      },
    });
    expect(await codeOf(files.receive(request(stream, { 'content-length': '101' })))).toBe('upload_too_large');
    await expect.poll(() => cancelled, { timeout: 5000 }).toBe(true);
    const { files: small } = setup({ limits: { maxBodyBytes: 200, maxFileBytes: 200 } });
    const endless = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\n`));
      },
      pull(controller) {
        controller.enqueue(encoder.encode('a'.repeat(64)));
      },
    });
    expect(await codeOf(small.receive(request(endless, { 'content-length': '10' })))).toBe('upload_too_large');
  });

  it('fails a stalled upload with upload_timeout and removes its file', async () => {
    const { files, storage } = setup({ limits: { idleTimeoutMs: 50 } });
    let cancelled = false;
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nsome text`));
      },
      cancel() {
        cancelled = true;
      },
    });
    expect(await codeOf(files.receive(request(stalled)))).toBe('upload_timeout');
    expect(storage.live.size).toBe(0);
    expect(cancelled).toBe(true);
  });

  it('counts the idle timeout from the start of each wait: a slow but steady upload completes, and times out only once it stalls', async () => {
    const { files } = setup({ limits: { idleTimeoutMs: 150 } });
    const steady = (chunks: number, stall: boolean): ReadableStream<Uint8Array> => {
      let sent = 0;
      return new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="t"\r\n\r\n`));
        },
        async pull(controller) {
          if (sent === chunks) {
            if (!stall) {
              controller.enqueue(encoder.encode(`\r\n--${BOUNDARY}--\r\n`));
              controller.close();
            }
            return; // stalled: nothing more, ever
          }
          await new Promise((resolve) => setTimeout(resolve, 25));
          sent++;
          controller.enqueue(encoder.encode('a'));
        },
      });
    };
    // 16 waits of ~25 ms: 400 ms in all, more than twice the idle timeout.
    const form = await files.receive(request(steady(16, false)));
    expect(form.fields.get('t')).toBe('a'.repeat(16));
    const started = performance.now();
    expect(await codeOf(files.receive(request(steady(8, true))))).toBe('upload_timeout');
    // ~200 ms of steady chunks, then the stall's 150 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(330);
  });

  it('fails an upload that trickles past the total timeout', async () => {
    const { files } = setup({ limits: { idleTimeoutMs: 1000, totalTimeoutMs: 120 } });
    const trickle = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\n`));
      },
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        controller.enqueue(encoder.encode('a'));
      },
    });
    expect(await codeOf(files.receive(request(trickle)))).toBe('upload_timeout');
  });

  it('turns a client that leaves into upload_truncated, and removes its file', async () => {
    const { files, storage } = setup();
    const broken = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nsome text`));
      },
      pull(controller) {
        controller.error(new Error('socket hang up'));
      },
    });
    expect(await codeOf(files.receive(request(broken)))).toBe('upload_truncated');
    expect(storage.live.size).toBe(0);
  });

  it('removes everything when storage fails, and reports a full disk as 507', async () => {
    const failing = (where: 'create' | 'write' | 'commit', code?: string): UploadStorage => {
      const inner = memoryStorage();
      const fail = (): never => {
        throw Object.assign(new Error(`${where} failed`), code ? { code } : {});
      };
      return {
        async create(id) {
          if (where === 'create') fail();
          const sink = await inner.create(id);
          return {
            write: async (bytes) => (where === 'write' ? fail() : sink.write(bytes)),
            commit: async (upload) => (where === 'commit' ? fail() : sink.commit(upload)),
            abort: () => sink.abort(),
          };
        },
        open: (id) => inner.open(id),
        remove: (id) => inner.remove(id),
      };
    };
    const payload = (): Request => request(body([{ name: 'f', value: PNG, filename: 'a.png' }]));
    for (const where of ['create', 'write', 'commit'] as const) {
      const recorded = recordingStorage(failing(where, 'ENOSPC'));
      expect(await codeOf(uploads({ storage: recorded, allowedTypes: ['image/png'] }).receive(payload()))).toBe('upload_storage_full');
      expect(recorded.live.size).toBe(0);
      await expect(uploads({ storage: failing(where), allowedTypes: ['image/png'] }).receive(payload())).rejects.toThrow(`${where} failed`);
    }
  });
});

describe('a commit that fails half-way (the file in place, then an error)', () => {
  /** A storage whose second commit puts the file in place, then fails without undoing it (a custom storage that cuts corners). */
  function halfCommitting(code: string) {
    const inner = memoryStorage();
    const created: string[] = [];
    const storage: UploadStorage = {
      async create(id) {
        created.push(id);
        const sink = await inner.create(id);
        return {
          write: (bytes) => sink.write(bytes),
          async commit(upload) {
            await sink.commit(upload);
            if (created.indexOf(id) === 0) return;
            throw Object.assign(new Error(`${code} after the file was in place`), { code });
          },
          abort: () => sink.abort(),
        };
      },
      open: (id) => inner.open(id),
      remove: (id) => inner.remove(id),
    };
    return { storage, created };
  }
  const payload = (): Request =>
    request(
      body([
        { name: 'a', value: PNG, filename: 'a.png' },
        { name: 'b', value: PNG, filename: 'b.png' },
      ]),
    );

  const CASES = [
    // Not a client's fault: the storage's own error, answered 500.
    { code: 'EIO', surfaced: { code: 'EIO', message: 'EIO after the file was in place' } },
    // A full disk keeps its 507.
    { code: 'ENOSPC', surfaced: { code: 'upload_storage_full', status: 507 } },
  ] as const;
  for (const { code, surfaced } of CASES) {
    it(`removes the file it attempted as well as the one committed before it (${code}), so none is ever served`, async () => {
      const { storage, created } = halfCommitting(code);
      const files = uploads({ storage, allowedTypes: ['image/png'], limits: { maxFiles: 2 } });
      await expect(files.receive(payload())).rejects.toMatchObject(surfaced);
      expect(created).toHaveLength(2);
      for (const id of created) expect(await codeOf(files.serve(id))).toBe('upload_not_found');
    });
  }
});

describe('memoryStorage', () => {
  it('never commits a file a write was refused for (a full store), even if the caller goes on', async () => {
    const storage = memoryStorage({ maxBytes: 10 });
    const id = 'ab'.repeat(16);
    const sink = await storage.create(id);
    await sink.write(new Uint8Array(8));
    expect(() => sink.write(new Uint8Array(8))).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    // The next write would fit, but the file already has a hole.
    expect(() => sink.write(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    await expect(sink.commit({ id, type: 'text/plain', size: 17, name: 'a.txt', field: 'f', created: 0 })).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await storage.open(id)).toBeUndefined();
    await sink.abort();
    // The space is given back: a file of the whole store now fits.
    const next = await storage.create('cd'.repeat(16));
    await next.write(new Uint8Array(10));
    await next.commit({ id: 'cd'.repeat(16), type: 'text/plain', size: 10, name: 'b.txt', field: 'f', created: 0 });
  });
});

describe('hostile file names (research/uploads.md §3.1) never reach storage', () => {
  const NAMES = [
    '../../../etc/passwd',
    '..\\..\\..\\windows\\win.ini',
    '/etc/passwd',
    'C:\\evil.exe',
    'C:evil.exe',
    '\\\\evil\\share\\x',
    '\\\\?\\C:\\x',
    '..',
    '.',
    '...',
    '....//....//x',
    '..;/',
    '%2e%2e%2f',
    '%252e%252e%252f',
    '..%2f',
    '%c0%ae%c0%ae%c0%af',
    '%uff0e%uff0e%u2215',
    '0x2e0x2e0x2f',
    '%%32%65%%32%65',
    '&#0046;&#0046;&#0047;x',
    '．．／etc／passwd',
    '\u2024\u2024/x',
    '\u2025/x',
    '..\u2215x',
    '..\u29f8x',
    'e\u0301te\u0301.txt',
    'gpj\u202e.exe',
    'zero\u200bwidth\ufeff.txt',
    'evil\u0000.jpg.php',
    'line\r\nContent-Type: text/html',
    'tab\there',
    'del\u007f',
    'CON',
    'con.txt',
    'CON .txt',
    'NUL.tar.gz',
    'nul.',
    'COM¹',
    'LPT³',
    'CONIN$',
    'subdir/NUL',
    'trailing. ',
    'file:stream:$DATA',
    '<>:"|?*',
    'PROGRA~1',
    'x.php.jpg',
    'x.jpg.php',
    '.htaccess',
    'x.',
    'x.svg',
    'x.HTML',
    `x.${'e'.repeat(300)}`,
    'a'.repeat(256),
    'é'.repeat(600),
    '\ud800lone',
  ];

  it.each(NAMES.map((name) => [JSON.stringify(name).slice(0, 40), name]))('%s', async (_label, name) => {
    const storage = recordingStorage();
    const files = uploads({ storage, allowedTypes: ['text/plain'] });
    // As `filename` (quotes and line breaks encoded the way browsers do), and as `filename*`.
    const quoted = name.replaceAll('"', '%22').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
    for (const part of [{ filename: quoted }, { filenameStar: name }, { filename: 'decoy.txt', filenameStar: name }]) {
      storage.calls.length = 0;
      const form = await files.receive(request(body([{ name: 'f', value: 'content', ...part }])));
      const stored = form.files[0]!;
      expect(stored.id).toMatch(/^[0-9a-f]{32}$/);
      expect(storage.calls).toEqual([`create ${stored.id}`, `commit ${stored.id}`]);
      const shown = stored.name;
      // eslint-disable-next-line no-control-regex -- control characters are what is checked
      expect(shown).not.toMatch(/[/\\\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff]/);
      expect(shown).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
      expect(encoder.encode(shown).length).toBeLessThanOrEqual(255);
      expect(shown.length).toBeGreaterThan(0);
    }
  });

  it('refuses a 1 MiB name with the header cap', async () => {
    const files = uploads({ storage: memoryStorage(), allowedTypes: ['text/plain'] });
    expect(await codeOf(files.receive(request(body([{ name: 'f', value: 'x', filename: 'a'.repeat(1024 * 1024) }]))))).toBe('upload_part_headers_too_large');
  });

  it('shows what a person would recognise', () => {
    expect(displayName('../../etc/passwd', 255)).toBe('passwd');
    expect(displayName('C:\\Users\\me\\photo.jpg', 255)).toBe('photo.jpg');
    expect(displayName('e\u0301te\u0301.txt', 255)).toBe('été.txt');
    expect(displayName('gpj\u202e.exe', 255)).toBe('gpj.exe');
    expect(displayName('..', 255)).toBe('file');
    expect(displayName('', 255)).toBe('file');
    expect(displayName('€'.repeat(100), 10)).toBe('€€€');
  });
});

describe('uploads().serve', () => {
  async function stored(value: string | Uint8Array, filename: string, allowedTypes: UploadsOptions['allowedTypes'] = ['image/png', 'text/plain']) {
    const files = uploads({ storage: memoryStorage(), allowedTypes });
    const form = await files.receive(request(body([{ name: 'f', value, filename }])));
    return { files, upload: form.files[0]! };
  }

  it('serves text (HTML included) as a sandboxed download of its stored type', async () => {
    const { files, upload } = await stored('<script>alert(1)</script>', 'page.html');
    const response = await files.serve(upload.id);
    expect(Object.fromEntries(response.headers)).toEqual({
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(upload.size),
      'content-disposition': `attachment; filename="page.html.txt"; filename*=UTF-8''page.html.txt`,
      'content-security-policy': "default-src 'none'; sandbox",
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin',
      'cache-control': 'private, no-cache',
      etag: `"${upload.id}"`,
    });
    expect(await response.text()).toBe('<script>alert(1)</script>');
  });

  it('shows allowlisted images inline unless asked for a download', async () => {
    const { files, upload } = await stored(PNG, 'été %22photo%22.png');
    const inline = await files.serve(upload.id);
    expect(inline.headers.get('content-type')).toBe('image/png');
    expect(upload.name).toBe('été "photo".png');
    expect(inline.headers.get('content-disposition')).toBe(`inline; filename="_t_ _photo_.png"; filename*=UTF-8''%C3%A9t%C3%A9%20%22photo%22.png`);
    expect((await files.serve(upload.id, undefined, { download: true })).headers.get('content-disposition')).toMatch(/^attachment;/);
  });

  it('answers HEAD and a matching If-None-Match without a body', async () => {
    const { files, upload } = await stored(PNG, 'a.png');
    const head = await files.serve(upload.id, { method: 'HEAD', headers: {} });
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
    const cached = await files.serve(upload.id, new Request('https://app.test/', { headers: { 'if-none-match': `W/"x", "${upload.id}"` } }));
    expect(cached.status).toBe(304);
  });

  it('answers any method but GET and HEAD with 405 and Allow, as staticFiles does, whatever the id', async () => {
    const { files, upload } = await stored(PNG, 'a.png');
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'post', 'PROPFIND', 'GETX', ' GET', '']) {
      for (const id of [upload.id, '0'.repeat(32), '../../etc/passwd']) {
        const response = await files.serve(id, { method, headers: {} });
        expect([method, response.status, response.headers.get('allow'), response.headers.get('cache-control'), response.body]).toEqual([method, 405, 'GET, HEAD', 'no-store', null]);
      }
    }
    for (const method of ['GET', 'get', 'HEAD', 'head']) expect((await files.serve(upload.id, { method, headers: {} })).status).toBe(200);
    expect((await files.serve(upload.id, new Request('https://app.test/', { method: 'POST', body: 'x' }))).status).toBe(405);
  });

  it('says upload_not_found for unknown and malformed ids, and removes', async () => {
    const { files, upload } = await stored(PNG, 'a.png');
    for (const id of ['0'.repeat(32), '../../etc/passwd', upload.id.toUpperCase(), `${upload.id}/`, '', `${upload.id}\u0000`]) {
      expect(await codeOf(files.serve(id))).toBe('upload_not_found');
    }
    expect(await files.remove(upload.id)).toBe(true);
    expect(await files.remove(upload.id)).toBe(false);
    expect(await codeOf(files.serve(upload.id))).toBe('upload_not_found');
  });
});

describe('uploads() options', () => {
  it('refuses setup mistakes with a message that says the fix', () => {
    const storage = memoryStorage();
    expect(() => uploads({ storage, allowedTypes: [] })).toThrow(/allowedTypes: list the types/);
    expect(() => uploads({ storage, allowedTypes: ['image/svg+xml' as 'image/png'] })).toThrow(/"image\/svg\+xml" is not a type rampart recognises/);
    expect(() => uploads({ storage: {} as UploadStorage, allowedTypes: ['image/png'] })).toThrow(/storage: expected a storage/);
    expect(() => uploads({ storage, allowedTypes: ['image/png'], limits: { maxFileSize: 1 } as UploadLimits })).toThrow(/did you mean limits.maxFileBytes/);
    expect(() => uploads({ storage, allowedTypes: ['image/png'], limits: { maxFiles: Infinity } })).toThrow(/limits.maxFiles: expected a whole number/);
    expect(() => uploads({ storage, allowedTypes: ['image/png'], limits: { maxFileBytes: 20, maxBodyBytes: 10 } })).toThrow(/raise maxBodyBytes/);
    // A timer of more than 2^31 - 1 ms would fire at once.
    expect(() => uploads({ storage, allowedTypes: ['image/png'], limits: { idleTimeoutMs: 2 ** 31 } })).toThrow(/limits.idleTimeoutMs: at most 2147483647 ms/);
    expect(() => uploads({ storage, allowedTypes: ['image/png'], limits: { totalTimeoutMs: 2 ** 31 - 1 } })).not.toThrow();
  });

  it('derives route rules with withOptions', async () => {
    const { files } = setup();
    const strict = files.withOptions({ allowedTypes: ['image/png'], limits: { maxFileBytes: 4 } });
    expect(await codeOf(strict.receive(request(body([{ name: 'f', value: PNG, filename: 'a.png' }]))))).toBe('upload_file_too_large');
    expect(await codeOf(files.receive(request(body([{ name: 'f', value: PNG, filename: 'a.png' }]))))).toBe('ok');
  });
});
