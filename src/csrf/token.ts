/**
 * CSRF tokens: stateless HMACs bound to the browser's binding value, fresh on every
 * render, all valid until they expire.
 *
 * Layout (then base64url, 50 characters):
 *
 *     version (1) | key id (4) | nonce (12) | issued at (4, seconds) | MAC (16)
 *     MAC = HMAC-SHA256(subkey, version | key id | nonce | issued at | binding)[0..16]
 *
 * The subkey is HKDF("rampart csrf v1") of a keyring key, unrelated to the session's.
 * The binding (32 random bytes from the `__Host-csrf` cookie) has a fixed length, so
 * the MAC input is unambiguous. The nonce makes every token different even within one
 * second, so a compressed HTTPS response never repeats a secret (BREACH); nothing is
 * stored, so every unexpired token verifies: several tabs and the Back button work.
 */

import { decodeBase64UrlStrict, encodeBase64Url } from '../_internal/base64.ts';
import { hmacSha256IntoSync } from '../_internal/crypto.ts';
import { fillRandom } from '../_internal/random.ts';
import { deriveSubkeys, type Keyring, type Subkey } from '../keys.ts';

const VERSION = 1;
const SIGNED_BYTES = 1 + 4 + 12 + 4;
const MAC_BYTES = 16;
const TOKEN_BYTES = SIGNED_BYTES + MAC_BYTES;
/** Every token has exactly this many characters. */
export const TOKEN_LENGTH = Math.ceil((TOKEN_BYTES * 4) / 3);
/** Bytes of the binding value. */
export const BINDING_BYTES = 32;
/** A token issued this far in the future (clock skew between instances) is still accepted. */
const SKEW_SECONDS = 60;

/** Why a token did not verify. */
export type TokenFailure = 'malformed' | 'invalid' | 'expired';

export class CsrfTokens {
  readonly #keys: readonly Subkey[];
  readonly #clock: () => number;
  readonly #maxAge: number;
  /** One buffer for the MAC input: version … issued at, then the binding. */
  readonly #input = new Uint8Array(SIGNED_BYTES + BINDING_BYTES);
  /** One buffer for a computed MAC. */
  readonly #mac = new Uint8Array(MAC_BYTES);
  readonly #nonce = new Uint8Array(12);

  constructor(keyring: Keyring, clock: () => number, maxAgeSeconds: number) {
    this.#keys = deriveSubkeys(keyring, 'rampart csrf v1');
    this.#clock = clock;
    this.#maxAge = maxAgeSeconds;
  }

  /** A fresh token for `binding`, under the current key. */
  mint(binding: Uint8Array): string {
    const key = this.#keys[0]!;
    const token = new Uint8Array(TOKEN_BYTES);
    token[0] = VERSION;
    token[1] = key.id[0]!;
    token[2] = key.id[1]!;
    token[3] = key.id[2]!;
    token[4] = key.id[3]!;
    const nonce = fillRandom(this.#nonce);
    for (let index = 0; index < 12; index++) token[5 + index] = nonce[index]!;
    const issued = Math.floor(this.#clock() / 1000);
    token[17] = issued >>> 24;
    token[18] = (issued >>> 16) & 0xff;
    token[19] = (issued >>> 8) & 0xff;
    token[20] = issued & 0xff;
    this.#sign(key, token, binding);
    for (let index = 0; index < MAC_BYTES; index++) token[SIGNED_BYTES + index] = this.#mac[index]!;
    return encodeBase64Url(token);
  }

  /** `true` when `token` was minted by this keyring for `binding` and has not expired. */
  verify(text: string, binding: Uint8Array): true | TokenFailure {
    if (text.length !== TOKEN_LENGTH) return 'malformed';
    const token = decodeBase64UrlStrict(text);
    if (token === null || token.length !== TOKEN_BYTES || token[0] !== VERSION) return 'malformed';
    let valid = false;
    for (const key of this.#keys) {
      if (key.id[0] !== token[1] || key.id[1] !== token[2] || key.id[2] !== token[3] || key.id[3] !== token[4]) continue;
      this.#sign(key, token, binding);
      // Constant time: every byte is compared whatever the first difference.
      let difference = 0;
      for (let index = 0; index < MAC_BYTES; index++) difference |= this.#mac[index]! ^ token[SIGNED_BYTES + index]!;
      if (difference === 0) valid = true;
    }
    if (!valid) return 'invalid';
    // The time is read only from an authentic token.
    const issued = ((token[17]! << 24) | (token[18]! << 16) | (token[19]! << 8) | token[20]!) >>> 0;
    const now = Math.floor(this.#clock() / 1000);
    if (issued > now + SKEW_SECONDS) return 'invalid';
    if (now - issued > this.#maxAge) return 'expired';
    return true;
  }

  /** The MAC of `token`'s signed bytes and `binding`, into `#mac`. */
  #sign(key: Subkey, token: Uint8Array, binding: Uint8Array): void {
    const input = this.#input;
    for (let index = 0; index < SIGNED_BYTES; index++) input[index] = token[index]!;
    for (let index = 0; index < BINDING_BYTES; index++) input[SIGNED_BYTES + index] = binding[index]!;
    hmacSha256IntoSync(key.key, input, this.#mac, 0, MAC_BYTES);
  }
}

/** A new binding value, as the cookie carries it. */
export function newBinding(): string {
  return encodeBase64Url(fillRandom(new Uint8Array(BINDING_BYTES)));
}

/** The binding bytes of a cookie value, or `undefined` when it is not one of ours. */
export function decodeBinding(value: string | undefined): Uint8Array | undefined {
  if (value === undefined || value.length !== 43) return undefined;
  const bytes = decodeBase64UrlStrict(value);
  return bytes !== null && bytes.length === BINDING_BYTES ? bytes : undefined;
}
