/**
 * The adversarial suite's harness (issue 9): vaults made with the real CLI over local folders,
 * a watch on every file outside the location roots, a per-case ledger of hostile records
 * written and forgeries accepted, and the attacker's toolkit: the engine's own format
 * functions (src/core), used the way a hostile location that knows the vault id, its own
 * location record and, where the threat model allows, the passphrase, can use them.
 *
 * A case is written with `adversaryCase(name, async (c) => { ... })`: `c.scene()` makes a
 * scratch tree (locations, machines, an outside tree), `scene.watch()` snapshots what lies
 * outside the location roots, `c.hostile(root)` hands out a location to attack (every record
 * it writes is counted), `c.forgery(accepted, what)` / `c.expect(ok, what)` note outcomes.
 * The case fails on any problem, and its counts reach the summary even when it fails.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { expect, it } from 'vitest';
import type { AccessRequest, FileEntry, RepairReport } from '../../src/shared/api';
import { openWithNonce, sealWithNonce } from '../../src/core/crypto/aead';
import { concat, fromHex, u32be, utf8 } from '../../src/core/crypto/bytes';
import { hkdf } from '../../src/core/crypto/kdf';
import { generateX25519 } from '../../src/core/crypto/sealed-box';
import { recoverChecked, splitSecret } from '../../src/core/crypto/shamir';
import { decodeHead, encodeHead, type Head, type LocationEntry, type Policy } from '../../src/core/format/head';
import { decodeManifest } from '../../src/core/format/manifest';
import {
  decodeKeyShare,
  decodeVaultRecord,
  keyShareHeader,
  PATHS,
  readManifestHeader,
  type KeyShareRecord,
  type VaultRecord,
} from '../../src/core/format/records';
import {
  deriveVaultKeys,
  keyCheckValue,
  newDealId,
  newVaultKey,
  passphraseKey,
  recoverVaultKey,
  type ShareFromLocation,
} from '../../src/core/vault/keys';
import { runCli, type CliResult } from '../helpers/cli';
import { appendCase, caseLine, type CaseRecord } from './ledger';

// ------------------------------------------------------------------ settings

/** Long enough that a passphrase-strength check has nothing to say about it. */
export const PASSPHRASE = 'hostile locations change nothing, 9 tests prove it';
/** Small segments: files of a few hundred KiB already span several frames. */
export const SEGMENT = 65536;

/**
 * The flags every `init` of this suite passes besides locations and policy: the cheap test
 * KDF, the one place that says so.
 */
export function initFlags(logN = 10): string[] {
  return ['--insecure-kdf-cost', String(logN)];
}

/** Policies in the user's words, by the shape they give with their number of locations. */
export const POLICIES = {
  /** 3 locations: k = 2 of n = 3, t = 2, survives losing X = 1. */
  '2-of-3': { locations: 3, t: 2, x: 1, args: ['--survive', '1', '--secret-against', '1'] },
  /** 5 locations: k = 3 of n = 5, t = 3, survives losing X = 2. */
  '3-of-5': { locations: 5, t: 3, x: 2, args: ['--survive', '2', '--secret-against', '2'] },
  /** 4 locations: k = 3 of n = 4, t = 2, survives losing X = 1 (t + X < m). */
  '2-of-4': { locations: 4, t: 2, x: 1, args: ['--survive', '1', '--secret-against', '1'] },
} as const;
export type PolicyName = keyof typeof POLICIES;

/** SHARDVAULT_ADVERSARY_KEEP=1 keeps every scratch tree; SHARDVAULT_ADVERSARY_TIMING=1 prints each CLI run's time. */
const KEEP = process.env['SHARDVAULT_ADVERSARY_KEEP'] === '1';
const TIMING = process.env['SHARDVAULT_ADVERSARY_TIMING'] === '1';

// ------------------------------------------------------------------ the case ledger

export class AdversaryCase {
  hostileRecords = 0;
  readonly acceptedForgeries: string[] = [];
  readonly outsideTouched: string[] = [];
  readonly problems: string[] = [];
  readonly notes: string[] = [];
  readonly scenes: Scene[] = [];
  /** Scenes that belong to a fixture: checked, not removed, at the end. */
  private readonly borrowed = new Set<Scene>();
  private readonly started = Date.now();

  constructor(readonly name: string) {}

  /** A hostile location wrote `count` records. */
  wrote(count = 1): void {
    this.hostileRecords += count;
  }

  /** `accepted`: the client followed a forged record (listed it, released its bytes, trusted it). */
  forgery(accepted: boolean, what: string): void {
    if (!accepted) return;
    this.acceptedForgeries.push(what);
    this.problems.push(`accepted forgery: ${what}`);
  }

  /** A plain expectation of the owner's outcome (availability, logging, a report). */
  expect(ok: boolean, what: string): void {
    if (!ok) this.problems.push(what);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** A scratch tree for this case, removed at its end (kept with SHARDVAULT_ADVERSARY_KEEP=1). */
  async scene(label: string): Promise<Scene> {
    const scene = await Scene.create(label);
    this.scenes.push(scene);
    return scene;
  }

  /** A fixture's scene, checked at the end of this case but left for the next one. */
  useScene(scene: Scene): void {
    if (!this.scenes.includes(scene)) this.scenes.push(scene);
    this.borrowed.add(scene);
  }

  /** Removes the scenes this case made (kept with SHARDVAULT_ADVERSARY_KEEP=1). */
  async cleanup(): Promise<void> {
    for (const s of this.scenes) {
      if (this.borrowed.has(s)) continue;
      if (KEEP) console.log(`  kept ${s.root}`);
      else await s.cleanup();
    }
  }

  /** A location the attacker controls: every record it writes counts. */
  hostile(root: string): HostileLocation {
    return new HostileLocation(root, this);
  }

  /** Compares every watched outside tree with its snapshot; called once at the end. */
  async checkOutside(): Promise<void> {
    for (const scene of this.scenes) {
      for (const path of await scene.touchedOutside()) {
        this.outsideTouched.push(path);
        this.problems.push(`file outside the location roots touched: ${path}`);
      }
    }
  }

  toRecord(): CaseRecord {
    return {
      name: this.name,
      hostileRecords: this.hostileRecords,
      acceptedForgeries: this.acceptedForgeries,
      outsideTouched: this.outsideTouched,
      problems: this.problems,
      notes: this.notes,
      durationMs: Date.now() - this.started,
    };
  }
}

/**
 * One adversarial case as a test: runs `body`, checks the outside trees, appends the case to
 * the ledger (also when it throws), and fails on any problem, listing them all.
 */
export function adversaryCase(name: string, body: (c: AdversaryCase) => Promise<void>, timeoutMs?: number): void {
  it(
    name,
    async () => {
      const c = new AdversaryCase(name);
      let thrown: Error | null = null;
      try {
        await body(c);
      } catch (err) {
        thrown = err instanceof Error ? err : new Error(String(err));
        c.problems.push(`the case stopped: ${(err as Error).stack ?? String(err)}`);
      }
      try {
        await c.checkOutside();
      } finally {
        const record = c.toRecord();
        appendCase(record);
        console.log(caseLine(record));
        for (const n of c.notes) console.log(`  ${n}`);
        await c.cleanup();
      }
      if (thrown && c.problems.length === 1) throw thrown;
      expect(c.problems, `${name}:\n  ${c.problems.join('\n  ')}`).toEqual([]);
    },
    timeoutMs,
  );
}

// ------------------------------------------------------------------ snapshots outside the roots

export type Snapshot = Map<string, string>;

/**
 * path (relative to `dir`) -> SHA-256 of every file under `dir`, skipping everything under
 * `skip` (absolute paths: the location roots, the machines' profiles and outputs). Symbolic
 * links are recorded by their target, not followed.
 */
export async function snapshotTree(dir: string, skip: readonly string[] = []): Promise<Snapshot> {
  const out: Snapshot = new Map();
  const skipped = (p: string): boolean => skip.some((s) => p === s || p.startsWith(`${s}${nodePath.sep}`));
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const full = nodePath.join(d, e.name);
      if (skipped(full)) continue;
      const rel = nodePath.relative(dir, full);
      if (e.isSymbolicLink()) out.set(rel, `symlink -> ${await fs.readlink(full)}`);
      else if (e.isDirectory()) {
        out.set(`${rel}/`, 'folder');
        await walk(full);
      } else if (e.isFile())
        out.set(
          rel,
          createHash('sha256')
            .update(await fs.readFile(full))
            .digest('hex'),
        );
      else out.set(rel, 'special file');
    }
  };
  await walk(dir);
  return out;
}

/** Paths added, removed or changed between two snapshots, in words. */
export function compareSnapshots(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  for (const [path, hash] of after) {
    const was = before.get(path);
    if (was === undefined) out.push(`${path} (added)`);
    else if (was !== hash) out.push(`${path} (changed)`);
  }
  for (const path of before.keys()) if (!after.has(path)) out.push(`${path} (removed)`);
  return out.sort();
}

/** compareSnapshots without the folders: the files added, removed or changed. */
export function changedFiles(before: Snapshot, after: Snapshot): string[] {
  return compareSnapshots(before, after).filter((p) => !/\/ \((added|removed|changed)\)$/.test(p));
}

// ------------------------------------------------------------------ scenes and machines

/**
 * A scratch tree on a memory file system where there is one:
 *
 *   locs/l1 ... lN         location roots (and siblings a test may add: backups, decoys)
 *   machines/NAME/{home,src,out}   a machine's profile, its input files, its get outputs
 *   outside/               files that belong to nobody here: the client must never touch them
 *
 * `watch()` snapshots everything but the location roots and the machines' folders; the case
 * compares at its end.
 */
export class Scene {
  private readonly roots = new Set<string>();
  private watched: Snapshot | null = null;

  private constructor(readonly root: string) {}

  static async create(label: string): Promise<Scene> {
    const shm = '/dev/shm';
    const base = (await fs
      .stat(shm)
      .then((s) => s.isDirectory())
      .catch(() => false))
      ? shm
      : tmpdir();
    const root = await fs.mkdtemp(nodePath.join(base, `shardvault-adv-${label.replace(/[^A-Za-z0-9-]+/g, '-')}-`));
    const scene = new Scene(root);
    await fs.mkdir(nodePath.join(root, 'outside', 'documents'), { recursive: true });
    await fs.writeFile(nodePath.join(root, 'outside', 'documents', 'letter.txt'), "not the vault's to touch\n");
    await fs.writeFile(nodePath.join(root, 'outside', 'shardvault.json'), '{"not": "a location"}\n');
    await fs.writeFile(nodePath.join(root, 'outside', 'head'), randomBytes(300));
    return scene;
  }

  /** `count` new empty location folders: locs/<prefix>1 ... */
  async locations(count: number, prefix = 'l'): Promise<string[]> {
    const out: string[] = [];
    for (let i = 1; i <= count; i++) {
      const path = nodePath.join(this.root, 'locs', `${prefix}${i}`);
      await fs.mkdir(path, { recursive: true });
      this.roots.add(path);
      out.push(path);
    }
    return out;
  }

  /** Declares a folder as a location root (not watched), e.g. one a test made itself. */
  addRoot(path: string): void {
    this.roots.add(nodePath.resolve(path));
  }

  machine(name: string, passphrase = PASSPHRASE): Machine {
    return new Machine(nodePath.join(this.root, 'machines', name), passphrase);
  }

  private skipped(): string[] {
    return [...this.roots].flatMap((r) => [r, `${r}.unplugged`]).concat(nodePath.join(this.root, 'machines'));
  }

  /** Snapshots everything outside the location roots and machines, to compare at the case's end. */
  async watch(): Promise<void> {
    this.watched = await snapshotTree(this.root, this.skipped());
  }

  async touchedOutside(): Promise<string[]> {
    if (!this.watched) return [];
    return compareSnapshots(this.watched, await snapshotTree(this.root, this.skipped()));
  }

  async cleanup(): Promise<void> {
    await fs.rm(this.root, { recursive: true, force: true });
  }
}

export interface Expected {
  readonly sha256: string;
  readonly size: number;
}

export interface InitResult {
  readonly vaultId: string;
  readonly recoveryCode: string;
  readonly threshold: number;
  readonly survives: number;
  /** The vault key fingerprint the recovery kit prints. */
  readonly fingerprint: string;
}

export interface GetOutcome {
  readonly run: CliResult;
  /** SHA-256 and size of what `get` wrote, when it succeeded. */
  readonly got: Expected | null;
  /** A failed get that left its output or a temporary part behind (plaintext on disk). */
  readonly leftBehind: string[];
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A machine with a profile of its own (SHARDVAULT_HOME), driving the built CLI. */
export class Machine {
  readonly home: string;
  readonly src: string;
  readonly out: string;
  /** What this machine was told is committed, by name (the model `checkVault` compares to). */
  readonly committed = new Map<string, Expected>();
  private files = 0;

  constructor(
    readonly dir: string,
    public passphrase: string,
  ) {
    this.home = nodePath.join(dir, 'home');
    this.src = nodePath.join(dir, 'src');
    this.out = nodePath.join(dir, 'out');
  }

  env(extra: Readonly<Record<string, string | undefined>> = {}): Record<string, string | undefined> {
    return { SHARDVAULT_HOME: this.home, SHARDVAULT_PASSPHRASE: this.passphrase, ...extra };
  }

  async run(
    args: readonly string[],
    opts: { env?: Readonly<Record<string, string | undefined>>; timeoutMs?: number } = {},
  ): Promise<CliResult> {
    await fs.mkdir(this.dir, { recursive: true });
    const t0 = performance.now();
    const r = await runCli(args, { env: this.env(opts.env), cwd: this.dir, timeoutMs: opts.timeoutMs ?? 90_000 });
    if (TIMING) console.log(`[adversary] ${args[0]} ${Math.round(performance.now() - t0)} ms`);
    return r;
  }

  /**
   * `init` over `locations` with the suite's flags; throws unless it succeeds. `policy` is a
   * shape of POLICIES or the policy flags themselves (`['--data', '2', '--total', '3', ...]`).
   */
  async init(
    locations: readonly string[],
    policy: PolicyName | readonly string[],
    opts: { logN?: number } = {},
  ): Promise<InitResult> {
    const args = [
      'init',
      ...locations.flatMap((l) => ['--location', l]),
      ...(typeof policy === 'string' ? POLICIES[policy].args : policy),
      ...initFlags(opts.logN),
      '--segment-size',
      String(SEGMENT),
      '--json',
    ];
    const r = await this.run(args);
    if (r.code !== 0) throw new Error(`init failed: ${describe(args, r)}`);
    const v = JSON.parse(r.stdout) as {
      vault: { id: string; threshold: number };
      survives: number;
      recoveryCode: string;
      fingerprint: string;
    };
    return {
      vaultId: v.vault.id,
      recoveryCode: v.recoveryCode,
      threshold: v.vault.threshold,
      survives: v.survives,
      fingerprint: v.fingerprint,
    };
  }

  /** `open` (attach this machine) over `locations`, in that order. */
  open(
    locations: readonly string[],
    opts: { recoveryCode?: string; passphrase?: string; expectFingerprint?: string } = {},
  ): Promise<CliResult> {
    const args = ['open', ...locations.flatMap((l) => ['--location', l])];
    if (opts.recoveryCode !== undefined) args.push('--recovery');
    if (opts.expectFingerprint !== undefined) args.push('--expect-fingerprint', opts.expectFingerprint);
    args.push('--json');
    return this.run(args, {
      env: {
        ...(opts.recoveryCode !== undefined ? { SHARDVAULT_RECOVERY_CODE: opts.recoveryCode } : {}),
        ...(opts.passphrase !== undefined ? { SHARDVAULT_PASSPHRASE: opts.passphrase } : {}),
      },
    });
  }

  /** A new input file of `size` random bytes (or the bytes given). */
  async newFile(content: number | Uint8Array): Promise<{ path: string; expected: Expected }> {
    await fs.mkdir(this.src, { recursive: true });
    const bytes = typeof content === 'number' ? randomBytes(content) : content;
    const path = nodePath.join(this.src, `f${++this.files}-${randomBytes(4).toString('hex')}`);
    await fs.writeFile(path, bytes);
    return { path, expected: { sha256: sha256(bytes), size: bytes.length } };
  }

  /** `put`; on success the file joins `committed`. */
  async put(name: string, content: number | Uint8Array, opts: { replace?: boolean } = {}): Promise<CliResult> {
    const { path, expected } = await this.newFile(content);
    const r = await this.run(['put', path, '--name', name, ...(opts.replace ? ['--replace'] : []), '--json']);
    if (r.code === 0) this.committed.set(name, expected);
    return r;
  }

  /** `put` that must succeed. */
  async putOk(name: string, content: number | Uint8Array, opts: { replace?: boolean } = {}): Promise<Expected> {
    const r = await this.put(name, content, opts);
    if (r.code !== 0) throw new Error(`put ${name} failed: ${describe(['put', name], r)}`);
    return this.committed.get(name)!;
  }

  async rmOk(name: string): Promise<void> {
    const r = await this.run(['rm', name, '--json']);
    if (r.code !== 0) throw new Error(`rm ${name} failed: ${describe(['rm', name], r)}`);
    this.committed.delete(name);
  }

  async ls(): Promise<{ run: CliResult; files: FileEntry[] | null }> {
    const run = await this.run(['ls', '--json']);
    return { run, files: run.code === 0 ? (JSON.parse(run.stdout) as FileEntry[]) : null };
  }

  /** `get NAME` into a fresh path; the output is hashed and removed. */
  async get(name: string): Promise<GetOutcome> {
    await fs.mkdir(this.out, { recursive: true });
    const target = nodePath.join(this.out, `get-${++this.files}`);
    const run = await this.run(['get', name, '--output', target, '--json']);
    let got: Expected | null = null;
    const leftBehind: string[] = [];
    if (run.code === 0) {
      const bytes = await fs.readFile(target).catch(() => null);
      got = bytes ? { sha256: sha256(bytes), size: bytes.length } : null;
    } else {
      for (const f of await fs.readdir(this.out))
        if (f === nodePath.basename(target) || f.endsWith('.part')) leftBehind.push(f);
    }
    await fs.rm(this.out, { recursive: true, force: true });
    return { run, got, leftBehind };
  }

  async log(): Promise<{ run: CliResult; requests: AccessRequest[] | null; problems: string[] }> {
    const run = await this.run(['log', '--json']);
    const problems = run.stderr
      .split('\n')
      .filter((l) => l.includes('audit log:'))
      .map((l) => l.trim());
    return { run, requests: run.code === 0 ? (JSON.parse(run.stdout) as AccessRequest[]) : null, problems };
  }

  async repair(): Promise<{ run: CliResult; report: RepairReport | null }> {
    const run = await this.run(['repair', '--json']);
    let report: RepairReport | null = null;
    try {
      const parsed = JSON.parse(run.stdout) as RepairReport | { error: unknown };
      if (!('error' in parsed)) report = parsed;
    } catch {
      report = null;
    }
    return { run, report };
  }

  async profile(): Promise<ProfileJson> {
    return JSON.parse(await fs.readFile(nodePath.join(this.home, 'profile.json'), 'utf8')) as ProfileJson;
  }
}

export interface ProfileJson {
  vaultId: string;
  device: { id: string; name: string };
  kdf: { logN: number; r: number; p: number };
  salt: string;
  lastHeadCounter: number;
  locations: { id: string; name: string; spec: string }[];
  logTip: { seq: number; hash: string };
}

/** One line about a CLI run, for problem reports. */
export function describe(args: readonly string[], r: CliResult): string {
  const text = `${r.stderr}${r.stdout}`.trim().replace(/\s+/g, ' ').slice(0, 500);
  return `\`shardvault ${args.join(' ')}\`: exit ${r.code}${text ? `: ${text}` : ''}`;
}

/** The `{error: {code}}` of a failed --json command. */
export function errorCode(r: CliResult): string | null {
  try {
    const v = JSON.parse(r.stdout) as { error?: { code?: unknown } };
    return typeof v.error?.code === 'string' ? v.error.code : null;
  } catch {
    return null;
  }
}

export interface CheckOptions {
  /** `ls` may refuse (non-zero exit) when its message names one of these (a hostile location). */
  readonly refusalMayName?: readonly string[];
  /** A get may refuse instead of returning the bytes (never return other bytes). */
  readonly getMayRefuse?: boolean;
  /** A label for the problems. */
  readonly label?: string;
  /** Read back only these committed files (a second viewpoint need not read everything). */
  readonly only?: readonly string[];
}

/**
 * The owner's listing: `ls` lists exactly the committed files, or refuses (non-zero exit)
 * naming a hostile location when the options allow it. Listing other files, or succeeding
 * without committed ones, is following a forged (or rolled back) state.
 */
export async function checkListing(c: AdversaryCase, m: Machine, opts: CheckOptions = {}): Promise<boolean> {
  const label = opts.label ? `${opts.label}: ` : '';
  const { run, files } = await m.ls();
  if (files) {
    const listed = new Set(files.map((f) => f.name));
    for (const name of listed)
      c.forgery(!m.committed.has(name), `${label}ls lists ${JSON.stringify(name)}, which the owner never committed`);
    for (const name of m.committed.keys())
      c.forgery(!listed.has(name), `${label}ls succeeds without committed file ${JSON.stringify(name)}`);
    return true;
  }
  const text = `${run.stderr}${run.stdout}`;
  const named = (opts.refusalMayName ?? []).some((n) => text.includes(n));
  c.expect(named, `${label}ls failed without naming a hostile location: ${describe(['ls'], run)}`);
  return false;
}

/**
 * `get` of every committed file returns exactly its bytes (or, when the options allow it,
 * refuses); other bytes, or a failed get that leaves output behind, is a released forgery.
 */
export async function checkGets(c: AdversaryCase, m: Machine, opts: CheckOptions = {}): Promise<void> {
  const label = opts.label ? `${opts.label}: ` : '';
  for (const [name, expected] of m.committed) {
    if (opts.only && !opts.only.includes(name)) continue;
    const g = await m.get(name);
    if (g.run.code === 0) {
      const right = g.got?.sha256 === expected.sha256 && g.got.size === expected.size;
      c.forgery(
        !right,
        `${label}get ${name} released ${g.got?.size ?? 'no'} bytes (sha256 ${g.got?.sha256.slice(0, 16) ?? '-'}…) ` +
          `instead of the committed ${expected.size} bytes`,
      );
    } else {
      c.forgery(g.leftBehind.length > 0, `${label}get ${name} failed but left ${g.leftBehind.join(', ')} behind`);
      c.expect(!!opts.getMayRefuse, `${label}get ${name} failed: ${describe(['get', name], g.run)}`);
    }
  }
}

/** Both: the listing, then every committed file byte for byte. */
export async function checkVault(c: AdversaryCase, m: Machine, opts: CheckOptions = {}): Promise<void> {
  await checkListing(c, m, opts);
  await checkGets(c, m, opts);
}

// ------------------------------------------------------------------ a vault shared by the cases of a file

export interface Fresh {
  readonly scene: Scene;
  readonly owner: Machine;
  readonly locs: string[];
  readonly vaultId: string;
  readonly recoveryCode: string;
  /** The owner's vault key fingerprint (from init): what a careful new machine checks. */
  readonly fingerprint: string;
  /** The location ids, in the order of `locs`. */
  readonly ids: string[];
  /** Copies of the locations as they were after setup (to roll a location back to). */
  readonly pristine: string[];
  /** A second vault made with the same passphrase by someone else (a hostile location's own). */
  readonly other: { readonly locs: string[]; readonly vaultId: string; readonly machine: Machine } | null;
}

export interface FixtureOptions {
  /** The files put at setup, by name and size. */
  readonly files?: Readonly<Record<string, number>>;
  /** The scrypt cost of the vault (2^logN). */
  readonly logN?: number;
  /** Also make a second vault (3 folders, 2-of-3, the same passphrase, one file). */
  readonly otherVault?: boolean;
  /**
   * Copy the location of this index, after setup, to outside/backup-of-loc<i+1>: the copy a
   * user keeps of a disk (or made to move a location), outside every location root.
   */
  readonly backupOf?: number;
}

type FixtureBase = Omit<Fresh, 'scene' | 'owner' | 'other'> & {
  readonly other: { readonly locs: string[]; readonly vaultId: string } | null;
};

/**
 * One vault (init and a few puts through the CLI) made once for a test file and put back
 * before each case: the scene's whole tree is copied aside after setup and restored at the
 * same paths (the profile and the heads name them), so every case starts from the same
 * committed state at the cost of a copy instead of a dozen CLI runs.
 */
export class VaultFixture {
  private constructor(
    private readonly scene: Scene,
    private readonly pristineRoot: string,
    private readonly base: FixtureBase,
    private readonly committed: ReadonlyMap<string, Expected>,
  ) {}

  static async create(label: string, policy: PolicyName, opts: FixtureOptions = {}): Promise<VaultFixture> {
    const scene = await Scene.create(label);
    const locs = await scene.locations(POLICIES[policy].locations);
    const owner = scene.machine('owner');
    const { vaultId, recoveryCode, fingerprint } = await owner.init(
      locs,
      policy,
      opts.logN !== undefined ? { logN: opts.logN } : {},
    );
    for (const [name, size] of Object.entries(opts.files ?? { 'letters/2026.txt': 70_001, empty: 0 }))
      await owner.putOk(name, size);
    const ids = (await owner.profile()).locations.map((l) => l.id);
    let other: FixtureBase['other'] = null;
    if (opts.otherVault) {
      const theirs = await scene.locations(3, 'b');
      const machine = scene.machine('other');
      const made = await machine.init(theirs, '2-of-3');
      await machine.putOk('letters/2026.txt', 70_001);
      other = { locs: theirs, vaultId: made.vaultId };
    }
    if (opts.backupOf !== undefined)
      await copyTree(locs[opts.backupOf]!, nodePath.join(scene.root, 'outside', `backup-of-loc${opts.backupOf + 1}`));
    const pristineRoot = await fs.mkdtemp(nodePath.join(nodePath.dirname(scene.root), 'shardvault-adv-pristine-'));
    await fs.cp(scene.root, pristineRoot, { recursive: true, preserveTimestamps: true });
    const pristine = locs.map((l) => nodePath.join(pristineRoot, nodePath.relative(scene.root, l)));
    return new VaultFixture(
      scene,
      pristineRoot,
      { locs, vaultId, recoveryCode, fingerprint, ids, pristine, other },
      new Map(owner.committed),
    );
  }

  /** The vault as committed at setup, at the same paths, watched for this case. */
  async fresh(c: AdversaryCase): Promise<Fresh> {
    await fs.rm(this.scene.root, { recursive: true, force: true });
    await fs.cp(this.pristineRoot, this.scene.root, { recursive: true, preserveTimestamps: true });
    c.useScene(this.scene);
    const owner = this.scene.machine('owner');
    for (const [name, e] of this.committed) owner.committed.set(name, e);
    await this.scene.watch();
    const b = this.base;
    return {
      ...b,
      locs: [...b.locs],
      ids: [...b.ids],
      pristine: [...b.pristine],
      scene: this.scene,
      owner,
      other: b.other ? { ...b.other, machine: this.scene.machine('other') } : null,
    };
  }

  async cleanup(): Promise<void> {
    if (KEEP) {
      console.log(`kept ${this.scene.root}`);
      return;
    }
    await this.scene.cleanup();
    await fs.rm(this.pristineRoot, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ locations on disk

/** Renames a location folder away (an unplugged disk); returns the function that plugs it back. */
export async function unplug(location: string): Promise<() => Promise<void>> {
  const away = `${location}.unplugged`;
  await fs.rename(location, away);
  return () => fs.rename(away, location);
}

/** Copies a folder tree (a location as it is now, to bring back later). */
export async function copyTree(from: string, to: string): Promise<void> {
  await fs.rm(to, { recursive: true, force: true });
  await fs.cp(from, to, { recursive: true, preserveTimestamps: true });
}

export async function readRecord(root: string): Promise<VaultRecord> {
  return decodeVaultRecord(await fs.readFile(nodePath.join(root, PATHS.vault)));
}

/** Every key share record on a location folder. */
export async function keySharesIn(root: string): Promise<KeyShareRecord[]> {
  const dir = nodePath.join(root, PATHS.keysDir);
  const out: KeyShareRecord[] = [];
  for (const name of (await fs.readdir(dir).catch(() => [] as string[])).sort()) {
    try {
      out.push(decodeKeyShare(await fs.readFile(nodePath.join(dir, name))));
    } catch {
      // not a key share: the client skips it too
    }
  }
  return out;
}

/** The passphrase key of a vault with the given record's salt and cost. */
export function pkOf(record: VaultRecord, passphrase: string): Promise<Uint8Array> {
  return passphraseKey(passphrase, record.salt, record.kdf);
}

/**
 * What the owner's passphrase unlocks from the key shares on `roots` (as the engine does it),
 * or the error: used to check which subsets of locations still unlock the vault.
 */
export async function unlockFrom(
  roots: readonly string[],
  vaultId: string,
  pk: Uint8Array,
): Promise<{ vk: Uint8Array; generation: number } | { error: string }> {
  const shares: ShareFromLocation[] = [];
  for (const root of roots) {
    const record = await readRecord(root);
    for (const share of await keySharesIn(root)) shares.push({ locationId: record.locationId, record: share });
  }
  try {
    const { vk, generation } = await recoverVaultKey(vaultId, shares, { kind: 'passphrase', key: new Uint8Array(pk) });
    return { vk, generation };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

// ------------------------------------------------------------------ the attacker's toolkit

/** A location folder in the attacker's hands: it writes only inside its own root. */
export class HostileLocation {
  constructor(
    readonly root: string,
    private readonly c: AdversaryCase,
  ) {}

  record(): Promise<VaultRecord> {
    return readRecord(this.root);
  }

  path(rel: string): string {
    return nodePath.join(this.root, ...rel.split('/'));
  }

  async read(rel: string): Promise<Uint8Array> {
    return new Uint8Array(await fs.readFile(this.path(rel)));
  }

  /** Object paths directly inside `dir` ('keys', 'manifests', ...), sorted. */
  async list(dir: string): Promise<string[]> {
    const names = await fs.readdir(this.path(dir)).catch(() => [] as string[]);
    return names.sort().map((n) => `${dir}/${n}`);
  }

  /** Writes (or replaces) one record; counted as a hostile record. */
  async write(rel: string, bytes: Uint8Array | string): Promise<void> {
    const full = this.path(rel);
    await fs.mkdir(nodePath.dirname(full), { recursive: true });
    await fs.writeFile(full, bytes);
    this.c.wrote();
  }

  /** Puts back a whole earlier copy of this location (a rollback); counts every record it changes. */
  async restore(copy: string): Promise<void> {
    const before = await snapshotTree(this.root);
    const old = await snapshotTree(copy);
    await fs.rm(this.root, { recursive: true, force: true });
    await fs.cp(copy, this.root, { recursive: true, preserveTimestamps: true });
    this.c.wrote(changedFiles(before, old).length);
  }
}

const info = (purpose: string, ...parts: Uint8Array[]): Uint8Array =>
  concat(utf8(`shardvault/v1/${purpose}`), ...parts);

/**
 * The key that seals a key share's box (docs/FORMAT.md, "Keys"): HKDF of the passphrase key
 * (or the recovery key) bound to vault, location and generation. All public but the root.
 */
export function shareBoxKey(
  root: Uint8Array,
  kind: 'passphrase' | 'recovery',
  vaultId: string,
  locationId: string,
  generation: number,
): Uint8Array {
  return hkdf(
    root,
    fromHex(vaultId, 'vaultId', 16),
    info(`share-${kind}`, fromHex(locationId, 'locationId', 16), u32be(generation)),
  );
}

export interface ShareSpec {
  readonly vaultId: string;
  readonly generation: number;
  readonly threshold: number;
  readonly total: number;
  /** The location id the record claims (and its boxes are bound to). */
  readonly locationId: string;
  /** The deal id the record claims (version 2 shares carry one). */
  readonly dealId: string;
  readonly kcv: Uint8Array;
  /** 33 bytes: 32 y-bytes and the x-coordinate. */
  readonly share: Uint8Array;
  readonly pk: Uint8Array;
  readonly rk: Uint8Array;
}

/** A key share record exactly as the engine writes one (keys.ts dealShares), for any share. */
export function sealShare(s: ShareSpec): Uint8Array {
  const header = keyShareHeader(s);
  const passBox = sealWithNonce(
    shareBoxKey(s.pk, 'passphrase', s.vaultId, s.locationId, s.generation),
    s.share,
    header,
  );
  const recBox = sealWithNonce(shareBoxKey(s.rk, 'recovery', s.vaultId, s.locationId, s.generation), s.share, header);
  return concat(header, passBox, recBox);
}

export interface ForgedDeal {
  /** The vault key the attacker chose. */
  readonly vk: Uint8Array;
  /** Its own recovery key for the recovery boxes (it does not know the owner's). */
  readonly rk: Uint8Array;
  readonly generation: number;
  readonly threshold: number;
  /** One record per entry of `locationIds`, in order. */
  readonly records: Uint8Array[];
}

/**
 * A new deal of a vault key the attacker chose: `locationIds.length` shares (the same id may
 * repeat: one location writing several shares) of a `threshold`-of-n split, each sealed under
 * the passphrase key for the location id it claims, with that key's own check value.
 */
export async function forgeDeal(opts: {
  vaultId: string;
  generation: number;
  threshold: number;
  locationIds: readonly string[];
  pk: Uint8Array;
  vk?: Uint8Array;
  total?: number;
}): Promise<ForgedDeal> {
  const vk = opts.vk ?? newVaultKey();
  const rk = new Uint8Array(randomBytes(32));
  const n = Math.max(opts.locationIds.length, opts.threshold);
  const shares = await splitSecret(vk, n, opts.threshold);
  const dealId = newDealId();
  const kcv = keyCheckValue(vk, opts.vaultId, opts.generation, dealId);
  const records = opts.locationIds.map((locationId, i) =>
    sealShare({
      vaultId: opts.vaultId,
      generation: opts.generation,
      threshold: opts.threshold,
      total: opts.total ?? Math.min(64, Math.max(n, opts.threshold)),
      locationId,
      dealId,
      kcv,
      share: shares[i]!,
      pk: opts.pk,
      rk,
    }),
  );
  return { vk, rk, generation: opts.generation, threshold: opts.threshold, records };
}

/**
 * Proof that forged shares are well-formed and would unlock on their own: each decodes, and
 * together (as read from `locationId`) they open under the passphrase key and combine to
 * the attacker's key at its generation. Returns problems (empty: the forgery is sound).
 */
export async function forgedSharesUnlock(
  vaultId: string,
  shares: readonly { locationId: string; bytes: Uint8Array }[],
  pk: Uint8Array,
  deal: ForgedDeal,
): Promise<string[]> {
  const problems: string[] = [];
  const opened: Uint8Array[] = [];
  for (const s of shares) {
    try {
      const record = decodeKeyShare(s.bytes);
      opened.push(
        openWithNonce(
          shareBoxKey(pk, 'passphrase', vaultId, s.locationId, record.generation),
          record.passphraseBox,
          record.header,
        ),
      );
      if (record.generation !== deal.generation) problems.push(`a forged share is of generation ${record.generation}`);
    } catch (err) {
      problems.push(`a forged share does not decode or open: ${(err as Error).message}`);
    }
  }
  // Shamir alone (no custody rule): the shares combine to the attacker's key.
  const vk = await recoverChecked(opened, deal.threshold, (candidate) =>
    Buffer.from(candidate).equals(Buffer.from(deal.vk)),
  );
  if (!vk) problems.push('the forged shares do not combine to the forged key');
  return problems;
}

/** A vault head sealed under a key the attacker chose (docs/FORMAT.md, "Vault head"). */
export function forgeHead(opts: {
  vaultId: string;
  vk: Uint8Array;
  rk: Uint8Array;
  counter: number;
  generation: number;
  locations: readonly LocationEntry[];
  policy?: Policy;
  files?: Head['files'];
}): Uint8Array {
  const log = generateX25519();
  const head: Head = {
    vaultId: opts.vaultId,
    counter: opts.counter,
    generation: opts.generation,
    policy: opts.policy ?? { data: 1, total: 1, threshold: 2, replicas: 1, segmentSize: SEGMENT },
    locations: opts.locations,
    files: opts.files ?? [],
    tombstones: [],
    logPublicKey: log.publicKey,
    logPrivateKey: log.privateKey,
    recoveryKey: opts.rk,
    logAnchors: [],
    updated: new Date().toISOString(),
    dealId: null,
    kdf: { params: { logN: 10, r: 8, p: 1 }, salt: new Uint8Array(randomBytes(32)) },
  };
  const bytes = encodeHead(head, deriveVaultKeys(opts.vk, opts.vaultId).head);
  // Well-formed: the engine's own decoder reads it back under the forged key.
  decodeHead(bytes, deriveVaultKeys(opts.vk, opts.vaultId).head, opts.vaultId);
  return bytes;
}

/** A random 16-byte id, as the engine makes them. */
export const newId = (): string => randomBytes(16).toString('hex');

/** A generation as the file name of its key share. */
export const keyName = (generation: number): string => PATHS.keyShare(generation);

/**
 * Heads and manifests on `roots` that open under the vault key `vk` (the attacker's), left
 * out those unchanged since `before` (snapshots of the roots, by root): a record written
 * after the attack that opens under the attacker's key is readable by the attacker alone.
 */
export async function recordsOpeningUnder(
  vk: Uint8Array,
  vaultId: string,
  roots: readonly string[],
  before: ReadonlyMap<string, Snapshot> = new Map(),
): Promise<string[]> {
  const keys = deriveVaultKeys(vk, vaultId);
  const out: string[] = [];
  for (const root of roots) {
    const now = await snapshotTree(root);
    const old = before.get(root);
    for (const [rel, hash] of now) {
      if (old?.get(rel) === hash) continue;
      const isHead = rel === PATHS.head || rel.startsWith(`${PATHS.headsDir}${nodePath.sep}`);
      const isManifest = rel.startsWith(`manifests${nodePath.sep}`);
      if (!isHead && !isManifest) continue;
      const bytes = new Uint8Array(await fs.readFile(nodePath.join(root, rel)));
      try {
        if (isHead) decodeHead(bytes, keys.head, vaultId);
        else decodeManifest(bytes, keys.manifest, readManifestHeader(bytes).header);
        out.push(`${nodePath.basename(root)}/${rel}`);
      } catch {
        // not under that key
      }
    }
  }
  return out;
}

/** Snapshots of each location root, by root. */
export async function snapshotRoots(roots: readonly string[]): Promise<Map<string, Snapshot>> {
  const out = new Map<string, Snapshot>();
  for (const r of roots) out.set(r, await snapshotTree(r));
  return out;
}
