/**
 * The client's file name, kept only as text to show: it never reaches a path. What is
 * kept is what a person would recognise, without what would deceive them or break a
 * header: the last path segment, NFC, no control, bidirectional or invisible
 * characters, at most a given number of UTF-8 bytes.
 */

// Controls (C0, C1, DEL) and format characters: bidirectional overrides, embeddings,
// isolates and marks (`gpj.exe` shown as `exe.jpg`), zero-width characters, the BOM,
// soft hyphens, tag characters; line and paragraph separators; and the characters
// that render as nothing (combining grapheme joiner, Hangul fillers, variation selectors).
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0]|\p{Variation_Selector}|\u034f/gu;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const encoder = new TextEncoder();

/** The display name of a client file name: its last segment, cleaned and capped; `'file'` when nothing is left. */
export function displayName(raw: string, maxBytes: number): string {
  // Browsers send a quote in a file name as %22 (the HTML standard's encoding).
  const cleaned = raw
    .replaceAll('%22', '"')
    .normalize('NFC').replace(HIDDEN, '').replace(LONE_SURROGATE, '\ufffd');
  const segment = cleaned.slice(Math.max(cleaned.lastIndexOf('/'), cleaned.lastIndexOf('\\')) + 1).trim();
  const capped = capBytes(segment, maxBytes);
  return capped === '' || capped === '.' || capped === '..' ? 'file' : capped;
}

/** `text` cut to at most `maxBytes` of UTF-8, on a character boundary. */
function capBytes(text: string, maxBytes: number): string {
  if (encoder.encode(text).length <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const character of text) {
    const size = encoder.encode(character).length;
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += character.length;
  }
  return text.slice(0, end);
}

/**
 * A `Content-Disposition` value (RFC 6266): an ASCII `filename` for old clients, with
 * everything outside a safe set replaced, and the exact name in `filename*`.
 */
export function contentDisposition(kind: 'attachment' | 'inline', name: string): string {
  const ascii = name.replace(/[^A-Za-z0-9 ._()-]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
