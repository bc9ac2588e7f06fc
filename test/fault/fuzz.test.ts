/**
 * Scenario 7: every parser that reads what a location returns (location record, key share,
 * head, manifest, audit entry, profile; a WebDAV server's XML, multistatus and challenges)
 * fuzzed with random and mutated inputs: no crash, no hang, only typed errors. The
 * properties live in FILES; `vitest run` runs them at 2,000 inputs each. The long mode
 * (SHARDVAULT_FAULT_LONG=1) runs those files again here with SHARDVAULT_FUZZ_RUNS=100000;
 * CI mode skips it and says so.
 */
import { spawn } from 'node:child_process';
import * as nodePath from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ROOT } from '../helpers/cli';
import { LONG, Stats } from './stats';

const RUNS = 100_000;
const FILES = ['test/format.test.ts', 'test/webdav-parsers.test.ts'];
const stats = new Stats('7 parser fuzzing');

afterAll(() => {
  stats.save(inject('faultStatsDir'));
});

describe('7: parser fuzzing', () => {
  it(`${FILES.join(' and ')} with SHARDVAULT_FUZZ_RUNS=${RUNS} (long mode): typed errors only`, async (ctx) => {
    if (!LONG) {
      stats.skip(
        `CI mode: \`vitest run\` fuzzes each parser with 2,000 inputs (${FILES.join(', ')}); ` +
          `SHARDVAULT_FAULT_LONG=1 runs ${RUNS} here`,
      );
      return ctx.skip();
    }
    const vitest = nodePath.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
    const args = [vitest, 'run', ...FILES, '--testTimeout=1800000', '--reporter=verbose', '--no-color'];
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(process.execPath, args, {
        cwd: ROOT,
        env: { ...process.env, SHARDVAULT_FUZZ_RUNS: String(RUNS) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const chunks: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => chunks.push(b));
      child.stderr.on('data', (b: Buffer) => chunks.push(b));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, output: Buffer.concat(chunks).toString('utf8') }));
    });
    const fuzzed = output.split('\n').filter((l) => /✓.*mutated and random inputs give typed errors only/.test(l));
    stats.trials = fuzzed.length;
    stats.faults = fuzzed.length * RUNS;
    stats.note(`${fuzzed.length} parsers × ${RUNS} inputs, exit ${code}`);
    expect(code, output.slice(-4000)).toBe(0);
    expect(fuzzed.length, output.slice(-4000)).toBeGreaterThanOrEqual(9);
  });
});
