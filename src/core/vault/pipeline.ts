/**
 * The data path. Put: the source is cut into segments; each segment into k pieces,
 * Reed-Solomon-coded to n; piece j is sealed as frame s of shard j (STREAM) and streamed to
 * every location holding a copy of shard j. Get: frames are read from k shards at a time,
 * authenticated, decoded and written to a temporary file that becomes the output only after
 * the whole-file SHA-256 matches. Memory is a few segments, whatever the file size.
 */
import { engineConfig } from '../config';
import { createHash, type Hash } from 'node:crypto';
import { TAG_BYTES } from '../crypto/aead';
import { equalBytes } from '../crypto/bytes';
import { openFrame, sealFrameParts } from '../crypto/stream';
import { ReedSolomon } from '../erasure/reed-solomon';
import { CorruptError, OfflineError, ShardvaultError } from '../errors';
import type { StorageNode } from '../storage/node';
import { readsInto, type ReadsInto } from '../storage/read-into';
import { Channel } from './channel';
import { createOpener } from './open-pool';
import { segmentCount, segmentLength, ownBuffer, type OpenResult } from './open-segment';
import { createFileHash, createSealer } from './seal-pool';
import type { SealedSegment } from './seal-segment';

type Opened = Extract<OpenResult, { kind: 'opened' }>;

/**
 * A shard's digest: SHA-256 over its header and the tag of every frame, in order. Each tag
 * authenticates its frame under the shard key (which no location knows), so the digest
 * commits to every stored byte for anyone who can't forge GCM tags, while hashing 16 bytes
 * per frame instead of the whole shard (docs/PERFORMANCE.md).
 */
export class ShardDigest {
  private readonly hash: Hash = createHash('sha256');
  constructor(header: Uint8Array) {
    this.hash.update(header);
  }
  /** Takes a frame's tag (its last TAG_BYTES bytes; a whole frame may be passed). */
  frame(frameOrTag: Uint8Array): void {
    this.hash.update(frameOrTag.subarray(frameOrTag.length - TAG_BYTES));
  }
  hex(): string {
    return this.hash.digest('hex');
  }
}

export interface Geometry {
  readonly data: number;
  readonly total: number;
  readonly segmentSize: number;
}

export { segmentCount };

export function pieceLength(size: number, segment: number, g: Geometry): number {
  const length = Math.min(g.segmentSize, size - segment * g.segmentSize);
  return Math.ceil(Math.max(0, length) / g.data);
}

/** Bytes of a stored shard: header plus one sealed frame per segment. */
export function shardSize(size: number, g: Geometry, headerBytes: number): number {
  const segments = segmentCount(size, g.segmentSize);
  const full = Math.ceil(g.segmentSize / g.data) + TAG_BYTES;
  const last = pieceLength(size, segments - 1, g) + TAG_BYTES;
  return headerBytes + (segments - 1) * full + last;
}

/** Cuts a byte stream into segments of exactly `size` bytes (the last may be shorter, or empty for an empty source). */
async function* segmentsOf(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  size: number,
): AsyncGenerator<Uint8Array> {
  let buffer = new Uint8Array(size);
  let filled = 0;
  let yielded = false;
  for await (const chunk of source) {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(size - filled, chunk.length - at);
      buffer.set(chunk.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === size) {
        yield buffer;
        yielded = true;
        buffer = new Uint8Array(size);
        filled = 0;
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
  const inFlight: Promise<SealedSegment>[] = [];
  const flush = async (): Promise<void> => {
    const { bodies, tags } = await inFlight.shift()!;
    tags.forEach((tag, j) => digests[j]!.frame(tag));
    await Promise.all(bodies.map((body, j) => send(j, body, tags[j]!)));
  };
  try {
    for (let j = 0; j < g.total; j++) await send(j, headers[j]!);
    for await (const [segment, last] of withLast(segmentsOf(opts.source, g.segmentSize))) {
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

/** A read that waits longer than the configured read timeout (../config.ts) counts as offline. */
function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  const ms = engineConfig().readTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new OfflineError(`${what}: no answer for ${ms / 1000} s`, { unresponsive: true })),
      ms,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Starts one location put per target, each consuming its channel. A put that fails stops its
 * channel's producer; the promises are awaited at the end, and a handler is attached now so
 * that an early failure is never an unhandled rejection.
 */
function startUploads(
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

/**
 * Reads exact byte counts from a location's stream: straight into the caller's buffer when
 * the location can (read-into.ts: a local folder), else copied out of the stream's chunks.
 */
class ShardStream {
  private readonly iterator: AsyncIterator<Uint8Array> | null;
  private readonly direct: ReadsInto | null;
  private buffered: Uint8Array[] = [];
  private available = 0;
  /** Digest of what was read so far: the header, then each frame's tag (see ShardDigest). */
  digest: ShardDigest | null = null;

  constructor(
    stream: AsyncIterable<Uint8Array>,
    readonly index: number,
    readonly location: string,
  ) {
    this.direct = readsInto(stream) ? stream : null;
    this.iterator = this.direct ? null : stream[Symbol.asyncIterator]();
  }

  private what(): string {
    return `shard ${this.index} on ${this.location}`;
  }

  /** The next `length` bytes, into `into` when given (a spare buffer of that length). */
  async read(length: number, into?: Uint8Array): Promise<Uint8Array> {
    const out = into?.length === length ? into : new Uint8Array(length);
    if (this.direct) {
      for (let at = 0; at < length;) {
        const got = await withTimeout(this.direct.readInto(out, at, length - at), this.what());
        if (got === 0) throw new CorruptError(`${this.what()} is truncated`);
        at += got;
      }
      return out;
    }
    while (this.available < length) {
      const next = await withTimeout(this.iterator!.next(), this.what());
      if (next.done) throw new CorruptError(`${this.what()} is truncated`);
      this.buffered.push(next.value);
      this.available += next.value.length;
    }
    let at = 0;
    while (at < length) {
      const head = this.buffered[0]!;
      const take = Math.min(head.length, length - at);
      out.set(head.subarray(0, take), at);
      at += take;
      if (take === head.length) this.buffered.shift();
      else this.buffered[0] = head.subarray(take);
    }
    this.available -= length;
    return out;
  }

  /** True when the stream holds no bytes past what was read. */
  async atEnd(): Promise<boolean> {
    if (this.direct) return (await this.direct.readInto(new Uint8Array(1), 0, 1)) === 0;
    if (this.available > 0) return false;
    for (;;) {
      const next = await this.iterator!.next();
      if (next.done) return true;
      if (next.value.length > 0) return false;
    }
  }

  async close(): Promise<void> {
    // A hung location may never answer return() either: don't wait for it forever.
    const closing = this.direct ? this.direct.close() : (this.iterator!.return?.() ?? Promise.resolve());
    await withTimeout<unknown>(closing, 'closing').catch(() => undefined);
  }
}

export interface ShardCopy {
  readonly node: StorageNode;
  readonly path: string;
  /** Location name, for reports. */
  readonly location: string;
  /** A copy that may well not exist (a staged copy, staged.ts): tried only after every other
   * copy of every shard, and its absence is no problem. */
  readonly optional?: boolean;
}

export interface ShardProblem {
  readonly index: number;
  readonly location: string;
  readonly kind: 'missing' | 'corrupt' | 'offline';
  readonly message: string;
}

export interface ReadSpec {
  readonly geometry: Geometry;
  readonly size: number;
  readonly sha256: string;
  readonly headers: readonly Uint8Array[];
  readonly keys: readonly (Uint8Array | null)[];
  readonly shardDigests: readonly string[];
  /** Copies of each shard, in the order to try them, optional ones last. */
  readonly copies: readonly (readonly ShardCopy[])[];
}

/** What a read tells its caller as it goes. */
export interface ReadEvents {
  /** Bytes of the file released so far. */
  readonly onProgress?: (bytes: number) => void;
  /** A copy answered with its bytes (the access log names the locations a read used). */
  readonly onRead?: (copy: ShardCopy) => void;
}

function problemKind(err: unknown): ShardProblem['kind'] {
  if (err instanceof ShardvaultError) {
    if (err.code === 'not-found') return 'missing';
    if (err.code === 'corrupt') return 'corrupt';
  }
  if (err instanceof ShardvaultError && err.code === 'offline') return 'offline';
  return 'offline';
}

/**
 * One segment as decoded: its k data pieces (zero-padded as coded) and its true length. The
 * pieces are the sink's until its promise resolves; their buffers are then used again.
 */
export interface DecodedSegment {
  readonly index: number;
  readonly last: boolean;
  readonly length: number;
  readonly pieces: readonly Uint8Array[];
}

/** The segment's bytes, padding dropped, as views of its pieces. */
export function segmentBytes(segment: DecodedSegment): Uint8Array[] {
  const out: Uint8Array[] = [];
  let remaining = segment.length;
  for (const piece of segment.pieces) {
    if (remaining === 0) break;
    out.push(piece.subarray(0, Math.min(piece.length, remaining)));
    remaining -= out[out.length - 1]!.length;
  }
  return out;
}

/** Segments read ahead of the one released: the opener works on some while the next are read. */
const READ_AHEAD = 3;

/** A segment read but not yet released: its frames (unverified) and the streams they came from. */
interface PendingSegment {
  readonly index: number;
  readonly last: boolean;
  streams: ShardStream[];
  frames: Uint8Array[];
  /** Set while the opener holds the frames. */
  opening: Promise<OpenResult> | null;
}

/**
 * Streams the file's plaintext, segment by segment, to `sink`. Each segment's frames are
 * authenticated before the segment is given to the sink; the caller holds the output back
 * until this resolves (the whole-file hash is checked last). Shards that fail are replaced
 * by other copies or other shards; their problems are returned.
 *
 * The frames of a few segments are read ahead from k shards at once and given to the opener
 * (open-pool.ts: a worker thread when bundled, for large files), which authenticates,
 * decrypts, rebuilds and hashes them, in order, while this thread reads the next ones and
 * writes the last. A frame that fails, or a read that fails, drains what is
 * in flight, drops that copy, and reads the segments not yet released again with a
 * replacement (caught up from the first frame, authenticating each).
 */
export async function readShards(
  spec: ReadSpec,
  sink: (segment: DecodedSegment) => Promise<void>,
  events: ReadEvents = {},
): Promise<ShardProblem[]> {
  const { onProgress, onRead } = events;
  const g = spec.geometry;
  const segments = segmentCount(spec.size, g.segmentSize);
  const problems: ShardProblem[] = [];
  const tried = spec.copies.map(() => 0); // next copy to try, per shard
  const active: ShardStream[] = [];

  const frameAt = (s: number): number => pieceLength(spec.size, s, g) + TAG_BYTES;

  /** Takes a stream out of use (once) and reports why. */
  const drop = async (stream: ShardStream, err: unknown): Promise<void> => {
    const at = active.indexOf(stream);
    if (at < 0) return;
    active.splice(at, 1);
    problems.push({
      index: stream.index,
      location: stream.location,
      kind: problemKind(err),
      message: (err as Error).message,
    });
    await stream.close();
  };

  const inUse = (index: number, also: readonly ShardStream[]): boolean =>
    active.some((a) => a.index === index) || also.some((a) => a.index === index);
  /** Whether shard `index` has a copy left to try (optional copies only when asked). */
  const untried = (index: number, optional: boolean): boolean => {
    const copy = spec.copies[index]![tried[index]!];
    return copy !== undefined && (optional || !copy.optional);
  };

  /**
   * Opens `need` shards not in use, each advanced to segment `upTo`: the lowest shards that
   * have a copy left (the data shards first, so nothing needs rebuilding), all at once, so
   * the locations' latencies overlap; a shard whose copies all fail gives way to the next.
   * Optional copies only once no other copy of any shard is left.
   */
  const openReplacements = async (need: number, upTo: number): Promise<ShardStream[]> => {
    const opened: ShardStream[] = [];
    for (const optional of [false, true]) {
      for (;;) {
        const want = need - opened.length;
        if (want <= 0) return opened;
        const candidates: number[] = [];
        for (let index = 0; index < g.total && candidates.length < want; index++) {
          if (!inUse(index, opened) && spec.keys[index] && untried(index, optional)) candidates.push(index);
        }
        if (candidates.length === 0) break;
        const got = await Promise.all(candidates.map((index) => openCopyOf(index, upTo, optional)));
        for (const stream of got) if (stream) opened.push(stream);
      }
    }
    return opened;
  };
  /** The first copy of shard `index` that opens, tried in order; optional copies only when asked. */
  const openCopyOf = async (index: number, upTo: number, optional: boolean): Promise<ShardStream | null> => {
    while (untried(index, optional)) {
      const copy = spec.copies[index]![tried[index]!]!;
      tried[index]!++;
      let stream: ShardStream | null = null;
      try {
        stream = new ShardStream(
          await withTimeout(copy.node.get(copy.path), `shard ${index} on ${copy.location}`),
          index,
          copy.location,
        );
        const header = await stream.read(spec.headers[index]!.length);
        onRead?.(copy);
        if (!equalBytes(header, spec.headers[index]!))
          throw new CorruptError(`shard ${index} on ${copy.location} has a foreign header`);
        stream.digest = new ShardDigest(header);
        for (let s = 0; s < upTo; s++) {
          const frame = await stream.read(frameAt(s));
          openFrame(spec.keys[index]!, s, s === segments - 1, frame, header);
          stream.digest.frame(frame);
        }
        return stream;
      } catch (err) {
        await stream?.close();
        // An optional copy that is not there (or whose location is not) was never known to be.
        if (copy.optional && problemKind(err) !== 'corrupt') continue;
        problems.push({ index, location: copy.location, kind: problemKind(err), message: (err as Error).message });
      }
    }
    return null;
  };

  const opener = createOpener(
    {
      data: g.data,
      total: g.total,
      size: spec.size,
      segmentSize: g.segmentSize,
      keys: spec.keys,
      headers: spec.headers,
    },
    segments,
  );
  // Frame buffers come back from the opener once opened, and take the next frames: no
  // allocation (and no page faults or garbage) per frame.
  const freeFrames: Uint8Array[] = [];
  const frameBuffer = (length: number): Uint8Array => {
    const at = freeFrames.findIndex((b) => b.length === length);
    return at < 0 ? ownBuffer(length) : freeFrames.splice(at, 1)[0]!;
  };
  // Likewise the pieces, once the sink has written them: the opener decrypts into them again.
  let freePieces: Uint8Array[] = [];
  let pending: PendingSegment[] = [];
  let next = 0; // the next segment to read
  let written = 0;

  const take = (segment: PendingSegment, stream: ShardStream, frame: Uint8Array): void => {
    stream.digest!.frame(frame);
    segment.streams.push(stream);
    segment.frames.push(frame);
  };

  const forget = (segment: PendingSegment, keep: (stream: ShardStream, position: number) => boolean): void => {
    const kept = segment.streams.map((stream, position) => keep(stream, position));
    segment.frames = segment.frames.filter((_, position) => kept[position]);
    segment.streams = segment.streams.filter((_, position) => kept[position]);
  };

  const submit = (segment: PendingSegment): void => {
    const frames = segment.frames;
    segment.frames = []; // they belong to the opener now (and may move to its thread)
    const spares = freePieces;
    freePieces = [];
    const job = { segment: segment.index, indices: segment.streams.map((s) => s.index), frames, spares };
    // Handed over on the next turn of the event loop, in order: an opener on this thread
    // (small files) then decrypts while the reads of the next segment, started meanwhile,
    // are in flight, instead of before they start.
    segment.opening = new Promise<void>((resolve) => setImmediate(resolve)).then(() => opener.open(job));
    segment.opening.catch(() => undefined); // awaited in order; never unhandled meanwhile
  };

  /**
   * Hands an opened segment to the sink, in order; the opener hashed it (it was next). Up to
   * two writes are queued, so reading goes on while one is written.
   */
  let releasing: Promise<void>[] = [];
  const release = async (segment: PendingSegment, opened: Opened): Promise<void> => {
    // Released in order, so the opener had every segment before this one: never unhashed.
    if (!opened.hashed) throw new Error(`segment ${segment.index} was not hashed`);
    if (releasing.length >= 2) await releasing.shift();
    const length = segmentLength(spec.size, segment.index, g.segmentSize);
    written += length;
    const done = written;
    const before = releasing[releasing.length - 1];
    const writing = (async () => {
      await before;
      await sink({ index: segment.index, last: segment.last, length, pieces: opened.pieces });
      freePieces.push(...opened.pieces);
      onProgress?.(done);
    })();
    writing.catch(() => undefined); // awaited in order, here and at the end
    releasing.push(writing);
  };
  const released = async (): Promise<void> => {
    const all = releasing;
    releasing = [];
    for (const r of all) await r;
  };

  /** Reads the next segment's frames from every active stream; false if one failed. */
  const readNext = async (): Promise<boolean> => {
    const segment: PendingSegment = {
      index: next,
      last: next === segments - 1,
      streams: [],
      frames: [],
      opening: null,
    };
    next++;
    pending.push(segment);
    // The k streams are read at once, so their locations' latencies overlap.
    const reading = [...active];
    const length = frameAt(segment.index);
    const frames = await Promise.allSettled(reading.map((stream) => stream.read(length, frameBuffer(length))));
    let complete = true;
    for (const [i, stream] of reading.entries()) {
      const read = frames[i]!;
      if (read.status === 'fulfilled') take(segment, stream, read.value);
      else {
        complete = false;
        await drop(stream, read.reason);
      }
    }
    return complete;
  };

  /**
   * After a failure (or at the start): lets the opener finish what it holds, releasing the
   * segments that opened before the first failure; drops the copies whose frames failed; and
   * brings the active streams back to k, each replacement caught up to the first segment not
   * released and then read for every pending one. Afterwards every pending segment holds one
   * frame from each active stream, none of them with the opener.
   */
  const recover = async (): Promise<void> => {
    const left: PendingSegment[] = [];
    for (const segment of pending) {
      if (!segment.opening) {
        left.push(segment);
        continue;
      }
      const result = await segment.opening;
      segment.opening = null;
      segment.frames = result.frames;
      if (result.kind === 'opened') {
        if (left.length === 0) {
          freeFrames.push(...segment.frames);
          segment.frames = [];
          await release(segment, result);
          continue;
        }
        // Opened (not hashed) after one that failed: read again after that one (rare).
        freePieces.push(...result.pieces);
      } else {
        for (const f of result.failures) {
          const stream = segment.streams[f.position]!;
          await drop(stream, f.code === 'corrupt' ? new CorruptError(f.message) : new Error(f.message));
        }
        const failed = new Set(result.failures.map((f) => f.position));
        forget(segment, (_, position) => !failed.has(position));
      }
      left.push(segment);
    }
    pending = left;
    // Frames of copies out of use are not used even where they would open: every pending
    // segment then lacks the same shards, and one replacement fills all of them.
    for (const segment of pending) forget(segment, (stream) => active.includes(stream));
    while (active.length < g.data) {
      const streams = await openReplacements(g.data - active.length, pending[0]?.index ?? next);
      if (streams.length === 0) {
        throw new ShardvaultError(
          'unavailable',
          `not enough good shards to read the file: ${active.length} of the ${g.data} needed (${problems.length} failed)`,
        );
      }
      for (const stream of streams) {
        active.push(stream);
        for (const segment of pending) {
          try {
            take(segment, stream, await stream.read(frameAt(segment.index)));
          } catch (err) {
            await drop(stream, err);
            for (const s of pending) forget(s, (st) => st !== stream);
            break;
          }
        }
      }
    }
  };

  try {
    while (next < segments || pending.length > 0) {
      if (next < segments && pending.length < READ_AHEAD) {
        if (active.length < g.data || !(await readNext())) await recover();
        for (const segment of pending) if (!segment.opening) submit(segment);
        continue;
      }
      const oldest = pending[0]!;
      const result = await oldest.opening!;
      if (result.kind === 'opened') {
        pending.shift();
        freeFrames.push(...result.frames);
        await release(oldest, result);
      } else {
        await recover();
        for (const segment of pending) if (!segment.opening) submit(segment);
      }
    }
    await released();
    for (const stream of active) {
      // Every frame authenticated; trailing bytes or a hash mismatch mean a damaged copy
      // worth reporting (verify/repair fix it), not a wrong file.
      if (!(await stream.atEnd())) {
        problems.push({
          index: stream.index,
          location: stream.location,
          kind: 'corrupt',
          message: 'trailing bytes after the last frame',
        });
      } else if (stream.digest!.hex() !== spec.shardDigests[stream.index]) {
        problems.push({
          index: stream.index,
          location: stream.location,
          kind: 'corrupt',
          message: 'stored bytes differ from the manifest hash',
        });
      }
    }
    const opened = await opener.finish();
    if (written !== spec.size || opened.segments !== segments || opened.sha256 !== spec.sha256) {
      throw new CorruptError('the rebuilt file does not match its recorded SHA-256; nothing was written');
    }
  } finally {
    await Promise.allSettled(releasing);
    await Promise.all(active.map((a) => a.close()));
    await opener.close();
  }
  return problems;
}

/**
 * Rebuilds shards from any k good ones: decodes each segment, re-encodes it, and seals the
 * wanted pieces again under their own keys with the same frame nonces. The same key, nonce
 * and plaintext give the same ciphertext, so the rebuilt bytes equal the originals and
 * match the manifest's hashes (checked before anything is renamed into place).
 */
export async function rebuildShards(
  spec: ReadSpec,
  targets: readonly ShardTarget[],
  onProgress?: (bytes: number) => void,
): Promise<ShardProblem[]> {
  const g = spec.geometry;
  const rs = new ReedSolomon(g.data, g.total);
  const wanted = [...new Set(targets.map((t) => t.index))];
  for (const j of wanted) if (!spec.keys[j]) throw new CorruptError(`shard ${j}'s key can't be unwrapped`);
  const channels = targets.map(() => new Channel(4));
  const { uploads, cause } = startUploads(targets, channels);
  const digests = new Map(wanted.map((j) => [j, new ShardDigest(spec.headers[j]!)]));
  const send = async (j: number, ...parts: Uint8Array[]): Promise<void> => {
    for (const bytes of parts) {
      await Promise.all(channels.filter((_, i) => targets[i]!.index === j).map((c) => c.push(bytes)));
    }
  };
  try {
    for (const j of wanted) await send(j, spec.headers[j]!);
    const problems = await readShards(
      spec,
      async (segment) => {
        const pieces = [...segment.pieces];
        const all = wanted.some((j) => j >= g.data) ? [...pieces, ...rs.encode(pieces)] : pieces;
        for (const j of wanted) {
          const [body, tag] = sealFrameParts(spec.keys[j]!, segment.index, segment.last, all[j]!, spec.headers[j]!);
          digests.get(j)!.frame(tag);
          await send(j, body, tag);
        }
      },
      { onProgress },
    );
    for (const j of wanted) {
      if (digests.get(j)!.hex() !== spec.shardDigests[j]) {
        throw new CorruptError(`rebuilt shard ${j} does not match its recorded hash`);
      }
    }
    channels.forEach((c) => c.close());
    await Promise.all(uploads);
    return problems;
  } catch (err) {
    const reason = err instanceof Error ? err : new Error(String(err));
    channels.forEach((c) => c.abort(reason));
    await Promise.allSettled(uploads);
    throw cause() ?? err;
  }
}
