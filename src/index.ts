/**
 * rampart: the security layer of "Best Practices For Flask Security", for
 * TypeScript. This entry holds the instance and its types; each practice has its
 * own subpath (`rampart/headers`, `rampart/errors`, `rampart/adapters/*`).
 *
 * @example
 * ```ts
 * import { rampart } from 'rampart'
 * import { rampartExpress } from 'rampart/adapters/express'
 *
 * const security = rampart({ origin: 'https://example.com' })
 * app.use(rampartExpress(security))
 * ```
 *
 * @packageDocumentation
 */

export { rampart, Rampart, RequestContext, HeaderPolicy } from './rampart.ts';
export type { RampartOptions, IncomingRequest, Logger } from './rampart.ts';
export { generateKey } from './keys.ts';
export type { KeyInput } from './keys.ts';
export type { TrustProxyOption } from './proxy.ts';
export { RampartError } from './errors.ts';
export type { RampartErrorCode } from './errors.ts';
export { NONCE, CSP } from './headers/csp.ts';
export type { HeadersOptions, HeaderOverrides } from './headers/policy.ts';
export type { ReportsOptions, CspViolation } from './headers/reports.ts';
