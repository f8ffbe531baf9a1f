/**
 * `readJson`: the body of a JSON request, refused unless it says it is JSON. A form
 * from another site can send `enctype="text/plain"` with a body that happens to be
 * valid JSON, without a preflight; a handler that parses whatever arrives would act on
 * it. CSRF protection stops such requests already; this keeps them out even on a route
 * where it was turned off.
 */

import { readLimited } from '../_internal/body.ts';
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
  const bytes = await readLimited(request, limit);
  if (bytes === 'too_large') throw new RampartError('json_too_large');
  if (bytes === 'unreadable') throw new RampartError('json_malformed');
  try {
    return JSON.parse(strictUtf8.decode(bytes));
  } catch (error) {
    throw new RampartError('json_malformed', { cause: error });
  }
}

/** UTF-8 that refuses malformed bytes (RFC 8259 §8.1). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
