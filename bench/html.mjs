// HTML templates, in one run: `npm run build && node bench/html.mjs`.
//
// One operation renders one page: a feed of 50 status entries, each with text, attribute
// and URL slots, a third of the strings needing escaping. The same page in every engine,
// each template compiled once, outside the timed loop (as a production server does):
//
// - the floor: a hand-written template literal, every string through `escape-html`;
// - rampart/html, the only context-aware engine: a URL slot at the start of `href` goes
//   through a scheme allowlist, one after a static prefix is percent-encoded;
// - Pug 3, Eta 4, EJS 7, Handlebars 4, Nunjucks 3 (compiled templates, their default
//   escaping), hono/html (a tagged template) and @kitajs/html (its JSX runtime, the calls
//   `tsc` emits for `jsxImportSource: "@kitajs/html"`, with `safe` on every element that
//   holds data). None of them looks at a URL's scheme: a `javascript:` link stays one.
//   Nunjucks runs last, in a child process of its own (see loadNunjucks).
//
// Sanity first: every engine's page must parse (parse5, a WHATWG parser) into the same
// tree as the floor's, with no element, attribute or <script> coming from the data, and
// rampart's page must carry `about:invalid#rampart` where the data has a `javascript:` URL.
//
// In-process timings, interleaved: each round times every engine once, in rotated order,
// and each ratio is taken within the round; the median over rounds is reported, so a noisy
// machine moves both sides of a ratio together.

import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { jsx, jsxs } from '@kitajs/html/jsx-runtime';
import ejs from 'ejs';
import escapeHtml from 'escape-html';
import { Eta } from 'eta';
import Handlebars from 'handlebars';
import { html as honoHtml } from 'hono/html';
import { parse } from 'parse5';
import pug from 'pug';
import { html } from 'rampart/html';

// Many short rounds rather than a few long ones: a burst of other load on the machine then
// spoils a few rounds' ratios, which the median drops, instead of one engine's whole sample.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 41);
const N = Number(process.env.BENCH_N ?? 1000);
// BENCH_BODY=1: each operation also encodes the page as the UTF-8 body a response sends. A
// page built by concatenation is a rope; whoever first reads it whole (a scan, the socket
// write) pays for flattening it, and this moves that cost into every engine's measurement.
const BODY = process.env.BENCH_BODY === '1';
const ENTRIES = 50;

const loadAtStart = loadavg()[0];
let sink = 0;

// ---- The data: 50 entries. Each string field needs escaping in every third entry (a
// different third per field), so a third of the strings, and of the string slots, do.

const NAMES = ['Ana Lima', 'Bo Chen', 'Chidi Okafor', 'Dana Novak', 'Emil Berg', 'Fatima Zahra', 'Gus Ortega'];
const HOSTILE_NAMES = ['Eve "><script>alert(1)</script>', "O'Brien & Sons", '<b>Mallory</b>', 'Zoë "Z" <Ortiz>'];
const HANDLES = ['ana', 'bochen', 'chidi', 'dana.n', 'emil_b', 'fatima', 'gus'];
const HOSTILE_HANDLES = ['tom&jerry', "o'brien", 'x"><script>alert(1)</script>', 'a<b>c'];
const TEXTS = [
  'Shipped the new release today. Thanks to everyone who tested the betas and sent reports!',
  'Reading about how browsers parse HTML attributes; the tokenizer has more states than I thought.',
  'Coffee, then a long walk by the river before the next round of code review.',
  'Our meetup moves to Thursday this month. Same room, same pizza, new speakers.',
];
const HOSTILE_TEXTS = [
  '</p><script>alert(document.cookie)</script>',
  '5 < 6 && 7 > 3, "obviously": a little maths for a Monday morning.',
  "It's <em>great</em> & cheap, if you ask me; and you didn't.",
  '"><img src=x onerror=alert(1)> just testing your escaping',
];
const HOSTILE_URLS = ['javascript:alert(document.cookie)', 'https://example.com/search?q=a&b=<c>', '"><script>alert(1)</script>', "https://example.com/it's?x=\"1\"", 'JaVaScRiPt:alert(1)'];
const LABELS = ['example.com', 'Read more', 'the full thread', 'photos'];
const HOSTILE_LABELS = ["Tom & Jerry's page", '<click here>', '"quoted" link'];

const pick = (list, index) => list[index % list.length];
const ENTRY_LIST = Array.from({ length: ENTRIES }, (_, index) => {
  const third = Math.floor(index / 3);
  return {
    id: 1000 + index,
    name: index % 3 === 0 ? pick(HOSTILE_NAMES, third) : pick(NAMES, index),
    handle: index % 3 === 1 ? pick(HOSTILE_HANDLES, third) : pick(HANDLES, index),
    text: index % 3 === 2 ? pick(HOSTILE_TEXTS, third) : pick(TEXTS, index),
    url: index % 3 === 0 ? pick(HOSTILE_URLS, third) : `https://example.com/posts/${index}`,
    urlLabel: index % 3 === 1 ? pick(HOSTILE_LABELS, third) : pick(LABELS, index),
    likes: (index * 37) % 101,
    replies: (index * 11) % 17,
  };
});
const DATA = { title: 'Home · Feed', viewer: { name: 'Ana Lima', handle: 'ana' }, entries: ENTRY_LIST };

// ---- The page in every engine: the same markup, written in each engine's own way.

// The floor: one template literal per entry, escape-html on every string, nothing else.
function floorPage(data) {
  let entries = '';
  for (const entry of data.entries) {
    entries += `<li class="entry" id="s-${entry.id}"><a class="avatar" href="/u/${escapeHtml(entry.handle)}" title="${escapeHtml(entry.name)}"><img src="/avatars/${escapeHtml(entry.handle)}.png" alt="" width="48" height="48"></a><div class="body"><p class="meta"><a class="author" href="/u/${escapeHtml(entry.handle)}">${escapeHtml(entry.name)}</a><span class="handle">@${escapeHtml(entry.handle)}</span></p><p class="text">${escapeHtml(entry.text)}</p><a class="link" href="${escapeHtml(entry.url)}" rel="nofollow ugc">${escapeHtml(entry.urlLabel)}</a><p class="stats"><span>${entry.likes}</span> likes · <span>${entry.replies}</span> replies</p></div></li>`;
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(data.title)}</title><link rel="stylesheet" href="/static/feed.css"></head><body><header><h1>${escapeHtml(data.title)}</h1><nav><a href="/u/${escapeHtml(data.viewer.handle)}">${escapeHtml(data.viewer.name)}</a></nav></header><main><ol class="feed">${entries}</ol></main></body></html>`;
}

// rampart/html, as its documentation writes a list: a template per entry, mapped.
const rampartEntry = (entry) =>
  html`<li class="entry" id="s-${entry.id}"><a class="avatar" href="/u/${entry.handle}" title="${entry.name}"><img src="/avatars/${entry.handle}.png" alt="" width="48" height="48"></a><div class="body"><p class="meta"><a class="author" href="/u/${entry.handle}">${entry.name}</a><span class="handle">@${entry.handle}</span></p><p class="text">${entry.text}</p><a class="link" href="${entry.url}" rel="nofollow ugc">${entry.urlLabel}</a><p class="stats"><span>${entry.likes}</span> likes · <span>${entry.replies}</span> replies</p></div></li>`;
const rampartPage = (data) =>
  String(
    html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${data.title}</title><link rel="stylesheet" href="/static/feed.css"></head><body><header><h1>${data.title}</h1><nav><a href="/u/${data.viewer.handle}">${data.viewer.name}</a></nav></header><main><ol class="feed">${data.entries.map(rampartEntry)}</ol></main></body></html>`,
  );

// hono/html: the same tagged-template shape. Its html returns a String object (a Promise
// only when a value is one); toString() gives the markup.
const honoEntry = (entry) =>
  honoHtml`<li class="entry" id="s-${entry.id}"><a class="avatar" href="/u/${entry.handle}" title="${entry.name}"><img src="/avatars/${entry.handle}.png" alt="" width="48" height="48"></a><div class="body"><p class="meta"><a class="author" href="/u/${entry.handle}">${entry.name}</a><span class="handle">@${entry.handle}</span></p><p class="text">${entry.text}</p><a class="link" href="${entry.url}" rel="nofollow ugc">${entry.urlLabel}</a><p class="stats"><span>${entry.likes}</span> likes · <span>${entry.replies}</span> replies</p></div></li>`;
function honoPage(data) {
  const page = honoHtml`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${data.title}</title><link rel="stylesheet" href="/static/feed.css"></head><body><header><h1>${data.title}</h1><nav><a href="/u/${data.viewer.handle}">${data.viewer.name}</a></nav></header><main><ol class="feed">${data.entries.map(honoEntry)}</ol></main></body></html>`;
  if (page instanceof Promise) throw new Error('hono/html returned a Promise for a synchronous page');
  return page.toString();
}

// @kitajs/html: what tsc emits for this JSX with `"jsx": "react-jsx", "jsxImportSource":
// "@kitajs/html"` (attributes are escaped; element content only where `safe` is written):
//   <li class="entry" id={`s-${entry.id}`}>
//     <a class="avatar" href={`/u/${entry.handle}`} title={entry.name}><img src={`/avatars/${entry.handle}.png`} alt="" width="48" height="48" /></a>
//     <div class="body">… <a class="author" href={`/u/${entry.handle}`} safe>{entry.name}</a> …</div>
//   </li>
const kitaEntry = (entry) =>
  jsxs('li', {
    class: 'entry',
    id: `s-${entry.id}`,
    children: [
      jsx('a', { class: 'avatar', href: `/u/${entry.handle}`, title: entry.name, children: jsx('img', { src: `/avatars/${entry.handle}.png`, alt: '', width: '48', height: '48' }) }),
      jsxs('div', {
        class: 'body',
        children: [
          jsxs('p', {
            class: 'meta',
            children: [jsx('a', { class: 'author', href: `/u/${entry.handle}`, safe: true, children: entry.name }), jsxs('span', { class: 'handle', safe: true, children: ['@', entry.handle] })],
          }),
          jsx('p', { class: 'text', safe: true, children: entry.text }),
          jsx('a', { class: 'link', href: entry.url, rel: 'nofollow ugc', safe: true, children: entry.urlLabel }),
          jsxs('p', { class: 'stats', children: [jsx('span', { children: entry.likes }), ' likes · ', jsx('span', { children: entry.replies }), ' replies'] }),
        ],
      }),
    ],
  });
const kitaPage = (data) =>
  '<!doctype html>' +
  jsxs('html', {
    lang: 'en',
    children: [
      jsxs('head', { children: [jsx('meta', { charset: 'utf-8' }), jsx('title', { safe: true, children: data.title }), jsx('link', { rel: 'stylesheet', href: '/static/feed.css' })] }),
      jsxs('body', {
        children: [
          jsxs('header', { children: [jsx('h1', { safe: true, children: data.title }), jsx('nav', { children: jsx('a', { href: `/u/${data.viewer.handle}`, safe: true, children: data.viewer.name }) })] }),
          jsx('main', { children: jsx('ol', { class: 'feed', children: data.entries.map(kitaEntry) }) }),
        ],
      }),
    ],
  });

// Pug: compileDebug off, as its documentation advises for production.
const pugPage = pug.compile(
  [
    'doctype html',
    'html(lang="en")',
    '  head',
    '    meta(charset="utf-8")',
    '    title= title',
    '    link(rel="stylesheet" href="/static/feed.css")',
    '  body',
    '    header',
    '      h1= title',
    '      nav',
    '        a(href="/u/" + viewer.handle)= viewer.name',
    '    main',
    '      ol.feed',
    '        each entry in entries',
    '          li.entry(id="s-" + entry.id)',
    '            a.avatar(href="/u/" + entry.handle title=entry.name)',
    '              img(src="/avatars/" + entry.handle + ".png" alt="" width="48" height="48")',
    '            div.body',
    '              p.meta',
    '                a.author(href="/u/" + entry.handle)= entry.name',
    '                span.handle @#{entry.handle}',
    '              p.text= entry.text',
    '              a.link(href=entry.url rel="nofollow ugc")= entry.urlLabel',
    '              p.stats #[span= entry.likes] likes · #[span= entry.replies] replies',
  ].join('\n'),
  { compileDebug: false },
);

// The string-template engines share one page, written in each one's tags. `v(name)` is an
// escaped output tag, `each(list, item, body)` a loop.
function stringTemplate({ v, each }) {
  const entry = [
    `<li class="entry" id="s-${v('e.id')}"><a class="avatar" href="/u/${v('e.handle')}" title="${v('e.name')}"><img src="/avatars/${v('e.handle')}.png" alt="" width="48" height="48"></a>`,
    `<div class="body"><p class="meta"><a class="author" href="/u/${v('e.handle')}">${v('e.name')}</a><span class="handle">@${v('e.handle')}</span></p>`,
    `<p class="text">${v('e.text')}</p><a class="link" href="${v('e.url')}" rel="nofollow ugc">${v('e.urlLabel')}</a>`,
    `<p class="stats"><span>${v('e.likes')}</span> likes · <span>${v('e.replies')}</span> replies</p></div></li>`,
  ].join('');
  return [
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${v('title')}</title><link rel="stylesheet" href="/static/feed.css"></head>`,
    `<body><header><h1>${v('title')}</h1><nav><a href="/u/${v('viewer.handle')}">${v('viewer.name')}</a></nav></header>`,
    `<main><ol class="feed">${each('entries', entry)}</ol></main></body></html>`,
  ].join('');
}

// Eta 4, default configuration (autoEscape on); the data is `it`.
const eta = new Eta();
const etaTemplate = eta.compile(
  stringTemplate({
    v: (name) => `<%= ${name.startsWith('e.') ? name : `it.${name}`} %>`,
    each: (list, body) => `<% for (const e of it.${list}) { %>${body}<% } %>`,
  }),
);
const etaPage = (data) => eta.render(etaTemplate, data);

// EJS 7: compileDebug off and no `with` block, its fast production settings; the data is `locals`.
const ejsPage = ejs.compile(
  stringTemplate({
    v: (name) => `<%= ${name.startsWith('e.') ? name : `locals.${name}`} %>`,
    each: (list, body) => `<% for (const e of locals.${list}) { %>${body}<% } %>`,
  }),
  { compileDebug: false, _with: false },
);

// Handlebars 4, default options; compiled lazily on the first call, which the sanity check makes.
const handlebarsPage = Handlebars.compile(
  stringTemplate({
    v: (name) => `{{${name.startsWith('e.') ? name.slice(2) : name}}}`,
    each: (list, body) => `{{#each ${list}}}${body}{{/each}}`,
  }),
);

// Nunjucks 3: an Environment with autoescape on (its default), the template compiled eagerly.
// Never imported into the process that measures the others: its SafeString prototype is made
// with Object.create(String.prototype), and once such an object exists V8 (11.3, Node 20)
// takes slower paths for string methods in the whole process, for code compiled after it:
// the floor renders ~1.7× slower, rampart ~2×. So Nunjucks is measured in a second phase, in a
// child process (this file with --nunjucks-phase) that imports it first and times it against
// the floor compiled in the same state, as in an application that uses it.
async function loadNunjucks() {
  const { default: nunjucks } = await import('nunjucks');
  const template = new nunjucks.Template(
    stringTemplate({
      v: (name) => `{{ ${name} }}`,
      each: (list, body) => `{% for e in ${list} %}${body}{% endfor %}`,
    }),
    new nunjucks.Environment(null, { autoescape: true }),
    null,
    true,
  );
  return (data) => template.render(data);
}

// ---- The engines, in report order. `filters` says what each does with a `javascript:` URL.

const FLOOR = 'floor: template literal + escape-html';
const RAMPART = 'rampart/html';
const engines = {
  [FLOOR]: { render: floorPage, filters: 'no' },
  [RAMPART]: { render: rampartPage, filters: 'yes: `about:invalid#rampart`' },
  'Pug 3': { render: pugPage, filters: 'no' },
  'hono/html': { render: honoPage, filters: 'no' },
  '@kitajs/html (JSX runtime, `safe`)': { render: kitaPage, filters: 'no' },
  'Eta 4': { render: etaPage, filters: 'no' },
  'EJS 7': { render: ejsPage, filters: 'no' },
  'Handlebars 4': { render: handlebarsPage, filters: 'no' },
};
const NUNJUCKS = 'Nunjucks 3';
const NUNJUCKS_PHASE = process.argv[2] === '--nunjucks-phase';
if (NUNJUCKS_PHASE) engines[NUNJUCKS] = { render: await loadNunjucks(), filters: 'no' };
const names = NUNJUCKS_PHASE ? [FLOOR, NUNJUCKS] : Object.keys(engines);

// ---- Sanity: every page is the same document, and nothing in it comes from the data.

function check(condition, message) {
  if (!condition) throw new Error(`bench sanity check failed: ${message}`);
}

/** The document as parse5 builds it, one canonical line per node (attributes sorted). */
function documentOf(markup) {
  const lines = [];
  let scripts = 0;
  const walk = (node, depth) => {
    const indent = ' '.repeat(depth);
    if (node.nodeName === '#documentType') lines.push(`${indent}<!doctype ${node.name}>`);
    else if (node.nodeName === '#text') lines.push(`${indent}${JSON.stringify(node.value)}`);
    else if (node.nodeName === '#comment') lines.push(`${indent}<!--${node.data}-->`);
    else if (node.tagName !== undefined) {
      if (node.tagName === 'script') scripts++;
      const attributes = node.attrs.map((attribute) => `${attribute.name}=${JSON.stringify(attribute.value)}`).sort();
      lines.push(`${indent}<${node.tagName}${attributes.map((attribute) => ` ${attribute}`).join('')}>`);
    }
    for (const child of node.childNodes ?? []) walk(child, depth + 1);
  };
  walk(parse(markup), 0);
  return { tree: lines.join('\n'), scripts, elements: lines.filter((line) => line.trimStart().startsWith('<') && !line.includes('<!')).length };
}

/** The markup with every double-quoted attribute value removed (all engines quote with `"` and escape it inside). */
const withoutAttributeValues = (markup) => markup.replace(/="[^"]*"/g, '=""');

const SAFE_SCHEME = /^(?:https?|mailto|tel):/i;
const isAllowed = (url) => {
  const colon = url.indexOf(':');
  return colon === -1 || /[/?#]/.test(url.slice(0, colon)) || SAFE_SCHEME.test(url);
};
// What rampart's page must be: the floor's, with the handles percent-encoded in URL paths and
// the URLs whose scheme is not allowed replaced.
const rampartExpected = floorPage({
  ...DATA,
  entries: DATA.entries.map((entry) => ({ ...entry, url: isAllowed(entry.url) ? entry.url : 'about:invalid#rampart' })),
}).replace(/(href="\/u\/|src="\/avatars\/)([^"]*)"/g, (_match, prefix, handle) => `${prefix}${escapeHtml(encodeURIComponent(unescapeHtml(handle)))}"`);
function unescapeHtml(text) {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_match, name) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[name]);
}

const strings = DATA.entries.flatMap((entry) => [entry.name, entry.handle, entry.text, entry.url, entry.urlLabel]);
const needingEscape = strings.filter((text) => /[&<>"']/.test(text));
const hostile = needingEscape.filter((text) => /[<"]/.test(text));
const javascriptUrls = DATA.entries.filter((entry) => /^javascript:/i.test(entry.url)).length;
check(javascriptUrls > 0 && hostile.some((text) => text.includes('<script')), 'the data has no javascript: URL or no <script');

const floorDocument = documentOf(floorPage(DATA));
check(floorDocument.scripts === 0, 'the floor page has a <script>');
const rampartDocument = documentOf(rampartExpected);
const outputBytes = {};
const keepsJavascript = {};
function checkEngine(name) {
  const markup = engines[name].render(DATA);
  check(typeof markup === 'string', `${name} did not return a string`);
  check(engines[name].render(DATA) === markup, `${name} does not render the same page twice`);
  outputBytes[name] = Buffer.byteLength(markup);
  const document = documentOf(markup);
  check(document.scripts === 0, `${name}: a <script> element from the data`);
  // No data string with a quote appears as it is (it would end its attribute), nor one with `<`
  // outside attribute values (it would open a tag).
  const outside = withoutAttributeValues(markup);
  for (const text of hostile) {
    check(!text.includes('"') || !markup.includes(text), `${name}: unescaped ${JSON.stringify(text)}`);
    check(!text.includes('<') || !outside.includes(text), `${name}: unescaped ${JSON.stringify(text)} outside an attribute`);
  }
  check(!/<script/i.test(outside), `${name}: an unescaped <script`);
  const expected = name === RAMPART ? rampartDocument : floorDocument;
  if (document.tree !== expected.tree) {
    const ours = document.tree.split('\n');
    const theirs = expected.tree.split('\n');
    const line = ours.findIndex((text, index) => text !== theirs[index]);
    throw new Error(`bench sanity check failed: ${name} builds another document, from line ${line}:\n  got      ${ours[line]}\n  expected ${theirs[line]}`);
  }
  keepsJavascript[name] = /href="javascript:/i.test(markup);
  check(name === RAMPART || keepsJavascript[name], `${name} filtered a javascript: URL: update its row`);
}
for (const name of names) checkEngine(name);
if (!NUNJUCKS_PHASE) {
  check(!keepsJavascript[RAMPART], 'rampart kept a javascript: URL');
  const markup = rampartPage(DATA);
  check(markup.split('href="about:invalid#rampart"').length - 1 === javascriptUrls, 'rampart did not turn every javascript: URL into about:invalid#rampart');
  check(markup.includes('href="/u/tom%26jerry"') && markup.includes('href="/u/x%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E"'), 'rampart did not percent-encode a handle in a URL path');
}

// ---- Timing.

/** Wall-clock and CPU (user + system, all threads: GC included) nanoseconds per page. */
function time(render, n) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  if (BODY) for (let index = 0; index < n; index++) sink += Buffer.from(render(DATA)).length;
  else for (let index = 0; index < n; index++) sink += render(DATA).length;
  const wall = Number(process.hrtime.bigint() - start) / n;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: ((used.user + used.system) * 1000) / n };
}

/** Interleaved rounds over some engines: per engine, the wall-clock samples and the per-round ratios to the floor. */
function measure(caseNames) {
  for (const name of caseNames) time(engines[name].render, N);
  const result = { samples: {}, ratios: {}, cpuRatios: {}, rampartFastest: 0 };
  for (const name of caseNames) [result.samples[name], result.ratios[name], result.cpuRatios[name]] = [[], [], []];
  for (let round = 0; round < ROUNDS; round++) {
    const order = caseNames.slice(round % caseNames.length).concat(caseNames.slice(0, round % caseNames.length));
    const got = {};
    for (const name of order) got[name] = time(engines[name].render, N);
    for (const name of caseNames) {
      result.samples[name].push(got[name].wall);
      // Cost ratio: how many times the floor's time per page (1 is the floor; lower is better).
      result.ratios[name].push(got[name].wall / got[FLOOR].wall);
      result.cpuRatios[name].push(got[name].cpu / got[FLOOR].cpu);
    }
    if (caseNames.includes(RAMPART) && caseNames.every((name) => name === FLOOR || name === RAMPART || got[RAMPART].wall < got[name].wall)) result.rampartFastest++;
  }
  return result;
}

const started = Date.now();
const first = measure(names);
if (NUNJUCKS_PHASE) console.log(JSON.stringify({ ...first, outputBytes, keepsJavascript }));
else report();

/** The second phase, then the table and the targets. */
function report() {
  // The second phase, in a child process: Nunjucks against the floor, both compiled after its import.
  const second = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--nunjucks-phase'], { encoding: 'utf8', maxBuffer: 1 << 24 }));
  engines[NUNJUCKS] = { filters: 'no' };
  check(second.keepsJavascript[NUNJUCKS], `${NUNJUCKS} filtered a javascript: URL: update its row`);
  outputBytes[NUNJUCKS] = second.outputBytes[NUNJUCKS];
  for (const key of ['samples', 'ratios', 'cpuRatios']) first[key][NUNJUCKS] = second[key][NUNJUCKS];
  const floorAfterImport = second.samples[FLOOR];
  const { samples, ratios, cpuRatios } = first;
  const reported = [...names, NUNJUCKS];
  const seconds = (Date.now() - started) / 1000;
  const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * q)];
  const median = (values) => quantile(values, 0.5);
  const middleHalf = (values) => `${quantile(values, 0.25).toFixed(2)}–${quantile(values, 0.75).toFixed(2)}`;

  const lines = [
    `| engine | filters \`javascript:\` URLs | µs per page${BODY ? ', UTF-8 body included' : ''} (median) | pages/s (median) | cost × floor, median of per-round ratios (middle half) | CPU-time cost × floor (median) | output bytes |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const name of reported) {
    const nanoseconds = median(samples[name]);
    const ratio = name === FLOOR ? '1' : `**${median(ratios[name]).toFixed(2)}×** (${middleHalf(ratios[name])})`;
    const cpuRatio = name === FLOOR ? '1' : `${median(cpuRatios[name]).toFixed(2)}×`;
    lines.push(`| ${name}${name === NUNJUCKS ? ' (second phase, see below)' : ''} | ${engines[name].filters} | ${(nanoseconds / 1000).toFixed(1)} | ${Math.round(1e9 / nanoseconds).toLocaleString('en-US')} | ${ratio} | ${cpuRatio} | ${outputBytes[name].toLocaleString('en-US')} |`);
  }
  console.log(lines.join('\n'));

  const ours = median(ratios[RAMPART]);
  const others = reported.filter((name) => name !== FLOOR && name !== RAMPART);
  const fastestOther = others.reduce((best, name) => (median(ratios[name]) < median(ratios[best]) ? name : best));
  const fastest = others.every((name) => ours < median(ratios[name]));
  console.log(
    `\nTarget: rampart within 1.3× of the floor: ${ours <= 1.3 ? 'MET' : 'MISSED'} (${ours.toFixed(2)}×, CPU time ${median(cpuRatios[RAMPART]).toFixed(2)}×); ` +
      `fastest of the engines: ${fastest ? 'MET' : 'MISSED'} (next: ${fastestOther} ${median(ratios[fastestOther]).toFixed(2)}×; rampart fastest in ${first.rampartFastest} of ${ROUNDS} rounds of the first phase).`,
  );
  console.log(
    `Nunjucks: measured after the others, in a child process that imports it first, ${ROUNDS} rounds against the floor, which rendered a page there in ${(median(floorAfterImport) / 1000).toFixed(1)} µs ` +
      `(${(median(samples[FLOOR]) / 1000).toFixed(1)} µs here): its ratio is comparable, its µs include that slowdown.`,
  );
  console.log(
    `The page: ${ENTRIES} entries, ${strings.length} strings of which ${needingEscape.length} (${Math.round((100 * needingEscape.length) / strings.length)}%) need escaping, ${javascriptUrls} javascript: URLs. ` +
      `${ROUNDS} rounds of ${N} pages per engine (${seconds.toFixed(0)} s); node ${process.version}; load average ${loadAtStart.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end; ${new Date().toUTCString()}`,
  );
  if (sink === 0) console.log('(nothing computed)');
}
