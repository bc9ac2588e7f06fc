// Write-behind (src/core/storage/write-behind.ts) seen from the kernel: the built CLI runs a
// put and a get under strace, and the order of its system calls must show that
//   - every shard file was fdatasynced while later bytes of it were still being written
//     (the syncs overlap the stream), and fsynced after its last byte, before its rename;
//   - nothing of a commit record (manifest, head) was written before every
//     shard's final fsync and its folder's fsync had returned;
//   - a get's output was likewise synced during the stream, and fsynced before its rename.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WRITE_BEHIND_BYTES, WriteBehind, writeAll } from '../src/core/storage/write-behind';
import { BIN, childEnv, ensureBuilt, sha256File, TempRoot, writeRandomFile } from './helpers/cli';
import { traced as tracedWith, type Call } from './helpers/strace';

const TRACED = 'write,writev,pwrite64,pwritev,pwritev2,fsync,fdatasync,rename,renameat,renameat2';
const traced = (args: readonly string[], env: Record<string, string>, log: string): Promise<Call[]> =>
  tracedWith(args, env, log, TRACED);

const strace = spawnSync('strace', ['-V'], { encoding: 'utf8' });
const straceWorks = strace.status === 0 && spawnSync('strace', ['-qq', '-o', '/dev/null', 'true']).status === 0;
if (!straceWorks) {
  console.warn('write-behind.test.ts: skipped: strace is missing or may not trace here (scripts/setup-system.sh)');
}

const PASSPHRASE = 'correct horse battery staple';
// Each of the 3 data shards holds a third of the file: several write-behind steps each.
const SIZE = 3 * 3 * WRITE_BEHIND_BYTES + 12345;

const isWrite = (c: Call): boolean => /^p?writev?(64|2)?$/.test(c.name);
const isSync = (c: Call): boolean => c.name === 'fsync' || c.name === 'fdatasync';

/** What a file went through before it was renamed to `target`. */
function history(calls: readonly Call[], temp: string): { writes: Call[]; datasyncs: Call[]; fsyncs: Call[] } {
  const on = calls.filter((c) => c.fdPath === temp);
  return {
    writes: on.filter(isWrite),
    datasyncs: on.filter((c) => c.name === 'fdatasync'),
    fsyncs: on.filter((c) => c.name === 'fsync'),
  };
}

describe.skipIf(!straceWorks)('write-behind, seen by strace', () => {
  let root: TempRoot;
  let home: string;
  let locations: string[];
  let input: string;
  let inputHash: string;
  const env = (): Record<string, string> => ({ SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASSPHRASE });

  beforeAll(async () => {
    ensureBuilt();
    root = await TempRoot.create('shardvault-write-behind-');
    home = await root.dir('home');
    locations = await root.locations('locs', 5);
    input = nodePath.join(root.path, 'input.bin');
    inputHash = await writeRandomFile(input, SIZE);
    const init = spawnSync(
      process.execPath,
      [
        BIN,
        'init',
        ...locations.flatMap((l) => ['--location', l]),
        '--survive',
        '2',
        '--secret-against',
        '2',
        '--insecure-kdf-cost',
        '10',
      ],
      { env: childEnv(env()), encoding: 'utf8' },
    );
    expect(init.status, init.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await root?.cleanup();
  });

  it('syncs each shard while it is written, and commits nothing before the shards are on disk', async () => {
    const calls = await traced(['put', input, '--name', 'big.bin'], env(), nodePath.join(root.path, 'put.strace'));
    const renames = calls.filter((c) => c.name.startsWith('rename') && c.result === '0');
    const shardRenames = renames.filter((r) => /\/shards\/[^/]+$/.test(r.to ?? ''));
    expect(shardRenames).toHaveLength(5);

    let lastShardSync = -1;
    for (const rename of shardRenames) {
      const { writes, datasyncs, fsyncs } = history(calls, rename.from!);
      expect(writes.length).toBeGreaterThan(0);
      const lastWrite = writes[writes.length - 1]!;
      // Overlap: a write-behind sync returned while later bytes of this shard were still to come.
      expect(datasyncs.some((d) => d.result === '0' && d.end < lastWrite.start)).toBe(true);
      // Durability as before: an fsync after the last byte, returned before the rename.
      const final = fsyncs.find((f) => f.start > lastWrite.end);
      expect(final?.result).toBe('0');
      expect(final!.end).toBeLessThan(rename.start);
      // ... and the shards folder fsynced after the rename.
      const dirSync = calls.find((c) => isSync(c) && c.fdPath === nodePath.dirname(rename.to!) && c.start > rename.end);
      expect(dirSync?.result).toBe('0');
      lastShardSync = Math.max(lastShardSync, final!.end, dirSync!.end);
    }

    // Commit records: the manifests, the head and each device's copy of it. Each is written
    // to a temporary file that is then renamed to its place; none of its bytes may come
    // before. (The access log's entry for the request is written first, by design: it
    // records that a put was asked for, and commits no file.)
    const commits = renames.filter((r) => /\/(manifests\/[^/]+|head|heads\/[^/]+)$/.test(r.to ?? ''));
    expect(commits.some((r) => r.to!.includes('/manifests/'))).toBe(true);
    expect(commits.some((r) => /\/head$/.test(r.to!))).toBe(true);
    for (const commit of commits) {
      const { writes } = history(calls, commit.from!);
      expect(writes.length).toBeGreaterThan(0);
      expect(writes[0]!.start, `${commit.to} written before the shards were synced`).toBeGreaterThan(lastShardSync);
    }
  }, 120_000);

  it('syncs a get output while it is written, and fsyncs it before the rename', async () => {
    const output = nodePath.join(root.path, 'out.bin');
    const calls = await traced(['get', 'big.bin', '--output', output], env(), nodePath.join(root.path, 'get.strace'));
    expect(await sha256File(output)).toBe(inputHash);
    const rename = calls.find((c) => c.name.startsWith('rename') && c.to === output && c.result === '0');
    expect(rename).toBeDefined();
    const { writes, datasyncs, fsyncs } = history(calls, rename!.from!);
    const lastWrite = writes[writes.length - 1]!;
    expect(writes.reduce((n, w) => n + Number(w.result), 0)).toBe(SIZE);
    expect(datasyncs.filter((d) => d.result === '0' && d.end < lastWrite.start).length).toBeGreaterThanOrEqual(2);
    const final = fsyncs.find((f) => f.start > lastWrite.end);
    expect(final?.result).toBe('0');
    expect(final!.end).toBeLessThan(rename!.start);
  }, 120_000);
});

describe('WriteBehind and writeAll', () => {
  it('starts a sync per interval, never two at once on a file, and fails the file with a failed sync', async () => {
    let calls = 0;
    let release: (() => void) | null = null;
    let fail = false;
    const handle = {
      datasync: (): Promise<void> => {
        calls++;
        return new Promise<void>((resolve, reject) => {
          release = () => (fail ? reject(new Error('EIO: writeback failed')) : resolve());
        });
      },
    };
    const behind = new WriteBehind(handle, 100);
    behind.wrote(99);
    expect(calls).toBe(0);
    behind.wrote(1);
    expect(calls).toBe(1);
    behind.wrote(500); // one is running on this file: no second
    expect(calls).toBe(1);
    release!();
    await behind.settle();
    behind.wrote(1); // the 500 pending are due: a sync starts
    expect(calls).toBe(2);
    fail = true;
    release!();
    await expect(behind.settle()).rejects.toThrow(/writeback failed/);
    // Linux reports a writeback error once: the file must not go on as if it were fine.
    expect(() => behind.wrote(1)).toThrow(/writeback failed/);
  });

  it('writes every byte when the kernel takes fewer than asked', async () => {
    const root = await TempRoot.create('shardvault-writeall-');
    try {
      const file = nodePath.join(root.path, 'out.bin');
      const handle = await fs.open(file, 'w');
      const parts = [randomBytes(10), randomBytes(0), randomBytes(7000), randomBytes(3)];
      // A handle whose writev takes at most 1000 bytes a call, as a pipe or a full disk may.
      const short = {
        writev: async (views: Uint8Array[]) => {
          const taken: Uint8Array[] = [];
          let room = 1000;
          for (const v of views) {
            if (room === 0) break;
            taken.push(v.subarray(0, Math.min(room, v.length)));
            room -= taken[taken.length - 1]!.length;
          }
          return handle.writev(taken);
        },
      };
      const syncs: number[] = [];
      const behind = new WriteBehind({ datasync: () => (syncs.push(1), Promise.resolve()) }, 4096);
      try {
        expect(await writeAll(short, parts, behind)).toBe(7013);
      } finally {
        await handle.close();
      }
      expect(Buffer.compare(await fs.readFile(file), Buffer.concat(parts))).toBe(0);
      expect(syncs.length).toBeGreaterThanOrEqual(1);
    } finally {
      await root.cleanup();
    }
  });
});
