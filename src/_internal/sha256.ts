/**
 * SHA-256, HMAC-SHA256 and HKDF-SHA256 in plain JavaScript, synchronous: the
 * fallback for runtimes without node:crypto, where Web Crypto offers only promises.
 * CSRF tokens are minted while a page renders, which cannot wait for a promise.
 * `HmacSha256`, a key's MAC with its padded blocks hashed once, signs CSRF tokens on
 * every runtime (why: `hmacSha256IntoSync` in crypto.ts); node:crypto does the rest
 * wherever it exists. All of it is checked against the RFC vectors and against
 * node:crypto in the tests.
 *
 * Constant time: the work and every memory access depend on lengths only, never on the
 * key or the data (additions, rotations and logic on 32-bit words; `K` is indexed by
 * round).
 */

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** SHA-256 (FIPS 180-4) of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  const state = new Int32Array(8);
  finish(state, INITIAL, 0, data);
  const digest = new Uint8Array(32);
  wordsInto(state, digest, 0, 32);
  return digest;
}

/** HMAC-SHA256 (RFC 2104). */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  const mac = new Uint8Array(32);
  new HmacSha256(key).macInto(data, mac, 0, 32);
  return mac;
}

/** HKDF-SHA256 (RFC 5869): extract with `salt`, expand with `info` to `length` bytes (at most 8160). */
export function hkdfSha256(key: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length > 255 * 32) throw new RangeError('HKDF-SHA256 yields at most 8160 bytes.');
  const pseudorandomKey = hmacSha256(salt.length > 0 ? salt : new Uint8Array(32), key);
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let counter = 1, offset = 0; offset < length; counter++) {
    const input = new Uint8Array(previous.length + info.length + 1);
    input.set(previous);
    input.set(info, previous.length);
    input[input.length - 1] = counter;
    previous = hmacSha256(pseudorandomKey, input);
    out.set(previous.subarray(0, Math.min(32, length - offset)), offset);
    offset += 32;
  }
  return out;
}

/** SHA-256's initial hash value (FIPS 180-4 §5.3.3). */
const INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** The message schedule of `compress`, as signed 32-bit words (the arithmetic below is `| 0`). */
const SCHEDULE = new Int32Array(64);

/** One SHA-256 compression of the block in `SCHEDULE[0..15]` into `state`. */
function compress(state: Int32Array): void {
  const w = SCHEDULE;
  for (let t = 16; t < 64; t++) {
    const w15 = w[t - 15]!, w2 = w[t - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const temp1 = (h + S1 + ((e & f) ^ (~e & g)) + K[t]! + w[t]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const temp2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g; g = f; f = e; e = (d + temp1) | 0; d = c; c = b; b = a; a = (temp1 + temp2) | 0;
  }
  state[0] = (state[0]! + a) | 0; state[1] = (state[1]! + b) | 0; state[2] = (state[2]! + c) | 0; state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0; state[5] = (state[5]! + f) | 0; state[6] = (state[6]! + g) | 0; state[7] = (state[7]! + h) | 0;
}

/**
 * Hashes `data` on from `start` (the hash of the 64 bytes before it, or the initial
 * value), padded as a message of `prefixBytes + data.length` bytes, into `state`.
 */
function finish(state: Int32Array, start: Int32Array | readonly number[], prefixBytes: number, data: Uint8Array): void {
  for (let index = 0; index < 8; index++) state[index] = start[index]!;
  const length = data.length;
  const blocks = (length + 9 + 63) >> 6;
  const bits = (prefixBytes + length) * 8;
  for (let block = 0, offset = 0; block < blocks; block++, offset += 64) {
    for (let t = 0; t < 16; t++) {
      const at = offset + t * 4;
      if (at + 3 < length) {
        SCHEDULE[t] = (data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!;
        continue;
      }
      // The message's last bytes, its 0x80 and zeros.
      let word = 0;
      for (let byte = at; byte < at + 4; byte++) word = (word << 8) | (byte < length ? data[byte]! : byte === length ? 0x80 : 0);
      SCHEDULE[t] = word;
    }
    if (block === blocks - 1) {
      SCHEDULE[14] = Math.floor(bits / 0x100000000);
      SCHEDULE[15] = bits | 0;
    }
    compress(state);
  }
}

/** HMAC-SHA256 with one key, its padded key blocks hashed once (RFC 2104 §4's precomputation). */
export class HmacSha256 {
  /** The hash state after the inner and the outer padded key block. */
  readonly #inner = new Int32Array(8);
  readonly #outer = new Int32Array(8);
  readonly #state = new Int32Array(8);
  readonly #digest = new Uint8Array(32);

  constructor(key: Uint8Array) {
    const block = new Uint8Array(64);
    block.set(key.length > 64 ? sha256(key) : key);
    for (const [state, pad] of [[this.#inner, 0x36], [this.#outer, 0x5c]] as const) {
      for (let t = 0; t < 16; t++) {
        const at = t * 4;
        SCHEDULE[t] = ((block[at]! ^ pad) << 24) | ((block[at + 1]! ^ pad) << 16) | ((block[at + 2]! ^ pad) << 8) | (block[at + 3]! ^ pad);
      }
      for (let index = 0; index < 8; index++) state[index] = INITIAL[index]!;
      compress(state);
    }
    block.fill(0);
    SCHEDULE.fill(0);
  }

  /** The first `length` bytes (at most 32) of the MAC of `data`, written into `out` at `offset`. */
  macInto(data: Uint8Array, out: Uint8Array, offset: number, length: number): void {
    const state = this.#state;
    const digest = this.#digest;
    finish(state, this.#inner, 64, data);
    wordsInto(state, digest, 0, 32);
    finish(state, this.#outer, 64, digest);
    wordsInto(state, out, offset, length);
    digest.fill(0);
  }
}

/** The first `length` bytes of the big-endian words of `state`, into `out` at `offset`. */
function wordsInto(state: Int32Array, out: Uint8Array, offset: number, length: number): void {
  for (let index = 0; index < length; index++) out[offset + index] = state[index >> 2]! >>> (24 - (index & 3) * 8);
}
