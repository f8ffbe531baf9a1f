/**
 * The built-in receiver of CSP violation reports: both the legacy `report-uri`
 * format (`application/csp-report`) and the Reporting API (`application/reports+json`).
 *
 * Anyone can post here, so everything is bounded: body size, reports per client
 * per window, and a deduplication window so one broken page does not flood the log.
 * Strings are truncated, stripped of control characters (log injection) and URLs
 * lose their query and fragment (tokens live there).
 */

import { describe, isPlainObject, rejectUnknownKeys } from '../_internal/describe.ts';
import { readLimited } from '../_internal/body.ts';
import { errorResponse, RampartError } from '../errors.ts';

/** One CSP violation, normalized from either report format. */
export interface CspViolation {
  /** `enforce` when something was blocked, `report` for the report-only policy. */
  readonly disposition: 'enforce' | 'report';
  readonly documentUrl: string;
  readonly blockedUrl: string;
  readonly effectiveDirective: string;
  readonly sourceFile: string;
  readonly lineNumber: number | undefined;
  readonly columnNumber: number | undefined;
  /** The first characters of the blocked inline code, when the policy has 'report-sample'. */
  readonly sample: string;
  readonly statusCode: number | undefined;
}

/** Receives each new (not duplicate) violation. */
export type ViolationSink = (violation: CspViolation) => void | Promise<void>;

/** Options of the violation report endpoint. */
export interface ReportsOptions {
  /** The endpoint's path. Default `'/_rampart/csp-report'`. */
  readonly path?: string;
  /** Largest accepted body. Default 65536 bytes. */
  readonly maxBodyBytes?: number;
  /** Reports accepted per client address per window. Default `{ max: 100, windowSeconds: 60 }`. */
  readonly rateLimit?: { readonly max: number; readonly windowSeconds: number } | false;
  /** Identical reports within this many seconds reach the sink once. Default 600. */
  readonly dedupeSeconds?: number;
  /** Where violations go. Default: one warning line each through the logger. */
  readonly sink?: ViolationSink;
}

/** The resolved receiver. */
export interface ReportReceiver {
  readonly path: string;
  receive(request: Request, clientAddress: string | undefined): Promise<Response>;
}

const MAX_TRACKED = 10_000;
const MAX_FIELD = 1024;

function clean(value: unknown): string {
  if (typeof value !== 'string') return '';
  // eslint-disable-next-line no-control-regex
  const text = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  return text.length > MAX_FIELD ? `${text.slice(0, MAX_FIELD)}…` : text;
}

function cleanUrl(value: unknown): string {
  const text = clean(value);
  const cut = text.search(/[?#]/);
  return cut === -1 ? text : text.slice(0, cut);
}

function number(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** `application/csp-report`: `{ "csp-report": { "document-uri": ..., ... } }`. */
function fromLegacy(body: Record<string, unknown>): CspViolation {
  return {
    disposition: body.disposition === 'report' ? 'report' : 'enforce',
    documentUrl: cleanUrl(body['document-uri']),
    blockedUrl: cleanUrl(body['blocked-uri']),
    effectiveDirective: clean(body['effective-directive'] ?? body['violated-directive']),
    sourceFile: cleanUrl(body['source-file']),
    lineNumber: number(body['line-number']),
    columnNumber: number(body['column-number']),
    sample: clean(body['script-sample']),
    statusCode: number(body['status-code']),
  };
}

/** Reporting API `csp-violation` body (CSP3 §5.3). */
function fromReportingApi(body: Record<string, unknown>): CspViolation {
  return {
    disposition: body.disposition === 'report' ? 'report' : 'enforce',
    documentUrl: cleanUrl(body.documentURL),
    blockedUrl: cleanUrl(body.blockedURL),
    effectiveDirective: clean(body.effectiveDirective),
    sourceFile: cleanUrl(body.sourceFile),
    lineNumber: number(body.lineNumber),
    columnNumber: number(body.columnNumber),
    sample: clean(body.sample),
    statusCode: number(body.statusCode),
  };
}

function parseReports(mediaType: string, json: unknown): CspViolation[] | null {
  if (mediaType === 'application/csp-report' || mediaType === 'application/json') {
    if (!isPlainObject(json) || !isPlainObject(json['csp-report'])) return null;
    return [fromLegacy(json['csp-report'])];
  }
  if (!Array.isArray(json) || json.length > 100) return null;
  const violations: CspViolation[] = [];
  for (const report of json) {
    if (!isPlainObject(report) || !isPlainObject(report.body)) return null;
    if (report.type === 'csp-violation') violations.push(fromReportingApi(report.body));
  }
  return violations;
}

/** A map that forgets its oldest entries beyond a size, so hostile clients cannot grow it. */
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_TRACKED) map.delete(map.keys().next().value as K);
}

function positiveInteger(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`rampart: ${where}: expected a positive whole number, got ${describe(value)}.`);
  }
  return value;
}

function formatViolation(violation: CspViolation): string {
  const where = violation.sourceFile ? ` (${violation.sourceFile}:${violation.lineNumber ?? '?'})` : '';
  const mode = violation.disposition === 'report' ? 'report-only ' : '';
  return `rampart: CSP ${mode}violation of ${violation.effectiveDirective || 'unknown directive'}: blocked ${violation.blockedUrl || 'unknown'} on ${violation.documentUrl || 'unknown page'}${where}`;
}

/** Validates the `reports` option and returns the receiver, or undefined when it is off. */
export function compileReports(
  option: ReportsOptions | false | undefined,
  warn: (message: string) => void,
  now: () => number,
): ReportReceiver | undefined {
  if (option === false) return undefined;
  const options = option ?? {};
  if (!isPlainObject(options as unknown)) throw new TypeError(`rampart: reports: expected an object or false, got ${describe(options)}.`);
  rejectUnknownKeys(options, ['path', 'maxBodyBytes', 'rateLimit', 'dedupeSeconds', 'sink'], 'reports.');
  const path = options.path ?? '/_rampart/csp-report';
  if (typeof path !== 'string' || !/^\/[a-zA-Z0-9._~!$&'()*+=:@/-]*$/.test(path)) {
    throw new TypeError(`rampart: reports.path: expected a path like "/csp-report", got ${describe(path)}.`);
  }
  const maxBodyBytes = positiveInteger(options.maxBodyBytes ?? 65_536, 'reports.maxBodyBytes');
  const dedupeMs = positiveInteger(options.dedupeSeconds ?? 600, 'reports.dedupeSeconds') * 1000;
  const rate = options.rateLimit ?? { max: 100, windowSeconds: 60 };
  if (rate !== false && !isPlainObject(rate)) {
    throw new TypeError(`rampart: reports.rateLimit: expected { max, windowSeconds } or false, got ${describe(rate)}.`);
  }
  const rateMax = rate === false ? Infinity : positiveInteger(rate.max, 'reports.rateLimit.max');
  const windowMs = rate === false ? 0 : positiveInteger(rate.windowSeconds, 'reports.rateLimit.windowSeconds') * 1000;
  const sink: ViolationSink = options.sink ?? ((violation) => warn(formatViolation(violation)));
  if (typeof sink !== 'function') throw new TypeError(`rampart: reports.sink: expected a function, got ${describe(sink)}.`);

  const windows = new Map<string, { start: number; count: number }>();
  let warnedWithoutAddress = false;
  const seen = new Map<string, number>();

  /** The client's window now (a new one when the last has passed). */
  function windowOf(clientAddress: string | undefined): { start: number; count: number } {
    const key = clientAddress ?? '';
    const time = now();
    let window = windows.get(key);
    if (!window || time - window.start >= windowMs) {
      window = { start: time, count: 0 };
      remember(windows, key, window);
    }
    return window;
  }

  /**
   * How many of `wanted` reports the client may still deliver in this window, charged
   * to it: the limit counts reports, not requests (one body may hold many), and every
   * request costs at least one, so empty bodies cannot flood either.
   */
  function take(clientAddress: string | undefined, wanted: number): number {
    if (rate === false) return wanted;
    const window = windowOf(clientAddress);
    const granted = Math.max(0, Math.min(wanted, rateMax - window.count));
    window.count += Math.max(granted, 1);
    return granted;
  }

  async function deliver(violation: CspViolation): Promise<void> {
    const key = [violation.disposition, violation.effectiveDirective, violation.blockedUrl, violation.documentUrl, violation.sourceFile, violation.lineNumber].join('\u0000');
    const time = now();
    const until = seen.get(key);
    if (until !== undefined && until > time) return;
    remember(seen, key, time + dedupeMs);
    try {
      await sink(violation);
    } catch (error) {
      warn(`rampart: reports.sink threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  return {
    path,
    async receive(request, clientAddress) {
      const accept = request.headers.get('accept');
      const refuse = (code: ConstructorParameters<typeof RampartError>[0]): Response => {
        const response = errorResponse(new RampartError(code), accept);
        if (code === 'csp_report_method') response.headers.set('Allow', 'POST');
        return response;
      };
      if (request.method !== 'POST') return refuse('csp_report_method');
      const mediaType = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (mediaType !== 'application/csp-report' && mediaType !== 'application/reports+json' && mediaType !== 'application/json') {
        return refuse('csp_report_media_type');
      }
      if (clientAddress === undefined && rate !== false && !warnedWithoutAddress) {
        warnedWithoutAddress = true;
        warn("rampart: a CSP report came without the client's address, so every such client shares one rate limit and one of them can spend it for all; pass clientAddress to rampartFetch or rampartHono.");
      }
      // Refused before the body is read once the window is spent.
      if (rate !== false && windowOf(clientAddress).count >= rateMax) return refuse('csp_report_rate_limited');
      const body = await readLimited(request, maxBodyBytes);
      if (body === 'too_large') return refuse('csp_report_too_large');
      if (body === 'unreadable') return refuse('csp_report_malformed');
      let violations: CspViolation[] | null;
      try {
        violations = parseReports(mediaType, JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body)));
      } catch {
        violations = null;
      }
      if (!violations) return refuse('csp_report_malformed');
      const granted = take(clientAddress, violations.length);
      if (granted === 0 && violations.length > 0) return refuse('csp_report_rate_limited');
      for (const violation of violations.slice(0, granted)) await deliver(violation);
      return new Response(null, { status: 204, headers: { 'Cache-Control': 'no-store' } });
    },
  };
}
