/**
 * What every test server helper needs: a free loopback port, a private temp dir, a binary
 * that says which Debian package provides it, a child in its own process group that is
 * stopped with all its children, and a wait until the port answers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';

export const HOST = '127.0.0.1';

const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of `command`, or an Error that names the Debian package and the setup script. */
export function requireBinary(command: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH_PATH];
  for (const dir of dirs) {
    const candidate = nodePath.join(dir, command);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error(
    `'${command}' is not installed: install the Debian package '${debianPackage}' ` +
      `(run: bash scripts/setup-system.sh)`,
  );
}

/** Runs a short command to completion; throws with its stderr when it fails. */
export function run(command: string, args: readonly string[], input?: string): string {
  const result = spawnSync(command, args, { input, encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  }
  return result.stdout;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(nodePath.join(tmpdir(), `shardvault-${prefix}-`));
}

/** Resolves once a TCP connection to the port succeeds; rejects when `child` exits or time runs out. */
export async function waitForPort(port: number, child: ServerProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exited) throw new Error(`${child.name} exited before listening on ${port}:\n${child.output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: HOST, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${child.name} did not listen on ${port} within ${timeoutMs} ms:\n${child.output()}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const live = new Set<ServerProcess>();
process.once('exit', () => {
  // Last resort when a test run dies before its afterAll: no server outlives the worker.
  for (const server of live) server.killNow();
});

/** A server child in its own process group, with its output kept for error messages. */
export class ServerProcess {
  readonly child: ChildProcess;
  exited = false;
  private readonly log: string[] = [];
  private readonly exitPromise: Promise<void>;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    const keep = (data: Buffer): void => {
      this.log.push(data.toString('utf8'));
      if (this.log.length > 200) this.log.splice(0, this.log.length - 200);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', () => {
        this.exited = true;
        live.delete(this);
        resolve();
      });
      this.child.once('error', (err) => {
        this.log.push(String(err));
        this.exited = true;
        live.delete(this);
        resolve();
      });
    });
    live.add(this);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid`);
    return this.child.pid;
  }

  output(): string {
    return this.log.join('').slice(-4000);
  }

  /** SIGTERM to the whole process group, SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    signalGroup(this.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
    // Children that outlive the leader (Apache workers) are still in the group.
    signalGroup(this.pid, 'SIGKILL');
  }

  killNow(): void {
    if (this.child.pid !== undefined) signalGroup(this.child.pid, 'SIGKILL');
  }
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** Pids of the direct children of `pid`, from /proc. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces: parse after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Mounts a tmpfs of `size` bytes on `dir` (a full disk for tests; needs root); returns its unmount. */
export function mountTmpfs(dir: string, size: number, owner = 0): () => void {
  run('mount', ['-t', 'tmpfs', '-o', `size=${size},uid=${owner},gid=${owner},mode=0755`, 'tmpfs', dir]);
  return () => {
    spawnSync('umount', ['-l', dir]);
  };
}
