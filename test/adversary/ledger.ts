/**
 * What each adversarial case counts, and the summary the suite prints: hostile records
 * written, forgeries the client accepted (followed a record no key it trusts vouches for,
 * released bytes nobody committed, changed the locations it trusts), and files outside the
 * location roots that the client touched. Each case appends one JSON line to the ledger file
 * whose path the global setup passes in SHARDVAULT_ADVERSARY_LEDGER; the global teardown adds
 * them up and fails the run when a forgery was accepted or an outside file touched.
 */
import { appendFileSync } from 'node:fs';

export const LEDGER_ENV = 'SHARDVAULT_ADVERSARY_LEDGER';

export interface CaseRecord {
  /** The test's name. */
  readonly name: string;
  /** Records a hostile location wrote (or replaced) on its own storage. */
  readonly hostileRecords: number;
  /** What the client did on the hostile records' word that no trusted key vouched for. */
  readonly acceptedForgeries: readonly string[];
  /** Files outside the location roots that were added, changed or removed. */
  readonly outsideTouched: readonly string[];
  /** Every failed expectation of the case (forgeries and outside touches included). */
  readonly problems: readonly string[];
  /** What the case measured or saw, worth reading in the summary. */
  readonly notes: readonly string[];
  readonly durationMs: number;
}

export function appendCase(record: CaseRecord): void {
  const path = process.env[LEDGER_ENV];
  if (!path) {
    // Run outside the suite's config (no global setup): the test still asserts, nothing is counted.
    console.warn(`[adversary] ${LEDGER_ENV} is not set: case "${record.name}" is not counted in a summary`);
    return;
  }
  appendFileSync(path, `${JSON.stringify(record)}\n`);
}

export function parseLedger(text: string): CaseRecord[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CaseRecord);
}

export function caseLine(c: CaseRecord): string {
  const verdict = c.problems.length === 0 ? 'ok  ' : 'FAIL';
  return (
    `${verdict} ${c.name.slice(0, 78).padEnd(78)} hostile ${String(c.hostileRecords).padStart(4)}  ` +
    `forgeries ${String(c.acceptedForgeries.length).padStart(2)}  outside ${String(c.outsideTouched.length).padStart(2)}  ` +
    `${(c.durationMs / 1000).toFixed(1).padStart(5)} s`
  );
}

export interface Totals {
  readonly cases: number;
  readonly hostileRecords: number;
  readonly acceptedForgeries: number;
  readonly outsideTouched: number;
  readonly failedCases: number;
}

export function totals(all: readonly CaseRecord[]): Totals {
  return {
    cases: all.length,
    hostileRecords: all.reduce((n, c) => n + c.hostileRecords, 0),
    acceptedForgeries: all.reduce((n, c) => n + c.acceptedForgeries.length, 0),
    outsideTouched: all.reduce((n, c) => n + c.outsideTouched.length, 0),
    failedCases: all.filter((c) => c.problems.length > 0).length,
  };
}

/** The closing line the issue asks for. */
export function totalLine(t: Totals): string {
  return (
    `adversary: ${t.cases} cases, ${t.hostileRecords} hostile records written, ` +
    `${t.acceptedForgeries} accepted forgeries, ${t.outsideTouched} files outside roots touched`
  );
}

export function formatSummary(all: readonly CaseRecord[], wallMs: number): string {
  const sorted = [...all].sort((a, b) => a.name.localeCompare(b.name));
  const t = totals(sorted);
  const lines = [`adversary suite summary (${(wallMs / 1000).toFixed(1)} s)`, ...sorted.map(caseLine)];
  for (const c of sorted) {
    for (const f of c.acceptedForgeries) lines.push(`  ${c.name}: ACCEPTED FORGERY: ${f}`);
    for (const o of c.outsideTouched) lines.push(`  ${c.name}: OUTSIDE TOUCHED: ${o}`);
    const others = c.problems.filter((p) => !p.startsWith('accepted forgery: ') && !p.startsWith('file outside'));
    for (const p of others.slice(0, 3)) lines.push(`  ${c.name}: problem: ${p.split('\n')[0]!.slice(0, 300)}`);
    if (others.length > 3) lines.push(`  ${c.name}: and ${others.length - 3} more problem(s)`);
    for (const n of c.notes) lines.push(`  ${c.name}: ${n}`);
  }
  if (t.failedCases > 0) lines.push(`${t.failedCases} case(s) failed`);
  lines.push(totalLine(t));
  return lines.join('\n');
}
