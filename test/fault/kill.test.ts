/**
 * Scenario 1: `kill -9` of the CLI at a seeded moment of put (a few MiB in 64 KiB frames),
 * put --replace, rm, repair (with damage to fix, so it writes), location add and location
 * remove (--untrusted rotates the vault key). After every kill: every file committed before
 * reads back byte for byte, the cut put is whole or absent from `ls`, the cut rm is gone or
 * whole, `repair` passes or fixes it and `verify` exits 0 after it. The dead process's
 * profile lock is taken over by the next command.
 *
 * Two lanes (two vaults) run side by side, each its own sequence of trials.
 */
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt } from '../helpers/cli';
import { Rng } from './rng';
import { LONG, Stats } from './stats';
import { describeRun, FaultVault, objectsIn, parseJson, Scratch, type Expected, type Pending, type Run } from './vault';

const TRIALS = Number(process.env['SHARDVAULT_FAULT_TRIALS'] ?? (LONG ? 300 : 50));
const LANES = Number(process.env['SHARDVAULT_FAULT_LANES'] ?? 3);
const MIN_FILES = 2;
const MAX_FILES = 5;

type Op = 'put' | 'replace' | 'rm' | 'repair' | 'location add' | 'location remove';

const stats = new Stats('1 kill -9');
let root: Scratch;

beforeAll(async () => {
  ensureBuilt();
  root = await Scratch.create('shardvault-fault-kill-');
});

afterAll(async () => {
  stats.save(inject('faultStatsDir'));
  await root?.cleanup();
});

interface LocationInfo {
  readonly name: string;
  readonly display: string;
}

class Lane {
  readonly problems: string[] = [];
  private readonly timings = new Map<Op, number>();
  private locations: LocationInfo[] = [];
  private extra = 0;
  private readonly counts = new Map<string, number>();
  private locksLeft = 0;

  constructor(
    readonly id: number,
    readonly vault: FaultVault,
    readonly rng: Rng,
    readonly base: string,
  ) {}

  static async create(id: number): Promise<Lane> {
    const base = await root.dir(`lane${id}`);
    const folders = await root.locations(nodePath.join(`lane${id}`, 'locs'), 5);
    const vault = await FaultVault.init(`lane ${id}`, nodePath.join(base, 'work'), folders);
    const lane = new Lane(id, vault, Rng.for(`kill lane ${id}`), base);
    await vault.putOk(1000, lane.rng.u32(), 'base-small');
    await vault.putOk(300 * 1024 + 7, lane.rng.u32(), 'base-mid');
    await vault.putOk(2 * 1024 * 1024, lane.rng.u32(), 'base-big');
    await lane.refreshLocations();
    return lane;
  }

  async refreshLocations(): Promise<void> {
    const args = ['location', 'list', '--json'];
    const r = await this.vault.run(args);
    if (r.code !== 0) throw new Error(describeRun(args, r));
    this.locations = parseJson<LocationInfo[]>(args, r);
  }

  private fail(text: string): void {
    this.problems.push(text);
    console.log(`[kill lane ${this.id}] PROBLEM ${text}`);
  }

  /** Runs each operation once unkilled: they work, and how long they take sets the kill window. */
  async calibrate(): Promise<void> {
    const time = async (op: Op, args: readonly string[], ok = [0]): Promise<void> => {
      const r = await this.vault.run(args);
      if (r.code === null || !ok.includes(r.code)) throw new Error(`calibration: ${describeRun(args, r)}`);
      this.timings.set(op, r.ms);
    };
    const big = await this.vault.newFile(3 * 1024 * 1024, this.rng.u32());
    await time('put', ['put', big.path, '--name', 'calibration', '--json']);
    const next = await this.vault.newFile(3 * 1024 * 1024, this.rng.u32());
    await time('replace', ['put', next.path, '--name', 'calibration', '--replace', '--json']);
    await time('rm', ['rm', 'calibration', '--json']);
    await this.damage(this.rng.sample(this.locations, 2));
    await time('repair', ['repair', '--json'], [0, 6]);
    const folder = await this.newLocationFolder();
    await time('location add', ['location', 'add', `${folder}#cal`, '--json']);
    await time('location remove', ['location', 'remove', 'cal', '--json']);
    await this.refreshLocations();
    const v = await this.vault.verify(false);
    if (v.run.code !== 0) throw new Error(`calibration left: ${describeRun(['verify'], v.run)}`);
    console.log(
      `[kill lane ${this.id}] unkilled durations: ${[...this.timings].map(([op, ms]) => `${op} ${Math.round(ms)} ms`).join(', ')}`,
    );
  }

  private async newLocationFolder(): Promise<string> {
    const dir = nodePath.join(this.base, 'extra', `x${++this.extra}`);
    await fs.mkdir(dir, { recursive: true });
    return dir;
  }

  /** Damage for repair to fix, on `where` (at most X = 2 locations): shards, a manifest, a key share. */
  private async damage(where: readonly LocationInfo[]): Promise<string[]> {
    const done: string[] = [];
    for (const l of where) {
      const shards = await objectsIn(l.display, 'shards');
      if (shards.length > 0) {
        const victim = this.rng.pick(shards);
        await fs.rm(victim);
        done.push(`rm ${l.name}/shards/${nodePath.basename(victim)}`);
      }
      const manifests = await objectsIn(l.display, 'manifests');
      if (manifests.length > 0 && this.rng.chance(0.5)) {
        const victim = this.rng.pick(manifests);
        await fs.rm(victim);
        done.push(`rm ${l.name}/manifests/${nodePath.basename(victim)}`);
      }
      const keys = await objectsIn(l.display, 'keys');
      if (keys.length > 0 && this.rng.chance(0.3)) {
        for (const k of keys) await fs.rm(k);
        done.push(`rm ${l.name}/keys/*`);
      }
    }
    stats.faults += done.length;
    return done;
  }

  private schedule(count: number): Op[] {
    const ops: Op[] = [];
    while (ops.length < count) {
      ops.push(...this.rng.shuffle<Op>(['put', 'put', 'replace', 'rm', 'repair', 'location add', 'location remove']));
    }
    return ops.slice(0, count);
  }

  async trials(count: number): Promise<void> {
    for (const [i, planned] of this.schedule(count).entries()) {
      await this.trial(i + 1, planned);
    }
  }

  /** Unkilled set-up that lets `op` run as planned: room for a put, a file to rm, a location to remove. */
  private async prepare(n: number, op: Op): Promise<void> {
    const v = this.vault;
    let args: string[] | null = null;
    let done: () => void = () => undefined;
    if (op === 'put' && v.committed.size >= MAX_FILES) {
      const name = this.rng.pick([...v.committed.keys()]);
      args = ['rm', name, '--json'];
      done = () => v.committed.delete(name);
    } else if ((op === 'rm' || op === 'replace') && v.committed.size <= MIN_FILES) {
      const { path, expected } = await v.newFile(this.rng.int(1, 500_000), this.rng.u32());
      const name = `s${this.id}-${n}`;
      args = ['put', path, '--name', name, '--json'];
      done = () => v.committed.set(name, expected);
    } else if (op === 'location add' && this.locations.length >= 6) {
      args = ['location', 'remove', this.rng.pick(this.locations).name, '--json'];
    } else if (op === 'location remove' && this.locations.length <= 5) {
      const folder = await this.newLocationFolder();
      args = ['location', 'add', `${folder}#x${this.extra}`, '--json'];
    }
    if (!args) return;
    const r = await v.run(args);
    if (r.code === 0) done();
    else this.fail(`lane ${this.id} trial ${n} set-up: ${describeRun(args, r)}`);
    if (op.startsWith('location')) await this.refreshLocations();
  }

  private async trial(n: number, op: Op): Promise<void> {
    const v = this.vault;
    await this.prepare(n, op);
    const files = [...v.committed.keys()];

    let args: string[];
    let pending: Pending = {};
    let onSuccess: () => void = () => undefined;
    let what = '';
    switch (op) {
      case 'put':
      case 'replace': {
        const size = this.rng.int(2 * 1024 * 1024, 4 * 1024 * 1024);
        const { path, expected } = await v.newFile(size, this.rng.u32());
        if (op === 'replace') {
          const name = this.rng.pick(files);
          const old = v.committed.get(name)!;
          args = ['put', path, '--name', name, '--replace', '--json'];
          pending = { alternatives: new Map<string, Expected[]>([[name, [old, expected]]]) };
          what = `${name} (${size} bytes over ${old.size})`;
          onSuccess = () => v.committed.set(name, expected);
        } else {
          const name = `p${this.id}-${n}`;
          args = ['put', path, '--name', name, '--json'];
          pending = { maybe: new Map([[name, expected]]) };
          what = `${name} (${size} bytes)`;
          onSuccess = () => v.committed.set(name, expected);
        }
        break;
      }
      case 'rm': {
        const name = this.rng.pick(files);
        args = ['rm', name, '--json'];
        pending = { gone: new Set([name]) };
        what = name;
        onSuccess = () => v.committed.delete(name);
        break;
      }
      case 'repair': {
        const damage = await this.damage(this.rng.sample(this.locations, this.rng.int(1, 2)));
        args = ['repair', ...(this.rng.chance(0.3) ? ['--deep'] : []), '--json'];
        what = damage.join(', ');
        break;
      }
      case 'location add': {
        const folder = await this.newLocationFolder();
        args = ['location', 'add', `${folder}#x${this.extra}`, '--json'];
        what = `x${this.extra}`;
        break;
      }
      case 'location remove': {
        const leaving = this.rng.pick(this.locations);
        args = ['location', 'remove', leaving.name, ...(this.rng.chance(0.3) ? ['--untrusted'] : []), '--json'];
        what = args.slice(2, -1).join(' ');
        break;
      }
    }

    const window = this.timings.get(op) ?? 1000;
    const delay = Math.round(window * this.rng.range(0.1, 1.1));
    const r = await v.run(args, { killAfterMs: delay, timeoutMs: 120_000 });
    stats.trials++;
    if (r.killed) stats.faults++;
    // The dead process's profile lock stays behind; the next command must take it over
    // (a busy exit there would show below as an unreadable file).
    if (r.killed && (await fs.stat(nodePath.join(v.home, 'profile.lock')).catch(() => null))) this.locksLeft++;
    const key = `${op}${r.killed ? ' killed' : ' completed'}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const where = `lane ${this.id} trial ${n} (${op} ${what}; kill at ${delay} ms of ~${Math.round(window)} ms)`;
    if (!r.killed) {
      const okCodes = op === 'repair' ? [0, 6] : [0];
      if (r.code === null || !okCodes.includes(r.code)) this.fail(`${where}: unkilled ${describeRun(args, r)}`);
      else {
        onSuccess();
        pending = {};
      }
    }

    // Every file committed before is readable and byte-identical; the cut operation is
    // whole or absent.
    for (const p of await v.checkAll(stats, pending, { listing: 'get' })) this.fail(`${where}: ${p}`);

    // repair passes or fixes it; verify exits 0 after it. Repair's report names the files of
    // the vault head: exactly the committed ones (the cut put whole or absent).
    const deep = n % 5 === 0;
    const rep = await v.repair(deep);
    if (!rep.report) this.fail(`${where}: ${describeRun(['repair'], rep.run)}`);
    else {
      const visible = rep.report.files.map((f) => f.name).sort();
      const committed = [...v.committed.keys()].sort();
      if (visible.join('\n') !== committed.join('\n'))
        this.fail(`${where}: the vault shows [${visible.join(', ')}], committed are [${committed.join(', ')}]`);
    }
    const ver = await v.verify(deep);
    if (ver.run.code !== 0) {
      this.fail(
        `${where}: verify${deep ? ' --deep' : ''} after repair: ${describeRun(['verify'], ver.run)}; ` +
          `repair said: ${rep.run.stdout.replace(/\s+/g, ' ').slice(0, 800)}`,
      );
    }
    if (op.startsWith('location'))
      await this.refreshLocations().catch((err: unknown) => this.fail(`${where}: ${(err as Error).message}`));
    console.log(
      `[kill lane ${this.id}] trial ${n}: ${op} ${what} ${r.killed ? `killed at ${delay} ms` : `completed (${describeShort(r)})`}; ` +
        `${v.committed.size} files, ${this.locations.length} locations; repair ${rep.run.code}, verify ${ver.run.code}`,
    );
  }

  async finalCheck(): Promise<void> {
    for (const p of await this.vault.checkAll(stats)) this.fail(`lane ${this.id} final: ${p}`);
    const ver = await this.vault.verify(true);
    if (ver.run.code !== 0) this.fail(`lane ${this.id} final verify --deep: ${describeRun(['verify'], ver.run)}`);
  }

  summary(): string {
    const ops = [...this.counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, c]) => `${k} ${c}`);
    return `${ops.join(', ')}; ${this.locksLeft} dead process lock(s) taken over`;
  }
}

function describeShort(r: Run): string {
  return `exit ${r.code}, ${Math.round(r.ms)} ms`;
}

describe('kill -9 at a random moment', () => {
  it(`${TRIALS} kill trials over put, replace, rm, repair, location add/remove lose nothing`, async () => {
    const lanes = await Promise.all(Array.from({ length: LANES }, (_, i) => Lane.create(i + 1)));
    await Promise.all(lanes.map((l) => l.calibrate()));
    const per = Math.ceil(TRIALS / LANES);
    await Promise.all(lanes.map((l, i) => l.trials(i === LANES - 1 ? TRIALS - per * (LANES - 1) : per)));
    await Promise.all(lanes.map((l) => l.finalCheck()));
    for (const l of lanes) stats.note(`lane ${l.id}: ${l.summary()}`);
    const problems = lanes.flatMap((l) => l.problems);
    expect(problems, `seed ${inject('faultSeed')}`).toEqual([]);
    expect(stats.bytesLost).toBe(0);
    expect(stats.wrongBytes).toBe(0);
    expect(stats.trials).toBeGreaterThanOrEqual(TRIALS);
  });
});
