/**
 * Runs once around the whole adversarial suite: builds the CLI if a source is newer, makes
 * the ledger file every case appends its counts to (its path goes to the test workers in
 * SHARDVAULT_ADVERSARY_LEDGER; the CLI children never see it: test/helpers/cli.ts strips
 * SHARDVAULT_* from their environment), and at the end prints one line per case and
 *
 *   adversary: N cases, H hostile records written, F accepted forgeries, O files outside roots touched
 *
 * failing the run (exit status 1) when F or O is above 0. A throw from a global teardown
 * alone leaves vitest's exit status at 0, so the status is set too.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { ensureBuilt } from '../helpers/cli';
import { formatSummary, LEDGER_ENV, parseLedger, totals } from './ledger';

export default function setup(): () => void {
  ensureBuilt();
  const dir = mkdtempSync(nodePath.join(tmpdir(), 'shardvault-adversary-ledger-'));
  const ledger = nodePath.join(dir, 'cases.jsonl');
  writeFileSync(ledger, '');
  process.env[LEDGER_ENV] = ledger;
  const started = Date.now();
  return () => {
    const all = parseLedger(readFileSync(ledger, 'utf8'));
    rmSync(dir, { recursive: true, force: true });
    delete process.env[LEDGER_ENV];
    console.log(`\n${formatSummary(all, Date.now() - started)}\n`);
    const t = totals(all);
    if (t.acceptedForgeries > 0 || t.outsideTouched > 0) {
      process.exitCode = 1;
      throw new Error(
        `adversary suite: ${t.acceptedForgeries} accepted forgeries, ${t.outsideTouched} files outside roots touched`,
      );
    }
  };
}
