/**
 * The crypto primitive every module goes through: HKDF-SHA256, HMAC-SHA256 and
 * AES-256-GCM, on node:crypto where the runtime has it (Node, Bun, Deno) and on Web
 * Crypto elsewhere (Workers, browsers).
 *
 * Why two: on Node 20, Web Crypto costs about 75–110 µs per call against 2–6 µs for
 * node:crypto (DESIGN.md, "The core speaks Web standards"). node:crypto is reached
 * through `process.getBuiltinModule`, not an import, so the core still compiles
 * without Node's types and still loads on runtimes without it.
 */

import { randomBytes } from './random.ts';
import { HmacSha256, hkdfSha256 as jsHkdfSha256 } from './sha256.ts';

/** The operations rampart needs, with the same results on every implementation. */
export interface CryptoPrimitive {
  /** HKDF-SHA256 (RFC 5869). */
  hkdf(key: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
  /** HMAC-SHA256 (RFC 2104). */
  hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /** AES-256-GCM with a 96-bit IV and 128-bit tag: returns ciphertext followed by the tag. */
  aesGcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** The inverse; `null` when the tag does not verify (tampered, truncated, wrong key). */
  aesGcmDecrypt(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array | null>;
  /**
   * The same operations without a promise, where the runtime can do them
   * synchronously (node:crypto). Sessions seal their cookie while the response head is
   * being written, which on node:http is a synchronous moment.
   */
  readonly sync?: SyncCryptoPrimitive;
}

/** `CryptoPrimitive`'s operations, synchronous. */
export interface SyncCryptoPrimitive {
  hkdf(key: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** Ciphertext and tag, after `reserve` zero bytes left for the caller's header (one allocation for the whole seal). */
  aesGcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, reserve?: number): Uint8Array;
  aesGcmDecrypt(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null;
}

/** The slice of node:crypto used here, typed locally: the core has no Node types. */
/** node:crypto's `KeyObject`, opaque here. */
type NodeKeyObject = object;

interface NodeCryptoModule {
  createSecretKey(key: Uint8Array): NodeKeyObject;
  hkdfSync(digest: 'sha256', key: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): ArrayBuffer;
  createHmac(algorithm: 'sha256', key: Uint8Array): { update(data: Uint8Array): { digest(): Uint8Array } };
  createCipheriv(
    algorithm: 'aes-256-gcm',
    key: NodeKeyObject,
    iv: Uint8Array,
    options: { authTagLength: number },
  ): { setAAD(aad: Uint8Array): void; update(data: Uint8Array): Uint8Array; final(): Uint8Array; getAuthTag(): Uint8Array };
  createDecipheriv(
    algorithm: 'aes-256-gcm',
    key: NodeKeyObject,
    iv: Uint8Array,
    options: { authTagLength: number },
  ): { setAAD(aad: Uint8Array): void; setAuthTag(tag: Uint8Array): void; update(data: Uint8Array): Uint8Array; final(): Uint8Array };
}

const TAG_BYTES = 16;

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A copy backed by a plain ArrayBuffer, as Web Crypto's types ask. */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

function nodePrimitive(node: NodeCryptoModule): CryptoPrimitive {
  // A KeyObject per key, made once: passing raw bytes makes node import the key on every call.
  const keyObjects = new WeakMap<Uint8Array, NodeKeyObject>();
  const keyObject = (key: Uint8Array): NodeKeyObject => {
    let object = keyObjects.get(key);
    if (object === undefined) {
      object = node.createSecretKey(key);
      keyObjects.set(key, object);
    }
    return object;
  };
  const sync: SyncCryptoPrimitive = {
    hkdf: (key, salt, info, length) => new Uint8Array(node.hkdfSync('sha256', key, salt, info, length)),
    hmacSha256: (key, data) => new Uint8Array(node.createHmac('sha256', key).update(data).digest()),
    aesGcmEncrypt(key, iv, plaintext, aad, reserve = 0) {
      const cipher = node.createCipheriv('aes-256-gcm', keyObject(key), iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad);
      const body = cipher.update(plaintext);
      const rest = cipher.final(); // empty for GCM, kept for form
      const out = new Uint8Array(reserve + body.length + rest.length + TAG_BYTES);
      out.set(body, reserve);
      out.set(rest, reserve + body.length);
      out.set(cipher.getAuthTag(), reserve + body.length + rest.length);
      return out;
    },
    aesGcmDecrypt(key, iv, sealed, aad) {
      if (sealed.length < TAG_BYTES) return null;
      try {
        const decipher = node.createDecipheriv('aes-256-gcm', keyObject(key), iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad);
        decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
        const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
        const rest = decipher.final(); // verifies the tag; empty for GCM
        // A plain Uint8Array view of node's Buffer, without a copy.
        return rest.length === 0 ? new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.length) : concat(plaintext, rest);
      } catch {
        return null;
      }
    },
  };
  return {
    hkdf: async (key, salt, info, length) => sync.hkdf(key, salt, info, length),
    hmacSha256: async (key, data) => sync.hmacSha256(key, data),
    aesGcmEncrypt: async (key, iv, plaintext, aad) => sync.aesGcmEncrypt(key, iv, plaintext, aad, 0),
    aesGcmDecrypt: async (key, iv, sealed, aad) => sync.aesGcmDecrypt(key, iv, sealed, aad),
    sync,
  };
}

/** Web Crypto, for runtimes without node:crypto. */
export const webCryptoPrimitive: CryptoPrimitive = {
  async hkdf(key, salt, info, length) {
    const base = await crypto.subtle.importKey('raw', own(key), 'HKDF', false, ['deriveBits']);
    const bits = await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: own(salt), info: own(info) }, base, length * 8);
    return new Uint8Array(bits);
  },
  async hmacSha256(key, data) {
    const hmacKey = await crypto.subtle.importKey('raw', own(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await crypto.subtle.sign('HMAC', hmacKey, own(data)));
  },
  async aesGcmEncrypt(key, iv, plaintext, aad) {
    const aesKey = await crypto.subtle.importKey('raw', own(key), 'AES-GCM', false, ['encrypt']);
    const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: own(iv), additionalData: own(aad), tagLength: TAG_BYTES * 8 }, aesKey, own(plaintext));
    return new Uint8Array(sealed);
  },
  async aesGcmDecrypt(key, iv, sealed, aad) {
    if (sealed.length < TAG_BYTES) return null;
    try {
      const aesKey = await crypto.subtle.importKey('raw', own(key), 'AES-GCM', false, ['decrypt']);
      const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: own(iv), additionalData: own(aad), tagLength: TAG_BYTES * 8 }, aesKey, own(sealed));
      return new Uint8Array(plain);
    } catch {
      return null;
    }
  },
};

function findNodeCrypto(): NodeCryptoModule | undefined {
  const runtime = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    return runtime?.getBuiltinModule?.('node:crypto') as NodeCryptoModule | undefined;
  } catch {
    return undefined;
  }
}

const nodeCrypto = findNodeCrypto();

/** node:crypto's implementation when the runtime has it, `undefined` elsewhere (exported for tests). */
export const nodeCryptoPrimitive: CryptoPrimitive | undefined = nodeCrypto ? nodePrimitive(nodeCrypto) : undefined;

/** The implementation in use: node:crypto where available, Web Crypto otherwise. */
export const cryptoPrimitive: CryptoPrimitive = nodeCryptoPrimitive ?? webCryptoPrimitive;

/** A fresh 96-bit IV for AES-GCM. */
export function newIv(): Uint8Array<ArrayBuffer> {
  return randomBytes(12);
}

/** Compares two byte strings in time that depends only on their lengths. */
export function timingSafeEqual(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  let difference = 0;
  for (let index = 0; index < left.length; index++) difference |= left[index]! ^ right[index]!;
  return difference === 0;
}

/**
 * Each key's HMAC with its padded key blocks already hashed, made on the key's first use
 * (keys are derived subkeys, never changed once made).
 */
const keyedMacs = new WeakMap<Uint8Array, HmacSha256>();

/**
 * The first `length` bytes of HMAC-SHA256 into `out` at `offset`, synchronous: the MAC
 * of a CSRF token, minted while a page renders and checked on every unsafe request.
 *
 * Plain JavaScript on every runtime, node:crypto included, with the key's padded blocks
 * hashed once (RFC 2104 §4): a MAC of a token is then two SHA-256 compressions and no
 * allocation. In the status feed's server a `createHmac` per token cost ~9 µs of CPU
 * (the native object, and the collector's work to release it), against ~1.5 µs in a
 * loop; the precomputed MAC took a status post from 65 to 56 µs (measured A/B, one
 * process under wrk).
 */
export function hmacSha256IntoSync(key: Uint8Array, data: Uint8Array, out: Uint8Array, offset: number, length: number): void {
  if (length > 32) throw new RangeError(`rampart: an HMAC-SHA256 has 32 bytes, not ${length}.`);
  let mac = keyedMacs.get(key);
  if (mac === undefined) {
    mac = new HmacSha256(key);
    keyedMacs.set(key, mac);
  }
  mac.macInto(data, out, offset, length);
}

/** HKDF-SHA256, synchronous on every runtime (subkeys are derived on first use). */
export const hkdfSync: (key: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) => Uint8Array = cryptoPrimitive.sync?.hkdf ?? jsHkdfSha256;
