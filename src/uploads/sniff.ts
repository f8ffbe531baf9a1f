/**
 * The type of an upload, decided from its first bytes against an allowlist: the
 * client's `Content-Type` and file name are claims, never the answer. A small built-in
 * table rather than a general detector: general ones have looped forever on malformed
 * input, and only types a site chose to accept matter here.
 */

/** The types rampart can recognise, and what each is stored and served as. */
export const UPLOAD_TYPES = {
  'image/png': { extension: 'png', inline: true },
  'image/jpeg': { extension: 'jpg', inline: true },
  'image/gif': { extension: 'gif', inline: true },
  'image/webp': { extension: 'webp', inline: true },
  'application/pdf': { extension: 'pdf', inline: false },
  'application/zip': { extension: 'zip', inline: false },
  /** UTF-8 text without control characters (checked on the first 4 KiB): HTML, SVG and scripts included, which is why it is only ever a download. */
  'text/plain': { extension: 'txt', inline: false },
  /** Any bytes at all, served only as a download. */
  'application/octet-stream': { extension: 'bin', inline: false },
} as const;

/** A type an upload may be accepted as. */
export type UploadType = keyof typeof UPLOAD_TYPES;

/** How many leading bytes the decision needs at most. */
export const SNIFF_BYTES = 4096;

const SIGNATURES: readonly { type: UploadType; test: (bytes: Uint8Array) => boolean }[] = [
  { type: 'image/png', test: (bytes) => startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { type: 'image/jpeg', test: (bytes) => startsWith(bytes, [0xff, 0xd8, 0xff]) },
  { type: 'image/gif', test: (bytes) => startsWith(bytes, [0x47, 0x49, 0x46, 0x38]) && (bytes[4] === 0x37 || bytes[4] === 0x39) && bytes[5] === 0x61 },
  { type: 'image/webp', test: (bytes) => startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes.subarray(8), [0x57, 0x45, 0x42, 0x50]) },
  { type: 'application/pdf', test: (bytes) => startsWith(bytes, [0x25, 0x50, 0x44, 0x46, 0x2d]) },
  // A local file header, or the end record of an empty archive.
  { type: 'application/zip', test: (bytes) => startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06]) },
];

/**
 * The first allowed type `head` (the file's first bytes, all of it when shorter than
 * `SNIFF_BYTES`) is, or `undefined`. `complete` says `head` is the whole file.
 */
export function sniff(head: Uint8Array, allowed: ReadonlySet<UploadType>, complete: boolean): UploadType | undefined {
  for (const { type, test } of SIGNATURES) {
    if (test(head)) return allowed.has(type) ? type : allowed.has('application/octet-stream') ? 'application/octet-stream' : undefined;
  }
  if (allowed.has('text/plain') && isPlainText(head, complete)) return 'text/plain';
  if (allowed.has('application/octet-stream')) return 'application/octet-stream';
  return undefined;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  if (bytes.length < prefix.length) return false;
  for (let index = 0; index < prefix.length; index++) if (bytes[index] !== prefix[index]) return false;
  return true;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Valid UTF-8 (a sequence cut by the end of the window is fine) with no control
 * characters but tab, LF, FF and CR: no ESC or C1 controls, which would let a text file
 * drive the terminal of whoever prints it.
 */
function isPlainText(head: Uint8Array, complete: boolean): boolean {
  for (const byte of head) {
    if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d) || byte === 0x7f) return false;
  }
  let end = head.length;
  if (!complete) {
    // Drop a multi-byte sequence the window cut in two.
    let start = end - 1;
    while (start >= 0 && start > end - 4 && (head[start]! & 0xc0) === 0x80) start--;
    if (start >= 0 && head[start]! >= 0xc0) end = start;
  }
  try {
    // U+0080–U+009F: the C1 controls, written in UTF-8.
    return !/[\u0080-\u009f]/.test(textDecoder.decode(head.subarray(0, end)));
  } catch {
    return false;
  }
}
