/**
 * A streaming `multipart/form-data` parser (RFC 7578 over RFC 2046 framing): bytes in,
 * parts out, nothing buffered but a part's headers and the few bytes that might start a
 * delimiter at the end of a chunk.
 *
 * Strict where parsers have been exploited: the boundary is 1–70 characters of RFC 2046's
 * alphabet (longer ones drove Horspool skip tables into endless loops); lines end with
 * CRLF only; a part's header block has a byte and a line cap and is refused, never
 * truncated, beyond them; every part needs exactly one `Content-Disposition: form-data`
 * with a `name`; the body must end with the close delimiter. Content is searched for
 * the full `CRLF--boundary` delimiter with a native substring search, so an
 * attacker-chosen boundary (`aaaa…` over a body of `a`s) costs no more than any other.
 */

import { RampartError } from '../errors.ts';
import { readPartHeaders } from '../_internal/part-headers.ts';
import { indexOfBytes } from '../_internal/search.ts';

/**
 * What a part says about itself in its headers. Frozen, and shared: parts with the same
 * header block, in this body or another, may be given the same object (key a map by
 * it only within one body).
 */
export interface PartInfo {
  /** The form field's name (`Content-Disposition` `name`), as sent. */
  readonly name: string;
  /**
   * The client's file name (`filename`, or else `filename*`), exactly as sent: display
   * text at most, never a path. `undefined` for a plain field.
   */
  readonly filename: string | undefined;
  /** The part's `Content-Type` as the client claims it, lowercased, without parameters. */
  readonly contentType: string | undefined;
}

/** Receives a parse as it happens. The parser calls these synchronously from `write`. */
export interface MultipartHandler {
  /** A part starts. */
  onPart(part: PartInfo): void;
  /**
   * Some of the current part's content. `bytes` is often a view into the chunk given to
   * `write`: copy it to keep it past a later reuse of that chunk.
   */
  onData(bytes: Uint8Array): void;
  /** The current part ended (its content is complete). */
  onPartEnd(): void;
}

/** The parser's structural limits. Content limits (file and field sizes) belong to its caller. */
export interface MultipartParserLimits {
  /** Most bytes in one part's header block, and in the preamble. Default 8 KiB. */
  readonly maxHeaderBytes?: number;
  /** Most header lines in one part. Default 16. */
  readonly maxHeaderPairs?: number;
  /** Most parts. Default 1000. */
  readonly maxParts?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const HYPHEN = 0x2d;
const HEADER_END = new Uint8Array([CR, LF, CR, LF]);
const NONE = new Uint8Array(0);

/** RFC 2046 §5.1.1: `bchars`, 1 to 70 of them, not ending with a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,./:=? -]{0,69}[0-9A-Za-z'()+_,./:=?-]$/;

/**
 * Part header blocks read lately, and what each said. A browser sends the same few
 * blocks with every post of a form (`Content-Disposition: form-data; name="text"`), and
 * reading a block costs more than the rest of a small part: a short one is looked up
 * first. What a block says depends on its text alone (its line count is kept, for each
 * parser's own limit); a refused block is never kept. Bounded: emptied when full.
 */
const KNOWN_BLOCKS = new Map<string, { readonly part: PartInfo; readonly lines: number }>();
const MAX_KNOWN_BLOCKS = 128;
const MAX_KNOWN_BLOCK_LENGTH = 256;

// The parser's states (numbers, not an enum: the build allows only erasable syntax).
/** Before the first delimiter: bytes are discarded. */
const PREAMBLE = 0;
/** Right after a delimiter: `--` (the close delimiter) or CRLF (a part) comes next. */
const AFTER_DELIMITER = 1;
/** In a part's header block. */
const HEADERS = 2;
/** In a part's content. */
const CONTENT = 3;
/** After the close delimiter: bytes are discarded. */
const EPILOGUE = 4;
/** A `write` threw: the parse is over. */
const FAILED = 5;

/**
 * Parses one `multipart/form-data` body given in chunks.
 *
 * @example
 * ```ts
 * const parser = new MultipartParser(boundary, {
 *   onPart(part) { console.log(part.name, part.filename) },
 *   onData(bytes) { size += bytes.length },
 *   onPartEnd() {},
 * })
 * for await (const chunk of request.body) parser.write(chunk)  // throws a RampartError on bad framing
 * parser.end()                                                 // throws unless the body closed
 * ```
 */
export class MultipartParser {
  readonly #handler: MultipartHandler;
  /** `CRLF--boundary`: every delimiter, the first one included (see `#carry`). */
  readonly #delimiter: Uint8Array;
  readonly #maxHeaderBytes: number;
  readonly #maxHeaderPairs: number;
  readonly #maxParts: number;
  #state = PREAMBLE;
  /**
   * In the preamble and content: the last bytes of the previous chunk when they might
   * start a delimiter. It starts as CRLF so that a body opening with `--boundary` matches
   * the same `CRLF--boundary` as every later delimiter.
   */
  #carry: Uint8Array = new Uint8Array([CR, LF]);
  /** After a delimiter: its first following byte, when a chunk ended after one. */
  #pendingByte = -1;
  /**
   * The header block read so far, from the CRLF that ends the delimiter line, when it
   * spans chunks (allocated then: a block within one chunk is read where it is).
   */
  #headerBlock: Uint8Array | undefined;
  /** Bytes of the header block read so far: 2 (its opening CRLF) at the start of a part. */
  #headerLength = 0;
  #preambleBytes = 0;
  #parts = 0;
  #failure: RampartError | undefined;

  constructor(boundary: string, handler: MultipartHandler, limits: MultipartParserLimits = {}) {
    if (!BOUNDARY.test(boundary)) throw new RampartError('upload_boundary_invalid');
    this.#handler = handler;
    this.#delimiter = asciiBytes(`\r\n--${boundary}`);
    this.#maxHeaderBytes = limits.maxHeaderBytes ?? 8192;
    this.#maxHeaderPairs = limits.maxHeaderPairs ?? 16;
    this.#maxParts = limits.maxParts ?? 1000;
  }

  /** True once the close delimiter has been read (what follows is ignored). */
  get done(): boolean {
    return this.#state === EPILOGUE;
  }

  /** Parses the next chunk of the body. Throws a `RampartError` on a body that breaks the rules. */
  write(chunk: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    try {
      this.#write(chunk);
    } catch (error) {
      this.#state = FAILED;
      if (error instanceof RampartError) this.#failure = error;
      throw error;
    }
  }

  /** The body has ended: throws unless the close delimiter was read (`upload_truncated`, or `upload_malformed` without any part). */
  end(): void {
    if (this.#failure) throw this.#failure;
    if (this.#state !== EPILOGUE) {
      this.#state = FAILED;
      this.#failure = new RampartError(this.#parts === 0 ? 'upload_malformed' : 'upload_truncated');
      throw this.#failure;
    }
  }

  #write(chunk: Uint8Array): void {
    let position = 0;
    if (this.#carry.length > 0) {
      position = this.#junction(chunk);
      if (position === -1) return;
    }
    while (position < chunk.length) {
      switch (this.#state) {
        case CONTENT:
        case PREAMBLE:
          position = this.#search(chunk, position);
          break;
        case AFTER_DELIMITER:
          position = this.#afterDelimiter(chunk, position);
          break;
        case HEADERS:
          position = this.#headers(chunk, position);
          break;
        case EPILOGUE:
          return;
        default:
          throw this.#failure ?? new RampartError('upload_malformed');
      }
    }
  }

  /**
   * The start of a chunk, with the possible delimiter start carried from the previous
   * one: the carry and the chunk's first bytes are searched together (a few dozen bytes),
   * so the chunk itself is never copied. Returns where to go on in `chunk`, or -1 when
   * all of it was taken in.
   */
  #junction(chunk: Uint8Array): number {
    const delimiter = this.#delimiter;
    const carry = this.#carry;
    const joined = concat(carry, view(chunk, 0, Math.min(chunk.length, delimiter.length - 1)));
    const found = indexOfBytes(joined, delimiter, 0);
    if (found !== -1) {
      this.#carry = NONE;
      this.#content(joined.subarray(0, found));
      this.#delimiterFound();
      return found + delimiter.length - carry.length;
    }
    if (chunk.length >= delimiter.length - 1) {
      // No delimiter starts in the carry: all of it is content.
      this.#carry = NONE;
      this.#content(carry);
      return 0;
    }
    // A tiny chunk: what cannot start a delimiter is content, the rest waits.
    const keep = partialStart(joined, 0, delimiter);
    this.#carry = joined.slice(keep);
    this.#content(joined.subarray(0, keep));
    return -1;
  }

  /** Preamble or content from `position`: up to the next delimiter, or to the end of the chunk. */
  #search(chunk: Uint8Array, position: number): number {
    const delimiter = this.#delimiter;
    const found = indexOfBytes(chunk, delimiter, position);
    if (found !== -1) {
      this.#content(view(chunk, position, found));
      this.#delimiterFound();
      return found + delimiter.length;
    }
    const keep = partialStart(chunk, Math.max(position, chunk.length - delimiter.length + 1), delimiter);
    // A copy: on a Node Buffer `slice` is a view, which the caller may refill after `write`.
    if (keep < chunk.length) this.#carry = byteSlice.call(chunk, keep);
    this.#content(view(chunk, position, keep));
    return chunk.length;
  }

  #content(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.#state === CONTENT) {
      this.#handler.onData(bytes);
      return;
    }
    // The preamble: RFC 2046 lets a body start with text for non-MIME readers; browsers
    // send none, so only a little is tolerated.
    this.#preambleBytes += bytes.length;
    if (this.#preambleBytes > this.#maxHeaderBytes) throw new RampartError('upload_malformed');
  }

  #delimiterFound(): void {
    if (this.#state === CONTENT) this.#handler.onPartEnd();
    this.#state = AFTER_DELIMITER;
  }

  /** `--` ends the body; CRLF starts a part (RFC 2046 transport padding is not accepted). */
  #afterDelimiter(chunk: Uint8Array, position: number): number {
    let first: number;
    if (this.#pendingByte === -1) {
      first = chunk[position++]!;
      if (position === chunk.length) {
        this.#pendingByte = first;
        return position;
      }
    } else {
      first = this.#pendingByte;
      this.#pendingByte = -1;
    }
    const second = chunk[position++]!;
    if (first === HYPHEN && second === HYPHEN) {
      this.#state = EPILOGUE;
      return chunk.length;
    }
    if (first !== CR || second !== LF) throw new RampartError('upload_malformed');
    if (++this.#parts > this.#maxParts) throw new RampartError('upload_too_many_parts');
    this.#state = HEADERS;
    // The block starts with this CRLF: an empty block is then CRLF CRLF like any other end.
    this.#headerLength = 2;
    return position;
  }

  /**
   * A part's header block, up to its empty line. Only header bytes are copied, each
   * once, and each search starts where the previous one stopped: a block sent a byte
   * at a time costs no more than one sent whole.
   */
  #headers(chunk: Uint8Array, position: number): number {
    const previous = this.#headerLength;
    const endInChunk = indexOfBytes(chunk, HEADER_END, position);
    // The usual case, a whole block in this chunk, is read in place. Not when the chunk
    // starts with CRLF: the block is then empty, its end straddling the opening CRLF.
    if (previous === 2 && endInChunk !== -1 && !(chunk[position] === CR && chunk[position + 1] === LF)) {
      if (endInChunk - position > this.#maxHeaderBytes) throw new RampartError('upload_part_headers_too_large');
      this.#partFound(view(chunk, position, endInChunk));
      return endInChunk + HEADER_END.length;
    }
    // The longest acceptable block: its opening CRLF, the headers, and CRLF CRLF.
    const capacity = this.#maxHeaderBytes + 2 + HEADER_END.length;
    const available = (endInChunk === -1 ? chunk.length : endInChunk + HEADER_END.length) - position;
    const take = Math.min(available, capacity - previous);
    const block = this.#appendHeader(view(chunk, position, position + take));
    const end = indexOfBytes(block, HEADER_END, Math.max(0, previous - 3));
    if (end === -1) {
      if (this.#headerLength >= capacity) throw new RampartError('upload_part_headers_too_large');
      return position + take;
    }
    if (end - 2 > this.#maxHeaderBytes) throw new RampartError('upload_part_headers_too_large');
    this.#partFound(block.subarray(2, end));
    return position + (end + HEADER_END.length - previous);
  }

  /** The header block so far with `bytes` added (the opening CRLF included), as a view. */
  #appendHeader(bytes: Uint8Array): Uint8Array {
    const previous = this.#headerLength;
    const needed = previous + bytes.length;
    let buffer = (this.#headerBlock ??= new Uint8Array(256));
    if (needed > buffer.length) {
      const grown = new Uint8Array(Math.max(needed, buffer.length * 2));
      grown.set(buffer.subarray(0, previous));
      buffer = this.#headerBlock = grown;
    }
    if (previous === 2) {
      buffer[0] = CR;
      buffer[1] = LF;
    }
    buffer.set(bytes, previous);
    this.#headerLength = needed;
    return buffer.subarray(0, needed);
  }

  /** A part's header block (without its CRLFs) has been read: its content follows. */
  #partFound(block: Uint8Array): void {
    const part = this.#partInfo(block);
    this.#headerLength = 0;
    this.#state = CONTENT;
    this.#handler.onPart(part);
  }

  #partInfo(block: Uint8Array): PartInfo {
    const text = utf8(block);
    const known = text.length <= MAX_KNOWN_BLOCK_LENGTH ? KNOWN_BLOCKS.get(text) : undefined;
    if (known !== undefined) {
      if (known.lines > this.#maxHeaderPairs) throw new RampartError('upload_part_headers_too_large');
      return known.part;
    }
    // Too many lines is refused before any line is read.
    let lines = text.length === 0 ? 0 : 1;
    for (let at = text.indexOf('\r\n'); at !== -1; at = text.indexOf('\r\n', at + 2)) lines++;
    if (lines > this.#maxHeaderPairs) throw new RampartError('upload_part_headers_too_large');
    // The rules the CSRF scanner follows too: the two agree on every part.
    const headers = readPartHeaders(text);
    if (headers === undefined) throw new RampartError('upload_malformed');
    const part: PartInfo = Object.freeze({ name: headers.name, filename: headers.filename, contentType: headers.contentType });
    if (text.length <= MAX_KNOWN_BLOCK_LENGTH) {
      if (KNOWN_BLOCKS.size >= MAX_KNOWN_BLOCKS) KNOWN_BLOCKS.clear();
      KNOWN_BLOCKS.set(text, { part, lines });
    }
    return part;
  }
}

/**
 * Where a possible start of `delimiter` begins in `buffer`'s last bytes, at or after
 * `from`: the first `\r` whose rest of the buffer matches the delimiter's beginning.
 * `buffer.length` when there is none.
 */
function partialStart(buffer: Uint8Array, from: number, delimiter: Uint8Array): number {
  const length = buffer.length;
  let candidate = byteIndexOf.call(buffer, CR, from);
  while (candidate !== -1) {
    let index = candidate + 1;
    while (index < length && buffer[index] === delimiter[index - candidate]) index++;
    if (index === length) return candidate;
    candidate = byteIndexOf.call(buffer, CR, candidate + 1);
  }
  return length;
}

// The typed array's own search for one byte: a chunk from Node is a Buffer, whose
// `indexOf` goes through a slower, string-aware path first.
const byteIndexOf = Uint8Array.prototype.indexOf;
const byteSlice = Uint8Array.prototype.slice;

/**
 * Bytes `start` to `end` of `chunk`, as a plain `Uint8Array` view: `subarray` on a
 * Node Buffer looks up its species constructor on every call, measurably slower when
 * it happens once a chunk.
 */
function view(chunk: Uint8Array, start: number, end: number): Uint8Array {
  // Most chunks of a large file are content from end to end: handed over as they are.
  if (start === 0 && end === chunk.length) return chunk;
  return new Uint8Array(chunk.buffer, chunk.byteOffset + start, end - start);
}

function concat(first: Uint8Array, second: Uint8Array): Uint8Array {
  const joined = new Uint8Array(first.length + second.length);
  joined.set(first);
  joined.set(second, first.length);
  return joined;
}

function asciiBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index++) bytes[index] = text.charCodeAt(index);
  return bytes;
}

// The BOM is kept (`ignoreBOM`): stripped, it would let a header name start with an
// invisible character that other readers of the same bytes do not skip.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

function utf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
