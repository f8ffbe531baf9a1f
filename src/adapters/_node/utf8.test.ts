/**
 * Bodies encoded into shared slabs: every buffer handed out keeps its bytes whatever
 * is encoded after it (a slab is never written twice), and equals node's own encoding.
 */

import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';

/** A fresh module for each test: an empty slab, so that a test's sizes land where it means them to. */
let encodeUtf8: (text: string) => Buffer;
beforeEach(async () => {
  vi.resetModules();
  ({ encodeUtf8 } = await import('./utf8.ts'));
});

const SLAB_BYTES = 64 * 1024;

describe('encodeUtf8', () => {
  it('encodes as Buffer.from does, and no later page overwrites an earlier one', () => {
    fc.assert(
      fc.property(
        // Pages of every size around the slab's (64 KiB) and the own-buffer threshold (16 Ki characters).
        fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: 'grapheme', minLength: 1000, maxLength: 20_000 }), fc.string({ unit: 'binary-ascii', minLength: 16_000, maxLength: 17_000 })), { minLength: 1, maxLength: 40 }),
        (texts) => {
          const encoded = texts.map(encodeUtf8);
          texts.forEach((text, index) => expect(Buffer.compare(encoded[index]!, Buffer.from(text, 'utf8'))).toBe(0));
        },
      ),
      { numRuns: 60, endOnFailure: true },
    );
  });

  it('fills a slab to its last bytes, and starts a new one for a text that does not fit whole', () => {
    // 4 × 16,000 bytes, then 1,528 and 3: the slab's 65,536 bytes exactly; then a new slab.
    const texts = ['a', 'b', 'c', 'd'].map((letter) => letter.repeat(16_000));
    texts.push('e'.repeat(1_528), '€', '🚀', '\uD800', '');
    const encoded = texts.map(encodeUtf8);
    texts.forEach((text, index) => expect(encoded[index]!.equals(Buffer.from(text, 'utf8'))).toBe(true));
    const slab = encoded[0]!.buffer;
    expect(encoded.slice(0, 6).map((bytes) => [bytes.buffer === slab, bytes.byteOffset])).toEqual([
      [true, 0],
      [true, 16_000],
      [true, 32_000],
      [true, 48_000],
      [true, 64_000],
      [true, 65_528],
    ]);
    expect(encoded[6]!.buffer === slab).toBe(false);
    expect(encoded[6]!.byteOffset).toBe(0);
  });

  it('encodes the largest texts, 3 bytes a character, whole', () => {
    for (const length of [16_383, 16_384, 16_385, 21_845, 21_846, 30_000]) {
      const text = '€'.repeat(length);
      expect(encodeUtf8(text).equals(Buffer.from(text, 'utf8'))).toBe(true);
    }
    expect(3 * 16_384).toBeLessThan(SLAB_BYTES);
  });

  it('encodes the empty page', () => {
    expect(encodeUtf8('').length).toBe(0);
  });
});
