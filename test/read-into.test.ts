// A local folder's object as a get reads it (src/core/storage/read-into.ts): straight into
// a caller's buffer, or iterated as any location's stream, on real files.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFolderNode } from '../src/core/storage/local';
import { FileObject, readsInto } from '../src/core/storage/read-into';
import { TempRoot } from './helpers/cli';

describe('FileObject', () => {
  let root: TempRoot;
  let node: LocalFolderNode;
  const bytes = randomBytes(3 * (1 << 20) + 77); // more than one of the iterator's chunks

  beforeAll(async () => {
    root = await TempRoot.create('shardvault-read-into-');
    node = new LocalFolderNode(root.path);
    await node.put('shards/0123456789abcdef0123456789abcdef', bytes);
  });
  afterAll(async () => {
    await root?.cleanup();
  });

  it('reads a local object into the caller’s buffers, in order, then says it ended', async () => {
    const stream = await node.get('shards/0123456789abcdef0123456789abcdef');
    expect(readsInto(stream)).toBe(true);
    if (!readsInto(stream)) return;
    const out = Buffer.alloc(bytes.length + 10);
    let at = 5;
    for (;;) {
      const got = await stream.readInto(out, at, Math.min(1_000_003, out.length - 5 - at));
      if (got === 0) break;
      at += got;
    }
    expect(at - 5).toBe(bytes.length);
    expect(Buffer.compare(out.subarray(5, 5 + bytes.length), bytes)).toBe(0);
    expect(out.subarray(0, 5).every((b) => b === 0)).toBe(true);
    await expect(stream.readInto(out, 0, 1)).resolves.toBe(0);
    await expect(stream.readInto(out, out.length - 1, 2)).rejects.toThrow(RangeError);
    await stream.close();
    await stream.close(); // once only; a second call does nothing
    // ... and may not be iterated as well.
    expect(() => stream[Symbol.asyncIterator]()).toThrow(/read into buffers/);
  });

  it('iterates as any location’s stream, and closes its file at the end', async () => {
    const stream = await node.get('shards/0123456789abcdef0123456789abcdef');
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(Buffer.compare(Buffer.concat(chunks), bytes)).toBe(0);
    // Chunks of at most 1 MiB, each in a buffer no larger than what it holds (a small
    // record is not read into a 1 MiB buffer).
    expect(chunks.map((c) => c.length)).toEqual([1 << 20, 1 << 20, 1 << 20, 77]);
    expect(chunks.map((c) => c.buffer.byteLength)).toEqual([1 << 20, 1 << 20, 1 << 20, 77]);
    expect(
      readsInto(stream) && (await stream.readInto(new Uint8Array(1), 0, 1).catch((e: Error) => e.message)),
    ).toMatch(/already iterated/);
  });

  it('closes its file when the iteration stops early', async () => {
    const file = nodePath.join(root.path, 'plain.bin');
    await fs.writeFile(file, bytes);
    const handle = await fs.open(file, 'r');
    const object = new FileObject(handle);
    for await (const chunk of object) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    // The handle is closed: using it again fails.
    await expect(handle.stat()).rejects.toThrow(/closed/);
  });
});
