/**
 * UTF-8 bodies for node responses, encoded once into shared slabs.
 *
 * `res.end(text)` makes node read a page three times: `Buffer.byteLength` for its
 * `Content-Length`, a copy to prepend the head, and the socket write's encoding.
 * For a page with any character above U+00FF (an em dash, an emoji, any non-Latin
 * script), V8 holds it as UTF-16 and each of those reads transcodes it: ~12 µs per
 * 10 KB page here, more than rendering it. Encoding once gives the length and the bytes
 * together.
 *
 * Pages are written one after another into a 64 KiB slab and sent as views of it, so a
 * page costs no allocation of its own. A slab is never written twice: once full, the
 * next page starts a new one, and the old one is freed when its last view has been
 * sent. (A client that stops reading keeps at most one slab alive through its pending
 * page, as it keeps the socket's own send buffer.) A view's `.buffer` is the whole slab,
 * other responses' pages included, as with node's own pool for small buffers: read a
 * body through the view (its offset and length), never through `.buffer`.
 */

import { Buffer } from 'node:buffer';

const SLAB_BYTES = 64 * 1024;
/** Larger pages get a buffer of their own: a slab would hold few of them. */
const OWN_BUFFER_CHARACTERS = SLAB_BYTES / 4;

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let used = 0;

/** `text` as UTF-8 bytes (lone surrogates as U+FFFD, as `Buffer.from` makes them). */
export function encodeUtf8(text: string): Buffer {
  if (text.length > OWN_BUFFER_CHARACTERS) return Buffer.from(text, 'utf8');
  const free = slab.length - used;
  let start = used;
  let written = slab.write(text, start);
  // The write stops at the end of the slab, at a character boundary: when fewer than 4
  // bytes are left, the text may not have fitted, so it is written again into a new slab.
  if (free - written < 4) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    start = 0;
    written = slab.write(text, 0);
    if (SLAB_BYTES - written < 4) {
      // Larger than a slab after all: the threshold above keeps this from happening.
      used = 0;
      return Buffer.from(text, 'utf8');
    }
  }
  // The next page starts 8-byte aligned.
  used = (start + written + 7) & ~7;
  return slab.subarray(start, start + written);
}
