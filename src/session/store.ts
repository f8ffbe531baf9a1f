/**
 * Server-side revocation for sealed sessions. A sealed cookie is valid until it
 * expires wherever it is presented; with a store, `destroy()` and `regenerate()`
 * record the old session's id, and a cookie carrying a revoked id opens as no
 * session (the replay after logout that iron-session cannot refuse, and that
 * CVE-2024-31999 was about in @fastify/secure-session).
 *
 * The store holds only revoked ids, each until the moment its session would have
 * expired anyway, so it stays small: its size is the number of logouts within one
 * absolute timeout.
 */

/**
 * Where revoked session ids are kept. Both methods may be synchronous or return a
 * promise; a store that throws fails the request (a 500) rather than letting a
 * revoked session through.
 */
export interface SessionStore {
  /** Records that session `id` is revoked; the record may be dropped after `until` (ms since the epoch). */
  revoke(id: string, until: number): void | Promise<void>;
  /** True when session `id` was revoked (and `until` has not passed). */
  isRevoked(id: string): boolean | Promise<boolean>;
}

/** Options of `MemorySessionStore`. */
export interface MemorySessionStoreOptions {
  /**
   * The clock, in milliseconds since the epoch. Default `Date.now`. When rampart runs
   * on a `clock` of its own (tests), give the store the same one: a revocation is kept
   * until a deadline computed on rampart's clock.
   */
  readonly clock?: () => number;
  /**
   * Most revocations held (about 100 bytes each). Default 1,000,000. When it is
   * reached after expired ones are swept, the first recorded revocations are forgotten
   * (and that is logged): their sessions are the closest to expiring anyway.
   */
  readonly maxEntries?: number;
  /** Where the warning about a full store goes. Default `console.warn`. */
  readonly warn?: (message: string) => void;
}

/**
 * A revocation store in this process's memory: right for one instance. Several
 * instances behind a load balancer need a shared store (Redis), or a session revoked
 * on one is still accepted by the others.
 *
 * @example
 * ```ts
 * const security = rampart({ session: { store: new MemorySessionStore() } })
 * ```
 */
export class MemorySessionStore implements SessionStore {
  readonly #revoked = new Map<string, number>();
  readonly #clock: () => number;
  readonly #maxEntries: number;
  readonly #warn: (message: string) => void;
  /** The size after the last sweep: the next sweep waits until the map has doubled. */
  #swept = 0;
  #warnedFull = false;

  constructor(options: MemorySessionStoreOptions = {}) {
    const clock = options.clock ?? Date.now;
    if (typeof clock !== 'function') throw new TypeError('rampart: MemorySessionStore: clock must be a function returning milliseconds.');
    const maxEntries = options.maxEntries ?? 1_000_000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError(`rampart: MemorySessionStore: maxEntries must be a whole number, at least 1.`);
    this.#clock = clock;
    this.#maxEntries = maxEntries;
    this.#warn = options.warn ?? ((message) => console.warn(message));
  }

  revoke(id: string, until: number): void {
    if (this.#revoked.size >= Math.min(this.#maxEntries, Math.max(1024, this.#swept * 2))) this.#sweep();
    if (this.#revoked.size >= this.#maxEntries && !this.#revoked.has(id)) {
      // The first recorded: a map keeps insertion order, so this is O(1) even when full.
      const oldest = this.#revoked.keys().next();
      if (!oldest.done) this.#revoked.delete(oldest.value);
      if (!this.#warnedFull) {
        this.#warnedFull = true;
        this.#warn(`rampart: MemorySessionStore is full (${this.#maxEntries} revocations); the oldest are being forgotten. Use a shared store, or raise maxEntries.`);
      }
    }
    this.#revoked.set(id, Math.max(until, this.#revoked.get(id) ?? 0));
  }

  isRevoked(id: string): boolean {
    const until = this.#revoked.get(id);
    if (until === undefined) return false;
    if (until > this.#clock()) return true;
    this.#revoked.delete(id);
    return false;
  }

  /** How many revocations are held (for tests and metrics). */
  get size(): number {
    return this.#revoked.size;
  }

  #sweep(): void {
    const now = this.#clock();
    for (const [id, until] of this.#revoked) if (until <= now) this.#revoked.delete(id);
    this.#swept = this.#revoked.size;
  }
}
