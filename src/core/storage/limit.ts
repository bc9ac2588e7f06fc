/**
 * Bounds the calls in flight on one location, with the same StorageNode interface, like
 * retry.ts and breaker.ts (restic's backend semaphore). A server answers many small calls
 * on one connection faster than it would open many connections, and some (an SSH server's
 * MaxSessions, a NAS) refuse past a few: the kind chooses the limit (kinds/).
 *
 * Every call holds a slot while it runs; a get holds its slot until its stream ends, fails,
 * or the caller stops it (return(), even before the first read), so a caller that opens more
 * streams than the limit reads them one after another. Waiters are served in order.
 * createRoot and close are not limited: createRoot opens a session of its own (node.ts),
 * and close must not wait behind calls it is to end.
 */
import { createRootOf, type LocationHealth, type ObjectInfo, type RootOutcome, type StorageNode } from './node';

export function withLimit(node: StorageNode, concurrency: number): StorageNode {
  return new LimitedNode(node, new Semaphore(concurrency));
}

class LimitedNode implements StorageNode {
  readonly kind: StorageNode['kind'];
  readonly display: string;

  constructor(
    private readonly node: StorageNode,
    private readonly slots: Semaphore,
  ) {
    this.kind = node.kind;
    this.display = node.display;
  }

  put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    return this.slots.run(() => this.node.put(path, data));
  }
  async get(path: string): Promise<AsyncIterable<Uint8Array>> {
    const release = await this.slots.acquire();
    let stream: AsyncIterable<Uint8Array>;
    try {
      stream = await this.node.get(path);
    } catch (err) {
      release();
      throw err;
    }
    return new HeldStream(stream, release);
  }
  readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.slots.run(() => this.node.readRange(path, offset, length));
  }
  stat(path: string): Promise<ObjectInfo | null> {
    return this.slots.run(() => this.node.stat(path));
  }
  list(dir: string): Promise<ObjectInfo[]> {
    return this.slots.run(() => this.node.list(dir));
  }
  delete(path: string): Promise<void> {
    return this.slots.run(() => this.node.delete(path));
  }
  health(): Promise<LocationHealth> {
    return this.slots.run(() => this.node.health());
  }
  createRoot(confirm?: () => Promise<boolean>): Promise<RootOutcome> {
    return createRootOf(this.node, confirm);
  }
  close(): Promise<void> {
    return this.node.close();
  }
}

/** A get's stream that gives its slot back once it ends, fails, or is stopped (after the inner stream is). */
class HeldStream implements AsyncIterable<Uint8Array>, AsyncIterator<Uint8Array> {
  private iterator: AsyncIterator<Uint8Array> | null = null;

  constructor(
    private readonly stream: AsyncIterable<Uint8Array>,
    private readonly release: () => void,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    this.iterator ??= this.stream[Symbol.asyncIterator]();
    try {
      const step = await this.iterator.next();
      if (step.done) this.release();
      return step;
    } catch (err) {
      this.release();
      throw err;
    }
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.iterator ??= this.stream[Symbol.asyncIterator]();
    try {
      await this.iterator.return?.();
    } finally {
      this.release();
    }
    return { done: true, value: undefined };
  }
}

/** A counting semaphore: at most `limit` holders; waiters are served in order. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be an integer ≥ 1, got ${limit}`);
  }

  /** Waits for a slot; the returned function gives it back (once). */
  async acquire(): Promise<() => void> {
    if (this.active < this.limit) {
      this.active++;
    } else {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await task();
    } finally {
      release();
    }
  }
}
