/**
 * Put: the source is cut into segments; each segment into k pieces, Reed-Solomon-coded to n;
 * piece j is sealed as frame s of shard j (STREAM) and streamed to every location holding a
 * copy of shard j. Memory is a few segments, whatever the file size.
 */
import type { StorageNode } from '../../storage/node';
import { readsInto } from '../../storage/read-into';
import { ownBuffer } from '../open-segment';
import { Channel } from '../channel';
import { createFileHash, createSealer } from '../seal-pool';
import type { SealedSegment } from '../seal-segment';
import { ShardDigest } from './digest';
import type { Geometry } from './geometry';

/**
 * Whole segment buffers a put is done with (sealed: the sealing worker hands each one back),
 * to read the next segments into. A fresh 4 MiB buffer per segment cost ~1,000 page faults
 * (zeroed memory the kernel maps page by page), and on the machine measured a fault is
 * expensive (docs/PERFORMANCE.md, "sixth sitting").
 */
export class SegmentBuffers {
  private readonly free: Uint8Array[] = [];

  constructor(
    readonly size: number,
    private readonly limit = 4,
  ) {}

  /** A buffer of `length` bytes: a recycled one when `length` is the segment size. Its bytes
   * are whatever they were (the caller writes every byte it uses). */
  take(length: number): Uint8Array {
    if (length === this.size) {
      const reused = this.free.pop();
      if (reused) return reused;
    }
    return ownBuffer(length);
  }

  /** A segment buffer back (a view of a whole one counts). Others are left to the collector. */
  give(segment: Uint8Array): void {
    if (segment.buffer.byteLength !== this.size || this.free.length >= this.limit) return;
    const whole = new Uint8Array(segment.buffer, 0, this.size);
    if (!this.free.some((b) => b.buffer === whole.buffer)) this.free.push(whole);
  }
}

/**
 * Cuts a byte stream into segments of exactly `size` bytes (the last may be shorter, or empty
 * for an empty source). With `expected` (the source's size, when known) the first buffer is
 * no larger than that: a 4 KiB file does not allocate (and zero, and collect) a whole segment.
 * A source longer than said grows it to `size`. A source that reads into a buffer
 * (read-into.ts: a file) is read straight into the segment; any other is copied chunk by
 * chunk, as it comes. Segment buffers come from `buffers` (recycled once the caller gives
 * them back) or are new.
 */
export async function* segmentsOf(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  size: number,
  expected?: number,
  buffers: SegmentBuffers = new SegmentBuffers(size, 0),
): AsyncGenerator<Uint8Array> {
  let buffer = buffers.take(expected === undefined ? size : Math.min(size, Math.max(0, expected)));
  let filled = 0;
  let yielded = false;
  const grow = (): void => {
    if (filled === buffer.length && buffer.length < size) {
      const grown = buffers.take(size);
      grown.set(buffer.subarray(0, filled));
      buffer = grown;
    }
  };
  const full = (): boolean => {
    if (filled < size) return false;
    yielded = true;
    return true;
  };
  if (Symbol.asyncIterator in source && readsInto(source)) {
    for (;;) {
      grow();
      const got = await source.readInto(buffer, filled, buffer.length - filled);
      if (got === 0) break;
      filled += got;
      if (full()) {
        yield buffer;
        buffer = buffers.take(size);
        filled = 0;
      }
    }
  } else {
    for await (const chunk of source) {
      let at = 0;
      while (at < chunk.length) {
        grow();
        const take = Math.min(buffer.length - filled, chunk.length - at);
        buffer.set(chunk.subarray(at, at + take), filled);
        filled += take;
        at += take;
        if (full()) {
          yield buffer;
          buffer = buffers.take(size);
          filled = 0;
        }
      }
    }
  }
  if (filled > 0 || !yielded) yield buffer.subarray(0, filled);
}

/** Yields [segment, isLast] with one segment of look-ahead. */
async function* withLast(segments: AsyncIterable<Uint8Array>): AsyncGenerator<[Uint8Array, boolean]> {
  let previous: Uint8Array | null = null;
  for await (const s of segments) {
    if (previous) yield [previous, false];
    previous = s;
  }
  if (previous) yield [previous, true];
}

export interface ShardTarget {
  readonly index: number;
  readonly node: StorageNode;
  readonly path: string;
}

export interface WrittenShard {
  readonly index: number;
  readonly digest: string;
  readonly size: number;
}

export interface PutResult {
  readonly size: number;
  readonly sha256: string;
  readonly shards: readonly WrittenShard[];
  /** Targets (by position) whose location failed while writing, and why: only with
   * `tolerate`; the shard copy is not there, and the caller places it elsewhere. */
  readonly failed: readonly { readonly target: number; readonly error: Error }[];
}

export async function writeShards(opts: {
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  geometry: Geometry;
  headers: readonly Uint8Array[];
  keys: readonly Uint8Array[];
  targets: readonly ShardTarget[];
  onProgress?: (bytes: number) => void;
  /** Go on without a target whose location fails, while at least this many shards still
   * have a copy being written (a put places the missing copies after: files.ts). Without
   * it, one failed target fails the whole write. */
  tolerate?: { readonly shards: number };
  /** Seal on this thread, not in a worker: for a small file, where a worker's start costs
   * more than the sealing (a folder of many small files). */
  sealInline?: boolean;
  /** The source's size when known (a file on disk): the first segment buffer is cut to it. */
  expectedSize?: number;
}): Promise<PutResult> {
  const { geometry: g, headers, keys, targets } = opts;
  const channels = targets.map(() => new Channel(4));
  const { uploads, cause } = startUploads(targets, channels);
  const byShard = Array.from({ length: g.total }, (_, j) => channels.filter((_, i) => targets[i]!.index === j));
  const digests = headers.map((h) => new ShardDigest(h));
  const shardSizes = new Array<number>(g.total).fill(0);
  const fileHash = createFileHash();
  let sha256: string;
  let size = 0;
  let index = 0;
  const dropped = new Set<Channel>();
  const enough = (): boolean =>
    opts.tolerate !== undefined &&
    new Set(targets.filter((_, i) => !dropped.has(channels[i]!)).map((t) => t.index)).size >= opts.tolerate.shards;

  const push = async (c: Channel, bytes: Uint8Array): Promise<void> => {
    if (dropped.has(c)) return;
    try {
      await c.push(bytes);
    } catch (err) {
      dropped.add(c);
      if (!enough()) throw err;
    }
  };
  const send = async (j: number, ...parts: Uint8Array[]): Promise<void> => {
    for (const bytes of parts) {
      shardSizes[j]! += bytes.length;
      await Promise.all(byShard[j]!.map((c) => push(c, bytes)));
    }
  };
  const failed: { target: number; error: Error }[] = [];

  // Segments are sealed (coded and encrypted) by a worker while this thread reads, hashes
  // and writes; two segments in flight keep both busy.
  const sealer = createSealer({ data: g.data, total: g.total, keys, headers }, { inline: opts.sealInline === true });
  const inFlight: Promise<SealedSegment & { segment: Uint8Array }>[] = [];
  const buffers = new SegmentBuffers(g.segmentSize);
  const flush = async (): Promise<void> => {
    const { bodies, tags, segment } = await inFlight.shift()!;
    buffers.give(segment);
    tags.forEach((tag, j) => digests[j]!.frame(tag));
    await Promise.all(bodies.map((body, j) => send(j, body, tags[j]!)));
  };
  try {
    for (let j = 0; j < g.total; j++) await send(j, headers[j]!);
    for await (const [segment, last] of withLast(segmentsOf(opts.source, g.segmentSize, opts.expectedSize, buffers))) {
      await fileHash.update(segment);
      size += segment.length;
      const sealing = sealer.seal(segment, index, last);
      sealing.catch(() => undefined); // awaited in order by flush; never unhandled meanwhile
      inFlight.push(sealing);
      index++;
      if (inFlight.length >= 2) await flush();
      opts.onProgress?.(size);
    }
    while (inFlight.length > 0) await flush();
    sha256 = await fileHash.digest();
    channels.forEach((c) => c.close());
    const ended = await Promise.allSettled(uploads);
    ended.forEach((e, i) => {
      if (e.status === 'rejected') {
        dropped.add(channels[i]!);
        failed.push({ target: i, error: e.reason instanceof Error ? e.reason : new Error(String(e.reason)) });
      }
    });
    if (failed.length > 0 && !enough()) throw cause() ?? failed[0]!.error;
  } catch (err) {
    const reason = err instanceof Error ? err : new Error(String(err));
    channels.forEach((c) => c.abort(reason));
    await Promise.allSettled(inFlight);
    const settled = await Promise.allSettled(uploads);
    // Objects that did get stored are referenced by nothing: remove them now (garbage
    // collection would find them later anyway).
    await Promise.allSettled(
      settled.map((s, i) => (s.status === 'fulfilled' ? targets[i]!.node.delete(targets[i]!.path) : Promise.resolve())),
    );
    throw cause() ?? err;
  } finally {
    await Promise.all([sealer.close(), fileHash.close()]);
  }
  return {
    size,
    sha256,
    shards: digests.map((d, j) => ({ index: j, digest: d.hex(), size: shardSizes[j]! })),
    failed,
  };
}

/**
 * Starts one location put per target, each consuming its channel. A put that fails stops its
 * channel's producer; the promises are awaited at the end, and a handler is attached now so
 * that an early failure is never an unhandled rejection.
 */
export function startUploads(
  targets: readonly ShardTarget[],
  channels: readonly Channel[],
): { uploads: Promise<number>[]; cause: () => Error | null } {
  const failures: { channel: Channel; reason: Error }[] = [];
  const uploads = targets.map((t, i) => {
    const upload = t.node.put(t.path, channels[i]!).catch((err: unknown) => {
      const reason = err instanceof Error ? err : new Error(String(err));
      failures.push({ channel: channels[i]!, reason });
      channels[i]!.fail(reason);
      throw reason;
    });
    upload.catch(() => undefined);
    return upload;
  });
  // The cause is a location that gave up on its own (full, read-only, gone). The others then
  // fail because their channels were aborted, and may report that sooner: a full location
  // still removes its partial object while a sibling's abort has already surfaced.
  const cause = (): Error | null => (failures.find((f) => f.channel.failedFirst) ?? failures[0])?.reason ?? null;
  return { uploads, cause };
}
