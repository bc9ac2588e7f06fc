// The data path through the engine: round trips at segment edges, and damage a location
// could do to stored shards (flipped bytes, reordered or dropped frames, truncation, shards
// of another file) is caught before any output is released.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureEngine } from '../src/core/config';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { fetchManifest, getFile, putFile, readSpecOf, unwrapShardKeys } from '../src/core/vault/files';
import { readShards, segmentBytes, type ShardProblem } from '../src/core/vault/pipeline/read';
import type { StorageNode } from '../src/core/storage/node';
import { FileObject } from '../src/core/storage/read-into';
import { SegmentBuffers, segmentsOf } from '../src/core/vault/pipeline/write';
import { Vault } from '../src/core/vault/vault';
import { SHARD_HEADER_BYTES } from '../src/core/format/records';

const SEGMENT = 4096;
let root: string;
let vault: Vault;
const folders: string[] = [];

function* chunks(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += 1000) yield bytes.subarray(at, at + 1000);
}

async function store(name: string, size: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(randomBytes(size));
  await putFile(vault, chunks(bytes), name);
  return bytes;
}

/** Paths of the stored objects of each shard of a file (one copy each here). */
async function shardPaths(name: string): Promise<string[]> {
  const file = vault.head().files.find((f) => f.name === name)!;
  const m = await fetchManifest(vault, file);
  return m.shards.map((s) => {
    const at = vault.locations.findIndex((l) => l.id === s.locations[0]);
    return path.join(folders[at]!, 'shards', s.object);
  });
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'sv-pipeline-'));
  for (let i = 0; i < 5; i++) {
    folders.push(path.join(root, `loc${i}`));
    await fs.mkdir(folders[i]!);
  }
  ({ vault } = await Vault.create(path.join(root, 'profile'), {
    locations: folders,
    policy: { survive: 2, secretAgainst: 2 },
    passphrase: 'pipeline test',
    kdf: INSECURE_TEST_KDF,
    segmentSize: SEGMENT,
  }));
});

afterAll(async () => {
  await vault.close();
  await fs.rm(root, { recursive: true, force: true });
});

describe('round trips at segment edges', () => {
  for (const size of [0, 1, 2, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 7, 100_000]) {
    it(`${size} bytes`, async () => {
      const bytes = await store(`edge-${size}`, size);
      const out = path.join(root, `out-${size}`);
      const { problems } = await getFile(vault, `edge-${size}`, out);
      expect(problems).toEqual([]);
      expect(sha(await fs.readFile(out))).toBe(sha(bytes));
    });
  }
});

describe('damage by locations', () => {
  const size = 5 * SEGMENT + 123;
  const frame = Math.ceil(SEGMENT / 3) + 16;

  async function readBack(name: string): Promise<{ bytes: Buffer | null; problems: number; error: string | null }> {
    const out = path.join(root, `out-${name}`);
    await fs.rm(out, { force: true });
    try {
      const { problems } = await getFile(vault, name, out);
      return { bytes: await fs.readFile(out), problems: problems.length, error: null };
    } catch (err) {
      const leftovers = (await fs.readdir(root)).filter((f) => f.includes(`out-${name}`));
      expect(leftovers).toEqual([]); // no output, no temporary file
      return { bytes: null, problems: 0, error: (err as Error).message };
    }
  }

  it('a flipped byte in one shard: read from the others, reported', async () => {
    const bytes = await store('flip', size);
    const [first] = await shardPaths('flip');
    const stored = await fs.readFile(first!);
    stored[SHARD_HEADER_BYTES + 10]! ^= 0x40;
    await fs.writeFile(first!, stored);
    const got = await readBack('flip');
    expect(got.error).toBeNull();
    expect(sha(got.bytes!)).toBe(sha(bytes));
    expect(got.problems, JSON.stringify(got)).toBe(1);
  });

  it('reordered frames, a dropped frame, a truncated shard: each caught', async () => {
    const bytes = await store('frames', size);
    const paths = await shardPaths('frames');
    const a = await fs.readFile(paths[0]!);
    // swap frames 0 and 1 of shard 0
    const swapped = Buffer.concat([
      a.subarray(0, SHARD_HEADER_BYTES),
      a.subarray(SHARD_HEADER_BYTES + frame, SHARD_HEADER_BYTES + 2 * frame),
      a.subarray(SHARD_HEADER_BYTES, SHARD_HEADER_BYTES + frame),
      a.subarray(SHARD_HEADER_BYTES + 2 * frame),
    ]);
    await fs.writeFile(paths[0]!, swapped);
    const b = await fs.readFile(paths[1]!);
    await fs.writeFile(
      paths[1]!,
      Buffer.concat([b.subarray(0, SHARD_HEADER_BYTES + frame), b.subarray(SHARD_HEADER_BYTES + 2 * frame)]),
    );
    const got = await readBack('frames');
    expect(got.error).toBeNull();
    expect(sha(got.bytes!)).toBe(sha(bytes));
    expect(got.problems).toBe(2);
    // a third damaged shard leaves only 2 of the 3 needed: nothing is written
    const c = await fs.readFile(paths[2]!);
    await fs.writeFile(paths[2]!, c.subarray(0, c.length - 5));
    const lost = await readBack('frames');
    expect(lost.bytes).toBeNull();
    expect(lost.error).toMatch(/not enough good shards/);
  });

  it('a shard of another file in its place is refused by its header', async () => {
    const bytes = await store('own', size);
    await store('other', size);
    const own = await shardPaths('own');
    const other = await shardPaths('other');
    await fs.copyFile(other[0]!, own[0]!);
    await fs.copyFile(other[1]!, own[1]!);
    const got = await readBack('own');
    expect(sha(got.bytes!)).toBe(sha(bytes));
    expect(got.problems).toBe(2);
  });
});

describe('a location that would hang', () => {
  // A frozen server costs one read timeout (the fault suite's servers.test.ts stops real
  // servers); a folder location can't be made to hang by a planted FIFO any more: it opens
  // objects without blocking and reads regular files only (storage/local.ts).
  it('a FIFO planted as a shard is refused at once, not waited on: the get moves to another shard', async () => {
    const bytes = await store('hang', 3 * SEGMENT);
    const [first] = await shardPaths('hang');
    // A FIFO with no writer: opening it would block, like a stopped server that never answers.
    await fs.rm(first!);
    execFileSync('mkfifo', [first!]);
    configureEngine({ readTimeoutMs: 1000 });
    try {
      const out = path.join(root, 'out-hang');
      const started = performance.now();
      const { problems } = await getFile(vault, 'hang', out);
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(sha(await fs.readFile(out))).toBe(sha(bytes));
      expect(problems.map((p) => p.kind)).toEqual(['missing']);
      expect(problems[0]!.message).toMatch(/not a regular file/);
    } finally {
      configureEngine();
      // Release the thread blocked in open(): a writer that closes at once.
      const writer = await fs.open(first!, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK).catch(() => null);
      await writer?.close();
      await fs.rm(first!, { force: true });
    }
  });
});

/**
 * Stores `name`, then reads it with shard 0's stream replaced by `replace(real stream)` and a
 * 0.5 s read timeout: the bytes stored, the bytes read, the problems, shard 0's location.
 */
async function readWithFirstShard(
  name: string,
  replace: (real: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>,
): Promise<{ bytes: Uint8Array; read: Uint8Array; problems: ShardProblem[]; location: string }> {
  const bytes = await store(name, 3 * SEGMENT + 17);
  const m = await fetchManifest(
    vault,
    vault.head().files.find((f) => f.name === name)!,
  );
  const { shardKeys } = unwrapShardKeys(vault, m);
  const spec = readSpecOf(vault, m, shardKeys);
  const first = spec.copies[0]![0]!;
  const inner = first.node;
  const replaced = Object.create(inner) as StorageNode;
  replaced.get = async (p: string) => replace(await inner.get(p));
  const copies = spec.copies.map((c, i) => (i === 0 ? [{ ...first, node: replaced }, ...c.slice(1)] : c));
  configureEngine({ readTimeoutMs: 500 });
  try {
    const out: Uint8Array[] = [];
    const problems = await readShards({ ...spec, copies }, (segment) => {
      out.push(...segmentBytes(segment).map((b) => b.slice()));
      return Promise.resolve();
    });
    return { bytes, read: Buffer.concat(out), problems, location: first.location };
  } finally {
    configureEngine();
  }
}

describe('a location that stalls after the last frame', () => {
  // Its stream gives every byte of the shard, then neither ends nor errs: the check for
  // trailing bytes after the last frame waits one read timeout, reports the shard offline and
  // the file, already whole and authenticated, is read; before, that wait had no bound.
  it('is reported offline after one read timeout; the file is read whole', async () => {
    const got = await readWithFirstShard('stall', (real) =>
      (async function* () {
        for await (const chunk of real) yield chunk;
        await new Promise<never>(() => undefined);
      })(),
    );
    expect(sha(got.read)).toBe(sha(got.bytes));
    expect(got.problems).toEqual([expect.objectContaining({ index: 0, location: got.location, kind: 'offline' })]);
    expect(got.problems[0]!.message).toMatch(/no answer for 0.5 s/);
  });
});

describe('a location that sends empty chunks without end', () => {
  // Its stream gives the shard's header, then nothing but empty chunks, each on the next turn
  // of the event loop, as a network stream would. Empty chunks are no answer: the frame read
  // waits one read timeout, the shard is reported offline, its stream is no longer pulled,
  // and the file is read from the others. Before, each empty chunk restarted the timeout and
  // the read never ended.
  it('is reported offline after one read timeout; the file is read whole from the others', async () => {
    let stopped = false;
    const got = await readWithFirstShard('empties', (real) =>
      (async function* () {
        try {
          for await (const chunk of real) {
            yield chunk.subarray(0, SHARD_HEADER_BYTES);
            break;
          }
          for (;;) {
            await new Promise((resolve) => setImmediate(resolve));
            yield new Uint8Array(0);
          }
        } finally {
          stopped = true;
        }
      })(),
    );
    expect(sha(got.read)).toBe(sha(got.bytes));
    expect(got.problems).toEqual([expect.objectContaining({ index: 0, location: got.location, kind: 'offline' })]);
    expect(got.problems[0]!.message).toMatch(/no answer for 0.5 s/);
    expect(stopped).toBe(true);
  }, 20_000);
});

describe('segments of a source whose size was said beforehand', () => {
  // The first buffer is cut to the size said (a small file allocates no whole segment); a
  // source longer or shorter than said is still cut into whole segments and a short last one.
  const size = 1000;
  for (const [length, said] of [
    [0, 0],
    [0, 4096],
    [10, 10],
    [10, 0],
    [999, 10],
    [1000, 1000],
    [1001, 1000],
    [2500, 10],
    [2500, 5000],
    [2500, undefined],
  ] as const) {
    it(`${length} bytes, said to be ${String(said)}`, async () => {
      const bytes = new Uint8Array(randomBytes(length));
      const source = (function* () {
        for (let at = 0; at < length; at += 7) yield bytes.slice(at, at + 7);
      })();
      const out: Uint8Array[] = [];
      for await (const s of segmentsOf(source, size, said)) out.push(s.slice());
      expect(out.length).toBe(Math.max(1, Math.ceil(length / size)));
      out.slice(0, -1).forEach((s) => expect(s.length).toBe(size));
      expect(sha(Buffer.concat(out))).toBe(sha(bytes));
    });
  }
});

describe('segments read straight into recycled buffers', () => {
  // A file is read into the segment buffers themselves (no chunk copied), and a buffer given
  // back is the next one read into: a put takes no fresh memory per segment.
  const size = 1000;
  for (const length of [0, 999, 1000, 2500]) {
    it(`${length} bytes from a file`, async () => {
      const bytes = new Uint8Array(randomBytes(length));
      const file = path.join(root, `segments-${length}.bin`);
      await fs.writeFile(file, bytes);
      const source = new FileObject(await fs.open(file, 'r'), length);
      const buffers = new SegmentBuffers(size);
      const out: Uint8Array[] = [];
      const seen = new Set<ArrayBufferLike>();
      try {
        for await (const s of segmentsOf(source, size, length, buffers)) {
          out.push(s.slice());
          seen.add(s.buffer);
          buffers.give(s); // sealed: back for the next segment
        }
      } finally {
        await source.close();
      }
      expect(out.length).toBe(Math.max(1, Math.ceil(length / size)));
      out.slice(0, -1).forEach((s) => expect(s.length).toBe(size));
      expect(sha(Buffer.concat(out))).toBe(sha(bytes));
      // Whole segments all went into one buffer, given back after each.
      if (length >= 2 * size) expect(seen.size).toBe(1);
    });
  }

  it('keeps each buffer once and only whole segments', () => {
    const buffers = new SegmentBuffers(16, 2);
    const a = buffers.take(16);
    buffers.give(a);
    buffers.give(a.subarray(0, 3)); // the same buffer again, as a view
    buffers.give(new Uint8Array(8)); // not a segment buffer
    expect(buffers.take(16).buffer).toBe(a.buffer);
    expect(buffers.take(16).buffer).not.toBe(a.buffer);
    expect(buffers.take(8).length).toBe(8);
  });
});
