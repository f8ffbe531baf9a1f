/**
 * Sealed cookie sessions (the seed's fourth practice): AES-256-GCM under a subkey of
 * the keyring, `__Host-` cookies that are Secure, HttpOnly and SameSite=Lax, idle
 * and absolute timeouts, `regenerate()` on login, `destroy()` on logout, and
 * optional server-side revocation. Reach a request's session with
 * `await context.session()`; configure sessions with `rampart({ session: { ... } })`.
 *
 * @packageDocumentation
 */

export { Session } from './session.ts';
export type { JsonValue, SessionData, SessionOptions, SessionShape } from './session.ts';
export { MemorySessionStore } from './store.ts';
export type { MemorySessionStoreOptions, SessionStore } from './store.ts';
