// Folders (issue 13) against lies. A folder restore writes files under names that come from
// the head: sealed under the vault key, so no location can forge them, but a device holding
// the key could be buggy or compromised, and the restore checks them anyway. A head naming
// `evil/../../escape`, an empty or dot step, a backslash, or one name as both file and
// folder is refused before any byte is written, and nothing outside DEST changes. And a
// location that serves the head and manifest from before a `mv` (a rollback of its own
// storage) does not bring the old names back.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../../src/core/crypto/kdf';
import { CorruptError } from '../../src/core/errors';
import { PATHS } from '../../src/core/format/records';
import { fetchManifest, getFile, putFile } from '../../src/core/vault/files';
import { getFolder, moveName, putFolder } from '../../src/core/vault/folders';
import { isPack } from '../../src/core/vault/packs';
import { Vault } from '../../src/core/vault/vault';
import { appendCase } from './ledger';

const PASS = 'folder names adversary passphrase';
let root: string;
let vault: Vault;
let profile: string;
const folder = (n: string): string => nodePath.join(root, n);
const problems: string[] = [];
const outside: string[] = [];
const notes: string[] = [];

beforeAll(async () => {
  root = await fs.mkdtemp(nodePath.join(tmpdir(), 'sv-adv-folders-'));
  for (const n of ['usb', 'nas', 'cloud']) await fs.mkdir(folder(n));
  profile = folder('profile');
  ({ vault } = await Vault.create(profile, {
    locations: ['usb', 'nas', 'cloud'].map((n) => `${folder(n)}#${n}`),
    policy: { data: 2, total: 3, threshold: 2, replicas: 1 },
    passphrase: PASS,
    kdf: INSECURE_TEST_KDF,
    segmentSize: 4096,
  }));
  await putFile(vault, [Buffer.from('bait')], 'evil/ok.txt');
});

afterAll(async () => {
  await vault?.close();
  appendCase({
    name: 'folder restore of hostile names; a location rolled back past a mv',
    hostileRecords: notes.length,
    acceptedForgeries: problems,
    outsideTouched: outside,
    problems: [...problems, ...outside],
    notes,
    durationMs: 0,
  });
  await fs.rm(root, { recursive: true, force: true });
});

/** Every path under `dir`, links not followed. */
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      out.push(nodePath.relative(root, nodePath.join(d, e.name)));
      if (e.isDirectory() && !e.isSymbolicLink()) await walk(nodePath.join(d, e.name));
    }
  };
  await walk(dir);
  return out.sort();
}

describe('a folder restore of names the head should never hold', () => {
  it.each([
    ['evil/../../escape.txt'],
    ['evil/a/../../../escape.txt'],
    ['evil//x.txt'],
    ['evil/./x.txt'],
    ['evil/a\\..\\..\\x.txt'],
    ['evil/ok.txt/'],
  ])('refuses %j before writing anything, and nothing outside DEST changes', async (name) => {
    const real = vault.head().files.find((f) => f.name === 'evil/ok.txt')!;
    // A key holder's lie: the real file's bytes listed again under a hostile name.
    await vault.commit((h) => ({ ...h, files: [...h.files, { ...real, name }] }));
    notes.push(`head naming ${JSON.stringify(name)}`);
    const before = await listing(root);
    const dest = nodePath.join(root, 'dest', 'inner');
    const result = await getFolder(vault, 'evil/', dest).then(
      () => 'restored',
      (err: unknown) => err,
    );
    if (!(result instanceof CorruptError)) problems.push(`restore of ${JSON.stringify(name)}: ${String(result)}`);
    expect(result).toBeInstanceOf(CorruptError);
    const after = (await listing(root)).filter((p) => !p.startsWith('dest'));
    const changed = after.filter((p) => !before.includes(p) && !/^(usb|nas|cloud|profile)\//.test(p));
    outside.push(...changed);
    expect(changed).toEqual([]);
    // Nothing under DEST either: every name is checked before the first write.
    expect(await fs.readdir(nodePath.join(root, 'dest', 'inner')).catch(() => [])).toEqual([]);
    await vault.commit((h) => ({ ...h, files: h.files.filter((f) => f.name !== name) }));
  });
});

describe('a location rolled back past a mv', () => {
  it('brings no old name back: the other locations and the profile counter say the newer head', async () => {
    await putFile(vault, [Buffer.from('moved bytes')], 'before/x.txt');
    const file = vault.head().files.find((f) => f.name === 'before/x.txt')!;
    const usb = folder('usb');
    const saved = new Map<string, Buffer>();
    for (const p of [PATHS.head, PATHS.manifest(file.id, file.version)])
      saved.set(p, await fs.readFile(nodePath.join(usb, p)));
    await moveName(vault, 'before', 'after');
    // The hostile location puts its old head and the old manifest back.
    for (const [p, bytes] of saved) await fs.writeFile(nodePath.join(usb, p), bytes);
    notes.push('usb: head and manifest from before the mv');
    await vault.close();
    vault = await Vault.load(profile, {}, PASS);
    await vault.unlock({ passphrase: PASS });
    const names = vault.head().files.map((f) => f.name);
    if (names.includes('before/x.txt')) problems.push('the rolled-back location brought before/x.txt back');
    expect(names).toContain('after/x.txt');
    expect(names).not.toContain('before/x.txt');
    const out = await getFolder(vault, 'after/', folder('rolled'));
    expect(await fs.readFile(nodePath.join(out.output, 'x.txt'), 'utf8')).toBe('moved bytes');
  });
});

describe('packed small files against lies (docs/FORMAT.md "Packs")', () => {
  it('a location swapping in another pack’s shards, or a head extent into another file, releases nothing else', async () => {
    const tree = async (name: string, fill: number): Promise<Map<string, Buffer>> => {
      const dir = folder(`tree-${name}`);
      const files = new Map<string, Buffer>();
      for (let i = 0; i < 8; i++) {
        const bytes = Buffer.alloc(300 + i * 500, fill + i);
        await fs.mkdir(dir, { recursive: true });
        await fs.writeFile(nodePath.join(dir, `f${i}`), bytes);
        files.set(`${name}/f${i}`, bytes);
      }
      await putFolder(vault, dir, { name });
      return files;
    };
    const p = await tree('packp', 1);
    await tree('packq', 100);
    const packs = vault.head().files.filter(isPack);
    expect(packs).toHaveLength(2);
    const ofP = vault.head().files.find((f) => f.name === 'packp/f0')!.pack!.id;
    const packP = await fetchManifest(
      vault,
      packs.find((f) => f.id === ofP)!,
    );
    const packQ = await fetchManifest(
      vault,
      packs.find((f) => f.id !== ofP)!,
    );
    // usb (one of three: X = 1) serves pack Q's shard bytes under pack P's shard names.
    const usb = folder('usb');
    const usbId = vault.locations.find((l) => l.name === 'usb')!.id;
    let swapped = 0;
    for (const s of packP.shards) {
      if (!s.locations.includes(usbId)) continue;
      // The other pack's shard of the same index, from wherever its manifest puts it.
      const other = packQ.shards.find((o) => o.index === s.index)!;
      const holder = vault.locations.find((l) => l.id === other.locations[0])!.name;
      const from = nodePath.join(folder(holder), PATHS.shard(other.object));
      await fs.copyFile(from, nodePath.join(usb, PATHS.shard(s.object)));
      swapped++;
    }
    expect(swapped).toBeGreaterThan(0);
    notes.push(`usb: ${swapped} shard(s) of one pack replaced by another pack's`);
    const readBack = async (name: string): Promise<Buffer> => {
      const out = folder(`out-${name.replace(/\//g, '_')}`);
      await fs.rm(out, { force: true });
      await getFile(vault, name, out);
      return fs.readFile(out);
    };
    for (const [name, bytes] of p) {
      const got = await readBack(name);
      if (!got.equals(bytes)) problems.push(`${name}: other bytes released after a shard swap`);
      expect(got.equals(bytes)).toBe(true);
    }
    // A key holder's lie: packp/f1 named at packp/f2's offset, in the same pack.
    const f1 = vault.head().files.find((f) => f.name === 'packp/f1')!;
    const f2 = vault.head().files.find((f) => f.name === 'packp/f2')!;
    await vault.commit((h) => ({
      ...h,
      files: h.files.map((f) => (f.id === f1.id ? { ...f, pack: { id: f1.pack!.id, offset: f2.pack!.offset } } : f)),
    }));
    notes.push('head: an extent pointing into another packed file');
    const lied = await readBack('packp/f1').then(
      () => 'released',
      (err: unknown) => err,
    );
    if (!(lied instanceof CorruptError)) problems.push(`an extent into another file: ${String(lied)}`);
    expect(lied).toBeInstanceOf(CorruptError);
    expect(await fs.readdir(root)).not.toContain('out-packp_f1');
  });
});
