import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cryptoPrimitive, hmacSha256IntoSync, newIv, nodeCryptoPrimitive, timingSafeEqual, webCryptoPrimitive, type CryptoPrimitive } from './crypto.ts';

const hex = (text: string): Uint8Array => new Uint8Array(text.match(/../g)!.map((byte) => parseInt(byte, 16)));
const toHex = (bytes: Uint8Array): string => [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');

it('uses node:crypto on Node', () => {
  expect(nodeCryptoPrimitive).toBeDefined();
  expect(cryptoPrimitive).toBe(nodeCryptoPrimitive);
});

const implementations: [string, CryptoPrimitive][] = [
  ['node:crypto', nodeCryptoPrimitive!],
  ['Web Crypto', webCryptoPrimitive],
];

describe.each(implementations)('%s', (_name, primitive) => {
  it('HKDF-SHA256 matches RFC 5869 test case 1', async () => {
    const okm = await primitive.hkdf(hex('0b'.repeat(22)), hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42);
    expect(toHex(okm)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });

  it('HMAC-SHA256 matches RFC 4231 test case 2', async () => {
    const mac = await primitive.hmacSha256(new TextEncoder().encode('Jefe'), new TextEncoder().encode('what do ya want for nothing?'));
    expect(toHex(mac)).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('AES-256-GCM matches the NIST test vector (key 0, IV 0, one zero block)', async () => {
    const sealed = await primitive.aesGcmEncrypt(new Uint8Array(32), new Uint8Array(12), new Uint8Array(16), new Uint8Array(0));
    expect(toHex(sealed)).toBe('cea7403d4d606b6e074ec5d3baf39d18' + 'd0d1c8a799996bf0265b98b5d48ab919');
  });

  it('AES-256-GCM opens what it sealed, and nothing tampered', async () => {
    const key = new Uint8Array(32).fill(7);
    const iv = newIv();
    const aad = new TextEncoder().encode('purpose');
    const sealed = await primitive.aesGcmEncrypt(key, iv, new TextEncoder().encode('hello'), aad);
    expect(new TextDecoder().decode((await primitive.aesGcmDecrypt(key, iv, sealed, aad))!)).toBe('hello');
    for (let index = 0; index < sealed.length; index++) {
      const flipped = sealed.slice();
      flipped[index]! ^= 1;
      expect(await primitive.aesGcmDecrypt(key, iv, flipped, aad)).toBeNull();
    }
    expect(await primitive.aesGcmDecrypt(key, iv, sealed.subarray(0, 10), aad)).toBeNull();
    expect(await primitive.aesGcmDecrypt(new Uint8Array(32), iv, sealed, aad)).toBeNull();
    expect(await primitive.aesGcmDecrypt(key, iv, sealed, new Uint8Array(0))).toBeNull();
  });
});

describe('both implementations agree', () => {
  it('on HMAC and HKDF for any input', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), async (key, data) => {
        expect(await webCryptoPrimitive.hmacSha256(key, data)).toEqual(await nodeCryptoPrimitive!.hmacSha256(key, data));
        expect(new Uint8Array(createHmac('sha256', key).update(data).digest())).toEqual(await webCryptoPrimitive.hmacSha256(key, data));
        expect(await webCryptoPrimitive.hkdf(key, data, data, 32)).toEqual(await nodeCryptoPrimitive!.hkdf(key, data, data, 32));
      }),
      { numRuns: 50 },
    );
  });

  it('on AES-GCM: one opens what the other sealed', async () => {
    const key = new Uint8Array(32).fill(3);
    const iv = newIv();
    const sealed = await webCryptoPrimitive.aesGcmEncrypt(key, iv, new TextEncoder().encode('x'.repeat(100)), new Uint8Array(1));
    expect(await nodeCryptoPrimitive!.aesGcmDecrypt(key, iv, sealed, new Uint8Array(1))).toEqual(new TextEncoder().encode('x'.repeat(100)));
  });
});

describe('the synchronous face of node:crypto', () => {
  const sync = nodeCryptoPrimitive!.sync!;

  it('gives what the promise face gives, and leaves the reserved bytes for the caller', async () => {
    const key = new Uint8Array(32).fill(9);
    const iv = newIv();
    const plaintext = new TextEncoder().encode('sealed synchronously');
    const aad = new Uint8Array([1, 2]);
    const reserved = sync.aesGcmEncrypt(key, iv, plaintext, aad, 17);
    expect([...reserved.subarray(0, 17)]).toEqual(new Array(17).fill(0));
    expect(reserved.subarray(17)).toEqual(await nodeCryptoPrimitive!.aesGcmEncrypt(key, iv, plaintext, aad));
    expect(sync.aesGcmDecrypt(key, iv, reserved.subarray(17), aad)).toEqual(plaintext);
    expect(sync.aesGcmDecrypt(key, iv, reserved.subarray(16), aad)).toBeNull();
    expect(sync.hkdf(key, aad, aad, 36)).toEqual(await webCryptoPrimitive.hkdf(key, aad, aad, 36));
    expect(sync.hmacSha256(key, aad)).toEqual(await webCryptoPrimitive.hmacSha256(key, aad));
  });

  it('is the one the synchronous CSRF MAC agrees with', () => {
    const key = new Uint8Array(32).fill(4);
    const data = new TextEncoder().encode('token bytes');
    const out = new Uint8Array(20).fill(0xee);
    hmacSha256IntoSync(key, data, out, 2, 16);
    expect(out.subarray(2, 18)).toEqual(sync.hmacSha256(key, data).subarray(0, 16));
    expect([out[0], out[1], out[18], out[19]]).toEqual([0xee, 0xee, 0xee, 0xee]);
  });

  it('is absent from Web Crypto, which has no synchronous operations', () => {
    expect(webCryptoPrimitive.sync).toBeUndefined();
  });
});

describe('timingSafeEqual', () => {
  it.each([
    [[1, 2, 3], [1, 2, 3], true],
    [[1, 2, 3], [1, 2, 4], false],
    [[1, 2, 3], [1, 2], false],
    [[], [], true],
  ])('%j vs %j: %s', (left, right, equal) => {
    expect(timingSafeEqual(new Uint8Array(left), new Uint8Array(right))).toBe(equal);
  });
});
