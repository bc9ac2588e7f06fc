// A hostile location swaps shards (issue 9, item 6): quick verify (no --deep) must find a
// shard replaced by another of the same size, from another file, another index of the same
// file or another version, without reading every byte, and report it exactly like damage, so
// that repair rebuilds it. Sizes alone (what quick verify looked at before) can't tell.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../../src/core/crypto/kdf';
import type { Manifest } from '../../src/core/format/manifest';
import { PATHS, SHARD_HEADER_BYTES } from '../../src/core/format/records';
import { fetchManifest, getFile, putFile, verify } from '../../src/core/vault/files';
import { repair } from '../../src/core/vault/repair';
import { Vault } from '../../src/core/vault/vault';

const PASSPHRASE = 'adversary verify test';
const SEGMENT = 4096;
/** Five segments of 4096 bytes: first, middle and last frames are distinct. */
const SIZE = 5 * SEGMENT - 100;

let root: string;
let vault: Vault;
const folders: string[] = [];
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'sv-adversary-verify-'));
  for (let i = 0; i < 3; i++) {
    folders.push(path.join(root, `loc${i}`));
    await fs.mkdir(folders[i]!);
  }
  // k = 2 of n = 4 over three locations: one location holds two shards of every file, so
  // two indexes of one file can be swapped inside one location.
  ({ vault } = await Vault.create(path.join(root, 'profile'), {
    locations: folders,
    policy: { data: 2, total: 4, threshold: 2, replicas: 1 },
    passphrase: PASSPHRASE,
    kdf: INSECURE_TEST_KDF,
    segmentSize: SEGMENT,
  }));
});

afterAll(async () => {
  await vault.close();
  await fs.rm(root, { recursive: true, force: true });
});

async function put(name: string, bytes: Uint8Array = new Uint8Array(randomBytes(SIZE)), replace = false) {
  await putFile(vault, [bytes], name, { replace });
  return { bytes, manifest: await manifestOf(name) };
}

async function manifestOf(name: string): Promise<Manifest> {
  return fetchManifest(
    vault,
    vault.head().files.find((f) => f.name === name)!,
  );
}

/** The folder and location name of a location id. */
function where(locationId: string): { folder: string; name: string } {
  const at = vault.locations.findIndex((l) => l.id === locationId);
  return { folder: folders[at]!, name: vault.locations[at]!.name };
}

/** Shard `index` of `m` on its (only) location: its object path and location name. */
function shardAt(m: Manifest, index: number): { file: string; location: string; locationId: string } {
  const s = m.shards[index]!;
  const { folder, name } = where(s.locations[0]!);
  return { file: path.join(folder, PATHS.shard(s.object)), location: name, locationId: s.locations[0]! };
}

async function swap(a: string, b: string): Promise<void> {
  const [x, y] = await Promise.all([fs.readFile(a), fs.readFile(b)]);
  expect(x.length).toBe(y.length); // same size: a size check sees nothing
  await fs.writeFile(a, y);
  await fs.writeFile(b, x);
}

/** Quick verify's problems for these files, as `file:shard@location:kind`. */
async function quickProblems(...files: string[]): Promise<string[]> {
  const report = await verify(vault, false);
  return report.problems
    .filter((p) => files.includes(p.file))
    .map((p) => `${p.file}:${p.shard}@${p.location}:${p.kind}`)
    .sort();
}

describe('quick verify finds a swapped shard of the same size', () => {
  it("two files' shards swapped inside one location: both reported corrupt, and repair rebuilds them", async () => {
    const a = await put('swap-a');
    const b = await put('swap-b');
    const on = a.manifest.shards[0]!.locations[0]!;
    const ia = a.manifest.shards.findIndex((s) => s.locations[0] === on);
    const ib = b.manifest.shards.findIndex((s) => s.locations[0] === on);
    await swap(shardAt(a.manifest, ia).file, shardAt(b.manifest, ib).file);

    const name = where(on).name;
    expect(await quickProblems('swap-a', 'swap-b')).toEqual([
      `swap-a:${ia}@${name}:corrupt`,
      `swap-b:${ib}@${name}:corrupt`,
    ]);

    const report = await repair(vault, { deep: false });
    const rebuilt = report.files.filter((f) => f.name.startsWith('swap-')).map((f) => [f.name, f.rebuilt]);
    expect(rebuilt).toEqual([
      ['swap-a', 1],
      ['swap-b', 1],
    ]);
    expect(await quickProblems('swap-a', 'swap-b')).toEqual([]);
    expect((await verify(vault, true)).problems.filter((p) => p.file.startsWith('swap-'))).toEqual([]);
    for (const [name, bytes] of [
      ['swap-a', a.bytes],
      ['swap-b', b.bytes],
    ] as const) {
      const out = path.join(root, `${name}.out`);
      await getFile(vault, name, out);
      expect(sha(await fs.readFile(out))).toBe(sha(bytes));
    }
  });

  it('two indexes of one file swapped inside one location: both reported corrupt', async () => {
    const { manifest } = await put('two-indexes');
    // Four shards over three locations: some location holds two of them.
    const byLocation = new Map<string, number[]>();
    manifest.shards.forEach((s, i) => byLocation.set(s.locations[0]!, [...(byLocation.get(s.locations[0]!) ?? []), i]));
    const [on, pair] = [...byLocation.entries()].find(([, list]) => list.length === 2)!;
    const [i, j] = pair;
    await swap(shardAt(manifest, i!).file, shardAt(manifest, j!).file);
    const name = where(on).name;
    expect(await quickProblems('two-indexes')).toEqual(
      [`two-indexes:${i}@${name}:corrupt`, `two-indexes:${j}@${name}:corrupt`].sort(),
    );
  });

  it('a shard of an older version of the same file put back in place of the new one: reported corrupt', async () => {
    const old = await put('versions');
    const kept = await fs.readFile(shardAt(old.manifest, 2).file); // the location keeps a copy
    const current = await put('versions', new Uint8Array(randomBytes(SIZE)), true);
    const target = shardAt(current.manifest, 2);
    await fs.writeFile(target.file, kept);
    expect(await quickProblems('versions')).toEqual([`versions:2@${target.location}:corrupt`]);
  });

  it("another shard's frames under this shard's own header (a header is public): reported corrupt", async () => {
    const mine = await put('pasted-mine');
    const theirs = await put('pasted-theirs');
    const target = shardAt(mine.manifest, 1);
    const own = await fs.readFile(target.file);
    const other = await fs.readFile(shardAt(theirs.manifest, 1).file);
    const forged = Buffer.concat([own.subarray(0, SHARD_HEADER_BYTES), other.subarray(SHARD_HEADER_BYTES)]);
    expect(forged.length).toBe(own.length);
    await fs.writeFile(target.file, forged);
    expect(await quickProblems('pasted-mine', 'pasted-theirs')).toEqual([`pasted-mine:1@${target.location}:corrupt`]);
  });

  it('only the last frame swapped for another shard’s: reported corrupt', async () => {
    const mine = await put('tail-mine');
    const theirs = await put('tail-theirs');
    const target = shardAt(mine.manifest, 3);
    const own = await fs.readFile(target.file);
    const other = await fs.readFile(shardAt(theirs.manifest, 3).file);
    const last = SIZE - 4 * SEGMENT; // bytes of the last segment
    const tail = Math.ceil(last / 2) + 16; // its frame: a piece of k = 2, and the tag
    await fs.writeFile(
      target.file,
      Buffer.concat([own.subarray(0, own.length - tail), other.subarray(other.length - tail)]),
    );
    expect(await quickProblems('tail-mine')).toEqual([`tail-mine:3@${target.location}:corrupt`]);
  });

  it('a swapped shard is reported exactly like a damaged one', async () => {
    const damaged = await put('like-damaged');
    const swapped = await put('like-swapped');
    const other = await put('like-other');
    const d = shardAt(damaged.manifest, 0);
    const bytes = await fs.readFile(d.file);
    bytes[SHARD_HEADER_BYTES + 10]! ^= 1; // inside the first frame
    await fs.writeFile(d.file, bytes);
    const s = shardAt(swapped.manifest, 0);
    await fs.writeFile(s.file, await fs.readFile(shardAt(other.manifest, 0).file));
    const report = await verify(vault, false);
    const shape = (file: string) =>
      report.problems.filter((p) => p.file === file).map((p) => ({ shard: p.shard, kind: p.kind }));
    expect(shape('like-swapped')).toEqual(shape('like-damaged'));
    expect(shape('like-swapped')).toEqual([{ shard: 0, kind: 'corrupt' }]);
    const health = (file: string) => report.files.find((f) => f.name === file);
    expect({ ...health('like-swapped'), name: '' }).toEqual({ ...health('like-damaged'), name: '' });
  });
});
