/**
 * Random bytes from a pooled buffer.
 *
 * `crypto.getRandomValues` is the Web Crypto CSPRNG available in every runtime we
 * support; it is synchronous and cheap, but each call has a fixed cost, so we draw
 * 4 KiB at a time and hand out slices. The pool is refilled before any byte is
 * reused, so no two callers ever see the same bytes.
 */

const POOL_SIZE = 4096;
const pool: Uint8Array<ArrayBuffer> = new Uint8Array(POOL_SIZE);
let offset = POOL_SIZE;

/** Fills `target` with cryptographically secure random bytes. */
export function fillRandom(target: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const length = target.length;
  if (length > POOL_SIZE) return crypto.getRandomValues(target);
  if (offset + length > POOL_SIZE) {
    crypto.getRandomValues(pool);
    offset = 0;
  }
  // Copy and wipe what we hand out, so a later bug that reads the pool cannot replay it.
  for (let index = 0; index < length; index++) {
    target[index] = pool[offset + index]!;
    pool[offset + index] = 0;
  }
  offset += length;
  return target;
}

/** Returns `length` fresh random bytes. */
export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  return fillRandom(new Uint8Array(length));
}
