/**
 * The auditor's data: what the crawler records (exchanges), what the analyzers
 * conclude (findings), and the report the reporters print. Analyzers are pure
 * functions of exchanges, so they can be tested on recorded responses.
 */

/** One request the auditor sent and the response it got. */
export interface Exchange {
  /** Sequence number in the crawl (0-based); probes continue the numbering. */
  readonly index: number;
  readonly request: {
    readonly method: string;
    /** The absolute URL requested. */
    readonly url: string;
    /** Headers sent, lowercase names. */
    readonly headers: Readonly<Record<string, string>>;
    /** A body sent (probes only), as text. */
    readonly body?: string;
  };
  readonly response: {
    readonly status: number;
    /** Every response header in order, names lowercase, repeated headers kept apart. */
    readonly headers: readonly (readonly [name: string, value: string])[];
    /** The body as text (UTF-8, replacement characters for invalid bytes), at most `bodyLimit` bytes of it. */
    readonly body: string;
    /** True when the body was longer than what was kept. */
    readonly truncated: boolean;
  };
  /** For HTTPS: whether the certificate chain verified (against the system CAs or `--ca-file`). */
  readonly tls?: { readonly verified: boolean; readonly error?: string };
  /** Why it was requested: the crawl, a redirect, a probe. */
  readonly reason: 'start' | 'link' | 'form' | 'redirect' | 'robots' | 'error-page' | 'https-check' | 'http-check' | 'preflight' | 'probe';
  /** Milliseconds from request to complete response. */
  readonly durationMs: number;
}

/** How bad a finding is. */
export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';

/** Severities from worst to least. */
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

/** The seed's practices, and the report's sections, in order. */
export type Practice = 'templates' | 'csrf' | 'traversal' | 'cookies' | 'https' | 'headers' | 'disclosure';

export const PRACTICES: readonly { readonly id: Practice; readonly title: string }[] = [
  { id: 'templates', title: '1. Templates and XSS' },
  { id: 'csrf', title: '2. CSRF protection' },
  { id: 'traversal', title: '3. Directory traversal and uploads' },
  { id: 'cookies', title: '4. Cookies' },
  { id: 'https', title: '4. HTTPS and HSTS' },
  { id: 'headers', title: '5. Security headers' },
  { id: 'disclosure', title: 'Debug pages and version leaks' },
];

/** One problem found. */
export interface Finding {
  /** The rule that found it (stable, e.g. `csp-unsafe-inline`); see `RULES`. */
  readonly ruleId: string;
  readonly severity: Severity;
  /** A sentence about this instance (the rule's title says the general problem). */
  readonly message: string;
  /** The URL where it was seen. */
  readonly url: string;
  /** What was seen: a header value, a cookie, a form's action, a reflected excerpt. */
  readonly evidence?: string;
  /** The exchanges that show it (indexes into the report's `exchanges`). */
  readonly exchanges: readonly number[];
  /** Stable across runs: rule + normalised location, for baselines and SARIF. */
  readonly fingerprint: string;
}

/** A rule of the auditor's catalogue. */
export interface Rule {
  readonly id: string;
  readonly practice: Practice;
  /** The default severity (a finding may state another, e.g. by CSP context). */
  readonly severity: Severity;
  readonly title: string;
  readonly cwe?: number;
  /** How to fix it in Flask (the seed's stack) and with rampart. */
  readonly fix: { readonly flask: string; readonly rampart: string };
}

/** One test of the Observatory-compatible block, as MDN HTTP Observatory 1.4.8 reports it. */
export interface ObservatoryTest {
  /** The result string, exactly Observatory's (e.g. `csp-implemented-with-no-unsafe`). */
  readonly result: string;
  readonly pass: boolean;
  readonly scoreModifier: number;
  /** Observatory's expectation for the test (e.g. `csp-implemented-with-no-unsafe`). */
  readonly expectation: string;
}

/** The Observatory-compatible block: the same tests, score and grade as Observatory 1.4.8 (algorithm 4). */
export interface ObservatoryResult {
  readonly algorithmVersion: 4;
  readonly score: number;
  readonly grade: string;
  readonly testsPassed: number;
  readonly testsFailed: number;
  readonly testsQuantity: number;
  readonly tests: Readonly<Record<string, ObservatoryTest>>;
}

/** A grade letter, as Observatory spells them. */
export type Grade = 'A+' | 'A' | 'A-' | 'B+' | 'B' | 'B-' | 'C+' | 'C' | 'C-' | 'D+' | 'D' | 'D-' | 'F';

/** The result of one audit. JSON output is this object (schema version 1). */
export interface AuditReport {
  readonly schemaVersion: 1;
  readonly tool: { readonly name: 'rampart audit'; readonly version: string };
  /** The URL the audit started from. */
  readonly target: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** What was asked: active probes, budget, scope. */
  readonly settings: {
    readonly active: boolean;
    readonly maxRequests: number;
    readonly scope: 'origin';
  };
  /** The seed checklist: a grade, and per practice pass, fail or not assessed. */
  readonly checklist: {
    readonly grade: Grade;
    readonly score: number;
    readonly practices: readonly {
      readonly practice: Practice;
      readonly status: 'pass' | 'fail' | 'not-assessed';
      readonly findings: number;
      /** Why a practice was not assessed (e.g. no form found, probes not enabled). */
      readonly note?: string;
    }[];
  };
  /** `undefined` when the site could not be retrieved the way Observatory does. */
  readonly observatory: ObservatoryResult | undefined;
  readonly findings: readonly Finding[];
  /** Every request sent, in order (probe requests have `reason: 'probe'`). */
  readonly exchanges: readonly Exchange[];
  /** Problems of the scan itself (unreachable URLs, timeouts, refused redirects). */
  readonly errors: readonly string[];
}
