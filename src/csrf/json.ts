/**
 * `readJson`: the body of a JSON request, refused unless it says it is JSON. A form
 * from another site can send `enctype="text/plain"` with a body that happens to be
 * valid JSON, without a preflight; a handler that parses whatever arrives would act on
 * it. CSRF protection stops such requests already; this keeps them out even on a route
 * where it was turned off.
 */

import { RampartError } from '../errors.ts';
import { parseContentType } from './form.ts';

/** Options of `readJson`. */
export interface ReadJsonOptions {
  /** Most bytes read. Default 1 MiB (`json_too_large`, 413, beyond). */
  readonly limit?: number;
}

/**
 * Reads and parses a JSON request body: `application/json` or any `+json` type only
 * (`json_media_type`, 415, otherwise), at most `limit` bytes, valid UTF-8 JSON
 * (`json_malformed`, 400).
 *
 * @example
 * ```ts
 * const item = await readJson(request)   // throws a RampartError the adapters answer
 * ```
 */
export async function readJson(request: Request, options: ReadJsonOptions = {}): Promise<unknown> {
  const limit = options.limit ?? 1024 * 1024;
  const { type } = parseContentType(request.headers.get('content-type') ?? undefined);
  if (type !== 'application/json' && !/^application\/[\w.+-]+\+json$/.test(type)) throw new RampartError('json_media_type');
  const declared = Number(request.headers.get('content-length'));
  if (declared > limit) throw new RampartError('json_too_large');
  const chunks: Uint8Array[] = [];
  let length = 0;
  if (request.body !== null) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.length;
      if (length > limit) {
        await reader.cancel();
        throw new RampartError('json_too_large');
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new RampartError('json_malformed', { cause: error });
  }
}
