// MemoryOverlayNode (the recovery drill's open): reads see the folder with the layer's own
// writes and deletions on top, and the folder itself never changes.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../src/core/errors';
import { LocalFolderNode } from '../src/core/storage/local';
import { MemoryOverlayNode } from '../src/core/storage/memory-overlay';
import { readObject } from '../src/core/storage/node';
import { listTree } from './helpers/cli';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const read = async (node: MemoryOverlayNode, p: string): Promise<string> =>
  new TextDecoder().decode(await readObject(node, p, 1 << 20));

describe('MemoryOverlayNode over a folder', () => {
  let root: string;
  let base: LocalFolderNode;
  let overlay: MemoryOverlayNode;
  let before: Map<string, string>;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(tmpdir(), 'sv-overlay-'));
    base = new LocalFolderNode(root);
    await base.put('head', text('old head'));
    await base.put('log/0123456789abcdef0123456789abcdef/000000000001', text('entry 1'));
    overlay = new MemoryOverlayNode(base);
    before = new Map();
    for (const rel of await listTree(root)) {
      const st = await fs.stat(path.join(root, rel));
      before.set(rel, `${st.size} ${st.mtimeMs}`);
    }
  });

  afterAll(async () => {
    await base.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('reads its own writes over the folder, lists both, and ranges over either', async () => {
    await overlay.put('head', text('new head'));
    async function* chunks(): AsyncGenerator<Uint8Array> {
      yield text('entry ');
      yield await Promise.resolve(text('2'));
    }
    await overlay.put('log/0123456789abcdef0123456789abcdef/000000000002', chunks());
    expect(await read(overlay, 'head')).toBe('new head');
    expect(await read(overlay, 'log/0123456789abcdef0123456789abcdef/000000000001')).toBe('entry 1');
    expect(await read(overlay, 'log/0123456789abcdef0123456789abcdef/000000000002')).toBe('entry 2');
    expect(new TextDecoder().decode(await overlay.readRange('head', 4, 100))).toBe('head');
    expect((await overlay.stat('head'))?.size).toBe(8);
    const listed = (await overlay.list('log/0123456789abcdef0123456789abcdef')).map((o) => o.path).sort();
    expect(listed).toEqual([
      'log/0123456789abcdef0123456789abcdef/000000000001',
      'log/0123456789abcdef0123456789abcdef/000000000002',
    ]);
    expect((await overlay.list('')).filter((o) => o.path === 'head')).toEqual([{ path: 'head', size: 8 }]);
  });

  it('hides what it deletes, from every read', async () => {
    await overlay.delete('log/0123456789abcdef0123456789abcdef/000000000001');
    const gone = 'log/0123456789abcdef0123456789abcdef/000000000001';
    expect(await overlay.stat(gone)).toBeNull();
    await expect(overlay.get(gone)).rejects.toBeInstanceOf(NotFoundError);
    await expect(overlay.readRange(gone, 0, 1)).rejects.toBeInstanceOf(NotFoundError);
    expect((await overlay.list('log/0123456789abcdef0123456789abcdef')).map((o) => o.path)).toEqual([
      'log/0123456789abcdef0123456789abcdef/000000000002',
    ]);
  });

  it('left the folder exactly as it was, and close leaves the folder node usable', async () => {
    const after = new Map<string, string>();
    for (const rel of await listTree(root)) {
      const st = await fs.stat(path.join(root, rel));
      after.set(rel, `${st.size} ${st.mtimeMs}`);
    }
    expect(after).toEqual(before);
    await overlay.close();
    expect((await base.stat('head'))?.size).toBe(8);
    expect(new TextDecoder().decode(await readObject(base, 'head', 100))).toBe('old head');
  });

  it('refuses a path the format would refuse', async () => {
    await expect(overlay.put('../escape', text('x'))).rejects.toThrow(RangeError);
  });
});
