/**
 * CSRF protection (the seed's second practice), on for every route of every adapter:
 * where the request comes from (`Sec-Fetch-Site`, `Origin`, `Referer`) before any byte
 * of the body is read, then a stateless token bound to the browser. Configure it with
 * `rampart({ csrf: { ... } })`; mint tokens with `context.csrfToken()`,
 * `context.csrfField()` and `context.csrfMeta()`.
 *
 * @packageDocumentation
 */

export { readJson } from './json.ts';
export type { ReadJsonOptions } from './json.ts';
export type { CsrfOptions, CsrfRefusal } from './csrf.ts';
