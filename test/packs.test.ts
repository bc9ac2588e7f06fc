/**
 * Packs (docs/FORMAT.md "Packs", src/core/vault/packs.ts): the small files of a `put DIR`
 * stored together, one set of shards and one manifest per pack, each file an extent named by
 * the sealed head and checked against its own SHA-256. Over three local folders, 2 of 3.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { decodeHead, type FileRef, type Head } from '../src/core/format/head';
import { PATHS } from '../src/core/format/records';
import { fetchManifest, getFile, listFiles, putFile, removeFile, verify } from '../src/core/vault/files';
import { getFolder, moveName, putFolder, removeFolder } from '../src/core/vault/folders';
import { mergeHeads } from '../src/core/vault/merge';
import { isPack, isPacked, PACK_FILE_MAX, storedFiles } from '../src/core/vault/packs';
import { repair } from '../src/core/vault/repair';
import { drill } from '../src/core/vault/drill';
import { rotateVaultKey, removeLocation } from '../src/core/vault/location-ops';
import { runRecode, setPolicy } from '../src/core/vault/policy-change';
import { Vault } from '../src/core/vault/vault';
import { TempRoot } from './helpers/cli';

const PASS = 'packs test passphrase';
let root: TempRoot;
let vault: Vault;
let locs: string[];
let source: string;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
/** name -> bytes of the tree put. */
const tree = new Map<string, Buffer>();

beforeAll(async () => {
  root = await TempRoot.create('shardvault-packs-');
  locs = await root.locations('loc', 3);
  ({ vault } = await Vault.create(await root.dir('profile'), {
    locations: locs.map((l, i) => `${l}#l${i}`),
    policy: { data: 2, total: 3, threshold: 2, replicas: 1 },
    passphrase: PASS,
    kdf: INSECURE_TEST_KDF,
    segmentSize: 4096,
  }));
  source = nodePath.join(await root.dir('src'), 'small');
  // 60 small files (sizes across segment boundaries, one empty), one file too big to pack,
  // an empty folder.
  for (let i = 0; i < 60; i++) {
    const bytes = Buffer.alloc(i * 97, i + 1);
    const name = `d${i % 3}/f${i}.bin`;
    tree.set(`small/${name}`, bytes);
    await fs.mkdir(nodePath.join(source, `d${i % 3}`), { recursive: true });
    await fs.writeFile(nodePath.join(source, name), bytes);
  }
  const big = Buffer.alloc(PACK_FILE_MAX + 1, 9);
  tree.set('small/big.bin', big);
  await fs.writeFile(nodePath.join(source, 'big.bin'), big);
  await fs.mkdir(nodePath.join(source, 'empty'));
}, 60_000);

afterAll(async () => {
  await vault?.close();
  await root?.cleanup();
});

async function read(name: string): Promise<Buffer> {
  const out = nodePath.join(root.path, `out-${sha(Buffer.from(name)).slice(0, 8)}`);
  await fs.rm(out, { force: true });
  await getFile(vault, name, out);
  return fs.readFile(out);
}

/** The head as a location holds it (decoded under the vault's head key). */
async function headOn(loc: string): Promise<{ head: Head; version: number }> {
  const bytes = await fs.readFile(nodePath.join(loc, PATHS.head));
  const head = decodeHead(bytes, vault.requireKeys().head, vault.vaultId);
  return { head, version: bytes[4]! };
}

describe('packs', () => {
  it('put DIR packs the small files: one pack, entries naming extents, a version 5 head', async () => {
    const put = await putFolder(vault, source);
    expect(put).toMatchObject({ files: 61, folders: 1 });
    const head = vault.head();
    const packs = head.files.filter(isPack);
    expect(packs).toHaveLength(1);
    const packed = head.files.filter(isPacked);
    // 60 small files and the empty folder's marker are packed; big.bin is stored alone.
    expect(packed).toHaveLength(61);
    expect(head.files.find((f) => f.name === 'small/big.bin')?.pack).toBeUndefined();
    expect(packs[0]!.size).toBe([...tree.values()].reduce((n, b) => n + (b.length <= PACK_FILE_MAX ? b.length : 0), 0));
    // Two manifests in all (the pack's and big.bin's), not 62.
    expect(await fs.readdir(nodePath.join(locs[0]!, 'manifests'))).toHaveLength(2);
    const onDisk = await headOn(locs[0]!);
    expect(onDisk.version).toBe(5);
    expect(onDisk.head.files.filter(isPacked).map((f) => f.pack)).toEqual(packed.map((f) => f.pack));
    // ls shows the files, never the pack, and a packed file has its pack's health.
    const listed = await listFiles(vault);
    expect(listed.map((f) => f.name).sort()).toEqual([...tree.keys(), 'small/empty/'].sort());
    expect(listed.every((f) => f.health === 'healthy')).toBe(true);
  });

  it('reads every packed file back byte for byte: get, get NAME/', async () => {
    for (const name of ['small/d0/f0.bin', 'small/d1/f43.bin', 'small/d2/f59.bin'])
      expect(sha(await read(name))).toBe(sha(tree.get(name)!));
    const got = await getFolder(vault, 'small/', nodePath.join(root.path, 'restore'));
    for (const [name, bytes] of tree)
      expect(sha(await fs.readFile(nodePath.join(got.output, name.slice('small/'.length))))).toBe(sha(bytes));
    expect((await fs.stat(nodePath.join(got.output, 'empty'))).isDirectory()).toBe(true);
  });

  it('refuses an extent the head points into another file’s bytes (the SHA-256 check)', async () => {
    const victim = vault.head().files.find((f) => f.name === 'small/d1/f1.bin')!;
    const other = vault.head().files.find((f) => f.name === 'small/d2/f2.bin')!;
    // A head (sealed under the vault key, so written by an enrolled device) whose entry names
    // the other file's extent, of the same length: the bytes are real pack bytes, not its own.
    await vault.commit((h) => ({
      ...h,
      files: h.files.map((f) =>
        f.id === victim.id ? { ...f, pack: { id: f.pack!.id, offset: other.pack!.offset } } : f,
      ),
    }));
    await expect(read('small/d1/f1.bin')).rejects.toThrow(/do not match the SHA-256/);
    // verify --deep reads the pack and names the file whose extent is wrong, and only it.
    expect((await verify(vault, true)).problems).toEqual([
      { file: 'small/d1/f1.bin', shard: null, location: '*', kind: 'corrupt' },
    ]);
    // Past the pack's end: refused before anything is read.
    await vault.commit((h) => ({
      ...h,
      files: h.files.map((f) => (f.id === victim.id ? { ...f, pack: { id: f.pack!.id, offset: 1 << 30 } } : f)),
    }));
    await expect(read('small/d1/f1.bin')).rejects.toThrow(/ends past its pack/);
    await vault.commit((h) => ({ ...h, files: h.files.map((f) => (f.id === victim.id ? victim : f)) }));
    expect(sha(await read('small/d1/f1.bin'))).toBe(sha(tree.get('small/d1/f1.bin')!));
  });

  it('mv moves a packed file in the head alone; rm and replace keep the pack for the others', async () => {
    const pack = vault.head().files.find(isPack)!;
    const shardsBefore = (await fs.readdir(nodePath.join(locs[0]!, 'shards'))).sort();
    await moveName(vault, 'small/d0/f3.bin', 'moved/f3.bin');
    expect(await fs.readdir(nodePath.join(locs[0]!, 'manifests'))).toHaveLength(2);
    expect((await fs.readdir(nodePath.join(locs[0]!, 'shards'))).sort()).toEqual(shardsBefore);
    expect(sha(await read('moved/f3.bin'))).toBe(sha(tree.get('small/d0/f3.bin')!));
    await removeFile(vault, 'small/d0/f6.bin');
    await putFile(vault, [Buffer.from('new bytes')], 'small/d0/f9.bin', { replace: true });
    expect(vault.head().files.find(isPack)).toEqual(pack);
    expect((await read('small/d0/f9.bin')).toString()).toBe('new bytes');
    expect(sha(await read('small/d0/f12.bin'))).toBe(sha(tree.get('small/d0/f12.bin')!));
    await expect(read('small/d0/f6.bin')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('repair after losing a location restores the pack; verify finds it whole', async () => {
    await fs.rm(locs[1]!, { recursive: true });
    await fs.mkdir(locs[1]!);
    // The location's own record and shares come back with repair too; the pack's shard first.
    await repair(vault, { deep: false });
    const pack = vault.head().files.find(isPack)!;
    const m = await fetchManifest(vault, pack);
    const onL1 = new Set(await fs.readdir(nodePath.join(locs[1]!, 'shards')));
    expect(m.shards.filter((s) => s.locations.includes(vault.locations[1]!.id)).every((s) => onL1.has(s.object))).toBe(
      true,
    );
    const report = await verify(vault, true);
    expect(report.problems).toEqual([]);
    expect(report.files.map((f) => f.name)).toContain(`(pack ${pack.id})`);
    expect(sha(await read('small/d2/f44.bin'))).toBe(sha(tree.get('small/d2/f44.bin')!));
  });

  it('a location rewriting the pack’s shard bytes is caught: read from the others, then refused', async () => {
    const pack = vault.head().files.find(isPack)!;
    const m = await fetchManifest(vault, pack);
    const flip = async (index: number): Promise<void> => {
      const s = m.shards[index]!;
      const loc = locs[vault.locations.findIndex((l) => l.id === s.locations[0])]!;
      const path = nodePath.join(loc, PATHS.shard(s.object));
      const bytes = await fs.readFile(path);
      bytes[bytes.length - 100]! ^= 0xff;
      bytes[200]! ^= 0xff;
      await fs.writeFile(path, bytes);
    };
    await flip(0);
    expect(sha(await read('small/d1/f10.bin'))).toBe(sha(tree.get('small/d1/f10.bin')!));
    await flip(1);
    await expect(read('small/d1/f10.bin')).rejects.toThrow();
  });

  it('the last file out takes the pack: rm -r drops it from the head and its objects', async () => {
    const pack = vault.head().files.find(isPack)!;
    const m = await fetchManifest(vault, pack);
    await removeFolder(vault, 'small');
    expect(vault.head().files.find(isPack)).toBeDefined(); // moved/f3.bin still names it
    await removeFile(vault, 'moved/f3.bin');
    expect(vault.head().files.filter(isPack)).toEqual([]);
    expect(vault.head().tombstones).toContainEqual({ id: pack.id, version: pack.version });
    for (const loc of locs) {
      expect(await fs.readdir(nodePath.join(loc, 'manifests'))).not.toContain(`${pack.id}-${pack.version}`);
      const held = new Set(await fs.readdir(nodePath.join(loc, 'shards')).catch(() => []));
      for (const s of m.shards) expect(held.has(s.object)).toBe(false);
    }
    expect(vault.head().files).toEqual([]);
    expect(storedFiles(vault.head())).toEqual([]);
  });
});

describe('packs in the head merge', () => {
  const entry = (id: string, name: string, pack?: string, offset = 0): FileRef => ({
    id,
    version: 1,
    name,
    size: 1,
    sha256: '00'.repeat(32),
    created: '2026-12-07T00:00:00.000Z',
    ...(pack ? { pack: { id: pack, offset } } : {}),
  });
  it('keeps both devices’ packs and entries, and a removal on either stays removed', () => {
    const base = vault.head();
    const a = {
      ...base,
      counter: base.counter + 1,
      files: [entry('pa', '\u0000pack/pa'), entry('a1', 'x/a1', 'pa'), entry('a2', 'x/a2', 'pa', 1)],
    };
    const b = {
      ...base,
      counter: base.counter + 1,
      files: [entry('pb', '\u0000pack/pb'), entry('b1', 'y/b1', 'pb')],
      tombstones: [...base.tombstones, { id: 'a2', version: 1 }],
    };
    const merged = mergeHeads([a, b]).head;
    expect(merged.files.map((f) => f.id).sort()).toEqual(['a1', 'b1', 'pa', 'pb']);
    expect(merged.files.find((f) => f.id === 'a1')?.pack).toEqual({ id: 'pa', offset: 0 });
  });
});

describe('packs through re-coding, key rotation and a location’s removal', () => {
  it('every packed file reads byte for byte after each, the pack handled as a file', async () => {
    const where = await root.locations('four', 5);
    const { vault: v } = await Vault.create(await root.dir('profile-four'), {
      locations: where.map((l, i) => `${l}#m${i}`),
      policy: { data: 2, total: 3, threshold: 2, replicas: 1 },
      passphrase: PASS,
      kdf: INSECURE_TEST_KDF,
      segmentSize: 4096,
    });
    try {
      const dir = nodePath.join(await root.dir('src-four'), 'few');
      const want = new Map<string, Buffer>();
      await fs.mkdir(dir);
      for (let i = 0; i < 12; i++) {
        const bytes = Buffer.alloc(700 * i + 1, i);
        await fs.writeFile(nodePath.join(dir, `g${i}`), bytes);
        want.set(`few/g${i}`, bytes);
      }
      await putFolder(v, dir);
      const readAll = async (step: string): Promise<void> => {
        for (const [name, bytes] of want) {
          const out = nodePath.join(root.path, `four-${step}-${name.replace('/', '_')}`);
          await getFile(v, name, out);
          expect(sha(await fs.readFile(out)), `${name} after ${step}`).toBe(sha(bytes));
        }
      };
      const packVersion = (): number => v.head().files.find(isPack)!.version;
      const v0 = packVersion();
      await setPolicy(v, { ...v.policy, data: 1 });
      await runRecode(v);
      expect((await fetchManifest(v, v.head().files.find(isPack)!)).data).toBe(1);
      expect(packVersion()).not.toBe(v0);
      await readAll('re-coding');
      const v1 = packVersion();
      await rotateVaultKey(v);
      expect(packVersion()).toBe(v1 + 1);
      await readAll('rotation');
      const gone = v.locations.find((l) => l.name === 'm4')!.id;
      await removeLocation(v, 'm4', { untrusted: false });
      const after = await fetchManifest(v, v.head().files.find(isPack)!);
      expect(after.shards.flatMap((s) => s.locations)).not.toContain(gone);
      await readAll('removal');
      expect((await verify(v, true)).problems).toEqual([]);
      // The drill: losing one location, every packed file is listed by name (its pack's fate),
      // and a fresh open reads packed files back.
      const report = await drill(v, ['m0'], { passphrase: PASS, tempRoot: root.path });
      expect(report.files.map((f) => f.name).sort()).toEqual([...want.keys()].sort());
      expect(report.lostFiles).toEqual([]);
      expect(report.open).toMatchObject({ opened: true, problems: [] });
      expect(report.open!.read).toBe(report.open!.tried);
      expect(report.open!.tried).toBeGreaterThan(0);
    } finally {
      await v.close();
    }
  }, 60_000);
});
