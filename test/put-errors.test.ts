// Which error a failed put reports. When one location gives up (full, read-only, gone), the
// pipeline aborts the others, and their "aborted" errors may surface before the cause does:
// the report must still name the location that failed on its own.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShardvaultError } from '../src/core/errors';
import { LocalFolderNode } from '../src/core/storage/local';
import type { StorageNode } from '../src/core/storage/node';
import { writeShards } from '../src/core/vault/pipeline/write';

let root: string;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'sv-put-errors-'));
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/**
 * A real folder that fills up after its first chunk, and (like a disk removing its partial
 * object) takes a while to report it: its siblings' aborts are then seen first.
 */
function fillsUp(folder: string, delayMs: number): StorageNode {
  const inner = new LocalFolderNode(folder);
  return Object.assign(Object.create(inner) as StorageNode, {
    async put(_path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
      if (!(data instanceof Uint8Array)) for await (const _chunk of data) break;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      throw new ShardvaultError('no-space', `${folder}: the location is full`);
    },
  });
}

describe('a failed put names its cause', () => {
  it.each([0, 50, 300])('the full location is reported when it reports %i ms after the others', async (delayMs) => {
    const folders = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const dir = path.join(root, `d${delayMs}-${i}`);
        await fs.mkdir(dir);
        return dir;
      }),
    );
    const nodes = [new LocalFolderNode(folders[0]!), fillsUp(folders[1]!, delayMs), new LocalFolderNode(folders[2]!)];
    const segment = 4096;
    const source = [new Uint8Array(randomBytes(segment * 8))];
    const failure = await writeShards({
      source,
      geometry: { data: 2, total: 3, segmentSize: segment },
      headers: nodes.map(() => new Uint8Array(randomBytes(48))),
      keys: nodes.map(() => new Uint8Array(randomBytes(32))),
      targets: nodes.map((node, index) => ({ index, node, path: `shards/object-${index}` })),
    }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(ShardvaultError);
    expect((failure as ShardvaultError).code).toBe('no-space');
    expect((failure as Error).message).toContain(folders[1]!);
    // The siblings' partial objects were discarded: nothing is left under its final name.
    for (const dir of [folders[0]!, folders[2]!]) {
      const stored = await fs.readdir(path.join(dir, 'shards')).catch(() => []);
      expect(stored).toEqual([]);
    }
  });
});
