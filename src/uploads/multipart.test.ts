import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RampartError } from '../errors.ts';
import { portableIndexOf } from '../_internal/search.ts';
import { MultipartParser, type MultipartParserLimits, type PartInfo } from './multipart.ts';

const encoder = new TextEncoder();
const BOUNDARY = '----WebKitFormBoundaryA1b2C3d4E5f6G7h8';

interface ParsedPart extends PartInfo {
  content: string;
}

/** Parses `body` fed in chunks of the given sizes (cycled), returning the parts with latin1 content. */
function parse(body: Uint8Array | string, options: { boundary?: string; chunks?: readonly number[]; limits?: MultipartParserLimits } = {}): ParsedPart[] {
  const bytes = typeof body === 'string' ? latin1Bytes(body) : body;
  const parts: ParsedPart[] = [];
  let current: ParsedPart | undefined;
  let open = false;
  const parser = new MultipartParser(
    options.boundary ?? BOUNDARY,
    {
      onPart(part) {
        expect(open).toBe(false);
        open = true;
        current = { ...part, content: '' };
        parts.push(current);
      },
      onData(data) {
        expect(open).toBe(true);
        expect(data.length).toBeGreaterThan(0);
        current!.content += String.fromCharCode(...data);
      },
      onPartEnd() {
        expect(open).toBe(true);
        open = false;
      },
    },
    options.limits,
  );
  const sizes = options.chunks ?? [bytes.length || 1];
  let position = 0;
  for (let index = 0; position < bytes.length; index++) {
    const size = Math.max(1, sizes[index % sizes.length]!);
    // A fresh copy each time: the parser must not depend on the caller's buffers.
    parser.write(bytes.slice(position, position + size));
    position += size;
  }
  parser.end();
  expect(open).toBe(false);
  return parts;
}

function latin1Bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (character) => character.charCodeAt(0));
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof RampartError) return error.code;
    throw error;
  }
  return 'ok';
}

/** A body as browsers write it. */
function form(parts: readonly { name: string; filename?: string | undefined; type?: string; content: string }[], boundary = BOUNDARY): string {
  let body = '';
  for (const part of parts) {
    body += `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) body += `; filename="${part.filename}"`;
    body += '\r\n';
    if (part.type !== undefined) body += `Content-Type: ${part.type}\r\n`;
    body += `\r\n${part.content}\r\n`;
  }
  return `${body}--${boundary}--\r\n`;
}

const SAMPLE = form([
  { name: 'csrf_token', content: 'token-value' },
  { name: 'title', content: 'Hello\r\nworld' },
  { name: 'file', filename: 'photo.png', type: 'image/png', content: `\x89PNG\r\n\x1a\n--${BOUNDARY.slice(0, 10)}\r\n-${BOUNDARY}\n--${BOUNDARY}x` },
  { name: 'empty', content: '' },
]);

describe('MultipartParser', () => {
  it('reads fields and files as browsers send them', () => {
    expect(parse(SAMPLE)).toEqual([
      { name: 'csrf_token', filename: undefined, contentType: undefined, content: 'token-value' },
      { name: 'title', filename: undefined, contentType: undefined, content: 'Hello\r\nworld' },
      { name: 'file', filename: 'photo.png', contentType: 'image/png', content: `\x89PNG\r\n\x1a\n--${BOUNDARY.slice(0, 10)}\r\n-${BOUNDARY}\n--${BOUNDARY}x` },
      { name: 'empty', filename: undefined, contentType: undefined, content: '' },
    ]);
  });

  it('gives the same parts however the body is cut into chunks', () => {
    const whole = parse(SAMPLE);
    for (let size = 1; size <= SAMPLE.length; size++) expect(parse(SAMPLE, { chunks: [size] })).toEqual(whole);
    for (let cut = 1; cut < SAMPLE.length; cut++) expect(parse(SAMPLE, { chunks: [cut, SAMPLE.length] })).toEqual(whole);
  });

  it('finds content that merely resembles the delimiter to be content (undici rejects these)', () => {
    const tricky = [`before--${BOUNDARY}after`, `\r\n--${BOUNDARY.slice(0, -1)}`, `--${BOUNDARY}--`, '\r', '\r\n-', `x\r\n--${BOUNDARY}`.slice(0, -1)];
    for (const content of tricky) {
      const body = form([{ name: 'f', filename: 'a.bin', content }]);
      for (const size of [1, 2, 3, 7, 41, 64, body.length]) expect(parse(body, { chunks: [size] })[0]!.content).toBe(content);
    }
  });

  it('accepts a quoted boundary alphabet, a preamble and an epilogue', () => {
    const boundary = "a'()+_,-./:=? z";
    expect(parse(form([{ name: 'x', content: '1' }], boundary), { boundary })[0]!.content).toBe('1');
    expect(parse(`This is a preamble.\r\n${SAMPLE}`)).toHaveLength(4);
    expect(parse(`${SAMPLE}epilogue\r\n--${BOUNDARY}\r\nignored`)).toHaveLength(4);
    expect(parse(form([{ name: 'x', content: 'a'.repeat(100) }], 'a'.repeat(70)), { boundary: 'a'.repeat(70), chunks: [13] })[0]!.content).toBe('a'.repeat(100));
  });

  it('reads names and file names as UTF-8, filename* only when filename is absent, and never unescapes backslashes', () => {
    const body = latin1Bytes(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${utf8AsLatin1('名前')}"; filename="${utf8AsLatin1('..\\..\\été.txt')}"\r\n\r\nx\r\n` +
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name=plain; filename*=UTF-8''%E2%82%AC%20rates.txt\r\n\r\ny\r\n` +
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="both"; filename="a.txt"; filename*=UTF-8''b.txt\r\n\r\nz\r\n` +
        `--${BOUNDARY}--`,
    );
    expect(parse(body).map(({ name, filename }) => [name, filename])).toEqual([
      ['名前', '..\\..\\été.txt'],
      ['plain', '€ rates.txt'],
      ['both', 'a.txt'],
    ]);
  });

  it('keeps __proto__ and friends as plain strings', () => {
    const body = `--${BOUNDARY}\r\n__proto__: x\r\nconstructor: y\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\nv\r\n--${BOUNDARY}--`;
    expect(parse(body)[0]!.name).toBe('__proto__');
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  const MALFORMED: readonly (readonly [label: string, body: string, code: string])[] = (
  [
    ['empty body', ''],
    ['no delimiter at all', 'hello'],
    ['only the close delimiter', `--${BOUNDARY}--`, 'ok'],
    ['unterminated', SAMPLE.slice(0, SAMPLE.lastIndexOf('--') - 2), 'upload_truncated'],
    ['truncated inside headers', `--${BOUNDARY}\r\nContent-Disposition: form-da`, 'upload_truncated'],
    ['truncated right after a delimiter', `--${BOUNDARY}`, 'upload_malformed'],
    ['LF-only line endings', SAMPLE.replaceAll('\r\n', '\n')],
    ['transport padding after the delimiter', SAMPLE.replace(`${BOUNDARY}\r\n`, `${BOUNDARY}  \r\n`)],
    ['no Content-Disposition', `--${BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${BOUNDARY}--`],
    ['no headers at all', `--${BOUNDARY}\r\n\r\nx\r\n--${BOUNDARY}--`],
    ['two Content-Disposition headers', `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nContent-Disposition: form-data; name="b"\r\n\r\nx\r\n--${BOUNDARY}--`],
    ['a disposition other than form-data', `--${BOUNDARY}\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--${BOUNDARY}--`],
    ['no name', `--${BOUNDARY}\r\nContent-Disposition: form-data; filename="a"\r\n\r\nx\r\n--${BOUNDARY}--`],
    ['a repeated name parameter', `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"; name="b"\r\n\r\nx\r\n--${BOUNDARY}--`],
    ['garbage parameters', `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a" junk\r\n\r\nx\r\n--${BOUNDARY}--`],
    ['obsolete line folding', `--${BOUNDARY}\r\nContent-Disposition: form-data;\r\n name="a"\r\n\r\nx\r\n--${BOUNDARY}--`],
    ['a bare LF in the headers', `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\nX: y\r\n\r\nx\r\n--${BOUNDARY}--`],
    ['a header line without a colon', `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nnonsense\r\n\r\nx\r\n--${BOUNDARY}--`],
    ['a header name with a space', `--${BOUNDARY}\r\nContent Disposition: form-data; name="a"\r\n\r\nx\r\n--${BOUNDARY}--`],
    ['Content-Transfer-Encoding: base64', `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nContent-Transfer-Encoding: base64\r\n\r\neA==\r\n--${BOUNDARY}--`],
    ['a 20 KiB header', `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nX: ${'a'.repeat(20480)}\r\n\r\nx\r\n--${BOUNDARY}--`, 'upload_part_headers_too_large'],
    ['3000 header lines', `--${BOUNDARY}\r\n${'X: y\r\n'.repeat(3000)}Content-Disposition: form-data; name="a"\r\n\r\nx\r\n--${BOUNDARY}--`, 'upload_part_headers_too_large'],
    ['17 header lines', `--${BOUNDARY}\r\n${'X: y\r\n'.repeat(16)}Content-Disposition: form-data; name="a"\r\n\r\nx\r\n--${BOUNDARY}--`, 'upload_part_headers_too_large'],
    ['a 10 KiB preamble', `${'p'.repeat(10240)}\r\n${SAMPLE}`],
    ['10 000 empty parts', `${`--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\n\r\n`.repeat(10000)}--${BOUNDARY}--`, 'upload_too_many_parts'],
  ] satisfies readonly (readonly [string, string, string?])[]
).map(([label, body, code]) => [label, body, code ?? 'upload_malformed'] as const);

  it.each(MALFORMED)('refuses %s, cut anywhere', (_label, body, expected) => {
    expect(codeOf(() => parse(body))).toBe(expected);
    for (const size of [1, 5, 64]) expect(codeOf(() => parse(body, { chunks: [size] }))).toBe(expected);
  });

  it('accepts 16 header lines and a header block of exactly the limit', () => {
    const lines = `${'X: y\r\n'.repeat(15)}Content-Disposition: form-data; name="a"`;
    expect(parse(`--${BOUNDARY}\r\n${lines}\r\n\r\nx\r\n--${BOUNDARY}--`)[0]!.content).toBe('x');
    const base = 'Content-Disposition: form-data; name="a"\r\nX: ';
    const exact = base + 'a'.repeat(100 - base.length);
    expect(exact.length).toBe(100);
    const body = (block: string): string => `--${BOUNDARY}\r\n${block}\r\n\r\nx\r\n--${BOUNDARY}--`;
    for (const size of [1, 3, 1000]) {
      expect(parse(body(exact), { chunks: [size], limits: { maxHeaderBytes: 100 } })).toHaveLength(1);
      expect(codeOf(() => parse(body(`${exact}a`), { chunks: [size], limits: { maxHeaderBytes: 100 } }))).toBe('upload_part_headers_too_large');
    }
  });

  it('refuses invalid boundaries when it is built', () => {
    for (const boundary of ['', 'a'.repeat(71), 'a'.repeat(252), 'ends with space ', 'semi;colon', 'quote"', 'é', 'tab\t']) {
      expect(codeOf(() => new MultipartParser(boundary, { onPart() {}, onData() {}, onPartEnd() {} }))).toBe('upload_boundary_invalid');
    }
    expect(() => new MultipartParser('a'.repeat(70), { onPart() {}, onData() {}, onPartEnd() {} })).not.toThrow();
  });

  it('does not depend on the caller keeping its chunk: a reused Node Buffer', () => {
    const seen: string[] = [];
    const parser = new MultipartParser('XyZ', { onPart() {}, onData: (bytes) => void seen.push(Buffer.from(bytes).toString('latin1')), onPartEnd() {} });
    const body = Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="f"\r\n\r\nhello\r\n--Xyworld\r\n--XyZ--', 'latin1');
    const reused = Buffer.alloc(8);
    for (let offset = 0; offset < body.length; offset += 8) {
      reused.fill(0x21);
      const length = body.copy(reused, 0, offset, offset + 8);
      parser.write(reused.subarray(0, length));
      // The parser may hand out views of the chunk during write only: copy them now, as documented.
    }
    parser.end();
    expect(seen.join('')).toBe('hello\r\n--Xyworld');
  });

  it('a header block read before is held to each parser\'s own line limit', () => {
    const body = form([{ name: 'photo', filename: 'a.png', type: 'image/png', content: 'x' }]);
    const expected = [{ name: 'photo', filename: 'a.png', contentType: 'image/png', content: 'x' }];
    expect(parse(body)).toEqual(expected);
    expect(codeOf(() => parse(body, { limits: { maxHeaderPairs: 1 } }))).toBe('upload_part_headers_too_large');
    expect(parse(body, { limits: { maxHeaderPairs: 2 } })).toEqual(expected);
    expect(parse(body)).toEqual(expected);
  });

  it('reads the same header block alike every time, among many others, and refuses a bad one every time', () => {
    // Each body twice in a row (the second time from what was kept), and more distinct
    // blocks than are kept: some are read again after being forgotten.
    const names = Array.from({ length: 400 }, (_, index) => `field${index % 300}`);
    for (const name of names) {
      for (let time = 0; time < 2; time++) {
        expect(parse(form([{ name, content: name }]))).toEqual([{ name, filename: undefined, contentType: undefined, content: name }]);
      }
      for (let time = 0; time < 2; time++) {
        expect(parse(form([{ name, filename: `${name}.txt`, type: 'Text/Plain; charset=utf-8', content: name }]))).toEqual([
          { name, filename: `${name}.txt`, contentType: 'text/plain', content: name },
        ]);
      }
    }
    const twice = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\nContent-Disposition: form-data; name="b"\r\n\r\nx\r\n--${BOUNDARY}--`;
    for (let attempt = 0; attempt < 3; attempt++) expect(codeOf(() => parse(twice))).toBe('upload_malformed');
  });

  it('hands out part descriptions no handler can change for the next request', () => {
    const seen: PartInfo[] = [];
    for (let request = 0; request < 2; request++) {
      const parser = new MultipartParser(BOUNDARY, { onPart: (part) => void seen.push(part), onData() {}, onPartEnd() {} });
      parser.write(latin1Bytes(form([{ name: 'text', content: 'hi' }])));
      parser.end();
    }
    expect(() => ((seen[0] as { name: string }).name = 'csrf_token')).toThrow(TypeError);
    expect(seen[1]!.name).toBe('text');
  });

  it('keeps failing after a failure', () => {
    const parser = new MultipartParser(BOUNDARY, { onPart() {}, onData() {}, onPartEnd() {} });
    expect(codeOf(() => parser.write(latin1Bytes(`--${BOUNDARY}\nx`)))).toBe('upload_malformed');
    expect(codeOf(() => parser.write(latin1Bytes('x')))).toBe('upload_malformed');
    expect(codeOf(() => parser.end())).toBe('upload_malformed');
  });

  it('lets an exception of the handler through, and stops', () => {
    const parser = new MultipartParser(BOUNDARY, {
      onPart() {
        throw new RangeError('handler');
      },
      onData() {},
      onPartEnd() {},
    });
    expect(() => parser.write(latin1Bytes(SAMPLE))).toThrow(RangeError);
    expect(() => parser.write(latin1Bytes('x'))).toThrow(RampartError);
  });
});

describe('MultipartParser properties', () => {
  const alphabet = fc.constantFrom('a', '-', '\r', '\n', '\r\n', '--', `\r\n--${BOUNDARY.slice(0, 5)}`, `\r\n--${BOUNDARY.slice(0, -1)}`, '\x00', 'é');
  const content = fc.array(alphabet, { maxLength: 30 }).map((pieces) => pieces.join(''));
  const part = fc.record({
    name: fc.string({ maxLength: 8 }).filter((name) => !/["\r\n\\]/.test(name)),
    filename: fc.option(fc.string({ maxLength: 8 }).filter((name) => !/["\r\n]/.test(name)), { nil: undefined }),
    content,
  });

  it('parses any well-formed body the same way, whatever its chunking', () => {
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 90 }), { minLength: 1, maxLength: 8 }), (parts, chunks) => {
        const body = new TextEncoder().encode(form(parts));
        const parsed = parse(body, { chunks });
        expect(parsed.map((entry) => [entry.name, entry.filename, entry.content])).toEqual(
          parts.map((entry) => [entry.name, entry.filename, String.fromCharCode(...encoder.encode(entry.content))]),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('never crashes or hangs on arbitrary bytes: it parses or throws a RampartError', () => {
    const noise = fc.array(fc.oneof(alphabet, fc.constantFrom(`--${BOUNDARY}`, `--${BOUNDARY}--`, 'Content-Disposition: form-data; name="a"', ': ', '\r\n\r\n', ';', '"')), {
      maxLength: 40,
    });
    fc.assert(
      fc.property(noise, fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 4 }), (pieces, chunks) => {
        const code = codeOf(() => parse(pieces.join(''), { chunks }));
        expect(code === 'ok' || code.startsWith('upload_')).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('portable byte search', () => {
  it('agrees with the native search', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64, max: 3 }), fc.uint8Array({ minLength: 1, maxLength: 4, max: 3 }), fc.nat(70), (haystack, needle, from) => {
        const expected = Buffer.from(haystack).indexOf(Buffer.from(needle), from);
        expect(portableIndexOf(haystack, needle, from)).toBe(from > haystack.length ? -1 : expected);
      }),
      { numRuns: 3000 },
    );
  });
});

function utf8AsLatin1(text: string): string {
  return String.fromCharCode(...encoder.encode(text));
}
