import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64Url, encodeBase64Url, encodeNonce } from './base64.ts';
import { fillRandom, randomBytes } from './random.ts';

describe('base64url', () => {
  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        expect(decodeBase64Url(encodeBase64Url(bytes))).toEqual(bytes);
      }),
    );
  });

  it('matches the standard encoding (RFC 4648 §5, no padding)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        expect(encodeBase64Url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
      }),
    );
  });

  it('encodes a 16-byte nonce like the general encoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        expect(encodeNonce(bytes)).toBe(encodeBase64Url(bytes));
      }),
    );
  });

  it.each(['a', 'ab$c', 'abc!', 'é'])('refuses %s', (text) => {
    expect(decodeBase64Url(text)).toBeNull();
  });

  it('accepts padding and the standard alphabet', () => {
    expect(decodeBase64Url('+/8=')).toEqual(new Uint8Array([0xfb, 0xff]));
  });
});

describe('random bytes', () => {
  it('never hands out the same bytes twice, across pool refills', () => {
    const seen = new Set<string>();
    for (let index = 0; index < 2000; index++) seen.add(encodeBase64Url(fillRandom(new Uint8Array(16))));
    expect(seen.size).toBe(2000);
  });

  it('serves requests larger than the pool', () => {
    expect(randomBytes(10_000).some((byte) => byte !== 0)).toBe(true);
  });
});
