import { createHash, createHmac, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { hkdfSha256, hmacSha256, sha256 } from './sha256.ts';

const hex = (text: string): Uint8Array => new Uint8Array(text.match(/../g)?.map((byte) => parseInt(byte, 16)) ?? []);
const toHex = (bytes: Uint8Array): string => [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

it.each([
  ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
])('SHA-256 of %j matches FIPS 180-4', (input, digest) => {
  expect(toHex(sha256(utf8(input)))).toBe(digest);
});

it('HMAC-SHA256 matches RFC 4231 test cases 1, 2 and 6 (key longer than a block)', () => {
  expect(toHex(hmacSha256(hex('0b'.repeat(20)), utf8('Hi There')))).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
  expect(toHex(hmacSha256(utf8('Jefe'), utf8('what do ya want for nothing?')))).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  expect(toHex(hmacSha256(hex('aa'.repeat(131)), utf8('Test Using Larger Than Block-Size Key - Hash Key First')))).toBe(
    '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  );
});

it('HKDF-SHA256 matches RFC 5869 test cases 1 and 3 (empty salt and info)', () => {
  expect(toHex(hkdfSha256(hex('0b'.repeat(22)), hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42))).toBe(
    '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
  );
  expect(toHex(hkdfSha256(hex('0b'.repeat(22)), new Uint8Array(0), new Uint8Array(0), 42))).toBe(
    '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
  );
});

it('agrees with node:crypto on any input, across block boundaries', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 100 }), (key, data, length) => {
      expect(toHex(sha256(data))).toBe(createHash('sha256').update(data).digest('hex'));
      expect(toHex(hmacSha256(key, data))).toBe(createHmac('sha256', key).update(data).digest('hex'));
      expect(toHex(hkdfSha256(key, data, data.subarray(0, 50), length))).toBe(toHex(new Uint8Array(hkdfSync('sha256', key, data, data.subarray(0, 50), length))));
    }),
    { numRuns: 300 },
  );
});
