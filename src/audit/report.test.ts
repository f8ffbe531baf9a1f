/**
 * The report formats on a hand-built report whose findings carry hostile content (what
 * an audited site controls: markup, quotes, `]]>`, control characters, unicode): the
 * text report groups by practice with both fixes, JSON round-trips, SARIF has the
 * essentials of 2.1.0, JUnit is well-formed XML with consistent counts, and the HTML
 * report shows the hostile text as text (no element or attribute of it), with its own
 * CSP and a grade card.
 */

import { parse as parseHtml, type DefaultTreeAdapterMap } from 'parse5';
import { describe, expect, it } from 'vitest';
import { RULES } from './audit.node.ts';
import { renderHtml, renderJunit, renderReport, renderSarif, renderText, REPORT_BODY_LIMIT, REPORT_FORMATS } from './report.ts';
import { PRACTICES, type AuditReport, type Exchange, type Finding, type Practice, type Severity } from './types.ts';

/** What a hostile site could get into a finding: markup, quotes, CDATA end, entities, C0/C1 controls, terminal escapes, unicode. */
const EVIL =
  `<script>alert("x")</script><img src=x onerror=alert(1)> ' " ]]> <![CDATA[ &amp; & &#0; <!-- --> ` +
  `\x00\x01\x07\x08\x0b\x0c\x1b[2J\x1b]0;pwned\x07\x7f\x85\x9b31m \ufffe\uffff\ufeff\u202e ` +
  `\ud83d\ude00 𝒳 é 日本 \u2028\u2029\r\nNo findings.\n`;

/** The same report with harmless text, to compare the HTML structure with. */
const BENIGN = 'plain words';

const ORIGIN = 'http://app.test';

/** A URL as the auditor records it (WHATWG-serialised, so percent-encoded), with hostile input in its query. */
function urlWith(path: string, text: string): string {
  const url = new URL(path, ORIGIN);
  url.searchParams.set('q', text);
  return url.href;
}

let sequence = 0;

function finding(ruleId: string, text: string, more: Partial<Finding> = {}): Finding {
  const rule = RULES.get(ruleId);
  if (!rule) throw new Error(`no rule ${ruleId} in the catalogue`);
  const url = more.url ?? urlWith(`/${ruleId}`, text);
  return {
    ruleId,
    severity: rule.severity,
    message: `${rule.title} ${text}`,
    url,
    evidence: text,
    exchanges: [0],
    fingerprint: `${ruleId}|${url}|${sequence++}`,
    ...more,
  };
}

function exchange(index: number, url: string, reason: Exchange['reason'], method = 'GET', status = 200): Exchange {
  return {
    index,
    request: { method, url, headers: { 'x-audit-probe': 'abcd' } },
    response: { status, headers: [['content-type', 'text/html']], body: '', truncated: false },
    reason,
    durationMs: 1,
  };
}

/** A report with a finding in every practice, a not-assessed practice with a note, scan errors and probes, all carrying `text`. */
function makeReport(text: string): AuditReport {
  sequence = 0;
  const findings: Finding[] = [
    finding('debug-page', text, { severity: 'critical' }),
    finding('xss-reflected', text),
    finding('form-no-csrf-token', text),
    finding('traversal-dir-echo', text),
    finding('cookie-session-no-secure', text),
    finding('cookie-no-samesite', text),
    finding('csp-missing', text),
    finding('csp-missing', text, { url: urlWith('/other', text) }),
    // The practice below is not assessed, yet has a low finding: its other rules are skipped.
    finding('hsts-short', text),
    finding('server-version', `Werkzeug/2.2.2 ${text}`, { evidence: `Werkzeug/2.2.2 ${text}` }),
  ];
  const status = (practice: Practice): 'pass' | 'fail' | 'not-assessed' => (practice === 'https' ? 'not-assessed' : 'fail');
  return {
    schemaVersion: 1,
    tool: { name: 'rampart audit', version: '0.1.0' },
    target: urlWith('/', text),
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
    settings: { active: true, maxRequests: 200, scope: 'origin' },
    checklist: {
      grade: 'F',
      score: 0,
      practices: PRACTICES.map(({ id }) => {
        const own = findings.filter((candidate) => RULES.get(candidate.ruleId)?.practice === id).length;
        return status(id) === 'not-assessed' ? { practice: id, status: 'not-assessed' as const, findings: own, note: `note ${text}` } : { practice: id, status: status(id), findings: own };
      }),
    },
    observatory: {
      algorithmVersion: 4,
      score: 0,
      grade: 'F',
      testsPassed: 1,
      testsFailed: 1,
      testsQuantity: 2,
      tests: {
        'content-security-policy': { result: `csp-not-implemented ${text}`, pass: false, scoreModifier: -25, expectation: 'csp-implemented-with-no-unsafe' },
        [`test ${text}`]: { result: `result ${text}`, pass: true, scoreModifier: 0, expectation: 'x' },
      },
    },
    findings,
    exchanges: [
      exchange(0, urlWith('/', text), 'start'),
      exchange(1, urlWith('/search', text), 'probe'),
      exchange(2, urlWith('/post', text), 'probe', 'POST', 403),
    ],
    errors: [`GET ${urlWith('/x', text)}: ${text}`],
  };
}

const report = makeReport(EVIL);

describe('text', () => {
  const text = renderText(report, RULES, false);

  it('groups the findings by practice, in the order of the practices, each with the fix for Flask and for rampart', () => {
    const headings = PRACTICES.map((practice) => text.indexOf(`\n${practice.title} `));
    expect(headings.every((position) => position > 0)).toBe(true);
    expect([...headings].sort((a, b) => a - b)).toEqual(headings);
    for (const [position, practice] of PRACTICES.entries()) {
      const section = text.slice(headings[position], headings[position + 1] ?? text.lastIndexOf('\nScan problems:'));
      const own = report.findings.filter((candidate) => RULES.get(candidate.ruleId)?.practice === practice.id);
      const other = report.findings.filter((candidate) => RULES.get(candidate.ruleId)?.practice !== practice.id);
      for (const candidate of own) {
        const rule = RULES.get(candidate.ruleId)!;
        expect(section, `${candidate.ruleId} under ${practice.title}`).toContain(`${candidate.ruleId}: `);
        expect(section).toContain(`fix (Flask):   ${rule.fix.flask}`);
        expect(section).toContain(`fix (rampart): ${rule.fix.rampart}`);
      }
      for (const candidate of other) expect(section, `${candidate.ruleId} not under ${practice.title}`).not.toContain(`${candidate.ruleId}: `);
    }
    expect(text).toMatch(/^Checklist grade F \(0\/100\) {4}Observatory 1\.4\.8 compatible: F \(0, 1\/2 tests passed\)$/m);
    expect(text).toContain('4. HTTPS and HSTS ....................... not assessed (note ');
    expect(text).toContain('Findings: 1 critical, 4 high, 2 medium, 2 low, 1 info.');
    expect(text).toContain('Probe requests (each carries X-Audit-Probe');
    expect(text).toContain('  POST http://app.test/post?q=');
    expect(text).toContain('Scan problems:');
  });

  it('says "No findings." for a clean report, and "not assessed" with the reason', () => {
    const clean: AuditReport = {
      ...report,
      findings: [],
      errors: [],
      exchanges: [],
      checklist: { grade: 'A', score: 100, practices: PRACTICES.map(({ id }) => (id === 'csrf' ? { practice: id, status: 'not-assessed', findings: 0, note: 'no POST form was found to check' } : { practice: id, status: 'pass', findings: 0 })) },
    };
    const output = renderText(clean, RULES, false);
    expect(output).toMatch(/\nNo findings\.\n$/);
    expect(output).toContain('2. CSRF protection ...................... not assessed (no POST form was found to check)');
    expect(output).not.toContain('Probe requests');
    expect(output).not.toContain('Scan problems');
  });

  it('lets no control character of the site through to the terminal (no escape sequences, no forged lines)', () => {
    // Without colour the report is plain text: a site's ESC, BEL, CR or C1 CSI must not reach the terminal.
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    const controls = [...text.matchAll(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g)].map((match) => `U+${match[0].charCodeAt(0).toString(16).padStart(4, '0')}`);
    expect(controls).toEqual([]);
    // The hostile "\nNo findings.\n" must not become a line of its own.
    expect(text.split('\n').filter((line) => line === 'No findings.')).toEqual([]);
  });

  it('colours only its own labels when asked', () => {
    const coloured = renderText(makeReport(BENIGN), RULES, true);
    expect(coloured).toContain('\x1b[1;31mCRITICAL');
    expect(coloured).toContain('\x1b[0m');
    // eslint-disable-next-line no-control-regex -- stripping ANSI colour codes
    expect(coloured.replace(/\x1b\[[\d;]*m/g, '')).toBe(renderText(makeReport(BENIGN), RULES, false));
  });
});

describe('JSON', () => {
  it('is the report object: it round-trips, with schemaVersion 1 and a findings array', () => {
    const output = renderReport(report, 'json', RULES);
    expect(output.endsWith('\n')).toBe(true);
    const parsed = JSON.parse(output) as AuditReport;
    expect(parsed).toEqual(report);
    expect(parsed.schemaVersion).toBe(1);
    expect(Array.isArray(parsed.findings)).toBe(true);
    expect(parsed.findings.map((item) => item.message)).toEqual(report.findings.map((item) => item.message));
    // Hostile text survives exactly (escaped by JSON, not altered).
    expect(parsed.findings[0]!.evidence).toBe(EVIL);
  });

  it('cuts every body to REPORT_BODY_LIMIT characters, so a crawl of large pages still renders (60 pages of 2 MiB of control characters)', () => {
    // Each \x01 is six characters in JSON: the whole bodies would pass the longest string V8 can build.
    const body = '\x01'.repeat(2 * 1024 * 1024);
    const exchanges = Array.from({ length: 60 }, (_, index) => {
      const page = exchange(index, `${ORIGIN}/p${index}`, 'link');
      return { ...page, request: { ...page.request, body }, response: { ...page.response, body } };
    });
    const output = renderReport({ ...report, exchanges }, 'json', RULES);
    expect(output.length).toBeLessThan(60 * REPORT_BODY_LIMIT * 6 * 2 + 100_000);
    const parsed = JSON.parse(output) as AuditReport;
    expect(parsed.exchanges).toHaveLength(60);
    for (const kept of parsed.exchanges) {
      expect(kept.response.body).toBe(body.slice(0, REPORT_BODY_LIMIT));
      expect(kept.response.truncated).toBe(true);
      expect(kept.request.body).toHaveLength(REPORT_BODY_LIMIT);
    }
  });
});

describe('SARIF 2.1.0', () => {
  const LEVELS = new Set(['error', 'warning', 'note', 'none']);
  const EXPECTED_LEVEL: Record<Severity, string> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };

  interface SarifRule {
    id: string;
    name?: string;
    shortDescription: { text: string };
    fullDescription?: { text: string };
    help?: { text: string; markdown?: string };
    defaultConfiguration?: { level: string };
    properties?: { 'security-severity'?: string; tags?: string[] };
  }
  interface SarifResult {
    ruleId: string;
    ruleIndex?: number;
    level: string;
    message: { text: string };
    locations: { physicalLocation: { artifactLocation: { uri: string } } }[];
    partialFingerprints: Record<string, string>;
    properties?: Record<string, unknown>;
  }
  interface SarifLog {
    $schema: string;
    version: string;
    runs: { tool: { driver: { name: string; version?: string; informationUri?: string; rules: SarifRule[] } }; invocations?: { executionSuccessful: boolean; toolExecutionNotifications?: { level: string; message: { text: string } }[] }[]; results: SarifResult[] }[];
  }

  const output = renderReport(report, 'sarif', RULES);
  const log = JSON.parse(output) as SarifLog;

  it('has the log essentials: version, $schema, one run with a named driver', () => {
    expect(log).toEqual(renderSarif(report, RULES));
    expect(log.version).toBe('2.1.0');
    expect(log.$schema).toMatch(/sarif-2\.1\.0(-rtm\.\d+)?\.json$/);
    expect(log.runs).toHaveLength(1);
    expect(log.runs[0]!.tool.driver.name).toBe('rampart audit');
    expect(log.runs[0]!.tool.driver.version).toBe('0.1.0');
  });

  it('lists the whole catalogue as rules with unique ids, descriptions, levels and security severities', () => {
    const rules = log.runs[0]!.tool.driver.rules;
    expect(rules.map((rule) => rule.id)).toEqual([...RULES.keys()]);
    expect(new Set(rules.map((rule) => rule.id)).size).toBe(rules.length);
    for (const rule of rules) {
      expect(rule.id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
      expect(rule.shortDescription.text.length).toBeGreaterThan(0);
      expect(LEVELS.has(rule.defaultConfiguration!.level)).toBe(true);
      expect(rule.defaultConfiguration!.level).toBe(EXPECTED_LEVEL[RULES.get(rule.id)!.severity]);
      expect(Number(rule.properties!['security-severity'])).toBeGreaterThanOrEqual(0);
      expect(Number(rule.properties!['security-severity'])).toBeLessThanOrEqual(10);
      expect(rule.properties!.tags).toContain('security');
      expect(rule.help!.text).toContain(RULES.get(rule.id)!.fix.flask);
    }
  });

  it('has one result per finding: ruleId in the rules, ruleIndex pointing at it, a level, a message, a location URI and a fingerprint', () => {
    const run = log.runs[0]!;
    const ids = run.tool.driver.rules.map((rule) => rule.id);
    expect(run.results).toHaveLength(report.findings.length);
    for (const [position, result] of run.results.entries()) {
      const source = report.findings[position]!;
      expect(ids).toContain(result.ruleId);
      expect(result.ruleIndex).toBe(ids.indexOf(result.ruleId));
      expect(run.tool.driver.rules[result.ruleIndex!]!.id).toBe(result.ruleId);
      expect(LEVELS.has(result.level)).toBe(true);
      expect(result.level).toBe(EXPECTED_LEVEL[source.severity]);
      expect(result.message.text).toBe(source.message);
      expect(result.locations.length).toBeGreaterThan(0);
      const uri = result.locations[0]!.physicalLocation.artifactLocation.uri;
      expect(uri).toBe(source.url);
      // A valid absolute URI (a uri-reference in the schema).
      expect(new URL(uri).href).toBe(uri);
      expect(uri).not.toMatch(/[\s<>"{}|\\^`]/);
      const fingerprints = Object.entries(result.partialFingerprints);
      expect(fingerprints.length).toBeGreaterThan(0);
      for (const [name, value] of fingerprints) {
        expect(name).toMatch(/^[\w.-]+\/v\d+$/);
        expect(typeof value).toBe('string');
        expect(value.length).toBeGreaterThan(0);
      }
    }
    const prints = run.results.map((result) => JSON.stringify(result.partialFingerprints));
    expect(new Set(prints).size).toBe(prints.length);
  });

  it('reports scan errors as notifications of an unsuccessful invocation', () => {
    const invocation = log.runs[0]!.invocations![0]!;
    expect(invocation.executionSuccessful).toBe(false);
    expect(invocation.toolExecutionNotifications!.map((notification) => notification.message.text)).toEqual(report.errors);
    expect(LEVELS.has(invocation.toolExecutionNotifications![0]!.level)).toBe(true);
  });
});

/** A parsed XML element. */
interface XmlElement {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly children: XmlElement[];
  /** The decoded character data directly inside it. */
  text: string;
}

/**
 * A strict little XML 1.0 parser (no DTD): throws on anything not well-formed that a
 * JUnit report could contain by mistake: characters XML cannot hold (even as references),
 * a raw `<` or `&` in text or attribute values, `]]>` in text, unknown entities,
 * mismatched or unclosed tags, duplicate attributes, more than one root.
 */
function parseXml(source: string): XmlElement {
  const char = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;
  const bad = char.exec(source);
  if (bad) throw new Error(`character U+${bad[0].charCodeAt(0).toString(16)} at ${bad.index} is not allowed in XML 1.0`);
  const name = /^[A-Za-z_:][\w.:-]*/;
  const decode = (text: string, where: string): string =>
    text.replace(/&([^;]*);?/g, (whole, body: string) => {
      if (!whole.endsWith(';')) throw new Error(`a raw & in ${where}: ${JSON.stringify(text.slice(0, 80))}`);
      const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
      if (body in named) return named[body]!;
      const number = /^#(\d+)$/.exec(body)?.[1] ?? (/^#x([\da-fA-F]+)$/.exec(body) ? String(parseInt(body.slice(2), 16)) : undefined);
      if (number === undefined) throw new Error(`unknown entity &${body}; in ${where}`);
      const decoded = String.fromCodePoint(Number(number));
      if (char.test(decoded)) throw new Error(`&${body}; refers to a character XML cannot hold`);
      return decoded;
    });
  let position = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  if (source.startsWith('<?xml')) {
    const end = source.indexOf('?>');
    if (end === -1 || !/^<\?xml version="1\.0"( encoding="UTF-8")?\?>$/.test(source.slice(0, end + 2))) throw new Error('bad XML declaration');
    position = end + 2;
  }
  while (position < source.length) {
    const next = source.indexOf('<', position);
    const text = source.slice(position, next === -1 ? source.length : next);
    if (text.includes(']]>')) throw new Error(`]]> in text: ${JSON.stringify(text.slice(0, 80))}`);
    if (text.includes('>') && stack.length === 0) throw new Error('text outside the root element');
    const decoded = decode(text, 'text');
    if (stack.length === 0) {
      if (decoded.trim() !== '') throw new Error(`text outside the root element: ${JSON.stringify(decoded.slice(0, 80))}`);
    } else stack.at(-1)!.text += decoded;
    if (next === -1) break;
    position = next;
    if (source.startsWith('<!--', position)) {
      const end = source.indexOf('-->', position + 4);
      if (end === -1 || source.slice(position + 4, end).includes('--')) throw new Error('bad comment');
      position = end + 3;
    } else if (source.startsWith('<![CDATA[', position)) {
      if (stack.length === 0) throw new Error('CDATA outside the root element');
      const end = source.indexOf(']]>', position);
      if (end === -1) throw new Error('unclosed CDATA section');
      stack.at(-1)!.text += source.slice(position + 9, end);
      position = end + 3;
    } else if (source.startsWith('</', position)) {
      const match = /^<\/([A-Za-z_:][\w.:-]*)\s*>/.exec(source.slice(position));
      if (!match) throw new Error(`bad end tag at ${position}`);
      const open = stack.pop();
      if (open?.name !== match[1]) throw new Error(`</${match[1]}> closes <${open?.name ?? 'nothing'}>`);
      position += match[0].length;
    } else {
      position++;
      const tag = name.exec(source.slice(position));
      if (!tag) throw new Error(`a raw < at ${position - 1}: ${JSON.stringify(source.slice(position - 1, position + 40))}`);
      position += tag[0].length;
      const element: XmlElement = { name: tag[0], attributes: {}, children: [], text: '' };
      for (;;) {
        const space = /^\s*/.exec(source.slice(position))![0];
        position += space.length;
        if (source.startsWith('/>', position) || source.startsWith('>', position)) break;
        if (space === '') throw new Error(`no space before an attribute of <${element.name}> at ${position}`);
        const attribute = /^([A-Za-z_:][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(source.slice(position));
        if (!attribute) throw new Error(`bad attribute in <${element.name}> at ${position}: ${JSON.stringify(source.slice(position, position + 60))}`);
        if (attribute[1]! in element.attributes) throw new Error(`duplicate attribute ${attribute[1]} in <${element.name}>`);
        element.attributes[attribute[1]!] = decode(attribute[3] ?? attribute[4]!, `attribute ${attribute[1]}`);
        position += attribute[0].length;
      }
      if (stack.length > 0) stack.at(-1)!.children.push(element);
      else if (root === undefined) root = element;
      else throw new Error('a second root element');
      if (source.startsWith('/>', position)) position += 2;
      else {
        position += 1;
        stack.push(element);
      }
    }
  }
  if (stack.length > 0) throw new Error(`<${stack.at(-1)!.name}> is never closed`);
  if (!root) throw new Error('no root element');
  return root;
}

describe('the strict XML check itself', () => {
  it('accepts well-formed XML and refuses the usual mistakes', () => {
    expect(parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<a x="1 &amp; 2"><b/>t&#60;&#x3e;<!-- c --><![CDATA[<raw>]]></a>\n').text).toBe('t<><raw>');
    for (const broken of ['<a>1 < 2</a>', '<a>AT&T</a>', '<a x="<"/>', '<a>]]></a>', '<a>\u0001</a>', '<a>&#1;</a>', '<a><b></a></b>', '<a/><b/>', '<a x="1" x="2"/>', '<a>&nbsp;</a>', '<a>']) {
      expect(() => parseXml(broken), broken).toThrow();
    }
  });
});

describe('JUnit', () => {
  const output = renderReport(report, 'junit', RULES);

  it('is well-formed XML: no raw < or & in text, no control characters, no ]]> in text', () => {
    expect(output).toBe(renderJunit(report, RULES));
    expect(() => parseXml(output)).not.toThrow();
  });

  it('has a test suite per practice and a test case per rule, with consistent counts', () => {
    const root = parseXml(output);
    expect(root.name).toBe('testsuites');
    const suites = root.children;
    expect(suites.map((suite) => suite.name)).toEqual(PRACTICES.map(() => 'testsuite'));
    expect(suites.map((suite) => suite.attributes.name)).toEqual(PRACTICES.map((practice) => practice.title));
    let tests = 0;
    let failures = 0;
    for (const [position, suite] of suites.entries()) {
      const practice = PRACTICES[position]!.id;
      const cases = suite.children;
      expect(cases.every((testcase) => testcase.name === 'testcase')).toBe(true);
      expect(cases.map((testcase) => testcase.attributes.name!.split(':')[0])).toEqual([...RULES.values()].filter((rule) => rule.practice === practice).map((rule) => rule.id));
      const failed = cases.filter((testcase) => testcase.children.some((child) => child.name === 'failure'));
      const skipped = cases.filter((testcase) => testcase.children.some((child) => child.name === 'skipped'));
      expect(Number(suite.attributes.tests)).toBe(cases.length);
      expect(Number(suite.attributes.failures)).toBe(failed.length);
      expect(Number(suite.attributes.skipped)).toBe(skipped.length);
      expect(Number(suite.attributes.errors)).toBe(0);
      // A failing test case per rule with findings in this practice.
      const ruled = new Set(report.findings.filter((item) => RULES.get(item.ruleId)!.practice === practice).map((item) => item.ruleId));
      expect(failed.map((testcase) => testcase.attributes.name!.split(':')[0]).sort()).toEqual([...ruled].sort());
      tests += cases.length;
      failures += failed.length;
    }
    expect(Number(root.attributes.tests)).toBe(tests);
    expect(Number(root.attributes.failures)).toBe(failures);
    expect(tests).toBe(RULES.size);
    // The not-assessed practice skips its rules without findings, with its note as the message.
    const https = suites[PRACTICES.findIndex((practice) => practice.id === 'https')]!;
    expect(Number(https.attributes.skipped)).toBe(https.children.length - 1);
    expect(https.children.find((testcase) => testcase.children[0]?.name === 'skipped')!.children[0]!.attributes.message).toContain('note <script>alert("x")</script>');
  });

  it('keeps the hostile text, escaped (only the characters XML cannot hold are dropped)', () => {
    const root = parseXml(output);
    const xss = root.children.flatMap((suite) => suite.children).find((testcase) => testcase.attributes.name!.startsWith('xss-reflected:'))!;
    const failure = xss.children[0]!;
    expect(failure.name).toBe('failure');
    expect(failure.attributes.type).toBe('high');
    expect(failure.attributes.message).toContain(`<script>alert("x")</script><img src=x onerror=alert(1)> ' " ]]> <![CDATA[ &amp; & &#0; <!-- -->`);
    expect(failure.text).toContain(`seen: <script>alert("x")</script>`);
    expect(failure.text).toContain('\ud83d\ude00 𝒳 é 日本');
    expect(failure.text).toContain(`Fix (Flask): ${RULES.get('xss-reflected')!.fix.flask}`);
    expect(root.attributes.name).toBe(`rampart audit of ${report.target}`);
  });
});

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];

function elements(node: Node): Element[] {
  const found: Element[] = [];
  const visit = (current: Node): void => {
    if ('tagName' in current) found.push(current);
    if ('childNodes' in current) for (const child of current.childNodes) visit(child);
    if ('content' in current && current.content) visit(current.content as Node);
  };
  visit(node);
  return found;
}

function textOf(node: Node): string {
  if (node.nodeName === '#text') return (node as DefaultTreeAdapterMap['textNode']).value;
  return 'childNodes' in node ? node.childNodes.map(textOf).join('') : '';
}

/** The shape of the page: each element with its attribute names and values (text left out). */
function shape(page: string): string[] {
  const document = parseHtml(page);
  return elements(document).map((element) => `${element.tagName}[${element.attrs.map((attribute) => `${attribute.name}=${attribute.value}`).join(' ')}]`);
}

describe('HTML', () => {
  const output = renderReport(report, 'html', RULES);
  const parseErrors: string[] = [];
  const document = parseHtml(output, { onParseError: (error) => parseErrors.push(`${error.code} at ${error.startOffset}`) });
  const all = elements(document);

  it('is what renderHtml makes, and parses as HTML without structural errors', () => {
    expect(output).toBe(renderHtml(report, RULES));
    // Control and non-characters of the site are reported by the parser but change no structure.
    expect(parseErrors.filter((error) => !/^(control-character|noncharacter)-in-input-stream /.test(error))).toEqual([]);
  });

  it('makes no element or attribute of the hostile text: same structure as the same report with harmless text', () => {
    expect(shape(output)).toEqual(shape(renderHtml(makeReport(BENIGN), RULES)));
    expect(all.filter((element) => ['script', 'img', 'iframe', 'object', 'embed', 'link', 'base', 'form', 'svg', 'math'].includes(element.tagName)).map((element) => element.tagName)).toEqual([]);
    expect(all.flatMap((element) => element.attrs.filter((attribute) => /^on/i.test(attribute.name) || /^(src|href|action|srcset)$/i.test(attribute.name)))).toEqual([]);
    // No comment could be opened by the site either.
    expect(output).not.toContain('<!--');
  });

  it('shows the hostile text as text', () => {
    const body = textOf(document);
    expect(body).toContain(`<script>alert("x")</script><img src=x onerror=alert(1)> ' " ]]> <![CDATA[ &amp; & &#0; <!-- -->`);
    expect(body).toContain('\ud83d\ude00 𝒳 é 日本');
    expect(body).toContain(`note <script>alert("x")</script>`);
    expect(body).toContain(`result <script>alert("x")</script>`);
    expect(body).toContain(`Werkzeug/2.2.2 <script>`);
    const title = all.find((element) => element.tagName === 'title')!;
    expect(textOf(title)).toBe(`rampart audit: ${report.target}`);
  });

  it('is self-contained with its own CSP: a meta in the head, default-src none, no script allowed, nothing loaded', () => {
    const head = all.find((element) => element.tagName === 'head')!;
    const metas = elements(head).filter((element) => element.tagName === 'meta' && element.attrs.some((attribute) => attribute.name === 'http-equiv' && attribute.value.toLowerCase() === 'content-security-policy'));
    expect(metas).toHaveLength(1);
    const policy = metas[0]!.attrs.find((attribute) => attribute.name === 'content')!.value;
    const directives = new Map(policy.split(';').map((part) => part.trim().split(/\s+/)).filter((tokens) => tokens[0]).map((tokens) => [tokens[0]!.toLowerCase(), tokens.slice(1)]));
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.has('script-src')).toBe(false);
    expect([...directives.keys()].every((directive) => ['default-src', 'style-src', 'img-src', 'base-uri', 'form-action'].includes(directive))).toBe(true);
    // The policy comes before anything it governs.
    const headChildren = head.childNodes.filter((node): node is Element => 'tagName' in node).map((element) => element.tagName);
    expect(headChildren.indexOf('meta', 1)).toBeLessThan(headChildren.indexOf('style'));
    expect(all.some((element) => element.tagName === 'script')).toBe(false);
    expect(output).not.toMatch(/<script/i);
    expect(output).not.toMatch(/javascript:/i);
  });

  it('has a grade card: the grade, the target and the checklist score', () => {
    const card = all.find((element) => element.attrs.some((attribute) => attribute.name === 'class' && attribute.value.split(' ').includes('card')))!;
    expect(card).toBeDefined();
    const grade = elements(card).find((element) => element.attrs.some((attribute) => attribute.name === 'class' && attribute.value.split(' ').includes('grade')))!;
    expect(textOf(grade)).toBe('F');
    expect(grade.attrs.find((attribute) => attribute.name === 'class')!.value).toBe('grade g-F');
    expect(textOf(card)).toContain(report.target);
    expect(textOf(card)).toContain('Checklist score 0/100');
    expect(textOf(card)).toContain('Observatory 1.4.8 compatible: F (0)');
    for (const practice of PRACTICES) expect(textOf(document)).toContain(practice.title);
  });

  it('gives every grade letter a card colour class the stylesheet defines', () => {
    const style = textOf(all.find((element) => element.tagName === 'style')!);
    for (const grade of ['A+', 'A', 'B-', 'C+', 'D', 'F'] as const) {
      const page = renderHtml({ ...report, checklist: { ...report.checklist, grade } }, RULES);
      const className = /<div class="grade (g-[A-F])">/.exec(page)?.[1];
      expect(className, grade).toBeDefined();
      expect(style).toContain(`.${className!} {`);
    }
  });
});

describe('renderReport', () => {
  it('knows exactly the formats of --format', () => {
    expect([...REPORT_FORMATS].sort()).toEqual(['html', 'json', 'junit', 'sarif', 'text']);
    for (const format of REPORT_FORMATS) expect(renderReport(report, format, RULES).length).toBeGreaterThan(0);
    expect(renderReport(report, 'text', RULES)).toBe(renderText(report, RULES, false));
  });
});
