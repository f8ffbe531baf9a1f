/**
 * The keyring: the first key signs and encrypts, every key verifies and decrypts,
 * so a new key can be put first and the old one kept until what it sealed expires.
 * Purpose-specific subkeys (sessions, CSRF) are derived from these with HKDF by the
 * modules that use them.
 */

import { decodeBase64Url, encodeBase64Url } from './_internal/base64.ts';
import { hkdfSync } from './_internal/crypto.ts';
import { describe } from './_internal/describe.ts';
import { environmentVariable } from './_internal/environment.ts';
import { randomBytes } from './_internal/random.ts';

/** A key: base64url text of at least 32 random bytes, or the bytes themselves. */
export type KeyInput = string | Uint8Array;

/** The validated keys, current first. */
export interface Keyring {
  readonly keys: readonly Uint8Array[];
  /** True when rampart generated the key for this process (development only). */
  readonly ephemeral: boolean;
}

const MIN_KEY_BYTES = 32;
const HOW_TO_GENERATE =
  'Generate one with: node -e "console.log(require(\'node:crypto\').randomBytes(32).toString(\'base64url\'))"';

/**
 * A new random key, as base64url text ready for `keys` or `RAMPART_KEYS`.
 *
 * @example
 * ```ts
 * console.log(generateKey()) // e.g. "q3J0b1k8..."; store it as a secret
 * ```
 */
export function generateKey(): string {
  return encodeBase64Url(randomBytes(MIN_KEY_BYTES));
}

function decodeKey(input: unknown, where: string): Uint8Array {
  let bytes: Uint8Array | null;
  if (input instanceof Uint8Array) bytes = input;
  else if (typeof input === 'string') bytes = decodeBase64Url(input.trim());
  else throw new TypeError(`rampart: ${where}: expected base64url text or a Uint8Array, got ${describe(input)}.`);
  // Key material is never echoed: a message may end up in a log.
  if (!bytes) throw new TypeError(`rampart: ${where}: the key is not base64url text. ${HOW_TO_GENERATE}`);
  if (bytes.length < MIN_KEY_BYTES) {
    throw new RangeError(`rampart: ${where}: the key has ${bytes.length} bytes; at least ${MIN_KEY_BYTES} random bytes are required. ${HOW_TO_GENERATE}`);
  }
  if (new Set(bytes).size < 12) {
    throw new RangeError(`rampart: ${where}: the key repeats too few distinct bytes to be random. ${HOW_TO_GENERATE}`);
  }
  return bytes;
}

/** Reads `RAMPART_KEYS` (comma-separated) when the `keys` option is absent. */
function keysFromEnvironment(): string[] | undefined {
  const value = environmentVariable('RAMPART_KEYS');
  return value ? value.split(',').map((key) => key.trim()).filter(Boolean) : undefined;
}

/** Validates the `keys` option (or `RAMPART_KEYS`); generates an ephemeral key in development. */
export function parseKeyring(option: unknown, production: boolean, warn: (message: string) => void): Keyring {
  const input = option ?? keysFromEnvironment();
  if (input === undefined) {
    if (production) {
      throw new TypeError(
        `rampart: keys: production mode needs at least one secret key (option keys, or the RAMPART_KEYS environment variable). ${HOW_TO_GENERATE}`,
      );
    }
    warn('rampart: no keys configured; using a random key for this process only. Sessions and tokens will not survive a restart. Set RAMPART_KEYS before production.');
    return { keys: [randomBytes(MIN_KEY_BYTES)], ephemeral: true };
  }
  const list = Array.isArray(input) ? (input as unknown[]) : [input];
  if (list.length === 0) throw new TypeError('rampart: keys: the keyring is empty; give at least one key.');
  const keys = list.map((key, index) => decodeKey(key, list.length === 1 ? 'keys' : `keys[${index}]`));
  const seen = new Set<string>();
  for (const [index, key] of keys.entries()) {
    const text = encodeBase64Url(key);
    if (seen.has(text)) throw new TypeError(`rampart: keys[${index}]: the same key is listed twice.`);
    seen.add(text);
  }
  return { keys, ephemeral: false };
}

/** A purpose subkey of one keyring key, and the id that names it in what it seals or signs. */
export interface Subkey {
  readonly id: Uint8Array;
  readonly key: Uint8Array;
}

const HKDF_SALT = new TextEncoder().encode('rampart');

/**
 * The subkeys for `purpose` (e.g. `"rampart session v1"`), one per keyring key,
 * current first: HKDF-SHA256 of each key, 32 bytes of key and 4 of id. Each purpose
 * gets unrelated keys, so a session seal can never pass for a CSRF token.
 */
export function deriveSubkeys(keyring: Keyring, purpose: string): Subkey[] {
  const info = new TextEncoder().encode(purpose);
  return keyring.keys.map((key) => {
    const material = hkdfSync(key, HKDF_SALT, info, 36);
    return { key: material.subarray(0, 32), id: material.subarray(32, 36) };
  });
}
