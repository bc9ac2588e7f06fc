/**
 * A vault under test, driven only through the built CLI as child processes, with the model
 * the checks compare against: every file the CLI said it committed, and its SHA-256. The
 * central check, `checkAll`, reads every committed file back with `get` and compares it byte
 * for byte, counting lost bytes (a committed file that does not come back) and wrong bytes
 * released (a `get` that succeeded with other bytes, or left output behind when it failed).
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import type { FileEntry, RepairReport, VerifyReport } from '../../src/shared/api';
import { exists, sha256File, startCli } from '../helpers/cli';
import { writeSeededFile } from './rng';
import type { Stats } from './stats';

export const PASSPHRASE = 'fault suite passphrase';
export const SEGMENT = 65536;

export interface Run {
  /** Exit status; null when the process was killed. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** The test killed it on purpose (killAfterMs) while it was still running. */
  readonly killed: boolean;
  /** The test killed it because it ran past timeoutMs. */
  readonly timedOut: boolean;
}

export interface RunOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** SIGKILL after this long (a test bug or a hang, reported as timedOut). */
  readonly timeoutMs?: number;
  /** SIGKILL after this long on purpose (a kill trial), reported as killed. */
  readonly killAfterMs?: number;
  /** Called with the child once it is started (to signal it). */
  readonly onStart?: (child: ChildProcess) => void;
}

/** Runs the CLI as a child process: exit code, output, and whether a kill hit it. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = startCli(args, { env: options.env, cwd: options.cwd });
    options.onStart?.(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    let killed = false;
    let timedOut = false;
    let exited = false;
    child.once('exit', () => (exited = true));
    const killTimer =
      options.killAfterMs === undefined
        ? null
        : setTimeout(() => {
            if (!exited && child.kill('SIGKILL')) killed = true;
          }, options.killAfterMs);
    const timeout = setTimeout(() => {
      if (!exited && child.kill('SIGKILL')) timedOut = true;
    }, options.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: performance.now() - started,
        killed,
        timedOut,
      });
    });
  });
}

export function describeRun(args: readonly string[], r: Run): string {
  const how = r.timedOut
    ? `timed out after ${Math.round(r.ms)} ms`
    : r.killed
      ? 'killed'
      : `exit ${r.code ?? r.signal}`;
  const text = `${r.stderr}${r.stdout}`.trim().replace(/\s+/g, ' ').slice(0, 600);
  return `\`shardvault ${args.join(' ')}\`: ${how}${text ? `: ${text}` : ''}`;
}

/** One line for a summary: how it ended, in the error's own words (an uncaught error's first line). */
export function brief(r: Run): string {
  if (r.timedOut) return `timed out after ${Math.round(r.ms)} ms`;
  if (r.killed) return 'killed';
  if (r.code === 0) return 'exit 0';
  try {
    const { error } = JSON.parse(r.stdout) as { error?: { code?: string; message?: string } };
    if (error) return `exit ${r.code} (${error.code}: ${error.message?.slice(0, 200)})`;
  } catch {
    // not JSON: an uncaught error or plain words
  }
  const uncaught = /^(\w*Error): (.*)$/m.exec(r.stderr);
  if (uncaught) return `exit ${r.code}, UNCAUGHT ${uncaught[1]}: ${uncaught[2]!.slice(0, 200)}`;
  return `exit ${r.code ?? r.signal}: ${`${r.stderr}${r.stdout}`.trim().replace(/\s+/g, ' ').slice(0, 200)}`;
}

export function parseJson<T>(args: readonly string[], r: Run): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON from ${describeRun(args, r)}`);
  }
}

export interface Expected {
  readonly sha256: string;
  readonly size: number;
}

export interface GetResult {
  readonly outcome: 'ok' | 'failed' | 'wrong';
  readonly run: Run;
  /** Which of the acceptable contents came back. */
  readonly matched: Expected | null;
}

/** What a check may find beyond the committed files, after a cut operation. */
export interface Pending {
  /** A put that was cut: the file may be there (with exactly these bytes) or absent. */
  readonly maybe?: ReadonlyMap<string, Expected>;
  /** An rm that was cut: the file may be gone, or still there with its bytes. */
  readonly gone?: ReadonlySet<string>;
  /** A replace that was cut: the file holds one of these. */
  readonly alternatives?: ReadonlyMap<string, readonly Expected[]>;
}

export interface CheckOptions {
  /** A file that doesn't come back counts as lost (false: more faults than the policy allows). */
  readonly required?: boolean;
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

let outputs = 0;

export class FaultVault {
  /** Every file the CLI said it committed (or a check found whole after a cut), by name. */
  readonly committed = new Map<string, Expected>();
  private files = 0;

  constructor(
    readonly label: string,
    /** A private folder for the profile, sources and get outputs. */
    readonly work: string,
    readonly home: string,
    readonly specs: readonly string[],
    private readonly extraEnv: Readonly<Record<string, string>> = {},
  ) {}

  get env(): Record<string, string> {
    return { SHARDVAULT_HOME: this.home, SHARDVAULT_PASSPHRASE: PASSPHRASE, ...this.extraEnv };
  }

  /** `init` over `specs` (folders or URLs) with a cheap KDF and small segments. */
  static async init(
    label: string,
    work: string,
    specs: readonly string[],
    opts: { policy?: readonly string[]; segment?: number; extraArgs?: readonly string[]; timeoutMs?: number } = {},
  ): Promise<FaultVault> {
    await fs.mkdir(nodePath.join(work, 'src'), { recursive: true });
    await fs.mkdir(nodePath.join(work, 'out'), { recursive: true });
    const vault = new FaultVault(label, work, nodePath.join(work, 'home'), specs);
    const args = [
      'init',
      ...specs.flatMap((s) => ['--location', s]),
      ...(opts.policy ?? ['--survive', '2', '--secret-against', '2']),
      '--insecure-kdf-cost',
      '10',
      '--segment-size',
      String(opts.segment ?? SEGMENT),
      ...(opts.extraArgs ?? []),
      '--json',
    ];
    const r = await vault.run(args, { timeoutMs: opts.timeoutMs ?? 120_000 });
    if (r.code !== 0) throw new Error(`init failed: ${describeRun(args, r)}`);
    return vault;
  }

  /** A second machine: a fresh profile attached to the same locations with `open`. */
  async attachAnother(label: string, work: string, specs: readonly string[] = this.specs): Promise<FaultVault> {
    await fs.mkdir(nodePath.join(work, 'src'), { recursive: true });
    await fs.mkdir(nodePath.join(work, 'out'), { recursive: true });
    const other = new FaultVault(label, work, nodePath.join(work, 'home'), specs, this.extraEnv);
    const args = ['open', ...specs.flatMap((s) => ['--location', s]), '--json'];
    const r = await other.run(args);
    if (r.code !== 0) throw new Error(`open failed: ${describeRun(args, r)}`);
    return other;
  }

  run(args: readonly string[], options: RunOptions = {}): Promise<Run> {
    return runCli(args, { ...options, env: { ...this.env, ...options.env }, cwd: options.cwd ?? this.work });
  }

  /** A new source file of seeded content under work/src. */
  async newFile(size: number, seed: number): Promise<{ path: string; expected: Expected }> {
    const path = nodePath.join(this.work, 'src', `f${++this.files}`);
    const sha256 = await writeSeededFile(path, size, seed);
    return { path, expected: { sha256, size } };
  }

  /** put; on exit 0 the file joins the committed set. */
  async put(
    path: string,
    name: string,
    expected: Expected,
    opts: RunOptions & { replace?: boolean } = {},
  ): Promise<Run> {
    const args = ['put', path, '--name', name, ...(opts.replace ? ['--replace'] : []), '--json'];
    const r = await this.run(args, opts);
    if (r.code === 0 && !r.killed) this.committed.set(name, expected);
    return r;
  }

  /** put that must succeed. */
  async putOk(size: number, seed: number, name: string): Promise<Expected> {
    const { path, expected } = await this.newFile(size, seed);
    const r = await this.put(path, name, expected);
    if (r.code !== 0) throw new Error(`${this.label}: ${describeRun(['put', name], r)}`);
    return expected;
  }

  async ls(options: RunOptions = {}): Promise<{ run: Run; files: FileEntry[] | null }> {
    const args = ['ls', '--json'];
    const run = await this.run(args, options);
    return { run, files: run.code === 0 ? parseJson<FileEntry[]>(args, run) : null };
  }

  async verify(deep: boolean, options: RunOptions = {}): Promise<{ run: Run; report: VerifyReport | null }> {
    const args = ['verify', ...(deep ? ['--deep'] : []), '--json'];
    const run = await this.run(args, options);
    const report = run.code === 0 || run.code === 6 ? parseJson<VerifyReport>(args, run) : null;
    return { run, report };
  }

  async repair(deep: boolean, options: RunOptions = {}): Promise<{ run: Run; report: RepairReport | null }> {
    const args = ['repair', ...(deep ? ['--deep'] : []), '--json'];
    const run = await this.run(args, options);
    const report = run.code === 0 || run.code === 6 ? parseJson<RepairReport>(args, run) : null;
    return { run, report };
  }

  /**
   * `get NAME` into a fresh path and compare. Success with other bytes is a wrong release;
   * failure must leave neither the output nor a temporary `.part` file behind.
   */
  async get(
    name: string,
    acceptable: readonly Expected[],
    stats: Stats,
    options: CheckOptions = {},
  ): Promise<GetResult & { problems: string[] }> {
    const out = nodePath.join(this.work, 'out');
    await fs.mkdir(out, { recursive: true });
    const target = nodePath.join(out, `get-${++outputs}`);
    const args = ['get', name, '--output', target, '--json'];
    const run = await this.run(args, { timeoutMs: options.timeoutMs ?? 120_000, env: options.env });
    stats.filesChecked++;
    const problems: string[] = [];
    let outcome: GetResult['outcome'] = 'failed';
    let matched: Expected | null = null;
    if (run.code === 0) {
      const there = await fs.stat(target).catch(() => null);
      const sha = there ? await sha256File(target) : null;
      matched = acceptable.find((e) => e.sha256 === sha && e.size === there?.size) ?? null;
      if (matched) {
        outcome = 'ok';
      } else {
        outcome = 'wrong';
        stats.wrongBytes += there?.size ?? 0;
        problems.push(
          `${this.label}: get ${name} succeeded with WRONG bytes (${there?.size ?? 'no'} bytes, sha256 ${sha ?? '-'}; ` +
            `expected ${acceptable.map((e) => `${e.size} bytes ${e.sha256}`).join(' or ')})`,
        );
      }
    } else {
      // A failed get must not leave plaintext behind (unless the test killed it).
      const left = (await fs.readdir(out)).filter((f) => f === nodePath.basename(target) || f.endsWith('.part'));
      if (!run.timedOut) {
        for (const f of left) {
          const size = (await fs.stat(nodePath.join(out, f))).size;
          stats.wrongBytes += size;
          problems.push(`${this.label}: get ${name} failed but left ${f} (${size} bytes) behind`);
        }
      }
      if (run.timedOut) problems.push(`${this.label}: get ${name} HUNG: ${describeRun(args, run)}`);
    }
    await fs.rm(out, { recursive: true, force: true });
    return { outcome, run, matched, problems };
  }

  /**
   * Reads every committed file back and compares it; with `pending`, settles what a cut
   * operation left (a cut put whole or absent, a cut rm either way). Returns the problems;
   * updates `committed` and the counts in `stats`.
   *
   * By default the names come from `ls`. With `listing: 'get'` there is no `ls` (one process
   * less per trial): every name that may be there is asked for, and "no file named" counts
   * as absent; the caller then compares `committed` with a name list it has anyway (repair's).
   */
  async checkAll(
    stats: Stats,
    pending: Pending = {},
    options: CheckOptions & { listing?: 'ls' | 'get' } = {},
  ): Promise<string[]> {
    const required = options.required ?? true;
    const problems: string[] = [];
    const lost = (name: string, e: Expected, why: string): void => {
      if (!required) return;
      stats.bytesLost += e.size;
      problems.push(`${this.label}: committed file ${name} (${e.size} bytes) LOST: ${why}`);
    };
    const acceptableFor = (name: string): Expected[] | null => {
      const alternatives = pending.alternatives?.get(name);
      if (alternatives) return [...alternatives];
      const known = this.committed.get(name) ?? pending.maybe?.get(name);
      return known ? [known] : null;
    };
    let names: string[];
    if (options.listing === 'get') {
      names = [
        ...new Set([
          ...this.committed.keys(),
          ...(pending.maybe?.keys() ?? []),
          ...(pending.alternatives?.keys() ?? []),
        ]),
      ];
    } else {
      const { run, files } = await this.ls({ timeoutMs: options.timeoutMs, env: options.env });
      if (!files) {
        if (required) {
          problems.push(`${this.label}: ${describeRun(['ls'], run)}`);
          for (const [name, e] of this.committed)
            if (!pending.gone?.has(name)) lost(name, e, 'the vault does not open');
        }
        return problems;
      }
      names = files.map((f) => f.name);
      for (const [name, e] of [...this.committed]) {
        if (names.includes(name)) continue;
        if (pending.gone?.has(name)) this.committed.delete(name);
        else lost(name, e, 'missing from ls');
      }
    }
    for (const name of names) {
      const acceptable = acceptableFor(name);
      if (!acceptable) {
        problems.push(`${this.label}: ls shows ${name}, which nobody committed`);
        continue;
      }
      const got = await this.get(name, acceptable, stats, options);
      problems.push(...got.problems);
      if (got.outcome === 'ok') {
        this.committed.set(name, got.matched!);
        continue;
      }
      if (got.outcome !== 'failed') continue;
      const absent = options.listing === 'get' && errorCode(got.run) === 'not-found';
      const wasCommitted = this.committed.has(name) && !pending.alternatives?.has(name);
      if (absent && (pending.gone?.has(name) || !wasCommitted)) {
        // a cut rm that went through, or a cut put that never became visible
        if (!pending.alternatives?.has(name)) this.committed.delete(name);
        else lost(name, acceptable[0]!, describeRun(['get', name], got.run));
        continue;
      }
      const known = this.committed.get(name) ?? acceptable[0]!;
      lost(name, known, describeRun(['get', name], got.run));
      if (!required && !this.committed.has(name)) this.committed.set(name, known);
    }
    return problems;
  }
}

/** The error code a `--json` command printed, if any. */
export function errorCode(r: Run): string | null {
  try {
    const v = JSON.parse(r.stdout) as { error?: { code?: unknown } };
    return typeof v.error?.code === 'string' ? v.error.code : null;
  } catch {
    return null;
  }
}

/** The objects under a location folder's `sub` (shards, manifests, keys), as absolute paths. */
export async function objectsIn(location: string, sub: string): Promise<string[]> {
  const dir = nodePath.join(location, sub);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names.sort().map((n) => nodePath.join(dir, n));
}

export async function removeIfThere(path: string): Promise<void> {
  if (await exists(path)) await fs.rm(path, { recursive: true, force: true });
}

/**
 * A temporary folder tree on a memory filesystem when the machine has one (/dev/shm): the
 * CLI fsyncs every object it writes, and on a disk those fsyncs, not the work, set the pace.
 * No fault here needs durability across a power cut, only across a killed process.
 */
export class Scratch {
  private constructor(readonly path: string) {}

  static async create(prefix: string): Promise<Scratch> {
    const shm = '/dev/shm';
    const base = (await fs
      .stat(shm)
      .then((s) => s.isDirectory())
      .catch(() => false))
      ? shm
      : tmpdir();
    return new Scratch(await fs.mkdtemp(nodePath.join(base, prefix)));
  }

  async dir(...parts: string[]): Promise<string> {
    const path = nodePath.join(this.path, ...parts);
    await fs.mkdir(path, { recursive: true });
    return path;
  }

  /** `count` empty location folders l1..lN under `parent`. */
  async locations(parent: string, count: number): Promise<string[]> {
    return Promise.all(Array.from({ length: count }, (_, i) => this.dir(parent, `l${i + 1}`)));
  }

  async cleanup(): Promise<void> {
    await fs.rm(this.path, { recursive: true, force: true });
  }
}
