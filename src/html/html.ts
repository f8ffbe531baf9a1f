/**
 * The `html` tagged template: the only way to make HTML in a rampart app.
 *
 * Each template's static parts are analysed once (cached on the strings array, see
 * `analyze.ts`); rendering is a loop that concatenates the static parts with each
 * value escaped for its slot's context. Request markers (a nonce, a CSRF field) are
 * kept apart from the text as they are met, so a page is filled in for its request
 * without searching its markup. Values are strings, numbers, bigints,
 * booleans, `null`/`undefined`, other templates (`SafeHtml`) and arrays of these;
 * anything else is an error, never silently stringified.
 */

import { analyze, type Compiled, type SlotKind } from './analyze.ts';
import { CSRF_MARKER, escapeHtml, filterSrcset, filterUrl, filterUrlList, MARKER, NONCE_MARKER, scriptJson } from './escape.ts';

const TOKEN = Symbol('SafeHtml');

/** A template's text and request markers, alternating; `undefined` when it has no markers. */
let partsOf: (value: SafeHtml) => readonly string[] | undefined;

/**
 * HTML that rampart made (from a template) or was told to trust. It cannot be made
 * any other way: the constructor checks a module-private token, and the check for
 * "is this SafeHtml" is the class's private field, not a property anyone can add.
 */
export class SafeHtml {
  /** The markup; for markup with request markers, made from `#parts` when first asked for. */
  #html: string | undefined;
  /**
   * Markup with request markers: text and markers alternating, `[text, marker, text,
   * …, text]` (each marker is `NONCE_MARKER` or `CSRF_MARKER`); `undefined` without any.
   */
  readonly #parts: readonly string[] | undefined;

  /** @internal Use the `html` tag or `dangerouslyTrustHtml`. */
  constructor(markup: string | undefined, token: symbol, parts?: readonly string[]) {
    if (token !== TOKEN) throw new TypeError('rampart: SafeHtml comes from the html`…` tag (or dangerouslyTrustHtml for reviewed markup), not from new SafeHtml().');
    this.#html = markup;
    this.#parts = parts;
  }

  static {
    // Module-private: the array is the template's own, so nothing outside may hold it.
    partsOf = (value) => value.#parts;
  }

  /** @internal Makes the markup's text contiguous in memory: see `flattenHtml`. */
  static flatten(value: SafeHtml): void {
    const parts = value.#parts;
    if (parts === undefined) contiguous(value.#html!);
    else for (let index = 0; index < parts.length; index += 2) contiguous(parts[index]!);
  }

  /** True for real `SafeHtml`; false for look-alikes. */
  static is(value: unknown): value is SafeHtml {
    return typeof value === 'object' && value !== null && #html in value;
  }

  /** @internal The markup with its request markers in place. */
  static markupOf(value: SafeHtml): string {
    return (value.#html ??= value.#parts!.join(''));
  }

  /** @internal The markup without its request markers (for attribute values and RCDATA, which hold no fields). */
  static textOf(value: SafeHtml): string {
    const parts = value.#parts;
    if (parts === undefined) return value.#html!;
    let text = parts[0]!;
    for (let index = 2; index < parts.length; index += 2) text += parts[index]!;
    return text;
  }

  /**
   * The markup, for a response sent without a request context: the nonces of
   * `<script>`/`<style>` are left empty and forms get no CSRF field. Use
   * `context.render(page)` for pages.
   */
  toString(): string {
    return SafeHtml.textOf(this);
  }
}

/** Data for a `<script type="application/json">` element; see `json()`. */
export class ScriptJson {
  readonly #json: string;

  /** @internal Use `json(value)`. */
  constructor(text: string, token: symbol) {
    if (token !== TOKEN) throw new TypeError('rampart: use json(value).');
    this.#json = text;
  }

  /** @internal */
  static textOf(value: unknown): string | undefined {
    return typeof value === 'object' && value !== null && #json in value ? (value as ScriptJson).#json : undefined;
  }
}

/**
 * Data for a page's scripts, the only way data goes into a `<script>`:
 * `<script type="application/json" id="data">${json(value)}</script>`, read with
 * `JSON.parse(document.getElementById('data').textContent)`. `<`, `>` and `&` are
 * escaped, so nothing in the data can close the element.
 */
export function json(value: unknown): ScriptJson {
  return new ScriptJson(scriptJson(value), TOKEN);
}

/**
 * Markup rampart should trust as it is: for the rare, reviewed case (HTML from a
 * sanitizer you configured, or from your own files). Everything else goes through `html`.
 */
export function dangerouslyTrustHtml(markup: string): SafeHtml {
  if (typeof markup !== 'string') throw new TypeError(`rampart: dangerouslyTrustHtml expects a string, got ${typeof markup}.`);
  // The request markers (NUL) are rampart's: trusted markup cannot forge them. NUL
  // becomes U+FFFD, as the escaper (and the HTML parser, in attribute values) makes it.
  return new SafeHtml(markup.includes(MARKER) ? markup.replaceAll(MARKER, '\uFFFD') : markup, TOKEN);
}

/** The CSRF field, for a form the engine cannot recognise itself (an absolute or computed `action`). */
export function csrfField(): SafeHtml {
  return new SafeHtml(undefined, TOKEN, ['', CSRF_MARKER, '']);
}

/** Joins templates (or values escaped as text) with a separator. */
export function joinHtml(items: Iterable<unknown>, separator: SafeHtml | string = ''): SafeHtml {
  const glue: SafeHtml | string = SafeHtml.is(separator) ? separator : escapeHtml(String(separator));
  const out: Builder = { parts: undefined, tail: '' };
  let first = true;
  for (const item of items) {
    if (!first) {
      if (typeof glue === 'string') out.tail += glue;
      else appendNested(out, glue, 0);
    }
    if (typeof item === 'object' && item !== null) appendNested(out, item, 0);
    else out.tail += renderText(item);
    first = false;
  }
  return finish(out);
}

/**
 * A fragment made ready to be kept and included in many pages: for a cache of rendered
 * fragments (a status, a product card), applied once when the fragment is cached.
 * Returns the same fragment.
 *
 * V8 keeps a concatenation as a tree of its pieces until something reads the whole
 * string; the first whole read (the socket write of a page) copies the tree into one
 * flat string. A page that includes kept fragments copies every piece of each of them
 * again on every response; this copies them once. (On the demo's feed of 20 kept
 * statuses: ~4 µs of a ~80 µs response.) Other engines: one harmless read.
 *
 * @example
 * ```ts
 * const card = cache.get(product.id) ?? cache.set(product.id, flattenHtml(html`<li>${product.name}</li>`)).get(product.id)
 * ```
 */
export function flattenHtml(fragment: SafeHtml): SafeHtml {
  if (!SafeHtml.is(fragment)) throw new TypeError(`rampart: flattenHtml() takes a fragment made with the html\`…\` tag, got ${describeValue(fragment)}.`);
  SafeHtml.flatten(fragment);
  return fragment;
}

/** Reading one character flattens a string's tree in place (V8 keeps the flat copy in the same string). */
function contiguous(text: string): void {
  // Kept, so that an optimizing compiler cannot drop the read as unused.
  _lastRead = text.charCodeAt(0);
}
let _lastRead = 0;

/** A template's analysis, and its static parts split at their request markers. */
interface Template extends Compiled {
  readonly staticParts: readonly (readonly string[] | undefined)[];
}

const CACHE = new WeakMap<TemplateStringsArray, Template>();

/** Where the template is, from the caller's stack frame: only computed when a template is refused or first seen. */
function callerLocation(): string {
  const stack = new Error().stack?.split('\n') ?? [];
  const frame = stack.find((line, index) => index > 0 && !/[/\\]html[/\\](?:html|analyze)\.[jt]s/.test(line) && line.includes('at '));
  return frame?.trim().replace(/^at\s+/, '') ?? '';
}

function compile(strings: TemplateStringsArray): Template {
  let compiled = CACHE.get(strings);
  if (compiled === undefined) {
    if (!Array.isArray(strings) || !Array.isArray((strings as { raw?: unknown }).raw) || !Object.isFrozen(strings)) {
      throw new TypeError('rampart: html is a tag: write html`<p>${value}</p>`, not html(...).');
    }
    const analysed = analyze(strings, callerLocation());
    compiled = { ...analysed, staticParts: analysed.statics.map(splitAtMarkers) };
    CACHE.set(strings, compiled);
  }
  return compiled;
}

/** `[text, marker, text, …]`, or `undefined` for text without markers (the analyser put them there). */
function splitAtMarkers(text: string): readonly string[] | undefined {
  let at = text.indexOf(MARKER);
  if (at === -1) return undefined;
  const parts: string[] = [];
  let last = 0;
  do {
    parts.push(text.slice(last, at), text.slice(at, at + 2));
    last = at + 2;
    at = text.indexOf(MARKER, last);
  } while (at !== -1);
  parts.push(text.slice(last));
  return parts;
}

/**
 * An HTML template, escaped for the context of each slot.
 *
 * @example
 * ```ts
 * const item = (entry) => html`<li><a href="${entry.url}">${entry.title}</a></li>`
 * const page = html`<ul>${entries.map(item)}</ul>`
 * res.send(req.rampart.render(page))
 * ```
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  const { statics, kinds, staticParts } = compile(strings);
  // Text since the last marker, and what came before it (text and markers), if any.
  // Locals, not a Builder, and nested templates handled here as in appendNested: a
  // Builder per template measured ~2% of bench/html.mjs (1.24× → 1.26–1.27× the floor).
  let tail = '';
  let parts: string[] | undefined;
  for (let index = 0; ; index++) {
    const own = staticParts[index];
    if (own === undefined) tail += statics[index]!;
    else tail = splice((parts ??= []), tail, own);
    if (index === values.length) break;
    const kind = kinds[index]!;
    const value = values[index];
    if (kind !== 'text' || typeof value !== 'object' || value === null) {
      tail += renderSlot(kind, value);
    } else if (SafeHtml.is(value)) {
      // Nested templates keep their markers, to be filled in at render.
      const nested = partsOf(value);
      if (nested === undefined) tail += SafeHtml.markupOf(value);
      else tail = splice((parts ??= []), tail, nested);
    } else {
      const out: Builder = { parts, tail };
      appendNested(out, value, 0);
      ({ parts, tail } = out);
    }
  }
  return finish({ parts, tail });
}

/** Markup being made: finished text and markers (`[text, marker, …]`), and the text after them. */
interface Builder {
  parts: string[] | undefined;
  tail: string;
}

/** Appends `[text, marker, …, text]` after `tail` into `done`; returns the new tail. */
function splice(done: string[], tail: string, parts: readonly string[]): string {
  let text = tail + parts[0]!;
  for (let index = 1; index < parts.length; index += 2) {
    done.push(text, parts[index]!);
    text = parts[index + 1]!;
  }
  return text;
}

function finish({ parts, tail }: Builder): SafeHtml {
  if (parts === undefined) return new SafeHtml(tail, TOKEN);
  parts.push(tail);
  return new SafeHtml(undefined, TOKEN, parts);
}

/** A template, an array (of templates or values) or an error, in text context. */
function appendNested(out: Builder, value: object, depth: number): void {
  if (SafeHtml.is(value)) {
    const nested = partsOf(value);
    if (nested === undefined) out.tail += SafeHtml.markupOf(value);
    else out.tail = splice((out.parts ??= []), out.tail, nested);
    return;
  }
  if (Array.isArray(value)) {
    if (depth >= MAX_NESTING) throw new TypeError(`rampart: html: arrays nested more than ${MAX_NESTING} deep.`);
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      if (typeof item === 'object' && item !== null) appendNested(out, item, depth + 1);
      else out.tail += renderText(item);
    }
    return;
  }
  out.tail += renderText(value);
}

function renderSlot(kind: SlotKind, value: unknown): string {
  switch (kind) {
    case 'text':
      return renderText(value);
    case 'rcdata':
      return escapeHtml(rcdataString(value));
    case 'attribute':
      return typeof value === 'number' ? String(value) : escapeHtml(attributeString(value));
    case 'url':
      return escapeHtml(filterUrl(attributeString(value)));
    case 'url-part':
      return encodeUrlPart(attributeString(value));
    case 'srcset':
      return escapeHtml(filterSrcset(attributeString(value)));
    case 'url-list':
      return escapeHtml(filterUrlList(attributeString(value)));
    case 'json': {
      const text = ScriptJson.textOf(value);
      if (text === undefined) throw new TypeError(`rampart: html: a <script type="application/json"> slot takes json(value), got ${describeValue(value)}.`);
      return text;
    }
  }
}

/**
 * A value inside a URL: percent-encoded, so it cannot end the path segment or add a
 * scheme. Of what `encodeURIComponent` leaves, only `'` needs escaping in markup.
 */
/** True when `text` has only URL-unreserved characters (RFC 3986: letters, digits, `-._~`). */
function isUnreserved(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const letter = (code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a;
    if (!letter && !(code >= 0x30 && code <= 0x39) && code !== 0x2d && code !== 0x2e && code !== 0x5f && code !== 0x7e) return false;
  }
  return true;
}

function encodeUrlPart(text: string): string {
  // Names, ids and slugs are usually unreserved characters already: nothing to encode.
  if (isUnreserved(text)) return text;
  let encoded: string;
  try {
    encoded = encodeURIComponent(text);
  } catch {
    encoded = encodeURIComponent(wellFormed(text));
  }
  return encoded.includes("'") ? encoded.replaceAll("'", '&#39;') : encoded;
}

/** Lone surrogates as U+FFFD: `encodeURIComponent` throws on them. */
function wellFormed(text: string): string {
  return /[\uD800-\uDFFF]/.test(text) ? text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD') : text;
}

const MAX_NESTING = 64;

/** A value other than a template or an array, in text context. */
function renderText(value: unknown): string {
  if (typeof value === 'string') return escapeHtml(value);
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined || value === false) return '';
  if (value === true) return 'true';
  throw new TypeError(`rampart: html: ${describeValue(value)} cannot be a value of a template; pass a string, a number, another html\`…\` template or an array of them.`);
}

function rcdataString(value: unknown, depth = 0): string {
  if (SafeHtml.is(value)) return SafeHtml.textOf(value);
  if (Array.isArray(value)) {
    if (depth >= MAX_NESTING) throw new TypeError(`rampart: html: arrays nested more than ${MAX_NESTING} deep.`);
    let text = '';
    for (const item of value) text += rcdataString(item, depth + 1);
    return text;
  }
  return attributeString(value);
}

/** A value for an attribute (or RCDATA): primitives only; SafeHtml is escaped as text. */
function attributeString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return '';
  if (SafeHtml.is(value)) return SafeHtml.textOf(value);
  throw new TypeError(`rampart: html: ${describeValue(value)} cannot be an attribute value; pass a string or a number.`);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    if (ScriptJson.textOf(value) !== undefined) return 'json(…) (which only goes in <script type="application/json">)';
    if (value instanceof Promise) return 'a Promise (await it first)';
    return typeof name === 'string' && name !== 'Object' ? `a ${name}` : 'a plain object';
  }
  return `a ${typeof value}`;
}

/**
 * @internal Fills a page's request markers: the response's nonce, and the CSRF field
 * (`csrfField` is called for each form; it may return the same field every time).
 */
export function fillMarkers(page: SafeHtml, nonce: string, csrfField: (() => string) | undefined): string {
  const parts = partsOf(page);
  if (parts === undefined) return SafeHtml.markupOf(page);
  let filled = parts[0]!;
  for (let index = 1; index < parts.length; index += 2) {
    filled += (parts[index] === NONCE_MARKER ? nonce : (csrfField?.() ?? '')) + parts[index + 1]!;
  }
  return filled;
}
