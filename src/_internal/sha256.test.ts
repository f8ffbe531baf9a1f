import { createHash, createHmac, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { hmacSha256IntoSync } from './crypto.ts';
import { HmacSha256, hkdfSha256, hmacSha256, sha256 } from './sha256.ts';

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

/** The MAC of `data` under `key` by a keyed HmacSha256, whole. */
const keyedMac = (key: Uint8Array, data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(32);
  new HmacSha256(key).macInto(data, out, 0, 32);
  return out;
};

it('a keyed HMAC-SHA256 matches RFC 4231 test cases 1, 2, 4, 6 and 7, and its truncation (case 5)', () => {
  expect(toHex(keyedMac(hex('0b'.repeat(20)), utf8('Hi There')))).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
  expect(toHex(keyedMac(utf8('Jefe'), utf8('what do ya want for nothing?')))).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  expect(toHex(keyedMac(hex('0102030405060708090a0b0c0d0e0f10111213141516171819'), hex('cd'.repeat(50))))).toBe(
    '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
  );
  expect(toHex(keyedMac(hex('aa'.repeat(131)), utf8('Test Using Larger Than Block-Size Key - Hash Key First')))).toBe(
    '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  );
  const case7 = 'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.';
  expect(toHex(keyedMac(hex('aa'.repeat(131)), utf8(case7)))).toBe('9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2');
  const truncated = new Uint8Array(18).fill(0xee);
  new HmacSha256(hex('0c'.repeat(20))).macInto(utf8('Test With Truncation'), truncated, 1, 16);
  expect(toHex(truncated)).toBe(`ee${'a3b6167473100ee06e0c796c2955552b'}ee`);
});

it('a keyed HMAC gives the same MAC on every use, at every message length around the block boundaries', () => {
  const key = utf8('a key of some length');
  const mac = new HmacSha256(key);
  for (let length = 0; length <= 200; length++) {
    const data = Uint8Array.from({ length }, (_, index) => (index * 31 + length) & 0xff);
    const expected = createHmac('sha256', key).update(data).digest();
    for (const take of [1, 16, 31, 32]) {
      const out = new Uint8Array(take + 2).fill(0xee);
      mac.macInto(data, out, 1, take);
      expect([out[0], out[take + 1]]).toEqual([0xee, 0xee]);
      expect(toHex(out.subarray(1, take + 1))).toBe(toHex(expected.subarray(0, take)));
    }
  }
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
      expect(toHex(keyedMac(key, data))).toBe(createHmac('sha256', key).update(data).digest('hex'));
      const out = new Uint8Array(length + 1);
      hmacSha256IntoSync(key, data, out, 1, Math.min(length, 32));
      expect(toHex(out.subarray(1, 1 + Math.min(length, 32)))).toBe(createHmac('sha256', key).update(data).digest('hex').slice(0, 2 * Math.min(length, 32)));
      expect(toHex(hkdfSha256(key, data, data.subarray(0, 50), length))).toBe(toHex(new Uint8Array(hkdfSync('sha256', key, data, data.subarray(0, 50), length))));
    }),
    { numRuns: 1000 },
  );
});
