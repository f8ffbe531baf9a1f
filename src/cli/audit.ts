/**
 * `rampart audit <url>`: the command line of the auditor. Exit codes for CI: 0 clean,
 * 1 findings at or above `--fail-on` (or a grade below `--min-grade`), 3 the scan could
 * not be done (bad arguments, target unreachable).
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { audit, RULES } from '../audit/audit.node.ts';
import { renderReport, REPORT_FORMATS, type ReportFormat } from '../audit/report.ts';
import { atLeast, GRADES, meetsGrade } from '../audit/score.ts';
import { SEVERITIES, type AuditReport, type Grade, type Severity } from '../audit/types.ts';

export const AUDIT_HELP = `Usage: rampart audit <url> [options]

Checks a running site (built with rampart or not: Flask, Django, Express…) against the
practices of "Best Practices For Flask Security": templates and XSS, CSRF, directory
traversal and uploads, cookies and HTTPS, security headers. Passive by default; the
active probes never change server state by construction.

Scan:
  --active                 also run the active probes: an inert reflected-XSS canary, a
                           CSRF test with a deliberately invalid body, a traversal test
                           that reads no file outside the site
  --max-requests <n>       request budget, probes included (default 200, at least 20)
  --rate <n>               most requests per second (default 10)
  --timeout <seconds>      per request (default 10)
  --http-port <port>       where to check the HTTP to HTTPS redirect (default 80)
  --https-port <port>      where to find HTTPS (default 443, or the URL's port)
  --ca-file <file>         trust this CA (PEM) too, for private certificates
  --header "Name: value"   send this header to the site (repeatable), e.g. a login
  --cookie "a=b; c=d"      send these cookies (a logged-in scan)

  -h, --help               this help

Output:
  --format <format>        text (default), json, sarif, junit or html
  --output <file>          write the report there (the text summary still prints)
  --no-progress            no progress display on stderr
  --no-color               plain text

CI:
  --fail-on <severity>     exit 1 when a finding is this severe or worse:
                           critical, high (default), medium, low, info, or none
  --min-grade <grade>      exit 1 when the checklist grade is below this (e.g. B)
  --baseline <file>        a previous JSON report: only findings not in it count

Exit codes: 0 clean, 1 findings (or grade) over the thresholds, 3 scan error.
`;

interface Streams {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
}

/** Runs `rampart audit` with these arguments (after `audit`); resolves to the exit code. */
export async function runAudit(argv: readonly string[], streams: Streams, version: string): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    streams.stderr.write(`rampart audit: ${error instanceof Error ? error.message : String(error)}\nRun "rampart audit --help" for the options.\n`);
    return 3;
  }
  if (parsed.help) {
    streams.stdout.write(AUDIT_HELP);
    return 0;
  }
  const { target, format, output, failOn, minGrade, baseline, progress, color } = parsed;
  let baselineFingerprints: Set<string> | undefined;
  if (baseline !== undefined) {
    try {
      const previous = JSON.parse(readFileSync(baseline, 'utf8')) as Partial<AuditReport>;
      if (!Array.isArray(previous.findings)) throw new Error('it has no findings array');
      baselineFingerprints = new Set(previous.findings.map((finding) => finding.fingerprint));
    } catch (error) {
      streams.stderr.write(`rampart audit: --baseline ${baseline}: not a JSON report of rampart audit (${error instanceof Error ? error.message : String(error)}).\n`);
      return 3;
    }
  }
  let report: AuditReport;
  try {
    report = await audit(target, {
      ...parsed.options,
      version,
      ...(progress
        ? {
            onProgress: ({ phase, done, total, url }) => {
              streams.stderr.write(`\r\x1b[2K${phase} ${done}/${total} ${url ?? ''}`.slice(0, 120));
            },
          }
        : {}),
    });
  } catch (error) {
    if (progress) streams.stderr.write('\r\x1b[2K');
    streams.stderr.write(`rampart audit: ${error instanceof Error ? error.message : String(error)}\n`);
    return 3;
  }
  if (progress) streams.stderr.write('\r\x1b[2K');
  const reachable = report.exchanges.some((exchange) => exchange.reason !== 'probe');
  if (!reachable) {
    streams.stderr.write(`rampart audit: ${target} could not be reached: ${report.errors[0] ?? 'no response'}.\n`);
    return 3;
  }
  let rendered: string;
  try {
    rendered = renderReport(report, format, RULES, { color: color && output === undefined && format === 'text' });
  } catch (error) {
    // The audit ran, but its report could not be written: a tool error, not findings.
    streams.stderr.write(`rampart audit: the ${format} report could not be rendered: ${error instanceof Error ? error.message : String(error)}\n`);
    return 3;
  }
  if (output !== undefined) {
    try {
      writeFileSync(output, rendered);
    } catch (error) {
      streams.stderr.write(`rampart audit: --output ${output}: ${error instanceof Error ? error.message : String(error)}\n`);
      return 3;
    }
    streams.stdout.write(renderReport(report, 'text', RULES, { color }).split('\n').slice(0, 4).join('\n') + `\nReport written to ${output}.\n`);
  } else {
    streams.stdout.write(rendered);
  }
  const counted = baselineFingerprints ? report.findings.filter((finding) => !baselineFingerprints.has(finding.fingerprint)) : report.findings;
  const failing = failOn === 'none' ? [] : counted.filter((finding) => atLeast(finding.severity, failOn));
  const gradeFails = minGrade !== undefined && !meetsGrade(report.checklist.grade, minGrade);
  if (failing.length > 0 || gradeFails) {
    const reasons = [
      ...(failing.length > 0 ? [`${failing.length} finding${failing.length === 1 ? '' : 's'} at or above ${failOn}${baselineFingerprints ? ' not in the baseline' : ''}`] : []),
      ...(gradeFails ? [`grade ${report.checklist.grade} is below ${minGrade}`] : []),
    ];
    streams.stderr.write(`rampart audit: failing: ${reasons.join('; ')}.\n`);
    return 1;
  }
  return 0;
}

function parse(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      active: { type: 'boolean' },
      'max-requests': { type: 'string' },
      rate: { type: 'string' },
      timeout: { type: 'string' },
      'http-port': { type: 'string' },
      'https-port': { type: 'string' },
      'ca-file': { type: 'string' },
      header: { type: 'string', multiple: true },
      cookie: { type: 'string' },
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
      'no-progress': { type: 'boolean' },
      'no-color': { type: 'boolean' },
      'fail-on': { type: 'string' },
      'min-grade': { type: 'string' },
      baseline: { type: 'string' },
    },
  });
  if (values.help) return { help: true as const, target: '', format: 'text' as ReportFormat, output: undefined, failOn: 'high' as const, minGrade: undefined, baseline: undefined, progress: false, color: false, options: {} };
  if (positionals.length !== 1) throw new Error(positionals.length === 0 ? 'give the URL to audit, e.g. rampart audit https://example.com/' : `one URL at a time (got ${positionals.length})`);
  const format = (values.format ?? 'text') as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) throw new Error(`--format ${values.format}: use one of ${REPORT_FORMATS.join(', ')}`);
  const failOn = (values['fail-on'] ?? 'high') as Severity | 'none';
  if (failOn !== 'none' && !SEVERITIES.includes(failOn)) throw new Error(`--fail-on ${values['fail-on']}: use one of ${SEVERITIES.join(', ')} or none`);
  const minGrade = values['min-grade'] as Grade | undefined;
  if (minGrade !== undefined && !GRADES.includes(minGrade)) throw new Error(`--min-grade ${minGrade}: use one of ${GRADES.join(', ')}`);
  const headers: Record<string, string> = {};
  for (const header of values.header ?? []) {
    const colon = header.indexOf(':');
    if (colon <= 0) throw new Error(`--header "${header}": write it as "Name: value"`);
    headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
  }
  let ca: string | undefined;
  if (values['ca-file'] !== undefined) {
    try {
      ca = readFileSync(values['ca-file'], 'utf8');
    } catch (error) {
      throw new Error(`--ca-file ${values['ca-file']}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  const interactive = process.stderr.isTTY === true;
  return {
    help: false as const,
    target: positionals[0]!,
    format,
    output: values.output,
    failOn,
    minGrade,
    baseline: values.baseline,
    progress: interactive && values['no-progress'] !== true,
    color: process.stdout.isTTY === true && values['no-color'] !== true && process.env.NO_COLOR === undefined,
    options: {
      active: values.active === true,
      ...number('max-requests', values['max-requests'], 20, 100_000, (value) => ({ maxRequests: value })),
      ...number('rate', values.rate, 1, 1000, (value) => ({ rate: value })),
      ...number('timeout', values.timeout, 1, 600, (value) => ({ timeoutMs: value * 1000 })),
      ...number('http-port', values['http-port'], 1, 65535, (value) => ({ httpPort: value })),
      ...number('https-port', values['https-port'], 1, 65535, (value) => ({ httpsPort: value })),
      ...(ca !== undefined ? { ca } : {}),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      ...(values.cookie !== undefined ? { cookie: values.cookie } : {}),
    },
  };
}

function number<T>(name: string, value: string | undefined, min: number, max: number, wrap: (value: number) => T): T | object {
  if (value === undefined) return {};
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new Error(`--${name} ${value}: expected a whole number from ${min} to ${max}`);
  return wrap(parsed);
}
