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

import { decodeBase64Url, encodeBase64Url } from '../_internal/base64.ts';
import { cryptoPrimitive, newIv, type SyncCryptoPrimitive } from '../_internal/crypto.ts';
import type { Keyring } from '../keys.ts';

/** A purpose subkey of one keyring key, and the id that names it in a seal. */
export interface SealKey {
  readonly id: Uint8Array;
  readonly key: Uint8Array;
}

const VERSION = 1;
const HEADER_BYTES = 1 + 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The smallest seal: a header, an IV and the tag of an empty plaintext. */
export const MIN_SEAL_BYTES = HEADER_BYTES + IV_BYTES + TAG_BYTES;

const encoder = new TextEncoder();
const HKDF_SALT = encoder.encode('rampart');

function splitSubkey(material: Uint8Array): SealKey {
  return { key: material.subarray(0, 32), id: material.subarray(32, 36) };
}

/**
 * The subkeys for `purpose` (e.g. `"rampart session v1"`), one per keyring key,
 * current first: HKDF-SHA256 of each key, 32 bytes of key and 4 of id.
 * Synchronous where the runtime's crypto is.
 */
export function deriveSealKeys(keyring: Keyring, purpose: string): SealKey[] | Promise<SealKey[]> {
  const info = encoder.encode(purpose);
  const sync = cryptoPrimitive.sync;
  if (sync) return keyring.keys.map((key) => splitSubkey(sync.hkdf(key, HKDF_SALT, info, 36)));
  return Promise.all(keyring.keys.map(async (key) => splitSubkey(await cryptoPrimitive.hkdf(key, HKDF_SALT, info, 36))));
}

function associatedData(header: Uint8Array, cookieName: string): Uint8Array {
  const name = encoder.encode(cookieName);
  const aad = new Uint8Array(header.length + name.length);
  aad.set(header);
  aad.set(name, header.length);
  return aad;
}

function header(key: SealKey): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  bytes[0] = VERSION;
  bytes.set(key.id, 1);
  return bytes;
}

function assemble(head: Uint8Array, iv: Uint8Array, body: Uint8Array): string {
  const bytes = new Uint8Array(head.length + iv.length + body.length);
  bytes.set(head);
  bytes.set(iv, head.length);
  bytes.set(body, head.length + iv.length);
  return encodeBase64Url(bytes);
}

/** The length, in base64url characters, of the seal of a `plaintextBytes`-byte plaintext. */
export function sealedLength(plaintextBytes: number): number {
  return Math.ceil(((MIN_SEAL_BYTES + plaintextBytes) * 4) / 3);
}

/** Seals `plaintext` under the current key (`keys[0]`), synchronously. */
export function sealSync(sync: SyncCryptoPrimitive, keys: readonly SealKey[], cookieName: string, plaintext: Uint8Array): string {
  const key = keys[0]!;
  const head = header(key);
  const iv = newIv();
  return assemble(head, iv, sync.aesGcmEncrypt(key.key, iv, plaintext, associatedData(head, cookieName)));
}

/** Seals `plaintext` under the current key (`keys[0]`). */
export async function seal(keys: readonly SealKey[], cookieName: string, plaintext: Uint8Array): Promise<string> {
  const key = keys[0]!;
  const head = header(key);
  const iv = newIv();
  return assemble(head, iv, await cryptoPrimitive.aesGcmEncrypt(key.key, iv, plaintext, associatedData(head, cookieName)));
}

/** Why a seal did not open. Each is logged once, never shown to the client. */
export type SealFailure = 'malformed' | 'unknown_key' | 'tampered';

/** An opened seal: the plaintext, and which keyring key sealed it (0 is current). */
export interface Opened {
  readonly plaintext: Uint8Array;
  readonly keyIndex: number;
}

interface Parsed {
  readonly head: Uint8Array;
  readonly iv: Uint8Array;
  readonly body: Uint8Array;
  /** The keys whose id matches, in keyring order (two keys sharing an id is 1 in 2³²). */
  readonly candidates: readonly number[];
}

function parse(keys: readonly SealKey[], text: string, maxLength: number): Parsed | SealFailure {
  if (text.length < sealedLength(0) - 1 || text.length > maxLength) return 'malformed';
  const bytes = decodeBase64Url(text);
  if (bytes === null || bytes.length < MIN_SEAL_BYTES || bytes[0] !== VERSION) return 'malformed';
  const candidates: number[] = [];
  for (let index = 0; index < keys.length; index++) {
    const id = keys[index]!.id;
    if (bytes[1] === id[0] && bytes[2] === id[1] && bytes[3] === id[2] && bytes[4] === id[3]) candidates.push(index);
  }
  if (candidates.length === 0) return 'unknown_key';
  return {
    head: bytes.subarray(0, HEADER_BYTES),
    iv: bytes.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES),
    body: bytes.subarray(HEADER_BYTES + IV_BYTES),
    candidates,
  };
}

/** Opens a seal synchronously; a failure reason for anything that is not one of ours. */
export function openSync(sync: SyncCryptoPrimitive, keys: readonly SealKey[], cookieName: string, text: string, maxLength: number): Opened | SealFailure {
  const parsed = parse(keys, text, maxLength);
  if (typeof parsed === 'string') return parsed;
  const aad = associatedData(parsed.head, cookieName);
  for (const keyIndex of parsed.candidates) {
    const plaintext = sync.aesGcmDecrypt(keys[keyIndex]!.key, parsed.iv, parsed.body, aad);
    if (plaintext !== null) return { plaintext, keyIndex };
  }
  return 'tampered';
}

/** Opens a seal; a failure reason for anything that is not one of ours. */
export async function open(keys: readonly SealKey[], cookieName: string, text: string, maxLength: number): Promise<Opened | SealFailure> {
  const parsed = parse(keys, text, maxLength);
  if (typeof parsed === 'string') return parsed;
  const aad = associatedData(parsed.head, cookieName);
  for (const keyIndex of parsed.candidates) {
    const plaintext = await cryptoPrimitive.aesGcmDecrypt(keys[keyIndex]!.key, parsed.iv, parsed.body, aad);
    if (plaintext !== null) return { plaintext, keyIndex };
  }
  return 'tampered';
}
