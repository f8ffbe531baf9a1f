/** The small pieces of HTTP's grammar (RFC 9110 §5.6) that header readers share. */

/** RFC 9110 `tchar`, by character code. */
const TOKEN_CHARACTERS = ((): Uint8Array => {
  const table = new Uint8Array(128);
  for (const character of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") table[character.charCodeAt(0)] = 1;
  return table;
})();

/** True for a character of an RFC 9110 `token` (a header name, a parameter or directive name). */
export function isTokenCharacter(code: number): boolean {
  return code < 128 && TOKEN_CHARACTERS[code] === 1;
}

/** The index of the first character at or after `from` that is not a space or tab (RFC 9110 OWS). */
export function skipSpaces(text: string, from: number): number {
  while (from < text.length && isSpace(text.charCodeAt(from))) from++;
  return from;
}

/** Strips spaces and tabs only (RFC 9110 OWS), not every Unicode space as `trim` does. */
export function trimSpaces(text: string): string {
  const start = skipSpaces(text, 0);
  let end = text.length;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}
