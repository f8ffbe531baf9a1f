/**
 * Bodies encoded into shared slabs: every buffer handed out keeps its bytes whatever
 * is encoded after it (a slab is never written twice), and equals node's own encoding.
 */

import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeUtf8 } from './utf8.ts';

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

  it('writes up to the last bytes of a slab and starts a new one for a text that does not fit', () => {
    // A 3-byte character per unit: 21,845 units fill 65,535 bytes; around that, each case must still come out whole.
    const kept: [string, Buffer][] = [];
    for (let size = 5_000; size <= 16_384; size += 1_111) {
      const text = '€'.repeat(size - 1) + '🚀'.slice(0, 1); // ends in a lone surrogate: U+FFFD
      kept.push([text, encodeUtf8(text)]);
    }
    for (const [text, bytes] of kept) expect(bytes.equals(Buffer.from(text, 'utf8'))).toBe(true);
  });

  it('encodes the empty page', () => {
    expect(encodeUtf8('').length).toBe(0);
  });
});
