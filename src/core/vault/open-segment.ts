/**
 * The CPU-heavy step of a get, for one segment: authenticate and decrypt its k frames, rebuild
 * missing data pieces with Reed-Solomon, and fold the segment's bytes into the whole-file
 * SHA-256 (FileHasher) when it comes in order. Pure, so the same code runs on the main thread
 * or in the worker thread (seal-worker.ts, through open-pool.ts), which lets a get use both
 * cores.
 */
import { createDecipheriv, createHash, type Hash } from 'node:crypto';
import { TAG_BYTES } from '../crypto/aead';
import { frameNonce } from '../crypto/stream';
import { ReedSolomon } from '../erasure/reed-solomon';
import { CorruptError, ShardvaultError } from '../errors';

export interface OpenFile {
  readonly data: number;
  readonly total: number;
  readonly size: number;
  readonly segmentSize: number;
  /** Per shard; null where the key couldn't be unwrapped (no frame of it may be given). */
  readonly keys: readonly (Uint8Array | null)[];
  readonly headers: readonly Uint8Array[];
}

/** One segment's frames as read: exactly k, from k different shards. */
export interface OpenJob {
  readonly segment: number;
  readonly indices: readonly number[];
  readonly frames: Uint8Array[];
  /**
   * Per frame, true where an opener that decrypts in place already opened it (an earlier
   * result that failed for another frame of the segment): its first bytes are the piece,
   * authenticated then, and it is not decrypted again.
   */
  readonly plain?: readonly boolean[];
}

export interface FrameFailure {
  /** Position in the job's frames. */
  readonly position: number;
  readonly code: string;
  readonly message: string;
}

export type OpenResult =
  /**
   * Every frame authenticated: the k data pieces, zero-padded as coded. The frames come back;
   * decrypted in place, the pieces are views of them, so a frame is free again only once its
   * piece is written out. `hashed` when the segment was also folded into the file hash, which
   * happens when it is the next one in order (see SegmentOpener.open).
   */
  | { readonly kind: 'opened'; readonly pieces: Uint8Array[]; readonly frames: Uint8Array[]; readonly hashed: boolean }
  /**
   * Some frames did not open: nothing of the segment is given out or hashed. The frames come
   * back; the ones that failed wiped, and, decrypted in place, the others now hold their
   * pieces (`plain`, by position: give them again so).
   */
  | {
      readonly kind: 'failed';
      readonly failures: FrameFailure[];
      readonly frames: Uint8Array[];
      readonly plain: boolean[];
    };

export interface OpenedFile {
  /** Segments hashed, in order from the first. */
  readonly segments: number;
  readonly sha256: string;
}

export function segmentCount(size: number, segmentSize: number): number {
  return Math.max(1, Math.ceil(size / segmentSize));
}

/** Plaintext bytes of segment `s` (its pieces without the padding). */
export function segmentLength(size: number, s: number, segmentSize: number): number {
  return Math.max(0, Math.min(segmentSize, size - s * segmentSize));
}

/**
 * Frames decrypted in place go this much at a time: each part node:crypto hands back (a new
 * buffer: it cannot decrypt into a caller's) is copied over the ciphertext it came from, which
 * was consumed already, and hashed while in cache. The parts are garbage at once; at 16 KiB
 * glibc hands the same memory out again, while parts of 64 or 256 KiB made the heap grow and
 * shrink between collections: 2.4x the page faults and ~1.7x the CPU for the same 256 MiB
 * (docs/PERFORMANCE.md, "get, fifth sitting").
 */
const CHUNK = 16 * 1024;

/**
 * Authenticates and decrypts one frame: what openFrame does (crypto/stream.ts: AES-256-GCM,
 * the STREAM nonce of frame `index`, the shard header as associated data), either in place
 * (the plaintext written over the frame's own first bytes, which the caller must own) or into
 * a new buffer, handing each decrypted part to `onPart` while it is in cache. Nothing of it
 * may be used unless this returns: the tag is checked last, and on failure the plaintext is
 * wiped and CorruptError thrown.
 */
export function openFrameInto(
  key: Uint8Array,
  index: number,
  last: boolean,
  frame: Uint8Array,
  header: Uint8Array,
  inPlace: boolean,
  onPart?: (part: Uint8Array, at: number) => void,
): Uint8Array {
  const failed = (): CorruptError => new CorruptError(`frame ${index}${last ? ' (last)' : ''} failed authentication`);
  if (frame.length < TAG_BYTES) throw failed();
  const body = frame.subarray(0, frame.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, frameNonce(index, last), { authTagLength: TAG_BYTES });
  decipher.setAAD(header);
  decipher.setAuthTag(frame.subarray(frame.length - TAG_BYTES));
  let out: Uint8Array | null = inPlace ? body : null;
  try {
    if (!inPlace) {
      const part = decipher.update(body);
      out = new Uint8Array(part.buffer, part.byteOffset, part.length);
      onPart?.(out, 0);
    } else {
      for (let at = 0; at < body.length; at += CHUNK) {
        const part = decipher.update(body.subarray(at, Math.min(body.length, at + CHUNK)));
        body.set(part, at);
        onPart?.(part, at);
      }
    }
    decipher.final();
  } catch {
    out?.fill(0);
    throw failed();
  }
  return out!;
}

export class SegmentOpener {
  private readonly rs: ReedSolomon;
  private readonly segments: number;

  /**
   * `inPlace`: each frame is decrypted over itself and its piece is a view of it: no piece
   * buffers, no copy of the plaintext, a third less fresh memory for a get (the caller must
   * own the frames: read.ts reads them into its own buffers). Else each piece is a new buffer
   * (ranged.ts: frames as a location returned them, which may be its own).
   */
  constructor(
    private readonly file: OpenFile,
    private readonly inPlace = false,
  ) {
    this.rs = new ReedSolomon(file.data, file.total);
    this.segments = segmentCount(file.size, file.segmentSize);
  }

  /**
   * Opens one segment. When `hasher` is at this segment (every one before it hashed), the
   * segment is also hashed, into a copy of the hash that replaces it only if every frame
   * opens: with every data shard there, each part as it is decrypted (still in cache); else
   * after the rebuild. A later segment is opened but not hashed, for the caller to give again
   * once the ones before it are in.
   */
  open(job: OpenJob, hasher?: FileHasher): OpenResult {
    const { data, total, keys, headers } = this.file;
    const s = job.segment;
    if (
      !Number.isInteger(s) ||
      s < 0 ||
      s >= this.segments ||
      job.frames.length !== data ||
      job.indices.length !== data ||
      new Set(job.indices).size !== data ||
      job.indices.some((j) => !Number.isInteger(j) || j < 0 || j >= total || !keys[j]) ||
      (job.plain !== undefined && (!this.inPlace || job.plain.length !== data))
    ) {
      throw new Error(`segment ${s}: expected ${data} frames of distinct shards with keys`);
    }
    const last = s === this.segments - 1;
    const length = segmentLength(this.file.size, s, this.file.segmentSize);
    const pieceBytes = Math.ceil(length / data);
    const direct = job.indices.every((j) => j < data);
    const hash = direct && hasher?.next === s ? hasher.fork() : null;
    // Data pieces in order, so a hash taken on the way sees the segment's bytes in order.
    const order = job.indices.map((j, position) => ({ j, position })).sort((a, b) => a.j - b.j);
    const pieces = new Array<Uint8Array | null>(total).fill(null);
    const plain = job.frames.map((_, position) => job.plain?.[position] === true);
    const failures: FrameFailure[] = [];
    for (const { j, position } of order) {
      const frame = job.frames[position]!;
      const wanted = Math.max(0, Math.min(pieceBytes, length - j * pieceBytes)); // padding is not hashed
      if (plain[position]) {
        // Opened by this opener for this segment, so of its length then.
        if (frame.length !== pieceBytes + TAG_BYTES) throw new Error(`segment ${s}: an opened frame of another length`);
        pieces[j] = frame.subarray(0, pieceBytes);
        if (hash && wanted > 0) hash.update(pieces[j].subarray(0, wanted));
        continue;
      }
      try {
        // A frame of another length can't be this piece (nor authenticate).
        if (frame.length !== pieceBytes + TAG_BYTES) {
          throw new CorruptError(`frame ${s}${last ? ' (last)' : ''} failed authentication`);
        }
        pieces[j] = openFrameInto(keys[j]!, s, last, frame, headers[j]!, this.inPlace, (part, at) => {
          const take = Math.min(part.length, wanted - at);
          if (hash && take > 0) hash.update(take === part.length ? part : part.subarray(0, take));
        });
        plain[position] = this.inPlace;
      } catch (err) {
        failures.push({
          position,
          code: err instanceof ShardvaultError ? err.code : 'corrupt',
          message: (err as Error).message,
        });
      }
    }
    if (failures.length > 0) return { kind: 'failed', failures, frames: job.frames, plain };
    const out = direct ? (pieces.slice(0, data) as Uint8Array[]) : this.rs.reconstructData(pieces);
    const rebuilt = !direct && hasher?.next === s ? hasher.fork() : null;
    if (rebuilt) for (const part of plainParts(out, length)) rebuilt.update(part);
    const hashed = hash ?? rebuilt;
    if (hashed) hasher!.commit(s, hashed);
    return { kind: 'opened', pieces: out, frames: job.frames, hashed: hashed !== null };
  }
}

/** The whole-file SHA-256, taken segment by segment in order (by SegmentOpener.open). */
export class FileHasher {
  private hash: Hash = createHash('sha256');
  /** The segment to hash next. */
  next = 0;

  /** A copy of the hash so far, to take segment `next` on trial. */
  fork(): Hash {
    return this.hash.copy();
  }

  /** The trial copy, now holding segment `segment`, becomes the hash. */
  commit(segment: number, hash: Hash): void {
    if (segment !== this.next) throw new Error(`segment ${segment} hashed out of order (expected ${this.next})`);
    this.hash = hash;
    this.next++;
  }

  /**
   * Folds in segment `segment`, opened (every frame authenticated), when it is the next one:
   * its `length` bytes of `pieces`, padding dropped. True if it was hashed. For an opener
   * that does not hash (open-pool.ts: a worker decrypts, this thread hashes).
   */
  addIfNext(segment: number, pieces: readonly Uint8Array[], length: number): boolean {
    if (segment !== this.next) return false;
    for (const part of plainParts(pieces, length)) this.hash.update(part);
    this.next++;
    return true;
  }

  /** Call once, after the last segment. */
  finish(): OpenedFile {
    return { segments: this.next, sha256: this.hash.digest('hex') };
  }
}

/** A segment's first `length` bytes as views of its data pieces (the padding dropped). */
export function plainParts(pieces: readonly Uint8Array[], length: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let remaining = length;
  for (const piece of pieces) {
    if (remaining === 0) break;
    out.push(piece.subarray(0, Math.min(piece.length, remaining)));
    remaining -= out[out.length - 1]!.length;
  }
  return out;
}

/**
 * A buffer for a frame or a piece: its own memory (not Node's pool, not zeroed: every byte is
 * written before anything reads it), so it can move between threads without a copy.
 */
export function ownBuffer(length: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
}

/**
 * The buffers of `arrays` that can move to another thread without a copy: ones a view spans
 * alone. Small ones may share Node's buffer pool, which must stay where it is; those (and
 * views into larger buffers) are copied by postMessage instead.
 */
export function transferables(arrays: readonly Uint8Array[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const a of arrays) {
    if (
      a.buffer instanceof ArrayBuffer &&
      a.byteOffset === 0 &&
      a.byteLength === a.buffer.byteLength &&
      a.byteLength >= 4096
    ) {
      out.add(a.buffer);
    }
  }
  return [...out];
}
