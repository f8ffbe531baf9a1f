/**
 * `rampart/audit`: check a running site against the seed's practices, from code (the
 * `rampart audit <url>` command uses the same functions). The analyzers are pure: they
 * also run on recorded responses, e.g. in an application's own tests.
 *
 * @example
 * ```ts
 * import { audit, renderReport, RULES } from 'rampart/audit'
 *
 * const report = await audit('https://staging.example/', { active: true })
 * console.log(renderReport(report, 'text', RULES))
 * if (report.checklist.grade !== 'A+') process.exitCode = 1
 * ```
 *
 * @packageDocumentation
 */

export { audit, RULES, type AuditOptions } from './audit.node.ts';
export { analyzeCsp, CSP_RULES, parseCsp } from './csp.ts';
export { observatory } from './observatory.ts';
export { analyzeCookies, analyzeDisclosure, analyzeForms, analyzeHeaders, analyzeTransport, PASSIVE_RULES } from './passive.ts';
export { PROBE_RULES } from './probes.ts';
export { renderReport, REPORT_FORMATS, type ReportFormat } from './report.ts';
export { gradeForScore } from './score.ts';
export type { AuditReport, Exchange, Finding, Grade, ObservatoryResult, ObservatoryTest, Practice, Rule, Severity } from './types.ts';
