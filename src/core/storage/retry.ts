/**
 * Retries a location's calls after transient failures (OfflineError) with exponential
 * backoff and jitter, with the same StorageNode interface, like restic's
 * backend/retry. Permanent errors (not found, permission, no space, corrupt, usage) pass
 * through at once, and so does an unresponsive location (it answered nothing for a whole
 * timeout; a dropped or refused connection is retried).
 *
 * What may be retried follows node.ts: every call is idempotent. Two limits:
 *   - put is retried only when its data is a Uint8Array: a stream can't be replayed.
 *   - get retries only the opening call; a stream that breaks midway surfaces its error,
 *     since the caller has already consumed part of it (readRange is retried whole).
 */
import { OfflineError } from '../errors';
import { createRootOf, type LocationHealth, type ObjectInfo, type RootOutcome, type StorageNode } from './node';

export interface RetryOptions {
  /** Total tries, the first included (≥ 1). */
  readonly attempts: number;
  /** Delay before the second try; doubles each time, capped by maxDelayMs. */
  readonly baseDelayMs: number;
  readonly maxDelayMs?: number;
  /** Called before each wait; for logs and tests. */
  readonly onRetry?: (info: { call: string; attempt: number; delayMs: number; error: OfflineError }) => void;
  /** Waits `ms`; tests replace it. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Random number in [0, 1); tests replace it. */
  readonly random?: () => number;
}

export function withRetry(node: StorageNode, options: RetryOptions): StorageNode {
  return new RetryingNode(node, options);
}

class RetryingNode implements StorageNode {
  readonly kind: StorageNode['kind'];
  readonly display: string;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly node: StorageNode,
    private readonly options: RetryOptions,
  ) {
    if (!Number.isInteger(options.attempts) || options.attempts < 1) {
      throw new RangeError(`attempts must be an integer ≥ 1, got ${options.attempts}`);
    }
    if (!(options.baseDelayMs >= 0)) throw new RangeError(`baseDelayMs must be ≥ 0, got ${options.baseDelayMs}`);
    this.kind = node.kind;
    this.display = node.display;
    this.attempts = options.attempts;
    this.baseDelayMs = options.baseDelayMs;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    if (data instanceof Uint8Array) return this.retry('put', () => this.node.put(path, data));
    return this.node.put(path, data);
  }

  get(path: string): Promise<AsyncIterable<Uint8Array>> {
    return this.retry('get', () => this.node.get(path));
  }

  readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return this.retry('readRange', () => this.node.readRange(path, offset, length));
  }

  stat(path: string): Promise<ObjectInfo | null> {
    return this.retry('stat', () => this.node.stat(path));
  }

  list(dir: string): Promise<ObjectInfo[]> {
    return this.retry('list', () => this.node.list(dir));
  }

  delete(path: string): Promise<void> {
    return this.retry('delete', () => this.node.delete(path));
  }

  async health(): Promise<LocationHealth> {
    // health() never throws; it is retried while it says unreachable (but not unresponsive,
    // as for calls), and the last answer counts.
    let last = await this.node.health();
    for (let attempt = 1; attempt < this.attempts && !last.reachable && !last.unresponsive; attempt++) {
      await this.sleep(this.delayFor(attempt));
      last = await this.node.health();
    }
    return last;
  }

  createRoot(confirm?: () => Promise<boolean>): Promise<RootOutcome> {
    // Once: it may ask a person (node.ts).
    return createRootOf(this.node, confirm);
  }

  close(): Promise<void> {
    return this.node.close();
  }

  private async retry<T>(call: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        // A location that gave no answer within its whole timeout is not asked again: that
        // would double the stall of a frozen server (the breaker then keeps it out, breaker.ts).
        if (!(err instanceof OfflineError) || err.unresponsive || attempt >= this.attempts) throw err;
        const delayMs = this.delayFor(attempt);
        this.options.onRetry?.({ call, attempt, delayMs, error: err });
        await this.sleep(delayMs);
      }
    }
  }

  /** "Equal jitter": half of min(max, base·2^(attempt-1)) fixed, half random, so no retry is immediate. */
  private delayFor(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOTCONN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/** True for a failure of the network path (refused, reset, timed out, name lookup): transient. */
export function isNetworkFailure(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}
