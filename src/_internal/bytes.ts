/** Byte helpers shared by the modules that read bodies in chunks. */

/** The chunks as one array (the chunk itself when there is only one). `length` is their total, when known. */
export function concatBytes(chunks: readonly Uint8Array[], length = chunks.reduce((total, chunk) => total + chunk.length, 0)): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return joined;
}
