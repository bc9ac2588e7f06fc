/**
 * A real Shardvault node for tests: `shardvault node serve` (the built CLI) on loopback, port
 * 0, over a fresh folder. Its first stdout line is the SPEC; it is stopped with SIGTERM and
 * must exit 0.
 */
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from '../helpers/cli';
import { makeTempDir, removeDir, ServerProcess } from './process';

const ROOT = nodePath.resolve(nodePath.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = nodePath.join(ROOT, 'bin', 'shardvault.mjs');

export interface ShardNodeServer {
  /** The first line it printed. */
  readonly spec: string;
  /** Everything it printed before the SPEC, on either stream (must be nothing). */
  readonly before: string;
  readonly dir: string;
  readonly process: ServerProcess;
  /** Stops it (SIGTERM); resolves to its exit code. */
  stop(): Promise<number | null>;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
}

/** Starts a node over `dir` (a fresh folder when absent), on `listen` (default any free port). */
export async function startShardNode(
  dir?: string,
  extra: readonly string[] = [],
  listen = '127.0.0.1:0',
  env: NodeJS.ProcessEnv = process.env,
): Promise<ShardNodeServer> {
  ensureBuilt();
  const folder = dir ?? nodePath.join(await makeTempDir('node'), 'node');
  const proc = new ServerProcess(
    'shardvault node',
    process.execPath,
    [BIN, 'node', 'serve', '--dir', folder, '--listen', listen, ...extra],
    env,
  );
  let stderr = '';
  proc.child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const spec = await new Promise<{ line: string; before: string }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`the node printed no SPEC within 15 s:\n${proc.output()}`)),
      15_000,
    );
    proc.child.stdout!.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve({ line: out.slice(0, nl), before: stderr });
      }
    });
    proc.child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the node exited (${code}) before printing its SPEC:\n${proc.output()}`));
    });
  });
  const stop = async (): Promise<number | null> => {
    if (proc.exited) return proc.child.exitCode;
    const exited = new Promise<number | null>((resolve) => proc.child.once('exit', (code) => resolve(code)));
    await proc.stop();
    return exited;
  };
  return {
    spec: spec.line,
    before: spec.before,
    dir: folder,
    process: proc,
    stop,
    async remove() {
      await stop();
      await removeDir(nodePath.dirname(folder));
    },
  };
}
