/** The shape of a stored file: segments of the file, pieces of a segment, frames of a shard. */
import { TAG_BYTES } from '../../crypto/aead';
import { segmentCount } from '../open-segment';

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

/** Bytes of the sealed frame of a whole segment (every segment but the last is whole). */
export function fullFrameBytes(g: Geometry): number {
  return Math.ceil(g.segmentSize / g.data) + TAG_BYTES;
}

/** Bytes of a stored shard: header plus one sealed frame per segment. */
export function shardSize(size: number, g: Geometry, headerBytes: number): number {
  const segments = segmentCount(size, g.segmentSize);
  const last = pieceLength(size, segments - 1, g) + TAG_BYTES;
  return headerBytes + (segments - 1) * fullFrameBytes(g) + last;
}
