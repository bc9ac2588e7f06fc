/**
 * Keeps an unresponsive location out for a while (a circuit breaker), with the same
 * StorageNode interface, like restic's backend wrappers.
 *
 * A frozen server (a stopped process, a hung NAS) accepts connections and answers nothing,
 * so every call waits out a whole timeout. A command touches each location in several
 * phases (key shares, the head, manifests, the audit log, shards); without this, each phase
 * waited again. Once a call fails with an unresponsive OfflineError, further calls fail at
 * once with an OfflineError for `cooldownMs`, exactly as if the location were down, which
 * the engine already handles (the vault reads around it; a commit needs X + 1 locations).
 * After the cool-down one call goes through again: a server that is back is used again.
 *
 * health() answers from the breaker too while it is open (a command probes every location
 * before it writes: probing a frozen one again would cost the same timeout again); after the
 * cool-down it asks the location, and a reachable answer closes the breaker, an unresponsive
 * one opens it again. Calls already in flight when it opens finish on their own.
 */
import { OfflineError } from '../errors';
import { createRootOf, type LocationHealth, type ObjectInfo, type RootOutcome, type StorageNode } from './node';

export interface BreakerOptions {
  /** How long an unresponsive location is kept out before it is tried again. */
  readonly cooldownMs: number;
  /** The clock, in ms; tests replace it. */
  readonly now?: () => number;
}

export function withBreaker(node: StorageNode, options: BreakerOptions): StorageNode {
  return new BreakerNode(node, options);
}

class BreakerNode implements StorageNode {
  readonly kind: StorageNode['kind'];
  readonly display: string;
  private readonly now: () => number;
  /** When the location last failed to answer, and why; null while it answers. */
  private silence: { at: number; error: OfflineError } | null = null;

  constructor(
    private readonly node: StorageNode,
    private readonly options: BreakerOptions,
  ) {
    if (!(options.cooldownMs >= 0)) throw new RangeError(`cooldownMs must be ≥ 0, got ${options.cooldownMs}`);
    this.kind = node.kind;
    this.display = node.display;
    this.now = options.now ?? Date.now;
  }

  put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    return this.guard(() => this.node.put(path, data));
  }
  get(path: string): Promise<AsyncIterable<Uint8Array>> {
    return this.guard(() => this.node.get(path));
  }
  readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.guard(() => this.node.readRange(path, offset, length));
  }
  stat(path: string): Promise<ObjectInfo | null> {
    return this.guard(() => this.node.stat(path));
  }
  list(dir: string): Promise<ObjectInfo[]> {
    return this.guard(() => this.node.list(dir));
  }
  delete(path: string): Promise<void> {
    return this.guard(() => this.node.delete(path));
  }

  async health(): Promise<LocationHealth> {
    const silence = this.silence;
    if (silence && this.now() - silence.at < this.options.cooldownMs) {
      return {
        reachable: false,
        latencyMs: null,
        freeBytes: null,
        error: this.refusal(silence).message,
        unresponsive: true,
      };
    }
    const health = await this.node.health();
    if (health.reachable) this.silence = null;
    else if (health.unresponsive) {
      this.silence = { at: this.now(), error: new OfflineError(health.error ?? 'no answer', { unresponsive: true }) };
    }
    return health;
  }

  createRoot(confirm?: () => Promise<boolean>): Promise<RootOutcome> {
    return this.guard(() => createRootOf(this.node, confirm));
  }

  close(): Promise<void> {
    return this.node.close();
  }

  private refusal(silence: { at: number; error: OfflineError }): OfflineError {
    const ago = Math.max(0, Math.round((this.now() - silence.at) / 1000));
    return new OfflineError(
      `${this.display}: gave no answer ${ago} s ago (${silence.error.message}); not waiting for it again yet`,
      { cause: silence.error, unresponsive: true },
    );
  }

  private async guard<T>(run: () => Promise<T>): Promise<T> {
    const silence = this.silence;
    if (silence && this.now() - silence.at < this.options.cooldownMs) throw this.refusal(silence);
    try {
      const result = await run();
      this.silence = null;
      return result;
    } catch (err) {
      if (err instanceof OfflineError && err.unresponsive) this.silence = { at: this.now(), error: err };
      throw err;
    }
  }
}
