/**
 * Scenario 3: a location that serves old versions. Location folders are copied aside, the
 * vault changes (put, replace, rm), the old copies are put back. Up to X of them: every file
 * still reads right, verify notices, repair brings them up to date. All of them: the
 * profile that saw the newer head refuses (rollback), never releasing the old bytes of a
 * replaced file. X + 1: what lost its newest shards fails cleanly; nothing else is lost.
 */
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt } from '../helpers/cli';
import { nameOf, restore, snapshot, vaultWithFiles } from './damage';
import { Rng } from './rng';
import { Stats } from './stats';
import { describeRun, errorCode, Scratch, type Expected, type FaultVault } from './vault';

const X = 2;
const SIZES = [1, 65537, 600 * 1024, 1024 * 1024 + 5];

const rollbackStats = new Stats('3 rollback');
let root: Scratch;

beforeAll(async () => {
  ensureBuilt();
  root = await Scratch.create('shardvault-fault-rollback-');
});

afterAll(async () => {
  rollbackStats.save(inject('faultStatsDir'));
  await root?.cleanup();
});

describe('3: a location that serves old versions', () => {
  /** Copies `which` aside, changes the vault, puts the old copies back. */
  async function rollBack(
    vault: FaultVault,
    locations: readonly string[],
    which: readonly number[],
    rng: Rng,
    tag: string,
  ): Promise<{ replaced: string; oldBytes: Expected; added: string; removed: string; newer: string[] }> {
    const aside = which.map((i) => nodePath.join(root.path, tag, `old-${i}`));
    for (const [j, i] of which.entries()) await snapshot(locations[i]!, aside[j]!);
    const names = [...vault.committed.keys()];
    const replaced = rng.pick(names);
    const removed = rng.pick(names.filter((n) => n !== replaced));
    const oldBytes = vault.committed.get(replaced)!;
    const next = await vault.newFile(rng.int(100_000, 1_500_000), rng.u32());
    const r1 = await vault.put(next.path, replaced, next.expected, { replace: true });
    const added = `${tag}-added`;
    await vault.putOk(rng.int(1, 800_000), rng.u32(), added);
    const r2 = await vault.run(['rm', removed]);
    if (r1.code !== 0 || r2.code !== 0) throw new Error(`${describeRun(['put'], r1)}; ${describeRun(['rm'], r2)}`);
    vault.committed.delete(removed);
    // The newer state, to bring back later where nothing else can.
    const newer = which.map((i) => nodePath.join(root.path, tag, `new-${i}`));
    for (const [j, i] of which.entries()) await snapshot(locations[i]!, newer[j]!);
    for (const [j, i] of which.entries()) await restore(aside[j]!, locations[i]!);
    rollbackStats.faults += which.length;
    rollbackStats.trials++;
    return { replaced, oldBytes, added, removed, newer };
  }

  for (const count of [1, X]) {
    it(`${count} location(s) rolled back: everything reads right, repair brings them up to date`, async () => {
      const rng = Rng.for(`rollback ${count}`);
      const { vault, locations } = await vaultWithFiles(root, `rb${count}`, rng, SIZES);
      const which = rng.sample([...locations.keys()], count);
      const { removed } = await rollBack(vault, locations, which, rng, `rb${count}-t`);
      const problems = await vault.checkAll(rollbackStats);
      // The removed file stays removed although its objects came back on the old copy.
      const gone = await vault.run(['get', removed, '--output', nodePath.join(vault.work, 'gone'), '--json']);
      if (errorCode(gone) !== 'not-found') problems.push(`removed ${removed} is back: ${describeRun(['get'], gone)}`);
      const noticed = await vault.verify(false);
      rollbackStats.note(
        `${count} location(s) rolled back: verify exit ${noticed.run.code} ` +
          `(${noticed.report?.problems.length ?? 0} problem(s) reported before repair)`,
      );
      const rep = await vault.repair(false);
      const ver = await vault.verify(true);
      if (rep.run.code !== 0 || ver.run.code !== 0)
        problems.push(`${describeRun(['repair'], rep.run)}; then ${describeRun(['verify', '--deep'], ver.run)}`);
      problems.push(...(await vault.checkAll(rollbackStats)));
      expect(problems, `seed ${inject('faultSeed')}, rolled back ${which.map(nameOf).join(', ')}`).toEqual([]);
    });
  }

  it('every location rolled back: the profile that saw newer refuses, never the old bytes; newer copies restore it', async () => {
    const rng = Rng.for('rollback all');
    const { vault, locations } = await vaultWithFiles(root, 'rball', rng, SIZES);
    const all = [...locations.keys()];
    const { replaced, oldBytes, added, newer } = await rollBack(vault, locations, all, rng, 'rball-t');
    const problems: string[] = [];
    // The old bytes of the replaced file would be wrong bytes: get must refuse instead.
    const got = await vault.get(replaced, [vault.committed.get(replaced)!], rollbackStats);
    problems.push(...got.problems);
    if (got.outcome !== 'failed' || errorCode(got.run) !== 'rollback')
      problems.push(`get ${replaced} after a full rollback: ${describeRun(['get'], got.run)}`);
    const ls = await vault.ls();
    if (errorCode(ls.run) !== 'rollback') problems.push(`ls after a full rollback: ${describeRun(['ls'], ls.run)}`);
    expect(oldBytes.sha256).not.toBe(vault.committed.get(replaced)!.sha256);
    // The newer copies come back (the right disks are plugged in again): all reads right.
    for (const [j, i] of all.entries()) await restore(newer[j]!, locations[i]!);
    problems.push(...(await vault.checkAll(rollbackStats)));
    expect(vault.committed.has(added)).toBe(true);
    const ver = await vault.verify(true);
    if (ver.run.code !== 0) problems.push(describeRun(['verify', '--deep'], ver.run));
    expect(problems, `seed ${inject('faultSeed')}`).toEqual([]);
  });

  it('X + 1 locations rolled back: files that lost their newest shards fail cleanly, never old bytes', async () => {
    const rng = Rng.for('rollback majority');
    const { vault, locations } = await vaultWithFiles(root, 'rbmaj', rng, SIZES);
    const which = rng.sample([...locations.keys()], X + 1);
    const { replaced, added, newer } = await rollBack(vault, locations, which, rng, 'rbmaj-t');
    const problems: string[] = [];
    // Beyond the policy: the new version of `replaced` and `added` may be unreadable, but
    // nothing else may be lost and nothing may come back wrong.
    const changed = new Set([replaced, added]);
    for (const [name, e] of [...vault.committed]) {
      const got = await vault.get(name, [e], rollbackStats);
      problems.push(...got.problems);
      if (got.outcome === 'failed' && !changed.has(name)) {
        rollbackStats.bytesLost += e.size;
        problems.push(`unchanged ${name} unreadable: ${describeRun(['get'], got.run)}`);
      }
    }
    for (const [j, i] of which.entries()) await restore(newer[j]!, locations[i]!);
    const rep = await vault.repair(false);
    if (rep.run.code !== 0) problems.push(describeRun(['repair'], rep.run));
    problems.push(...(await vault.checkAll(rollbackStats)));
    expect(problems, `seed ${inject('faultSeed')}, rolled back ${which.map(nameOf).join(', ')}`).toEqual([]);
  });
});
