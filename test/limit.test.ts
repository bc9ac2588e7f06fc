/**
 * The limit wrapper (src/core/storage/limit.ts) over a real folder: at most N calls in
 * flight, a get's slot held until its stream ends, fails or is stopped, and the SFTP kind's
 * production composition bounded by it. (The conformance suite runs over withLimit(1) in
 * test/conformance/local.test.ts.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../src/core/errors';
import { KINDS } from '../src/core/storage/kinds';
import { withLimit } from '../src/core/storage/limit';
import { LocalFolderNode } from '../src/core/storage/local';
import type { LocationHealth, ObjectInfo, StorageNode } from '../src/core/storage/node';

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A real folder node that counts its calls in flight, each held `holdMs` before it runs. */
class CountingNode implements StorageNode {
  readonly kind = 'local' as const;
  readonly display: string;
  active = 0;
  most = 0;

  constructor(
    private readonly inner: StorageNode,
    private readonly holdMs: number,
  ) {
    this.display = inner.display;
  }

  private async held<T>(run: () => Promise<T>): Promise<T> {
    this.active++;
    this.most = Math.max(this.most, this.active);
    try {
      await tick(this.holdMs);
      return await run();
    } finally {
      this.active--;
    }
  }

  put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    return this.held(() => this.inner.put(path, data));
  }
  get(path: string): Promise<AsyncIterable<Uint8Array>> {
    return this.held(() => this.inner.get(path));
  }
  readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.held(() => this.inner.readRange(path, offset, length));
  }
  stat(path: string): Promise<ObjectInfo | null> {
    return this.held(() => this.inner.stat(path));
  }
  list(dir: string): Promise<ObjectInfo[]> {
    return this.held(() => this.inner.list(dir));
  }
  delete(path: string): Promise<void> {
    return this.held(() => this.inner.delete(path));
  }
  health(): Promise<LocationHealth> {
    return this.held(() => this.inner.health());
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(nodePath.join(tmpdir(), 'shardvault-limit-'));
  await new LocalFolderNode(dir).put('obj', new Uint8Array(300_000).fill(7));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('withLimit', () => {
  it('runs at most N calls at once, every one of them, with its own answer', async () => {
    const counting = new CountingNode(new LocalFolderNode(dir), 15);
    const limited = withLimit(counting, 3);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? limited.stat('obj') : limited.stat(`missing${i}`))),
    );
    expect(counting.most).toBe(3);
    expect(answers.map((a) => a?.size ?? null)).toEqual(Array.from({ length: 10 }, (_, i) => (i % 2 ? 300_000 : null)));
  });

  it('holds a get’s slot until its stream ends, and gives it back when stopped or refused', async () => {
    const limited = withLimit(new LocalFolderNode(dir), 1);
    const stream = await limited.get('obj');
    let statDone = false;
    const stat = limited.stat('obj').then((info) => {
      statDone = true;
      return info;
    });
    await tick(50);
    expect(statDone).toBe(false);
    let size = 0;
    for await (const chunk of stream) size += chunk.length;
    expect(size).toBe(300_000);
    expect((await stat)?.size).toBe(300_000);

    // Stopped before its first read: the slot comes back.
    const unread = await limited.get('obj');
    await unread[Symbol.asyncIterator]().return?.();
    expect((await limited.stat('obj'))?.size).toBe(300_000);

    // A get that fails to open holds nothing.
    await expect(limited.get('missing')).rejects.toBeInstanceOf(NotFoundError);
    expect((await limited.stat('obj'))?.size).toBe(300_000);
  });

  it('refuses a limit that is not a whole number ≥ 1', () => {
    const node = new LocalFolderNode(dir);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => withLimit(node, bad)).toThrow(RangeError);
  });

  it('bounds the SFTP kind’s production composition at 4 calls in flight', async () => {
    const counting = new CountingNode(new LocalFolderNode(dir), 15);
    const composed = KINDS.sftp.compose(counting);
    await Promise.all(Array.from({ length: 12 }, () => composed.stat('obj')));
    expect(counting.most).toBe(4);
  });
});
