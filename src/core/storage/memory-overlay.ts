/**
 * A location seen through a layer that keeps every change in memory: reads see the location
 * as it is, with what was written or deleted through the layer on top; nothing reaches the
 * location. The recovery drill (vault/drill.ts) opens the vault from a fresh profile through
 * it: a real open writes a head and log entries, and a drill must change nothing.
 *
 * The wrapped node is borrowed, not owned: close() leaves it open for its owner.
 */
import { NotFoundError, ShardvaultError } from '../errors';
import {
  assertObjectPath,
  assertRange,
  concatBytes,
  type LocationHealth,
  type ObjectInfo,
  type StorageNode,
} from './node';

/** What the layer holds at most, over all its objects: an open and a few reads write heads
 * and log entries of a few KiB each. */
const MAX_OVERLAY_BYTES = 64 * 1024 * 1024;

const parentOf = (path: string): string => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

// eslint-disable-next-line @typescript-eslint/require-await -- a get answers an async stream
async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export class MemoryOverlayNode implements StorageNode {
  private readonly written = new Map<string, Uint8Array>();
  private readonly deleted = new Set<string>();
  private held = 0;

  constructor(private readonly base: StorageNode) {}

  get kind(): StorageNode['kind'] {
    return this.base.kind;
  }

  get display(): string {
    return this.base.display;
  }

  async put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    assertObjectPath(path);
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of data instanceof Uint8Array ? [data] : data) {
      size += chunk.length;
      if (this.held + size > MAX_OVERLAY_BYTES)
        throw new ShardvaultError('no-space', `${this.display}: the drill keeps at most ${MAX_OVERLAY_BYTES} bytes`);
      chunks.push(new Uint8Array(chunk));
    }
    this.held += size - (this.written.get(path)?.length ?? 0);
    this.written.set(path, concatBytes(chunks, size));
    this.deleted.delete(path);
    return size;
  }

  async get(path: string): Promise<AsyncIterable<Uint8Array>> {
    const bytes = this.written.get(path);
    if (bytes) return once(bytes);
    if (this.deleted.has(path)) throw new NotFoundError(`${this.display}: ${path} not found`);
    return this.base.get(path);
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    assertRange(offset, length);
    const bytes = this.written.get(path);
    if (bytes) return bytes.slice(offset, offset + length);
    if (this.deleted.has(path)) throw new NotFoundError(`${this.display}: ${path} not found`);
    return this.base.readRange(path, offset, length);
  }

  async stat(path: string): Promise<ObjectInfo | null> {
    const bytes = this.written.get(path);
    if (bytes) return { path, size: bytes.length };
    if (this.deleted.has(path)) return null;
    return this.base.stat(path);
  }

  async list(dir: string): Promise<ObjectInfo[]> {
    const below = (await this.base.list(dir)).filter((o) => !this.deleted.has(o.path) && !this.written.has(o.path));
    const mine = [...this.written]
      .filter(([path]) => parentOf(path) === dir)
      .map(([path, bytes]) => ({ path, size: bytes.length }));
    return [...below, ...mine];
  }

  delete(path: string): Promise<void> {
    assertObjectPath(path);
    this.held -= this.written.get(path)?.length ?? 0;
    this.written.delete(path);
    this.deleted.add(path);
    return Promise.resolve();
  }

  health(): Promise<LocationHealth> {
    return this.base.health();
  }

  async close(): Promise<void> {
    // The base belongs to whoever lent it.
  }
}
