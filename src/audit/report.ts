/**
 * The report formats: a terminal report grouped by practice with the fix for Flask
 * and for rampart, JSON (the report object, schema version 1), SARIF 2.1.0, JUnit XML,
 * and a self-contained HTML page with a grade card (made with rampart's own templates,
 * so what the audited site sent is escaped wherever it is shown).
 */

import { html } from '../html/html.ts';
import { PRACTICES, SEVERITIES, type AuditReport, type Finding, type Rule, type Severity } from './types.ts';

/** The formats of `--format`. */
export type ReportFormat = 'text' | 'json' | 'sarif' | 'junit' | 'html';

export const REPORT_FORMATS: readonly ReportFormat[] = ['text', 'json', 'sarif', 'junit', 'html'];

/** Renders `report` in `format`. `rules` is the catalogue (titles and fixes). */
export function renderReport(report: AuditReport, format: ReportFormat, rules: ReadonlyMap<string, Rule>, options: { readonly color?: boolean } = {}): string {
  switch (format) {
    case 'text':
      return renderText(report, rules, options.color === true);
    case 'json':
      return `${JSON.stringify(withCappedBodies(report), null, 2)}\n`;
    case 'sarif':
      return `${JSON.stringify(renderSarif(report, rules), null, 2)}\n`;
    case 'junit':
      return renderJunit(report, rules);
    case 'html':
      return renderHtml(report, rules);
  }
}

/** The most characters of each request and response body the JSON report keeps. */
export const REPORT_BODY_LIMIT = 4096;

/**
 * The report with every body cut to `REPORT_BODY_LIMIT` characters (`truncated` then
 * true): the bodies are what the findings were read from, not the findings, and a crawl
 * of large pages would otherwise outgrow the longest string JavaScript can build
 * (a RangeError, and no report at all).
 */
function withCappedBodies(report: AuditReport): AuditReport {
  return {
    ...report,
    exchanges: report.exchanges.map((exchange) => {
      const { request, response } = exchange;
      const requestBody = request.body !== undefined && request.body.length > REPORT_BODY_LIMIT ? { body: request.body.slice(0, REPORT_BODY_LIMIT) } : {};
      if (response.body.length <= REPORT_BODY_LIMIT && !('body' in requestBody)) return exchange;
      return {
        ...exchange,
        request: { ...request, ...requestBody },
        response: response.body.length > REPORT_BODY_LIMIT ? { ...response, body: response.body.slice(0, REPORT_BODY_LIMIT), truncated: true } : response,
      };
    }),
  };
}

const LABEL: Record<Severity, string> = { critical: 'CRITICAL', high: 'HIGH', medium: 'MEDIUM', low: 'LOW', info: 'INFO' };
const COLOR: Record<Severity, string> = { critical: '\x1b[1;31m', high: '\x1b[31m', medium: '\x1b[33m', low: '\x1b[36m', info: '\x1b[2m' };

/** The terminal report. */
export function renderText(report: AuditReport, rules: ReadonlyMap<string, Rule>, color: boolean): string {
  const paint = (code: string, text: string): string => (color ? `${code}${text}\x1b[0m` : text);
  const lines: string[] = [];
  const probes = report.exchanges.filter((exchange) => exchange.reason === 'probe').length;
  lines.push(`rampart audit of ${safe(report.target)}`);
  lines.push(`${report.exchanges.length} requests (${probes} probe${probes === 1 ? '' : 's'}), active probes ${report.settings.active ? 'on' : 'off'}, ${report.startedAt}`);
  lines.push('');
  const observatory = report.observatory ? `    Observatory 1.4.8 compatible: ${report.observatory.grade} (${report.observatory.score}, ${report.observatory.testsPassed}/${report.observatory.testsQuantity} tests passed)` : '';
  lines.push(`Checklist grade ${paint('\x1b[1m', report.checklist.grade)} (${report.checklist.score}/100)${observatory}`);
  for (const practice of PRACTICES) {
    const entry = report.checklist.practices.find((candidate) => candidate.practice === practice.id)!;
    const findings = report.findings.filter((finding) => rules.get(finding.ruleId)?.practice === practice.id);
    const status = entry.status === 'fail' ? paint('\x1b[31m', 'FAIL') : entry.status === 'pass' ? paint('\x1b[32m', 'pass') : paint('\x1b[2m', 'not assessed');
    lines.push('');
    lines.push(`${practice.title} ${'.'.repeat(Math.max(2, 40 - practice.title.length))} ${status}${entry.note ? ` (${safe(entry.note)})` : ''}`);
    for (const finding of findings) {
      const rule = rules.get(finding.ruleId);
      lines.push(`  ${paint(COLOR[finding.severity], LABEL[finding.severity].padEnd(8))} ${finding.ruleId}: ${safe(finding.message)}`);
      if (finding.evidence) lines.push(`           seen: ${oneLine(finding.evidence)}`);
      if (rule) {
        lines.push(`           fix (Flask):   ${rule.fix.flask}`);
        lines.push(`           fix (rampart): ${rule.fix.rampart}`);
      }
    }
  }
  if (probes > 0) {
    lines.push('');
    lines.push(`Probe requests (each carries X-Audit-Probe; none changes state by construction):`);
    for (const exchange of report.exchanges.filter((candidate) => candidate.reason === 'probe')) {
      lines.push(`  ${exchange.request.method} ${safe(exchange.request.url)} -> ${exchange.response.status}`);
    }
  }
  if (report.errors.length > 0) {
    lines.push('');
    lines.push('Scan problems:');
    for (const error of report.errors) lines.push(`  ${safe(error)}`);
  }
  const counts = SEVERITIES.map((severity) => [severity, report.findings.filter((finding) => finding.severity === severity).length] as const).filter(([, count]) => count > 0);
  lines.push('');
  lines.push(counts.length === 0 ? 'No findings.' : `Findings: ${counts.map(([severity, count]) => `${count} ${severity}`).join(', ')}.`);
  return `${lines.join('\n')}\n`;
}

function oneLine(text: string): string {
  const flat = safe(text);
  return flat.length > 160 ? `${flat.slice(0, 160)}…` : flat;
}

/**
 * Text from the audited site, made safe for a terminal: control characters (escape
 * sequences that could retitle the window or clear the screen, line breaks that could
 * fake a line of the report) become U+FFFD or a space.
 */
function safe(text: string): string {
  // eslint-disable-next-line no-control-regex -- replacing control characters is the point
  return text.replace(/[\t\n\r]+/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '\ufffd');
}

const SARIF_LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '0.0' };

/** SARIF 2.1.0: one run, the rule catalogue as the driver's rules, one result per finding. */
export function renderSarif(report: AuditReport, rules: ReadonlyMap<string, Rule>): object {
  const catalogue = [...rules.values()];
  const index = new Map(catalogue.map((rule, position) => [rule.id, position]));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'rampart audit',
            version: report.tool.version,
            informationUri: 'https://github.com/rampart/rampart',
            rules: catalogue.map((rule) => ({
              id: rule.id,
              name: rule.id.replace(/(^|-)(\w)/g, (_match, _dash: string, letter: string) => letter.toUpperCase()),
              shortDescription: { text: rule.title },
              fullDescription: { text: rule.title },
              help: { text: `Flask: ${rule.fix.flask}\nrampart: ${rule.fix.rampart}`, markdown: `**Flask:** ${rule.fix.flask}\n\n**rampart:** ${rule.fix.rampart}` },
              defaultConfiguration: { level: SARIF_LEVEL[rule.severity] },
              properties: {
                'security-severity': SECURITY_SEVERITY[rule.severity],
                tags: ['security', rule.practice, ...(rule.cwe ? [`external/cwe/cwe-${rule.cwe}`] : [])],
              },
            })),
          },
        },
        invocations: [{ executionSuccessful: report.errors.length === 0, startTimeUtc: report.startedAt, endTimeUtc: report.finishedAt, toolExecutionNotifications: report.errors.map((error) => ({ level: 'warning', message: { text: error } })) }],
        results: report.findings.map((finding) => ({
          ruleId: finding.ruleId,
          ...(index.has(finding.ruleId) ? { ruleIndex: index.get(finding.ruleId) } : {}),
          level: SARIF_LEVEL[finding.severity],
          message: { text: finding.message },
          locations: [{ physicalLocation: { artifactLocation: { uri: finding.url } } }],
          partialFingerprints: { 'rampartFingerprint/v1': finding.fingerprint },
          properties: { severity: finding.severity, ...(finding.evidence ? { evidence: finding.evidence } : {}) },
        })),
      },
    ],
  };
}

function xml(text: string): string {
  // XML 1.0 cannot hold most control characters even escaped: they are dropped.
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** JUnit XML: a test suite per practice, a test case per rule (failing with its findings), not-assessed practices skipped. */
export function renderJunit(report: AuditReport, rules: ReadonlyMap<string, Rule>): string {
  const suites: string[] = [];
  let total = 0;
  let failures = 0;
  for (const practice of PRACTICES) {
    const entry = report.checklist.practices.find((candidate) => candidate.practice === practice.id)!;
    const cases: string[] = [];
    let suiteFailures = 0;
    for (const rule of [...rules.values()].filter((candidate) => candidate.practice === practice.id)) {
      const found = report.findings.filter((finding) => finding.ruleId === rule.id);
      const name = `${rule.id}: ${rule.title}`;
      if (found.length > 0) {
        suiteFailures++;
        const detail = found.map((finding) => `${finding.severity.toUpperCase()} ${finding.url}\n${finding.message}${finding.evidence ? `\nseen: ${finding.evidence}` : ''}`).join('\n\n');
        cases.push(`    <testcase classname="${xml(practice.id)}" name="${xml(name)}"><failure type="${found[0]!.severity}" message="${xml(found[0]!.message)}">${xml(`${detail}\n\nFix (Flask): ${rule.fix.flask}\nFix (rampart): ${rule.fix.rampart}`)}</failure></testcase>`);
      } else if (entry.status === 'not-assessed') {
        cases.push(`    <testcase classname="${xml(practice.id)}" name="${xml(name)}"><skipped message="${xml(entry.note ?? 'not assessed')}"/></testcase>`);
      } else {
        cases.push(`    <testcase classname="${xml(practice.id)}" name="${xml(name)}"/>`);
      }
    }
    total += cases.length;
    failures += suiteFailures;
    suites.push(`  <testsuite name="${xml(practice.title)}" tests="${cases.length}" failures="${suiteFailures}" errors="0" skipped="${entry.status === 'not-assessed' ? cases.length - suiteFailures : 0}">\n${cases.join('\n')}\n  </testsuite>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="rampart audit of ${xml(report.target)}" tests="${total}" failures="${failures}" errors="${report.errors.length}">\n${suites.join('\n')}\n</testsuites>\n`;
}

const STYLE = html`<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1.5rem; color: #111; }
.card { display: flex; gap: 2rem; align-items: center; padding: 1rem 1.5rem; border: 1px solid #ddd; border-radius: .75rem; }
.grade { font-size: 3.5rem; font-weight: 800; line-height: 1; }
.g-A { color: #15803d; } .g-B { color: #65a30d; } .g-C { color: #ca8a04; } .g-D { color: #ea580c; } .g-F { color: #b91c1c; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }
td, th { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #eee; vertical-align: top; }
.sev { font-weight: 700; font-size: .8rem; }
.critical, .high { color: #b91c1c; } .medium { color: #c2410c; } .low { color: #0369a1; } .info { color: #6b7280; }
.pass { color: #15803d; } .fail { color: #b91c1c; } .not-assessed { color: #6b7280; }
code, pre { font-family: ui-monospace, monospace; font-size: .85rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.muted { color: #6b7280; }
</style>`;

/** A self-contained HTML report (no script; its own CSP allows only its inline style). */
export function renderHtml(report: AuditReport, rules: ReadonlyMap<string, Rule>): string {
  const gradeClass = `grade g-${report.checklist.grade[0]}`;
  const sections = PRACTICES.map((practice) => {
    const entry = report.checklist.practices.find((candidate) => candidate.practice === practice.id)!;
    const findings = report.findings.filter((finding) => rules.get(finding.ruleId)?.practice === practice.id);
    return html`<h2>${practice.title} <span class="${entry.status}">${entry.status === 'not-assessed' ? 'not assessed' : entry.status}</span></h2>
${entry.note ? html`<p class="muted">${entry.note}</p>` : ''}
${findings.length === 0 ? '' : html`<table><tr><th>Severity</th><th>Finding</th><th>Fix</th></tr>${findings.map((finding) => findingRow(finding, rules.get(finding.ruleId)))}</table>`}`;
  });
  const probes = report.exchanges.filter((exchange) => exchange.reason === 'probe');
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>rampart audit: ${report.target}</title>
${STYLE}
</head>
<body>
<h1>rampart audit</h1>
<div class="card">
<div class="${gradeClass}">${report.checklist.grade}</div>
<div><strong>${report.target}</strong><br>Checklist score ${report.checklist.score}/100${report.observatory ? html` · Observatory 1.4.8 compatible: ${report.observatory.grade} (${report.observatory.score})` : ''}<br>
<span class="muted">${report.exchanges.length} requests (${probes.length} probes), active probes ${report.settings.active ? 'on' : 'off'}, ${report.startedAt}</span></div>
</div>
${sections}
${report.observatory ? html`<h2>Observatory 1.4.8 compatible tests</h2><table><tr><th>Test</th><th>Result</th><th>Score</th></tr>${Object.entries(report.observatory.tests).map(([name, test]) => html`<tr><td>${name}</td><td class="${test.pass ? 'pass' : 'fail'}">${test.result}</td><td>${test.scoreModifier}</td></tr>`)}</table>` : ''}
${probes.length > 0 ? html`<h2>Probe requests</h2><table>${probes.map((exchange) => html`<tr><td>${exchange.request.method}</td><td><code>${exchange.request.url}</code></td><td>${exchange.response.status}</td></tr>`)}</table>` : ''}
${report.errors.length > 0 ? html`<h2>Scan problems</h2><ul>${report.errors.map((error) => html`<li>${error}</li>`)}</ul>` : ''}
</body>
</html>
`;
  return page.toString();
}

function findingRow(finding: Finding, rule: Rule | undefined) {
  return html`<tr><td class="sev ${finding.severity}">${finding.severity.toUpperCase()}</td><td><code>${finding.ruleId}</code><br>${finding.message}${finding.evidence ? html`<br><span class="muted">seen:</span> <code>${finding.evidence}</code>` : ''}</td><td>${rule ? html`<strong>Flask:</strong> <code>${rule.fix.flask}</code><br><strong>rampart:</strong> ${rule.fix.rampart}` : ''}</td></tr>`;
}
