/**
 * A small, forgiving scan of an HTML page for what the auditor looks at: forms and
 * their fields, links, scripts, and `<meta http-equiv>`. Not a full HTML parser: it
 * finds start tags and their attributes the way the WHATWG tokenizer reads them
 * (quoted and unquoted values, character references in values), skips comments and
 * the raw text of `<script>`, `<style>`, `<textarea>` and `<title>`.
 */

/** A start tag: its lowercase name, its attributes (lowercase names, first one wins), and where it starts. */
export interface Tag {
  readonly name: string;
  readonly attributes: ReadonlyMap<string, string>;
  readonly start: number;
  /** For `<script>`, `<style>`, `<textarea>`, `<title>`: the raw text up to the end tag. */
  readonly text?: string;
}

/** A field of a form, with the constraints its markup declares. */
export interface FormField {
  readonly name: string;
  readonly type: string;
  readonly value: string;
  readonly tag: string;
  readonly required: boolean;
  readonly maxLength: number | undefined;
}

/** A form: its method (lowercase, default `get`), action, enctype, and fields. */
export interface Form {
  readonly method: string;
  readonly action: string | undefined;
  readonly enctype: string | undefined;
  readonly fields: readonly FormField[];
  readonly start: number;
}

const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes']);
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', sol: '/', colon: ':' };

/** Every start tag of `html`, in order. */
export function scanTags(html: string): Tag[] {
  const tags: Tag[] = [];
  let position = 0;
  const length = html.length;
  while (position < length) {
    const open = html.indexOf('<', position);
    if (open === -1) break;
    if (html.startsWith('<!--', open)) {
      const end = html.indexOf('-->', open + 4);
      position = end === -1 ? length : end + 3;
      continue;
    }
    const next = html.charCodeAt(open + 1);
    if (html[open + 1] === '!' || html[open + 1] === '?' || html[open + 1] === '/') {
      const end = html.indexOf('>', open + 1);
      position = end === -1 ? length : end + 1;
      continue;
    }
    if (!((next >= 65 && next <= 90) || (next >= 97 && next <= 122))) {
      position = open + 1;
      continue;
    }
    const parsed = readTag(html, open);
    position = parsed.end;
    let text: string | undefined;
    if (RAW_TEXT.has(parsed.name) && !parsed.selfClosing) {
      const closing = new RegExp(`</${parsed.name}[\\s/>]`, 'i');
      const rest = html.slice(position);
      const match = closing.exec(rest);
      text = match ? rest.slice(0, match.index) : rest;
      position += match ? match.index : rest.length;
    }
    tags.push(text === undefined ? { name: parsed.name, attributes: parsed.attributes, start: open } : { name: parsed.name, attributes: parsed.attributes, start: open, text });
  }
  return tags;
}

function readTag(html: string, open: number): { name: string; attributes: Map<string, string>; end: number; selfClosing: boolean } {
  let position = open + 1;
  let name = '';
  while (position < html.length && !/[\s/>]/.test(html[position]!)) name += html[position++]!;
  const attributes = new Map<string, string>();
  let selfClosing = false;
  while (position < html.length) {
    while (position < html.length && /[\s/]/.test(html[position]!)) {
      if (html[position] === '/' && html[position + 1] === '>') selfClosing = true;
      position++;
    }
    if (position >= html.length) break;
    if (html[position] === '>') {
      position++;
      break;
    }
    let attribute = '';
    while (position < html.length && !/[\s/>=]/.test(html[position]!)) attribute += html[position++]!;
    while (position < html.length && /\s/.test(html[position]!)) position++;
    let value = '';
    if (html[position] === '=') {
      position++;
      while (position < html.length && /\s/.test(html[position]!)) position++;
      const quote = html[position];
      if (quote === '"' || quote === "'") {
        const end = html.indexOf(quote, position + 1);
        value = html.slice(position + 1, end === -1 ? html.length : end);
        position = end === -1 ? html.length : end + 1;
      } else {
        while (position < html.length && !/[\s>]/.test(html[position]!)) value += html[position++]!;
      }
    }
    const key = attribute.toLowerCase();
    if (key !== '' && !attributes.has(key)) attributes.set(key, decodeReferences(value));
  }
  return { name: name.toLowerCase(), attributes, end: position, selfClosing };
}

/** Character references in an attribute value (numeric, and the common named ones). */
export function decodeReferences(value: string): string {
  if (!value.includes('&')) return value;
  return value.replace(/&(?:#(\d+)|#[xX]([0-9a-fA-F]+)|([a-zA-Z]+));?/g, (match, decimal?: string, hex?: string, named?: string) => {
    if (decimal !== undefined || hex !== undefined) {
      const code = decimal !== undefined ? Number(decimal) : Number.parseInt(hex!, 16);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
    }
    return NAMED[named!.toLowerCase()] ?? match;
  });
}

/** The forms of a page, with the fields inside each (inputs, selects, textareas, buttons with a name). */
export function scanForms(tags: readonly Tag[]): Form[] {
  const forms: Form[] = [];
  let current: { method: string; action: string | undefined; enctype: string | undefined; fields: FormField[]; start: number } | undefined;
  for (const tag of tags) {
    if (tag.name === 'form') {
      if (current) forms.push(current);
      current = {
        method: (tag.attributes.get('method') ?? 'get').trim().toLowerCase(),
        action: tag.attributes.get('action'),
        enctype: tag.attributes.get('enctype'),
        fields: [],
        start: tag.start,
      };
      continue;
    }
    if (!current) continue;
    if (tag.name === 'input' || tag.name === 'select' || tag.name === 'textarea' || tag.name === 'button') {
      const name = tag.attributes.get('name');
      if (name === undefined) continue;
      const maxLength = Number(tag.attributes.get('maxlength'));
      current.fields.push({
        name,
        type: (tag.attributes.get('type') ?? (tag.name === 'input' ? 'text' : tag.name)).toLowerCase(),
        value: tag.attributes.get('value') ?? tag.text ?? '',
        tag: tag.name,
        required: tag.attributes.has('required'),
        maxLength: Number.isSafeInteger(maxLength) && maxLength > 0 ? maxLength : undefined,
      });
    }
  }
  if (current) forms.push(current);
  return forms;
}

/** What the HTML parser keeps in `<head>`: any other start tag (`<body>`, `<p>`, `<div>`…) ends the head. */
const HEAD_CONTENT = new Set(['html', 'head', 'meta', 'title', 'base', 'link', 'style', 'script', 'noscript', 'template', 'basefont', 'bgsound']);

/**
 * The tags of a page's `<head>`: up to its end tag or the first start tag the parser
 * would put in the body. A `<meta http-equiv>` elsewhere is ignored by browsers (HTML,
 * the meta element: "if the element is not a child of a head element, return").
 */
export function headTags(tags: readonly Tag[], html: string): Tag[] {
  const end = /<\/head[\s/>]/i.exec(html)?.index ?? html.length;
  const head: Tag[] = [];
  for (const tag of tags) {
    if (tag.start > end || !HEAD_CONTENT.has(tag.name)) break;
    head.push(tag);
  }
  return head;
}

/** The `<meta http-equiv>` values of a page (pass `headTags` for the ones browsers apply), by lowercase header name. */
export function metaHttpEquiv(tags: readonly Tag[], header: string): string[] {
  return tags
    .filter((tag) => tag.name === 'meta' && tag.attributes.get('http-equiv')?.trim().toLowerCase() === header && tag.attributes.has('content'))
    .map((tag) => tag.attributes.get('content')!);
}

/** The URLs a page links to: `<a href>`, `<area href>`, `<link href>`, `<iframe src>`, GET forms' actions. */
export function linkTargets(tags: readonly Tag[]): string[] {
  const targets: string[] = [];
  for (const tag of tags) {
    const href = tag.name === 'a' || tag.name === 'area' ? tag.attributes.get('href') : tag.name === 'iframe' || tag.name === 'frame' ? tag.attributes.get('src') : undefined;
    if (href !== undefined) targets.push(href);
  }
  return targets;
}
