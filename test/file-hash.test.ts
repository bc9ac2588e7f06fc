// A put's whole-file SHA-256 off the main thread (seal-pool.ts, createFileHash): the hashing
// worker (the built out/cli/seal-worker.mjs) gives the digest node:crypto gives for the same
// bytes, segment by segment, for a file of one segment (hashed here), of several, and with
// the callers' segments moved away after each update (as the sealing worker takes them).
import { createHash, randomBytes } from 'node:crypto';
import * as nodePath from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFileHash } from '../src/core/vault/seal-pool';
import { ensureBuilt, ROOT } from './helpers/cli';

const WORKER = nodePath.join(ROOT, 'out', 'cli', 'seal-worker.mjs');

async function digestOf(segments: readonly Uint8Array[], path: string | null): Promise<string> {
  const hash = createFileHash(path);
  try {
    for (const segment of segments) {
      await hash.update(segment);
      // The caller hands the segment on (to the sealing worker): it no longer holds the bytes.
      if (segment.length > 0) structuredClone(segment.buffer, { transfer: [segment.buffer as ArrayBuffer] });
      expect(segment.byteLength).toBe(0);
    }
    return await hash.digest();
  } finally {
    await hash.close();
  }
}

describe('whole-file SHA-256 of a put', () => {
  beforeAll(() => ensureBuilt());

  const cases: ReadonlyArray<[string, number[]]> = [
    ['no bytes', [0]],
    ['one segment', [65536]],
    ['two segments', [65536, 1000]],
    ['nine segments, the last short', [...Array<number>(8).fill(65536), 77]],
  ];
  for (const [what, sizes] of cases) {
    it(`${what}: the digest of the bytes, in a worker and here`, async () => {
      const data = sizes.map((n) => new Uint8Array(randomBytes(n)));
      const expected = createHash('sha256').update(Buffer.concat(data)).digest('hex');
      const copies = (): Uint8Array[] => data.map((d) => new Uint8Array(d));
      expect(await digestOf(copies(), WORKER)).toBe(expected);
      expect(await digestOf(copies(), null)).toBe(expected);
    });
  }
});
