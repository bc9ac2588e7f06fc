/**
 * Get: frames are read from k shards at a time, authenticated, decoded and handed to a sink
 * (files.ts writes them to a temporary file that becomes the output only after the
 * whole-file SHA-256 matches). Memory is a few segments, whatever the file size.
 */
import { TAG_BYTES } from '../../crypto/aead';
import { equalBytes } from '../../crypto/bytes';
import { openFrame } from '../../crypto/stream';
import { CorruptError, OfflineError, ShardvaultError } from '../../errors';
import type { StorageNode } from '../../storage/node';
import { createOpener } from '../open-pool';
import { plainParts, segmentCount, segmentLength, ownBuffer, type OpenResult } from '../open-segment';
import { ShardDigest } from './digest';
import { pieceLength, type Geometry } from './geometry';
import { ShardStream, withTimeout } from './shard-stream';

type Opened = Extract<OpenResult, { kind: 'opened' }>;

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

/** What a failed read of a copy says of it: missing, corrupt, or (anything else) offline. */
export function problemKind(err: unknown): ShardProblem['kind'] {
  if (err instanceof ShardvaultError) {
    if (err.code === 'not-found') return 'missing';
    if (err.code === 'corrupt') return 'corrupt';
  }
  return 'offline';
}

/**
 * One segment as decoded: its k data pieces (zero-padded as coded) and its true length. The
 * pieces are the sink's until its promise resolves; their buffers (the frames they were
 * decrypted in) are then read into again, so a sink that hands them on to be used later (a
 * queue, a channel) must copy them (policy-change.ts).
 */
export interface DecodedSegment {
  readonly index: number;
  readonly last: boolean;
  readonly length: number;
  readonly pieces: readonly Uint8Array[];
}

/** The segment's bytes, padding dropped, as views of its pieces. */
export function segmentBytes(segment: DecodedSegment): Uint8Array[] {
  return plainParts(segment.pieces, segment.length);
}

/** Segments read ahead of the one released: the opener works on some while the next are read. */
const READ_AHEAD = 3;

/**
 * A segment read but not yet released: its frames (unverified) and the streams they came
 * from. A frame the opener already opened (in place) while another of the segment failed
 * holds its piece now: `plain`, by position, so it is not decrypted again.
 */
interface PendingSegment {
  readonly index: number;
  readonly last: boolean;
  streams: ShardStream[];
  frames: Uint8Array[];
  plain: boolean[];
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
  return new ShardRead(spec, sink, events).run();
}

/**
 * One read of a file (readShards): the state it keeps between the reads, the opener and the
 * sink, each field saying what it holds. Used once.
 */
class ShardRead {
  private readonly g: Geometry;
  /** Segments in the file. */
  private readonly segments: number;
  /** Every copy that failed, in the order it failed: the caller's report. */
  private readonly problems: ShardProblem[] = [];
  /** The next copy to try, per shard (an index into spec.copies[shard]). */
  private readonly tried: number[];
  /** The streams read from now, k of them once recovered: each at the first segment not read. */
  private readonly active: ShardStream[] = [];
  /** Authenticates, decrypts, rebuilds and hashes segments, in order (open-pool.ts). */
  private readonly opener: ReturnType<typeof createOpener>;
  /** Frame buffers written out (their pieces) or dropped, to take the next frames: no allocation per frame. */
  private readonly freeFrames: Uint8Array[] = [];
  /** Segments read but not released, in order (at most READ_AHEAD). */
  private pending: PendingSegment[] = [];
  /** The next segment to read. */
  private next = 0;
  /** Bytes of the file given to the sink so far. */
  private written = 0;
  /** Writes to the sink under way, in order (at most two queued). */
  private releasing: Promise<void>[] = [];

  constructor(
    private readonly spec: ReadSpec,
    private readonly sink: (segment: DecodedSegment) => Promise<void>,
    private readonly events: ReadEvents,
  ) {
    this.g = spec.geometry;
    this.segments = segmentCount(spec.size, this.g.segmentSize);
    this.tried = spec.copies.map(() => 0);
    this.opener = createOpener(
      {
        data: this.g.data,
        total: this.g.total,
        size: spec.size,
        segmentSize: this.g.segmentSize,
        keys: spec.keys,
        headers: spec.headers,
      },
      this.segments,
    );
  }

  async run(): Promise<ShardProblem[]> {
    const { spec, g, segments, problems, active, opener } = this;
    try {
      while (this.next < segments || this.pending.length > 0) {
        if (this.next < segments && this.pending.length < READ_AHEAD) {
          if (active.length < g.data || !(await this.readNext())) await this.recover();
          this.submitWaiting();
          continue;
        }
        const oldest = this.pending[0]!;
        const result = await oldest.opening!;
        if (result.kind === 'opened') {
          this.pending.shift();
          await this.release(oldest, result);
        } else {
          await this.recover();
          this.submitWaiting();
        }
      }
      await this.released();
      for (const stream of active) {
        // Every frame authenticated; trailing bytes or a hash mismatch mean a damaged copy
        // worth reporting (verify/repair fix it), not a wrong file, and so does a location that
        // stalls before its end of stream (offline): the file is whole, nothing waits for ever.
        const ended = await stream.atEnd().catch((err: unknown) => {
          if (!(err instanceof OfflineError)) throw err;
          problems.push({ index: stream.index, location: stream.location, kind: 'offline', message: err.message });
          return null;
        });
        if (ended === null) continue;
        if (!ended) {
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
      if (this.written !== spec.size || opened.segments !== segments || opened.sha256 !== spec.sha256) {
        throw new CorruptError('the rebuilt file does not match its recorded SHA-256; nothing was written');
      }
    } finally {
      await Promise.allSettled(this.releasing);
      await Promise.all(active.map((a) => a.close()));
      await opener.close();
    }
    return problems;
  }

  private frameAt(s: number): number {
    return pieceLength(this.spec.size, s, this.g) + TAG_BYTES;
  }

  /** Takes a stream out of use (once) and reports why. */
  private async drop(stream: ShardStream, err: unknown): Promise<void> {
    const at = this.active.indexOf(stream);
    if (at < 0) return;
    this.active.splice(at, 1);
    this.problems.push({
      index: stream.index,
      location: stream.location,
      kind: problemKind(err),
      message: (err as Error).message,
    });
    await stream.close();
  }

  private inUse(index: number, also: readonly ShardStream[]): boolean {
    return this.active.some((a) => a.index === index) || also.some((a) => a.index === index);
  }

  /** Whether shard `index` has a copy left to try (optional copies only when asked). */
  private untried(index: number, optional: boolean): boolean {
    const copy = this.spec.copies[index]![this.tried[index]!];
    return copy !== undefined && (optional || !copy.optional);
  }

  /**
   * Opens `need` shards not in use, each advanced to segment `upTo`: the lowest shards that
   * have a copy left (the data shards first, so nothing needs rebuilding), all at once, so
   * the locations' latencies overlap; a shard whose copies all fail gives way to the next.
   * Optional copies only once no other copy of any shard is left.
   */
  private async openReplacements(need: number, upTo: number): Promise<ShardStream[]> {
    const opened: ShardStream[] = [];
    for (const optional of [false, true]) {
      for (;;) {
        const want = need - opened.length;
        if (want <= 0) return opened;
        const candidates: number[] = [];
        for (let index = 0; index < this.g.total && candidates.length < want; index++) {
          if (!this.inUse(index, opened) && this.spec.keys[index] && this.untried(index, optional))
            candidates.push(index);
        }
        if (candidates.length === 0) break;
        const got = await Promise.all(candidates.map((index) => this.openCopyOf(index, upTo, optional)));
        for (const stream of got) if (stream) opened.push(stream);
      }
    }
    return opened;
  }

  /** The first copy of shard `index` that opens, tried in order; optional copies only when asked. */
  private async openCopyOf(index: number, upTo: number, optional: boolean): Promise<ShardStream | null> {
    const { spec } = this;
    while (this.untried(index, optional)) {
      const copy = spec.copies[index]![this.tried[index]!]!;
      this.tried[index]!++;
      let stream: ShardStream | null = null;
      try {
        stream = new ShardStream(
          await withTimeout(copy.node.get(copy.path), `shard ${index} on ${copy.location}`),
          index,
          copy.location,
        );
        const header = await stream.read(spec.headers[index]!.length);
        this.events.onRead?.(copy);
        if (!equalBytes(header, spec.headers[index]!))
          throw new CorruptError(`shard ${index} on ${copy.location} has a foreign header`);
        stream.digest = new ShardDigest(header);
        for (let s = 0; s < upTo; s++) {
          const frame = await stream.read(this.frameAt(s));
          openFrame(spec.keys[index]!, s, s === this.segments - 1, frame, header);
          stream.digest.frame(frame);
        }
        return stream;
      } catch (err) {
        await stream?.close();
        // An optional copy that is not there (or whose location is not) was never known to be.
        if (copy.optional && problemKind(err) !== 'corrupt') continue;
        this.problems.push({ index, location: copy.location, kind: problemKind(err), message: (err as Error).message });
      }
    }
    return null;
  }

  /** A frame buffer of `length` bytes: one the opener gave back, else a new one. */
  private frameBuffer(length: number): Uint8Array {
    const at = this.freeFrames.findIndex((b) => b.length === length);
    return at < 0 ? ownBuffer(length) : this.freeFrames.splice(at, 1)[0]!;
  }

  private take(segment: PendingSegment, stream: ShardStream, frame: Uint8Array): void {
    stream.digest!.frame(frame);
    segment.streams.push(stream);
    segment.frames.push(frame);
    segment.plain.push(false);
  }

  private forget(segment: PendingSegment, keep: (stream: ShardStream, position: number) => boolean): void {
    const kept = segment.streams.map((stream, position) => keep(stream, position));
    for (const [position, frame] of segment.frames.entries()) if (!kept[position]) this.freeFrames.push(frame);
    segment.frames = segment.frames.filter((_, position) => kept[position]);
    segment.streams = segment.streams.filter((_, position) => kept[position]);
    segment.plain = segment.plain.filter((_, position) => kept[position]);
  }

  /** Hands every pending segment the opener does not hold yet to it, in order. */
  private submitWaiting(): void {
    for (const segment of this.pending) if (!segment.opening) this.submit(segment);
  }

  private submit(segment: PendingSegment): void {
    const frames = segment.frames;
    segment.frames = []; // they belong to the opener now (and may move to its thread)
    const plain = segment.plain.some(Boolean) ? segment.plain : undefined;
    const job = { segment: segment.index, indices: segment.streams.map((s) => s.index), frames, plain };
    // Handed over on the next turn of the event loop, in order: an opener on this thread
    // (small files) then decrypts while the reads of the next segment, started meanwhile,
    // are in flight, instead of before they start.
    segment.opening = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.opener.open(job));
    segment.opening.catch(() => undefined); // awaited in order; never unhandled meanwhile
  }

  /**
   * Hands an opened segment to the sink, in order; the opener hashed it (it was next). Up to
   * two writes are queued, so reading goes on while one is written.
   */
  private async release(segment: PendingSegment, opened: Opened): Promise<void> {
    // Released in order, so the opener had every segment before this one: never unhashed.
    if (!opened.hashed) throw new Error(`segment ${segment.index} was not hashed`);
    if (this.releasing.length >= 2) await this.releasing.shift();
    const length = segmentLength(this.spec.size, segment.index, this.g.segmentSize);
    this.written += length;
    const done = this.written;
    const before = this.releasing[this.releasing.length - 1];
    const writing = (async () => {
      await before;
      await this.sink({ index: segment.index, last: segment.last, length, pieces: opened.pieces });
      // The pieces were views of these frames (or, rebuilt, of their own): written, so free.
      this.freeFrames.push(...opened.frames);
      this.events.onProgress?.(done);
    })();
    writing.catch(() => undefined); // awaited in order, here and at the end
    this.releasing.push(writing);
  }

  private async released(): Promise<void> {
    const all = this.releasing;
    this.releasing = [];
    for (const r of all) await r;
  }

  /** Reads the next segment's frames from every active stream; false if one failed. */
  private async readNext(): Promise<boolean> {
    const segment: PendingSegment = {
      index: this.next,
      last: this.next === this.segments - 1,
      streams: [],
      frames: [],
      plain: [],
      opening: null,
    };
    this.next++;
    this.pending.push(segment);
    // The k streams are read at once, so their locations' latencies overlap.
    const reading = [...this.active];
    const length = this.frameAt(segment.index);
    const frames = await Promise.allSettled(reading.map((stream) => stream.read(length, this.frameBuffer(length))));
    let complete = true;
    for (const [i, stream] of reading.entries()) {
      const read = frames[i]!;
      if (read.status === 'fulfilled') this.take(segment, stream, read.value);
      else {
        complete = false;
        await this.drop(stream, read.reason);
      }
    }
    return complete;
  }

  /**
   * After a failure (or at the start): lets the opener finish what it holds, releasing the
   * segments that opened before the first failure; drops the copies whose frames failed; and
   * brings the active streams back to k, each replacement caught up to the first segment not
   * released and then read for every pending one. Afterwards every pending segment holds one
   * frame from each active stream, none of them with the opener.
   */
  private async recover(): Promise<void> {
    const left: PendingSegment[] = [];
    for (const segment of this.pending) {
      if (!segment.opening) {
        left.push(segment);
        continue;
      }
      const result = await segment.opening;
      segment.opening = null;
      segment.frames = result.frames;
      if (result.kind === 'opened') {
        if (left.length === 0) {
          segment.frames = [];
          await this.release(segment, result);
          continue;
        }
        // Opened (not hashed) after one that failed: given again after that one (rare), its
        // frames already holding their pieces.
        segment.plain = segment.frames.map(() => true);
      } else {
        segment.plain = result.plain;
        for (const f of result.failures) {
          const stream = segment.streams[f.position]!;
          await this.drop(stream, f.code === 'corrupt' ? new CorruptError(f.message) : new Error(f.message));
        }
        const failed = new Set(result.failures.map((f) => f.position));
        this.forget(segment, (_, position) => !failed.has(position));
      }
      left.push(segment);
    }
    this.pending = left;
    const { active, pending, g } = this;
    // Frames of copies out of use are not used even where they would open: every pending
    // segment then lacks the same shards, and one replacement fills all of them.
    for (const segment of pending) this.forget(segment, (stream) => active.includes(stream));
    while (active.length < g.data) {
      const streams = await this.openReplacements(g.data - active.length, pending[0]?.index ?? this.next);
      if (streams.length === 0) {
        throw new ShardvaultError(
          'unavailable',
          `not enough good shards to read the file: ${active.length} of the ${g.data} needed (${this.problems.length} failed)`,
        );
      }
      for (const stream of streams) {
        active.push(stream);
        for (const segment of pending) {
          try {
            this.take(segment, stream, await stream.read(this.frameAt(segment.index)));
          } catch (err) {
            await this.drop(stream, err);
            for (const s of pending) this.forget(s, (st) => st !== stream);
            break;
          }
        }
      }
    }
  }
}
