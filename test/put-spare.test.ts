/**
 * A put whose shard can't be written to one location (issue 10, item 3): the shard goes to a
 * spare location (one holding none of the file's shards), or, when there is none, is held for
 * its location on a present one (staged/), and the put says what that cost. The built CLI over
 * real folders: a location whose shards/ folder is replaced by a file (refused even as root),
 * and, where this machine lets us mount one, a 1 MiB tmpfs that fills up mid-put.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlacementReport } from '../src/shared/api';
import { mountTmpfs, unmountAll } from './fault/mounts';
import { ensureBuilt, parseJson, runCli, sha256File, TempRoot, writeRandomFile, type CliResult } from './helpers/cli';

const PASS = 'spare placement passphrase';
let root: TempRoot;

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-put-spare-');
});

afterAll(async () => {
  unmountAll();
  await root?.cleanup();
});

async function vault(
  name: string,
  count: number,
  policy: readonly string[],
  prepare: (locations: string[]) => void = () => undefined,
) {
  const home = await root.dir(`${name}/home`);
  const locations = await root.locations(name, count);
  prepare(locations);
  const cli = (args: readonly string[]): Promise<CliResult> =>
    runCli(args, { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASS } });
  const specs = locations.flatMap((l, i) => ['--location', `${l}#loc${i + 1}`]);
  const init = await cli(['init', ...specs, ...policy, '--insecure-kdf-cost', '10', '--segment-size', '65536']);
  expect(init.code, init.stderr).toBe(0);
  return { locations, cli };
}

/** Makes a location refuse every shard: its shards/ folder becomes a file (root can't write through that either). */
async function refuseShards(location: string): Promise<void> {
  await fs.rm(nodePath.join(location, 'shards'), { recursive: true, force: true });
  await fs.writeFile(nodePath.join(location, 'shards'), 'not a folder');
}

async function readsBack(cli: (a: readonly string[]) => Promise<CliResult>, name: string, sha: string): Promise<void> {
  const out = nodePath.join(root.path, `${name}.out`);
  const got = await cli(['get', name, '--output', out, '--force']);
  expect(got.code, got.stderr).toBe(0);
  expect(await sha256File(out)).toBe(sha);
}

describe('a put that cannot write a shard to one location', () => {
  it('places it on a spare, and the file is whole there and reads back', async () => {
    // Six locations, n = 3: any three in a row take the shards, so exactly one of loc1 and
    // loc4 (three apart) is asked for one, and two of the three others are spares.
    const { locations, cli } = await vault('spare', 6, ['--data', '2', '--total', '3', '--threshold', '2']);
    await refuseShards(locations[0]!);
    await refuseShards(locations[3]!);
    const src = nodePath.join(root.path, 'spare.bin');
    const sha = await writeRandomFile(src, 700_000);
    const put = await cli(['put', src, '--json']);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stderr).toMatch(
      /loc[14] failed during the put \(.*\): shard \d went to loc[2356], a spare that held none of spare\.bin's shards/,
    );
    const entry = parseJson<{ health: string; survives: number }>(put);
    expect(entry).toMatchObject({ health: 'healthy', survives: 1 });
    const report = parseJson<PlacementReport>(await cli(['placement', 'spare.bin', '--json']));
    const holders = report.shards.flatMap((s) => s.locations.map((l) => l.name));
    expect(holders).toHaveLength(3);
    expect(new Set(holders).size).toBe(3);
    expect(holders).not.toContain('loc1');
    expect(holders).not.toContain('loc4');
    expect(report.shards.flatMap((s) => s.locations.map((l) => l.state))).toEqual(['ok', 'ok', 'ok']);
    await readsBack(cli, 'spare.bin', sha);
  }, 60_000);

  it('with no spare, holds it on a present location; repair moves it home once the location works', async () => {
    // Three locations, n = 3: every one takes a shard, so none is spare.
    // loc1 is a 1 MiB disk that fills up mid-put where this machine lets us mount one (root),
    // else a location that refuses outright.
    let full = false;
    const { locations, cli } = await vault('held', 3, ['--survive', '1', '--secret-against', '1'], (l) => {
      full = mountTmpfs(l[0]!, '1m') === null;
    });
    const broken = locations[0]!;
    if (!full) await refuseShards(broken);
    const src = nodePath.join(root.path, 'held.bin');
    const sha = await writeRandomFile(src, full ? 4 * 1024 * 1024 : 300_000);
    const put = await cli(['put', src, '--json']);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stderr).toMatch(
      /loc1 failed during the put \(.*\): shard \d waits on loc[23] for loc1 and moves there at the next put, rm or repair/,
    );
    if (full) expect(put.stderr).toMatch(/full/);
    expect(put.stderr).toMatch(/held\.bin survives no more losses/);
    expect(parseJson<{ health: string; survives: number }>(put)).toMatchObject({ health: 'degraded', survives: 0 });
    const report = parseJson<PlacementReport>(await cli(['placement', 'held.bin', '--json']));
    const staged = report.shards.flatMap((s) => s.locations.filter((l) => l.stagedFor === 'loc1'));
    expect(staged).toHaveLength(1);
    expect(staged[0]!.state).toBe('ok');
    await readsBack(cli, 'held.bin', sha);

    // The location works again: repair moves the held copy to it, byte for byte.
    if (full) expect(spawnSync('mount', ['-o', 'remount,size=16m', broken]).status).toBe(0);
    else await fs.rm(nodePath.join(broken, 'shards'), { recursive: true, force: true });
    const repaired = await cli(['repair', '--json']);
    expect(repaired.code, repaired.stderr).toBe(0);
    const after = parseJson<PlacementReport>(await cli(['placement', 'held.bin', '--json']));
    const loc1 = after.shards.flatMap((s) => s.locations.filter((l) => l.name === 'loc1'));
    expect(loc1).toEqual([{ name: 'loc1', state: 'ok' }]);
    expect(after.shards.flatMap((s) => s.locations.filter((l) => l.stagedFor !== undefined))).toEqual([]);
    await readsBack(cli, 'held.bin', sha);
  }, 60_000);
});
