/**
 * A storage location that is a folder on this machine: a USB disk, a NAS mount, a
 * cloud-sync folder. A missing root folder means the location is offline (a disk that is
 * not plugged in); it is never silently re-created, or shards would land on the internal
 * disk under the mount point.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { NotFoundError, OfflineError, ShardvaultError } from '../errors';
import { assertObjectPath, assertRange, type LocationHealth, type ObjectInfo, type StorageNode } from './node';

const TEMP_DIR = 'tmp';

export class LocalFolderNode implements StorageNode {
  readonly kind = 'local' as const;
  readonly display: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = nodePath.resolve(root);
    this.display = this.root;
  }

  private full(path: string): string {
    return nodePath.join(this.root, ...path.split('/'));
  }

  /** Throws OfflineError unless the root folder exists. */
  private async requireRoot(): Promise<void> {
    try {
      const st = await fs.stat(this.root);
      if (!st.isDirectory()) throw new OfflineError(`${this.display} is not a folder`);
    } catch (err) {
      if (err instanceof ShardvaultError) throw err;
      throw new OfflineError(`${this.display} is not there (disk unplugged or folder removed)`, { cause: err });
    }
  }

  async put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    assertObjectPath(path);
    await this.requireRoot();
    const target = this.full(path);
    const tempDir = this.full(TEMP_DIR);
    await this.makeFolder(tempDir);
    await this.makeFolder(nodePath.dirname(target));
    const temp = nodePath.join(tempDir, `${randomBytes(12).toString('hex')}.part`);
    let written = 0;
    try {
      await this.wrap(path, async () => {
        const handle = await fs.open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
        try {
          if (data instanceof Uint8Array) {
            await handle.write(data);
            written = data.length;
          } else {
            for await (const chunk of data) {
              let at = 0;
              while (at < chunk.length) {
                const { bytesWritten } = await handle.write(chunk, at, chunk.length - at);
                at += bytesWritten;
              }
              written += chunk.length;
            }
          }
          await handle.sync();
        } finally {
          await handle.close();
        }
        await fs.rename(temp, target);
      });
      await this.syncDir(nodePath.dirname(target));
      return written;
    } catch (err) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  async get(path: string): Promise<AsyncIterable<Uint8Array>> {
    assertObjectPath(path);
    await this.requireRoot();
    const full = this.full(path);
    // Open first so a missing object is reported now, not on first read. The stream owns
    // the handle and closes it once, when it ends or is destroyed.
    const handle = await this.wrap(path, () => fs.open(full, 'r'));
    return handle.createReadStream({ highWaterMark: 1 << 20 });
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    assertObjectPath(path);
    assertRange(offset, length);
    await this.requireRoot();
    const handle = await this.wrap(path, () => fs.open(this.full(path), 'r'));
    try {
      const out = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await this.wrap(path, () => handle.read(out, got, length - got, offset + got));
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === length ? out : out.subarray(0, got);
    } finally {
      await handle.close();
    }
  }

  async stat(path: string): Promise<ObjectInfo | null> {
    assertObjectPath(path);
    await this.requireRoot();
    try {
      const st = await fs.stat(this.full(path));
      return st.isFile() ? { path, size: st.size, modifiedMs: st.mtimeMs } : null;
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return null;
      throw this.translate(path, err);
    }
  }

  async list(dir: string): Promise<ObjectInfo[]> {
    assertObjectPath(dir, true);
    await this.requireRoot();
    const base = dir === '' ? this.root : this.full(dir);
    let entries;
    try {
      entries = await fs.readdir(base, { withFileTypes: true });
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return [];
      throw this.translate(dir, err);
    }
    const out: ObjectInfo[] = [];
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      try {
        const st = await fs.stat(nodePath.join(base, entry.name));
        out.push({ path, size: st.size, modifiedMs: st.mtimeMs });
      } catch (err) {
        if (!isCode(err, 'ENOENT')) throw this.translate(path, err);
      }
    }
    return out;
  }

  async delete(path: string): Promise<void> {
    assertObjectPath(path);
    await this.requireRoot();
    await this.wrap(path, () => fs.rm(this.full(path), { force: true }));
  }

  async rename(from: string, to: string): Promise<void> {
    assertObjectPath(from);
    assertObjectPath(to);
    await this.requireRoot();
    const target = this.full(to);
    await this.makeFolder(nodePath.dirname(target));
    await this.wrap(from, () => fs.rename(this.full(from), target));
    await this.syncDir(nodePath.dirname(target));
  }

  async health(): Promise<LocationHealth> {
    const started = performance.now();
    try {
      await this.requireRoot();
      const st = await fs.statfs(this.root);
      return {
        reachable: true,
        latencyMs: Math.round((performance.now() - started) * 10) / 10,
        freeBytes: Number(st.bavail) * Number(st.bsize),
        error: null,
      };
    } catch (err) {
      return { reachable: false, latencyMs: null, freeBytes: null, error: (err as Error).message };
    }
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }

  /** mkdir -p below the root. A read-only file system makes Node's recursive mkdir report
   * ENOENT, not EROFS: since the root exists, say what it is. */
  private async makeFolder(dir: string): Promise<void> {
    try {
      await fs.mkdir(dir, { recursive: true });
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'EROFS')) {
        await this.requireRoot();
        throw new ShardvaultError('permission', `${this.display}: can't create folders here (read-only file system?)`, {
          cause: err,
        });
      }
      throw this.translate(nodePath.relative(this.root, dir), err);
    }
  }

  private async syncDir(dir: string): Promise<void> {
    // A rename is durable only once its directory is; some filesystems refuse fsync on a
    // directory (EINVAL, EISDIR on a few), and they do not need it.
    let handle;
    try {
      handle = await fs.open(dir, 'r');
      await handle.sync();
    } catch {
      // best effort, see above
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }

  private async wrap<T>(path: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw this.translate(path, err);
    }
  }

  private translate(path: string, err: unknown): Error {
    if (err instanceof ShardvaultError) return err;
    const where = `${this.display}: ${path}`;
    if (isCode(err, 'ENOENT')) return new NotFoundError(`${where} does not exist`, { cause: err });
    if (isCode(err, 'EACCES') || isCode(err, 'EPERM') || isCode(err, 'EROFS')) {
      return new ShardvaultError('permission', `${where}: permission denied (${(err as NodeJS.ErrnoException).code})`, {
        cause: err,
      });
    }
    if (isCode(err, 'ENOSPC') || isCode(err, 'EDQUOT')) {
      return new ShardvaultError('no-space', `${where}: the location is full`, { cause: err });
    }
    if (isCode(err, 'EIO') || isCode(err, 'ENXIO') || isCode(err, 'ENODEV')) {
      return new OfflineError(`${where}: device error (${(err as NodeJS.ErrnoException).code})`, { cause: err });
    }
    return new ShardvaultError('io', `${where}: ${(err as Error).message}`, { cause: err });
  }
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
