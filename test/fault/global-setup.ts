/**
 * Runs once around the whole fault suite: picks the seed (SHARDVAULT_FAULT_SEED, else a
 * random one) and prints it, hands it and a folder for per-scenario counts to every test
 * file, and at the end prints one summary line per scenario and the total, failing the run
 * when any byte was lost or released wrong.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import type { TestProject } from 'vitest/node';
import { formatSummary, LONG, parseSeed, type ScenarioStats } from './stats';

declare module 'vitest' {
  export interface ProvidedContext {
    faultSeed: number;
    faultStatsDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  const given = process.env['SHARDVAULT_FAULT_SEED'];
  const seed = given ? parseSeed(given) : randomBytes(4).readUInt32BE(0);
  const statsDir = mkdtempSync(nodePath.join(tmpdir(), 'shardvault-fault-stats-'));
  project.provide('faultSeed', seed);
  project.provide('faultStatsDir', statsDir);
  console.log(
    `\nshardvault fault suite: seed ${seed} (${given ? 'from SHARDVAULT_FAULT_SEED' : 'random'}; ` +
      `replay with SHARDVAULT_FAULT_SEED=${seed}), ${LONG ? 'long' : 'CI'} mode\n`,
  );
  const started = Date.now();
  return () => {
    const all: ScenarioStats[] = [];
    for (const name of readdirSync(statsDir).sort()) {
      if (name.endsWith('.json'))
        all.push(JSON.parse(readFileSync(nodePath.join(statsDir, name), 'utf8')) as ScenarioStats);
    }
    rmSync(statsDir, { recursive: true, force: true });
    console.log(`\n${formatSummary(all, seed, Date.now() - started)}\n`);
    const lost = all.reduce((n, s) => n + s.bytesLost, 0);
    const wrong = all.reduce((n, s) => n + s.wrongBytes, 0);
    if (lost !== 0 || wrong !== 0) {
      // vitest 4 reports a throw from a global teardown but exits 0: set the status too.
      process.exitCode = 1;
      throw new Error(`fault suite (seed ${seed}): ${lost} byte(s) lost, ${wrong} wrong byte(s) released`);
    }
  };
}
