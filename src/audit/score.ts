/**
 * The seed checklist's grade: 100 minus a penalty per rule broken (the worst instance
 * of each rule counts once, so a header missing on fifty pages is one problem), on the
 * same letter chart as Observatory. A+ needs a perfect score with every practice
 * actually assessed; a practice that could not be assessed caps the grade at A.
 */

import { PRACTICES, type AuditReport, type Finding, type Grade, type Practice, type Severity } from './types.ts';

const PENALTY: Record<Severity, number> = { critical: 40, high: 20, medium: 10, low: 3, info: 0 };
const RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

/** Observatory's grade chart (its `GRADE_CHART`), by score rounded down to a multiple of 5. */
export function gradeForScore(score: number): Grade {
  const key = Math.min(score - (score % 5), 100);
  if (key >= 100) return 'A+';
  if (key >= 90) return 'A';
  if (key >= 85) return 'A-';
  if (key >= 80) return 'B+';
  if (key >= 70) return 'B';
  if (key >= 65) return 'B-';
  if (key >= 60) return 'C+';
  if (key >= 50) return 'C';
  if (key >= 45) return 'C-';
  if (key >= 40) return 'D+';
  if (key >= 30) return 'D';
  if (key >= 25) return 'D-';
  return 'F';
}

/** Grades from best to worst, for `--min-grade`. */
export const GRADES: readonly Grade[] = ['A+', 'A', 'A-', 'B+', 'B', 'B-', 'C+', 'C', 'C-', 'D+', 'D', 'D-', 'F'];

/** True when `grade` is `minimum` or better. */
export function meetsGrade(grade: Grade, minimum: Grade): boolean {
  return GRADES.indexOf(grade) <= GRADES.indexOf(minimum);
}

/** True when `severity` is `threshold` or worse. */
export function atLeast(severity: Severity, threshold: Severity): boolean {
  return RANK[severity] <= RANK[threshold];
}

/** Why a practice could not be assessed, by practice (absent: it was). */
export type NotAssessed = Partial<Record<Practice, string>>;

/** The checklist block of a report. */
export function checklist(findings: readonly Finding[], practiceOf: (ruleId: string) => Practice, notAssessed: NotAssessed): AuditReport['checklist'] {
  const worst = new Map<string, Severity>();
  for (const finding of findings) {
    const previous = worst.get(finding.ruleId);
    if (previous === undefined || RANK[finding.severity] < RANK[previous]) worst.set(finding.ruleId, finding.severity);
  }
  let penalty = 0;
  for (const severity of worst.values()) penalty += PENALTY[severity];
  const score = Math.max(0, 100 - penalty);
  const practices = PRACTICES.map(({ id }) => {
    const own = findings.filter((finding) => practiceOf(finding.ruleId) === id);
    const failing = own.some((finding) => RANK[finding.severity] <= RANK.medium);
    const note = notAssessed[id];
    const status: 'pass' | 'fail' | 'not-assessed' = failing ? 'fail' : note !== undefined ? 'not-assessed' : 'pass';
    return note === undefined || status === 'fail' ? { practice: id, status, findings: own.length } : { practice: id, status, findings: own.length, note };
  });
  let grade = gradeForScore(score);
  if (grade === 'A+' && practices.some((entry) => entry.status === 'not-assessed')) grade = 'A';
  return { grade, score, practices };
}
