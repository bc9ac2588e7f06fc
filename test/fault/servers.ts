/**
 * The real servers of test/servers (OpenSSH sshd, rclone serve webdav, Apache mod_dav) as
 * vault locations that a test can kill, restart on the same port over the same data, freeze
 * (SIGSTOP) and thaw. The helpers there start and stop a server; restarting and freezing
 * are done here, on the processes found by their config or cache path (which only that
 * server's command line holds) and their descendants: every one started by this test run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { startApache } from '../servers/apache';
import { childPids, requireBinary, ServerProcess, waitForPort } from '../servers/process';
import { startRclone } from '../servers/rclone';
import { startSshd } from '../servers/sshd';

export interface Remote {
  /** The location's name in the vault. */
  readonly name: string;
  /** The SPEC for `init --location`. */
  readonly spec: string;
  /** The folder on disk behind the location's root. */
  readonly dataDir: string;
  /** SIGKILL every process of the server (no goodbye to clients); data stays. */
  kill(): Promise<void>;
  /** Starts it again on the same port over the same data. */
  restart(): Promise<void>;
  /** SIGSTOP every process of the server: connections hang, nothing is refused. */
  freeze(): void;
  thaw(): void;
  /** Ends it for good and removes its temp dir. */
  stop(): Promise<void>;
}

/** Pids whose command line mentions `needle` (a path only one server holds), and their descendants. */
function pidsOf(needle: string): number[] {
  const found = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) found.add(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  // sshd's per-connection processes re-exec under another command line: follow the tree.
  const queue = [...found];
  while (queue.length > 0) {
    for (const child of childPids(queue.pop()!)) {
      if (!found.has(child)) {
        found.add(child);
        queue.push(child);
      }
    }
  }
  return [...found];
}

function signalAll(needle: string, signal: NodeJS.Signals): number {
  let count = 0;
  for (const pid of pidsOf(needle)) {
    try {
      process.kill(pid, signal);
      count++;
    } catch {
      // already gone
    }
  }
  return count;
}

/**
 * A remote whose server, once killed, is started again by `command args` (the same command
 * line the helper used, so the same port, data and credentials).
 */
function remote(
  name: string,
  spec: string,
  dataDir: string,
  /** A path only this server's own command line holds (its config file). */
  needle: string,
  port: number,
  command: string,
  args: readonly string[],
  first: { kill(): Promise<void>; stop(): Promise<void> },
): Remote {
  let current: ServerProcess | null = null;
  const killAll = async (): Promise<void> => {
    if (current) await current.stop(0);
    else await first.kill();
    // Whatever outlived its group (sshd sessions, Apache workers).
    signalAll(needle, 'SIGCONT');
    signalAll(needle, 'SIGKILL');
  };
  return {
    name,
    spec,
    dataDir,
    kill: killAll,
    async restart() {
      current = new ServerProcess(name, command, args);
      try {
        await waitForPort(port, current);
      } catch (err) {
        await current.stop();
        throw err;
      }
    },
    freeze() {
      if (signalAll(needle, 'SIGSTOP') === 0) throw new Error(`${name}: no process to freeze`);
    },
    thaw() {
      signalAll(needle, 'SIGCONT');
    },
    async stop() {
      signalAll(needle, 'SIGCONT');
      if (current) await current.stop();
      await first.stop();
      signalAll(needle, 'SIGKILL');
    },
  };
}

export async function sftpRemote(name: string): Promise<Remote> {
  const s = await startSshd();
  const spec = `sftp://${s.user}@${s.host}:${s.port}${s.dataDir}?identity=${s.keyPath}&fingerprint=${s.fingerprint}#${name}`;
  const config = nodePath.join(s.dir, 'sshd_config');
  return remote(
    name,
    spec,
    s.dataDir,
    config,
    s.port,
    requireBinary('sshd', 'openssh-server'),
    ['-D', '-e', '-f', config],
    s,
  );
}

export async function rcloneRemote(name: string): Promise<Remote> {
  const s = await startRclone('webdav');
  const served = nodePath.dirname(s.dataDir);
  const dir = nodePath.dirname(served);
  const spec = `webdav+http://${s.user}:${encodeURIComponent(s.password)}@${s.host}:${s.port}${new URL(s.url).pathname}#${name}`;
  const args = [
    'serve',
    'webdav',
    served,
    '--addr',
    `${s.host}:${s.port}`,
    '--user',
    s.user,
    '--pass',
    s.password,
    '--config',
    nodePath.join(dir, 'rclone.conf'),
    '--cache-dir',
    nodePath.join(dir, 'cache'),
    '--log-level',
    'ERROR',
  ];
  return remote(name, spec, s.dataDir, nodePath.join(dir, 'cache'), s.port, requireBinary('rclone', 'rclone'), args, s);
}

export async function apacheRemote(name: string): Promise<Remote> {
  const s = await startApache();
  const dir = nodePath.dirname(nodePath.dirname(s.dataDir));
  const path = new URL(s.url).pathname;
  const spec = `webdav+http://${s.user}:${encodeURIComponent(s.password)}@${s.host}:${s.port}${path}#${name}`;
  const args = ['-f', nodePath.join(dir, 'httpd.conf'), '-DFOREGROUND'];
  return remote(name, spec, s.dataDir, args[1]!, s.port, requireBinary('apache2', 'apache2'), args, s);
}
