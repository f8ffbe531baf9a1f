/**
 * The `rampart` command as CI runs it: `node dist/cli/index.js` in a child process
 * (build first: `npm run build`). Help, argument errors (exit 3 naming the option), an
 * unreachable target (exit 3), the violating Flask app (exit 1 at the default
 * `--fail-on high`, `--fail-on`, `--min-grade`, `--baseline`, every `--format` written
 * to `--output`), authentication headers and cookies reaching the site (and nothing
 * else), a hostile page that must not drive the terminal, and the reference app over
 * plain HTTP.
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseHtml, type DefaultTreeAdapterMap } from 'parse5';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/audit/types.ts';
import { startFlask, type FlaskFixture } from '../support/flask.ts';
import { closeServer, listen, startTarget, testOptions, type Target } from '../support/targets.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/cli/index.js');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** Fast scans: loopback servers can take it. */
const FAST = ['--rate', '1000'];

/** The built CLI must exist and be at least as new as the sources it is built from. */
function checkBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${relative(ROOT, CLI)} is missing: these tests run the built command. Run \`npm run build\` first.`);
  const stale: string[] = [];
  for (const folder of ['src/cli', 'src/audit']) {
    const walk = (directory: string): void => {
      for (const entry of readdirSync(join(ROOT, directory), { withFileTypes: true })) {
        const path = `${directory}/${entry.name}`;
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
          const built = join(ROOT, path.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js'));
          if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(ROOT, path)).mtimeMs) stale.push(path);
        }
      }
    };
    walk(folder);
  }
  if (stale.length > 0) throw new Error(`dist/ is older than ${stale.join(', ')}: run \`npm run build\` first.`);
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `rampart …args`, without a terminal (so no progress display, no colour). */
function rampart(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const SCRIPT = '/usr/bin/script';

/** `rampart …args` on a pseudo-terminal (util-linux `script`): stdout and stderr arrive mixed, as a user sees them. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  if (!existsSync(SCRIPT)) throw new Error(`The terminal tests run the command under ${SCRIPT} (a pseudo-terminal). Install it with \`apt-get install -y util-linux\`.`);
  const quote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, ['-qec', command, '/dev/null'], { cwd: ROOT, env: { ...env, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** For failure messages: what the command printed. */
function shown(run: Run): string {
  return `exit ${run.code}\n--- stdout ---\n${run.stdout.slice(0, 3000)}\n--- stderr ---\n${run.stderr.slice(0, 3000)}`;
}

/** A well-formedness check of XML (no DTD), strict where a JUnit file could go wrong; returns the root's name and attributes. */
function checkXml(source: string): { name: string; attributes: Record<string, string>; elements: string[] } {
  const bad = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u.exec(source);
  if (bad) throw new Error(`U+${bad[0].charCodeAt(0).toString(16)} cannot be in XML`);
  const body = source.replace(/^<\?xml version="1\.0" encoding="UTF-8"\?>/, '');
  const stack: string[] = [];
  const elements: string[] = [];
  let root: { name: string; attributes: Record<string, string> } | undefined;
  const token = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  for (const match of body.matchAll(token)) {
    const [, closing, name, attributes, selfClosing, text, stray] = match;
    if (stray !== undefined) throw new Error(`a raw < or a bad tag at ${match.index}: ${JSON.stringify(body.slice(match.index, match.index + 60))}`);
    if (text !== undefined) {
      if (stack.length === 0 && text.trim() !== '') throw new Error('text outside the root');
      if (text.includes(']]>')) throw new Error(']]> in text');
      for (const reference of text.matchAll(/&[^;]*;?/g)) if (!/^&(lt|gt|amp|quot|apos|#\d+|#x[\da-fA-F]+);$/.test(reference[0])) throw new Error(`bad reference ${reference[0]}`);
      continue;
    }
    for (const reference of (attributes ?? '').matchAll(/&[^;"]*;?/g)) if (!/^&(lt|gt|amp|quot|apos|#\d+|#x[\da-fA-F]+);$/.test(reference[0])) throw new Error(`bad reference ${reference[0]} in <${name}>`);
    if (closing) {
      if (stack.pop() !== name) throw new Error(`</${name}> does not close the open element`);
      continue;
    }
    elements.push(name!);
    if (stack.length === 0) {
      if (root) throw new Error('two roots');
      const parsed: Record<string, string> = {};
      for (const attribute of (attributes ?? '').matchAll(/([\w.:-]+)="([^"]*)"/g)) parsed[attribute[1]!] = attribute[2]!;
      root = { name: name!, attributes: parsed };
    }
    if (!selfClosing) stack.push(name!);
  }
  if (stack.length > 0 || !root) throw new Error(`unclosed <${stack.at(-1)}> or no root`);
  return { ...root, elements };
}

type Element = DefaultTreeAdapterMap['element'];

function htmlElements(page: string): Element[] {
  const found: Element[] = [];
  const visit = (node: DefaultTreeAdapterMap['node']): void => {
    if ('tagName' in node) found.push(node);
    if ('childNodes' in node) for (const child of node.childNodes) visit(child);
  };
  visit(parseHtml(page));
  return found;
}

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** A tiny site that records every request it gets. */
async function recordingServer(handler: (url: string, respond: (status: number, headers: Record<string, string>, body: string) => void) => void): Promise<{ url: string; requests: Recorded[]; server: Server }> {
  const requests: Recorded[] = [];
  const server = createServer((request, response) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    request.resume();
    handler(request.url ?? '/', (status, headers, body) => {
      response.writeHead(status, headers);
      response.end(request.method === 'HEAD' ? undefined : body);
    });
  });
  const url = await listen(server);
  return { url, requests, server };
}

const directory = mkdtempSync(join(tmpdir(), 'rampart-cli-test-'));
const file = (name: string): string => join(directory, name);

beforeAll(() => {
  checkBuild();
});

afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

describe('help and version', () => {
  /** The options `rampart audit` parses, read from its source so a new option cannot go undocumented. */
  const parsedOptions = (): string[] => {
    const source = readFileSync(join(ROOT, 'src/cli/audit.ts'), 'utf8');
    const block = /options: \{\n([\s\S]*?)\n {4}\},\n {2}\}\);/.exec(source)?.[1];
    if (block === undefined) throw new Error('could not find the parseArgs options in src/cli/audit.ts');
    // --help is the usage itself.
    return [...block.matchAll(/^\s+'?([a-z][a-z-]*)'?: \{ type:/gm)].map((match) => `--${match[1]}`).filter((option) => option !== '--help');
  };

  it('rampart --help exits 0 and explains the command and its options', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const run = await rampart(flag);
      expect(run.code, shown(run)).toBe(0);
      expect(run.stdout).toMatch(/^Usage: rampart <command>/);
      expect(run.stdout).toContain('audit <url>');
      expect(run.stdout).toContain('rampart audit --help');
      for (const option of ['-h, --help', '-v, --version']) expect(run.stdout).toContain(option);
      expect(run.stderr).toBe('');
    }
  });

  it('rampart --version prints the package version', async () => {
    const run = await rampart('--version');
    expect(run.code, shown(run)).toBe(0);
    expect(run.stdout.trim()).toBe(VERSION);
  });

  it('rampart with no command or an unknown one exits 3 with the usage', async () => {
    const none = await rampart();
    expect(none.code, shown(none)).toBe(3);
    expect(none.stdout + none.stderr).toContain('Usage: rampart <command>');
    const unknown = await rampart('scan', 'http://127.0.0.1/');
    expect(unknown.code, shown(unknown)).toBe(3);
    expect(unknown.stderr).toContain('unknown command "scan"');
  });

  it('rampart audit --help (and rampart help audit) exits 0 and explains every option, format, severity and exit code', async () => {
    const options = parsedOptions();
    // The options of the spec (issue 8), whatever the parser holds.
    for (const option of ['--active', '--format', '--output', '--fail-on', '--min-grade', '--baseline', '--header', '--cookie', '--ca-file', '--max-requests', '--rate', '--timeout', '--http-port', '--https-port']) expect(options).toContain(option);
    for (const args of [['audit', '--help'], ['audit', '-h'], ['help', 'audit'], ['audit', 'http://127.0.0.1:1/', '--help']]) {
      const run = await rampart(...args);
      expect(run.code, `${args.join(' ')}\n${shown(run)}`).toBe(0);
      expect(run.stdout).toMatch(/^Usage: rampart audit <url> \[options\]/);
      for (const option of options) {
        // Each option on a line of its own, with an explanation after it.
        expect(run.stdout, option).toMatch(new RegExp(`^ {2}${option}(?: <[a-z]+>| "[^"]+")? {2,}\\S`, 'm'));
      }
      for (const word of ['text', 'json', 'sarif', 'junit', 'html', 'critical', 'high', 'medium', 'low', 'info', 'none']) expect(run.stdout).toMatch(new RegExp(`\\b${word}\\b`));
      expect(run.stdout).toContain('Exit codes: 0 clean, 1 findings (or grade) over the thresholds, 3 scan error.');
    }
  });
});

describe('argument errors exit 3 with a message naming the option', () => {
  // A target nobody listens on: if an argument were wrongly accepted, the exit would still be 3 but the message would not name it.
  const nowhere = 'http://127.0.0.1:1/';
  const cases: [args: string[], expected: RegExp][] = [
    [['audit', '--bogus', nowhere], /--bogus/],
    [['audit', '--format', 'xml', nowhere], /--format xml: use one of text, json, sarif, junit, html/],
    [['audit', nowhere, '--format'], /--format/],
    [['audit', '--fail-on', 'severe', nowhere], /--fail-on severe: use one of critical, high, medium, low, info or none/],
    [['audit', '--min-grade', 'E', nowhere], /--min-grade E: use one of A\+, A, /],
    [['audit', '--min-grade', 'a', nowhere], /--min-grade a/],
    [['audit', '--max-requests', '0', nowhere], /--max-requests 0/],
    [['audit', '--rate', 'fast', nowhere], /--rate fast/],
    [['audit', '--timeout', '1.5', nowhere], /--timeout 1\.5/],
    [['audit', '--https-port', '70000', nowhere], /--https-port 70000/],
    [['audit', '--header', 'no colon', nowhere], /--header "no colon"/],
    [['audit', '--ca-file', file('missing.pem'), nowhere], /--ca-file .*missing\.pem/],
    [['audit', '--baseline', file('missing.json'), nowhere], /--baseline .*missing\.json/],
    [['audit', '--active=yes', nowhere], /--active/],
  ];

  for (const [args, expected] of cases) {
    it(`rampart ${args.join(' ')}`, async () => {
      const run = await rampart(...args);
      expect(run.code, shown(run)).toBe(3);
      expect(run.stderr).toMatch(expected);
      expect(run.stdout).toBe('');
      // A message, not a stack trace.
      expect(run.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    });
  }

  it('a missing URL, two URLs, or a URL that is not http(s)', async () => {
    const missing = await rampart('audit');
    expect(missing.code, shown(missing)).toBe(3);
    expect(missing.stderr).toMatch(/give the URL to audit/);
    expect(missing.stderr).toContain('rampart audit --help');
    const two = await rampart('audit', nowhere, 'http://127.0.0.1:2/');
    expect(two.code, shown(two)).toBe(3);
    expect(two.stderr).toMatch(/one URL at a time/);
    const relativeUrl = await rampart('audit', 'example.com');
    expect(relativeUrl.code, shown(relativeUrl)).toBe(3);
    expect(relativeUrl.stderr).toMatch(/"example\.com" is not a URL/);
    const ftp = await rampart('audit', 'ftp://127.0.0.1/');
    expect(ftp.code, shown(ftp)).toBe(3);
    expect(ftp.stderr).toMatch(/ftp: URLs cannot be audited/);
  });

  it('a --baseline that is not a JSON report of rampart audit', async () => {
    writeFileSync(file('not-a-report.json'), '{"results": []}');
    const run = await rampart('audit', '--baseline', file('not-a-report.json'), nowhere);
    expect(run.code, shown(run)).toBe(3);
    expect(run.stderr).toMatch(/--baseline .*not-a-report\.json: not a JSON report of rampart audit \(it has no findings array\)/);
  });
});

describe('an unreachable target', () => {
  it('exits 3, says why, and writes no report', async () => {
    // A port that was free a moment ago.
    const probe = createServer();
    const url = await listen(probe);
    await closeServer(probe);
    const run = await rampart('audit', `${url}/`, '--format', 'json', '--output', file('unreachable.json'), '--timeout', '2');
    expect(run.code, shown(run)).toBe(3);
    expect(run.stderr).toContain(`${url}/ could not be reached`);
    expect(run.stderr).toMatch(/connection refused/);
    expect(existsSync(file('unreachable.json'))).toBe(false);
  });
});

describe('the violating Flask app (plain HTTP)', () => {
  let flask: FlaskFixture;
  let target: string;
  let baseline: AuditReport;

  beforeAll(async () => {
    flask = await startFlask('violating');
    target = `${flask.url}/`;
  });
  afterAll(async () => {
    await flask?.stop();
  });

  it('exits 1 with the default --fail-on high, printing the text report grouped by practice', async () => {
    const before = await flask.state();
    const run = await rampart('audit', target, ...FAST);
    expect(run.code, shown(run)).toBe(1);
    expect(run.stdout).toContain(`rampart audit of ${target}`);
    expect(run.stdout).toMatch(/^Checklist grade F \(\d+\/100\)/m);
    for (const heading of ['2. CSRF protection', '4. Cookies', '5. Security headers', 'Debug pages and version leaks']) expect(run.stdout).toMatch(new RegExp(`^${heading.replace('.', '\\.')} \\.+ FAIL$`, 'm'));
    expect(run.stdout).toContain('fix (Flask):');
    expect(run.stdout).toContain('fix (rampart):');
    expect(run.stderr).toMatch(/^rampart audit: failing: \d+ findings at or above high\.$/m);
    // Passive: the app's state did not change, and no POST was sent.
    expect(await flask.state()).toEqual(before);
    expect(Object.keys(await flask.requests()).filter((route) => !/^(GET|HEAD|OPTIONS) /.test(route))).toEqual([]);
  });

  it('exits 0 with --fail-on none, and 1 with --fail-on critical (the Werkzeug debugger)', async () => {
    const none = await rampart('audit', target, ...FAST, '--fail-on', 'none');
    expect(none.code, shown(none)).toBe(0);
    expect(none.stderr).toBe('');
    const critical = await rampart('audit', target, ...FAST, '--fail-on', 'critical');
    expect(critical.code, shown(critical)).toBe(1);
    expect(critical.stderr).toContain('rampart audit: failing: 1 finding at or above critical.');
  });

  it('--min-grade F passes, --min-grade A fails (with --fail-on none)', async () => {
    const lowest = await rampart('audit', target, ...FAST, '--fail-on', 'none', '--min-grade', 'F');
    expect(lowest.code, shown(lowest)).toBe(0);
    const top = await rampart('audit', target, ...FAST, '--fail-on', 'none', '--min-grade', 'A');
    expect(top.code, shown(top)).toBe(1);
    expect(top.stderr).toContain('rampart audit: failing: grade F is below A.');
  });

  it('--format json --output FILE writes the JSON report (schema version 1, findings) and prints a summary with the grade', async () => {
    const run = await rampart('audit', target, ...FAST, '--format', 'json', '--output', file('violating.json'));
    expect(run.code, shown(run)).toBe(1);
    baseline = JSON.parse(readFileSync(file('violating.json'), 'utf8')) as AuditReport;
    expect(baseline.schemaVersion).toBe(1);
    expect(baseline.tool).toEqual({ name: 'rampart audit', version: VERSION });
    expect(baseline.target).toBe(target);
    expect(baseline.findings.length).toBeGreaterThan(5);
    expect(baseline.checklist.grade).toBe('F');
    expect(baseline.findings.map((finding) => finding.ruleId)).toEqual(expect.arrayContaining(['debug-page', 'form-no-csrf-token', 'cookie-session-no-secure', 'cookie-session-no-httponly', 'csp-missing', 'http-no-redirect']));
    // The terminal still gets a summary: the target, the grade, where the report went.
    expect(run.stdout).toContain(`rampart audit of ${target}`);
    expect(run.stdout).toContain(`Report written to ${file('violating.json')}.`);
    expect(run.stdout, 'the summary printed with --output should include the grade line').toMatch(/^Checklist grade F /m);
  });

  it('reports each finding once (unique fingerprints)', () => {
    const fingerprints = baseline.findings.map((finding) => finding.fingerprint);
    const repeated = fingerprints.filter((fingerprint, position) => fingerprints.indexOf(fingerprint) !== position);
    expect(repeated, 'findings reported twice').toEqual([]);
  });

  it('--baseline with the JSON report of the same target exits 0; a finding not in it fails again', async () => {
    const same = await rampart('audit', target, ...FAST, '--baseline', file('violating.json'));
    expect(same.code, shown(same)).toBe(0);
    expect(same.stderr).toBe('');
    // The report itself still lists every finding: the baseline only decides the exit code.
    expect(same.stdout).toContain('debug-page:');
    const without = { ...baseline, findings: baseline.findings.filter((finding) => finding.ruleId !== 'debug-page') };
    writeFileSync(file('without-debug.json'), JSON.stringify(without));
    const run = await rampart('audit', target, ...FAST, '--baseline', file('without-debug.json'));
    expect(run.code, shown(run)).toBe(1);
    expect(run.stderr).toContain('rampart audit: failing: 1 finding at or above high not in the baseline.');
    // The grade still counts with a baseline.
    const graded = await rampart('audit', target, ...FAST, '--baseline', file('violating.json'), '--min-grade', 'B');
    expect(graded.code, shown(graded)).toBe(1);
    expect(graded.stderr).toContain('grade F is below B');
  });

  it('an --output that cannot be written is a scan error (exit 3, naming it), not a crash', async () => {
    const path = file('no-such-folder/report.json');
    const run = await rampart('audit', target, ...FAST, '--fail-on', 'none', '--format', 'json', '--output', path);
    expect(run.code, shown(run)).toBe(3);
    expect(run.stderr).toMatch(/--output .*no-such-folder\/report\.json/);
    expect(run.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  });

  it('keeps to --max-requests (at least 20: the retrieval alone needs up to a dozen), and says when the budget cut the crawl short', async () => {
    const tooSmall = await rampart('audit', target, ...FAST, '--max-requests', '5');
    expect(tooSmall.code, shown(tooSmall)).toBe(3);
    expect(tooSmall.stderr).toMatch(/--max-requests 5: expected a whole number from 20/);
    const path = file('budget-20.json');
    const run = await rampart('audit', target, ...FAST, '--fail-on', 'none', '--active', '--max-requests', '20', '--format', 'json', '--output', path);
    expect(run.code, shown(run)).toBe(0);
    const report = JSON.parse(readFileSync(path, 'utf8')) as AuditReport;
    expect(report.settings.maxRequests).toBe(20);
    expect(report.exchanges.length, report.exchanges.map((exchange) => `${exchange.reason} ${exchange.request.method} ${exchange.request.url}`).join('\n')).toBeLessThanOrEqual(20);
    // (test/audit/audit.test.ts checks the budget message on a site with more pages than the budget.)
  });

  it('on a terminal: a progress display and colours, which --no-progress, --no-color and NO_COLOR turn off', async () => {
    const plain = { ...process.env };
    delete plain.NO_COLOR;
    const coloured = await onTerminal(['audit', target, ...FAST, '--fail-on', 'none'], plain);
    expect(coloured.code, coloured.output).toBe(0);
    expect(coloured.output).toContain('\r\x1b[2Kretrieve 0/1 ');
    // eslint-disable-next-line no-control-regex -- the progress line's escape sequence
    expect(coloured.output).toMatch(/\r\x1b\[2Kcrawl \d+\/\d+ /);
    expect(coloured.output).toContain('Checklist grade \x1b[1mF\x1b[0m');
    expect(coloured.output).toContain('\x1b[1;31mCRITICAL');
    const quiet = await onTerminal(['audit', target, ...FAST, '--fail-on', 'none', '--no-progress', '--no-color'], plain);
    expect(quiet.code, quiet.output).toBe(0);
    expect(quiet.output).toContain('Checklist grade F');
    // eslint-disable-next-line no-control-regex -- no escape sequence at all
    expect(quiet.output).not.toMatch(/\x1b/);
    const noColor = await onTerminal(['audit', target, ...FAST, '--fail-on', 'none'], { ...plain, NO_COLOR: '1' });
    expect(noColor.output).toContain('\r\x1b[2Kretrieve 0/1 ');
    expect(noColor.output).toContain('Checklist grade F');
    // eslint-disable-next-line no-control-regex -- colour codes
    expect(noColor.output).not.toMatch(/\x1b\[[\d;]*m/);
  });

  it('every --format writes parseable output to --output (and -o)', async () => {
    const outputs: Record<string, string> = {};
    await Promise.all(
      ['text', 'json', 'sarif', 'junit', 'html'].map(async (format) => {
        const path = file(`violating.${format}`);
        const run = await rampart('audit', target, ...FAST, '--fail-on', 'none', '--format', format, format === 'html' ? '-o' : '--output', path);
        expect(run.code, `${format}\n${shown(run)}`).toBe(0);
        expect(run.stdout).toContain(`Report written to ${path}.`);
        outputs[format] = readFileSync(path, 'utf8');
      }),
    );

    expect(outputs.text).toMatch(/^rampart audit of /);
    expect(outputs.text).toMatch(/^Findings: .*\.$/m);
    // eslint-disable-next-line no-control-regex -- a file gets no colour codes
    expect(outputs.text).not.toMatch(/\x1b/);

    const json = JSON.parse(outputs.json!) as AuditReport;
    expect(json.schemaVersion).toBe(1);
    expect(Array.isArray(json.findings)).toBe(true);

    const sarif = JSON.parse(outputs.sarif!) as { version: string; runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; ruleIndex: number; level: string; locations: { physicalLocation: { artifactLocation: { uri: string } } }[]; partialFingerprints: Record<string, string> }[] }[] };
    expect(sarif.version).toBe('2.1.0');
    const rules = sarif.runs[0]!.tool.driver.rules.map((rule) => rule.id);
    expect(new Set(rules).size).toBe(rules.length);
    expect(sarif.runs[0]!.results.length).toBe(json.findings.length);
    for (const [index, result] of sarif.runs[0]!.results.entries()) {
      expect(rules[result.ruleIndex]).toBe(result.ruleId);
      expect(['error', 'warning', 'note']).toContain(result.level);
      expect(result.locations[0]!.physicalLocation.artifactLocation.uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
      // The same finding, in the same order, with the JSON report's fingerprint.
      expect(result.ruleId).toBe(json.findings[index]!.ruleId);
      expect(result.partialFingerprints).toEqual({ 'rampartFingerprint/v1': json.findings[index]!.fingerprint });
      expect(json.findings[index]!.fingerprint).toMatch(/\|/);
    }

    const junit = checkXml(outputs.junit!);
    expect(junit.name).toBe('testsuites');
    expect(Number(junit.attributes.failures)).toBeGreaterThan(0);
    expect(Number(junit.attributes.tests)).toBe(junit.elements.filter((name) => name === 'testcase').length);
    expect(Number(junit.attributes.failures)).toBe(junit.elements.filter((name) => name === 'failure').length);

    const elements = htmlElements(outputs.html!);
    expect(elements.some((element) => element.tagName === 'script')).toBe(false);
    const csp = elements.find((element) => element.tagName === 'meta' && element.attrs.some((attribute) => attribute.name === 'http-equiv' && attribute.value.toLowerCase() === 'content-security-policy'));
    expect(csp?.attrs.find((attribute) => attribute.name === 'content')?.value).toMatch(/^default-src 'none'/);
    expect(elements.some((element) => element.attrs.some((attribute) => attribute.name === 'class' && attribute.value === 'grade g-F'))).toBe(true);
  });
});

describe('authentication: --header and --cookie', () => {
  let site: Awaited<ReturnType<typeof recordingServer>>;
  let elsewhere: Awaited<ReturnType<typeof recordingServer>>;
  let run: Run;

  beforeAll(async () => {
    elsewhere = await recordingServer((_url, respond) => respond(200, { 'content-type': 'text/html' }, '<p>another origin</p>'));
    site = await recordingServer((url, respond) => {
      const page = (body: string): void => respond(200, { 'content-type': 'text/html; charset=utf-8' }, `<!doctype html><title>t</title>${body}`);
      if (url === '/') page(`<a href="/account">account</a> <a href="/go">go</a> <a href="${elsewhere.url}/steal">elsewhere</a>`);
      else if (url === '/account') page('<p>signed in</p>');
      else if (url === '/go') respond(302, { location: `${elsewhere.url}/redirected` }, '');
      else respond(404, { 'content-type': 'text/html' }, '<p>not found</p>');
    });
    run = await rampart('audit', `${site.url}/`, ...FAST, '--fail-on', 'none', '--header', 'Authorization: Bearer t0ken', '--header', 'X-Api-Key:  k3y ', '--cookie', 'sid=abc123; theme=dark');
  });
  afterAll(async () => {
    await Promise.all([site && closeServer(site.server), elsewhere && closeServer(elsewhere.server)]);
  });

  it('the audit ran and crawled the site', () => {
    expect(run.code, shown(run)).toBe(0);
    expect(site.requests.map((request) => request.url)).toEqual(expect.arrayContaining(['/', '/account', '/go']));
    expect(run.stderr).toBe('');
  });

  it('sends the headers and the cookie with every crawl request', () => {
    const carries = (request: Recorded): boolean => request.headers.authorization === 'Bearer t0ken' && request.headers['x-api-key'] === 'k3y' && request.headers.cookie?.includes('sid=abc123; theme=dark') === true;
    // The crawl's GETs; "/" is fetched twice (the retrieval and the crawl), checked in the next test.
    const gets = site.requests.filter((request) => request.method === 'GET' && request.url !== '/robots.txt');
    expect(gets.filter((request) => request.url === '/').some(carries)).toBe(true);
    const others = gets.filter((request) => request.url !== '/');
    expect(others.map((request) => request.url)).toEqual(expect.arrayContaining(['/account', '/go']));
    expect(others.filter((request) => !carries(request)).map((request) => `${request.method} ${request.url}`)).toEqual([]);
  });

  it('sends them with the Observatory-style retrieval too (robots.txt, the first GET), so a logged-in scan is graded logged in', () => {
    const missing = site.requests
      .filter((request) => request.method !== 'OPTIONS')
      .filter((request) => request.headers.authorization !== 'Bearer t0ken' || request.headers['x-api-key'] !== 'k3y' || !request.headers.cookie?.includes('sid=abc123'))
      .map((request) => `${request.method} ${request.url} (authorization: ${request.headers.authorization ?? 'none'}, x-api-key: ${request.headers['x-api-key'] ?? 'none'}, cookie: ${request.headers.cookie ?? 'none'})`);
    expect(missing).toEqual([]);
  });

  it('never sends anything to another origin, through a link or a redirect', () => {
    expect(elsewhere.requests).toEqual([]);
    expect(run.stdout).toContain(`Not followed: ${site.url}/go redirects out of scope, to ${elsewhere.url}.`);
  });
});

describe('a hostile site', () => {
  let site: Awaited<ReturnType<typeof recordingServer>>;

  beforeAll(async () => {
    // A debug page (quoted in the report as evidence) carrying terminal escape sequences:
    // set the window title, clear the screen, and a fake "No findings." line.
    site = await recordingServer((url, respond) => {
      if (url === '/') respond(200, { 'content-type': 'text/html' }, '<a href="/crash">crash</a>');
      else if (url === '/crash') respond(500, { 'content-type': 'text/html' }, 'Traceback (most recent call last)\x1b]0;owned\x07\x1b[2J\x1b[1A\rNo findings.\x1b[8m hidden');
      else respond(404, { 'content-type': 'text/plain' }, 'no');
    });
  });
  afterAll(async () => {
    await closeServer(site.server);
  });

  it('cannot put control characters or escape sequences on the terminal through the text report', async () => {
    const run = await rampart('audit', `${site.url}/`, ...FAST, '--fail-on', 'none');
    expect(run.code, shown(run)).toBe(0);
    expect(run.stdout).toContain('debug-page:');
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    expect([...run.stdout.matchAll(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g)].map((match) => `U+${match[0].charCodeAt(0).toString(16).padStart(4, '0')}`)).toEqual([]);
  });

  it('a debug page only on the not-found page keeps the same fingerprint from run to run (so --baseline works)', async () => {
    const notFoundOnly = await recordingServer((url, respond) => {
      if (url === '/') respond(200, { 'content-type': 'text/html' }, '<p>home</p>');
      else if (url.includes('not-found')) respond(404, { 'content-type': 'text/html' }, 'Traceback (most recent call last)');
      else respond(404, { 'content-type': 'text/plain' }, 'no');
    });
    try {
      const first = await rampart('audit', `${notFoundOnly.url}/`, ...FAST, '--fail-on', 'none', '--format', 'json', '--output', file('not-found.json'));
      expect(first.code, shown(first)).toBe(0);
      const report = JSON.parse(readFileSync(file('not-found.json'), 'utf8')) as AuditReport;
      expect(report.findings.map((finding) => finding.ruleId)).toContain('debug-page');
      const second = await rampart('audit', `${notFoundOnly.url}/`, ...FAST, '--baseline', file('not-found.json'));
      expect(second.code, `${shown(second)}\nfingerprints: ${report.findings.map((finding) => finding.fingerprint).join(', ')}`).toBe(0);
    } finally {
      await closeServer(notFoundOnly.server);
    }
  });
});

describe('the reference app (node adapter) over plain HTTP', () => {
  let app: Target;
  let run: Run;
  let report: AuditReport;

  beforeAll(async () => {
    app = await startTarget('node', testOptions());
    run = await rampart('audit', `${app.url}/`, ...FAST, '--format', 'json', '--output', file('reference.json'));
    report = JSON.parse(readFileSync(file('reference.json'), 'utf8')) as AuditReport;
  });
  afterAll(async () => {
    await app?.close();
  });

  it('gets only the HTTPS findings that plain HTTP on loopback implies (and exits 1 for them at --fail-on high)', () => {
    expect(run.code, shown(run)).toBe(1);
    expect(run.stderr).toContain('rampart audit: failing: 2 findings at or above high.');
    const serious = report.findings.filter((finding) => finding.severity !== 'info').map((finding) => finding.ruleId).sort();
    expect(serious).toEqual(['http-no-redirect', 'https-unavailable']);
    expect(report.errors).toEqual([]);
    expect(report.checklist.practices.filter((entry) => entry.status === 'fail').map((entry) => entry.practice)).toEqual(['https']);
    // Templates and traversal need --active; everything else passes.
    expect(report.checklist.practices.filter((entry) => entry.status === 'not-assessed').map((entry) => entry.practice).sort()).toEqual(['templates', 'traversal']);
    expect(report.checklist.grade).toBe('C+');
  });

  it('passes --fail-on high once told HTTPS is not the point (--fail-on none), with no other finding above info', async () => {
    const passing = await rampart('audit', `${app.url}/`, ...FAST, '--fail-on', 'none');
    expect(passing.code, shown(passing)).toBe(0);
    expect(passing.stdout).toMatch(/^5\. Security headers \.+ pass$/m);
    expect(passing.stdout).toMatch(/^4\. Cookies \.+ pass$/m);
    expect(passing.stdout).toMatch(/^2\. CSRF protection \.+ pass$/m);
  });
});
