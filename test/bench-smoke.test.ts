// A smoke run of `npm run bench` (scripts/bench.mjs): a small file, one run, Shardvault and
// the floor, which need nothing beyond the built CLI and coreutils; and --lag (curl). Not a timed test: it
// checks that the modes start and finish and that the report holds what a reader needs
// (both sides measured, the stored bytes of a 3-of-5 put, the ratio and the targets).
// The peers (rclone, restic, zfec, gfsplit) are measured by hand: they need packages.
import { spawnSync } from 'node:child_process';
import * as nodePath from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from './helpers/cli';

interface Side {
  readonly mbps: number;
  readonly bestSeconds: number;
}
interface Row {
  readonly id: string;
  readonly skipped: string | null;
  readonly error: string | null;
  readonly put: Side | null;
  readonly get: Side | null;
  readonly storedRatio: number | null;
  readonly shardvaultRatio: { put: number | null; get: number | null } | null;
}
interface Report {
  readonly tools: Row[];
  readonly targets: { peer: string; op: string; ratio: number | null }[];
  readonly machine: { loadAverage: number[]; alsoCli?: string };
}

function bench<R = Report>(args: readonly string[]): R {
  const r = spawnSync(process.execPath, [nodePath.join(ROOT, 'scripts', 'bench.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as R;
}

describe('npm run bench, smoke', () => {
  beforeAll(() => ensureBuilt(), 120_000);

  it('measures Shardvault, a second build of it and the floor in one run', () => {
    const bin = nodePath.join(ROOT, 'bin', 'shardvault.mjs');
    const report = bench([
      '--size',
      '1M',
      '--runs',
      '1',
      '--no-install',
      '--json',
      '--only',
      'shardvault,floor',
      '--also-cli',
      bin,
    ]);
    const row = (id: string): Row => report.tools.find((t) => t.id === id)!;
    expect(report.tools.map((t) => t.id)).toEqual(['shardvault', 'shardvault-base', 'floor']);
    for (const id of ['shardvault', 'shardvault-base', 'floor']) {
      expect(row(id).error).toBeNull();
      expect(row(id).put!.mbps).toBeGreaterThan(0);
      expect(row(id).get!.mbps).toBeGreaterThan(0);
    }
    // 3-of-5: five shards of a third each (Shardvault adds headers, tags and records).
    expect(row('floor').storedRatio).toBeCloseTo(5 / 3, 2);
    expect(row('shardvault').storedRatio).toBeGreaterThanOrEqual(5 / 3);
    const ratio = row('floor').shardvaultRatio!.put!;
    expect(ratio).toBeCloseTo(row('shardvault').put!.mbps / row('floor').put!.mbps, 1);
    expect(report.targets.find((t) => t.peer === 'floor' && t.op === 'put')?.ratio).toBe(ratio);
    expect(report.machine.alsoCli).toBe(bin);
  }, 180_000);

  it('--lag: puts through serve, its engine in a process of its own, under a busy loop', () => {
    interface LagPut {
      readonly engine: string;
      readonly via: string;
      readonly enginePids: number[];
      readonly roundTrips: { count: number; failures: number };
      readonly eventLoop: { samples: number; p99Ms: number };
    }
    const report = bench<{ puts: LagPut[]; config: { busyLoops: string } }>([
      '--lag',
      '--size',
      '1M',
      '--busy',
      '1',
      '--no-install',
      '--json',
    ]);
    expect(report.puts.map((p) => `${p.engine} ${p.via}`)).toEqual(['process upload', 'process path']);
    for (const put of report.puts) {
      // serve forked one engine host; the probe read serve's own event loop.
      expect(put.enginePids).toHaveLength(1);
      expect(put.roundTrips.count).toBeGreaterThan(0);
      expect(put.roundTrips.failures).toBe(0);
      expect(put.eventLoop.samples).toBeGreaterThan(0);
    }
    expect(report.config.busyLoops).toMatch(/^1 /);
  }, 180_000);
});
