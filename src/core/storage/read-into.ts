/**
 * An object opened for reading that can also read straight into a caller's buffer: a get
 * reads each frame of a shard into the frame buffer the opener will decrypt (pipeline.ts),
 * with no stream chunk in between to copy from.
 *
 * A location's `get` may answer with one (local folders do); everyone else just iterates it
 * as any AsyncIterable<Uint8Array>. One object is read one way only: the first call to
 * `readInto` or to the iterator decides, and the other then throws.
 */
import type { FileHandle } from 'node:fs/promises';

export interface ReadsInto {
  /** Reads up to `length` bytes from where the last read ended into `into` at `at`;
   * 0 at the end of the object. */
  readInto(into: Uint8Array, at: number, length: number): Promise<number>;
  /** Releases the object (once; later calls do nothing). */
  close(): Promise<void>;
}

export function readsInto(stream: AsyncIterable<Uint8Array>): stream is AsyncIterable<Uint8Array> & ReadsInto {
  const candidate = stream as Partial<ReadsInto>;
  return typeof candidate.readInto === 'function' && typeof candidate.close === 'function';
}

/** What the iterator hands out at a time, as the read stream it replaces did. */
const CHUNK = 1 << 20;

/** A regular file, read from its start; owns the handle and closes it at the end, on an
 * early return of its iterator, on an error, or on close(). `size` (from the fstat that
 * opened it) sizes the iterator's chunks: a 200-byte record is read into 200 bytes, not
 * 1 MiB; a file that grew since is still read to its end. */
export class FileObject implements AsyncIterable<Uint8Array>, ReadsInto {
  private position = 0;
  private closing: Promise<void> | null = null;
  private way: 'into' | 'iterated' | null = null;

  constructor(
    private readonly handle: FileHandle,
    private readonly size?: number,
  ) {}

  async readInto(into: Uint8Array, at: number, length: number): Promise<number> {
    this.claim('into');
    if (
      !Number.isSafeInteger(at) ||
      !Number.isSafeInteger(length) ||
      at < 0 ||
      length < 0 ||
      at + length > into.length
    ) {
      throw new RangeError(`readInto: ${length} bytes at ${at} do not fit a buffer of ${into.length}`);
    }
    if (this.closing) throw new Error('the object is closed');
    if (length === 0) return 0;
    const { bytesRead } = await this.handle.read(into, at, length, this.position);
    this.position += bytesRead;
    return bytesRead;
  }

  close(): Promise<void> {
    this.closing ??= this.handle.close();
    return this.closing;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    this.claim('iterated');
    return this.chunks();
  }

  private async *chunks(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        const left = this.size === undefined ? CHUNK : this.size - this.position;
        const chunk = new Uint8Array(Math.max(1, Math.min(CHUNK, left)));
        const { bytesRead } = await this.handle.read(chunk, 0, chunk.length, this.position);
        if (bytesRead === 0) return;
        this.position += bytesRead;
        yield chunk.subarray(0, bytesRead);
      }
    } finally {
      await this.close();
    }
  }

  private claim(way: 'into' | 'iterated'): void {
    if (this.way !== null && this.way !== way)
      throw new Error(`this object is already ${this.way === 'into' ? 'read into buffers' : 'iterated'}`);
    this.way = way;
  }
}
