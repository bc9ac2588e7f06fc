/**
 * The CPU-heavy step of a put, for one segment: cut into k pieces, Reed-Solomon-code to n,
 * seal each piece as a STREAM frame under its shard's key. Pure, so it runs the same on the
 * main thread or in the seal worker (seal-worker.ts), which lets a put use both cores.
 */
import { sealFrameParts } from '../crypto/stream';
import { ReedSolomon } from '../erasure/reed-solomon';
import { ownBuffer } from './open-segment';

export interface SealFile {
  readonly data: number;
  readonly total: number;
  readonly keys: readonly Uint8Array[];
  readonly headers: readonly Uint8Array[];
}

export interface SealedSegment {
  readonly bodies: Uint8Array[];
  readonly tags: Uint8Array[];
}

/** Splits a segment into k equal pieces, the last zero-padded. Full pieces are views, not copies. */
export function splitSegment(segment: Uint8Array, data: number): Uint8Array[] {
  const length = Math.ceil(segment.length / data);
  return Array.from({ length: data }, (_, i) => {
    const start = i * length;
    if (start + length <= segment.length) return segment.subarray(start, start + length);
    const piece = new Uint8Array(length);
    if (start < segment.length) piece.set(segment.subarray(start));
    return piece;
  });
}

export class SegmentSealer {
  private readonly rs: ReedSolomon;
  /** The parity pieces of the last segment: only sealed from, so the next segment's parity
   * is coded into them (every byte is written) instead of into new zeroed memory. */
  private parity: Uint8Array[] = [];

  constructor(private readonly file: SealFile) {
    this.rs = new ReedSolomon(file.data, file.total);
  }

  seal(segment: Uint8Array, index: number, last: boolean): SealedSegment {
    const pieces = splitSegment(segment, this.file.data);
    const all = this.file.total > this.file.data ? [...pieces, ...this.encode(pieces)] : pieces;
    const bodies: Uint8Array[] = [];
    const tags: Uint8Array[] = [];
    all.forEach((piece, j) => {
      const [body, tag] = sealFrameParts(this.file.keys[j]!, index, last, piece, this.file.headers[j]!);
      bodies.push(body);
      tags.push(tag);
    });
    return { bodies, tags };
  }

  private encode(pieces: readonly Uint8Array[]): Uint8Array[] {
    const length = pieces[0]!.length;
    if (this.parity[0]?.length !== length) {
      this.parity = Array.from({ length: this.file.total - this.file.data }, () => ownBuffer(length));
    }
    return this.rs.encode(pieces, this.parity);
  }
}
