/**
 * Sealed cookie sessions: the session's data lives in the cookie itself, sealed
 * (AES-256-GCM) so the client can neither read nor change it, which lets any number
 * of app instances share sessions with only the keyring in common.
 *
 * Lifetimes follow OWASP's session management cheat sheet: an idle timeout (30
 * minutes), an absolute timeout from login (8 hours), both checked from times inside
 * the seal, so a client cannot extend them; the idle deadline rolls forward with
 * activity. Regenerate on every privilege change (login) and destroy on logout; with
 * a revocation store, the old cookie is refused even before it expires.
 */

import { encodeBase64Url } from '../_internal/base64.ts';
import { cryptoPrimitive } from '../_internal/crypto.ts';
import { describe, isPlainObject, rejectUnknownKeys } from '../_internal/describe.ts';
import { randomBytes } from '../_internal/random.ts';
import { parseCookieList } from '../cookies/parse.ts';
import { deleteCookie, MAX_COOKIE_AGE_SECONDS, MAX_COOKIE_BYTES } from '../cookies/serialize.ts';
import { deriveSubkeys, type Keyring } from '../keys.ts';
import { Sealer, sealedLength, type SealFailure } from './seal.ts';
import type { SessionStore } from './store.ts';

/**
 * The shape of your session data. Declare it once, and `get`/`set` are typed
 * everywhere:
 *
 * ```ts
 * declare module 'rampart/session' {
 *   interface SessionData { user: string; theme: 'light' | 'dark' }
 * }
 * ```
 *
 * Until you do, a session holds any JSON data under string keys.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by declaration merging
export interface SessionData {}

/** What a session can hold: data that survives `JSON.stringify` unchanged. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** The data type sessions hold: `SessionData` once declared, else any JSON data by key. */
export type SessionShape = keyof SessionData extends never ? Record<string, JsonValue> : SessionData;

/** Options of sessions: `rampart({ session: { ... } })`. */
export interface SessionOptions {
  /** The cookie's name; rampart adds the `__Host-` prefix. Default `'session'` (`__Host-session`). */
  readonly cookieName?: string;
  /** Seconds without a request after which the session ends, or `false`. Default 1800 (30 minutes). */
  readonly idleTimeout?: number | false;
  /** Seconds after the session began (or was regenerated) after which it ends. Default 28800 (8 hours). */
  readonly absoluteTimeout?: number;
  /** Move the idle deadline forward on activity (re-sealing at most every tenth of it). Default `true`. */
  readonly rolling?: boolean;
  /** Keep the cookie across browser restarts, until the absolute deadline. Default `false`. */
  readonly persistent?: boolean;
  /** Default `'Lax'` (the seed's practice 4); `'Strict'` also withholds it on links from other sites. */
  readonly sameSite?: 'Lax' | 'Strict';
  /** Server-side revocation, so a destroyed session's cookie is refused at once. Default: none. */
  readonly store?: SessionStore;
}

const OPTION_NAMES = ['cookieName', 'idleTimeout', 'absoluteTimeout', 'rolling', 'persistent', 'sameSite', 'store'];
const DEFAULT_IDLE_SECONDS = 30 * 60;
const DEFAULT_ABSOLUTE_SECONDS = 8 * 60 * 60;
const COOKIE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const SESSION_PURPOSE = 'rampart session v1';
const ID_BYTES = 16;
const MAX_DEPTH = 32;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** What the session module needs from its rampart instance. */
export interface SessionEnvironment {
  readonly keyring: Keyring;
  readonly clock: () => number;
  readonly warnOnce: (message: string) => void;
}

/** The facts about the request a session cookie is written for. */
export interface CookieTransport {
  readonly secure: boolean;
  readonly host: string | undefined;
}

function seconds(option: unknown, name: string, fallback: number): number {
  if (option === undefined) return fallback;
  if (typeof option !== 'number' || !Number.isInteger(option) || option <= 0 || option > MAX_COOKIE_AGE_SECONDS) {
    throw new TypeError(`rampart: session.${name}: expected a whole number of seconds between 1 and ${MAX_COOKIE_AGE_SECONDS} (400 days), got ${describe(option)}.`);
  }
  return option;
}

function flag(option: unknown, name: string, fallback: boolean): boolean {
  if (option === undefined) return fallback;
  if (typeof option !== 'boolean') throw new TypeError(`rampart: session.${name}: expected true or false, got ${describe(option)}.`);
  return option;
}

const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i;

/** The compiled session configuration of one rampart instance; creates each request's session. */
export class Sessions {
  /** The cookie's full name, prefix included. */
  readonly cookieName: string;
  readonly #bareName: string;
  readonly #idle: number | undefined;
  readonly #absolute: number;
  readonly #renewAfter: number;
  readonly #rolling: boolean;
  readonly #persistent: boolean;
  readonly #sameSite: 'Lax' | 'Strict';
  readonly #store: SessionStore | undefined;
  readonly #environment: SessionEnvironment;
  #sealer: Sealer | undefined;
  /**
   * Cookies opened lately, by their exact text: a browser sends the same cookie with
   * every request, and opening it (base64, AES-GCM, UTF-8) is most of what reading a
   * session costs. Only cookies that opened to a well-formed session are kept; the same
   * text always opens to the same payload under this keyring, and expiry and revocation
   * are still checked on every request.
   */
  readonly #opened = new Map<string, OpenedSeal>();

  constructor(option: SessionOptions | undefined, environment: SessionEnvironment) {
    const options: SessionOptions = option ?? {};
    if (!isPlainObject(options)) throw new TypeError(`rampart: session: expected an options object, got ${describe(option)}.`);
    rejectUnknownKeys(options, OPTION_NAMES, 'session.');
    const name = options.cookieName ?? 'session';
    if (typeof name !== 'string' || !COOKIE_NAME.test(name) || /^__(host|secure)-/i.test(name)) {
      throw new TypeError(`rampart: session.cookieName: expected letters, digits, "-" or "_" (rampart adds the __Host- prefix), got ${describe(name)}.`);
    }
    this.#bareName = name;
    this.cookieName = `__Host-${name}`;
    const absolute = seconds(options.absoluteTimeout, 'absoluteTimeout', DEFAULT_ABSOLUTE_SECONDS);
    // The default idle timeout never exceeds an absolute timeout chosen shorter than it.
    const idle = options.idleTimeout === false ? undefined : seconds(options.idleTimeout, 'idleTimeout', Math.min(DEFAULT_IDLE_SECONDS, absolute));
    if (idle !== undefined && idle > absolute) {
      throw new RangeError(`rampart: session.idleTimeout (${idle} s) is longer than session.absoluteTimeout (${absolute} s); the idle timeout would never apply.`);
    }
    this.#idle = idle === undefined ? undefined : idle * 1000;
    this.#absolute = absolute * 1000;
    this.#rolling = flag(options.rolling, 'rolling', true);
    this.#renewAfter = idle === undefined ? Infinity : Math.max(1000, Math.floor((idle * 1000) / 10));
    this.#persistent = flag(options.persistent, 'persistent', false);
    const sameSite = options.sameSite ?? 'Lax';
    if (sameSite !== 'Lax' && sameSite !== 'Strict') {
      throw new TypeError(`rampart: session.sameSite: expected "Lax" or "Strict", got ${describe(sameSite)}. A session cookie with SameSite=None would be sent on cross-site requests.`);
    }
    this.#sameSite = sameSite;
    const store = options.store as Partial<SessionStore> | null | undefined;
    if (store !== undefined && (typeof store?.revoke !== 'function' || typeof store.isRevoked !== 'function')) {
      throw new TypeError('rampart: session.store: expected an object with revoke(id, until) and isRevoked(id) methods, e.g. new MemorySessionStore().');
    }
    this.#store = store as SessionStore | undefined;
    this.#environment = environment;
  }

  /** The sealer, its subkeys derived on first use. */
  #sealerOf(): Sealer {
    // A seal never exceeds what fits in a cookie; anything longer is refused unread.
    this.#sealer ??= new Sealer(deriveSubkeys(this.#environment.keyring, SESSION_PURPOSE), this.cookieName, MAX_COOKIE_BYTES - this.cookieName.length - 1);
    return this.#sealer;
  }

  /**
   * The session a request's `Cookie` header carries, or a new empty one. Never
   * throws for anything the client sent: a cookie that does not open is no session.
   */
  async load(cookieHeader: string | undefined, onRotate?: () => void): Promise<Session> {
    const session = await this.#load(cookieHeader);
    if (onRotate !== undefined) session.onRotate = onRotate;
    return session;
  }

  async #load(cookieHeader: string | undefined): Promise<Session> {
    const now = this.#environment.clock();
    const found = this.#findCookie(cookieHeader);
    if (found === undefined) return this.#fresh(now, false);
    let opened = this.#opened.get(found);
    let state: SessionState | undefined;
    if (opened === undefined) {
      const sealer = this.#sealerOf();
      const sync = cryptoPrimitive.sync;
      const result = sync ? sealer.openSync(sync, found) : await sealer.open(found);
      if (typeof result === 'string') return this.#refuse(result, now);
      const json = utf8Text(result.plaintext);
      state = json === undefined ? undefined : decodePayload(json);
      if (state === undefined) return this.#refuse('tampered', now);
      opened = { json: json!, keyIndex: result.keyIndex, state: shareable(state) ? state : undefined };
      this.#remember(found, opened);
    } else {
      state = opened.state ?? decodePayload(opened.json)!;
    }
    // Expiry is the normal end of a session: not logged. The cookie is then deleted.
    if (now >= state.created + this.#absolute) return this.#fresh(now, true);
    if (this.#idle !== undefined && now >= state.active + this.#idle) return this.#fresh(now, true);
    if (this.#store !== undefined && (await this.#store.isRevoked(state.id))) {
      this.#environment.warnOnce('rampart: refused a session cookie whose session was destroyed or regenerated (a replay of an old cookie); the request continues without a session.');
      return this.#fresh(now, true);
    }
    return new Session(this, state, { isNew: false, stale: false, reseal: opened.keyIndex !== 0 });
  }

  #remember(seal: string, opened: OpenedSeal): void {
    const cache = this.#opened;
    // The oldest entry goes first (a Map keeps insertion order).
    if (cache.size >= MAX_OPENED) cache.delete(cache.keys().next().value!);
    cache.set(seal, opened);
  }

  /**
   * The value of our cookie, or `undefined` when there is none or there are several
   * different ones: only this host can set a `__Host-` cookie, so duplicates mean
   * something is wrong, and guessing which one is ours is how session fixation works.
   */
  #findCookie(header: string | undefined): string | undefined {
    if (!header) return undefined;
    const name = this.cookieName;
    const first = header.indexOf(name);
    if (first === -1) return undefined;
    let value: string | undefined;
    for (const [cookieName, cookieValue] of parseCookieList(header)) {
      if (cookieName !== name) continue;
      if (value !== undefined && cookieValue !== value) {
        this.#environment.warnOnce(`rampart: a request carried several different ${name} cookies; it is treated as having no session.`);
        return undefined;
      }
      value = cookieValue;
    }
    return value;
  }

  #refuse(reason: SealFailure, now: number): Session {
    const why = {
      malformed: 'is not a rampart seal (malformed or truncated)',
      unknown_key: 'was sealed with a key that is not in the keyring (a foreign cookie, or a key removed too early)',
      tampered: 'does not open with its key (tampered with, or sealed for another cookie)',
    }[reason];
    this.#environment.warnOnce(`rampart: refused a session cookie that ${why}; the request continues without a session.`);
    return this.#fresh(now, true);
  }

  #fresh(now: number, stale: boolean): Session {
    return new Session(this, newState(now), { isNew: true, stale, reseal: false });
  }

  /** @internal The instance's clock. */
  now(): number {
    return this.#environment.clock();
  }

  /** @internal Revokes a session id in the store (a no-op without one). */
  async revoke(state: SessionState): Promise<void> {
    if (this.#store !== undefined) await this.#store.revoke(state.id, state.created + this.#absolute);
  }

  /** @internal Throws when the state would not fit in the cookie. */
  checkSize(state: SessionState): void {
    const bytes = this.cookieName.length + 1 + sealedLength(payloadBytes(state));
    if (bytes > MAX_COOKIE_BYTES) {
      throw new RangeError(
        `rampart: the session would need a ${bytes}-byte cookie; browsers may drop cookies over ${MAX_COOKIE_BYTES} bytes. Keep the session small (ids, not records) and store the rest server-side.`,
      );
    }
  }

  /**
   * @internal The `Set-Cookie` value a session needs at the end of its request, or
   * `undefined` when the browser's cookie is still right. Synchronous where the
   * runtime's crypto is (node:crypto), so node:http can call it while writing the head.
   */
  commit(state: SessionState, flags: SessionFlags, transport: CookieTransport): string | undefined | Promise<string | undefined> {
    const now = this.#environment.clock();
    const empty = isEmpty(state.data);
    if (flags.isNew && empty) return flags.stale ? deleteCookie(this.#bareName) : undefined;
    const renew = this.#rolling && now - state.active >= this.#renewAfter;
    if (!flags.changed && !flags.reseal && !renew) return undefined;
    if (!transport.secure && !(transport.host !== undefined && LOOPBACK.test(transport.host))) {
      // No request data in the message: it is logged once per distinct text.
      this.#environment.warnOnce(
        'rampart: a session cookie was set on a plain-HTTP request to a host other than localhost; browsers keep Secure cookies only over HTTPS (and on localhost). Serve HTTPS, or set trustProxy if a proxy in front terminates TLS.',
      );
    }
    const payload = payloadText({ ...state, active: now });
    // Name and value are known to be valid (a token, base64url) and the size was checked
    // by set(): the Set-Cookie is built directly, as serializeCookie would build it.
    const maxAge = this.#persistent ? `; Max-Age=${Math.max(0, Math.floor((state.created + this.#absolute - now) / 1000))}` : '';
    const attributes = `; Path=/${maxAge}; Secure; HttpOnly; SameSite=${this.#sameSite}`;
    const sealer = this.#sealerOf();
    const sync = cryptoPrimitive.sync;
    if (sync) return `${this.cookieName}=${sealer.sealSync(sync, encodeScratch(payload))}${attributes}`;
    return sealer.seal(encoder.encode(payload)).then((sealed) => `${this.cookieName}=${sealed}${attributes}`);
  }
}

/** @internal What a seal holds. Times are milliseconds, stored to the second. */
export interface SessionState {
  readonly id: string;
  readonly created: number;
  readonly active: number;
  /** Own properties only are data (`Object.hasOwn`): a key like `toString` or `__proto__` is just a key. */
  readonly data: Readonly<Record<string, JsonValue>>;
  /** `data` as JSON, once something has needed it. */
  json?: string;
}

/** @internal */
export interface SessionFlags {
  /** No valid session came with the request (or it was destroyed). */
  isNew: boolean;
  /** The request carried a cookie that is no session: delete it unless a new one replaces it. */
  stale: boolean;
  /** Sealed under an older key: re-seal under the current one. */
  reseal: boolean;
  /** Data or id changed since the request began. */
  changed?: boolean;
}

function newId(): string {
  return encodeBase64Url(randomBytes(ID_BYTES));
}

function newState(now: number): SessionState {
  return { id: newId(), created: now, active: now, data: {} };
}

function withData(state: SessionState, data: Readonly<Record<string, JsonValue>>): SessionState {
  return { id: state.id, created: state.created, active: state.active, data };
}

/** The JSON of a state's data, computed once per state. */
function dataJson(state: SessionState): string {
  state.json ??= JSON.stringify(state.data);
  return state.json;
}

/** The seal's plaintext: `[id, created, active, data]`, times in seconds. The id is base64url: no escaping. */
function payloadText(state: SessionState): string {
  return `["${state.id}",${Math.floor(state.created / 1000)},${Math.floor(state.active / 1000)},${dataJson(state)}]`;
}

const SCRATCH = new Uint8Array(MAX_COOKIE_BYTES);
/** UTF-8 of `text` in a shared buffer: valid only until the next call, so only for synchronous sealing. */
function encodeScratch(text: string): Uint8Array {
  const { read, written } = encoder.encodeInto(text, SCRATCH);
  return read === text.length ? SCRATCH.subarray(0, written) : encoder.encode(text);
}

function isEmpty(data: Readonly<Record<string, JsonValue>>): boolean {
  for (const key in data) if (Object.hasOwn(data, key)) return false;
  return true;
}

/** The byte length `encodePayload` will have, without encoding. */
function payloadBytes(state: SessionState): number {
  const json = dataJson(state);
  let bytes = json.length;
  for (let index = 0; index < json.length; index++) {
    const code = json.charCodeAt(index);
    // UTF-16 to UTF-8: one more byte from U+0080, two more from U+0800; a surrogate pair (4 bytes) counts 2 + 2.
    if (code >= 0x80) bytes += code >= 0x800 && (code < 0xd800 || code > 0xdfff) ? 2 : 1;
  }
  return bytes + `["${state.id}",${Math.floor(state.created / 1000)},${Math.floor(state.active / 1000)},]`.length;
}

/** What a kept cookie opened to: the payload's JSON, and which key sealed it. */
interface OpenedSeal {
  readonly json: string;
  readonly keyIndex: number;
  /**
   * The decoded state, shared by the requests that carry this cookie (no JSON.parse
   * each time), when it can be: see `shareable`. Otherwise each request decodes `json`.
   */
  readonly state: SessionState | undefined;
}

/**
 * Whether a decoded state may be shared between requests: when its data holds only
 * strings, numbers, booleans and null. A session never changes a state in place (set,
 * delete and regenerate make new ones), but `get` hands out a stored object or array,
 * and code that changes one in place before `set` would change it for the next request
 * too. The data is frozen, so nothing can.
 */
function shareable(state: SessionState): boolean {
  const data = state.data;
  for (const key in data) {
    const value = data[key];
    if (typeof value === 'object' && value !== null) return false;
  }
  Object.freeze(data);
  return true;
}

/**
 * Cookies kept opened. Few, on purpose: an entry kept longer survives into V8's old
 * generation, and a cookie not seen lately then cost more to open than without the
 * cache (4,096 entries: +3 µs; 64: nothing measurable, bench/cookies.mjs). The browsers
 * active in the last moments are what repeats.
 */
const MAX_OPENED = 64;

/** UTF-8 text, or `undefined` for bytes that are not. */
function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The state inside an opened seal's JSON, or `undefined` when it is not of the expected shape. */
function decodePayload(json: string): SessionState | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 4) return undefined;
  const [id, created, active, data] = value as unknown[];
  if (typeof id !== 'string' || id.length !== 22 || !Number.isSafeInteger(created) || !Number.isSafeInteger(active) || !isPlainObject(data)) return undefined;
  return { id, created: (created as number) * 1000, active: (active as number) * 1000, data: data as Record<string, JsonValue> };
}

/** Throws a TypeError naming the first part of `value` that JSON would not keep as it is. */
function assertJson(value: unknown, where: string, depth = 0): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return;
    throw new TypeError(`rampart: ${where} is ${value}, which JSON turns into null; store a finite number.`);
  }
  if (depth >= MAX_DEPTH) throw new TypeError(`rampart: ${where} is nested more than ${MAX_DEPTH} levels deep (a cycle?); store flat data.`);
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) assertJson(value[index], `${where}[${index}]`, depth + 1);
    return;
  }
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) assertJson(value[key], `${where}.${key}`, depth + 1);
    return;
  }
  const constructorName = typeof value === 'object' ? (value as { constructor?: { name?: unknown } }).constructor?.name : undefined;
  const kind = value instanceof Date ? 'a Date (store date.getTime())' : typeof constructorName === 'string' && constructorName ? `a ${constructorName}` : describe(value);
  throw new TypeError(`rampart: ${where} is ${kind}, which is not JSON data; a session holds strings, numbers, booleans, null, arrays and plain objects.`);
}

/**
 * One request's session. Read it with `get`, change it with `set`/`delete`/`clear`;
 * rampart seals and sends the cookie with the response, and only when something
 * changed (or the idle deadline needs moving).
 *
 * @example
 * ```ts
 * const session = await context.session()
 * await session.regenerate()          // on login: a new id, the old cookie revoked
 * session.set('user', user.id)
 * ```
 */
export class Session<Data extends object = SessionShape> {
  readonly #sessions: Sessions;
  #state: SessionState;
  readonly #flags: SessionFlags;
  #committed = false;
  /** @internal Called when the session's identity changes (regenerate, destroy): CSRF tokens are rebound. */
  onRotate: (() => void) | undefined;

  /** @internal Created by `context.session()`. */
  constructor(sessions: Sessions, state: SessionState, flags: SessionFlags) {
    this.#sessions = sessions;
    this.#state = state;
    this.#flags = flags;
  }

  /** This session's id: 128 random bits, base64url. It changes on `regenerate()` and `destroy()`. */
  get id(): string {
    return this.#state.id;
  }

  /** True when the request carried no valid session (or it was destroyed since). */
  get isNew(): boolean {
    return this.#flags.isNew;
  }

  /** When the session began or was last regenerated (milliseconds since the epoch, to the second). */
  get createdAt(): number {
    return this.#state.created;
  }

  /** The value stored under `key`, or `undefined`. Change it with `set`, not in place. */
  get<Key extends keyof Data & string>(key: Key): Data[Key] | undefined {
    const data = this.#state.data;
    return (Object.hasOwn(data, key) ? data[key] : undefined) as Data[Key] | undefined;
  }

  /** True when a value is stored under `key`. */
  has(key: keyof Data & string): boolean {
    return Object.hasOwn(this.#state.data, key);
  }

  /** The keys with a value. */
  keys(): (keyof Data & string)[] {
    return Object.keys(this.#state.data) as (keyof Data & string)[];
  }

  /**
   * Stores `value` under `key`. Throws a TypeError for values JSON would not keep
   * (Dates, Maps, class instances, `undefined`, NaN) and a RangeError when the sealed
   * cookie would exceed 4096 bytes.
   */
  set<Key extends keyof Data & string>(key: Key, value: Data[Key]): void {
    this.#assertOpen('set');
    if (typeof key !== 'string') throw new TypeError(`rampart: session.set: the key must be a string, got ${describe(key)}.`);
    assertJson(value, `session.set(${JSON.stringify(key)})`);
    // A computed key defines an own property, even "__proto__".
    const data = { ...this.#state.data, [key]: value as JsonValue };
    const next = withData(this.#state, data);
    this.#sessions.checkSize(next);
    this.#change(next);
  }

  /** Removes `key`. */
  delete(key: keyof Data & string): void {
    this.#assertOpen('delete');
    if (!Object.hasOwn(this.#state.data, key)) return;
    const data = { ...this.#state.data };
    delete data[key];
    this.#change(withData(this.#state, data));
  }

  /** Removes every key; the session (and its id) continues. To end it, use `destroy()`. */
  clear(): void {
    this.#assertOpen('clear');
    if (isEmpty(this.#state.data)) return;
    this.#change(withData(this.#state, {}));
  }

  /**
   * Gives the session a new id and a new absolute deadline, keeping its data, and
   * revokes the old id in the store: call it on every privilege change (login,
   * logout of an admin role, password change), so a session id planted or seen
   * before the change is worth nothing after it. CSRF tokens bound to the old id
   * stop being valid.
   */
  async regenerate(): Promise<void> {
    this.#assertOpen('regenerate');
    // The new identity takes effect at once; only the old id's revocation is awaited,
    // so a value set while it is pending is kept.
    const previous = this.#state;
    const wasNew = this.#flags.isNew;
    const now = this.#sessions.now();
    this.#state = { ...previous, id: newId(), created: now, active: now };
    this.#flags.isNew = false;
    this.#flags.changed = true;
    this.onRotate?.();
    if (!wasNew) await this.#sessions.revoke(previous);
  }

  /**
   * Ends the session: revokes its id in the store and deletes the cookie. The object
   * then behaves as a new, empty session (a value set after `destroy()` starts one).
   */
  async destroy(): Promise<void> {
    this.#assertOpen('destroy');
    const previous = this.#state;
    const wasNew = this.#flags.isNew;
    this.#state = newState(this.#sessions.now());
    this.#flags.stale = this.#flags.stale || !wasNew;
    this.#flags.isNew = true;
    this.#flags.changed = false;
    this.onRotate?.();
    if (!wasNew) await this.#sessions.revoke(previous);
  }

  #change(next: SessionState): void {
    this.#state = next;
    this.#flags.changed = true;
  }

  #assertOpen(operation: string): void {
    if (this.#committed) {
      throw new TypeError(`rampart: session.${operation}() after the response head was written; change the session before sending the response.`);
    }
  }

  /** @internal The `Set-Cookie` value this response needs, if any; the session is then final. */
  commit(transport: CookieTransport): string | undefined | Promise<string | undefined> {
    if (this.#committed) return undefined;
    this.#committed = true;
    return this.#sessions.commit(this.#state, this.#flags, transport);
  }
}
