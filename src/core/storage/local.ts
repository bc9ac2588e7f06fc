/**
 * A storage location that is a folder on this machine: a USB disk, a NAS mount, a
 * cloud-sync folder. A missing root folder means the location is offline (a disk that is
 * not plugged in); it is never silently re-created, or shards would land on the internal
 * disk under the mount point. Only createRoot makes it, when asked to (init), and only the
 * last folder, under a parent that is already a real folder.
 *
 * Folders never leave their root. Whoever can write the folder (a sync service, the other
 * users of a NAS share, the disk itself) may plant symbolic links: `keys -> ~/Documents`
 * would make a re-deal delete the documents. So below the root nothing is followed:
 *   - every folder on the way to an object is checked with lstat to be a real folder, not a
 *     link (a link or a file there is a ForeignObjectError; a read sees no object);
 *   - objects are opened with O_NOFOLLOW (and O_NONBLOCK, so a planted FIFO can't hang a
 *     read), and fstat must say regular file;
 *   - list lstats every entry and returns regular files only; it never descends;
 *   - delete removes a regular file only, and only a name the format makes (assertDeletable).
 * The root itself may be a link the user configured (/mnt/usb -> /media/...): it is resolved
 * once, when the node first reaches it, and trusted from then on.
 *
 * What remains (TOCTOU): Node has no openat(), so a folder is checked by path and then used
 * by path. A process that can write the location and wins the race between the lstat and
 * the call could swap a checked folder for a link; a put could then land outside the root,
 * and a delete could remove a file outside whose name is one the format makes (a 32-hex or
 * numeric name under a folder the attacker points at); the name rule holds whatever happens.
 * The final component is never raced: O_NOFOLLOW opens, O_EXCL creates, and rename/unlink
 * act on the link itself, not its target.
 */
import { constants as fsConstants, type Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { currentDurableBatch } from './durable-batch';
import { ForeignObjectError, NotFoundError, OfflineError, ShardvaultError, UsageError } from '../errors';
import {
  assertDeletable,
  assertObjectPath,
  assertRange,
  isObjectSegment,
  newTempPath,
  type LocationHealth,
  type ObjectInfo,
  type RootOutcome,
  type StorageNode,
} from './node';
import { FileObject } from './read-into';
import { WriteBehind, writeAll } from './write-behind';

// Windows has neither; there, links below the root are still refused by the lstat checks.
const NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;
const NONBLOCK = fsConstants.O_NONBLOCK ?? 0;
const DIRECTORY = fsConstants.O_DIRECTORY ?? 0;
/** A put's chunks smaller than this together wait for the next, to go in one writev. */
const HOLD_BELOW = 64 * 1024;

export class LocalFolderNode implements StorageNode {
  readonly kind = 'local' as const;
  readonly display: string;
  private readonly configured: string;
  /** The configured root with its links resolved, once reached (see the header). */
  private real: string | null = null;

  constructor(root: string) {
    this.configured = nodePath.resolve(root);
    this.display = this.configured;
  }

  /** The resolved root folder; OfflineError unless it exists and is a folder. */
  private async requireRoot(): Promise<string> {
    try {
      this.real ??= await fs.realpath(this.configured);
      // lstat: the resolved root is no link; one put there since is not followed either.
      const st = await fs.lstat(this.real);
      if (!st.isDirectory()) throw new OfflineError(`${this.display} is not a folder`);
      return this.real;
    } catch (err) {
      if (err instanceof ShardvaultError) throw err;
      throw new OfflineError(`${this.display} is not there (disk unplugged or folder removed)`, { cause: err });
    }
  }

  /**
   * The folder `rel` ('' for the root) as an absolute path, each level checked to be a real
   * folder below the root. Missing levels are made when `create`, else the answer is null.
   */
  private async folder(rel: string, create: boolean, root?: string): Promise<string | null> {
    let at = root ?? (await this.requireRoot());
    if (rel === '') return at;
    const parts = rel.split('/');
    for (let i = 0; i < parts.length; i++) {
      at = nodePath.join(at, parts[i]!);
      const shown = parts.slice(0, i + 1).join('/');
      let st: Stats;
      try {
        st = await fs.lstat(at);
      } catch (err) {
        if (!isCode(err, 'ENOENT')) throw this.translate(shown, err);
        if (!create) return null;
        await this.makeFolder(at, shown);
        st = await this.wrap(shown, () => fs.lstat(at));
      }
      if (!st.isDirectory()) throw this.foreign(shown, st, 'a folder');
    }
    return at;
  }

  /** The checked folder holding `path`, and the object's absolute path in it (below `root`
   * when the caller has just checked it). */
  private async place(path: string, create: boolean, root?: string): Promise<string | null> {
    const cut = path.lastIndexOf('/');
    const dir = await this.folder(cut < 0 ? '' : path.slice(0, cut), create, root);
    return dir === null ? null : nodePath.join(dir, cut < 0 ? path : path.slice(cut + 1));
  }

  /** `place` for a read: a link or file where a folder should be means no object there. */
  private async placeToRead(path: string): Promise<string | null> {
    try {
      return await this.place(path, false);
    } catch (err) {
      if (err instanceof ForeignObjectError) return null;
      throw err;
    }
  }

  async put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    assertObjectPath(path);
    const tempRel = newTempPath();
    const root = await this.requireRoot();
    const temp = (await this.place(tempRel, true, root))!;
    const target = (await this.place(path, true, root))!;
    // Inside a durable batch (durable-batch.ts) the two fsyncs wait for its flush.
    const batch = currentDurableBatch();
    let written = 0;
    try {
      await this.wrap(path, async () => {
        const handle = await fs.open(
          temp,
          fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | NOFOLLOW,
          0o600,
        );
        try {
          // Syncs every few MiB while the stream goes on (write-behind.ts), so the fsync
          // below, after the last byte, has only the tail to write.
          const behind = new WriteBehind(handle);
          try {
            if (data instanceof Uint8Array) {
              written = await writeAll(handle, [data], behind);
            } else {
              // Small chunks (a frame's tag) wait to go with the next one: one writev.
              let held: Uint8Array[] = [];
              let heldBytes = 0;
              for await (const chunk of data) {
                held.push(chunk);
                heldBytes += chunk.length;
                if (heldBytes < HOLD_BELOW) continue;
                written += await writeAll(handle, held, behind);
                held = [];
                heldBytes = 0;
              }
              written += await writeAll(handle, held, behind);
            }
          } catch (err) {
            // Not closed under a running sync; the put failed already.
            await behind.settle().catch(() => undefined);
            throw err;
          }
          await behind.settle(); // its failure fails the put (write-behind.ts)
          if (batch === undefined) await handle.sync();
        } finally {
          await handle.close();
        }
        // rename replaces what is at `target` (a planted link included) without following it.
        await fs.rename(temp, target);
      });
      if (batch === undefined) await this.syncDir(nodePath.dirname(target));
      else batch.record(nodePath.dirname(target), target);
      return written;
    } catch (err) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  async get(path: string): Promise<AsyncIterable<Uint8Array>> {
    // Open first so a missing object is reported now, not on first read. The stream owns
    // the handle and closes it once, when it ends or is destroyed.
    // A get reads it straight into its frame buffers (read-into.ts); others iterate it.
    const { handle, size } = await this.openToRead(path);
    return new FileObject(handle, size);
  }

  /** Opens a regular file below the root for reading, never through a link; and its size. */
  private async openToRead(path: string): Promise<{ handle: fs.FileHandle; size: number }> {
    assertObjectPath(path);
    const full = await this.placeToRead(path);
    if (full === null) throw new NotFoundError(`${this.display}: ${path} does not exist`);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(full, fsConstants.O_RDONLY | NOFOLLOW | NONBLOCK);
    } catch (err) {
      if (isCode(err, 'ELOOP')) {
        throw new NotFoundError(`${this.display}: ${path} is a symbolic link (not followed)`, { cause: err });
      }
      throw this.translate(path, err);
    }
    const st = await handle.stat().catch(async (err: unknown) => {
      await handle.close();
      throw this.translate(path, err);
    });
    if (!st.isFile()) {
      await handle.close();
      throw new NotFoundError(`${this.display}: ${path} is not a regular file`);
    }
    return { handle, size: st.size };
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    assertRange(offset, length);
    const { handle } = await this.openToRead(path);
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
    const full = await this.placeToRead(path);
    if (full === null) return null;
    try {
      const st = await fs.lstat(full);
      return st.isFile() ? { path, size: st.size, modifiedMs: st.mtimeMs } : null;
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return null;
      throw this.translate(path, err);
    }
  }

  async list(dir: string): Promise<ObjectInfo[]> {
    assertObjectPath(dir, true);
    let base: string | null;
    try {
      base = await this.folder(dir, false);
    } catch (err) {
      if (err instanceof ForeignObjectError) return [];
      throw err;
    }
    if (base === null) return [];
    let names: string[];
    try {
      names = await fs.readdir(base);
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return [];
      throw this.translate(dir, err);
    }
    const out: ObjectInfo[] = [];
    for (const name of names) {
      if (!isObjectSegment(name)) continue;
      const path = dir === '' ? name : `${dir}/${name}`;
      try {
        const st = await fs.lstat(nodePath.join(base, name));
        if (st.isFile()) out.push({ path, size: st.size, modifiedMs: st.mtimeMs });
      } catch (err) {
        if (!isCode(err, 'ENOENT')) throw this.translate(path, err);
      }
    }
    return out;
  }

  async delete(path: string): Promise<void> {
    assertDeletable(path, this.display);
    const full = await this.place(path, false);
    if (full === null) return;
    let st: Stats;
    try {
      st = await fs.lstat(full);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return;
      throw this.translate(path, err);
    }
    if (!st.isFile()) throw this.foreign(path, st, 'a regular file', 'not deleted');
    try {
      await fs.unlink(full);
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw this.translate(path, err);
    }
  }

  async health(): Promise<LocationHealth> {
    const started = performance.now();
    try {
      const root = await this.requireRoot();
      const st = await fs.statfs(root);
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

  async createRoot(confirm?: () => Promise<boolean>): Promise<RootOutcome> {
    const root = this.configured;
    const st = await lstatOrNull(root);
    if (st !== null) {
      if (st.isDirectory()) return 'present';
      // A link the user configured counts when it leads to a folder; it is never made through.
      if (st.isSymbolicLink() && (await fs.stat(root).catch(() => null))?.isDirectory()) return 'present';
      throw new ForeignObjectError(
        `${root} is ${st.isSymbolicLink() ? 'a symbolic link to nothing' : 'not a folder'}: not followed, nothing made`,
      );
    }
    const parent = nodePath.dirname(root);
    const above = parent === root ? null : await lstatOrNull(parent);
    if (above === null) throw new NotFoundError(`${parent} does not exist: is the disk mounted?`);
    if (above.isSymbolicLink()) {
      throw new ForeignObjectError(
        `${parent} is a symbolic link: ${nodePath.basename(root)} is not made through it ` +
          `(give the folder it points to, or make ${root} yourself)`,
      );
    }
    if (!above.isDirectory()) throw new ForeignObjectError(`${parent} is not a folder: ${root} can't be made in it`);
    if (confirm && !(await confirm())) throw new UsageError(`${root} does not exist (not created)`);
    // The question may take minutes, and whoever else writes the parent's own parent (a NAS
    // share, a sync folder) may meanwhile swap the parent for a link: the folder checked is
    // the one made in, before and after (what remains is the microseconds around mkdir; Node
    // has no mkdirat). A folder made through a swapped parent is said, never used nor removed.
    const swapped = (): ForeignObjectError =>
      new ForeignObjectError(
        `${parent} changed while ${nodePath.basename(root)} was being made (it is no longer the folder checked, ` +
          `or now a link): not followed; look at what is there now before trying again`,
      );
    /** Whether the parent is the very folder checked (not a link, not another folder since). */
    const sameFolder = (now: Stats | null): boolean =>
      now !== null && now.isDirectory() && now.dev === above.dev && now.ino === above.ino;
    if (!sameFolder(await lstatOrNull(parent))) throw swapped();
    let outcome: RootOutcome = 'created';
    try {
      // mkdir never follows a link at its last component: one planted meanwhile is EEXIST.
      await fs.mkdir(root, { mode: 0o700 });
    } catch (err) {
      if (isCode(err, 'EACCES') || isCode(err, 'EPERM') || isCode(err, 'EROFS')) {
        throw new ShardvaultError('permission', `can't make ${root}: permission denied`, { cause: err });
      }
      if (!isCode(err, 'EEXIST')) throw this.translate('', err);
      if (!(await lstatOrNull(root))?.isDirectory()) {
        throw new ForeignObjectError(`${root} appeared meanwhile and is not a folder: not followed`);
      }
      outcome = 'present';
    }
    if (!sameFolder(await lstatOrNull(parent))) throw swapped();
    return outcome;
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }

  /** One level of mkdir below a checked folder; one made meanwhile by someone else is fine
   * (the caller lstats it). A read-only file system says what it is. */
  private async makeFolder(dir: string, shown: string): Promise<void> {
    try {
      await fs.mkdir(dir);
    } catch (err) {
      if (isCode(err, 'EEXIST')) return;
      if (isCode(err, 'EROFS')) {
        throw new ShardvaultError('permission', `${this.display}: can't create folders here (read-only file system)`, {
          cause: err,
        });
      }
      throw this.translate(shown, err);
    }
  }

  private async syncDir(dir: string): Promise<void> {
    await syncDirectory(dir);
  }

  private foreign(path: string, st: Stats, wanted: string, outcome = 'not followed'): ForeignObjectError {
    const what = st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a folder' : 'not a regular file';
    return new ForeignObjectError(
      `${this.display}: ${path} is ${what} where the vault keeps ${wanted} (${outcome}); the vault never made it`,
    );
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

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await fs.lstat(path);
  } catch (err) {
    if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return null;
    throw err;
  }
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/**
 * Makes a rename in `dir` durable: fsync of the directory itself, never through a link. Some
 * filesystems refuse fsync on a directory (EINVAL, EISDIR on a few), and they do not need it.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await fs.open(dir, fsConstants.O_RDONLY | DIRECTORY | NOFOLLOW);
    await handle.sync();
  } catch {
    // best effort, see above
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
