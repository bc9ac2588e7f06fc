import { engineConfig } from '../../config';
import { CorruptError, OfflineError } from '../../errors';
import { readsInto, type ReadsInto } from '../../storage/read-into';
import type { ShardDigest } from './digest';

/** A read that waits longer than the configured read timeout (../config.ts) counts as offline. */
export function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
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
 * Reads exact byte counts from a location's stream: straight into the caller's buffer when
 * the location can (read-into.ts: a local folder), else copied out of the stream's chunks.
 */
export class ShardStream {
  private readonly iterator: AsyncIterator<Uint8Array> | null;
  private readonly direct: ReadsInto | null;
  private buffered: Uint8Array[] = [];
  private available = 0;
  private closed = false;
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
      const chunk = await this.nextBytes();
      if (chunk === null) throw new CorruptError(`${this.what()} is truncated`);
      this.buffered.push(chunk);
      this.available += chunk.length;
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

  /**
   * True when the stream holds no bytes past what was read. Bounded by the read timeout like
   * every read: a location that stops answering after the last frame throws OfflineError
   * instead of holding the whole read (and the file's output) open for ever.
   */
  async atEnd(): Promise<boolean> {
    if (this.direct) return (await withTimeout(this.direct.readInto(new Uint8Array(1), 0, 1), this.what())) === 0;
    if (this.available > 0) return false;
    return (await this.nextBytes()) === null;
  }

  /**
   * The stream's next chunk that holds bytes, or null at its end, within one read timeout:
   * empty chunks are no answer. A location that sends nothing but empty chunks is as
   * unresponsive as one that sends nothing, and each of them used to restart the timeout,
   * so such a stream held the read for ever.
   */
  private nextBytes(): Promise<Uint8Array | null> {
    const pull = async (): Promise<Uint8Array | null> => {
      // Stops once closed (after a timeout): the stream is not pulled on in the background.
      while (!this.closed) {
        const next = await this.iterator!.next();
        if (next.done) return null;
        if (next.value.length > 0) return next.value;
      }
      return null;
    };
    return withTimeout(pull(), this.what());
  }

  async close(): Promise<void> {
    this.closed = true;
    // A hung location may never answer return() either: don't wait for it forever.
    const closing = this.direct ? this.direct.close() : (this.iterator!.return?.() ?? Promise.resolve());
    await withTimeout<unknown>(closing, 'closing').catch(() => undefined);
  }
}
