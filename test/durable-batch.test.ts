// A put DIR makes its objects durable in one step before its commit
// (src/core/storage/durable-batch.ts). Seen from the kernel, the built CLI's put DIR must
//   - write and rename every shard and manifest of the tree without an fsync of its own;
//   - then syncfs each folder it wrote in (`sync --file-system`), every call returning 0;
//   - and only after that write a byte of the head that commits the tree.
// Without `sync` on PATH, every object and folder is fsynced instead, still before the head.
// And the batch itself, over a real local folder: a put is recorded, not synced; one flush.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DurableBatch, withDurableBatch } from '../src/core/storage/durable-batch';
import { LocalFolderNode } from '../src/core/storage/local';
import { BIN, childEnv, ensureBuilt, TempRoot } from './helpers/cli';
import { traced, type Call } from './helpers/strace';
import { PACK_FILE_MAX } from '../src/core/vault/packs';

const straceAt = spawnSync('sh', ['-c', 'command -v strace'], { encoding: 'utf8' }).stdout.trim();
const straceWorks = straceAt !== '' && spawnSync('strace', ['-qq', '-o', '/dev/null', 'true']).status === 0;
if (!straceWorks) {
  console.warn('durable-batch.test.ts: skipped the strace part: strace is missing or may not trace here');
}

const PASSPHRASE = 'correct horse battery staple';
const FILES = 12;
const TRACE = 'write,writev,pwrite64,pwritev,pwritev2,fsync,fdatasync,syncfs,rename,renameat,renameat2';

const isWrite = (c: Call): boolean => /^p?writev?(64|2)?$/.test(c.name);
const isSync = (c: Call): boolean => c.name === 'fsync' || c.name === 'fdatasync';
const objectRename = (c: Call): boolean =>
  c.name.startsWith('rename') && c.result === '0' && /\/(shards|manifests)\/[^/]+$/.test(c.to ?? '');

describe.skipIf(!straceWorks)('put DIR, seen by strace', () => {
  let root: TempRoot;
  let home: string;
  let locations: string[];
  let tree: string;
  const env = (): Record<string, string> => ({ SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASSPHRASE });

  beforeAll(async () => {
    ensureBuilt();
    root = await TempRoot.create('shardvault-durable-batch-');
    home = await root.dir('home');
    locations = await root.locations('locs', 3);
    tree = nodePath.join(root.path, 'tree');
    for (let i = 0; i < FILES; i++) {
      const dir = nodePath.join(tree, `d${i % 2}`);
      await fs.mkdir(dir, { recursive: true });
      // d0: small files, packed together (one pack); d1: files stored on their own.
      await fs.writeFile(nodePath.join(dir, `f${i}`), randomBytes(i % 2 === 0 ? 4096 : PACK_FILE_MAX + 1));
    }
    const init = spawnSync(
      process.execPath,
      [BIN, 'init', ...locations.flatMap((l) => ['--location', l])].concat([
        '--data',
        '2',
        '--total',
        '3',
        '--threshold',
        '2',
        '--insecure-kdf-cost',
        '10',
      ]),
      { env: childEnv(env()), encoding: 'utf8' },
    );
    expect(init.status, init.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await root?.cleanup();
  });

  /** The tree's object renames, and where the head that commits it starts being written. */
  function commitOrder(calls: readonly Call[]): { objects: Call[]; headFirstWrite: number } {
    const objects = calls.filter(objectRename);
    // Each file stored on its own, and the one pack of the small ones: 3 shards and a
    // manifest on each of the 3 locations.
    expect(objects).toHaveLength((Math.floor(FILES / 2) + 1) * 6);
    for (const o of objects) {
      const on = calls.filter((c) => c.fdPath === o.from);
      expect(on.some(isWrite)).toBe(true);
      expect(on.filter(isSync), `${o.to} was synced on its own`).toEqual([]);
    }
    const heads = calls.filter((c) => c.name.startsWith('rename') && c.result === '0' && /\/head$/.test(c.to ?? ''));
    expect(heads.length).toBeGreaterThan(0);
    const headFirstWrite = Math.min(
      ...heads.map((h) => calls.find((c) => isWrite(c) && c.fdPath === h.from)?.start ?? Infinity),
    );
    expect(headFirstWrite).toBeLessThan(Infinity);
    return { objects, headFirstWrite };
  }

  it('syncs each file system once, after every object and before the head', async () => {
    const calls = await traced(['put', tree, '--name', 'one'], env(), nodePath.join(root.path, 'one.strace'), TRACE);
    const { objects, headFirstWrite } = commitOrder(calls);
    const syncfs = calls.filter((c) => c.name === 'syncfs');
    expect(syncfs.length).toBeGreaterThan(0);
    for (const s of syncfs) expect(s.result).toBe('0');
    for (const loc of locations) {
      for (const folder of ['shards', 'manifests'])
        expect(syncfs.map((s) => s.fdPath)).toContain(nodePath.join(loc, folder));
    }
    const lastObject = Math.max(...objects.map((o) => o.end));
    expect(Math.min(...syncfs.map((s) => s.start))).toBeGreaterThan(lastObject);
    expect(Math.max(...syncfs.map((s) => s.end))).toBeLessThan(headFirstWrite);
    // No folder of the tree's objects was fsynced one put at a time either.
    const folderSyncs = calls.filter((c) => isSync(c) && /\/(shards|manifests)$/.test(c.fdPath ?? ''));
    expect(folderSyncs).toEqual([]);
  }, 120_000);

  it('without sync(1), fsyncs every object and its folder, before the head', async () => {
    // A PATH that finds strace and nothing else: the CLI can't run `sync`.
    const bin = await root.dir('only-strace');
    await fs.symlink(straceAt, nodePath.join(bin, 'strace'));
    const calls = await traced(
      ['put', tree, '--name', 'two'],
      { ...env(), PATH: bin },
      nodePath.join(root.path, 'two.strace'),
      TRACE,
    );
    const { objects, headFirstWrite } = commitOrder(calls);
    expect(calls.filter((c) => c.name === 'syncfs')).toEqual([]);
    for (const o of objects) {
      const synced = calls.find((c) => c.name === 'fsync' && c.fdPath === o.to && c.start > o.end);
      expect(synced?.result, `${o.to} was not fsynced`).toBe('0');
      expect(synced!.end).toBeLessThan(headFirstWrite);
    }
    for (const loc of locations) {
      for (const folder of ['shards', 'manifests']) {
        const synced = calls.find((c) => c.name === 'fsync' && c.fdPath === nodePath.join(loc, folder));
        expect(synced?.result).toBe('0');
        expect(synced!.end).toBeLessThan(headFirstWrite);
      }
    }
  }, 120_000);
});

describe('DurableBatch over a local folder', () => {
  let root: TempRoot;
  let node: LocalFolderNode;

  beforeAll(async () => {
    root = await TempRoot.create('shardvault-durable-batch-unit-');
    node = new LocalFolderNode(await root.dir('loc'));
  });

  afterAll(async () => {
    await root?.cleanup();
  });

  const shard = (i: number): string => `shards/${'ab'.repeat(15)}${String(i).padStart(2, '0')}`;

  for (const withSync of [true, false]) {
    it(`records the puts made under it and flushes them once${withSync ? '' : ', by fsyncs without sync(1)'}`, async () => {
      const batch = new DurableBatch();
      const bytes = [0, 1, 2].map(() => new Uint8Array(randomBytes(100)));
      await withDurableBatch(batch, () => Promise.all(bytes.map((b, i) => node.put(shard(i + (withSync ? 0 : 3)), b))));
      // Written and in place already, not yet durable by the batch's account.
      expect(batch.flushed).toEqual({ folders: 0, objects: 0, syncfs: 0, fsyncs: 0 });
      const path = process.env['PATH'];
      if (!withSync) process.env['PATH'] = await root.dir('empty-bin');
      try {
        await batch.flush();
      } finally {
        process.env['PATH'] = path;
      }
      const expected =
        process.platform === 'linux' && withSync
          ? { folders: 1, objects: 3, syncfs: 1, fsyncs: 0 }
          : { folders: 1, objects: 3, syncfs: 0, fsyncs: 4 };
      expect(batch.flushed).toEqual(expected);
      for (let i = 0; i < 3; i++) {
        const read = await node.readRange(shard(i + (withSync ? 0 : 3)), 0, 100);
        expect(Buffer.from(read).equals(Buffer.from(bytes[i]!))).toBe(true);
      }
      // A batch flushes once, and takes no put after that: it would never be synced.
      await expect(batch.flush()).rejects.toThrow(/once/);
      await expect(withDurableBatch(batch, () => node.put(shard(9), bytes[0]!))).rejects.toThrow(/already flushed/);
    });
  }

  it('fsyncs each object in a folder on a file system whose syncfs does not reach its storage (FUSE)', async () => {
    // syncfs on FUSE (sshfs, rclone mount) writes pages to the daemon and asks it nothing
    // (the kernel sends FUSE_SYNCFS for virtiofs only); an fsync sends FUSE_FSYNC. The real
    // folder here is on a local disk: only its statfs type is named as FUSE's.
    const batch = new DurableBatch(() => Promise.resolve(0x65735546));
    const bytes = [0, 1].map(() => new Uint8Array(randomBytes(50)));
    await withDurableBatch(batch, () => Promise.all(bytes.map((b, i) => node.put(shard(20 + i), b))));
    await batch.flush();
    expect(batch.flushed).toEqual({ folders: 1, objects: 2, syncfs: 0, fsyncs: 3 });
  });

  it('a put outside any batch is not recorded in one', async () => {
    const batch = new DurableBatch();
    await node.put(shard(10), new Uint8Array(10));
    await batch.flush();
    expect(batch.flushed.objects).toBe(0);
  });
});
