/**
 * The `html` tagged template: the only way to make HTML in a rampart app.
 *
 * Each template's static parts are analysed once (cached on the strings array, see
 * `analyze.ts`); rendering is a loop that concatenates the static parts with each
 * value escaped for its slot's context. Values are strings, numbers, bigints,
 * booleans, `null`/`undefined`, other templates (`SafeHtml`) and arrays of these;
 * anything else is an error, never silently stringified.
 */

import { analyze, type Compiled, type SlotKind } from './analyze.ts';
import { CSRF_MARKER, escapeHtml, filterSrcset, filterUrl, MARKER, NONCE_MARKER, scriptJson } from './escape.ts';

const TOKEN = Symbol('SafeHtml');

/**
 * HTML that rampart made (from a template) or was told to trust. It cannot be made
 * any other way: the constructor checks a module-private token, and the check for
 * "is this SafeHtml" is the class's private field, not a property anyone can add.
 */
export class SafeHtml {
  readonly #html: string;
  /** The markup holds request markers (a nonce or a CSRF field to fill in). */
  readonly #marked: boolean;

  /** @internal Use the `html` tag or `dangerouslyTrustHtml`. */
  constructor(markup: string, token: symbol, marked = true) {
    if (token !== TOKEN) throw new TypeError('rampart: SafeHtml comes from the html`…` tag (or dangerouslyTrustHtml for reviewed markup), not from new SafeHtml().');
    this.#html = markup;
    this.#marked = marked;
  }

  /** @internal True when the markup may hold request markers. */
  static isMarked(value: SafeHtml): boolean {
    return value.#marked;
  }

  /** True for real `SafeHtml`; false for look-alikes. */
  static is(value: unknown): value is SafeHtml {
    return typeof value === 'object' && value !== null && #html in value;
  }

  /** @internal The markup with its request markers, for `context.render`. */
  static markupOf(value: SafeHtml): string {
    return value.#html;
  }

  /**
   * The markup, for a response sent without a request context: the nonces of
   * `<script>`/`<style>` are left empty and forms get no CSRF field. Use
   * `context.render(page)` for pages.
   */
  toString(): string {
    const markup = this.#html;
    return this.#marked ? markup.replaceAll(NONCE_MARKER, '').replaceAll(CSRF_MARKER, '') : markup;
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
  return new SafeHtml(markup.includes(MARKER) ? markup.replaceAll(MARKER, '\uFFFD') : markup, TOKEN, false);
}

/** The CSRF field, for a form the engine cannot recognise itself (an absolute or computed `action`). */
export function csrfField(): SafeHtml {
  return new SafeHtml(CSRF_MARKER, TOKEN, true);
}

/** Joins templates (or values escaped as text) with a separator. */
export function joinHtml(items: Iterable<unknown>, separator: SafeHtml | string = ''): SafeHtml {
  const glue = SafeHtml.is(separator) ? SafeHtml.markupOf(separator) : escapeHtml(String(separator));
  let markup = '';
  let first = true;
  for (const item of items) {
    if (!first) markup += glue;
    markup += renderText(item, 0);
    first = false;
  }
  // Whether a joined template holds markers is not tracked: assume it may.
  return new SafeHtml(markup, TOKEN, true);
}

const CACHE = new WeakMap<TemplateStringsArray, Compiled>();

/** Where the template is, from the caller's stack frame: only computed when a template is refused or first seen. */
function callerLocation(): string {
  const stack = new Error().stack?.split('\n') ?? [];
  const frame = stack.find((line, index) => index > 0 && !/[/\\]html[/\\](?:html|analyze)\.[jt]s/.test(line) && line.includes('at '));
  return frame?.trim().replace(/^at\s+/, '') ?? '';
}

function compile(strings: TemplateStringsArray): Compiled {
  let compiled = CACHE.get(strings);
  if (compiled === undefined) {
    if (!Array.isArray(strings) || !Array.isArray((strings as { raw?: unknown }).raw) || !Object.isFrozen(strings)) {
      throw new TypeError('rampart: html is a tag: write html`<p>${value}</p>`, not html(...).');
    }
    compiled = analyze(strings, callerLocation());
    CACHE.set(strings, compiled);
  }
  return compiled;
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
  const { statics, kinds, marked } = compile(strings);
  let markup = statics[0]!;
  const outer = nestedMarked; // re-entrancy (a getter that renders a template) is rare, but kept correct
  nestedMarked = false;
  for (let index = 0; index < values.length; index++) {
    const kind = kinds[index]!;
    const value = values[index];
    // Nested templates keep their markers (if any) to be filled in at render.
    markup += (kind === 'text' && typeof value === 'object' && value !== null ? renderNested(value, 0) : renderSlot(kind, value)) + statics[index + 1]!;
  }
  const result = new SafeHtml(markup, TOKEN, marked || nestedMarked);
  nestedMarked = outer;
  return result;
}

/** Set by `renderNested` when a nested template holds markers (no object per item). */
let nestedMarked = false;

/** A template, an array (of templates or values) or an error, in text context. */
function renderNested(value: object, depth: number): string {
  if (SafeHtml.is(value)) {
    if (SafeHtml.isMarked(value)) nestedMarked = true;
    return SafeHtml.markupOf(value);
  }
  if (Array.isArray(value)) {
    if (depth >= MAX_NESTING) throw new TypeError(`rampart: html: arrays nested more than ${MAX_NESTING} deep.`);
    let markup = '';
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      markup += typeof item === 'object' && item !== null ? renderNested(item, depth + 1) : renderText(item, depth + 1);
    }
    return markup;
  }
  return renderText(value, 0);
}

function renderSlot(kind: SlotKind, value: unknown): string {
  switch (kind) {
    case 'text':
      return renderText(value, 0);
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

function renderText(value: unknown, depth: number): string {
  if (typeof value === 'string') return escapeHtml(value);
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined || value === false) return '';
  if (value === true) return 'true';
  if (typeof value === 'object') {
    if (SafeHtml.is(value)) return SafeHtml.markupOf(value);
    if (Array.isArray(value)) {
      if (depth >= MAX_NESTING) throw new TypeError(`rampart: html: arrays nested more than ${MAX_NESTING} deep.`);
      let markup = '';
      for (const item of value) markup += renderText(item, depth + 1);
      return markup;
    }
  }
  throw new TypeError(`rampart: html: ${describeValue(value)} cannot be a value of a template; pass a string, a number, another html\`…\` template or an array of them.`);
}

function rcdataString(value: unknown): string {
  if (SafeHtml.is(value)) return SafeHtml.markupOf(value).replaceAll(NONCE_MARKER, '').replaceAll(CSRF_MARKER, '');
  if (Array.isArray(value)) return value.map(rcdataString).join('');
  return attributeString(value);
}

/** A value for an attribute (or RCDATA): primitives only; SafeHtml is escaped as text. */
function attributeString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return '';
  if (SafeHtml.is(value)) return SafeHtml.markupOf(value).replaceAll(NONCE_MARKER, '').replaceAll(CSRF_MARKER, '');
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
 * @internal Fills a page's request markers: the response's nonce, and a fresh CSRF
 * field per form (`csrfField` is called once per form).
 */
export function fillMarkers(page: SafeHtml, nonce: string, csrfField: (() => string) | undefined): string {
  const markup = SafeHtml.markupOf(page);
  if (!SafeHtml.isMarked(page)) return markup;
  let at = markup.indexOf(MARKER);
  if (at === -1) return markup;
  let filled = '';
  let last = 0;
  do {
    // A marker is always followed by its kind: N (nonce) or F (CSRF field).
    filled += markup.slice(last, at) + (markup.charCodeAt(at + 1) === NONCE_KIND ? nonce : (csrfField?.() ?? ''));
    last = at + 2;
    at = markup.indexOf(MARKER, last);
  } while (at !== -1);
  return filled + markup.slice(last);
}

const NONCE_KIND = NONCE_MARKER.charCodeAt(1);
