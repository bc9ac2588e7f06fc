// `init --create` makes a local location's last folder (LocalFolderNode.createRoot): only
// that one name, mode 0700, never through a symbolic link. Here whoever else can write the
// folder above it (the other users of a NAS share, a sync client) plants a link as the last
// component or as the parent, or swaps the parent for a link while the user is being asked
// (the prompt is seconds to minutes). Nothing outside may be made, changed or removed, and
// what was there stays.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ForeignObjectError } from '../../src/core/errors';
import { LocalFolderNode } from '../../src/core/storage/local';
import { appendCase } from './ledger';

let base: string;
let outside: string;
const touched: string[] = [];
const cases: string[] = [];

/** Every name under `dir` (links not followed), sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.map((e) => nodePath.relative(dir, nodePath.join(e.parentPath, e.name))).sort();
}

beforeAll(async () => {
  base = await fs.mkdtemp(nodePath.join(tmpdir(), 'shardvault-create-root-'));
  outside = nodePath.join(base, 'outside');
  await fs.mkdir(outside);
  await fs.writeFile(nodePath.join(outside, 'keep.txt'), 'the user’s own file');
});

afterEach(async (ctx) => {
  cases.push(ctx.task.name);
  const now = await tree(outside);
  if (now.join('\n') !== 'keep.txt') touched.push(`${ctx.task.name}: ${now.join(', ')}`);
});

afterAll(async () => {
  appendCase({
    name: 'createRoot: links planted and swapped',
    hostileRecords: cases.length,
    acceptedForgeries: [],
    outsideTouched: touched,
    problems: touched,
    notes: cases,
    durationMs: 0,
  });
  await fs.rm(base, { recursive: true, force: true });
});

describe('createRoot on a folder of this machine', () => {
  it('makes the last folder, mode 0700, and says so', async () => {
    const parent = nodePath.join(base, 'plain');
    await fs.mkdir(parent);
    const root = nodePath.join(parent, 'vault');
    expect(await new LocalFolderNode(root).createRoot(() => Promise.resolve(true))).toBe('created');
    const st = await fs.lstat(root);
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o777).toBe(0o700);
    expect(await new LocalFolderNode(root).createRoot()).toBe('present');
  });

  it('makes nothing through a link planted as the last component or as the parent', async () => {
    const parent = nodePath.join(base, 'planted');
    await fs.mkdir(parent);
    const dangling = nodePath.join(parent, 'vault');
    await fs.symlink(nodePath.join(outside, 'vault'), dangling);
    await expect(new LocalFolderNode(dangling).createRoot()).rejects.toBeInstanceOf(ForeignObjectError);
    const linked = nodePath.join(parent, 'share');
    await fs.symlink(outside, linked);
    await expect(new LocalFolderNode(nodePath.join(linked, 'vault')).createRoot()).rejects.toBeInstanceOf(
      ForeignObjectError,
    );
    expect(await fs.readlink(dangling)).toBe(nodePath.join(outside, 'vault'));
  });

  it('makes nothing when the parent is swapped for a link while the user is asked', async () => {
    const parent = nodePath.join(base, 'swapped');
    await fs.mkdir(parent);
    const root = nodePath.join(parent, 'vault');
    const confirm = async (): Promise<boolean> => {
      // The checked folder moves away and a link to the outside takes its name.
      await fs.rename(parent, `${parent}.moved`);
      await fs.symlink(outside, parent);
      return true;
    };
    const err = await new LocalFolderNode(root)
      .createRoot(confirm)
      .then(() => null)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForeignObjectError);
    expect(await tree(outside)).toEqual(['keep.txt']);
    // The link is still there: a name it did not make is not removed.
    expect((await fs.lstat(parent)).isSymbolicLink()).toBe(true);
  });

  it('takes no folder made meanwhile through a swapped parent as its own', async () => {
    const parent = nodePath.join(base, 'raced');
    await fs.mkdir(parent);
    const root = nodePath.join(parent, 'vault');
    const elsewhere = nodePath.join(base, 'elsewhere');
    await fs.mkdir(nodePath.join(elsewhere, 'vault'), { recursive: true });
    const confirm = async (): Promise<boolean> => {
      await fs.rename(parent, `${parent}.moved`);
      await fs.symlink(elsewhere, parent);
      return true;
    };
    await expect(new LocalFolderNode(root).createRoot(confirm)).rejects.toBeInstanceOf(ForeignObjectError);
  });
});
