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

/**
 * Decodes base64url (padding tolerated, `+` and `/` accepted for keys pasted from
 * standard base64). Returns `null` on any other character or an impossible length.
 */
export function decodeBase64Url(text: string): Uint8Array | null {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d /* = */) end--;
  if (end % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let written = 0;
  for (let index = 0; index < end; index++) {
    let code = text.charCodeAt(index);
    if (code === 0x2b /* + */) code = 0x2d;
    else if (code === 0x2f /* / */) code = 0x5f;
    const value = code < 128 ? DECODE[code]! : -1;
    if (value < 0) return null;
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[written++] = (buffer >> bits) & 0xff;
    }
  }
  return out;
}
