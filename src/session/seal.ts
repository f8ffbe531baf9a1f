/**
 * The seal: what a session cookie's value is. AES-256-GCM under a purpose subkey
 * derived from the keyring, so the session key is never the key the CSRF MAC uses.
 *
 * Layout (then base64url):
 *
 *     version (1 byte) | key id (4 bytes) | IV (12 bytes) | ciphertext | GCM tag (16 bytes)
 *
 * The version, the key id and the cookie's name are authenticated as associated
 * data: a seal made for another cookie, another version or under another key does
 * not open. The key id says which keyring key sealed it, so an old key is tried
 * only for what it sealed; that seal is then re-sealed under the current key.
 */

import { decodeBase64UrlStrict, encodeBase64Url } from '../_internal/base64.ts';
import { cryptoPrimitive, newIv, type SyncCryptoPrimitive } from '../_internal/crypto.ts';
import type { Subkey } from '../keys.ts';

const VERSION = 1;
const HEADER_BYTES = 1 + 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The smallest seal: a header, an IV and the tag of an empty plaintext. */
export const MIN_SEAL_BYTES = HEADER_BYTES + IV_BYTES + TAG_BYTES;

const encoder = new TextEncoder();

/**
 * Seals and opens for one cookie name under one set of subkeys, with each key's
 * header and associated data computed once.
 */
export class Sealer {
  readonly #keys: readonly Subkey[];
  readonly #headers: readonly Uint8Array[];
  readonly #aads: readonly Uint8Array[];
  /** Seals longer than this are refused unread: they could not have come from us. */
  readonly #maxLength: number;

  constructor(keys: readonly Subkey[], cookieName: string, maxLength: number) {
    this.#keys = keys;
    const name = encoder.encode(cookieName);
    this.#headers = keys.map((key) => {
      const head = new Uint8Array(HEADER_BYTES);
      head[0] = VERSION;
      head.set(key.id, 1);
      return head;
    });
    this.#aads = this.#headers.map((head) => {
      const aad = new Uint8Array(head.length + name.length);
      aad.set(head);
      aad.set(name, head.length);
      return aad;
    });
    this.#maxLength = maxLength;
  }

  /** Seals `plaintext` under the current key, synchronously. */
  sealSync(sync: SyncCryptoPrimitive, plaintext: Uint8Array): string {
    const iv = newIv();
    const out = sync.aesGcmEncrypt(this.#keys[0]!.key, iv, plaintext, this.#aads[0]!, HEADER_BYTES + IV_BYTES);
    out.set(this.#headers[0]!);
    out.set(iv, HEADER_BYTES);
    return encodeBase64Url(out);
  }

  /** Seals `plaintext` under the current key. */
  async seal(plaintext: Uint8Array): Promise<string> {
    const iv = newIv();
    const body = await cryptoPrimitive.aesGcmEncrypt(this.#keys[0]!.key, iv, plaintext, this.#aads[0]!);
    const out = new Uint8Array(HEADER_BYTES + IV_BYTES + body.length);
    out.set(this.#headers[0]!);
    out.set(iv, HEADER_BYTES);
    out.set(body, HEADER_BYTES + IV_BYTES);
    return encodeBase64Url(out);
  }

  /** Opens a seal synchronously; a failure reason for anything that is not one of ours. */
  openSync(sync: SyncCryptoPrimitive, text: string): Opened | SealFailure {
    const parsed = this.#parse(text);
    if (typeof parsed === 'string') return parsed;
    for (const keyIndex of parsed.candidates) {
      const plaintext = sync.aesGcmDecrypt(this.#keys[keyIndex]!.key, parsed.iv, parsed.body, this.#aads[keyIndex]!);
      if (plaintext !== null) return { plaintext, keyIndex };
    }
    return 'tampered';
  }

  /** Opens a seal; a failure reason for anything that is not one of ours. */
  async open(text: string): Promise<Opened | SealFailure> {
    const parsed = this.#parse(text);
    if (typeof parsed === 'string') return parsed;
    for (const keyIndex of parsed.candidates) {
      const plaintext = await cryptoPrimitive.aesGcmDecrypt(this.#keys[keyIndex]!.key, parsed.iv, parsed.body, this.#aads[keyIndex]!);
      if (plaintext !== null) return { plaintext, keyIndex };
    }
    return 'tampered';
  }

  #parse(text: string): Parsed | SealFailure {
    if (text.length < sealedLength(0) - 1 || text.length > this.#maxLength) return 'malformed';
    const bytes = decodeBase64UrlStrict(text);
    if (bytes === null || bytes.length < MIN_SEAL_BYTES || bytes[0] !== VERSION) return 'malformed';
    const candidates: number[] = [];
    for (let index = 0; index < this.#keys.length; index++) {
      const id = this.#keys[index]!.id;
      if (bytes[1] === id[0] && bytes[2] === id[1] && bytes[3] === id[2] && bytes[4] === id[3]) candidates.push(index);
    }
    if (candidates.length === 0) return 'unknown_key';
    return { iv: bytes.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES), body: bytes.subarray(HEADER_BYTES + IV_BYTES), candidates };
  }
}

/** The length, in base64url characters, of the seal of a `plaintextBytes`-byte plaintext. */
export function sealedLength(plaintextBytes: number): number {
  return Math.ceil(((MIN_SEAL_BYTES + plaintextBytes) * 4) / 3);
}

/** Why a seal did not open. Each is logged once, never shown to the client. */
export type SealFailure = 'malformed' | 'unknown_key' | 'tampered';

/** An opened seal: the plaintext, and which keyring key sealed it (0 is current). */
export interface Opened {
  readonly plaintext: Uint8Array;
  readonly keyIndex: number;
}

interface Parsed {
  readonly iv: Uint8Array;
  readonly body: Uint8Array;
  /** The keys whose id matches, in keyring order (two keys sharing an id is 1 in 2³²). */
  readonly candidates: readonly number[];
}
