/**
 * A location is used only after it proves it is the one this vault put there: its
 * shardvault.json must name this vault and this location id. A different disk mounted at
 * the same path, or a folder that holds another vault (or none), is treated as offline
 * rather than written into.
 */
import { OfflineError, ShardvaultError } from '../errors';
import { decodeVaultRecord, PATHS, type VaultRecord } from '../format/records';
import {
  createRootOf,
  readObject,
  type LocationHealth,
  type ObjectInfo,
  type RootOutcome,
  type StorageNode,
} from '../storage/node';

/** The largest vault record a location may answer with (a real one is a few hundred bytes). */
const MAX_VAULT_RECORD_BYTES = 4096;

/** The vault record a location holds (`shardvault.json`), read bounded and decoded strictly. */
export async function readVaultRecord(node: StorageNode): Promise<VaultRecord> {
  return decodeVaultRecord(await readObject(node, PATHS.vault, MAX_VAULT_RECORD_BYTES));
}

export class CheckedNode implements StorageNode {
  private check: Promise<void> | null = null;

  constructor(
    private readonly inner: StorageNode,
    private readonly vaultId: string,
    private readonly locationId: string,
  ) {}

  get kind(): StorageNode['kind'] {
    return this.inner.kind;
  }

  get display(): string {
    return this.inner.display;
  }

  private verify(): Promise<void> {
    this.check ??= (async () => {
      let record;
      try {
        record = await readVaultRecord(this.inner);
      } catch (err) {
        if (err instanceof ShardvaultError && err.code === 'offline') throw err;
        throw new OfflineError(
          `${this.inner.display} holds no readable vault record (${(err as Error).message}): is the right disk mounted?`,
        );
      }
      if (record.vaultId !== this.vaultId || record.locationId !== this.locationId) {
        throw new OfflineError(
          `${this.inner.display} holds another vault or another location's data: is the right disk mounted?`,
        );
      }
    })();
    // A location that was merely unreachable is checked again next time.
    this.check.catch(() => (this.check = null));
    return this.check;
  }

  async put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    await this.verify();
    return this.inner.put(path, data);
  }

  async get(path: string): Promise<AsyncIterable<Uint8Array>> {
    await this.verify();
    return this.inner.get(path);
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    await this.verify();
    return this.inner.readRange(path, offset, length);
  }

  async stat(path: string): Promise<ObjectInfo | null> {
    await this.verify();
    return this.inner.stat(path);
  }

  async list(dir: string): Promise<ObjectInfo[]> {
    await this.verify();
    return this.inner.list(dir);
  }

  async delete(path: string): Promise<void> {
    await this.verify();
    return this.inner.delete(path);
  }

  async health(): Promise<LocationHealth> {
    const health = await this.inner.health();
    if (!health.reachable) return health;
    try {
      await this.verify();
      return health;
    } catch (err) {
      return { reachable: false, latencyMs: null, freeBytes: null, error: (err as Error).message };
    }
  }

  createRoot(confirm?: () => Promise<boolean>): Promise<RootOutcome> {
    // A root being made holds no vault record yet: nothing to check.
    return createRootOf(this.inner, confirm);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
