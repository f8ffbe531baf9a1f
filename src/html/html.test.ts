import fc from 'fast-check';
import { parseFragment, type DefaultTreeAdapterMap } from 'parse5';
import { describe, expect, it } from 'vitest';
import { FetchIncoming } from '../adapters/_fetch.ts';
import { rampart, RequestContext } from '../rampart.ts';
import { TemplateError, type TemplateErrorCode } from './analyze.ts';
import { escapeHtml, filterSrcset, filterUrl, INVALID_URL } from './escape.ts';
import { csrfField, dangerouslyTrustHtml, fillMarkers, flattenHtml, html, joinHtml, json, SafeHtml } from './html.ts';

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];

function elements(node: Node, found: Element[] = []): Element[] {
  if ('tagName' in node) found.push(node);
  if ('childNodes' in node) for (const child of node.childNodes) elements(child, found);
  if ('content' in node && node.content) elements(node.content, found);
  return found;
}

/** The element/attribute structure of markup, as parse5 (a WHATWG parser) sees it. */
function structure(markup: string): string[] {
  return elements(parseFragment(markup) as unknown as Node).map((element) => `${element.tagName}[${element.attrs.map((attribute) => attribute.name).join(',')}]`);
}

function parsed(markup: string): Element[] {
  return elements(parseFragment(markup) as unknown as Node);
}

describe('escapers', () => {
  it.each([
    ['plain', 'plain'],
    ['<script>', '&lt;script&gt;'],
    ['a & b', 'a &amp; b'],
    [`"'`, '&quot;&#39;'],
    ['`=/ \t\n', '`=/ \t\n'],
    ['nul\0', 'nul\uFFFD'],
    ['marker\0N\0F', 'marker\uFFFDN\uFFFDF'],
    ['former marker\uFDD0N', 'former marker\uFDD0N'],
    ['&amp;', '&amp;amp;'],
    ['\u2028 😀 é', '\u2028 😀 é'],
  ])('escapeHtml(%j) = %j', (input, output) => {
    expect(escapeHtml(input)).toBe(output);
  });

  it.each([
    ['https://example.com/a?b#c', 'https://example.com/a?b#c'],
    ['HTTP://EXAMPLE.COM', 'HTTP://EXAMPLE.COM'],
    ['mailto:a@example.com', 'mailto:a@example.com'],
    ['tel:+123', 'tel:+123'],
    ['/relative/path', '/relative/path'],
    ['relative', 'relative'],
    ['?q=a:b', '?q=a:b'],
    ['#frag:x', '#frag:x'],
    ['//other.example/x', '//other.example/x'],
    ['./a:b', './a:b'],
    ['javascript:alert(1)', INVALID_URL],
    ['JavaScript:alert(1)', INVALID_URL],
    [' javascript:alert(1)', INVALID_URL],
    ['\u0001javascript:alert(1)', INVALID_URL],
    ['java\tscript:alert(1)', INVALID_URL],
    ['java\nscript:alert(1)', INVALID_URL],
    ['vbscript:x', INVALID_URL],
    ['data:text/html,<script>alert(1)</script>', INVALID_URL],
    ['blob:https://x/y', INVALID_URL],
    ['file:///etc/passwd', INVALID_URL],
    ['a:b', INVALID_URL],
  ])('filterUrl(%j) = %j', (input, output) => {
    expect(filterUrl(input)).toBe(output);
  });

  it.each([
    ['a.png 1x, b.png 2x', 'a.png 1x, b.png 2x'],
    ['a.png 100w,b.png 200w', 'a.png 100w, b.png 200w'],
    ['javascript:alert(1) 1x, b.png 2x', `${INVALID_URL} 1x, b.png 2x`],
    ['a.png onerror=alert(1)', 'a.png'],
    ['a.png,b.png', 'a.png,b.png'], // one URL: a comma ends a candidate only before whitespace
    ['  ', ''],
  ])('filterSrcset(%j) = %j', (input, output) => {
    expect(filterSrcset(input)).toBe(output);
  });
});

describe('slots by context', () => {
  it('escapes text, RCDATA and both quotes in attributes', () => {
    const value = `"'><img src=x onerror=alert(1)>&`;
    expect(String(html`<p title="${value}" data-x='${value}'>${value}</p><title>${value}</title><textarea>${value}</textarea>`)).toBe(
      '<p title="&quot;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;&amp;" data-x=\'&quot;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;&amp;\'>&quot;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;&amp;</p>' +
        '<title>&quot;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;&amp;</title><textarea>&quot;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;&amp;</textarea>',
    );
  });

  it('filters the start of a URL attribute and percent-encodes later slots', () => {
    expect(String(html`<a href="${'javascript:alert(1)'}">x</a>`)).toBe(`<a href="${INVALID_URL}">x</a>`);
    expect(String(html`<a href="/search?q=${'a&b"c d'}">x</a>`)).toBe('<a href="/search?q=a%26b%22c%20d">x</a>');
    expect(String(html`<a href="https://example.com/u/${'../admin'}">x</a>`)).toBe('<a href="https://example.com/u/..%2Fadmin">x</a>');
    expect(String(html`<img src="${'https://cdn.example/a.png'}">`)).toBe('<img src="https://cdn.example/a.png">');
    expect(String(html`<form action="${'data:text/html,x'}"></form>`)).toBe(`<form action="${INVALID_URL}"></form>`);
    expect(String(html`<svg><a xlink:href="${'javascript:alert(1)'}"></a></svg>`)).toBe(`<svg><a xlink:href="${INVALID_URL}"></a></svg>`);
    expect(String(html`<img srcset="${'javascript:x 1x, /b.png 2x'}">`)).toBe(`<img srcset="${INVALID_URL} 1x, /b.png 2x">`);
    expect(String(html`<svg><a><animate attributeName="href" values="${'javascript:alert(1)'}"/></a></svg>`)).toBe(`<svg><a><animate attributeName="href" values="${INVALID_URL}"/></a></svg>`);
    expect(String(html`<svg><set attributeName="href" to="${'/ok'}"/></svg>`)).toBe('<svg><set attributeName="href" to="/ok"/></svg>');
  });

  it('renders nested templates, arrays of them, and components', () => {
    const item = (name: string) => html`<li>${name}</li>`;
    expect(String(html`<ul>${['a', '<b>'].map(item)}</ul>`)).toBe('<ul><li>a</li><li>&lt;b&gt;</li></ul>');
    expect(String(joinHtml([html`<b>1</b>`, '<2>'], html`<br>`))).toBe('<b>1</b><br>&lt;2&gt;');
  });

  it('renders numbers, bigints and booleans; null, undefined and false are nothing in text', () => {
    expect(String(html`<p>${1.5} ${10n} ${true} [${false}${null}${undefined}]</p><p data-on="${false}"></p>`)).toBe('<p>1.5 10 true []</p><p data-on="false"></p>');
  });

  it('escapes SafeHtml again where markup does not belong (attributes, RCDATA)', () => {
    const bold = html`<b>x</b>`;
    expect(String(html`<p title="${bold}"></p><title>${bold}</title>`)).toBe('<p title="&lt;b&gt;x&lt;/b&gt;"></p><title>&lt;b&gt;x&lt;/b&gt;</title>');
  });

  it('puts JSON data in a script only through json(), escaped so nothing closes the element', () => {
    const data = { text: '</script><script>alert(1)</script><!--', line: '\u2028' };
    const page = String(html`<script type="application/json" id="data">${json(data)}</script>`);
    expect(page).not.toContain('</script><script>');
    const script = parsed(page)[0]!;
    const text = (script.childNodes[0] as DefaultTreeAdapterMap['textNode']).value;
    expect(JSON.parse(text)).toEqual(data);
    expect(() => html`<script type="application/json">${'{"a":1}'}</script>`).toThrow('takes json(value)');
    expect(() => html`<p>${json(1)}</p>`).toThrow('only goes in <script type="application/json">');
  });

  it.each([
    ['a plain object', { toString: () => '<script>' }],
    ['a function', () => 'x'],
    ['a symbol', Symbol('x')],
    ['a Promise', Promise.resolve('x')],
    ['a Map', new Map()],
    ['a duck-typed SafeHtml', { isEscaped: true, toHTML: () => '<script>alert(1)</script>', value: '<script>' }],
  ])('refuses %s as a value, instead of stringifying it', (_name, value) => {
    expect(() => html`<p>${value}</p>`).toThrow(TypeError);
    expect(() => html`<p title="${value}"></p>`).toThrow(TypeError);
  });

  it('refuses arrays in attributes', () => {
    expect(() => html`<p class="${['a', 'b']}"></p>`).toThrow('cannot be an attribute value');
  });

  it('makes SafeHtml unforgeable', () => {
    expect(() => new SafeHtml('<script>', Symbol('SafeHtml'))).toThrow('comes from the html');
    const fake = Object.create(SafeHtml.prototype) as SafeHtml;
    expect(SafeHtml.is(fake)).toBe(false);
    expect(() => html`<p>${fake}</p>`).toThrow(TypeError);
    expect(SafeHtml.is(html`<p></p>`)).toBe(true);
  });

  it('trusts reviewed markup only explicitly, and never its markers', () => {
    expect(String(html`<div>${dangerouslyTrustHtml('<b>ok</b>')}</div>`)).toBe('<div><b>ok</b></div>');
    expect(String(dangerouslyTrustHtml('\0F<p>\0N</p>'))).toBe('\uFFFDF<p>\uFFFDN</p>');
    const page = html`<form method="post" action="/a">${dangerouslyTrustHtml('<b>\0F\0N</b>')}</form>`;
    expect(fillMarkers(page, 'NONCE', () => '<input name="csrf_token">')).toBe('<form method="post" action="/a"><input name="csrf_token"><b>\uFFFDF\uFFFDN</b></form>');
  });

  it('fills markers exactly where the markup has them, for any nesting of templates, arrays and joins', () => {
    const leaf = fc.oneof(
      fc.constant(html`<p>x</p>`),
      fc.constant(html`<form method="post" action="/a"><button>b</button></form>`),
      fc.constant(html`<script>1</script><style>p{}</style>`),
      fc.string({ maxLength: 8 }).map((text) => html`<i title="${csrfField()}">${text}</i>`),
      fc.constant(csrfField()),
      fc.string({ maxLength: 8 }),
      fc.constant(null),
    );
    const { node } = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('node'), { maxLength: 4 }),
        fc.tuple(tie('node'), tie('node')).map(([a, b]) => html`<div>${a}<form method="post">${b}</form></div>`),
        fc.array(tie('node'), { maxLength: 3 }).map((items) => joinHtml(items, csrfField())),
        fc.array(tie('node'), { maxLength: 3 }).map((items) => joinHtml(items, ', ')),
      ),
    }));
    fc.assert(
      fc.property(node, (value) => {
        const page = html`<main>${value}</main>`;
        const markup = SafeHtml.markupOf(page);
        let expectedField = 0;
        const expected = markup.replace(/\0([NF])/g, (_marker, kind: string) => (kind === 'N' ? 'NONCE' : `<F${expectedField++}>`));
        let field = 0;
        expect(fillMarkers(page, 'NONCE', () => `<F${field++}>`)).toBe(expected);
        expect(String(page)).toBe(markup.replace(/\0[NF]/g, ''));
        expect(String(page)).not.toContain('\0');
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps a flattened fragment\'s markup and markers, nested into page after page', () => {
    const text = html`<li>${'Ship it — today 🚀'}<form method="post" action="/d"><button>x</button></form></li>`;
    const kept = flattenHtml(text);
    const plain = flattenHtml(html`<li>${'<b>'} «plain»</li>`);
    expect(kept).toBe(text);
    const pages = Array.from({ length: 3 }, (_, index) => html`<ol>${[kept, plain, index]}</ol>`);
    let field = 0;
    for (const [index, page] of pages.entries()) {
      expect(fillMarkers(page, 'N', () => `<F${field++}>`)).toBe(
        `<ol><li>Ship it — today 🚀<form method="post" action="/d"><F${index}><button>x</button></form></li><li>&lt;b&gt; «plain»</li>${index}</ol>`,
      );
    }
    expect(() => flattenHtml('<p>x</p>' as never)).toThrow('flattenHtml() takes a fragment made with the html`…` tag, got a string.');
  });

  it('refuses to be called as a function', () => {
    expect(() => (html as unknown as (strings: string[]) => SafeHtml)(['<a href=', '>'])).toThrow('html is a tag');
  });
});

/** Templates that must be refused, each with its code (the issue asks for at least 60). */
const REFUSED: [string, () => unknown, TemplateErrorCode][] = [
  ['unquoted attribute', () => html`<a href=${'x'}>`, 'html_unquoted_attribute'],
  ['unquoted attribute after text', () => html`<a href=/x${'y'}>`, 'html_unquoted_attribute'],
  ['unquoted plain attribute', () => html`<p title=${'x'}></p>`, 'html_unquoted_attribute'],
  ['empty unquoted value (CVE-2023-29400)', () => html`<p title=${''} id="a"></p>`, 'html_unquoted_attribute'],
  ['unquoted with spaces around =', () => html`<p title = ${'x'}></p>`, 'html_unquoted_attribute'],
  ['tag name', () => html`<${'script'}>`, 'html_slot_in_tag_name'],
  ['tag name suffix', () => html`<h${1}>`, 'html_slot_in_tag_name'],
  ['end tag name', () => html`</${'div'}>`, 'html_slot_in_tag_name'],
  ['attribute name', () => html`<p ${'onclick'}="x"></p>`, 'html_slot_in_attribute_name'],
  ['attribute name suffix', () => html`<p data-${'x'}="1"></p>`, 'html_slot_in_attribute_name'],
  ['attributes object', () => html`<p ${'a=1'}></p>`, 'html_slot_in_attribute_name'],
  ['after a quoted value', () => html`<p title="a"${'x'}></p>`, 'html_slot_in_attribute_name'],
  ['after a self-closing slash', () => html`<br/${'x'}>`, 'html_slot_in_attribute_name'],
  ['onclick', () => html`<p onclick="${'x'}"></p>`, 'html_slot_in_event_handler'],
  ['onclick after static code', () => html`<p onclick="go('${'x'}')"></p>`, 'html_slot_in_event_handler'],
  ['onerror on img', () => html`<img src="/a.png" onerror="${'x'}">`, 'html_slot_in_event_handler'],
  ['ONLOAD in capitals', () => html`<body ONLOAD="${'x'}"></body>`, 'html_slot_in_event_handler'],
  ['onmouseover single-quoted', () => html`<p onmouseover='${'x'}'></p>`, 'html_slot_in_event_handler'],
  ['svg onload', () => html`<svg onload="${'x'}"></svg>`, 'html_slot_in_event_handler'],
  ['style attribute', () => html`<p style="${'color:red'}"></p>`, 'html_slot_in_style_attribute'],
  ['style attribute after a property', () => html`<p style="color: ${'red'}"></p>`, 'html_slot_in_style_attribute'],
  ['STYLE in capitals', () => html`<p STYLE="${'x'}"></p>`, 'html_slot_in_style_attribute'],
  ['srcdoc', () => html`<iframe srcdoc="${'<script>'}"></iframe>`, 'html_slot_in_srcdoc'],
  ['srcdoc after markup', () => html`<iframe srcdoc="<p>${'x'}</p>"></iframe>`, 'html_slot_in_srcdoc'],
  ['meta content', () => html`<meta http-equiv="refresh" content="${'0;url=javascript:x'}">`, 'html_slot_in_meta_content'],
  ['meta content after a prefix', () => html`<meta http-equiv="refresh" content="0;url=${'x'}">`, 'html_slot_in_meta_content'],
  ['meta http-equiv', () => html`<meta http-equiv="${'refresh'}" content="0">`, 'html_slot_in_meta_content'],
  ['script content', () => html`<script>var x = ${'1'};</script>`, 'html_slot_in_script'],
  ['script string', () => html`<script>var x = "${'a'}";</script>`, 'html_slot_in_script'],
  ['script template literal', () => html`<script>\`${'a'}\`</script>`, 'html_slot_in_script'],
  ['script comment', () => html`<script>// ${'a'}</script>`, 'html_slot_in_script'],
  ['module script', () => html`<script type="module">${'a'}</script>`, 'html_slot_in_script'],
  ['JSON script with text before the slot', () => html`<script type="application/json">{"a": ${json(1)}}</script>`, 'html_slot_in_script'],
  ['JSON script with two slots', () => html`<script type="application/json">${json(1)}${json(2)}</script>`, 'html_slot_in_script'],
  ['SCRIPT in capitals', () => html`<SCRIPT>${'a'}</SCRIPT>`, 'html_slot_in_script'],
  ['svg script', () => html`<svg><script>${'a'}</script></svg>`, 'html_slot_in_script'],
  ['math inside svg script', () => html`<svg><g><script>x ${'a'}</script></g></svg>`, 'html_slot_in_script'],
  ['style element', () => html`<style>p { color: ${'red'} }</style>`, 'html_slot_in_style'],
  ['style element in head', () => html`<head><style>${'x'}</style></head>`, 'html_slot_in_style'],
  ['svg style', () => html`<svg><style>${'x'}</style></svg>`, 'html_slot_in_style'],
  ['xmp', () => html`<xmp>${'x'}</xmp>`, 'html_slot_in_raw_text'],
  ['iframe content', () => html`<iframe>${'x'}</iframe>`, 'html_slot_in_raw_text'],
  ['noscript', () => html`<noscript>${'x'}</noscript>`, 'html_slot_in_raw_text'],
  ['noembed', () => html`<noembed>${'x'}</noembed>`, 'html_slot_in_raw_text'],
  ['noframes', () => html`<noframes>${'x'}</noframes>`, 'html_slot_in_raw_text'],
  ['plaintext', () => html`<plaintext>${'x'}`, 'html_slot_in_raw_text'],
  ['comment', () => html`<!-- ${'x'} -->`, 'html_slot_in_comment'],
  ['comment start', () => html`<!--${'x'}-->`, 'html_slot_in_comment'],
  ['conditional comment', () => html`<!--[if IE]>${'x'}<![endif]-->`, 'html_slot_in_comment'],
  ['bogus comment', () => html`<?xml ${'x'}?>`, 'html_slot_in_comment'],
  ['markup declaration', () => html`<!${'x'}>`, 'html_slot_in_comment'],
  ['CDATA in svg', () => html`<svg><![CDATA[${'x'}]]></svg>`, 'html_slot_in_comment'],
  ['doctype', () => html`<!DOCTYPE ${'html'}>`, 'html_slot_in_doctype'],
  ['script src', () => html`<script src="${'/app.js'}"></script>`, 'html_slot_in_resource_url'],
  ['iframe src', () => html`<iframe src="${'https://x'}"></iframe>`, 'html_slot_in_resource_url'],
  ['base href', () => html`<base href="${'/'}">`, 'html_slot_in_resource_url'],
  ['link href', () => html`<link rel="stylesheet" href="${'/a.css'}">`, 'html_slot_in_resource_url'],
  ['object data', () => html`<object data="${'/a.swf'}"></object>`, 'html_slot_in_resource_url'],
  ['embed src', () => html`<embed src="${'/a'}">`, 'html_slot_in_resource_url'],
  ['script src after a protocol-relative prefix', () => html`<script src="//${'cdn'}/a.js"></script>`, 'html_slot_in_resource_url'],
  ['script src after http:', () => html`<script src="http://cdn.example/${'a'}.js"></script>`, 'html_slot_in_resource_url'],
  ['scheme completed by the text after the slot', () => html`<a href="${'javascript'}:alert(1)">x</a>`, 'html_url_scheme_split'],
  ['scheme completed after a relative prefix', () => html`<a href="java${'x'}script:alert(1)">x</a>`, 'html_url_scheme_split'],
  ['javascript: prefix', () => html`<a href="javascript:${'alert(1)'}">x</a>`, 'html_unsafe_url_prefix'],
  ['JavaScript: prefix with spaces', () => html`<a href=" JavaScript:${'x'}">x</a>`, 'html_unsafe_url_prefix'],
  ['data: prefix', () => html`<img src="data:image/svg+xml,${'x'}">`, 'html_unsafe_url_prefix'],
  ['vbscript: prefix in formaction', () => html`<button formaction="vbscript:${'x'}"></button>`, 'html_unsafe_url_prefix'],
  ['entity-encoded scheme prefix', () => html`<a href="java&#115;cript:${'x'}">x</a>`, 'html_unsafe_url_prefix'],
  ['the attribute an SVG animation sets', () => html`<svg><a><animate attributeName="${'href'}" values="/x"/></a></svg>`, 'html_slot_in_attribute_name'],
  ['entity-encoded colon prefix', () => html`<a href="javascript&colon;${'x'}">x</a>`, 'html_unsafe_url_prefix'],
  ['tab inside a static scheme', () => html`<a href="java	script:${'x'}">x</a>`, 'html_unsafe_url_prefix'],
  ['an entity after the slot that decodes to a colon', () => html`<a href="${'javascript'}&#58;alert(1)">x</a>`, 'html_url_scheme_split'],
  ['a scheme completed after two adjacent slots', () => html`<a href="${'javascript'}${''}:alert(1)">x</a>`, 'html_url_scheme_split'],
  ['a scheme completed after host and suffix slots', () => html`<a href="${'javascript'}${''}:${'alert(1)//'}/">x</a>`, 'html_url_scheme_split'],
  ['a scheme completed after a relative prefix and two slots', () => html`<a href="java${'script'}${''}:alert(1)">x</a>`, 'html_url_scheme_split'],
  ['a scheme completed with static text between slots', () => html`<a href="${'javascr'}i${'p'}t:alert(1)">x</a>`, 'html_url_scheme_split'],
  ['svg script href', () => html`<svg><script href="${'https://evil.example/x.js'}"></script></svg>`, 'html_slot_in_resource_url'],
  ['svg script xlink:href', () => html`<svg><script xlink:href="${'https://evil.example/x.js'}"></script></svg>`, 'html_slot_in_resource_url'],
  ['formaction from data (the CSRF token would follow it)', () => html`<form method="post" action="/save"><button formaction="${'https://evil.example/steal'}">Go</button></form>`, 'html_formaction_leaves_origin'],
  ['formaction after a protocol-relative prefix', () => html`<button formaction="//${'evil.example'}/x"></button>`, 'html_formaction_leaves_origin'],
  ['formaction after https://host/', () => html`<button formaction="https://evil.example/${'x'}"></button>`, 'html_formaction_leaves_origin'],
  ['a slot finishing a textarea end tag', () => html`<textarea></textarea${' '}><a href="${'javascript:alert(1)'}">x</a></textarea>`, 'html_slot_in_raw_text'],
  ['a slot finishing a title end tag', () => html`<title></tit${'le'}></title>`, 'html_slot_in_raw_text'],
  ['a slot right after < in RCDATA', () => html`<textarea><${'/textarea>'}</textarea>`, 'html_slot_in_raw_text'],
  ['a slot in an end tag attribute', () => html`<p></p title="${'x'}">`, 'html_slot_in_tag_name'],
  // The tokenizer and tree builder as the browser runs them, where a simpler model is wrong.
  ['svg/ with a space is not self-closing: the style is SVG markup', () => html`<svg/ ><style><a x="</style>" onmouseover="${'alert(1)'}"></a></style></svg>`, 'html_slot_in_event_handler'],
  ['quotes in an end tag\'s attributes hide a >', () => html`</div x="><i title='"><a onmouseover="${'alert(1)'}" '>`, 'html_slot_in_event_handler'],
  ['a MathML text integration point reads <style> as HTML raw text', () => html`<math><mi><style>i[title="<i title='"]{}</style><b onmouseover="${'alert(1)'}">x</b><!-- ' --></mi></math>`, 'html_slot_in_event_handler'],
  ['a breakout tag leaves SVG, so CDATA is a bogus comment', () => html`<svg><p><![CDATA[><a x="]]>" onmouseover="${'alert(1)'}">`, 'html_slot_in_event_handler'],
  ['an end tag inside svg that closes nothing it opened', () => html`<svg><g></div><p>${'x'}</p>`, 'html_structure_unclear'],
  ['</p> inside svg', () => html`<svg></p><p>${'x'}</p></svg>`, 'html_structure_unclear'],
  ['</foreignObject> over an open HTML element', () => html`<svg><foreignObject><div></foreignObject><style></style></svg>`, 'html_structure_unclear'],
  ['a value that could finish &#58 into a scheme\'s colon', () => html`<a href="javascript&#${'58alert(1)'}">x</a>`, 'html_slot_in_character_reference'],
  ['a value that could finish &#5 into &#58', () => html`<a href="javascript&#5${'8alert(1)'}">x</a>`, 'html_slot_in_character_reference'],
  ['a value after &#x in a plain attribute', () => html`<p title="&#x${'3c'}"></p>`, 'html_slot_in_character_reference'],
  ['a value after a bare & in a URL', () => html`<a href="/a?b=1&${'c'}">x</a>`, 'html_slot_in_character_reference'],
  ['static text before an animation\'s to=', () => html`<svg><a><set attributeName="href" to="javascript:${'alert(1)'}"/></a></svg>`, 'html_url_scheme_split'],
  ['static text after an animation\'s values=', () => html`<svg><a><animate attributeName="href" values="${'javascript'}:alert(1)"/></a></svg>`, 'html_url_scheme_split'],
  ['static // before an animation\'s from=', () => html`<svg><a><set attributeName="href" from="//${'evil.example'}"/></a></svg>`, 'html_url_scheme_split'],
  ['<!-- inside a script (its escaped states move the end of the script)', () => html`<script><!--<script></script><p>${'x'}</p></script>`, 'html_structure_unclear'],
  ['<svg> inside <select>', () => html`<select><svg><![CDATA[><input title="]]><b title="${'x'}">`, 'html_structure_unclear'],
  ['<style> inside <select>', () => html`<select><style><input title="</style><b title='"${'x'}'>`, 'html_structure_unclear'],
  ['CDATA directly at an integration point', () => html`<svg><foreignObject><![CDATA[><img title="]]><b title="${'x'}">`, 'html_structure_unclear'],
  ['a frameset page', () => html`<frameset><frame title="${'x'}"></frameset>`, 'html_structure_unclear'],
  ['a slot after </plaintext> (plaintext never ends)', () => html`<plaintext></plaintext>${'x'}`, 'html_slot_in_raw_text'],
  ['<noscript> holding markup a slot lands in when scripting is off (DOMParser)', () => html`<noscript><p title="</noscript><b title="${'x'}">"></noscript>`, 'html_slot_in_attribute_name'],
  ['<noscript> markup that moves a slot into another context when scripting is off', () => html`<noscript><textarea></noscript><p>${'x'}</p></textarea></noscript>`, 'html_structure_unclear'],
  ['ends inside a tag', () => html`<p title="x"`, 'html_template_ends_in_tag'],
  ['ends inside a quoted value', () => html`<p title="${'x'}`, 'html_template_ends_in_tag'],
  ['ends after a tag name', () => html`<div`, 'html_template_ends_in_tag'],
  ['ends inside an end tag', () => html`<p></p`, 'html_template_ends_in_tag'],
  ['ends inside a comment', () => html`<!-- open`, 'html_template_ends_in_comment'],
  ['ends inside a script', () => html`<script>`, 'html_template_ends_in_raw_text'],
  ['ends inside a title', () => html`<title>${'x'}`, 'html_template_ends_in_raw_text'],
  ['ends inside a textarea', () => html`<textarea>`, 'html_template_ends_in_raw_text'],
  ['ends inside a style', () => html`<style>p{}`, 'html_template_ends_in_raw_text'],
  ['holds a NUL (the engine\'s marker)', () => html`<p>\0F</p>`, 'html_nul_in_template'],
  ['holds a NUL after a slot', () => html`<p>${'x'}\0N</p>`, 'html_nul_in_template'],
];

describe(`refused templates (${REFUSED.length})`, () => {
  it.each(REFUSED)('%s', (_name, template, code) => {
    let error: unknown;
    try {
      template();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as TemplateError).code).toBe(code);
    // The message says where: this test file.
    expect((error as TemplateError).message).toContain('html.test.ts');
  });

  it('has at least 60 rows', () => {
    expect(REFUSED.length).toBeGreaterThanOrEqual(60);
  });
});

describe('accepted shapes', () => {
  it.each([
    ['a closing </script> inside a title stays text', () => html`<title>a</script>${'b'}</title>`],
    ['a slot after a closed script', () => html`<script src="/a.js"></script><p>${'x'}</p>`],
    ['text inside svg', () => html`<svg><text>${'x'}</text></svg>`],
    ['mathml text', () => html`<math><mi>${'x'}</mi></math>`],
    ['a slot after a comment', () => html`<!-- note --><p>${'x'}</p>`],
    ['an end tag with spaces', () => html`<b></b ><p>${'x'}</p>`],
    ['a resource URL after a same-origin path', () => html`<script src="/static/${'app'}.js"></script>`],
    ['a resource URL after https://host/', () => html`<iframe src="https://player.example/embed/${'id'}"></iframe>`],
    ['a URL after https:', () => html`<a href="https://example.com/${'x'}">x</a>`],
    ['a URL after mailto:', () => html`<a href="mailto:${'a@b.example'}">x</a>`],
    ['a relative URL prefix', () => html`<a href="item-${'1'}.html">x</a>`],
    ['two slots in a URL', () => html`<a href="${'/a'}?q=${'b'}">x</a>`],
    ['data-* attributes', () => html`<p data-id="${'1'}" data-url="${'/x'}"></p>`],
    ['a boolean attribute then a slot', () => html`<input disabled value="${'x'}">`],
    ['single quotes', () => html`<p title='${'x'}'></p>`],
    ['a template element', () => html`<template><p>${'x'}</p></template>`],
    ['an accessible svg with an unclosed path', () => html`<svg viewBox="0 0 1 1"><title>${'Icon'}</title><path d="M0 0"></svg><p>${'x'}</p>`],
    ['html inside foreignObject, closed in order', () => html`<svg><foreignObject><div><p>${'x'}</p></div></foreignObject></svg>`],
    ['a same-origin formaction with data after the path', () => html`<form method="post" action="/s"><button formaction="/statuses/${'7'}/delete">x</button></form>`],
    ['an end tag with a quoted attribute', () => html`<b></b x=">"><p>${'x'}</p>`],
    ['an escaped & before a slot in a URL', () => html`<a href="/a?b=1&amp;c=${'d'}">x</a>`],
    ['a named reference before a slot in a plain attribute', () => html`<p title="Tom &amp; ${'Jerry'}"></p>`],
    ['an animation value in one slot', () => html`<svg><a><animate attributeName="href" values="${'/a;/b'}"/></a></svg>`],
    ['a select with options and a script', () => html`<select name="s"><option value="${'1'}">${'One'}</option></select><script src="/a.js"></script>`],
    ['a noscript with plain markup, and a slot after it', () => html`<noscript><p>Turn on JavaScript</p></noscript><p>${'x'}</p>`],
  ])('%s', (_name, template) => {
    expect(SafeHtml.is(template())).toBe(true);
  });

  it('writes text that only looks like a tag once (a reconsumed character is not repeated)', () => {
    expect(String(html`<p>a <1 b ${'c'}</p>`)).toBe('<p>a <1 b c</p>');
    expect(String(html`<br/a="1"><svg/ ><p>${'c'}</p>`)).toBe('<br/a="1"><svg/ ><p>c</p>');
  });

  it('keeps the first of two same-named attributes, as the browser does', () => {
    const fieldOf = (page: ReturnType<typeof html>) => fillMarkers(page, 'n', () => '<input name="csrf_token">').includes('csrf_token');
    expect(fieldOf(html`<form method="post" action="https://evil.example/" action="/x"><p>${'a'}</p></form>`)).toBe(false);
    expect(fieldOf(html`<form method="post" action="/x" action="https://evil.example/"><p>${'a'}</p></form>`)).toBe(true);
    expect(() => html`<script type="${'module'}" type="application/json">${json(1)}</script>`).toThrow(expect.objectContaining({ code: 'html_slot_in_script' }));
  });

  it('reads a static action or resource prefix as the URL parser does (references, tabs)', () => {
    const fieldOf = (page: ReturnType<typeof html>) => fillMarkers(page, 'n', () => '<input name="csrf_token">').includes('csrf_token');
    for (const action of ['/\t/evil.example/', '/&#47;evil.example/', '&sol;&sol;evil.example/', ' /\n/evil.example', '/&#x5c;evil.example/']) {
      const strings = [`<form method="post" action="${action}"><p>`, '</p></form>'];
      expect(fieldOf(html(Object.freeze(Object.assign(strings, { raw: Object.freeze([...strings]) })) as unknown as TemplateStringsArray, 'x'))).toBe(false);
    }
    expect(fieldOf(html`<form method="post" action="/statuses"><p>${'x'}</p></form>`)).toBe(true);
    expect(() => html`<script src="/&#47;cdn.example/${'a'}.js"></script>`).toThrow(expect.objectContaining({ code: 'html_slot_in_resource_url' }));
  });

  it('gives an HTML script inside foreignObject the nonce (the browser runs it as HTML)', () => {
    expect(fillMarkers(html`<svg><foreignObject><script src="/a.js"></script></foreignObject></svg>`, 'N0NCE', undefined)).toContain('<script src="/a.js" nonce="N0NCE">');
    expect(fillMarkers(html`<svg><script href="/a.js"></script></svg>`, 'N0NCE', undefined)).not.toContain('N0NCE');
  });

  it('filters every URL of an SVG animation\'s values list', () => {
    expect(String(html`<svg><a><animate attributeName="href" values="${'https://a.example/;javascript:alert(1); JAVASCRIPT:x;/ok'}"/></a></svg>`)).toContain(
      'values="https://a.example/;about:invalid#rampart;about:invalid#rampart;/ok"',
    );
  });

  it('refuses values nested too deep in RCDATA with a clear error, not a stack overflow', () => {
    let deep: unknown[] = ['x'];
    for (let index = 0; index < 10_000; index++) deep = [deep];
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    for (const value of [deep, cyclic]) expect(() => html`<title>${value}</title>`).toThrow(/nested more than 64 deep/);
  });

  it('says json() was given something that is not JSON data', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const value of [{ a: 1n }, cyclic]) expect(() => json(value)).toThrow(/^rampart: json\(\): the value is not JSON data/);
  });

  it('does not hand out a template\'s own parts array', () => {
    expect('partsOf' in SafeHtml).toBe(false);
  });

  it('caches the analysis per template', () => {
    const render = (value: string) => html`<p title="${value}">${value}</p>`;
    expect(String(render('a'))).toBe('<p title="a">a</p>');
    expect(String(render('b'))).toBe('<p title="b">b</p>');
  });
});

/** Strings built to break out: HTML, quotes, URL schemes, entities, control and odd characters. */
const hostile = fc.string({
  unit: fc.oneof(
    fc.constantFrom('<', '>', '&', '"', "'", '`', '=', '/', ' ', '\t', '\n', '\r', '\f', ':', ';', '#', '?', '\0', '\u0001', '\u2028', '\uFDD0', 'N', 'F', '😀', 'é'),
    fc.constantFrom('<script>', '</script>', '<!--', '-->', 'javascript:', 'data:', '&#106;', '&lt;', '<img src=x onerror=alert(1)>', '"><svg onload=alert(1)>', "'-alert(1)-'", 'on', 'x='),
    fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
  ),
  maxLength: 40,
});

describe('properties, checked by a WHATWG parser (parse5)', () => {
  const template = (value: string) =>
    String(html`<div id="a" title="${value}" data-x='${value}'><p>${value}</p><a href="${value}">${value}</a><a href="/s?q=${value}">q</a><title>${value}</title><textarea>${value}</textarea><img srcset="${value}"></div>`);
  const baseline = structure(template('x'));

  it('a value never changes the element and attribute structure', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        expect(structure(template(value))).toEqual(baseline);
      }),
      { numRuns: 2000 },
    );
  });

  it('text and attribute values decode back to the value (NUL becomes U+FFFD, as parsers do)', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        // What any parser does to its input first: CR LF and CR become LF; NUL becomes U+FFFD.
        const expected = value.replace(/\r\n?/g, '\n').replace(/\0/g, '\uFFFD');
        const [div, p] = parsed(template(value));
        expect(div!.attrs.find((attribute) => attribute.name === 'title')!.value).toBe(expected);
        expect(div!.attrs.find((attribute) => attribute.name === 'data-x')!.value).toBe(expected);
        const text = p!.childNodes.map((node) => ('value' in node ? node.value : '')).join('');
        expect(text).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('a URL attribute never ends up with an executable scheme', () => {
    fc.assert(
      fc.property(fc.oneof(hostile, fc.constantFrom('javascript:alert(1)', ' \tjavascript:x', 'JaVaScRiPt:x', 'java\nscript:x', '\u0000javascript:x', 'data:text/html,x', 'vbscript:x')), (value) => {
        for (const element of parsed(template(value))) {
          for (const attribute of element.attrs) {
            if (attribute.name !== 'href' && attribute.name !== 'srcset') continue;
            const urls = attribute.name === 'srcset' ? attribute.value.split(',').map((candidate) => candidate.trim().split(/\s+/)[0] ?? '') : [attribute.value];
            for (const url of urls) {
              let protocol = 'relative:';
              try {
                protocol = new URL(url, 'https://app.example/base/').protocol;
              } catch {
                // Unparsable: browsers do not follow it either.
              }
              expect(['https:', 'http:', 'mailto:', 'tel:', 'about:', 'relative:']).toContain(protocol);
            }
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the request context', () => {
  const key = 'nv1QpAe2PgR4gV5tLS1Yjq8dXsQ4iu3CI3SxzAEDc8s';
  async function context(options: Parameters<typeof rampart>[0] = {}): Promise<RequestContext> {
    const security = rampart({ keys: key, origin: 'https://app.example', logger: { warn: () => {} }, ...options });
    const started = await security.begin(new FetchIncoming(new Request('https://app.example/'), undefined, true));
    if (!(started instanceof RequestContext)) throw new Error('expected a context');
    return started;
  }

  it('gives every <script> and <style> the nonce, keeps an explicit one', async () => {
    const request = await context();
    const page = request.render(html`<style>p{}</style><script src="/a.js"></script><SCRIPT>go()</SCRIPT><script nonce="own">x</script><br/><script/></script>`);
    expect(page).toBe(
      `<style nonce="${request.nonce}">p{}</style><script src="/a.js" nonce="${request.nonce}"></script><SCRIPT nonce="${request.nonce}">go()</SCRIPT><script nonce="own">x</script><br/><script nonce="${request.nonce}"/></script>`,
    );
  });

  it('starts every same-origin POST form with the CSRF field, a fresh token per render', async () => {
    const request = await context();
    const page = request.render(html`<form method="post" action="/a"><input name="x"></form><form method="POST"></form><form method="get"></form><form method="post" action="https://other.example/"></form><form method="post" action="${'/x'}"></form>`);
    const forms = parsed(page).filter((element) => element.tagName === 'form');
    const first = (form: Element) => (form.childNodes[0] as Element | undefined)?.attrs?.find((attribute) => attribute.name === 'name')?.value;
    expect(forms.map(first)).toEqual(['csrf_token', 'csrf_token', undefined, undefined, undefined]);
    const tokens = [...page.matchAll(/name="csrf_token" value="([^"]+)"/g)].map((match) => match[1]);
    // One token per render, shared by the page's forms; the next render has another.
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toBe(tokens[1]);
    const again = request.render(html`<form method="post"></form>`);
    expect(/name="csrf_token" value="([^"]+)"/.exec(again)?.[1]).not.toBe(tokens[0]);
  });

  it('also starts a POST form whose action puts data after a static same-origin path', async () => {
    const request = await context();
    const id = '//evil.example/x';
    const page = request.render(
      html`<form method="post" action="/statuses/${id}/delete"></form><form method="post" action="/${id}"></form><form method="post" action="&#47;&#47;${id}"></form><form method="post" action=" /s/${id}"></form><form method="post" action="//${id}"></form>`,
    );
    const forms = parsed(page).filter((element) => element.tagName === 'form');
    const first = (form: Element) => (form.childNodes[0] as Element | undefined)?.attrs?.find((attribute) => attribute.name === 'name')?.value;
    expect(forms.map(first)).toEqual(['csrf_token', undefined, undefined, 'csrf_token', undefined]);
    expect(page).toContain('action="/statuses/%2F%2Fevil.example%2Fx/delete"');
  });

  it('adds the field where the author asks with csrfField(), and nothing without CSRF', async () => {
    const request = await context();
    expect(request.render(html`<form method="post" action="https://app.example/x">${csrfField()}</form>`)).toMatch(/^<form method="post" action="https:\/\/app.example\/x"><input type="hidden" name="csrf_token" value="[\w-]{50}"><\/form>$/);
    const off = await context({ csrf: false });
    expect(off.render(html`<form method="post"></form>`)).toBe('<form method="post"></form>');
  });

  it('renders only SafeHtml', async () => {
    const request = await context();
    expect(() => request.render('<p>hi</p>' as unknown as SafeHtml)).toThrow('HTML is not built from strings');
  });

  it('leaves no marker in a page rendered without a context', () => {
    expect(String(html`<script>x</script><form method="post"></form>`)).toBe('<script nonce="">x</script><form method="post"></form>');
  });
});
