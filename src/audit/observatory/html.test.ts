import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAttributeValue, scanPage } from './html.ts';

const scripts = (html: string): (string | null)[] => scanPage(html).scripts.map((script) => script.src);

describe('scanPage', () => {
  it('reads metas and scripts with quoted, unquoted and repeated attributes', () => {
    const facts = scanPage(`<META HTTP-EQUIV=Content-Security-Policy content="default-src 'none'" content=ignored><meta name='referrer' content=no-referrer><script SRC=/a.js integrity="sha256-x"></script>`);
    expect(facts.metas).toEqual([
      { httpEquiv: 'Content-Security-Policy', content: "default-src 'none'", name: null },
      { httpEquiv: null, content: 'no-referrer', name: 'referrer' },
    ]);
    expect(facts.scripts).toEqual([{ src: '/a.js', integrity: 'sha256-x' }]);
  });

  it('skips comments, bogus comments and raw text', () => {
    const html = [
      '<!-- <script src="c1"></script> -->',
      '<!--> <script src="short-comment"></script>',
      '<!DOCTYPE html><?xml <script src="x"?>',
      '<style>a { } <script src="style"></script></style>',
      '<title><script src="title"></script></title>',
      '<textarea><meta http-equiv="content-security-policy" content="x"></textarea>',
      '<script>document.write("<script src=\\"inner\\"></" + "script>")</script>',
      '<iframe><script src="iframe"></script></iframe>',
    ].join('');
    expect(scripts(html)).toEqual(['short-comment', null]);
    expect(scanPage(html).metas).toEqual([]);
  });

  it('follows the script data escape states', () => {
    // Inside <!-- … -->, a <script> makes the next </script> not the end.
    expect(scripts('<script><!--<script></script>--></script><script src="after"></script>')).toEqual([null, 'after']);
    expect(scripts('<script><!--</script><script src="after"></script>')).toEqual([null, 'after']);
  });

  it('leaves <template> content out and reads <noscript> content (scripting disabled)', () => {
    expect(scripts('<template><script src="t"></script><template></template><script src="t2"></script></template><noscript><script src="n"></script></noscript>')).toEqual(['n']);
  });

  it('treats <script> in SVG as foreign (no src) until a breakout or an integration point', () => {
    expect(scanPage('<svg><script href="s"></script><foreignObject><script src="html"></script></foreignObject></svg><script src="after"></script>').scripts).toEqual([
      { src: null, integrity: null },
      { src: 'html', integrity: null },
      { src: 'after', integrity: null },
    ]);
    expect(scripts('<math><p><script src="broke-out"></script>')).toEqual(['broke-out']);
  });

  it('drops a tag the input ends inside', () => {
    expect(scripts('<script src="a"></script><script src="b')).toEqual(['a']);
  });

  it('finds the first <base href>', () => {
    expect(scanPage('<base target=_top><base href="https://cdn.example/"><base href="/other">').baseHref).toBe('https://cdn.example/');
  });

  it('never throws and finds nothing in plain text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const facts = scanPage(text.replaceAll('<', ''));
        expect(facts.scripts).toEqual([]);
        expect(facts.metas).toEqual([]);
      }),
    );
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => void scanPage(text)));
  });
});

describe('decodeAttributeValue', () => {
  it.each([
    ['a&amp;b', 'a&b'],
    ['&#39;self&#x27;', "'self'"],
    ['&quot;x&quot', '"x"'],
    ['&apos;', "'"],
    ['&apos', '&apos'],
    ['a&ampx', 'a&ampx'],
    ['a&amp=', 'a&amp='],
    ['&#0;&#x110000;&#xD800;', '\ufffd\ufffd\ufffd'],
    ['&#x80;', '\u20ac'],
    ['&unknown;', '&unknown;'],
    ['&#;', '&#;'],
  ])('%s → %s', (value, decoded) => {
    expect(decodeAttributeValue(value)).toBe(decoded);
  });
});
