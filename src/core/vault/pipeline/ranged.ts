/**
 * A read that starts in the middle of a file (the drive's Range requests): the frames of
 * segment `from` onward, each fetched with `readRange` at the offset the geometry gives it,
 * so a request for the last megabyte of a large file reads about k frames per segment it
 * covers, not every frame before it.
 *
 * What it checks: each frame authenticates under its shard key, with the frame's index and
 * the shard's header (from the manifest, sealed under the vault key) as associated data, so a
 * location cannot pass off another frame, another shard or another file's bytes. What it
 * cannot check is the whole-file SHA-256: that needs every segment from the first, which
 * `readShards` (read.ts) reads when a read starts at byte 0. docs/SECURITY.md says so.
 */
import { TAG_BYTES } from '../../crypto/aead';
import { CorruptError } from '../../errors';
import { SegmentOpener, segmentCount, segmentLength } from '../open-segment';
import { fullFrameBytes, pieceLength } from './geometry';
import {
  problemKind,
  type DecodedSegment,
  type ReadEvents,
  type ReadSpec,
  type ShardCopy,
  type ShardProblem,
} from './read';
import { withTimeout } from './shard-stream';

/** Where segment `s`'s frame of shard `index` starts: its header, then every full frame before. */
export function frameOffset(spec: ReadSpec, index: number, s: number): number {
  return spec.headers[index]!.length + s * fullFrameBytes(spec.geometry);
}

/**
 * Streams segments `from` … last of the file to `sink`, each authenticated before it is
 * given. A copy whose frame is missing, fails authentication or does not answer is dropped
 * (its problem returned) and the segment read again from another copy or another shard; the
 * read fails once fewer than k shards are left. A sink that throws ends the read with its
 * error (the drive's ReadEnough). The whole-file hash is not checked (see above).
 */
export async function readSegmentsFrom(
  spec: ReadSpec,
  from: number,
  sink: (segment: DecodedSegment) => Promise<void>,
  events: ReadEvents = {},
): Promise<ShardProblem[]> {
  const g = spec.geometry;
  const segments = segmentCount(spec.size, g.segmentSize);
  if (!Number.isSafeInteger(from) || from < 0 || from >= segments) throw new RangeError(`no segment ${from}`);
  const problems: ShardProblem[] = [];
  const tried = spec.copies.map(() => 0); // next copy to try, per shard
  const chosen = new Map<number, ShardCopy>(); // shard index → the copy read from now

  const untried = (index: number, optional: boolean): boolean => {
    const copy = spec.copies[index]![tried[index]!];
    return copy !== undefined && (optional || !copy.optional);
  };
  /** Brings the chosen copies back to k: the lowest shards first (nothing to rebuild), optional copies last. */
  const choose = (): void => {
    for (const optional of [false, true]) {
      for (let index = 0; index < g.total && chosen.size < g.data; index++) {
        if (chosen.has(index) || !spec.keys[index]) continue;
        if (untried(index, optional)) {
          chosen.set(index, spec.copies[index]![tried[index]!]!);
          tried[index]!++;
        }
      }
    }
    if (chosen.size < g.data) {
      const seen = problems.map((p) => `shard ${p.index} on ${p.location}: ${p.message}`).join('; ');
      throw new CorruptError(
        `only ${chosen.size} of the ${g.data} shards needed are readable from segment ${from}${seen ? ` (${seen})` : ''}`,
      );
    }
  };
  const fail = (index: number, copy: ShardCopy, err: unknown): void => {
    chosen.delete(index);
    // An optional copy that is not there was never known to be; a corrupt one is a problem.
    if (copy.optional && problemKind(err) !== 'corrupt') return;
    problems.push({ index, location: copy.location, kind: problemKind(err), message: (err as Error).message });
  };

  const opener = new SegmentOpener({
    data: g.data,
    total: g.total,
    size: spec.size,
    segmentSize: g.segmentSize,
    keys: spec.keys,
    headers: spec.headers,
  });
  const used = new Set<ShardCopy>();

  /** The k frames of segment `s`, authenticated and decoded; copies that fail are replaced. */
  const readSegment = async (s: number): Promise<DecodedSegment> => {
    const length = pieceLength(spec.size, s, g) + TAG_BYTES;
    for (;;) {
      choose();
      const reading = [...chosen.entries()];
      const got = await Promise.allSettled(
        reading.map(([index, copy]) =>
          withTimeout(
            copy.node.readRange(copy.path, frameOffset(spec, index, s), length),
            `shard ${index} on ${copy.location}`,
          ),
        ),
      );
      let complete = true;
      for (const [i, [index, copy]] of reading.entries()) {
        const r = got[i]!;
        if (r.status === 'rejected') {
          complete = false;
          fail(index, copy, r.reason);
        } else if (r.value.length !== length) {
          complete = false;
          fail(index, copy, new CorruptError(`shard ${index} on ${copy.location} is truncated`));
        }
      }
      if (!complete) continue;
      const frames = got.map((r) => (r as PromiseFulfilledResult<Uint8Array>).value);
      const result = opener.open({ segment: s, indices: reading.map(([index]) => index), frames });
      if (result.kind === 'failed') {
        for (const f of result.failures) {
          const [index, copy] = reading[f.position]!;
          fail(index, copy, new CorruptError(f.message));
        }
        continue;
      }
      for (const [, copy] of reading) {
        if (!used.has(copy)) {
          used.add(copy);
          events.onRead?.(copy);
        }
      }
      return {
        index: s,
        last: s === segments - 1,
        length: segmentLength(spec.size, s, g.segmentSize),
        pieces: result.pieces,
      };
    }
  };

  // One segment read ahead: the next one's frames are in flight while this one is written.
  let ahead: Promise<DecodedSegment> = readSegment(from);
  let done = 0;
  for (let s = from; s < segments; s++) {
    const segment = await ahead;
    if (s + 1 < segments) {
      ahead = readSegment(s + 1);
      ahead.catch(() => undefined); // awaited on the next turn, or dropped if the sink stops
    }
    await sink(segment);
    done += segment.length;
    events.onProgress?.(done);
  }
  return problems;
}
