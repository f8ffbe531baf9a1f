/**
 * base64url without padding (RFC 4648 §5), in plain JavaScript so the core needs
 * no `Buffer`. Used for nonces and keys: short inputs, so a table loop is as fast
 * as anything the runtime offers.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const DECODE = new Int16Array(128).fill(-1);
for (let index = 0; index < ALPHABET.length; index++) DECODE[ALPHABET.charCodeAt(index)] = index;

export function encodeBase64Url(bytes: Uint8Array): string {
  let out = '';
  let index = 0;
  const whole = bytes.length - (bytes.length % 3);
  for (; index < whole; index += 3) {
    const chunk = (bytes[index]! << 16) | (bytes[index + 1]! << 8) | bytes[index + 2]!;
    out +=
      ALPHABET[(chunk >> 18) & 63]! +
      ALPHABET[(chunk >> 12) & 63]! +
      ALPHABET[(chunk >> 6) & 63]! +
      ALPHABET[chunk & 63]!;
  }
  const rest = bytes.length - whole;
  if (rest === 1) {
    const chunk = bytes[index]! << 16;
    out += ALPHABET[(chunk >> 18) & 63]! + ALPHABET[(chunk >> 12) & 63]!;
  } else if (rest === 2) {
    const chunk = (bytes[index]! << 16) | (bytes[index + 1]! << 8);
    out += ALPHABET[(chunk >> 18) & 63]! + ALPHABET[(chunk >> 12) & 63]! + ALPHABET[(chunk >> 6) & 63]!;
  }
  return out;
}

const ALPHABET_CODES = Array.from(ALPHABET, (character) => character.charCodeAt(0));

/**
 * base64url of exactly 16 bytes (22 characters), the nonce of every response:
 * one `String.fromCharCode` call instead of 22 concatenations.
 */
export function encodeNonce(bytes: Uint8Array): string {
  const codes = ALPHABET_CODES;
  let b0: number, b1: number, b2: number;
  const c = (index: number): number => codes[index]!;
  b0 = bytes[0]!; b1 = bytes[1]!; b2 = bytes[2]!;
  const x0 = c(b0 >> 2), x1 = c(((b0 & 3) << 4) | (b1 >> 4)), x2 = c(((b1 & 15) << 2) | (b2 >> 6)), x3 = c(b2 & 63);
  b0 = bytes[3]!; b1 = bytes[4]!; b2 = bytes[5]!;
  const x4 = c(b0 >> 2), x5 = c(((b0 & 3) << 4) | (b1 >> 4)), x6 = c(((b1 & 15) << 2) | (b2 >> 6)), x7 = c(b2 & 63);
  b0 = bytes[6]!; b1 = bytes[7]!; b2 = bytes[8]!;
  const x8 = c(b0 >> 2), x9 = c(((b0 & 3) << 4) | (b1 >> 4)), x10 = c(((b1 & 15) << 2) | (b2 >> 6)), x11 = c(b2 & 63);
  b0 = bytes[9]!; b1 = bytes[10]!; b2 = bytes[11]!;
  const x12 = c(b0 >> 2), x13 = c(((b0 & 3) << 4) | (b1 >> 4)), x14 = c(((b1 & 15) << 2) | (b2 >> 6)), x15 = c(b2 & 63);
  b0 = bytes[12]!; b1 = bytes[13]!; b2 = bytes[14]!;
  const x16 = c(b0 >> 2), x17 = c(((b0 & 3) << 4) | (b1 >> 4)), x18 = c(((b1 & 15) << 2) | (b2 >> 6)), x19 = c(b2 & 63);
  b0 = bytes[15]!;
  const x20 = c(b0 >> 2), x21 = c((b0 & 3) << 4);
  return String.fromCharCode(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15, x16, x17, x18, x19, x20, x21);
}

/**
 * Decodes base64url (padding tolerated, `+` and `/` accepted for keys pasted from
 * standard base64). Returns `null` on any other character or an impossible length.
 */
export function decodeBase64Url(text: string): Uint8Array | null {
  return decode(text, false);
}

/**
 * Decodes canonical base64url only: no padding, no `+` or `/`, unused trailing bits
 * zero. What rampart itself encoded (seals, tokens, bindings) has exactly one
 * spelling, so a value cannot be varied without being refused.
 */
export function decodeBase64UrlStrict(text: string): Uint8Array | null {
  return decode(text, true);
}

function decode(text: string, strict: boolean): Uint8Array | null {
  let end = text.length;
  if (!strict) while (end > 0 && text.charCodeAt(end - 1) === 0x3d /* = */) end--;
  if (end % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let written = 0;
  for (let index = 0; index < end; index++) {
    let code = text.charCodeAt(index);
    if (!strict && code === 0x2b /* + */) code = 0x2d;
    else if (!strict && code === 0x2f /* / */) code = 0x5f;
    const value = code < 128 ? DECODE[code]! : -1;
    if (value < 0) return null;
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[written++] = (buffer >> bits) & 0xff;
    }
  }
  if (strict && (buffer & ((1 << bits) - 1)) !== 0) return null;
  return out;
}
