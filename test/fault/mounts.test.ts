/**
 * Scenario 4: a full location and a read-only location, made with real mounts (tests run
 * as root, so chmod stops nothing): a 1 MiB tmpfs as one of five locations, and a folder
 * bind-mounted read-only over itself. A put needs every placement to succeed, so one that
 * doesn't fit fails with a clear error and leaves nothing visible (no file in `ls`, no
 * shard left behind); committed files still read; commits that need only X + 1 heads (rm)
 * go on. When a mount can't be made, the test says why and skips.
 */
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt } from '../helpers/cli';
import { bindReadOnly, mountTmpfs, unmount, unmountAll } from './mounts';
import { Rng } from './rng';
import { Stats } from './stats';
import { brief, describeRun, errorCode, FaultVault, parseJson, Scratch } from './vault';

const stats = new Stats('4 full / read-only');
let root: Scratch;

beforeAll(async () => {
  ensureBuilt();
  root = await Scratch.create('shardvault-fault-mounts-');
});

afterAll(async () => {
  unmountAll();
  stats.save(inject('faultStatsDir'));
  await root?.cleanup();
});

/** Every object path under each location folder (what a failed operation must not change). */
async function objects(locations: readonly string[], sub: string): Promise<string[]> {
  const out: string[] = [];
  for (const l of locations) {
    for (const name of await fs.readdir(nodePath.join(l, sub)).catch(() => [] as string[]))
      out.push(`${l}/${sub}/${name}`);
  }
  return out.sort();
}

/** A vault over four folders and a 1 MiB tmpfs (loc5) holding three small files; null when tmpfs can't be mounted. */
async function fullVault(label: string, rng: Rng): Promise<{ vault: FaultVault; all: string[]; tiny: string } | null> {
  const locations = await root.locations(label, 4);
  const tiny = await root.dir(label, 'tiny');
  const why = mountTmpfs(tiny, '1m');
  if (why) {
    stats.skip(`${label}: tmpfs mount failed (${why})`);
    return null;
  }
  const all = [...locations, tiny];
  const vault = await FaultVault.init(label, await root.dir(label, 'work'), all);
  for (let i = 0; i < 3; i++) await vault.putOk(rng.int(1, 200_000), rng.u32(), `small-${i}`);
  return { vault, all, tiny };
}

/** A vault over five folders with three files, one folder then made read-only; null when it can't be. */
async function readOnlyVault(
  label: string,
  rng: Rng,
): Promise<{ vault: FaultVault; all: string[]; ro: string } | null> {
  const all = await root.locations(label, 5);
  const vault = await FaultVault.init(label, await root.dir(label, 'work'), all);
  for (let i = 0; i < 3; i++) await vault.putOk(rng.int(1, 300_000), rng.u32(), `file-${i}`);
  const ro = all[rng.int(0, 4)]!;
  const why = bindReadOnly(ro);
  if (why) {
    stats.skip(`${label}: read-only bind mount failed (${why})`);
    return null;
  }
  return { vault, all, ro };
}

describe('4: a full location and a read-only location', () => {
  it('a 1 MiB tmpfs location: a put that does not fit fails, nothing half-written is visible', async (ctx) => {
    const rng = Rng.for('full tmpfs');
    const made = await fullVault('full', rng);
    if (!made) return ctx.skip();
    const { vault, all, tiny } = made;
    const problems: string[] = [];
    const shardsBefore = await objects(all, 'shards');
    const manifestsBefore = await objects(all, 'manifests');

    // 6 MiB over k = 3: a 2 MiB shard for the 1 MiB location.
    const big = await vault.newFile(6 * 1024 * 1024, rng.u32());
    const r = await vault.put(big.path, 'too-big', big.expected);
    stats.trials++;
    stats.faults++;
    stats.note(`put larger than the full location: ${brief(r)}`);
    if (r.code === 0) problems.push('a put whose shard cannot fit on a location succeeded');
    const ls = await vault.ls();
    if (!ls.files || ls.files.some((f) => f.name === 'too-big'))
      problems.push(`the failed put is visible: ${describeRun(['ls'], ls.run)}`);
    expect(await objects(all, 'shards')).toEqual(shardsBefore);
    expect(await objects(all, 'manifests')).toEqual(manifestsBefore);
    expect(await fs.readdir(nodePath.join(tiny, 'tmp'))).toEqual([]);
    problems.push(...(await vault.checkAll(stats)));

    // Filled to the last byte: puts fail, nothing of them visible; rm and get go on (rm needs
    // its head on X + 1 locations, not all); repair and verify pass once there is room.
    const filler = nodePath.join(tiny, 'filler');
    await fs.writeFile(filler, Buffer.alloc(2 * 1024 * 1024)).catch(() => undefined);
    stats.faults++;
    stats.trials++;
    const small = await vault.newFile(10_000, rng.u32());
    const r2 = await vault.put(small.path, 'while-full', small.expected);
    stats.note(`small put onto the full location: ${brief(r2)}`);
    if (r2.code === 0) problems.push('a put whose shard cannot be stored on a full location succeeded');
    const victim = [...vault.committed.keys()][0]!;
    const rm = await vault.run(['rm', victim, '--json']);
    if (rm.code === 0) vault.committed.delete(victim);
    else problems.push(`rm while one location is full: ${describeRun(['rm'], rm)}`);
    problems.push(...(await vault.checkAll(stats)));
    await fs.rm(filler);
    const rep = await vault.repair(false);
    const ver = await vault.verify(true);
    if (rep.run.code !== 0 || ver.run.code !== 0)
      problems.push(`${describeRun(['repair'], rep.run)}; ${describeRun(['verify', '--deep'], ver.run)}`);
    problems.push(...(await vault.checkAll(stats)));
    unmount(tiny);
    expect(problems, `seed ${inject('faultSeed')}`).toEqual([]);
  });

  // BUG: a put that does not fit on a location fails with {"code":"io","message":"the location
  // stopped reading"} (exit 1): the location's own error ("…: the location is full",
  // no-space) is replaced by the channel's. Repro: init over four folders and a 1 MiB tmpfs
  // (`mount -t tmpfs -o size=1m tmpfs DIR`), --survive 2 (k = 3), then `put` a 6 MiB file
  // with --json: the error names neither the location nor the full disk.
  it.skip('a put that does not fit names the full location (no-space)', async (ctx) => {
    const rng = Rng.for('full tmpfs message');
    const made = await fullVault('full-message', rng);
    if (!made) return ctx.skip();
    const big = await made.vault.newFile(6 * 1024 * 1024, rng.u32());
    const r = await made.vault.put(big.path, 'too-big', big.expected);
    unmount(made.tiny);
    expect(errorCode(r), describeRun(['put'], r)).toBe('no-space');
    expect(r.stdout).toMatch(/full/);
  });

  // BUG: when one location refuses a shard early (full, read-only), `put` dies of an unhandled
  // promise rejection: the process prints a raw stack trace ("ShardvaultError: …: the location
  // is full" / "permission denied (EROFS)" at LocalFolderNode.translate) instead of its --json
  // error, and writeShards' clean-up of the shards already stored does not run. Cause:
  // writeShards creates the upload promises up front and attaches no handler until the end.
  // Repro: a vault over five folders (--survive 2), `mount --bind L L; mount -o
  // remount,ro,bind L` on one of them, then `shardvault put FILE --json` with a 1 MiB FILE:
  // stdout is empty, stderr holds the stack trace (same with a full 1 MiB tmpfs and a 10 kB file).
  it.skip('a put refused by one location ends in its typed --json error, not an uncaught exception', async (ctx) => {
    const rng = Rng.for('read-only crash');
    const made = await readOnlyVault('ro-crash', rng);
    if (!made) return ctx.skip();
    const next = await made.vault.newFile(1024 * 1024, rng.u32());
    const r = await made.vault.put(next.path, 'onto-ro', next.expected);
    unmount(made.ro);
    expect(errorCode(r), describeRun(['put'], r)).toBe('permission');
    expect(r.stderr).not.toMatch(/at LocalFolderNode/);
  });

  it('a read-only location: puts fail, nothing visible; reads and rm go on; it catches up once writable', async (ctx) => {
    const rng = Rng.for('read-only');
    const made = await readOnlyVault('ro', rng);
    if (!made) return ctx.skip();
    const { vault, all, ro } = made;
    const problems: string[] = [];
    const shardsBefore = await objects(all, 'shards');
    const next = await vault.newFile(1024 * 1024, rng.u32());
    const r = await vault.put(next.path, 'onto-ro', next.expected);
    stats.trials++;
    stats.faults++;
    stats.note(`put with a read-only location: ${brief(r)}`);
    if (r.code === 0) problems.push('a put whose shard cannot be written succeeded');
    const ls = await vault.ls();
    if (!ls.files || ls.files.some((f) => f.name === 'onto-ro'))
      problems.push(`the failed put is visible: ${describeRun(['ls'], ls.run)}`);
    expect(await objects(all, 'shards')).toEqual(shardsBefore);
    problems.push(...(await vault.checkAll(stats)));

    // A read-only folder offered as a new location is refused; the list is unchanged.
    const extra = await root.dir('ro', 'extra');
    if (!bindReadOnly(extra)) {
      stats.faults++;
      const add = await vault.run(['location', 'add', `${extra}#extra`, '--json']);
      stats.note(`location add of a read-only folder: ${brief(add)}`);
      if (add.code === 0) problems.push('a read-only folder was added as a location');
      const list = parseJson<{ name: string }[]>(['location', 'list'], await vault.run(['location', 'list', '--json']));
      if (list.some((l) => l.name === 'extra')) problems.push('the read-only folder became a location');
      unmount(extra);
    }

    // rm commits on the writable locations; the read-only one keeps the removed file's objects.
    const victim = [...vault.committed.keys()][0]!;
    const rm = await vault.run(['rm', victim, '--json']);
    stats.note(`rm with a read-only location: ${brief(rm)}`);
    if (rm.code === 0) vault.committed.delete(victim);
    else problems.push(`rm with one read-only location: ${describeRun(['rm'], rm)}`);
    problems.push(...(await vault.checkAll(stats)));
    unmount(ro);
    const rep = await vault.repair(false);
    const ver = await vault.verify(true);
    if (rep.run.code !== 0 || ver.run.code !== 0)
      problems.push(`${describeRun(['repair'], rep.run)}; ${describeRun(['verify', '--deep'], ver.run)}`);
    problems.push(...(await vault.checkAll(stats)));
    expect(problems, `seed ${inject('faultSeed')}`).toEqual([]);
  });

  // BUG: offering a read-only folder to `location add` fails with {"code":"not-found",
  // "message":"DIR: shardvault.json does not exist"}: Node's recursive mkdir reports ENOENT
  // (not EROFS) on a read-only filesystem, and LocalFolderNode.put passes that on. Repro: a
  // vault, then `mkdir D; mount --bind D D; mount -o remount,ro,bind D; shardvault location
  // add D --json`.
  it.skip('a read-only folder offered as a new location is refused as read-only (permission)', async (ctx) => {
    const rng = Rng.for('read-only add');
    const made = await readOnlyVault('ro-add', rng);
    if (!made) return ctx.skip();
    unmount(made.ro);
    const extra = await root.dir('ro-add', 'extra');
    if (bindReadOnly(extra)) return ctx.skip();
    const add = await made.vault.run(['location', 'add', `${extra}#extra`, '--json']);
    unmount(extra);
    expect(errorCode(add), describeRun(['location add'], add)).toBe('permission');
  });
});
