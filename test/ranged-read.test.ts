// A read from the middle of a file (the drive's Range requests, pipeline/ranged.ts): only the
// frames from its segment on are fetched, each authenticated; damaged, swapped or missing
// frames are routed around through other shards, and too few shards fail loudly.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { fetchManifest, putFile, readSpecOf, unwrapShardKeys } from '../src/core/vault/files';
import { readSegmentsFrom, frameOffset } from '../src/core/vault/pipeline/ranged';
import { segmentBytes, type ShardProblem } from '../src/core/vault/pipeline/read';
import { Vault } from '../src/core/vault/vault';

const SEGMENT = 4096;
const DATA = 3;
let root: string;
let vault: Vault;
const folders: string[] = [];

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'sv-ranged-'));
  for (let i = 0; i < 5; i++) {
    folders.push(path.join(root, `loc${i}`));
    await fs.mkdir(folders[i]!);
  }
  ({ vault } = await Vault.create(path.join(root, 'profile'), {
    locations: folders,
    policy: { survive: 2, secretAgainst: 2 },
    passphrase: 'ranged test',
    kdf: INSECURE_TEST_KDF,
    segmentSize: SEGMENT,
  }));
});

afterAll(async () => {
  await vault.close();
  await fs.rm(root, { recursive: true, force: true });
});

async function store(name: string, size: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(randomBytes(size));
  await putFile(vault, [bytes], name);
  return bytes;
}

/** The bytes from segment `from` on, as readSegmentsFrom gives them, and its problems. */
async function readFrom(name: string, from: number): Promise<{ bytes: Buffer; problems: ShardProblem[] }> {
  const file = vault.head().files.find((f) => f.name === name)!;
  const m = await fetchManifest(vault, file);
  const { shardKeys } = unwrapShardKeys(vault, m);
  const out: Uint8Array[] = [];
  let next = from;
  const problems = await readSegmentsFrom(readSpecOf(vault, m, shardKeys), from, (segment) => {
    expect(segment.index).toBe(next++);
    for (const b of segmentBytes(segment)) out.push(new Uint8Array(b));
    return Promise.resolve();
  });
  return { bytes: Buffer.concat(out), problems };
}

/** The stored object of each shard of `name`, with the offset of segment `s`'s frame in it. */
async function shardFiles(name: string): Promise<{ file: string; frameAt: (s: number) => number }[]> {
  const ref = vault.head().files.find((f) => f.name === name)!;
  const m = await fetchManifest(vault, ref);
  const { shardKeys } = unwrapShardKeys(vault, m);
  const spec = readSpecOf(vault, m, shardKeys);
  return m.shards.map((s) => {
    const at = vault.locations.findIndex((l) => l.id === s.locations[0]);
    return {
      file: path.join(folders[at]!, 'shards', s.object),
      frameAt: (seg: number) => frameOffset(spec, s.index, seg),
    };
  });
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('readSegmentsFrom', () => {
  it('gives exactly the bytes from each segment on, for files at segment edges', async () => {
    for (const size of [SEGMENT + 1, 2 * SEGMENT, 5 * SEGMENT + 123]) {
      const bytes = await store(`edge-${size}`, size);
      const segments = Math.ceil(size / SEGMENT);
      for (let from = 0; from < segments; from++) {
        const { bytes: got, problems } = await readFrom(`edge-${size}`, from);
        expect(problems).toEqual([]);
        expect(sha(got)).toBe(sha(bytes.subarray(from * SEGMENT)));
      }
    }
  });

  it('refuses a segment the file does not have', async () => {
    await store('short', 2 * SEGMENT);
    await expect(readFrom('short', 2)).rejects.toThrow(/no segment 2/);
  });

  it('routes around a flipped byte and a frame from another segment', async () => {
    const bytes = await store('damaged', 6 * SEGMENT + 9);
    const shards = await shardFiles('damaged');
    const frame = Math.ceil(SEGMENT / DATA) + 16;
    // Shard 0: a byte flipped in segment 3's frame. Shard 1: segment 2's frame overwritten
    // by its own segment 4 frame (authentic bytes, wrong place). Two parity shards are left.
    const s0 = await fs.readFile(shards[0]!.file);
    s0[shards[0]!.frameAt(3) + 7]! ^= 0x01;
    await fs.writeFile(shards[0]!.file, s0);
    const s1 = await fs.readFile(shards[1]!.file);
    s1.copy(s1, shards[1]!.frameAt(2), shards[1]!.frameAt(4), shards[1]!.frameAt(4) + frame);
    await fs.writeFile(shards[1]!.file, s1);
    const { bytes: got, problems } = await readFrom('damaged', 2);
    expect(sha(got)).toBe(sha(bytes.subarray(2 * SEGMENT)));
    expect(problems.map((p) => `${p.index}:${p.kind}`).sort()).toEqual(['0:corrupt', '1:corrupt']);
    expect(problems.find((p) => p.index === 1)!.message).toMatch(/frame 2 failed authentication/);
  });

  it('reads through missing shards from parity', async () => {
    const bytes = await store('missing', 3 * SEGMENT + 1);
    const shards = await shardFiles('missing');
    await fs.rm(shards[0]!.file);
    await fs.rm(shards[2]!.file);
    const { bytes: got, problems } = await readFrom('missing', 1);
    expect(sha(got)).toBe(sha(bytes.subarray(SEGMENT)));
    expect(problems.map((p) => `${p.index}:${p.kind}`).sort()).toEqual(['0:missing', '2:missing']);
  });

  it('fails, naming what it saw, when fewer than k shards are left', async () => {
    await store('gone', 4 * SEGMENT);
    const shards = await shardFiles('gone');
    for (const s of shards.slice(0, 3)) await fs.rm(s.file);
    await expect(readFrom('gone', 1)).rejects.toThrow(/only 2 of the 3 shards needed/);
  });
});
