/**
 * A location whose implementation is loaded on first use: a vault over local folders never
 * pays for loading the SSH and WebDAV code.
 */
import {
  createRootOf,
  type LocationHealth,
  type LocationKind,
  type ObjectInfo,
  type RootOutcome,
  type StorageNode,
} from './node';

export class LazyNode implements StorageNode {
  private node: Promise<StorageNode> | null = null;

  constructor(
    readonly kind: LocationKind,
    readonly display: string,
    private readonly load: () => Promise<StorageNode>,
  ) {}

  private inner(): Promise<StorageNode> {
    this.node ??= this.load();
    return this.node;
  }

  async put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    return (await this.inner()).put(path, data);
  }
  async get(path: string): Promise<AsyncIterable<Uint8Array>> {
    return (await this.inner()).get(path);
  }
  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return (await this.inner()).readRange(path, offset, length);
  }
  async stat(path: string): Promise<ObjectInfo | null> {
    return (await this.inner()).stat(path);
  }
  async list(dir: string): Promise<ObjectInfo[]> {
    return (await this.inner()).list(dir);
  }
  async delete(path: string): Promise<void> {
    return (await this.inner()).delete(path);
  }
  async health(): Promise<LocationHealth> {
    return (await this.inner()).health();
  }
  async createRoot(confirm?: () => Promise<boolean>): Promise<RootOutcome> {
    return createRootOf(await this.inner(), confirm);
  }
  async close(): Promise<void> {
    if (this.node) await (await this.node).close();
  }
}
