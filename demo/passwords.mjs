// Password hashing with scrypt at the parameters OWASP's Password Storage Cheat Sheet
// recommends (N = 2^17, r = 8, p = 1), from node:crypto. A hash records its parameters,
// so they can be raised later without breaking existing accounts.
import { Buffer } from 'node:buffer';
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const N = 2 ** 17;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
// 128 * N * r bytes of memory, plus headroom: node's default cap (32 MiB) is below it.
const MAX_MEMORY = 256 * 1024 * 1024;

function derive(password, salt, n, r, p) {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_BYTES, { N: n, r, p, maxmem: MAX_MEMORY }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** `scrypt$N$r$p$salt$key`, salt and key in base64url. */
export async function hashPassword(password) {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

// Verifying against this when the user does not exist takes as long as a real check,
// so response times do not tell which user names exist.
const DUMMY = `scrypt$${N}$${R}$${P}$${randomBytes(16).toString('base64url')}$${randomBytes(KEY_BYTES).toString('base64url')}`;

/** True when `password` matches `stored` (or `false`, after the same work, when `stored` is undefined). */
export async function verifyPassword(password, stored) {
  const [scheme, n, r, p, salt, key] = (stored ?? DUMMY).split('$');
  if (scheme !== 'scrypt' || key === undefined) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return stored !== undefined && actual.length === expected.length && timingSafeEqual(actual, expected);
}
