/**
 * Get: frames are read from k shards at a time, authenticated, decoded and handed to a sink
 * (files.ts writes them to a temporary file that becomes the output only after the
 * whole-file SHA-256 matches). Memory is a few segments, whatever the file size.
 */
import { TAG_BYTES } from '../../crypto/aead';
import { equalBytes } from '../../crypto/bytes';
import { openFrame } from '../../crypto/stream';
import { CorruptError, ShardvaultError } from '../../errors';
import type { StorageNode } from '../../storage/node';
import { createOpener } from '../open-pool';
import { segmentCount, segmentLength, ownBuffer, type OpenResult } from '../open-segment';
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
