/**
 * What Observatory 1.4.8 reads from a page with jsdom, found by a tag scanner
 * instead: the `<meta>` tags (`http-equiv` CSP and `name="referrer"`), the
 * `<script>` elements (for SRI), and the document's `<base href>` (which jsdom's
 * `script.src` resolves against).
 *
 * The scanner follows the WHATWG tokenizer where it changes which tags exist: tag
 * and attribute syntax (quoted and unquoted values, the first of repeated
 * attributes wins, character references in values), comments and bogus comments,
 * the raw text of `<script>` (with its `<!--`/`<script>` escapes), `<style>`,
 * `<xmp>`, `<iframe>`, `<noembed>`, `<noframes>`, `<textarea>`, `<title>` and
 * `<plaintext>`; `<noscript>` content is markup in a document (jsdom parses
 * documents with scripting disabled) but raw text in a fragment (Observatory
 * reads `<meta>` tags from `JSDOM.fragment`, whose parse has scripting enabled);
 * `<template>` content is not part of the document (jsdom's
 * `querySelectorAll` does not see it); inside `<svg>`/`<math>` a `<script>` is a
 * foreign element without `src`, until a tag that breaks out of foreign content
 * or an HTML integration point (`foreignObject`, `desc`, `title`, MathML text,
 * `annotation-xml` with an HTML encoding).
 *
 * Not modelled (the tree builder's rarer corners; the golden test compares the
 * rest with jsdom on generated markup): tags dropped inside `<select>` or after
 * `<frameset>`, the reordering of content foster-parented out of a `<table>`
 * (document order decides which `<meta name=referrer>` is last), and named
 * character references beyond the common ones below.
 */

/** A `<meta>` element's attributes that matter (the first of each, decoded). */
export interface MetaTag {
  readonly httpEquiv: string | null;
  readonly content: string | null;
  readonly name: string | null;
}

/** A `<script>` element. */
export interface ScriptTag {
  /** The `src` attribute, or `null` when absent or when the element is an SVG/MathML `script` (no `src` property). */
  readonly src: string | null;
  readonly integrity: string | null;
}

/** What the scanner found, in document order. */
export interface PageFacts {
  readonly metas: readonly MetaTag[];
  readonly scripts: readonly ScriptTag[];
  /** The `href` of the first `<base>` element that has one. */
  readonly baseHref: string | null;
}

const RAW_TEXT = new Set(['style', 'xmp', 'iframe', 'noembed', 'noframes', 'textarea', 'title']);

/** Start tags that end SVG/MathML content (HTML §13.2.6.5, "any other start tag" exceptions). */
const BREAKOUT = new Set([
  'b', 'big', 'blockquote', 'body', 'br', 'center', 'code', 'dd', 'div', 'dl', 'dt', 'em', 'embed', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
  'head', 'hr', 'i', 'img', 'li', 'listing', 'menu', 'meta', 'nobr', 'ol', 'p', 'pre', 'ruby', 's', 'small', 'span', 'strong',
  'strike', 'sub', 'sup', 'table', 'tt', 'u', 'ul', 'var',
]);
const SVG_HTML_INTEGRATION = new Set(['foreignobject', 'desc', 'title']);
const VOID_ELEMENTS = new Set(['area', 'base', 'basefont', 'bgsound', 'br', 'col', 'embed', 'frame', 'hr', 'image', 'img', 'input', 'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
const MATHML_TEXT_INTEGRATION = new Set(['mi', 'mo', 'mn', 'ms', 'mtext']);

/** Named character references decoded here; those marked `true` also work without `;` (legacy). */
const NAMED_REFERENCES: ReadonlyMap<string, readonly [string, boolean]> = new Map([
  ['amp', ['&', true]], ['AMP', ['&', true]], ['lt', ['<', true]], ['LT', ['<', true]], ['gt', ['>', true]], ['GT', ['>', true]],
  ['quot', ['"', true]], ['QUOT', ['"', true]], ['nbsp', ['\u00a0', true]], ['copy', ['\u00a9', true]], ['reg', ['\u00ae', true]],
  ['apos', ["'", false]], ['sol', ['/', false]], ['colon', [':', false]], ['semi', [';', false]], ['equals', ['=', false]],
  ['num', ['#', false]], ['lpar', ['(', false]], ['rpar', [')', false]], ['comma', [',', false]], ['period', ['.', false]],
  ['Tab', ['\t', false]], ['NewLine', ['\n', false]], ['excl', ['!', false]], ['quest', ['?', false]], ['ast', ['*', false]],
  ['plus', ['+', false]], ['dollar', ['$', false]], ['percnt', ['%', false]], ['lowbar', ['_', false]], ['hyphen', ['\u2010', false]],
]);

/** Windows-1252 meanings of the C1 range in numeric references (HTML §13.2.5.80). */
const C1_REPLACEMENTS: ReadonlyMap<number, number> = new Map([
  [0x80, 0x20ac], [0x82, 0x201a], [0x83, 0x0192], [0x84, 0x201e], [0x85, 0x2026], [0x86, 0x2020], [0x87, 0x2021], [0x88, 0x02c6],
  [0x89, 0x2030], [0x8a, 0x0160], [0x8b, 0x2039], [0x8c, 0x0152], [0x8e, 0x017d], [0x91, 0x2018], [0x92, 0x2019], [0x93, 0x201c],
  [0x94, 0x201d], [0x95, 0x2022], [0x96, 0x2013], [0x97, 0x2014], [0x98, 0x02dc], [0x99, 0x2122], [0x9a, 0x0161], [0x9b, 0x203a],
  [0x9c, 0x0153], [0x9e, 0x017e], [0x9f, 0x0178],
]);

function isAsciiAlpha(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z]$/.test(char);
}

function isTagSpace(char: string | undefined): boolean {
  return char === '\t' || char === '\n' || char === '\f' || char === ' ' || char === '\r';
}

/** Decodes the character references of an attribute value. */
export function decodeAttributeValue(value: string): string {
  if (!value.includes('&')) return value;
  let out = '';
  let index = 0;
  while (index < value.length) {
    const amp = value.indexOf('&', index);
    if (amp === -1) {
      out += value.slice(index);
      break;
    }
    out += value.slice(index, amp);
    index = amp + 1;
    if (value[index] === '#') {
      const hex = value[index + 1] === 'x' || value[index + 1] === 'X';
      const digits = hex ? /^[0-9a-fA-F]+/.exec(value.slice(index + 2)) : /^[0-9]+/.exec(value.slice(index + 1));
      if (!digits) {
        out += '&';
        continue;
      }
      index += (hex ? 2 : 1) + digits[0].length;
      if (value[index] === ';') index++;
      let code = parseInt(digits[0], hex ? 16 : 10);
      if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) code = 0xfffd;
      code = C1_REPLACEMENTS.get(code) ?? code;
      out += String.fromCodePoint(code);
      continue;
    }
    const name = /^[A-Za-z][A-Za-z0-9]*/.exec(value.slice(index));
    const reference = name ? NAMED_REFERENCES.get(name[0]) : undefined;
    if (!name || !reference) {
      out += '&';
      continue;
    }
    const after = value[index + name[0].length];
    if (after === ';') {
      out += reference[0];
      index += name[0].length + 1;
    } else if (reference[1] && after !== '=' && !/^[A-Za-z0-9]$/.test(after ?? '')) {
      out += reference[0];
      index += name[0].length;
    } else {
      out += '&';
    }
  }
  return out;
}

interface Tag {
  readonly name: string;
  readonly attributes: ReadonlyMap<string, string>;
  readonly selfClosing: boolean;
  /** Index just after the tag's `>`. */
  readonly end: number;
}

/** Reads a tag whose name starts at `start` (just after `<` or `</`); `undefined` when the input ends inside it. */
function readTag(html: string, start: number): Tag | undefined {
  let index = start;
  let name = '';
  while (index < html.length && !isTagSpace(html[index]) && html[index] !== '/' && html[index] !== '>') {
    const char = html[index]!;
    name += char === '\u0000' ? '\ufffd' : char;
    index++;
  }
  name = name.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
  const attributes = new Map<string, string>();
  let selfClosing = false;
  while (index < html.length) {
    const char = html[index];
    if (isTagSpace(char)) {
      index++;
      continue;
    }
    if (char === '>') return { name, attributes, selfClosing, end: index + 1 };
    if (char === '/') {
      index++;
      if (html[index] === '>') {
        selfClosing = true;
        return { name, attributes, selfClosing, end: index + 1 };
      }
      continue;
    }
    // An attribute name: at least one character (a leading `=` belongs to it).
    let attributeName = char!;
    index++;
    while (index < html.length && !isTagSpace(html[index]) && html[index] !== '/' && html[index] !== '>' && html[index] !== '=') {
      attributeName += html[index];
      index++;
    }
    attributeName = attributeName.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
    while (isTagSpace(html[index])) index++;
    let attributeValue = '';
    if (html[index] === '=') {
      index++;
      while (isTagSpace(html[index])) index++;
      const quote = html[index];
      if (quote === '"' || quote === "'") {
        const close = html.indexOf(quote, index + 1);
        if (close === -1) return undefined;
        attributeValue = html.slice(index + 1, close);
        index = close + 1;
      } else {
        const valueStart = index;
        while (index < html.length && !isTagSpace(html[index]) && html[index] !== '>') index++;
        attributeValue = html.slice(valueStart, index);
      }
    }
    if (!attributes.has(attributeName)) attributes.set(attributeName, decodeAttributeValue(attributeValue.replaceAll('\u0000', '\ufffd')));
  }
  return undefined;
}

/** Whether `</name` followed by a tag delimiter starts at `index` (ASCII case-insensitive). */
function isEndTagOf(html: string, index: number, name: string): boolean {
  if (html[index] !== '<' || html[index + 1] !== '/') return false;
  if (html.slice(index + 2, index + 2 + name.length).toLowerCase() !== name) return false;
  const after = html[index + 2 + name.length];
  return isTagSpace(after) || after === '/' || after === '>';
}

/** Whether `<script` followed by a delimiter starts at `index`. */
function isScriptStart(html: string, index: number): boolean {
  if (html[index] !== '<' || html.slice(index + 1, index + 7).toLowerCase() !== 'script') return false;
  const after = html[index + 7];
  return isTagSpace(after) || after === '/' || after === '>';
}

/** The index of the `</script` that ends script data starting at `from`, following the escape states. */
function scriptDataEnd(html: string, from: number): number {
  let state: 'data' | 'escaped' | 'double-escaped' = 'data';
  let index = from;
  while (index < html.length) {
    if (state === 'data') {
      if (html.startsWith('<!--', index)) {
        state = 'escaped';
        index += 2; // the dashes of `<!--` may close it again (`<!-->`)
        continue;
      }
      if (isEndTagOf(html, index, 'script')) return index;
    } else if (state === 'escaped') {
      if (html.startsWith('-->', index)) {
        state = 'data';
        index += 3;
        continue;
      }
      if (isEndTagOf(html, index, 'script')) return index;
      if (isScriptStart(html, index)) {
        state = 'double-escaped';
        index += 7;
        continue;
      }
    } else {
      if (html.startsWith('-->', index)) {
        state = 'data';
        index += 3;
        continue;
      }
      if (isEndTagOf(html, index, 'script')) {
        state = 'escaped';
        index += 8;
        continue;
      }
    }
    index++;
  }
  return html.length;
}

/** The index of the end tag of raw text/RCDATA element `name`, or the end of the input. */
function rawTextEnd(html: string, from: number, name: string): number {
  let index = html.indexOf('</', from);
  while (index !== -1) {
    if (isEndTagOf(html, index, name)) return index;
    index = html.indexOf('</', index + 2);
  }
  return html.length;
}

/** The index after a comment that starts with `<!--` at `start`. */
function commentEnd(html: string, start: number): number {
  const body = start + 4;
  if (html[body] === '>') return body + 1;
  if (html.startsWith('->', body)) return body + 2;
  let index = body;
  while (index < html.length) {
    const dashes = html.indexOf('--', index);
    if (dashes === -1) return html.length;
    if (html[dashes + 2] === '>') return dashes + 3;
    if (html.startsWith('!>', dashes + 2)) return dashes + 4;
    index = dashes + 1;
  }
  return html.length;
}

interface ForeignElement {
  readonly name: string;
  readonly namespace: 'svg' | 'math';
  /** Inside it, tags are HTML again (HTML §13.2.6.5: HTML and MathML text integration points). */
  readonly integration: boolean;
}

function isIntegrationPoint(namespace: 'svg' | 'math', tag: Tag): boolean {
  if (namespace === 'svg') return SVG_HTML_INTEGRATION.has(tag.name);
  if (MATHML_TEXT_INTEGRATION.has(tag.name)) return true;
  const encoding = tag.attributes.get('encoding')?.toLowerCase();
  return tag.name === 'annotation-xml' && (encoding === 'text/html' || encoding === 'application/xhtml+xml');
}

/** How the page is parsed: as a document (`new JSDOM(html)`) or as a fragment (`JSDOM.fragment(html)`). */
export type ParseMode = 'document' | 'fragment';

/** Scans `html` for the elements Observatory's tests read (see the module comment). */
export function scanPage(html: string, mode: ParseMode = 'document'): PageFacts {
  const metas: MetaTag[] = [];
  const scripts: ScriptTag[] = [];
  let baseHref: string | null = null;
  let templateDepth = 0;
  const foreign: ForeignElement[] = [];
  // HTML elements still open, by name (roughly: no implied end tags). An end tag
  // inside SVG/MathML that closes one of them closes the foreign content too.
  const htmlOpen = new Map<string, number>();
  const closeHtml = (name: string): boolean => {
    const open = htmlOpen.get(name) ?? 0;
    if (open === 0) return false;
    htmlOpen.set(name, open - 1);
    return true;
  };

  const inHtmlContext = (): boolean => foreign.at(-1)?.integration ?? true;

  let index = 0;
  while (index < html.length) {
    const open = html.indexOf('<', index);
    if (open === -1) break;
    const next = html[open + 1];
    if (html.startsWith('<!--', open)) {
      index = commentEnd(html, open);
      continue;
    }
    if (next === '!' && foreign.length > 0 && !inHtmlContext() && html.startsWith('<![CDATA[', open)) {
      const close = html.indexOf(']]>', open + 9);
      index = close === -1 ? html.length : close + 3;
      continue;
    }
    if (next === '!' || next === '?') {
      const close = html.indexOf('>', open + 2);
      index = close === -1 ? html.length : close + 1;
      continue;
    }
    if (next === '/') {
      const first = html[open + 2];
      if (isAsciiAlpha(first)) {
        const tag = readTag(html, open + 2);
        if (!tag) break;
        index = tag.end;
        const position = foreign.map((element) => element.name).lastIndexOf(tag.name);
        if (position !== -1) {
          foreign.length = position;
        } else if (foreign.length > 0 && !inHtmlContext()) {
          if (tag.name === 'br' || tag.name === 'p') {
            foreign.length = 0;
          } else if (closeHtml(tag.name)) {
            // It closes an HTML ancestor, and the foreign content inside it with it.
            foreign.length = 0;
            if (tag.name === 'template' && templateDepth > 0) templateDepth--;
          }
        } else if (closeHtml(tag.name) && tag.name === 'template' && templateDepth > 0) {
          templateDepth--;
        }
        continue;
      }
      if (first === '>') {
        index = open + 3;
        continue;
      }
      if (first === undefined) break;
      const close = html.indexOf('>', open + 2);
      index = close === -1 ? html.length : close + 1;
      continue;
    }
    if (!isAsciiAlpha(next)) {
      index = open + 1;
      continue;
    }
    const tag = readTag(html, open + 1);
    if (!tag) break;
    index = tag.end;

    if (!inHtmlContext()) {
      const breaksOut = BREAKOUT.has(tag.name) || (tag.name === 'font' && (tag.attributes.has('color') || tag.attributes.has('face') || tag.attributes.has('size')));
      if (!breaksOut) {
        const namespace = foreign.at(-1)!.namespace;
        if (tag.name === 'script' && templateDepth === 0) scripts.push({ src: null, integrity: tag.attributes.get('integrity') ?? null });
        if (!tag.selfClosing) foreign.push({ name: tag.name, namespace, integration: isIntegrationPoint(namespace, tag) });
        continue;
      }
      // Pop back to HTML: to the innermost integration point, or out of foreign content altogether.
      while (foreign.length > 0 && !inHtmlContext()) foreign.pop();
    }

    // An HTML element.
    if (tag.name === 'svg' || tag.name === 'math') {
      if (!tag.selfClosing) foreign.push({ name: tag.name, namespace: tag.name === 'svg' ? 'svg' : 'math', integration: false });
      continue;
    }
    if (!VOID_ELEMENTS.has(tag.name)) htmlOpen.set(tag.name, (htmlOpen.get(tag.name) ?? 0) + 1);
    if (tag.name === 'template') {
      templateDepth++;
      continue;
    }
    if (templateDepth === 0) {
      if (tag.name === 'meta') {
        metas.push({ httpEquiv: tag.attributes.get('http-equiv') ?? null, content: tag.attributes.get('content') ?? null, name: tag.attributes.get('name') ?? null });
      } else if (tag.name === 'script') {
        scripts.push({ src: tag.attributes.get('src') ?? null, integrity: tag.attributes.get('integrity') ?? null });
      } else if (tag.name === 'base' && baseHref === null && tag.attributes.has('href')) {
        baseHref = tag.attributes.get('href')!;
      }
    }
    if (tag.name === 'script') {
      index = scriptDataEnd(html, index);
    } else if (tag.name === 'plaintext') {
      break;
    } else if (RAW_TEXT.has(tag.name) || (tag.name === 'noscript' && mode === 'fragment')) {
      index = rawTextEnd(html, index, tag.name);
    }
  }
  return { metas, scripts, baseHref };
}
