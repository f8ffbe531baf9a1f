/**
 * Reading a Web `Request` body with a limit, shared by the modules that read whole
 * bodies (violation reports, `readJson`).
 */

import { concatBytes } from './bytes.ts';

/** The body, or why there is none: over the limit, or the stream failed (client gone). */
export async function readLimited(request: Request, limit: number): Promise<Uint8Array | 'too_large' | 'unreadable'> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) return 'too_large';
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      return 'unreadable';
    }
    const { done, value } = chunk;
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      return 'too_large';
    }
    chunks.push(value);
  }
  return chunks.length === 0 ? new Uint8Array(0) : concatBytes(chunks, total);
}
