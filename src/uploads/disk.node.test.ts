import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { readlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RampartError } from '../errors.ts';
import { diskStorage } from './disk.node.ts';
import { uploads, type Uploads } from './uploads.ts';

const BOUNDARY = 'rampartDiskTestBoundary';
const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const directories: string[] = [];

function temporaryDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'rampart-disk-test-'));
  directories.push(directory);
  return directory;
}

afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

/** Every file under `root`, relative, sorted. */
function filesUnder(root: string): string[] {
  const found: string[] = [];
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else found.push(relative(root, path));
    }
  };
  walk(root);
  return found.sort();
}

function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

function multipart(content: Buffer, filename = 'photo.png', fields: Record<string, string> = {}): Buffer {
  const head = Object.entries(fields)
    .map(([name, value]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
    .join('');
  return Buffer.concat([
    Buffer.from(`${head}--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    content,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

function webRequest(body: Buffer): Request {
  return new Request('https://app.test/upload', { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, body: new Uint8Array(body) });
}

describe('diskStorage', () => {
  it('stores a committed file 0600 under <id[0..1]>/<id>, with its metadata, and nothing else', async () => {
    const root = temporaryDirectory();
    const files = uploads({ storage: diskStorage({ directory: root }), allowedTypes: ['image/png'] });
    const content = Buffer.concat([PNG_HEAD, randomBytes(100_000)]);
    const { files: [stored] } = await files.receive(webRequest(multipart(content, '../../../etc/passwd')));
    const id = stored!.id;
    const shard = id.slice(0, 2);
    expect(filesUnder(root).filter((path) => !path.startsWith('incoming/'))).toEqual([`${shard}/${id}`, `${shard}/${id}.json`]);
    expect(filesUnder(join(root, 'incoming'))).toEqual([]);
    expect(readFileSync(join(root, shard, id))).toEqual(content);
    expect(statSync(join(root, shard, id)).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, shard, `${id}.json`)).mode & 0o777).toBe(0o600);
    expect(statSync(root).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(join(root, shard, `${id}.json`), 'utf8'))).toMatchObject({ id, type: 'image/png', size: content.length, name: 'passwd', field: 'file' });
    const served = await files.serve(id);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(content);
    expect(await files.remove(id)).toBe(true);
    expect(filesUnder(root).filter((path) => !path.startsWith('incoming/'))).toEqual([]);
  });

  it('never follows or replaces a link planted where a file would be created or read', async () => {
    const root = temporaryDirectory();
    const storage = diskStorage({ directory: root });
    const victim = join(temporaryDirectory(), 'victim');
    writeFileSync(victim, 'untouched');
    const [folder] = readdirSync(join(root, 'incoming'));
    const id = 'ab'.repeat(16);
    symlinkSync(victim, join(root, 'incoming', folder!, id));
    await expect(Promise.resolve(storage.create(id))).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    // A committed upload whose data was swapped for a link is not found, not followed.
    const other = 'cd'.repeat(16);
    mkdirSync(join(root, 'cd'), { recursive: true });
    writeFileSync(join(root, 'cd', `${other}.json`), JSON.stringify({ id: other, type: 'text/plain', size: 9, name: 'x', field: 'f', created: 0 }));
    symlinkSync(victim, join(root, 'cd', other));
    expect(await storage.open(other)).toBeUndefined();
  });

  it('refuses ids that are not 32 hex digits', async () => {
    const storage = diskStorage({ directory: temporaryDirectory() });
    for (const id of ['../x', 'AB'.repeat(16), 'ab'.repeat(15), `${'ab'.repeat(16)}/`, '']) {
      await expect(Promise.resolve().then(() => storage.create(id))).rejects.toThrow(TypeError);
      expect(await storage.open(id)).toBeUndefined();
      expect(await storage.remove(id)).toBe(false);
    }
  });

  it('refuses to commit a file under an id other than the one it was created for', async () => {
    const root = temporaryDirectory();
    const storage = diskStorage({ directory: root });
    const id = 'ab'.repeat(16);
    const sink = await storage.create(id);
    await sink.write(PNG_HEAD);
    for (const other of ['cd'.repeat(16), '../../outside', '']) {
      await expect(sink.commit({ id: other, type: 'image/png', size: PNG_HEAD.length, name: 'a.png', field: 'file', created: 0 })).rejects.toThrow(/is not the id this file was created for/);
    }
    expect(filesUnder(root).filter((path) => !path.startsWith('incoming/'))).toEqual([]);
    await sink.abort();
    expect(filesUnder(root)).toEqual([]);
  });

  it('refuses a directory other users can write, and a path that is not a directory', () => {
    const open = temporaryDirectory();
    chmodSync(open, 0o777);
    expect(() => diskStorage({ directory: open })).toThrow(/writable by other users/);
    chmodSync(open, 0o770);
    expect(() => diskStorage({ directory: open })).toThrow(/writable by other users/);
    const file = join(temporaryDirectory(), 'file');
    writeFileSync(file, '');
    expect(() => diskStorage({ directory: file })).toThrow();
    expect(() => diskStorage({ directory: '' })).toThrow(/directory: expected the path/);
  });

  it('sweeps what crashed processes left at start, and only that', () => {
    const root = temporaryDirectory();
    diskStorage({ directory: root });
    const incoming = join(root, 'incoming');
    const host = hostname();
    const namespace = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? 'none';
    const plant = (folder: string, name: string, ageMs = 0): string => {
      mkdirSync(join(incoming, folder), { recursive: true });
      const path = join(incoming, folder, name);
      writeFileSync(path, 'partial');
      if (ageMs > 0) utimesSync(path, new Date(Date.now() - ageMs), new Date(Date.now() - ageMs));
      return path;
    };
    // A process of this host that is gone (pid far above any live one), this pid from an earlier start (pid reuse).
    const dead = plant(`${host}.${namespace}.4194303.1000`, 'a');
    const reused = plant(`${host}.${namespace}.${process.pid}.1000`, 'b');
    // Another host sharing the directory: a fresh file stays, an old one goes.
    const fresh = plant('other-host.example.4026531836.12.1000', 'c');
    const stale = plant('other-host.example.4026531836.12.1000', 'd', 2 * 60 * 60 * 1000);
    // A live process of this host (the test runner's parent).
    const live = plant(`${host}.${namespace}.${process.ppid}.1000`, 'e');
    // Another PID namespace of this host (another container sharing the volume): its pid 1 is not ours.
    const container = plant(`${host}.1234.${process.pid}.1000`, 'f');
    // A link planted in incoming/ is removed, not followed.
    const outside = join(temporaryDirectory(), 'keep');
    writeFileSync(outside, 'precious');
    utimesSync(outside, new Date(0), new Date(0));
    symlinkSync(join(outside, '..'), join(incoming, 'link'));
    diskStorage({ directory: root });
    expect([dead, reused, fresh, stale, live, container].map((path) => existsSync(path))).toEqual([false, false, true, false, true, true]);
    expect(readFileSync(outside, 'utf8')).toBe('precious');
    expect(existsSync(join(incoming, 'link'))).toBe(false);
  });
});

describe('a commit that fails, wherever it fails, leaves nothing (and says why)', () => {
  const failingDisk = (): Error => Object.assign(new Error('EIO: i/o error (simulated)'), { code: 'EIO' });
  /** FileHandle's prototype: one of its calls is made to fail, as a failing disk would. */
  let fileHandle: FileHandle;

  beforeAll(async () => {
    const handle = await open(join(temporaryDirectory(), 'probe'), 'w');
    fileHandle = Object.getPrototypeOf(handle) as FileHandle;
    await handle.close();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Puts something in the way of the commit of `id` under `root`; returns the files it planted (relative), which must survive. */
  const plantFolder = (root: string, name: string): string[] => {
    mkdirSync(join(root, name.slice(0, 2), name), { recursive: true });
    writeFileSync(join(root, name.slice(0, 2), name, 'keep'), 'not the upload');
    return [`${name.slice(0, 2)}/${name}/keep`];
  };
  /** Removes the planted folders, so that what `open` finds is what the commit left. */
  const clear = (root: string, planted: readonly string[]): void => {
    for (const path of planted) rmSync(dirname(join(root, path)), { recursive: true });
  };
  const FAILURES: readonly { when: string; code: string; plant: (root: string, id: string) => string[] }[] = [
    { when: 'its metadata cannot be moved in place (a folder is where it goes)', code: 'EISDIR', plant: (root, id) => plantFolder(root, `${id}.json`) },
    { when: 'the file cannot be moved in place (a folder is where it goes)', code: 'EISDIR', plant: (root, id) => plantFolder(root, id) },
    {
      when: 'the folders cannot be synced after both renames',
      code: 'EIO',
      plant: () => {
        vi.spyOn(fileHandle, 'sync').mockRejectedValueOnce(failingDisk());
        return [];
      },
    },
    {
      when: 'a write failed before (the file has a hole), even if the caller went on',
      code: 'EIO',
      plant: () => {
        vi.spyOn(fileHandle, 'write').mockRejectedValueOnce(failingDisk());
        return [];
      },
    },
  ];
  const content = Buffer.concat([PNG_HEAD, randomBytes(1000)]);

  for (const failure of FAILURES) {
    it(`when ${failure.when}: called directly, the sink undoes itself`, async () => {
      const root = temporaryDirectory();
      const storage = diskStorage({ directory: root });
      const id = randomBytes(16).toString('hex');
      const planted = failure.plant(root, id);
      const sink = await storage.create(id);
      // A careless caller that goes on after a failed write.
      await Promise.resolve(sink.write(content)).catch(() => {});
      await Promise.resolve(sink.write(content)).catch(() => {});
      const upload = { id, type: 'image/png', size: 2 * content.length, name: 'a.png', field: 'file', created: 0 } as const;
      await expect(sink.commit(upload)).rejects.toMatchObject({ code: failure.code });
      // Before any abort: nothing of the file, in incoming/ or under its id; what was planted is not ours to remove.
      expect(filesUnder(root)).toEqual(planted);
      await sink.abort();
      expect(filesUnder(root)).toEqual(planted);
      clear(root, planted);
      expect(await storage.open(id)).toBeUndefined();
    });

    it(`when ${failure.when}: receive() fails with the storage's error (a 500), and serve() finds nothing`, async () => {
      const root = temporaryDirectory();
      const storage = diskStorage({ directory: root });
      let planted: string[] = [];
      let id = '';
      const files = uploads({
        storage: {
          ...storage,
          create(created) {
            id = created;
            planted = failure.plant(root, created);
            return storage.create(created);
          },
        },
        allowedTypes: ['image/png'],
      });
      const failed = await files.receive(webRequest(multipart(content))).then(
        () => 'stored',
        (error: unknown) => error,
      );
      expect(failed).toMatchObject({ code: failure.code });
      expect(failed).not.toBeInstanceOf(RampartError);
      expect(filesUnder(root)).toEqual(planted);
      clear(root, planted);
      await expect(files.serve(id)).rejects.toMatchObject({ code: 'upload_not_found' });
    });
  }
});

describe('uploads over node:http, on disk', () => {
  let server: Server;
  let port: number;
  let root: string;
  let files: Uploads;
  const outcomes: string[] = [];

  beforeAll(async () => {
    root = temporaryDirectory();
    files = uploads({ storage: diskStorage({ directory: root }), allowedTypes: ['image/png', 'text/plain'], limits: { maxFileBytes: 8 * 1024 * 1024, maxBodyBytes: 16 * 1024 * 1024 } });
    server = createServer((request, response) => {
      files.receive(request).then(
        (form) => {
          outcomes.push('stored');
          response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(form.files));
        },
        (error: unknown) => {
          const code = error instanceof RampartError ? error.code : 'crash';
          outcomes.push(code);
          if (!response.headersSent && !response.destroyed) response.writeHead(error instanceof RampartError ? error.status : 500).end(code);
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  afterEach(() => {
    outcomes.length = 0;
  });

  /** Sends `bytes` as the start of a request declaring `total` bytes, then cuts the connection. */
  function sendAndCut(bytes: Buffer, total: number): Promise<void> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${total}\r\n\r\n`);
        socket.write(bytes, () => setTimeout(() => socket.destroy(), 20));
      });
      socket.on('close', () => resolve());
      socket.on('error', () => {});
    });
  }

  function post(body: Buffer): Promise<{ status: number; text: string }> {
    return fetch(`http://127.0.0.1:${port}/upload`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, body: new Uint8Array(body) }).then(
      async (response) => ({ status: response.status, text: await response.text() }),
    );
  }

  async function settled(count: number): Promise<void> {
    await expect.poll(() => outcomes.length, { timeout: 5000 }).toBeGreaterThanOrEqual(count);
  }

  it('streams a 6 MiB file to disk intact', async () => {
    const content = Buffer.concat([PNG_HEAD, randomBytes(6 * 1024 * 1024)]);
    const { status, text } = await post(multipart(content));
    expect(status).toBe(201);
    const [stored] = JSON.parse(text) as { id: string }[];
    const onDisk = readFileSync(join(root, stored!.id.slice(0, 2), stored!.id));
    expect(createHash('sha256').update(onDisk).digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
  });

  it('leaves no file and no open descriptor when the client leaves, at every stage of the body', async () => {
    const content = Buffer.concat([PNG_HEAD, randomBytes(256 * 1024)]);
    const body = multipart(content, 'a.png', { csrf_token: 'x', note: 'hello' });
    const fileStart = body.indexOf('\r\n\r\n', body.indexOf('filename=')) + 4;
    const cuts = [
      ['before the first delimiter', 0],
      ['inside the first delimiter', 5],
      ['inside the headers of a field', 40],
      ['inside a field', body.indexOf('hello') + 2],
      ['inside the headers of the file', body.indexOf('filename=') + 3],
      ['right after the file headers', fileStart],
      ['inside the sniffing window', fileStart + 100],
      ['mid-file', fileStart + 128 * 1024],
      ['inside the last delimiter', body.length - 10],
      ['just before the closing --', body.length - 4],
    ] as const;
    const descriptors = openDescriptors();
    for (const [, cut] of cuts) await sendAndCut(body.subarray(0, cut), body.length);
    await settled(cuts.length);
    expect(outcomes).toEqual(cuts.map(() => 'upload_truncated'));
    await expect.poll(() => filesUnder(join(root, 'incoming')), { timeout: 5000 }).toEqual([]);
    await expect.poll(openDescriptors, { timeout: 5000 }).toBeLessThanOrEqual(descriptors);
    expect((await post(multipart(Buffer.from('still serving'), 'a.txt'))).status).toBe(201);
  });

  it('answers a refused upload while the client is still sending, and cleans up', async () => {
    const descriptors = openDescriptors();
    const body = multipart(Buffer.alloc(9 * 1024 * 1024, 0x61), 'big.txt');
    const { status, text } = await post(body);
    expect([status, text]).toEqual([413, 'upload_file_too_large']);
    await expect.poll(() => filesUnder(join(root, 'incoming')), { timeout: 5000 }).toEqual([]);
    await expect.poll(openDescriptors, { timeout: 5000 }).toBeLessThanOrEqual(descriptors);
  });

  it('takes 50 uploads at once and closes every file', async () => {
    const descriptors = openDescriptors();
    const results = await Promise.all(Array.from({ length: 50 }, (_, index) => post(multipart(Buffer.from(`file number ${index}`), `${index}.txt`))));
    expect(results.every((result) => result.status === 201)).toBe(true);
    expect(new Set(results.map((result) => (JSON.parse(result.text) as { id: string }[])[0]!.id)).size).toBe(50);
    await expect.poll(openDescriptors, { timeout: 5000 }).toBeLessThanOrEqual(descriptors + 5);
    expect(filesUnder(join(root, 'incoming'))).toEqual([]);
    expect(lstatSync(root).isDirectory()).toBe(true);
  });
});
