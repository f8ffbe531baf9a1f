/**
 * The byte-search primitive of the multipart parser: where a delimiter next occurs
 * in a chunk of the body.
 *
 * Why two implementations: the parser spends nearly all its time here, and Node's
 * `Buffer.prototype.indexOf` (a native substring search) is several times faster
 * than anything written in JavaScript (DESIGN.md, "The core speaks Web standards").
 * It is reached through `process.getBuiltinModule`, not an import, so the core still
 * compiles without Node's types and still loads on runtimes without it. Elsewhere a
 * native scan for the delimiter's first byte (`\r`) and a comparison of the rest is
 * used: linear in practice, at most the delimiter's length (≤ 74 bytes) per `\r`.
 */

/** The index of `needle` in `haystack` at or after `from`, or -1. */
export type IndexOfBytes = (haystack: Uint8Array, needle: Uint8Array, from: number) => number;

/** The portable search (exported for tests). */
export function portableIndexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  const length = needle.length;
  const last = haystack.length - length;
  let position = haystack.indexOf(first, from);
  while (position !== -1 && position <= last) {
    let matched = 1;
    while (matched < length && haystack[position + matched] === needle[matched]) matched++;
    if (matched === length) return position;
    position = haystack.indexOf(first, position + 1);
  }
  return -1;
}

function findNodeIndexOf(): IndexOfBytes | undefined {
  const runtime = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    const module = runtime?.getBuiltinModule?.('node:buffer') as { Buffer?: { prototype: { indexOf: unknown } } } | undefined;
    const indexOf = module?.Buffer?.prototype.indexOf as ((this: Uint8Array, value: Uint8Array, from: number) => number) | undefined;
    if (indexOf === undefined) return undefined;
    // Buffer's method works on any Uint8Array `this`, so chunks from Web streams need no copy.
    return (haystack, needle, from) => indexOf.call(haystack, needle, from);
  } catch {
    return undefined;
  }
}

/** Node's native search where the runtime has it, the portable one elsewhere. */
export const indexOfBytes: IndexOfBytes = findNodeIndexOf() ?? portableIndexOf;
