/**
 * Bytes in and out of S3 requests: the caller's stream cut into upload parts, and the bound
 * on every other answer the SDK reads whole (a whole body streams through ../response.ts, a
 * range answer is read by readRangeBody there).
 */
import { Transform, type Readable } from 'node:stream';
import { CorruptError, OfflineError } from '../../errors';
import { nextChunk } from '../source';

/**
 * Reads the caller's data a part at a time: each `read(size)` answers exactly `size` bytes,
 * fewer only where the data ends, and null once it has ended. A failure of the source comes
 * out as SourceError; `release` stops a source that will not be read to its end.
 */
export class PartReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Uint8Array = new Uint8Array(0);
  private ended = false;
  total = 0;

  constructor(data: AsyncIterable<Uint8Array> | Uint8Array) {
    if (data instanceof Uint8Array) {
      let given = false;
      this.iterator = {
        next: () =>
          Promise.resolve(given ? { done: true, value: undefined } : ((given = true), { done: false, value: data })),
      };
    } else {
      this.iterator = data[Symbol.asyncIterator]();
    }
  }

  async read(size: number): Promise<Buffer | null> {
    let part: Buffer | null = null;
    let filled = 0;
    while (filled < size) {
      if (this.pending.length === 0) {
        if (this.ended) break;
        let step: IteratorResult<Uint8Array>;
        try {
          step = await nextChunk(this.iterator);
        } catch (err) {
          this.ended = true;
          throw err;
        }
        if (step.done) {
          this.ended = true;
          break;
        }
        this.pending = step.value;
        continue;
      }
      const take = Math.min(size - filled, this.pending.length);
      if (part === null || part.length < filled + take) {
        // Grown as the data comes, so that a small object does not cost a whole part.
        const grown = Buffer.allocUnsafe(Math.min(size, Math.max(filled + take, 2 * (part?.length ?? 0), 64 << 10)));
        if (part !== null) part.copy(grown, 0, 0, filled);
        part = grown;
      }
      part.set(this.pending.subarray(0, take), filled);
      this.pending = this.pending.subarray(take);
      filled += take;
    }
    this.total += filled;
    // Copied, never kept: a source may reuse a chunk's memory once it is asked for the next.
    return part === null ? null : part.subarray(0, filled);
  }

  /** Tells a source that was not read to its end that it may stop. */
  async release(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    try {
      await this.iterator.return?.();
    } catch {
      // the source's own trouble; the put's error is what the caller hears
    }
  }
}

/**
 * The most bytes of an answer the SDK reads whole into memory (a listing page, an error, an
 * upload's answer): a page of 1000 keys is under 2 MiB; a server may send without end.
 */
export const MAX_ANSWER_BYTES = 16 << 20;

/**
 * The body, failing with CorruptError once more than `max` bytes came (or were announced),
 * and with an unresponsive OfflineError when it has not ended `deadlineMs` after it began:
 * the connection's own timeout is for silence, and a server that sends a byte now and then
 * is never silent. Either releases the connection.
 */
export function boundedAnswer(
  body: Readable,
  announced: number | null,
  limits: { readonly max: number; readonly deadlineMs: number },
  where: string,
): Readable {
  const { max, deadlineMs } = limits;
  const tooLarge = (): CorruptError =>
    new CorruptError(`${where}: the server's answer is larger than the ${max >> 20} MiB an answer may be`);
  if (announced !== null && announced > max) {
    body.destroy();
    throw tooLarge();
  }
  let received = 0;
  const bounded = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      if (received > max) {
        body.destroy();
        done(tooLarge());
        return;
      }
      done(null, chunk);
    },
  });
  const late = setTimeout(() => {
    body.destroy();
    bounded.destroy(
      new OfflineError(`${where}: the server's answer did not end within ${deadlineMs} ms`, { unresponsive: true }),
    );
  }, deadlineMs);
  late.unref();
  // The deadline is the server's: met once its last byte came in ('finish'), read or not.
  bounded.on('finish', () => clearTimeout(late));
  bounded.on('close', () => clearTimeout(late));
  body.on('error', (err) => bounded.destroy(err));
  return body.pipe(bounded);
}
