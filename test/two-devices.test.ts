// Two machines writing one vault: passive storage has no lock across machines, so each
// commit applies its change to the newest head it finds instead of writing over it. A file
// committed by one device is never dropped by the other's next commit.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { getFile, listFiles, putFile, removeFile } from '../src/core/vault/files';
import { moveName, putFolder } from '../src/core/vault/folders';
import { Vault } from '../src/core/vault/vault';

const PASS = 'two devices';
let root: string;
let laptop: Vault;
let desktop: Vault;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'sv-two-'));
  const folders = ['a', 'b', 'c'].map((n) => path.join(root, n));
  for (const f of folders) await fs.mkdir(f);
  ({ vault: laptop } = await Vault.create(path.join(root, 'laptop'), {
    locations: folders,
    policy: { survive: 1, secretAgainst: 1 },
    passphrase: PASS,
    kdf: INSECURE_TEST_KDF,
    segmentSize: 4096,
  }));
  desktop = await Vault.attach(path.join(root, 'desktop'), folders, { passphrase: PASS }, null);
});

afterAll(async () => {
  await laptop.close();
  await desktop.close();
  await fs.rm(root, { recursive: true, force: true });
});

it('interleaved puts and removes from two devices keep every committed file', async () => {
  const files = new Map<string, Uint8Array>();
  const store = async (v: Vault, name: string): Promise<void> => {
    const bytes = new Uint8Array(randomBytes(10_000));
    files.set(name, bytes);
    await putFile(v, [bytes], name);
  };
  // Each device works from the head it read earlier; the other has moved on since.
  await store(laptop, 'from-laptop-1');
  await store(desktop, 'from-desktop-1');
  await store(laptop, 'from-laptop-2');
  await store(desktop, 'from-desktop-2');
  await removeFile(laptop, 'from-desktop-1');
  files.delete('from-desktop-1');
  await store(desktop, 'from-desktop-3');

  for (const v of [laptop, desktop]) {
    await expectReadsBack([...files], v.dir, { listsExactly: true });
  }
});

it('a move from a stale head after the other device moved the file commits nothing: one name stays', async () => {
  const bytes = new Uint8Array(randomBytes(9_000));
  await putFile(laptop, [bytes], 'contested.txt');
  // The desktop reads the head with the file in it; then the laptop moves the file.
  await desktop.close();
  desktop = await Vault.load(path.join(root, 'desktop'));
  await desktop.unlock({ passphrase: PASS });
  expect((await listFiles(desktop)).some((f) => f.name === 'contested.txt')).toBe(true);
  await moveName(laptop, 'contested.txt', 'by-laptop.txt');
  // The desktop still lists the old name: its move fails before writing anything.
  await expect(moveName(desktop, 'contested.txt', 'by-desktop.txt')).rejects.toThrow(/contested\.txt/);
  // (Two moves that commit at the very same moment are merged to one name: test/merge.test.ts.)
  const fresh = await Vault.load(laptop.dir);
  await fresh.unlock({ passphrase: PASS });
  try {
    const named = (await listFiles(fresh)).map((f) => f.name).filter((n) => /^(by-|contested)/.test(n));
    expect(named).toEqual(['by-laptop.txt']);
    const out = path.join(root, `out-${randomBytes(4).toString('hex')}`);
    await getFile(fresh, 'by-laptop.txt', out);
    expect(sha(await fs.readFile(out))).toBe(sha(bytes));
  } finally {
    await fresh.close();
  }
});

it('a move from a stale head onto a name the other device has taken since is refused: both files stay', async () => {
  const moving = new Uint8Array(randomBytes(7_000));
  const other = new Uint8Array(randomBytes(5_000));
  await putFile(laptop, [moving], 'to-move.txt');
  // The desktop stores `taken.txt`; the laptop's head does not list it yet, so its move plans
  // onto a free name. Committed as planned, the head would hold two files under one name, and
  // the next merge would tombstone the older one: the moved file would be gone.
  await putFile(desktop, [other], 'taken.txt');
  await expect(moveName(laptop, 'to-move.txt', 'taken.txt')).rejects.toThrow(/taken\.txt is already in the vault/);
  const fresh = await Vault.load(laptop.dir);
  await fresh.unlock({ passphrase: PASS });
  try {
    const named = (await listFiles(fresh)).map((f) => f.name).filter((n) => /^(to-move|taken)/.test(n));
    expect(named.sort()).toEqual(['taken.txt', 'to-move.txt']);
    for (const [name, bytes] of [
      ['to-move.txt', moving],
      ['taken.txt', other],
    ] as const) {
      const out = path.join(root, `out-${randomBytes(4).toString('hex')}`);
      await getFile(fresh, name, out);
      expect(sha(await fs.readFile(out)), name).toBe(sha(bytes));
    }
  } finally {
    await fresh.close();
  }
});

it('a put from a stale head under a name the other device has taken since is refused without --replace', async () => {
  const theirs = new Uint8Array(randomBytes(6_000));
  await putFile(desktop, [theirs], 'claimed.txt');
  // The laptop's head does not list claimed.txt: its check at the start passes.
  await expect(putFile(laptop, [new Uint8Array(randomBytes(4_000))], 'claimed.txt')).rejects.toThrow(
    /claimed\.txt is already in the vault/,
  );
  const fresh = await Vault.load(laptop.dir);
  await fresh.unlock({ passphrase: PASS });
  try {
    const out = path.join(root, `out-${randomBytes(4).toString('hex')}`);
    await getFile(fresh, 'claimed.txt', out);
    expect(sha(await fs.readFile(out))).toBe(sha(theirs));
  } finally {
    await fresh.close();
  }
});

it('a put DIR from a stale head into a folder the other device has filled since is refused without --replace', async () => {
  const theirs = new Uint8Array(randomBytes(3_000));
  await putFile(desktop, [theirs], 'album/one.jpg');
  const dir = path.join(root, 'album');
  await fs.mkdir(dir);
  await fs.writeFile(path.join(dir, 'two.jpg'), randomBytes(2_000));
  // The laptop's head has no album/: its check at the start passes.
  await expect(putFolder(laptop, dir)).rejects.toThrow(/album\/one\.jpg is already in the vault/);
  const fresh = await Vault.load(laptop.dir);
  await fresh.unlock({ passphrase: PASS });
  try {
    expect((await listFiles(fresh)).map((f) => f.name).filter((n) => n.startsWith('album'))).toEqual(['album/one.jpg']);
    const out = path.join(root, `out-${randomBytes(4).toString('hex')}`);
    await getFile(fresh, 'album/one.jpg', out);
    expect(sha(await fs.readFile(out))).toBe(sha(theirs));
  } finally {
    await fresh.close();
  }
});

it('two devices packing small files at once keep both packs and every entry; the refused one leaves no pack', async () => {
  const tree = async (name: string): Promise<{ dir: string; files: Map<string, Uint8Array> }> => {
    const dir = path.join(root, `tree-${name}`);
    const files = new Map<string, Uint8Array>();
    await fs.mkdir(dir);
    for (let i = 0; i < 5; i++) {
      const bytes = new Uint8Array(randomBytes(1_000 + i));
      await fs.writeFile(path.join(dir, `f${i}`), bytes);
      files.set(`${name}/f${i}`, bytes);
    }
    return { dir, files };
  };
  const a = await tree('from-laptop');
  const b = await tree('from-desktop');
  // Each from the head it read before the other's commit.
  await putFolder(laptop, a.dir, { name: 'from-laptop' });
  await putFolder(desktop, b.dir, { name: 'from-desktop' });
  const fresh = await Vault.load(laptop.dir);
  await fresh.unlock({ passphrase: PASS });
  try {
    const head = fresh.head();
    const packIds = new Set(head.files.flatMap((f) => (f.pack ? [f.pack.id] : [])));
    expect(packIds.size).toBe(2);
    for (const id of packIds)
      expect(head.files.some((f) => f.id === id && f.name.startsWith('\u0000pack/'))).toBe(true);
    for (const [name, bytes] of [...a.files, ...b.files]) {
      const out = path.join(root, `out-${randomBytes(4).toString('hex')}`);
      await getFile(fresh, name, out);
      expect(sha(await fs.readFile(out))).toBe(sha(bytes));
    }
    // The refused put DIR of the test above stored a pack and discarded it: every pack
    // manifest on the locations is one the head names.
    const manifests = await fs.readdir(path.join(root, 'a', 'manifests'));
    const named = new Set(head.files.map((f) => `${f.id}-${f.version}`));
    expect(manifests.filter((m) => !named.has(m))).toEqual([]);
  } finally {
    await fresh.close();
  }
});

/** The desktop opened afresh: it reads the head as the locations hold it now. */
async function reopenDesktop(): Promise<void> {
  await desktop.close();
  desktop = await Vault.load(path.join(root, 'desktop'));
  await desktop.unlock({ passphrase: PASS });
}

/** Each name reads back, from a fresh unlock of a profile (the laptop's unless `dir`), as
 * these bytes; with `listsExactly`, the vault lists those names and no others. */
async function expectReadsBack(
  files: readonly (readonly [string, Uint8Array])[],
  dir = laptop.dir,
  opts: { listsExactly?: boolean } = {},
): Promise<void> {
  const fresh = await Vault.load(dir);
  await fresh.unlock({ passphrase: PASS });
  try {
    if (opts.listsExactly)
      expect((await listFiles(fresh)).map((f) => f.name).sort()).toEqual(files.map(([name]) => name).sort());
    for (const [name, bytes] of files) {
      const out = path.join(root, `out-${randomBytes(4).toString('hex')}`);
      await getFile(fresh, name, out);
      expect(sha(await fs.readFile(out))).toBe(sha(bytes));
    }
  } finally {
    await fresh.close();
  }
}

it('a remove from a stale head after the other device moved the file leaves the moved file whole', async () => {
  // One small file alone in its pack (so removing it would drop the pack), and one stored alone.
  const dir = path.join(root, 'lone');
  await fs.mkdir(dir);
  const small = new Uint8Array(randomBytes(700));
  await fs.writeFile(path.join(dir, 'one'), small);
  await putFolder(laptop, dir, { name: 'lone' });
  const big = new Uint8Array(randomBytes(9_000));
  await putFile(laptop, [big], 'alone.bin');
  expect(laptop.head().files.find((f) => f.name === 'lone/one')?.pack).toBeDefined();
  // Each time the desktop reads the head with the file; then the laptop moves it, and the
  // desktop removes it by the name it still lists: the file it meant is gone from that name,
  // so nothing is removed (neither the pack nor the shards the moved file uses).
  for (const [from, to] of [
    ['lone/one', 'moved-one'],
    ['alone.bin', 'moved-alone.bin'],
  ] as const) {
    await reopenDesktop();
    await moveName(laptop, from, to);
    await expect(removeFile(desktop, from)).rejects.toThrow(from);
  }
  await expectReadsBack([
    ['moved-one', small],
    ['moved-alone.bin', big],
  ]);
});

it('a put --replace from a stale head deletes nothing of a file the other device moved away', async () => {
  const dir = path.join(root, 'replaced-tree');
  await fs.mkdir(dir);
  // Larger than a packed file: stored alone, with shards of its own.
  const inTree = new Uint8Array(randomBytes(70_000));
  await fs.writeFile(path.join(dir, 'big'), inTree);
  await putFolder(laptop, dir, { name: 'replaced-tree' });
  const alone = new Uint8Array(randomBytes(9_000));
  await putFile(laptop, [alone], 'replaced.bin');
  const moves = [
    ['replaced-tree/big', 'moved-big', inTree, () => putFolder(desktop, dir, { name: 'replaced-tree', replace: true })],
    [
      'replaced.bin',
      'moved-replaced.bin',
      alone,
      () => putFile(desktop, [randomBytes(500)], 'replaced.bin', { replace: true }),
    ],
  ] as const;
  for (const [from, to, , replace] of moves) {
    await reopenDesktop();
    // The locations keep the manifest the move deleted (a stale copy they may well serve).
    const f = laptop.head().files.find((e) => e.name === from)!;
    const kept = ['a', 'b', 'c'].map((l) => path.join(root, l, 'manifests', `${f.id}-${f.version}`));
    const copies = await Promise.all(kept.map((k) => fs.readFile(k)));
    await moveName(laptop, from, to);
    await Promise.all(kept.map((k, i) => fs.writeFile(k, copies[i]!)));
    // The desktop replaces what it still lists under the old name.
    await replace();
  }
  await expectReadsBack(moves.map(([, to, bytes]) => [to, bytes] as const));
});
