/**
 * Scenario 2: locations that return wrong bytes. Random bytes flipped, objects truncated,
 * extended, replaced by noise or by another object of the same kind (a shard of another
 * file, another manifest) in stored shards, manifests and the head, on up to X locations
 * at once: `get` returns the right bytes or fails leaving no output; `verify --deep`
 * reports the damage; `repair --deep` rebuilds it. Beyond X: gets fail, never wrong bytes.
 */
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt } from '../helpers/cli';
import { MUTATIONS, mutate, nameOf, restore, snapshot, vaultWithFiles } from './damage';
import { Rng } from './rng';
import { LONG, Stats } from './stats';
import { describeRun, FaultVault, objectsIn, Scratch } from './vault';

const ROUNDS = LONG ? 60 : 8;
const OVER_ROUNDS = LONG ? 12 : 2;
const X = 2;
/** Sizes around the frame and segment edges, and a few MiB. */
const SIZES = [0, 1, 65536, 3 * 65536 + 1, 700 * 1024, 2 * 1024 * 1024 + 3];

const damageStats = new Stats('2 damaged bytes');
let root: Scratch;

beforeAll(async () => {
  ensureBuilt();
  root = await Scratch.create('shardvault-fault-damage-');
});

afterAll(async () => {
  damageStats.save(inject('faultStatsDir'));
  await root?.cleanup();
});

describe('2: damaged bytes on up to X locations', () => {
  it(`${ROUNDS} rounds of flips, truncations and swaps: right bytes or none; verify --deep reports; repair --deep fixes`, async () => {
    const rng = Rng.for('damage rounds');
    const { vault, locations } = await vaultWithFiles(root, 'rounds', rng, SIZES);
    const problems: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const where = rng.sample([...locations.keys()], rng.int(1, X));
      const done: string[] = [];
      let storedDamage = false;
      for (const i of where) {
        const loc = locations[i]!;
        const shards = await objectsIn(loc, 'shards');
        const manifests = await objectsIn(loc, 'manifests');
        const targets = rng.int(1, 3);
        for (let t = 0; t < targets; t++) {
          const what = rng.pick(['shard', 'shard', 'manifest', 'head'] as const);
          const kind = rng.pick(MUTATIONS);
          if (what === 'head') {
            done.push(`${nameOf(i)} head ${await mutate(rng, nodePath.join(loc, 'head'), kind)}`);
            continue;
          }
          const pool = what === 'shard' ? shards : manifests;
          if (pool.length === 0) continue;
          done.push(`${nameOf(i)} ${what} ${await mutate(rng, rng.pick(pool), kind, pool)}`);
          storedDamage = true;
        }
      }
      damageStats.faults += done.length;
      damageStats.trials++;
      const at = `round ${round} (${done.join('; ')})`;

      // Every file reads right, or its get fails and leaves nothing.
      for (const p of await vault.checkAll(damageStats, {}, { listing: 'get' })) problems.push(`${at}: ${p}`);

      // verify --deep reports shard and manifest damage, on the locations that hold it.
      const before = await vault.verify(true);
      if (storedDamage) {
        const reported = new Set(before.report?.problems.map((p) => p.location));
        const damaged = [
          ...new Set(done.filter((d) => !d.split(' ')[1]!.startsWith('head')).map((d) => d.split(' ')[0]!)),
        ];
        if (before.run.code !== 6 || !damaged.every((l) => reported.has(l))) {
          problems.push(
            `${at}: verify --deep did not report damage on ${damaged.join(', ')}: ${describeRun(['verify'], before.run)}`,
          );
        }
      }

      // repair --deep rebuilds it: verify --deep passes after.
      const rep = await vault.repair(true);
      const after = await vault.verify(true);
      if (rep.run.code !== 0 || after.run.code !== 0) {
        problems.push(
          `${at}: ${describeRun(['repair', '--deep'], rep.run)}; then ${describeRun(['verify', '--deep'], after.run)}`,
        );
      }
      console.log(`[damage] ${at}: verify ${before.run.code}, repair ${rep.run.code}, verify ${after.run.code}`);

      // The vault is in use between rounds: a put (it also writes the head everywhere again).
      await vault.putOk(rng.int(1, 300_000), rng.u32(), `round-${round}`);
      if (vault.committed.size > SIZES.length + 3) {
        const gone = rng.pick([...vault.committed.keys()].filter((n) => n.startsWith('round-')));
        const r = await vault.run(['rm', gone]);
        if (r.code === 0) vault.committed.delete(gone);
        else problems.push(`${at}: ${describeRun(['rm', gone], r)}`);
      }
    }
    for (const p of await vault.checkAll(damageStats)) problems.push(`final: ${p}`);
    expect(problems, `seed ${inject('faultSeed')}`).toEqual([]);
    expect(damageStats.wrongBytes).toBe(0);
    expect(damageStats.bytesLost).toBe(0);
  });

  it(`${OVER_ROUNDS} rounds with every shard damaged on X + 1 locations: gets fail cleanly, never wrong bytes`, async () => {
    const rng = Rng.for('damage over budget');
    const { vault, locations } = await vaultWithFiles(root, 'over', rng, SIZES);
    const problems: string[] = [];
    for (let round = 1; round <= OVER_ROUNDS; round++) {
      const where = rng.sample([...locations.keys()], X + 1);
      const aside = where.map((i) => nodePath.join(root.path, 'over', `aside-${i}`));
      for (const [j, i] of where.entries()) await snapshot(locations[i]!, aside[j]!);
      const kind = rng.pick(['flip', 'flip', 'truncate', 'noise', 'swap'] as const);
      for (const i of where) {
        const shards = await objectsIn(locations[i]!, 'shards');
        for (const s of shards) await mutate(rng, s, kind, shards);
        damageStats.faults += shards.length;
      }
      damageStats.trials++;
      const at = `over-budget round ${round} (${kind} every shard on ${where.map(nameOf).join(', ')})`;
      // A file that kept k good shards by chance (an empty file's shards, a no-op swap) may
      // still read; the rest must fail. Never wrong bytes.
      const wrongBefore = damageStats.wrongBytes;
      const files = [...vault.committed];
      let failed = 0;
      for (const [name, e] of files) {
        const got = await vault.get(name, [e], damageStats);
        problems.push(...got.problems.map((p) => `${at}: ${p}`));
        if (got.outcome === 'failed') failed++;
      }
      if (damageStats.wrongBytes !== wrongBefore) problems.push(`${at}: wrong bytes released`);
      const v = await vault.verify(true);
      if (v.run.code !== 6 || !v.report?.files.some((f) => f.health === 'lost')) {
        problems.push(`${at}: verify --deep does not report the lost files: ${describeRun(['verify'], v.run)}`);
      }
      console.log(`[damage] ${at}: ${failed} of ${files.length} gets failed cleanly, verify ${v.run.code}`);
      for (const [j, i] of where.entries()) await restore(aside[j]!, locations[i]!);
      for (const p of await vault.checkAll(damageStats)) problems.push(`${at}, restored: ${p}`);
    }
    expect(problems, `seed ${inject('faultSeed')}`).toEqual([]);
    expect(damageStats.wrongBytes).toBe(0);
  });

  // BUG: repair and verify --deep do not look inside key shares: a key share whose sealed
  // box is damaged still decodes, so repair reports "key shares: current" and does not
  // re-deal. The vault then no longer survives X lost locations. Repro: init over 5 folders
  // with --survive 2 --secret-against 2 (t = 3), put a file, XOR byte 100 (inside the
  // passphrase box) of keys/0000000001 on loc1 and loc2, run `repair --deep` (exit 0, "all
  // good") and `verify --deep` (exit 0), then rename loc3 and loc4 away: `get` fails with
  // "only 1 of the 3 key shares needed to unlock are reachable" (exit 4) — every committed
  // file unreadable with only X = 2 locations lost after a repair that said all good.
  it.skip('a damaged key share is noticed and re-dealt by repair: the vault still survives losing X locations', async () => {
    const rng = Rng.for('damage key shares');
    const locations = await root.locations(nodePath.join('keys', 'locs'), 5);
    const vault = await FaultVault.init('keys', await root.dir('keys', 'work'), locations);
    const e = await vault.putOk(100_000, rng.u32(), 'file');
    for (const loc of locations.slice(0, X)) {
      const [share] = await objectsIn(loc, 'keys');
      const bytes = await fs.readFile(share!);
      bytes[100] = bytes[100]! ^ 0x44;
      await fs.writeFile(share!, bytes);
      damageStats.faults++;
    }
    const rep = await vault.repair(true);
    expect(rep.run.code).toBe(0);
    for (const loc of locations.slice(X, 2 * X)) await fs.rename(loc, `${loc}.unplugged`);
    const got = await vault.get('file', [e], damageStats);
    expect(got.outcome, describeRun(['get'], got.run)).toBe('ok');
  });

  // BUG: repair does not write the vault head again where it is damaged (only a later
  // commit does), so head damage accumulates over repairs until no head is left. Repro:
  // init over 5 folders (--survive 2), put a file, flip a byte in the middle of `head` on
  // loc1 and loc2, `repair --deep` (exit 0, all good), flip a byte in `head` on loc3 and
  // loc4, `repair --deep` (exit 0, all good), rename loc5 away (one lost location): `get`
  // fails (the vault does not open: no readable head) although each fault touched at most
  // X = 2 locations and repair ran after each.
  it.skip('repair writes damaged heads again: head damage does not pile up across repairs', async () => {
    const rng = Rng.for('damage heads');
    const locations = await root.locations(nodePath.join('heads', 'locs'), 5);
    const vault = await FaultVault.init('heads', await root.dir('heads', 'work'), locations);
    const e = await vault.putOk(100_000, rng.u32(), 'file');
    for (const pair of [locations.slice(0, 2), locations.slice(2, 4)]) {
      for (const loc of pair) {
        await mutate(rng, nodePath.join(loc, 'head'), 'flip');
        damageStats.faults++;
      }
      const rep = await vault.repair(true);
      expect(rep.run.code).toBe(0);
    }
    await fs.rename(locations[4]!, `${locations[4]!}.unplugged`);
    const got = await vault.get('file', [e], damageStats);
    expect(got.outcome, describeRun(['get'], got.run)).toBe('ok');
  });
});
