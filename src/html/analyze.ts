/**
 * The template analyser: runs the static parts of an `html` template through a
 * subset of the WHATWG HTML tokenizer, once, and decides for every slot the context
 * its value lands in, and so its escaper. A slot whose safe escaping would depend on
 * a sub-language (JavaScript, CSS, a URL's scheme split in two, markup inside an
 * attribute) is refused here, with a code and the template's location, before any
 * value is ever rendered: deny by default, as Go's html/template and safehtml do.
 *
 * The analyser also rewrites the static parts: `<script>` and `<style>` get the
 * response's nonce, and every same-origin `<form method="post">` starts with the CSRF
 * field, both as markers a request fills in (see `escape.ts`).
 */

import { CSRF_MARKER, MARKER, NONCE_MARKER } from './escape.ts';

/** How a slot's value is rendered. */
export type SlotKind =
  | 'text' // element content: escaped; SafeHtml and arrays as they are
  | 'rcdata' // <title>, <textarea>: escaped, SafeHtml too
  | 'attribute' // a quoted attribute value: escaped
  | 'url' // the start of a URL attribute's value: scheme allowlist, then escaped
  | 'url-part' // later in a URL attribute's value: percent-encoded, then escaped
  | 'srcset' // a srcset value: each candidate's URL filtered
  | 'url-list' // an SVG animation's values="…": each `;`-separated URL filtered
  | 'json'; // the content of <script type="application/json">: json() values only

/** Why a template is refused. Stable: tests and tooling match on them. */
export type TemplateErrorCode =
  | 'html_not_a_template'
  | 'html_unquoted_attribute'
  | 'html_slot_in_tag_name'
  | 'html_slot_in_attribute_name'
  | 'html_slot_in_event_handler'
  | 'html_slot_in_style_attribute'
  | 'html_slot_in_srcdoc'
  | 'html_slot_in_meta_content'
  | 'html_slot_in_script'
  | 'html_slot_in_style'
  | 'html_slot_in_raw_text'
  | 'html_slot_in_comment'
  | 'html_slot_in_doctype'
  | 'html_slot_in_resource_url'
  | 'html_url_scheme_split'
  | 'html_unsafe_url_prefix'
  | 'html_formaction_leaves_origin'
  | 'html_structure_unclear'
  | 'html_slot_in_character_reference'
  | 'html_template_ends_in_tag'
  | 'html_template_ends_in_comment'
  | 'html_template_ends_in_raw_text'
  | 'html_nul_in_template';

/** A template rampart refuses: a mistake in the code, found when the template is first used. */
export class TemplateError extends TypeError {
  override readonly name = 'TemplateError';
  readonly code: TemplateErrorCode;

  constructor(code: TemplateErrorCode, message: string, location: string) {
    super(`rampart: html template refused (${code}): ${message}\n  in: ${location}`);
    this.code = code;
  }
}

/** What the analyser gives the renderer: the static parts (rewritten) and the kind of each slot. */
export interface Compiled {
  readonly statics: readonly string[];
  readonly kinds: readonly SlotKind[];
}

/** The tokenizer states the analyser needs (WHATWG HTML §13.2.5, a subset). */
const S = {
  DATA: 0,
  TAG_OPEN: 1,
  END_TAG_OPEN: 2,
  TAG_NAME: 3,
  END_TAG_NAME: 4,
  BEFORE_ATTR_NAME: 5,
  ATTR_NAME: 6,
  AFTER_ATTR_NAME: 7,
  BEFORE_ATTR_VALUE: 8,
  VALUE_DQ: 9,
  VALUE_SQ: 10,
  VALUE_UNQUOTED: 11,
  AFTER_VALUE: 12,
  SELF_CLOSING: 13,
  MARKUP: 14,
  COMMENT: 15,
  BOGUS_COMMENT: 16,
  DOCTYPE: 17,
  CDATA: 18,
  RAW: 19,
} as const;
type State = (typeof S)[keyof typeof S];

/** Elements whose content the tokenizer reads as raw text up to their end tag. */
const RAW_TEXT = new Set(['script', 'style', 'xmp', 'iframe', 'noembed', 'noframes', 'noscript', 'plaintext']);
const RCDATA = new Set(['title', 'textarea']);

/** Attributes whose value is a URL (WHATWG, and the SVG/MathML ones), by lowercase name. */
const URL_ATTRIBUTES = new Set([
  'href', 'src', 'action', 'formaction', 'poster', 'cite', 'data', 'background', 'ping', 'icon', 'manifest',
  'codebase', 'longdesc', 'usemap', 'lowsrc', 'dynsrc', 'profile', 'classid', 'archive', 'xlink:href', 'itemtype', 'itemid',
]);
/** SVG elements whose `values`/`to`/`from`/`by` can set another attribute, `href` included. */
const SVG_ANIMATIONS = new Set(['animate', 'set', 'animatemotion', 'animatetransform']);
/** (element, attribute) pairs whose URL loads code or a document: no slot at the start of the value. */
const RESOURCE_URLS = new Set(['script src', 'script href', 'script xlink:href', 'iframe src', 'frame src', 'embed src', 'object data', 'object codebase', 'base href', 'link href', 'applet code', 'applet codebase', 'portal src']);

/**
 * An element open inside SVG or MathML, as the tree builder sees it: the tokenizer's
 * behaviour there (raw text or not, CDATA or not) depends on the namespace of the
 * current element, so the analyser keeps the part of the stack of open elements that
 * starts at the outermost `<svg>` or `<math>` (WHATWG HTML §13.2.6.5).
 */
interface OpenElement {
  readonly namespace: 'html' | 'svg' | 'math';
  readonly name: string;
  /** An HTML integration point, or a MathML text integration point: start tags inside follow the HTML rules. */
  readonly integration: boolean;
}

/** Start tags that end foreign content: the tree builder pops back to HTML (§13.2.6.5, "a start tag whose tag name is one of"). */
const BREAKOUT = new Set([
  'b', 'big', 'blockquote', 'body', 'br', 'center', 'code', 'dd', 'div', 'dl', 'dt', 'em', 'embed', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
  'head', 'hr', 'i', 'img', 'li', 'listing', 'menu', 'meta', 'nobr', 'ol', 'p', 'pre', 'ruby', 's', 'small', 'span', 'strong', 'strike',
  'sub', 'sup', 'table', 'tt', 'u', 'ul', 'var',
]);
/** HTML elements without an end tag: never on the stack. */
const VOID_ELEMENTS = new Set(['area', 'base', 'basefont', 'bgsound', 'br', 'col', 'embed', 'frame', 'hr', 'img', 'input', 'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr']);

function isIntegrationPoint(namespace: 'svg' | 'math', name: string, encoding: string | null | undefined): boolean {
  if (namespace === 'svg') return name === 'foreignobject' || name === 'desc' || name === 'title';
  if (name === 'mi' || name === 'mo' || name === 'mn' || name === 'ms' || name === 'mtext') return true;
  return name === 'annotation-xml' && typeof encoding === 'string' && /^(?:text\/html|application\/xhtml\+xml)$/i.test(encoding);
}

function isAsciiLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}
function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

function isUrlAttribute(name: string): boolean {
  return URL_ATTRIBUTES.has(name) || /(?:url|uri)$/.test(name) || name === 'data-src' || name.endsWith('-src') || name.endsWith('-href');
}

/** A short description of the template, for error messages. */
function describeTemplate(statics: readonly string[], slot: number, location: string): string {
  const before = statics.slice(0, slot + 1).join('${…}');
  const shown = before.length > 80 ? `…${before.slice(-80)}` : before;
  return `html\`${shown}\${…}\`…${location ? ` (${location})` : ''}`;
}

/**
 * Analyses a template's static parts; throws a `TemplateError` for a template rampart
 * refuses. A template with a `<noscript>` is read twice: as a page runs it (its content
 * raw text) and as `DOMParser` reads it, with scripting off (its content markup), which
 * is how libraries that swap pages (Turbo, htmx) parse what they insert. Both readings
 * must put every slot in the same context.
 */
export function analyze(strings: readonly string[], location: string): Compiled {
  const compiled = analyzeAs(strings, location, true);
  if (strings.some((text) => /<noscript/i.test(text))) {
    const unscripted = analyzeAs(strings, location, false);
    const differs = unscripted.kinds.findIndex((kind, slot) => kind !== compiled.kinds[slot]);
    if (differs !== -1) {
      throw new TemplateError('html_structure_unclear', 'with scripting off (DOMParser), <noscript> holds markup, and this slot lands elsewhere than with scripting on; keep markup-like text out of <noscript>.', describeTemplate(strings, differs, location));
    }
  }
  return compiled;
}

function analyzeAs(strings: readonly string[], location: string, scripting: boolean): Compiled {
  let state: State = S.DATA;
  const statics: string[] = [];
  const kinds: SlotKind[] = [];
  // The tag being read.
  let tagName = '';
  let endTag = false;
  let attributeName = '';
  /** Static text of the current attribute value before the slot (URL prefix checks). */
  let valueText = '';
  let valueHasSlot = false;
  let tagAttributes = new Map<string, string | null>();
  /** The static text before the first slot of each attribute of the current tag that has one. */
  let slotPrefixes = new Map<string, string>();
  // Content state.
  let rawEnd = ''; // the end tag that closes the current raw text or RCDATA element
  let rcdata = false;
  let jsonScript = false;
  /** The open elements from the outermost `<svg>` or `<math>` on; empty in HTML content. */
  const foreign: OpenElement[] = [];
  /** The end tag being read closes raw text or RCDATA (whose element is not on `foreign`). */
  let closesRawText = false;
  /** Inside a `<select>`: browsers parse what it holds by two sets of rules (see `closeTag`). */
  let inSelect = false;
  let markup = '';
  /** Static text inside the current raw text element (a JSON script must hold only its slot). */
  let rawText = '';
  let rawSlots = 0;
  /** Written right after the character that closed a tag (the CSRF field of a form). */
  let afterTag = '';
  /** A slot began a URL attribute's value: the static text after it must not add a scheme. */
  let schemeOpen = false;

  const fail = (code: TemplateErrorCode, message: string, slot: number): never => {
    const reading = scripting ? '' : ' (this is how the template reads with scripting off, as DOMParser reads it: <noscript> then holds markup)';
    throw new TemplateError(code, message + reading, describeTemplate(strings, slot, location));
  };

  /** The static part being read (for the location of a refusal found at a tag's end). */
  let currentPart = 0;

  for (let part = 0; part < strings.length; part++) {
    currentPart = part;
    const text = strings[part]!;
    if (text.includes(MARKER)) fail('html_nul_in_template', 'the template holds a NUL character (U+0000), the engine\'s own marker; remove it (browsers drop or replace it anyway).', part);
    let out = '';
    for (let index = 0; index < text.length; index++) {
      const character = text[index]!;
      const code = text.charCodeAt(index);
      switch (state) {
        case S.DATA:
          if (character === '<') state = S.TAG_OPEN;
          break;
        case S.TAG_OPEN:
          if (character === '!') {
            state = S.MARKUP;
            markup = '';
          } else if (character === '/') state = S.END_TAG_OPEN;
          else if (character === '?') state = S.BOGUS_COMMENT;
          else if (isAsciiLetter(code)) {
            state = S.TAG_NAME;
            tagName = character.toLowerCase();
            endTag = false;
            tagAttributes = new Map();
            slotPrefixes = new Map();
          } else {
            // Reconsumed as text: written once, on the next turn.
            state = S.DATA;
            index--;
            continue;
          }
          break;
        case S.END_TAG_OPEN:
          if (isAsciiLetter(code)) {
            state = S.END_TAG_NAME;
            tagName = character.toLowerCase();
            endTag = true;
          } else if (character === '>') state = S.DATA;
          else state = S.BOGUS_COMMENT;
          break;
        case S.TAG_NAME:
        case S.END_TAG_NAME:
          // An end tag's attributes are read (quotes and all) as a start tag's, then dropped.
          if (isSpace(code)) state = S.BEFORE_ATTR_NAME;
          else if (character === '/') state = S.SELF_CLOSING;
          else if (character === '>') {
            ({ out, state } = closeTag(out, false));
          } else tagName += character.toLowerCase();
          break;
        case S.BEFORE_ATTR_NAME:
          if (isSpace(code)) break;
          if (character === '/') state = S.SELF_CLOSING;
          else if (character === '>') ({ out, state } = closeTag(out, false));
          else {
            state = S.ATTR_NAME;
            attributeName = character.toLowerCase();
          }
          break;
        case S.ATTR_NAME:
          if (isSpace(code)) state = S.AFTER_ATTR_NAME;
          else if (character === '/') {
            keepAttribute(attributeName, '');
            state = S.SELF_CLOSING;
          } else if (character === '=') state = S.BEFORE_ATTR_VALUE;
          else if (character === '>') {
            keepAttribute(attributeName, '');
            ({ out, state } = closeTag(out, false));
          } else attributeName += character.toLowerCase();
          break;
        case S.AFTER_ATTR_NAME:
          if (isSpace(code)) break;
          if (character === '=') state = S.BEFORE_ATTR_VALUE;
          else {
            keepAttribute(attributeName, '');
            if (character === '/') state = S.SELF_CLOSING;
            else if (character === '>') ({ out, state } = closeTag(out, false));
            else {
              state = S.ATTR_NAME;
              attributeName = character.toLowerCase();
            }
          }
          break;
        case S.BEFORE_ATTR_VALUE:
          if (isSpace(code)) break;
          valueText = '';
          valueHasSlot = false;
          if (character === '"') state = S.VALUE_DQ;
          else if (character === "'") state = S.VALUE_SQ;
          else if (character === '>') {
            keepAttribute(attributeName, '');
            ({ out, state } = closeTag(out, false));
          } else {
            state = S.VALUE_UNQUOTED;
            valueText = character;
          }
          break;
        case S.VALUE_DQ:
        case S.VALUE_SQ:
          if (character === (state === S.VALUE_DQ ? '"' : "'")) {
            // An animation's value may set `href`: nothing static around its slot.
            if (valueHasSlot && valueText !== '' && isAnimationValue(attributeName)) {
              fail('html_url_scheme_split', `an SVG animation's ${attributeName}="…" takes one slot and nothing else: ${attributeName}="\${…}".`, part - 1);
            }
            keepAttribute(attributeName, valueHasSlot ? null : valueText);
            state = S.AFTER_VALUE;
            schemeOpen = false;
          } else {
            valueText += character;
            if (schemeOpen) {
              // A character reference could decode to ':' (`&#58;`, `&colon;`): refused as one.
              if (character === ':' || character === '&') fail('html_url_scheme_split', `the text after the slot would give the URL a scheme ("\${…}${text.slice(0, index + 1)}"); put the whole URL in one slot.`, part - 1);
              if (character === '/' || character === '?' || character === '#') schemeOpen = false;
            }
          }
          break;
        case S.VALUE_UNQUOTED:
          if (isSpace(code)) {
            keepAttribute(attributeName, valueText);
            state = S.BEFORE_ATTR_NAME;
          } else if (character === '>') {
            keepAttribute(attributeName, valueText);
            ({ out, state } = closeTag(out, false));
          } else valueText += character;
          break;
        case S.AFTER_VALUE:
          if (isSpace(code)) state = S.BEFORE_ATTR_NAME;
          else if (character === '/') state = S.SELF_CLOSING;
          else if (character === '>') ({ out, state } = closeTag(out, false));
          else {
            state = S.ATTR_NAME;
            attributeName = character.toLowerCase();
          }
          break;
        case S.SELF_CLOSING:
          if (character === '>') ({ out, state } = closeTag(out, true));
          else {
            // `<svg/ >` is not self-closing: anything but `>` goes back to attribute names.
            state = S.BEFORE_ATTR_NAME;
            index--;
            continue;
          }
          break;
        case S.MARKUP:
          markup += character;
          if (markup === '--') {
            state = S.COMMENT;
            markup = '';
          } else if (markup.length === 7 && markup.toLowerCase() === 'doctype') state = S.DOCTYPE;
          else if (markup === '[CDATA[') {
            const current = foreign.at(-1);
            // At an integration point the spec says CDATA, parse5 and WebKit a bogus comment.
            if (current?.integration) fail('html_structure_unclear', `<![CDATA[ directly inside <${current.name}> is read as CDATA by some parsers and as a comment by others; move it into an SVG or MathML element.`, part);
            state = current !== undefined && current.namespace !== 'html' ? S.CDATA : S.BOGUS_COMMENT;
          }
          else if (!('--'.startsWith(markup) || 'doctype'.startsWith(markup.toLowerCase()) || '[CDATA['.startsWith(markup))) {
            state = S.BOGUS_COMMENT;
            if (character === '>') state = S.DATA;
          }
          break;
        case S.COMMENT:
          markup += character;
          // `<!-->`, `<!--->`, then `-->` or `--!>` anywhere.
          if ((markup === '>' || markup === '->') || markup.endsWith('-->') || markup.endsWith('--!>')) state = S.DATA;
          break;
        case S.BOGUS_COMMENT:
        case S.DOCTYPE:
          if (character === '>') state = S.DATA;
          break;
        case S.CDATA:
          markup += character;
          if (markup.endsWith(']]>')) state = S.DATA;
          break;
        case S.RAW: {
          rawText += character;
          // `<!--` in a script starts the escaped states, where `<script>` … `</script>` does not end it.
          if (rawEnd === 'script' && character === '-' && rawText.endsWith('<!--')) {
            fail('html_structure_unclear', '"<!--" inside a <script> changes where the browser ends the script (script data escaped states); remove it.', part);
          }
          // Raw text or RCDATA ends only at `</name` followed by space, `/` or `>`; plaintext never.
          if (character === '<' && rawEnd !== 'plaintext' && text[index + 1] === '/' && text.slice(index + 2, index + 2 + rawEnd.length).toLowerCase() === rawEnd) {
            const after = text.charCodeAt(index + 2 + rawEnd.length);
            if (isSpace(after) || after === 0x2f || after === 0x3e) {
              state = S.END_TAG_NAME;
              endTag = true;
              closesRawText = true;
              tagName = rawEnd;
              out += text.slice(index, index + 2 + rawEnd.length);
              index += 1 + rawEnd.length;
              rawEnd = '';
              rcdata = false;
              jsonScript = false;
              continue;
            }
          }
          break;
        }
      }
      out += character;
      if (afterTag) {
        out += afterTag;
        afterTag = '';
      }
    }
    // Built a character at a time, `out` is a rope; flattened once here, not on every render.
    statics.push(flatten(out));
    if (part === strings.length - 1) break;

    // The slot after this static part.
    const slot = part;
    switch (state) {
      case S.DATA:
        for (const element of foreign) {
          if (element.namespace === 'html' || (element.name !== 'script' && element.name !== 'style')) continue;
          fail(element.name === 'script' ? 'html_slot_in_script' : 'html_slot_in_style', `a slot inside an SVG or MathML <${element.name}> would be read as ${element.name === 'script' ? 'script' : 'CSS'}.`, slot);
        }
        kinds.push('text');
        break;
      case S.RAW:
        rawSlots++;
        if (rcdata) {
          // `</textarea${' '}>`: the value would finish the end tag the static text began.
          const open = rawText.lastIndexOf('<');
          const tail = open === -1 ? undefined : rawText.slice(open + 1).toLowerCase();
          if (tail !== undefined && (tail === '' || (tail.startsWith('/') && rawEnd.startsWith(tail.slice(1))))) {
            fail('html_slot_in_raw_text', `a slot right after "<${tail}" could end the <${rawEnd}> element; move it away from the end tag.`, slot);
          }
          kinds.push('rcdata');
        } else if (jsonScript && rawSlots === 1 && /^\s*$/.test(rawText)) kinds.push('json');
        else if (jsonScript) fail('html_slot_in_script', 'a JSON script holds one slot and nothing else: <script type="application/json">${json(data)}</script>.', slot);
        else if (rawEnd === 'script') fail('html_slot_in_script', 'data cannot go into a <script>; put it in <script type="application/json">${json(data)}</script> and read it with JSON.parse.', slot);
        else if (rawEnd === 'style') fail('html_slot_in_style', 'data cannot go into a <style> element; use classes, or a static stylesheet.', slot);
        else fail('html_slot_in_raw_text', `<${rawEnd}> is raw text that escaping cannot protect; move the slot out of it.`, slot);
        break;
      case S.VALUE_DQ:
      case S.VALUE_SQ: {
        if (endTag) fail('html_slot_in_tag_name', `a slot inside an end tag (</${tagName} …>) goes nowhere: the browser drops an end tag's attributes. Remove it.`, slot);
        if (isAnimationValue(attributeName) && (valueHasSlot || valueText !== '')) {
          fail('html_url_scheme_split', `an SVG animation's ${attributeName}="…" takes one slot and nothing else: ${attributeName}="\${…}".`, slot);
        }
        const kind = attributeKind(slot);
        // `href="javascript&#${x}"` with 58: the value would finish a reference to ':'. A
        // numeric reference needs no `;`; in a URL, a bare `&` could start one (`#` from data).
        if (/&#[xX]?[0-9A-Fa-f]*$/.test(valueText) || (kind !== 'attribute' && valueText.endsWith('&'))) {
          fail('html_slot_in_character_reference', 'the slot follows an unfinished character reference ("&#…", or "&" in a URL), which its value could complete; write the reference whole, or put the & in the value.', slot);
        }
        kinds.push(kind);
        // After a slot at the start of a URL, or after a static relative prefix with no
        // path yet, the static text that follows must not supply a scheme, until a `/`,
        // `?` or `#` ends the scheme's place: `${a}${b}:x` stays open across both slots.
        schemeOpen ||= kind === 'url' || kind === 'url-list' || (kind === 'url-part' && !valueHasSlot && valueText.search(/[:/?#]/) === -1);
        if (!valueHasSlot) slotPrefixes.set(attributeName, valueText);
        valueHasSlot = true;
        break;
      }
      case S.VALUE_UNQUOTED:
      case S.BEFORE_ATTR_VALUE:
        fail('html_unquoted_attribute', `quote the attribute: ${attributeName}="\${…}" (the seed: "attribute values should always be quoted").`, slot);
        break;
      case S.TAG_OPEN:
      case S.TAG_NAME:
      case S.END_TAG_OPEN:
      case S.END_TAG_NAME:
        fail('html_slot_in_tag_name', 'a tag name cannot come from data.', slot);
        break;
      case S.BEFORE_ATTR_NAME:
      case S.ATTR_NAME:
      case S.AFTER_ATTR_NAME:
      case S.AFTER_VALUE:
      case S.SELF_CLOSING:
        fail('html_slot_in_attribute_name', 'attribute names cannot come from data; write each attribute in the template with a quoted value.', slot);
        break;
      case S.MARKUP:
      case S.COMMENT:
      case S.BOGUS_COMMENT:
      case S.CDATA:
        fail('html_slot_in_comment', 'a slot inside a comment could end it (`-->`); leave data out of comments.', slot);
        break;
      case S.DOCTYPE:
        fail('html_slot_in_doctype', 'the doctype cannot come from data.', slot);
        break;
    }
  }

  if (state === S.RAW) fail('html_template_ends_in_raw_text', `the template ends inside <${rawEnd}>; close it in the same template.`, strings.length - 1);
  if (state === S.COMMENT || state === S.BOGUS_COMMENT || state === S.MARKUP || state === S.CDATA || state === S.DOCTYPE) {
    fail('html_template_ends_in_comment', 'the template ends inside a comment or declaration.', strings.length - 1);
  }
  if (state !== S.DATA) fail('html_template_ends_in_tag', 'the template ends inside a tag; close the tag (and its quotes) in the same template.', strings.length - 1);
  return { statics, kinds };

  /** The kind of a slot in the current quoted attribute value, or a refusal. */
  function attributeKind(slot: number): SlotKind {
    const name = attributeName;
    if (name.startsWith('on')) return fail('html_slot_in_event_handler', `${name}="…" is JavaScript; attach handlers from a script file and pass data in data-* attributes.`, slot);
    if (name === 'style') return fail('html_slot_in_style_attribute', 'style="…" is CSS; use classes instead.', slot);
    if (name === 'srcdoc') return fail('html_slot_in_srcdoc', 'srcdoc="…" is a whole HTML document; serve it from its own URL instead.', slot);
    if (tagName === 'meta' && (name === 'content' || name === 'http-equiv')) return fail('html_slot_in_meta_content', `<meta ${name}> can redirect or set headers (content="0;url=…"); keep it static.`, slot);
    if (name === 'srcset' || name === 'imagesrcset') return 'srcset';
    if (SVG_ANIMATIONS.has(tagName)) {
      // <animate attributeName="href" values="javascript:…">: an animation can set any attribute.
      if (name === 'attributename') return fail('html_slot_in_attribute_name', `<${tagName} attributeName> chooses which attribute the animation sets; keep it static.`, slot);
      // The whole value, and nothing static around it (see the slot's case above).
      if (name === 'values') return 'url-list';
      if (name === 'to' || name === 'from' || name === 'by') return 'url';
    }
    if (!isUrlAttribute(name)) return 'attribute';
    if (RESOURCE_URLS.has(`${tagName} ${name}`)) {
      if (!valueHasSlot && !isSafeResourcePrefix(valueText)) {
        return fail('html_slot_in_resource_url', `<${tagName} ${name}> loads code or a document; start the value with a fixed same-origin path or https://host/ in the template.`, slot);
      }
      return 'url-part';
    }
    if (valueHasSlot) return 'url-part';
    const kind = staticPrefixKind(slot);
    // A submit button's formaction replaces its form's action, CSRF field included:
    // data may only follow a same-origin path, as for a form's own `action`.
    if (name === 'formaction' && !isSameOriginAction(null, valueText)) {
      fail('html_formaction_leaves_origin', 'formaction="…" sends the form, with its CSRF token, where it points; start the value with a same-origin path (/…) in the template.', slot);
    }
    return kind;
  }

  /** The kind of the first slot of a URL attribute, after the static text before it. */
  function staticPrefixKind(slot: number): SlotKind {
    const prefix = asUrlParserSees(valueText);
    if (prefix === '') return 'url';
    // A static prefix: its scheme (if it has one) is checked now, the slot is percent-encoded.
    const colon = prefix.indexOf(':');
    const pathStart = prefix.search(/[/?#]/);
    if (colon !== -1 && (pathStart === -1 || colon < pathStart)) {
      const scheme = prefix.slice(0, colon).toLowerCase();
      if (!['http', 'https', 'mailto', 'tel'].includes(scheme)) return fail('html_unsafe_url_prefix', `the URL starts with "${scheme}:", which is not http, https, mailto or tel.`, slot);
    }
    // A relative prefix, or a safe scheme: the slot is percent-encoded, so it cannot add a `:`.
    return 'url-part';
  }

  /** A value an SVG animation may give another attribute, `href` included. */
  function isAnimationValue(name: string): boolean {
    return SVG_ANIMATIONS.has(tagName) && (name === 'values' || name === 'to' || name === 'from' || name === 'by');
  }

  /** Records an attribute of the tag being read: the first of a name wins, as in the browser. */
  function keepAttribute(name: string, value: string | null): void {
    if (!tagAttributes.has(name)) tagAttributes.set(name, value);
  }

  /** Ends a tag at its `>`: follows foreign content, switches into raw text, inserts the nonce and the CSRF field. */
  function closeTag(out: string, selfClosing: boolean): { out: string; state: State } {
    if (endTag) {
      if (closesRawText) closesRawText = false;
      else if (foreign.length > 0) closeForeign();
      else if (tagName === 'select') inSelect = false;
      return { out, state: S.DATA };
    }
    if (tagName === 'frameset') fail('html_structure_unclear', 'a <frameset> page ignores most of what follows it; frames are not supported.', currentPart);
    if (foreign.length > 0 && !followsHtmlRules(tagName)) {
      if (!BREAKOUT.has(tagName) && !(tagName === 'font' && (tagAttributes.has('color') || tagAttributes.has('face') || tagAttributes.has('size')))) {
        // An SVG or MathML element: no raw text, no nonce, no CSRF field.
        const namespace = foreign.at(-1)!.namespace as 'svg' | 'math';
        const encoding = tagAttributes.get('encoding');
        if (!selfClosing) foreign.push({ namespace, name: tagName, integration: isIntegrationPoint(namespace, tagName, typeof encoding === 'string' ? decodeReferences(encoding) : encoding) });
        return { out, state: S.DATA };
      }
      // `<svg><p>`: the tree builder leaves foreign content and reads the tag as HTML.
      while (foreign.length > 0 && foreign.at(-1)!.namespace !== 'html' && !foreign.at(-1)!.integration) foreign.pop();
    }
    if (inSelect && (tagName === 'svg' || tagName === 'math' || ((RAW_TEXT.has(tagName) || RCDATA.has(tagName)) && tagName !== 'script'))) {
      // The classic parser ignores these inside <select>; the customizable-select one (2025) does not.
      fail('html_structure_unclear', `browsers differ on a <${tagName}> inside <select>; move it out of the select.`, currentPart);
    }
    if (tagName === 'select') inSelect = true;
    if (tagName === 'svg' || tagName === 'math') {
      if (!selfClosing) foreign.push({ namespace: tagName, name: tagName, integration: false });
      return { out, state: S.DATA };
    }
    let written = out;
    if ((tagName === 'script' || tagName === 'style') && !tagAttributes.has('nonce')) {
      // Before the `>` (or the `/` of `/>`) that was just read.
      written = `${selfClosing ? written.slice(0, -1) : written} nonce="${NONCE_MARKER}"${selfClosing ? '/' : ''}`;
    }
    // The CSRF field goes right after the `>`: the first thing the form submits.
    if (tagName === 'form' && isPost(tagAttributes.get('method')) && isSameOriginAction(tagAttributes.get('action'), slotPrefixes.get('action'))) afterTag = CSRF_MARKER;
    if ((RAW_TEXT.has(tagName) || RCDATA.has(tagName)) && (scripting || tagName !== 'noscript')) {
      rawEnd = tagName;
      rcdata = RCDATA.has(tagName);
      const type = tagAttributes.get('type');
      jsonScript = tagName === 'script' && typeof type === 'string' && /^application\/(?:[\w.-]+\+)?json$/i.test(type.trim());
      rawText = '';
      rawSlots = 0;
      return { out: written, state: S.RAW };
    }
    // An HTML element inside an integration point (`<foreignObject><div>`): kept, so its end tag is understood.
    if (foreign.length > 0 && !VOID_ELEMENTS.has(tagName)) foreign.push({ namespace: 'html', name: tagName, integration: false });
    return { out: written, state: S.DATA };
  }

  /**
   * Whether a start tag inside foreign content follows the HTML rules: under an HTML
   * element or an integration point (§13.2.6, the tree construction dispatcher).
   */
  function followsHtmlRules(name: string): boolean {
    const current = foreign.at(-1)!;
    if (current.namespace === 'html') return true;
    if (current.namespace === 'math' && current.name === 'annotation-xml' && name === 'svg') return true;
    if (!current.integration) return false;
    return current.namespace === 'svg' || current.name === 'annotation-xml' || (name !== 'mglyph' && name !== 'malignmark');
  }

  /**
   * An end tag inside foreign content. Under an SVG or MathML element it closes the
   * innermost open element of its name, as the tree builder does; under an HTML
   * element (in a `<foreignObject>`) it must close that element. One that does
   * neither (`</div>` inside `<svg>`, `</p>`, `</br>`, `</foreignObject>` over an open
   * `<div>`) would close or create elements outside what this template shows, and the
   * namespace after it depends on them: refused rather than guessed.
   */
  function closeForeign(): void {
    if (foreign.at(-1)!.namespace === 'html') {
      if (foreign.at(-1)!.name === tagName) {
        foreign.pop();
        return;
      }
    } else if (tagName !== 'p' && tagName !== 'br') {
      // Under SVG or MathML, `</p>` and `</br>` leave foreign content (§13.2.6.5).
      for (let index = foreign.length - 1; index >= 0 && foreign[index]!.namespace !== 'html'; index--) {
        if (foreign[index]!.name !== tagName) continue;
        foreign.length = index;
        return;
      }
    }
    fail('html_structure_unclear', `the end tag </${tagName}> inside SVG or MathML does not close an element this template opened there; close what it opened, in order.`, currentPart);
  }
}

function isPost(method: string | null | undefined): boolean {
  return typeof method === 'string' && method.trim().toLowerCase() === 'post';
}

/**
 * A form action that stays on this origin: none, a static relative URL, or one whose
 * data comes after a static path such as `/statuses/` (the data is percent-encoded
 * there, so it cannot make the path `//host`).
 */
function isSameOriginAction(action: string | null | undefined, prefixBeforeSlot: string | undefined): boolean {
  if (action === undefined) return true;
  if (action === null) return prefixBeforeSlot !== undefined && /^\/[^/\\]/.test(asUrlParserSees(prefixBeforeSlot));
  // `/&#47;host` and `/\t/host` are `//host` to the URL parser.
  const value = asUrlParserSees(action);
  if (value.startsWith('//') || value.startsWith('\\') || value.startsWith('/\\')) return false;
  const colon = value.indexOf(':');
  const pathStart = value.search(/[/?#]/);
  return colon === -1 || (pathStart !== -1 && pathStart < colon);
}

/**
 * A static start of a resource URL after which data cannot change where code is
 * loaded from: a same-origin path (`/static/`, not `//`), or `https://host/`.
 */
function isSafeResourcePrefix(prefix: string): boolean {
  const value = asUrlParserSees(prefix);
  if (/^\/(?![/\\])/.test(value)) return true;
  return /^https:\/\/[a-z0-9.-]+(?::\d+)?\//i.test(value);
}

const NAMED_REFERENCES: Record<string, string> = { colon: ':', tab: '\t', newline: '\n', sol: '/', quest: '?', num: '#', amp: '&', period: '.', nbsp: '\u00a0' };

/**
 * Decodes the character references of a static attribute value, as far as a URL's
 * scheme can depend on them: numeric ones, and the named ones that yield URL
 * punctuation. An unknown named reference becomes U+FFFD, which no scheme contains.
 */
function decodeReferences(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(?:#(\d+)|#[xX]([0-9a-fA-F]+)|([A-Za-z][A-Za-z0-9]*));?/g, (_match, decimal?: string, hex?: string, name?: string) => {
    if (decimal !== undefined || hex !== undefined) {
      const code = decimal !== undefined ? Number(decimal) : parseInt(hex!, 16);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '\uFFFD';
    }
    return NAMED_REFERENCES[name!.toLowerCase()] ?? '\uFFFD';
  });
}

/**
 * A static attribute value as the URL parser gets it: character references decoded,
 * tabs and newlines removed, leading spaces and controls trimmed (WHATWG URL parsing).
 */
function asUrlParserSees(text: string): string {
  return trimControls(decodeReferences(text).replace(/[\t\n\r]/g, ''));
}

/** Without the leading C0 controls and spaces a URL parser skips. */
function trimControls(text: string): string {
  let start = 0;
  while (start < text.length && text.charCodeAt(start) <= 0x20) start++;
  return text.slice(start);
}

/** The same string, flat: V8 keeps concatenations as ropes until something reads them whole. */
function flatten(text: string): string {
  // Number() of a non-numeric string reads it whole; the result is discarded.
  void Number(text);
  return text;
}
