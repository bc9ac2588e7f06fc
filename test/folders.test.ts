/**
 * Folders (issue 13): a tree stored in one commit and restored byte for byte, empty folders
 * kept and links skipped, `ls` by folder, `rm -r`, and `mv` of files and folders that writes
 * no shard. Over two local folders and a real OpenSSH server (SFTP), 2 of 3.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderEntries, folderPrefix, stepsBelow, fileNameProblem } from '../src/shared/file-name';
import type { ProgressEvent } from '../src/shared/api';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { getFile, listFiles, putFile } from '../src/core/vault/files';
import { getFolder, moveName, putFolder, removeFolder, storeTree, type Tree } from '../src/core/vault/folders';
import { userFiles } from '../src/core/vault/packs';
import { treeFromStream } from '../src/core/vault/tree-upload';
import { Vault } from '../src/core/vault/vault';
import { TempRoot } from './helpers/cli';
import { startSshd, type SshdServer } from './servers/sshd';

const PASS = 'folders test passphrase';
let root: TempRoot;
let sshd: SshdServer;
let vault: Vault;
let profile: string;
let a: string;
let b: string;
const warnings: string[] = [];
const progress: ProgressEvent[] = [];

/** Every object under a location folder, path -> bytes' SHA-256. */
async function objects(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = nodePath.join(d, e.name);
      if (e.isDirectory()) await walk(p, `${rel}${e.name}/`);
      else
        out.set(
          `${rel}${e.name}`,
          createHash('sha256')
            .update(await fs.readFile(p))
            .digest('hex'),
        );
    }
  };
  await walk(dir, '');
  return out;
}

async function makeTree(dir: string): Promise<void> {
  await fs.mkdir(nodePath.join(dir, 'docs', 'deep'), { recursive: true });
  await fs.mkdir(nodePath.join(dir, 'empty'), { recursive: true });
  await fs.mkdir(nodePath.join(dir, 'only-link'), { recursive: true });
  await fs.writeFile(nodePath.join(dir, 'top.txt'), 'top\n');
  await fs.writeFile(nodePath.join(dir, 'docs', 'a.txt'), 'a'.repeat(10_000));
  await fs.writeFile(nodePath.join(dir, 'docs', 'deep', 'b.bin'), Buffer.alloc(70_000, 7));
  await fs.writeFile(nodePath.join(dir, 'docs', 'deep', 'nothing'), '');
  await fs.symlink('/etc/hostname', nodePath.join(dir, 'docs', 'link'));
  await fs.symlink('/etc/hostname', nodePath.join(dir, 'only-link', 'link'));
}

/** Relative path -> contents of every file, and the folders, under `dir` (no link followed). */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = nodePath.join(d, e.name);
      if (e.isSymbolicLink()) continue;
      if (e.isDirectory()) {
        out[`${rel}${e.name}/`] = '';
        await walk(p, `${rel}${e.name}/`);
      } else out[`${rel}${e.name}`] = (await fs.readFile(p)).toString('base64');
    }
  };
  await walk(dir, '');
  return out;
}

beforeAll(async () => {
  [root, sshd] = await Promise.all([TempRoot.create('shardvault-folders-'), startSshd()]);
  [a, b] = (await root.locations('loc', 2)) as [string, string];
  profile = await root.dir('profile');
  const spec = `sftp://${sshd.user}@${sshd.host}:${sshd.port}${sshd.dataDir}?identity=${sshd.keyPath}&fingerprint=${sshd.fingerprint}`;
  ({ vault } = await Vault.create(profile, {
    locations: [`${a}#a`, `${b}#b`, `${spec}#srv`],
    policy: { data: 2, total: 3, threshold: 2, replicas: 1 },
    passphrase: PASS,
    kdf: INSECURE_TEST_KDF,
    segmentSize: 4096,
    onWarning: (m) => warnings.push(m),
    onProgress: (e) => progress.push(e),
  }));
}, 60_000);

afterAll(async () => {
  await vault?.close();
  await sshd?.stop();
  await root?.cleanup();
});

describe('folder names (src/shared/file-name.ts)', () => {
  it('normalises a folder and lists one level', () => {
    expect(folderPrefix('/photos//2026/')).toBe('photos/2026/');
    expect(folderPrefix('')).toBe('');
    const names = ['p/a.jpg', 'p/x/b.jpg', 'p/empty/', 'q.txt'];
    expect(folderEntries(names, '')).toEqual([
      { name: 'p', path: 'p/', kind: 'folder' },
      { name: 'q.txt', path: 'q.txt', kind: 'file' },
    ]);
    expect(folderEntries(names, 'p/').map((e) => `${e.kind}:${e.name}`)).toEqual([
      'folder:empty',
      'folder:x',
      'file:a.jpg',
    ]);
  });

  it('refuses to write out a step that could leave the target', () => {
    expect(stepsBelow('p/x/b.jpg', 'p/')).toEqual(['x', 'b.jpg']);
    expect(stepsBelow('p/empty/', 'p/')).toEqual(['empty']);
    for (const bad of ['p/../x', 'p/./x', 'p//x', 'p/a\\..\\b', 'q/x']) expect(stepsBelow(bad, 'p/')).toBeNull();
    expect(fileNameProblem('p/../x')).toMatch(/not a file name/);
  });
});

describe('a folder in the vault', () => {
  let source: string;

  it('is stored in one commit: every file, empty folders kept, links skipped with a note', async () => {
    source = nodePath.join(await root.dir('src'), 'project');
    await makeTree(source);
    const before = vault.head().counter;
    const started = performance.now();
    const put = await putFolder(vault, source);
    const took = performance.now() - started;
    expect(vault.head().counter).toBe(before + 1);
    // Progress over the whole tree, told at most every 100 ms, and once at the end with all of it.
    const told = progress.filter((e) => e.op === 'put' && e.name === 'project');
    expect(told.length).toBeLessThanOrEqual(Math.floor(took / 100) + 2);
    expect(told.at(-1)).toEqual({
      op: 'put',
      name: 'project',
      done: 80_004,
      total: 80_004,
      files: { done: 6, total: 6 },
    });
    expect(put).toMatchObject({ name: 'project', files: 4, folders: 2, bytes: 80_004 });
    expect(put.skipped).toHaveLength(2);
    expect(warnings.filter((w) => /skipped .*link/.test(w))).toHaveLength(2);
    expect(
      userFiles(vault.head())
        .map((f) => f.name)
        .sort(),
    ).toEqual([
      'project/docs/a.txt',
      'project/docs/deep/b.bin',
      'project/docs/deep/nothing',
      'project/empty/',
      'project/only-link/',
      'project/top.txt',
    ]);
    // The server location holds shards of it like the folders do.
    expect((await fs.readdir(nodePath.join(sshd.dataDir, 'shards'))).length).toBeGreaterThan(0);
  });

  it('is refused onto an existing name without --replace, replaced whole with it', async () => {
    await expect(putFolder(vault, source)).rejects.toMatchObject({ code: 'exists' });
    const other = nodePath.join(await root.dir('src2'), 'other');
    await fs.mkdir(other);
    await fs.writeFile(nodePath.join(other, 'only.txt'), 'only');
    await putFolder(vault, other, { name: 'again' });
    await putFolder(vault, source, { name: 'again', replace: true });
    expect(
      vault
        .head()
        .files.filter((f) => f.name.startsWith('again/'))
        .map((f) => f.name),
    ).not.toContain('again/only.txt');
    await removeFolder(vault, 'again');
  });

  it('is restored byte for byte as DEST/<last part>, DEST made; an existing target needs --force', async () => {
    const dest = nodePath.join(root.path, 'restore', 'made', 'here');
    const got = await getFolder(vault, 'project/', dest);
    expect(got.output).toBe(nodePath.join(dest, 'project'));
    const want = await snapshot(source);
    expect(await snapshot(got.output)).toEqual({ ...want, 'only-link/': '' });
    await expect(getFolder(vault, 'project', dest)).rejects.toMatchObject({ code: 'exists' });
    await fs.writeFile(nodePath.join(got.output, 'top.txt'), 'changed');
    await getFolder(vault, 'project', dest, { force: true });
    expect(await fs.readFile(nodePath.join(got.output, 'top.txt'), 'utf8')).toBe('top\n');
    const sub = await getFolder(vault, 'project/docs/deep', nodePath.join(root.path, 'restore2'));
    expect(Object.keys(await snapshot(sub.output)).sort()).toEqual(['b.bin', 'nothing']);
  });

  it('refuses, before storing a byte, a folder on disk holding a name no restore can write', async () => {
    const odd = nodePath.join(await root.dir('odd'), 'odd');
    await fs.mkdir(odd);
    await fs.writeFile(nodePath.join(odd, 'fine.txt'), 'fine');
    await fs.writeFile(nodePath.join(odd, 'a\\b.txt'), 'a backslash is a separator elsewhere');
    const counter = vault.head().counter;
    await expect(putFolder(vault, odd)).rejects.toThrow(/a\\\\b\.txt.*restore/);
    expect(vault.head().counter).toBe(counter);
    expect(vault.head().files.some((f) => f.name.startsWith('odd/'))).toBe(false);
  });

  it('keeps an empty folder as its own marker and restores it', async () => {
    const bare = nodePath.join(await root.dir('bare'), 'bare');
    await fs.mkdir(bare);
    await putFolder(vault, bare);
    expect(
      vault
        .head()
        .files.filter((f) => f.name.startsWith('bare'))
        .map((f) => f.name),
    ).toEqual(['bare/']);
    const got = await getFolder(vault, 'bare/', nodePath.join(root.path, 'bare-out'));
    expect((await fs.stat(got.output)).isDirectory()).toBe(true);
    expect(await fs.readdir(got.output)).toEqual([]);
    await removeFolder(vault, 'bare');
  });

  it('never writes through a link planted at the destination', async () => {
    const dest = await root.dir('planted');
    const elsewhere = await root.dir('elsewhere');
    await fs.mkdir(nodePath.join(dest, 'project'));
    await fs.symlink(elsewhere, nodePath.join(dest, 'project', 'docs'));
    await expect(getFolder(vault, 'project/', dest, { force: true })).rejects.toThrow(/symbolic link/);
    expect(await fs.readdir(elsewhere)).toEqual([]);
  });

  it('sent as one stream (the web UI) is one commit, cut byte for byte; a short or long one stores nothing', async () => {
    const files = [
      { name: 'a.txt', bytes: Buffer.from('alpha\n') },
      { name: 'sub/big.bin', bytes: Buffer.alloc(10_003, 9) }, // streamed, not read whole (WHOLE)
      { name: 'sub/zero', bytes: Buffer.alloc(0) },
      { name: 'sub/c.bin', bytes: Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251)) },
      { name: 'empty/', bytes: Buffer.alloc(0) },
    ];
    const WHOLE = 4096;
    const list = files.map((f) => ({ name: f.name, size: f.bytes.length }));
    const all = Buffer.concat(files.map((f) => f.bytes));
    /** The bytes in pieces of odd sizes, arriving one by one, files starting and ending inside them. */
    async function* pieces(bytes: Buffer): AsyncGenerator<Uint8Array> {
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const n = [1, 4093, 7, 65_536, 300][i % 5]!;
        await new Promise(setImmediate);
        yield bytes.subarray(at, at + n);
        at += n;
      }
    }
    const tree = (listed: { name: string; size: number }[], bytes: Buffer) => (): Promise<Tree> =>
      Promise.resolve(treeFromStream('streamed/', listed, pieces(bytes), WHOLE));
    const names = (): string[] => vault.head().files.map((f) => `${f.name}@${f.version}`);
    const before = names();
    await expect(storeTree(vault, 'streamed/', tree(list, all.subarray(0, all.length - 1)))).rejects.toThrow(
      /ended in/,
    );
    await expect(storeTree(vault, 'streamed/', tree(list, Buffer.concat([all, Buffer.from('x')])))).rejects.toThrow(
      /more bytes/,
    );
    expect(tree([...list, { name: 'a.txt', size: 1 }], all)).toThrow(/twice/);
    const both = [
      { name: 'x', size: 1 },
      { name: 'x/y', size: 1 },
    ];
    await expect(storeTree(vault, 'streamed/', tree(both, all.subarray(0, 2)))).rejects.toThrow(
      /both a file and a folder/,
    );
    expect(tree([{ name: '../x', size: 1 }], all)).toThrow(/not a file name/);
    // Names a folder restore could not write back (an empty step, a leading slash, a
    // backslash) are refused before anything is stored, as `..` is.
    for (const name of ['a//b', '/abs', 'a\\b', 'sub//']) {
      const one = [{ name, size: name.endsWith('/') ? 0 : 1 }];
      await expect(storeTree(vault, 'streamed/', tree(one, all.subarray(0, one[0]!.size)))).rejects.toThrow(/restore/);
    }
    expect(names()).toEqual(before);

    const counter = vault.head().counter;
    const put = await storeTree(vault, 'streamed/', tree(list, all));
    expect(vault.head().counter).toBe(counter + 1);
    expect(put).toMatchObject({ name: 'streamed', files: 4, folders: 1, bytes: all.length });
    const got = await getFolder(vault, 'streamed/', nodePath.join(root.path, 'streamed-out'));
    const want: Record<string, string> = { 'sub/': '', 'empty/': '' };
    for (const f of files) if (!f.name.endsWith('/')) want[f.name] = f.bytes.toString('base64');
    expect(await snapshot(got.output)).toEqual(want);
    // Onto an existing name only with replace, which replaces the tree whole.
    const one = [{ name: 'only', size: 2 }];
    await expect(storeTree(vault, 'streamed/', tree(one, Buffer.from('hi')))).rejects.toMatchObject({ code: 'exists' });
    await storeTree(vault, 'streamed/', tree(one, Buffer.from('hi')), { replace: true });
    expect(
      vault
        .head()
        .files.filter((f) => f.name.startsWith('streamed/'))
        .map((f) => f.name),
    ).toEqual(['streamed/only']);
    await removeFolder(vault, 'streamed');
  });

  it('lists by folder: ls PREFIX holds only what is under it', async () => {
    const all = await listFiles(vault);
    expect(
      all
        .filter((f) => f.name.startsWith('project/docs/'))
        .map((f) => f.name)
        .sort(),
    ).toEqual(['project/docs/a.txt', 'project/docs/deep/b.bin', 'project/docs/deep/nothing']);
    expect(all.every((f) => f.health === 'healthy')).toBe(true);
  });
});

describe('mv', () => {
  it('renames a file in one commit without writing a shard; the file reads under its new name', async () => {
    await putFile(vault, [Buffer.from('moving bytes')], 'loose.txt');
    const shardsBefore = new Map([...(await objects(a))].filter(([p]) => p.startsWith('shards/')));
    const counter = vault.head().counter;
    const moved = await moveName(vault, 'loose.txt', 'project/docs/');
    expect(moved).toMatchObject({ from: 'loose.txt', to: 'project/docs/loose.txt', files: 1 });
    expect(vault.head().counter).toBe(counter + 1);
    const shardsAfter = new Map([...(await objects(a))].filter(([p]) => p.startsWith('shards/')));
    expect(shardsAfter).toEqual(shardsBefore);
    const out = nodePath.join(root.path, 'loose-out.txt');
    await getFile(vault, 'project/docs/loose.txt', out);
    expect(await fs.readFile(out, 'utf8')).toBe('moving bytes');
    expect(vault.head().files.some((f) => f.name === 'loose.txt')).toBe(false);
    // The old manifest version is gone, the new one in place; the old version is tombstoned.
    const file = vault.head().files.find((f) => f.name === 'project/docs/loose.txt')!;
    // A fresh version above the old one (freshManifestVersion), never one another move used.
    expect(file.version).toBeGreaterThan(1);
    expect((await objects(a)).has(`manifests/${file.id}-1`)).toBe(false);
    expect((await objects(a)).has(`manifests/${file.id}-${file.version}`)).toBe(true);
    expect(vault.head().tombstones).toContainEqual({ id: file.id, version: 1 });
  });

  it('moves a folder with everything in it, into an existing folder by its own name', async () => {
    const ids = new Map(
      vault
        .head()
        .files.filter((f) => f.name.startsWith('project/docs/'))
        .map((f) => [f.id, f.name]),
    );
    await putFile(vault, [Buffer.from('x')], 'archive/keep.txt');
    const moved = await moveName(vault, 'project/docs', 'archive');
    expect(moved).toMatchObject({ from: 'project/docs/', to: 'archive/docs/', files: ids.size });
    for (const [id, name] of ids) {
      const now = vault.head().files.find((f) => f.id === id)!;
      expect(now.name).toBe(name.replace('project/docs/', 'archive/docs/'));
    }
    const out = await getFolder(vault, 'archive/docs', nodePath.join(root.path, 'moved-out'));
    expect(await fs.readFile(nodePath.join(out.output, 'deep', 'b.bin'))).toEqual(Buffer.alloc(70_000, 7));
    // Renamed back to a new name (not an existing folder): a plain rename.
    await moveName(vault, 'archive/docs', 'docs2');
    expect(vault.head().files.some((f) => f.name === 'docs2/deep/b.bin')).toBe(true);
  });

  it('refuses what would overwrite, go nowhere or move a folder into itself', async () => {
    await putFile(vault, [Buffer.from('1')], 'one.txt');
    await putFile(vault, [Buffer.from('2')], 'two.txt');
    await expect(moveName(vault, 'one.txt', 'two.txt')).rejects.toMatchObject({ code: 'exists' });
    await expect(moveName(vault, 'nope', 'x')).rejects.toMatchObject({ code: 'not-found' });
    await expect(moveName(vault, 'docs2', 'docs2/deep/inner')).rejects.toThrow(/into itself/);
    await expect(moveName(vault, 'one.txt', 'a/../b')).rejects.toThrow(/not a file name/);
  });

  it('survives a fresh unlock: the moved names are what the locations hold', async () => {
    const names = vault
      .head()
      .files.map((f) => f.name)
      .sort();
    const again = await Vault.load(profile, {}, PASS);
    try {
      await again.unlock({ passphrase: PASS });
      expect(
        again
          .head()
          .files.map((f) => f.name)
          .sort(),
      ).toEqual(names);
    } finally {
      await again.close();
    }
  });
});

describe('rm -r', () => {
  it('removes a folder and every object of its files in one commit', async () => {
    const gone = vault.head().files.filter((f) => f.name.startsWith('docs2/'));
    expect(gone.length).toBeGreaterThan(0);
    const counter = vault.head().counter;
    expect(await removeFolder(vault, 'docs2/')).toEqual({ removed: gone.length });
    expect(vault.head().counter).toBe(counter + 1);
    const left = await objects(a);
    for (const f of gone) expect(left.has(`manifests/${f.id}-${f.version}`)).toBe(false);
    await expect(removeFolder(vault, 'docs2/')).rejects.toMatchObject({ code: 'not-found' });
    await expect(removeFolder(vault, '/')).rejects.toThrow(/whole vault/);
  });
});
