// A get's opening off the main thread (open-segment.ts, open-pool.ts, seal-worker.ts): the
// same SegmentOpener and FileHasher run in this thread under vitest and in a worker thread in
// the built CLI. Checked here: each on its own, the bundled worker through its protocol, and
// whole gets through the built CLI with damage in the middle of a file (while later segments
// are in flight), with and without the worker, giving the same answers.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARD_HEADER_BYTES } from '../src/core/format/records';
import { createOpener, WORKER_MIN_SEGMENTS } from '../src/core/vault/open-pool';
import { startWorker, stopIdleWorkers, warmCount, warmWorkers } from '../src/core/vault/seal-pool';
import {
  FileHasher,
  SegmentOpener,
  segmentCount,
  type OpenFile,
  type OpenJob,
  type OpenResult,
} from '../src/core/vault/open-segment';
import { SegmentSealer } from '../src/core/vault/seal-segment';
import type { ShardProblem } from '../src/core/vault/pipeline/read';
import {
  ensureBuilt,
  exists,
  flipByte,
  listTree,
  parseJson,
  ROOT,
  runCli,
  sha256File,
  shardObjects,
  TempRoot,
  unplug,
  writeRandomFile,
} from './helpers/cli';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A file sealed as put seals it: frames[s][j] is frame s of shard j. */
function sealed(size: number, segmentSize: number, data = 3, total = 5) {
  const bytes = new Uint8Array(randomBytes(size));
  const keys = Array.from({ length: total }, () => new Uint8Array(randomBytes(32)));
  const headers = Array.from({ length: total }, (_, j) =>
    new Uint8Array(randomBytes(SHARD_HEADER_BYTES)).fill(j, 0, 1),
  );
  const file: OpenFile = { data, total, size, segmentSize, keys, headers };
  const sealer = new SegmentSealer({ data, total, keys, headers });
  const segments = segmentCount(size, segmentSize);
  const frames: Uint8Array[][] = [];
  for (let s = 0; s < segments; s++) {
    const segment = bytes.slice(s * segmentSize, Math.min(size, (s + 1) * segmentSize));
    const { bodies, tags } = sealer.seal(segment, s, s === segments - 1);
    frames.push(bodies.map((b, j) => Buffer.concat([b, tags[j]!])));
  }
  return { bytes, file, frames, segments };
}

function job(frames: Uint8Array[][], s: number, indices: number[]): OpenJob {
  return { segment: s, indices, frames: indices.map((j) => new Uint8Array(frames[s]![j]!)) };
}

function plain(pieces: readonly Uint8Array[], length: number): Uint8Array {
  return new Uint8Array(Buffer.concat(pieces)).subarray(0, length);
}

function opened(r: OpenResult): Extract<OpenResult, { kind: 'opened' }> {
  if (r.kind !== 'opened') throw new Error(`not opened: ${JSON.stringify(r.failures.map((f) => f.message))}`);
  return r;
}

describe('SegmentSealer', () => {
  it('codes each segment into the same parity buffers, and no frame it gave out changes', () => {
    const data = 3;
    const total = 5;
    const keys = Array.from({ length: total }, () => new Uint8Array(randomBytes(32)));
    const headers = Array.from({ length: total }, () => new Uint8Array(randomBytes(SHARD_HEADER_BYTES)));
    const segments = [0, 1, 2].map(() => new Uint8Array(randomBytes(3 * 4096)));
    const reused = new SegmentSealer({ data, total, keys, headers });
    const kept = segments.map((segment, s) => reused.seal(segment, s, s === 2));
    segments.forEach((segment, s) => {
      // A sealer of its own for each segment: fresh parity, the reference.
      const fresh = new SegmentSealer({ data, total, keys, headers }).seal(segment, s, s === 2);
      expect(kept[s]!.bodies).toEqual(fresh.bodies);
      expect(kept[s]!.tags).toEqual(fresh.tags);
    });
  });
});

describe('SegmentOpener and FileHasher', () => {
  const SEG = 4096 * 3;
  const { bytes, file, frames, segments } = sealed(SEG * 6 + 1234, SEG);
  const segmentOf = (s: number): Uint8Array => bytes.subarray(s * SEG, Math.min(bytes.length, (s + 1) * SEG));

  it.each([
    ['into new buffers', false],
    ['in place', true],
  ])(
    'opens every segment from data shards or through Reed-Solomon, %s; the hash is the file SHA-256',
    (_how, inPlace) => {
      const opener = new SegmentOpener(file, inPlace);
      const hasher = new FileHasher();
      for (let s = 0; s < segments; s++) {
        // Mixed: some segments with all data shards (hashed while decrypted), some rebuilt.
        const indices = s % 2 === 0 ? [2, 0, 1] : [4, 0, 3];
        const given = job(frames, s, indices);
        const r = opened(opener.open(given, hasher));
        expect(plain(r.pieces, segmentOf(s).length)).toEqual(segmentOf(s));
        expect(r.hashed).toBe(true);
        // In place, the pieces read from data shards are views of their own frames.
        const own = r.pieces.filter((p) => given.frames.some((f) => f.buffer === p.buffer)).length;
        expect(own).toBe(inPlace ? indices.filter((j) => j < 3).length : 0);
      }
      expect(hasher.finish()).toEqual({ segments, sha256: sha(bytes) });
    },
  );

  it('a frame that fails: reported by position, nothing given out, the hash untouched', () => {
    const opener = new SegmentOpener(file);
    const hasher = new FileHasher();
    opened(opener.open(job(frames, 0, [0, 1, 2]), hasher));
    const bad = job(frames, 1, [0, 1, 2]);
    bad.frames[1]![100]! ^= 1;
    const r = opener.open(bad, hasher);
    expect(r.kind).toBe('failed');
    if (r.kind !== 'failed') return;
    expect(r.failures).toEqual([{ position: 1, code: 'corrupt', message: 'frame 1 failed authentication' }]);
    expect(r.frames).toBe(bad.frames);
    expect(hasher.next).toBe(1);
    // A segment after the one that failed opens, but is not hashed: it comes again later.
    expect(opened(opener.open(job(frames, 2, [0, 1, 2]), hasher)).hashed).toBe(false);
    expect(hasher.next).toBe(1);
    // Read again with another shard in place of the bad one: the hash goes on as if nothing happened.
    for (let s = 1; s < segments; s++) expect(opened(opener.open(job(frames, s, [0, 3, 2]), hasher)).hashed).toBe(true);
    expect(hasher.finish().sha256).toBe(sha(bytes));
  });

  it('refuses frames of another segment, a reordered or truncated frame, and the wrong last flag', () => {
    const opener = new SegmentOpener(file);
    const swapped = job(frames, 2, [0, 1, 2]);
    swapped.frames[0] = new Uint8Array(frames[3]![0]!);
    expect(opener.open(swapped).kind).toBe('failed');
    const cut = job(frames, 2, [0, 1, 2]);
    cut.frames[2] = cut.frames[2]!.subarray(0, 10);
    expect(opener.open(cut).kind).toBe('failed');
    // The last frame offered as segment 5's (not last), and segment 5's as the last one.
    const last = segments - 1;
    const early = job(frames, last - 1, [0, 1, 2]);
    early.frames[0] = new Uint8Array(frames[last]![0]!);
    expect(opener.open(early).kind).toBe('failed');
    expect(() => opener.open({ ...job(frames, 0, [0, 1, 2]), segment: segments })).toThrow(/expected 3 frames/);
    expect(() => opener.open({ ...job(frames, 0, [0, 1, 2]), indices: [0, 0, 1] })).toThrow(/distinct/);
  });

  it('hashes only in order, and never a segment twice', () => {
    const hasher = new FileHasher();
    const opener = new SegmentOpener(file);
    expect(opened(opener.open(job(frames, 1, [3, 4, 0]), hasher)).hashed).toBe(false);
    expect(opened(opener.open(job(frames, 0, [3, 4, 0]), hasher)).hashed).toBe(true);
    expect(opened(opener.open(job(frames, 0, [0, 1, 2]), hasher)).hashed).toBe(false);
    expect(() => hasher.commit(0, hasher.fork())).toThrow(/out of order/);
    for (let s = 1; s < segments; s++) expect(opened(opener.open(job(frames, s, [0, 1, 2]), hasher)).hashed).toBe(true);
    expect(hasher.finish()).toEqual({ segments, sha256: sha(bytes) });
  });

  it('in place: a failed frame is wiped, the others come back opened and are not decrypted again', () => {
    const opener = new SegmentOpener(file, true);
    const hasher = new FileHasher();
    const bad = job(frames, 0, [0, 1, 3]);
    bad.frames[1]![100]! ^= 1;
    const r = opener.open(bad, hasher);
    if (r.kind !== 'failed') throw new Error('a flipped byte opened');
    expect(r.failures.map((f) => f.position)).toEqual([1]);
    expect(r.plain).toEqual([true, false, true]);
    // The bad frame's body holds no plaintext it gave before its tag failed.
    expect(r.frames[1]!.subarray(0, SEG / 3).every((b) => b === 0)).toBe(true);
    expect(r.frames[0]!.subarray(0, SEG / 3)).toEqual(segmentOf(0).subarray(0, SEG / 3));
    expect(hasher.next).toBe(0);
    // Given again with a replacement for the bad one: the opened frames count as opened (a
    // second decryption of plaintext would fail authentication), the segment rebuilds and hashes.
    const again = opener.open(
      {
        segment: 0,
        indices: [0, 4, 3],
        frames: [r.frames[0]!, new Uint8Array(frames[0]![4]!), r.frames[2]!],
        plain: [true, false, true],
      },
      hasher,
    );
    expect(plain(opened(again).pieces, SEG)).toEqual(segmentOf(0));
    expect(opened(again).hashed).toBe(true);
    // Only an in-place opener takes frames marked opened.
    expect(() => new SegmentOpener(file).open({ ...job(frames, 1, [0, 1, 2]), plain: [true, true, true] })).toThrow(
      /expected 3 frames/,
    );
  });
});

describe('the bundled worker', () => {
  const WORKER = nodePath.join(ROOT, 'out', 'cli', 'seal-worker.mjs');
  beforeAll(() => ensureBuilt());

  it('opens, rebuilds and hashes in a worker thread, answering as this thread does', async () => {
    const SEG = 16 * 1024;
    const { bytes, file, frames, segments } = sealed(SEG * (WORKER_MIN_SEGMENTS + 5) + 77, SEG);
    const opener = createOpener(file, segments, WORKER);
    try {
      for (let s = 0; s < segments; s++) {
        // Segments 3 and 6 through Reed-Solomon; segment 5 first fails, and 6 is offered early.
        const indices = s === 3 || s === 6 ? [0, 4, 2] : [0, 1, 2];
        if (s === 5) {
          const bad = job(frames, s, indices);
          bad.frames[2]![7]! ^= 1;
          const frame0 = bad.frames[0]!;
          const r = await opener.open(bad);
          expect(frame0.byteLength).toBe(0); // moved to the worker, not copied
          expect(r.kind).toBe('failed');
          if (r.kind === 'failed') {
            expect(r.failures.map((f) => [f.position, f.code])).toEqual([[2, 'corrupt']]);
            // Decrypted in place in the worker: frame 0 came back holding its piece.
            expect(r.plain).toEqual([true, true, false]);
            const piece = Math.ceil(SEG / 3);
            expect(r.frames[0]!.subarray(0, piece)).toEqual(bytes.subarray(s * SEG, s * SEG + piece));
          }
          expect(opened(await opener.open(job(frames, 6, [0, 4, 2]))).hashed).toBe(false);
        }
        const r = opened(await opener.open(job(frames, s, indices)));
        const length = Math.min(SEG, bytes.length - s * SEG);
        expect(plain(r.pieces, length)).toEqual(bytes.subarray(s * SEG, s * SEG + length));
        expect(r.hashed).toBe(true);
      }
      expect(await opener.finish()).toEqual({ segments, sha256: sha(bytes) });
    } finally {
      await opener.close();
    }
  });

  it('a warm worker is taken by the next start, and answers as a cold one does', async () => {
    await stopIdleWorkers(WORKER);
    warmWorkers(1, WORKER);
    warmWorkers(1, WORKER); // already warm: no second one
    expect(warmCount(WORKER)).toBe(1);
    const worker = startWorker(WORKER, 'hashing');
    try {
      expect(warmCount(WORKER)).toBe(0);
      expect(await worker.request<string>({ kind: 'hash-finish' })).toBe(sha(new Uint8Array(0)));
    } finally {
      await worker.close();
    }
  }, 20_000);

  it('answers a request it does not know with an error, and then still works', async () => {
    // A worker bundle of another build could be asked for what it can't do: the promise of
    // that request settles (before, it never did), and the worker goes on answering.
    const worker = startWorker(WORKER, 'opening');
    try {
      await expect(worker.request({ kind: 'no-such-request' })).rejects.toThrow(
        'opening failed: no such request: no-such-request',
      );
      expect(worker.queued).toBe(0);
      const digest = await worker.request<string>({ kind: 'hash-finish' });
      expect(digest).toBe(sha(new Uint8Array(0)));
    } finally {
      await worker.close();
    }
  }, 20_000);
});

// ====================================================================== through the CLI

const PASSPHRASE = 'open worker test';
const SEGMENT = 4096; // many segments for a small file (over WORKER_MIN_SEGMENTS: the worker opens them)
let root: TempRoot;

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-open-worker-');
});

afterAll(async () => {
  await root?.cleanup();
});

interface Stored {
  readonly locations: string[];
  readonly env: Record<string, string>;
  readonly sha256: string;
  /** The stored object of shard j (one copy each, on five locations). */
  readonly shard: string[];
  readonly frameBytes: number;
}

async function store(name: string, size: number): Promise<Stored> {
  const base = await root.dir(name);
  const locations = await root.locations(name, 5);
  const env = { SHARDVAULT_HOME: nodePath.join(base, 'home'), SHARDVAULT_PASSPHRASE: PASSPHRASE };
  const init = await runCli(
    [
      'init',
      ...locations.flatMap((l) => ['--location', l]),
      ...['--survive', '2', '--secret-against', '2', '--insecure-kdf-cost', '10', '--segment-size', String(SEGMENT)],
    ],
    { env },
  );
  expect(init.code, init.stderr).toBe(0);
  const input = nodePath.join(base, 'input');
  const sha256 = await writeRandomFile(input, size);
  const put = await runCli(['put', input, '--name', 'f'], { env });
  expect(put.code, put.stderr).toBe(0);
  const shard: string[] = [];
  for (const path of await shardObjects(locations)) {
    const header = Buffer.alloc(SHARD_HEADER_BYTES);
    const handle = await fs.open(path, 'r');
    await handle.read(header, 0, SHARD_HEADER_BYTES, 0);
    await handle.close();
    shard[header[41]!] = path; // the shard index, after magic, version, vault, file, version
  }
  expect(shard.filter(Boolean)).toHaveLength(5);
  return { locations, env, sha256, shard, frameBytes: Math.ceil(SEGMENT / 3) + 16 };
}

const frameAt = (v: Stored, s: number): number => SHARD_HEADER_BYTES + s * v.frameBytes;

async function get(
  v: Stored,
  noWorker: boolean,
): Promise<{ code: number; stdout: string; sha256: string | null; problems: ShardProblem[]; left: string[] }> {
  const dir = await root.dir(`out-${randomBytes(4).toString('hex')}`);
  const output = nodePath.join(dir, 'out');
  const r = await runCli(['get', 'f', '--output', output, '--json'], {
    env: { ...v.env, SHARDVAULT_NO_WORKER: noWorker ? '1' : undefined },
  });
  const ok = r.code === 0;
  return {
    code: r.code,
    stdout: r.stdout,
    sha256: (await exists(output)) ? await sha256File(output) : null,
    problems: ok ? parseJson<{ problems: ShardProblem[] }>(r).problems : [],
    left: await listTree(dir),
  };
}

describe.each([
  ['in worker threads', false],
  ['on the main thread (SHARDVAULT_NO_WORKER)', true],
])('get of a file of 80 segments, %s', (_how, noWorker) => {
  let v: Stored;
  let saved: Buffer[];

  beforeAll(async () => {
    v = await store(`v-${noWorker ? 'main' : 'worker'}`, 80 * SEGMENT - 1000);
    saved = await Promise.all(v.shard.map((p) => fs.readFile(p)));
  });

  /** Puts every shard back as stored. */
  const restore = async (): Promise<void> => {
    await Promise.all(v.shard.map((p, j) => fs.writeFile(p, saved[j]!)));
  };

  it('healthy: the right bytes, no problems', async () => {
    const r = await get(v, noWorker);
    expect(r).toMatchObject({ code: 0, sha256: v.sha256, problems: [] });
  });

  it('a flipped byte in frame 40 of a data shard: read from another, reported', async () => {
    await flipByte(v.shard[1]!, frameAt(v, 40) + 5);
    try {
      const r = await get(v, noWorker);
      expect(r).toMatchObject({ code: 0, sha256: v.sha256 });
      expect(r.problems.map((p) => [p.index, p.kind])).toEqual([[1, 'corrupt']]);
      expect(r.problems[0]!.message).toMatch(/frame 40 failed authentication/);
    } finally {
      await restore();
    }
  });

  it('two data shards damaged at different frames, one truncated: rebuilt from parity', async () => {
    await flipByte(v.shard[0]!, frameAt(v, 7) + 100);
    await fs.truncate(v.shard[2]!, frameAt(v, 61) + 9);
    try {
      const r = await get(v, noWorker);
      expect(r).toMatchObject({ code: 0, sha256: v.sha256 });
      expect(r.problems.map((p) => [p.index, p.kind]).sort()).toEqual([
        [0, 'corrupt'],
        [2, 'corrupt'],
      ]);
    } finally {
      await restore();
    }
  });

  it('two frames of one shard swapped: caught, read from another shard', async () => {
    const bytes = Buffer.from(saved[2]!);
    const a = bytes.subarray(frameAt(v, 20), frameAt(v, 21));
    const b = bytes.subarray(frameAt(v, 21), frameAt(v, 22));
    await fs.writeFile(
      v.shard[2]!,
      Buffer.concat([bytes.subarray(0, frameAt(v, 20)), b, a, bytes.subarray(frameAt(v, 22))]),
    );
    try {
      const r = await get(v, noWorker);
      expect(r).toMatchObject({ code: 0, sha256: v.sha256 });
      expect(r.problems.map((p) => [p.index, p.kind])).toEqual([[2, 'corrupt']]);
    } finally {
      await restore();
    }
  });

  it('two data-shard locations unplugged: every segment rebuilt', async () => {
    const back = await Promise.all([0, 1].map((j) => unplug(nodePath.dirname(nodePath.dirname(v.shard[j]!)))));
    try {
      const r = await get(v, noWorker);
      expect(r).toMatchObject({ code: 0, sha256: v.sha256 });
    } finally {
      for (const b of back) await b();
    }
  });

  it('three shards damaged mid-file: the get fails and leaves nothing', async () => {
    await flipByte(v.shard[0]!, frameAt(v, 30) + 1);
    await flipByte(v.shard[3]!, frameAt(v, 50) + 1);
    await fs.truncate(v.shard[4]!, frameAt(v, 70));
    await flipByte(v.shard[1]!, frameAt(v, 75) + 1);
    try {
      const r = await get(v, noWorker);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toMatch(/not enough good shards/);
      expect(r).toMatchObject({ sha256: null, left: [] });
    } finally {
      await restore();
    }
  });
});

describe('workers started ahead of need', () => {
  it('a put whose hashing worker goes unused (one segment) still ends by itself', async () => {
    // put starts its sealing and hashing workers while the vault unlocks when the file is over
    // one default segment; with this vault's 16 MiB segments the file is one segment, so the
    // hashing worker is never taken. SHARDVAULT_DEBUG names whatever held the process past its
    // answer (main.ts): an idle warm worker must not.
    const base = await root.dir('warm');
    const locations = await root.locations('warm', 3);
    const env = {
      SHARDVAULT_HOME: nodePath.join(base, 'home'),
      SHARDVAULT_PASSPHRASE: PASSPHRASE,
      SHARDVAULT_DEBUG: '1',
    };
    const init = await runCli(
      [
        'init',
        ...locations.flatMap((l) => ['--location', l]),
        ...['--survive', '1', '--secret-against', '1', '--insecure-kdf-cost', '10', '--segment-size', String(16 << 20)],
      ],
      { env },
    );
    expect(init.code, init.stderr).toBe(0);
    const input = nodePath.join(base, 'input');
    const sha256 = await writeRandomFile(input, (4 << 20) + 1);
    const put = await runCli(['put', input, '--name', 'f'], { env });
    expect(put.code, put.stderr).toBe(0);
    expect(put.stderr).not.toMatch(/left open at exit/);
    const output = nodePath.join(base, 'out');
    const got = await runCli(['get', 'f', '--output', output], { env });
    expect(got.code, got.stderr).toBe(0);
    expect(got.stderr).not.toMatch(/left open at exit/);
    expect(await sha256File(output)).toBe(sha256);
  });
});

describe('a re-coding reads through the same buffers', () => {
  it('policy set re-codes a file of 80 segments byte for byte', async () => {
    // The re-coding gives each segment's pieces to a channel that its writer empties later,
    // while the read goes on into the frames those pieces are views of: they must be copied
    // (policy-change.ts). Queued as views, the file "read back differently from its manifest"
    // and kept its old coding.
    const v = await store('recode', 80 * SEGMENT - 1000);
    const set = await runCli(['policy', 'set', '--survive', '1', '--secret-against', '1'], { env: v.env });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).not.toMatch(/read back differently/);
    expect(set.stdout).toMatch(/Every file is re-coded/);
    const output = nodePath.join(await root.dir('recode-out'), 'out');
    const got = await runCli(['get', 'f', '--output', output], { env: v.env });
    expect(got.code, got.stderr).toBe(0);
    expect(await sha256File(output)).toBe(v.sha256);
  });
});

describe('a worker given back', () => {
  const WORKER = nodePath.join(ROOT, 'out', 'cli', 'seal-worker.mjs');
  beforeAll(() => ensureBuilt());

  it('serves the next work with nothing of the last: a hash begun and abandoned is gone', async () => {
    await stopIdleWorkers(WORKER);
    const first = startWorker(WORKER, 'hashing');
    const segment = new Uint8Array(randomBytes(8192));
    // A put that fails after its first segment: its file hash is never finished.
    await first.request({ kind: 'hash', segment: new Uint8Array(segment) });
    await first.close();
    expect(warmCount(WORKER)).toBe(1);
    const second = startWorker(WORKER, 'hashing');
    try {
      expect(warmCount(WORKER)).toBe(0);
      await second.request({ kind: 'hash', segment: new Uint8Array(segment) });
      // Only this work's bytes: the abandoned hash did not carry over.
      expect(await second.request<string>({ kind: 'hash-finish' })).toBe(sha(segment));
    } finally {
      await second.close();
    }
  }, 20_000);

  it('one that answered a request with an error is given back too, and works', async () => {
    await stopIdleWorkers(WORKER);
    const worker = startWorker(WORKER, 'opening');
    // Opening with no file set up throws in the worker: an error answer, the worker fine.
    await expect(worker.request({ kind: 'open', job: { segment: 0, indices: [], frames: [] } })).rejects.toThrow(
      /opening failed/,
    );
    await worker.close();
    expect(warmCount(WORKER)).toBe(1);
    const again = startWorker(WORKER, 'hashing');
    try {
      expect(await again.request<string>({ kind: 'hash-finish' })).toBe(sha(new Uint8Array(0)));
    } finally {
      await again.close();
    }
  }, 20_000);
});
