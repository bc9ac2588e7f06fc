/**
 * Helpers for the CLI end-to-end tests: run the built CLI (`node bin/shardvault.mjs ...`) as a
 * child process with a chosen environment, make temporary folders and random files, and look
 * at what ends up on the location folders. No mocks: real processes over real folders.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readdirSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = nodePath.resolve(nodePath.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = nodePath.join(ROOT, 'bin', 'shardvault.mjs');
const BUNDLE = nodePath.join(ROOT, 'out', 'cli', 'shardvault.mjs');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Extra variables; `undefined` removes one. SHARDVAULT_* from the test runner never leak in. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Kills the process after this long (a test bug, not an expected outcome). */
  readonly timeoutMs?: number;
}

/** The environment a CLI child sees: the runner's, minus any SHARDVAULT_* setting, plus `extra`. */
export function childEnv(extra: Readonly<Record<string, string | undefined>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('SHARDVAULT_') && value !== undefined) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Starts the CLI without waiting for it; stdin is not a terminal (it is ignored). */
export function startCli(args: readonly string[], options: RunOptions = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the CLI to its end: exit code, stdout and stderr. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = startCli(args, options);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === null) {
        reject(new Error(`shardvault ${args.join(' ')} ended by ${signal}\n${stderr}`));
        return;
      }
      resolve({ code, stdout, stderr });
    });
  });
}

/** Parses a --json answer, saying what the CLI printed when it is not JSON. */
export function parseJson<T = unknown>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

/**
 * Builds the CLI bundle when it is missing or older than a source file, so the tests never
 * run yesterday's CLI (other engineers commit to src/ while these run).
 */
export function ensureBuilt(): void {
  const built = statOrNull(BUNDLE)?.mtimeMs ?? 0;
  if (built > 0 && newestMtime(nodePath.join(ROOT, 'src')) <= built) return;
  const r = spawnSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build:cli failed:\n${r.stdout}\n${r.stderr}`);
}

function statOrNull(path: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  const walk = (d: string): void => {
    const st = statSync(d);
    if (st.isDirectory()) {
      for (const name of readdirSync(d)) walk(nodePath.join(d, name));
    } else {
      newest = Math.max(newest, st.mtimeMs);
    }
  };
  walk(dir);
  return newest;
}

// ------------------------------------------------------------------ temporary folders

/** A temporary folder tree, removed by cleanup(). */
export class TempRoot {
  private constructor(readonly path: string) {}

  static async create(prefix = 'shardvault-test-'): Promise<TempRoot> {
    return new TempRoot(await fs.mkdtemp(nodePath.join(tmpdir(), prefix)));
  }

  /** A new (empty) folder under the root. */
  async dir(name: string): Promise<string> {
    const path = nodePath.join(this.path, name);
    await fs.mkdir(path, { recursive: true });
    return path;
  }

  /** `count` empty location folders l1..lN under `parent`. */
  async locations(parent: string, count: number): Promise<string[]> {
    return Promise.all(Array.from({ length: count }, (_, i) => this.dir(nodePath.join(parent, `l${i + 1}`))));
  }

  async cleanup(): Promise<void> {
    await fs.rm(this.path, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ files

/** Writes `size` random bytes to `path` in chunks (never the whole file in memory); returns its SHA-256. */
export async function writeRandomFile(path: string, size: number, chunk = 1 << 20): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  for (let left = size; left > 0; left -= chunk) {
    const bytes = randomBytes(Math.min(chunk, left));
    hash.update(bytes);
    if (!out.write(bytes)) await new Promise<void>((resolve) => out.once('drain', resolve));
  }
  out.end();
  await done;
  return hash.digest('hex');
}

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function exists(path: string): Promise<boolean> {
  return fs.stat(path).then(
    () => true,
    () => false,
  );
}

/** Every file under `dir`, as paths relative to it ('/'-separated), sorted. */
export async function listTree(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => nodePath.relative(dir, nodePath.join(e.parentPath, e.name)).split(nodePath.sep).join('/'))
    .sort();
}

/** path -> SHA-256 of its bytes, for every file under `dir` (optionally skipping some top-level folders). */
export async function snapshotTree(dir: string, skip: readonly string[] = []): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const rel of await listTree(dir)) {
    if (skip.some((s) => rel === s || rel.startsWith(`${s}/`))) continue;
    out.set(
      rel,
      createHash('sha256')
        .update(await fs.readFile(nodePath.join(dir, rel)))
        .digest('hex'),
    );
  }
  return out;
}

/** The shard objects on each location folder, as absolute paths. */
export async function shardObjects(locations: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const l of locations) {
    const dir = nodePath.join(l, 'shards');
    for (const name of await fs.readdir(dir).catch(() => [] as string[])) out.add(nodePath.join(dir, name));
  }
  return out;
}

/** XORs one byte of a file in place. */
export async function flipByte(path: string, offset: number): Promise<void> {
  const handle = await fs.open(path, 'r+');
  try {
    const one = Buffer.alloc(1);
    await handle.read(one, 0, 1, offset);
    one[0] = one[0]! ^ 0x5a;
    await handle.write(one, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

/** Renames a location folder away (an unplugged disk) and returns the function that plugs it back. */
export async function unplug(location: string): Promise<() => Promise<void>> {
  const away = `${location}.unplugged`;
  await fs.rename(location, away);
  return () => fs.rename(away, location);
}

/** Files under `dir` (recursively) whose bytes contain `needle`. */
export async function filesContaining(dir: string, needle: Uint8Array): Promise<string[]> {
  const hits: string[] = [];
  const n = Buffer.from(needle);
  for (const rel of await listTree(dir)) {
    const bytes = await fs.readFile(nodePath.join(dir, rel));
    if (bytes.indexOf(n) >= 0) hits.push(rel);
  }
  return hits;
}
