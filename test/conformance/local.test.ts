import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, OfflineError, ShardvaultError } from '../../src/core/errors';
import { LocalFolderNode } from '../../src/core/storage/local';
import { readObject, type LocationHealth, type ObjectInfo, type StorageNode } from '../../src/core/storage/node';
import { withBreaker } from '../../src/core/storage/breaker';
import { withLimit } from '../../src/core/storage/limit';
import { withRetry } from '../../src/core/storage/retry';
import { chunked, pattern, runConformance } from './suite';
import { KINDS } from '../../src/core/storage/kinds';

async function tempFolder(): Promise<{ dir: string; stop: () => Promise<void> }> {
  const dir = await mkdtemp(nodePath.join(tmpdir(), 'shardvault-local-'));
  return { dir, stop: () => rm(dir, { recursive: true, force: true }) };
}

runConformance('local folder', async () => {
  const { dir, stop } = await tempFolder();
  return { node: KINDS.local.compose(new LocalFolderNode(dir)), stop };
});

// The limit wrapper too, at one call at a time: a get that kept its slot after its stream
// ended or was stopped would hang the next call.
runConformance('local folder through withLimit(1)', async () => {
  const { dir, stop } = await tempFolder();
  return { node: withLimit(new LocalFolderNode(dir), 1), stop };
});

// The retry wrapper must keep every promise of the contract.
runConformance('local folder through withRetry', async () => {
  const { dir, stop } = await tempFolder();
  return { node: withRetry(new LocalFolderNode(dir), { attempts: 3, baseDelayMs: 1 }), stop };
});

/** A node that fails each call's first `failures` tries with `error`, then passes it on. */
class FlakyNode implements StorageNode {
  readonly kind = 'local' as const;
  readonly display = 'flaky';
  readonly calls = new Map<string, number>();

  constructor(
    private readonly inner: StorageNode,
    private readonly failures: number,
    private readonly error: () => Error = () => new OfflineError('flaky: down'),
  ) {}

  private gate(call: string): Promise<void> {
    const n = (this.calls.get(call) ?? 0) + 1;
    this.calls.set(call, n);
    return n <= this.failures ? Promise.reject(this.error()) : Promise.resolve();
  }

  async put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    await this.gate('put');
    return this.inner.put(path, data);
  }
  async get(path: string): Promise<AsyncIterable<Uint8Array>> {
    await this.gate('get');
    return this.inner.get(path);
  }
  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    await this.gate('readRange');
    return this.inner.readRange(path, offset, length);
  }
  async stat(path: string): Promise<ObjectInfo | null> {
    await this.gate('stat');
    return this.inner.stat(path);
  }
  async list(dir: string): Promise<ObjectInfo[]> {
    await this.gate('list');
    return this.inner.list(dir);
  }
  async delete(path: string): Promise<void> {
    await this.gate('delete');
    return this.inner.delete(path);
  }
  async health(): Promise<LocationHealth> {
    const n = (this.calls.get('health') ?? 0) + 1;
    this.calls.set('health', n);
    if (n <= this.failures) return { reachable: false, latencyMs: null, freeBytes: null, error: 'down' };
    return this.inner.health();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('withRetry', () => {
  let folder: { dir: string; stop: () => Promise<void> };
  let local: LocalFolderNode;
  beforeAll(async () => {
    folder = await tempFolder();
    local = new LocalFolderNode(folder.dir);
    await local.put('obj', pattern('obj', 100));
  });
  afterAll(async () => {
    await folder.stop();
  });

  const quick = (delays: number[] = []) => ({
    attempts: 4,
    baseDelayMs: 10,
    sleep: (ms: number) => {
      delays.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
  });

  it('retries OfflineError with growing, jittered delays until a call succeeds', async () => {
    const flaky = new FlakyNode(local, 3);
    const delays: number[] = [];
    const node = withRetry(flaky, quick(delays));
    expect((await node.stat('obj'))?.size).toBe(100);
    expect(flaky.calls.get('stat')).toBe(4);
    expect(delays).toEqual([8, 15, 30]); // half of 10·2^(n-1) fixed, half random (0.5 here)
    expect(await node.list('')).toHaveLength(1);
    expect((await readObject(node, 'obj', 1000)).length).toBe(100);
    // delete takes only names the format makes: the head's.
    expect(await node.put('head', pattern('b', 10))).toBe(10);
    await node.delete('head');
    expect((await node.health()).reachable).toBe(true);
    for (const call of ['list', 'get', 'put', 'delete', 'health']) expect(flaky.calls.get(call)).toBe(4);
  });

  it('gives up after its attempts with the last OfflineError', async () => {
    const flaky = new FlakyNode(local, 10);
    await expect(withRetry(flaky, quick()).stat('obj')).rejects.toBeInstanceOf(OfflineError);
    expect(flaky.calls.get('stat')).toBe(4);
    expect((await withRetry(flaky, quick()).health()).reachable).toBe(false);
  });

  it('does not retry permanent errors', async () => {
    const denied = new FlakyNode(local, 10, () => new ShardvaultError('permission', 'no'));
    await expect(withRetry(denied, quick()).stat('obj')).rejects.toMatchObject({ code: 'permission' });
    expect(denied.calls.get('stat')).toBe(1);
    const flaky = new FlakyNode(local, 0);
    await expect(withRetry(flaky, quick()).get('missing')).rejects.toBeInstanceOf(NotFoundError);
    expect(flaky.calls.get('get')).toBe(1);
  });

  it('does not ask an unresponsive location again: that would double its stall', async () => {
    const frozen = new FlakyNode(local, 10, () => new OfflineError('frozen: no answer', { unresponsive: true }));
    await expect(withRetry(frozen, quick()).stat('obj')).rejects.toMatchObject({ unresponsive: true });
    expect(frozen.calls.get('stat')).toBe(1);
  });

  it('does not replay a put from a stream, which is spent', async () => {
    const flaky = new FlakyNode(local, 1);
    await expect(withRetry(flaky, quick()).put('s', chunked(pattern('s', 10), 3))).rejects.toBeInstanceOf(OfflineError);
    expect(flaky.calls.get('put')).toBe(1);
  });

  it('refuses nonsense options', () => {
    expect(() => withRetry(local, { attempts: 0, baseDelayMs: 1 })).toThrow(RangeError);
    expect(() => withRetry(local, { attempts: 2, baseDelayMs: -1 })).toThrow(RangeError);
  });
});

// The breaker must keep every promise of the contract while the location answers.
runConformance('local folder through withBreaker', async () => {
  const { dir, stop } = await tempFolder();
  return { node: withBreaker(new LocalFolderNode(dir), { cooldownMs: 1000 }), stop };
});

describe('withBreaker', () => {
  let folder: { dir: string; stop: () => Promise<void> };
  let local: LocalFolderNode;
  beforeAll(async () => {
    folder = await tempFolder();
    local = new LocalFolderNode(folder.dir);
    await local.put('obj', pattern('obj', 100));
  });
  afterAll(async () => {
    await folder.stop();
  });

  it('keeps an unresponsive location out for the cool-down, then tries it again', async () => {
    let clock = 0;
    const frozen = new FlakyNode(local, 1, () => new OfflineError('frozen: no answer', { unresponsive: true }));
    const node = withBreaker(frozen, { cooldownMs: 30_000, now: () => clock });
    await expect(node.stat('obj')).rejects.toThrow('frozen: no answer');
    // Every call now fails at once, without reaching the location.
    clock = 29_000;
    for (const call of [node.stat('obj'), node.list(''), node.get('obj'), node.delete('x')]) {
      await expect(call).rejects.toMatchObject({ code: 'offline', unresponsive: true });
    }
    await expect(node.put('p', pattern('p', 3))).rejects.toThrow(/gave no answer 29 s ago/);
    expect(frozen.calls.get('stat')).toBe(1);
    expect(frozen.calls.get('list')).toBeUndefined();
    // After the cool-down the location is asked again, and it answers.
    clock = 30_000;
    expect((await node.stat('obj'))?.size).toBe(100);
    expect(frozen.calls.get('stat')).toBe(2);
  });

  it('is not tripped by a location that is merely down, nor by permanent errors', async () => {
    const down = new FlakyNode(local, 1);
    const node = withBreaker(down, { cooldownMs: 30_000, now: () => 0 });
    await expect(node.stat('obj')).rejects.toBeInstanceOf(OfflineError);
    expect((await node.stat('obj'))?.size).toBe(100);
    const denied = new FlakyNode(local, 1, () => new ShardvaultError('permission', 'no'));
    const guarded = withBreaker(denied, { cooldownMs: 30_000, now: () => 0 });
    await expect(guarded.stat('obj')).rejects.toMatchObject({ code: 'permission' });
    expect((await guarded.stat('obj'))?.size).toBe(100);
  });

  it('an unresponsive health answer keeps the location out too, and is not probed twice', async () => {
    let probes = 0;
    const frozen: StorageNode = Object.assign(Object.create(local) as StorageNode, {
      health: () => {
        probes++;
        return Promise.resolve({
          reachable: false,
          latencyMs: null,
          freeBytes: null,
          error: 'no answer within 15000 ms',
          unresponsive: true,
        });
      },
    });
    const node = withBreaker(withRetry(frozen, { attempts: 3, baseDelayMs: 1 }), { cooldownMs: 30_000, now: () => 0 });
    expect(await node.health()).toMatchObject({ reachable: false, unresponsive: true });
    expect(probes).toBe(1);
    await expect(node.stat('obj')).rejects.toThrow(/gave no answer .*no answer within 15000 ms/);
  });

  it('while out, health says so without asking; after the cool-down a reachable answer lets it back in', async () => {
    let clock = 0;
    const frozen = new FlakyNode(local, 1, () => new OfflineError('frozen: no answer', { unresponsive: true }));
    const node = withBreaker(frozen, { cooldownMs: 30_000, now: () => clock });
    await expect(node.list('')).rejects.toMatchObject({ unresponsive: true });
    expect(await node.health()).toMatchObject({ reachable: false, unresponsive: true });
    expect(frozen.calls.get('health')).toBeUndefined();
    clock = 30_000;
    // (FlakyNode's first health answer is "unreachable", not unresponsive.)
    expect((await node.health()).reachable).toBe(false);
    expect((await node.health()).reachable).toBe(true);
    expect(await node.list('')).toHaveLength(1);
  });
});
