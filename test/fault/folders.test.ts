/**
 * Scenario 8: `kill -9` of the CLI at a seeded moment of `put DIR` and of `mv` of a folder
 * (issue 13). One commit each, so after every kill the tree is whole or absent, and a moved
 * folder is wholly under its old name or wholly under its new one; every file reads back byte
 * for byte under the names `ls` shows, and `verify` passes once `repair` has run.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt } from '../helpers/cli';
import { Rng, writeSeededFile } from './rng';
import { Stats } from './stats';
import { describeRun, FaultVault, parseJson, Scratch } from './vault';

const TRIALS = Number(process.env['SHARDVAULT_FAULT_FOLDER_TRIALS'] ?? 6);
const FILES = 12;

const stats = new Stats('8 kill -9 in put DIR and mv');
let root: Scratch;
let vault: FaultVault;
let rng: Rng;
/** Relative path -> SHA-256 of the tree every trial stores. */
const tree = new Map<string, string>();
let source: string;

beforeAll(async () => {
  ensureBuilt();
  root = await Scratch.create('shardvault-fault-folders-');
  const folders = await root.locations('locs', 3);
  vault = await FaultVault.init('folders', await root.dir('work'), folders, {
    policy: ['--data', '2', '--total', '3', '--threshold', '2'],
  });
  rng = Rng.for('folders');
  source = nodePath.join(vault.work, 'src', 'tree');
  for (let i = 0; i < FILES; i++) {
    const rel = `${i % 3 === 0 ? 'a/' : i % 3 === 1 ? 'a/b/' : ''}f${i}`;
    await fs.mkdir(nodePath.dirname(nodePath.join(source, rel)), { recursive: true });
    tree.set(rel, await writeSeededFile(nodePath.join(source, rel), rng.int(1, 200_000), rng.u32()));
  }
}, 120_000);

afterAll(async () => {
  stats.save(inject('faultStatsDir'));
  await root?.cleanup();
});

async function names(): Promise<string[]> {
  const args = ['ls', '--json'];
  const r = await vault.run(args);
  if (r.code !== 0) throw new Error(describeRun(args, r));
  return parseJson<{ name: string }[]>(args, r)
    .map((f) => f.name)
    .sort();
}

/** The names of the tree under `prefix`, as put DIR stores it. */
function expectedNames(prefix: string): string[] {
  return [...tree.keys()].map((rel) => `${prefix}${rel}`).sort();
}

/** Restores `prefix` and compares every file with the tree; counts what differs. */
async function checkRestore(prefix: string): Promise<void> {
  const out = nodePath.join(vault.work, 'out', `${prefix.replace(/\W/g, '_')}-${rng.u32()}`);
  const args = ['get', prefix, '--output', out, '--json'];
  const r = await vault.run(args);
  expect(r.code, describeRun(args, r)).toBe(0);
  const last = prefix.split('/').filter(Boolean).pop()!;
  for (const [rel, sha] of tree) {
    stats.filesChecked++;
    const got = await fs.readFile(nodePath.join(out, last, rel)).catch(() => null);
    if (got === null) stats.bytesLost++;
    else if (createHash('sha256').update(got).digest('hex') !== sha) stats.wrongBytes += got.length;
  }
  await fs.rm(out, { recursive: true, force: true });
}

describe('kill -9 in the middle of a folder command', () => {
  it('put DIR: the tree is whole or absent after every kill', async () => {
    const full = await vault.run(['put', source, '--name', 'probe', '--json']);
    expect(full.code, describeRun(['put'], full)).toBe(0);
    const span = full.ms;
    for (let t = 0; t < TRIALS; t++) {
      stats.trials++;
      const name = `cut${t}`;
      const r = await vault.run(['put', source, '--name', name, '--json'], { killAfterMs: rng.range(0.2, 1) * span });
      if (r.killed) stats.faults++;
      const held = (await names()).filter((n) => n.startsWith(`${name}/`));
      // One commit: all of it or none of it.
      expect([0, tree.size]).toContain(held.length);
      if (held.length > 0) {
        expect(held).toEqual(expectedNames(`${name}/`));
        await checkRestore(`${name}/`);
      } else {
        expect(r.code === 0 && !r.killed, describeRun(['put', name], r)).toBe(false);
      }
    }
  });

  it('mv of a folder: wholly under its old name or its new one after every kill', async () => {
    let at = 'probe/';
    for (let t = 0; t < TRIALS; t++) {
      stats.trials++;
      const to = `moved${t}/`;
      const probe = await vault.run(['mv', at, to, '--json']);
      expect(probe.code, describeRun(['mv'], probe)).toBe(0);
      const span = probe.ms;
      const back = `again${t}/`;
      const r = await vault.run(['mv', to, back, '--json'], { killAfterMs: rng.range(0.2, 1) * span });
      if (r.killed) stats.faults++;
      const now = await names();
      const underTo = now.filter((n) => n.startsWith(to));
      const underBack = now.filter((n) => n.startsWith(back));
      if (underBack.length > 0) {
        expect(underTo).toEqual([]);
        expect(underBack).toEqual(expectedNames(back));
        at = back;
      } else {
        expect(underTo).toEqual(expectedNames(to));
        at = to;
      }
      await checkRestore(at);
    }
    const repaired = await vault.repair(false);
    expect(repaired.run.code, describeRun(['repair'], repaired.run)).toBe(0);
    const verified = await vault.verify(false);
    expect(verified.run.code, describeRun(['verify'], verified.run)).toBe(0);
    expect(stats.bytesLost).toBe(0);
    expect(stats.wrongBytes).toBe(0);
  });
});
