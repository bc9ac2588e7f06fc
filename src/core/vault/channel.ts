/**
 * A bounded single-producer, single-consumer byte channel: the put pipeline pushes sealed
 * frames, a location's `put` consumes them as an AsyncIterable. Bounded so memory stays
 * within a few frames per shard whatever the file size; the producer waits (backpressure)
 * when a location is slower than the encoder.
 */
import { Wakeup } from '../wakeup';

const STOPPED = new Error('the location stopped reading');

export class Channel implements AsyncIterable<Uint8Array> {
  private readonly queue: Uint8Array[] = [];
  private closed = false;
  private abortReason: Error | null = null;
  private consumerGone: Error | null = null;
  /** True when the consumer quit or failed before the producer aborted: its location is a cause, not a casualty. */
  private quitOnItsOwn = false;
  private readonly consumer = new Wakeup();
  private readonly producer = new Wakeup();

  constructor(private readonly capacity = 4) {}

  /** Waits while the channel is full; throws if the consumer failed or stopped. */
  async push(chunk: Uint8Array): Promise<void> {
    while (this.queue.length >= this.capacity && !this.consumerGone) {
      await this.producer.wait();
    }
    if (this.consumerGone) throw this.consumerGone;
    this.queue.push(chunk);
    this.consumer.wake();
  }

  /** No more chunks: the consumer ends after the queued ones. */
  close(): void {
    this.closed = true;
    this.consumer.wake();
  }

  /** The producer failed: the consumer's next read throws, so the location discards the object. */
  abort(reason: Error): void {
    this.abortReason = reason;
    this.consumer.wake();
  }

  /** The consumer failed (e.g. the location went away): the producer's next push throws. */
  fail(reason: Error): void {
    if (!this.abortReason) this.quitOnItsOwn = true;
    // The location's own error (full, read-only, gone) beats the generic "stopped reading"
    // that its early return() recorded a moment before.
    if (!this.consumerGone || this.consumerGone === STOPPED) this.consumerGone = reason;
    this.producer.wake();
  }

  /** Whether the consumer gave up before any abort: then its own error explains a failed transfer. */
  get failedFirst(): boolean {
    return this.quitOnItsOwn;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: async (): Promise<IteratorResult<Uint8Array>> => {
        for (;;) {
          if (this.abortReason) throw this.abortReason;
          const chunk = this.queue.shift();
          if (chunk) {
            this.producer.wake();
            return { value: chunk, done: false };
          }
          if (this.closed) return { value: undefined, done: true };
          await this.consumer.wait();
        }
      },
      return: (): Promise<IteratorResult<Uint8Array>> => {
        if (!this.abortReason) this.quitOnItsOwn = true;
        this.consumerGone ??= STOPPED;
        this.producer.wake();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
