/** Plumbing shared by the Hono adapters. */

import type { Context } from 'hono';

/**
 * Makes `response` the context's response as it is. Hono's `c.res = …` copies the old
 * response's headers over the new one's, which would put back what rampart stripped
 * (`X-Powered-By`, `Public-Key-Pins`) and its cookies over rampart's; cleared first,
 * there is nothing to copy.
 */
export function replaceResponse(c: Context, response: Response): void {
  c.res = undefined;
  c.res = response;
}
