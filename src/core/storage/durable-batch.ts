/**
 * Durability in one step for the many small objects of one commit (a `put DIR`): inside
 * `withDurableBatch`, a local folder's put writes its temporary file, renames it into place
 * and returns without its two fsyncs (the file's and its folder's), recording the folder it
 * wrote in; `flush` then makes everything recorded durable at once. The caller flushes before
 * the commit that names the objects, so the promise stays what it was: nothing is committed
 * before its bytes are on disk. A crash before the flush loses only objects no head names
 * (a torn one included), garbage for collection.
 *
 * On Linux the flush is `sync --file-system` (syncfs(2)) of each folder written in: one call
 * per file system writes back its dirty pages and commits its journal, as `sync` does after
 * `cp -r`, where 2 fsyncs per object made a tree of small files wait for the disk 12 times
 * per file (docs/PERFORMANCE.md). syncfs reports writeback errors since Linux 5.8, and its
 * failure fails the flush; without the command (or its option), and for a folder on a file
 * system whose syncfs is not known to reach its storage (SYNCFS_SHORT), the flush is an
 * fsync of every object and folder recorded, a few at a time, as it is on other systems.
 *
 * The batch rides on the calling async context (AsyncLocalStorage), so the wrappers between
 * the engine and a node (retry, breaker, lazy, checked) need not know about it, and other
 * operations of the same process keep their own fsyncs. A wrapper must await its turn (as
 * limit.ts's semaphore does), never run a queued call from another call's context, or the
 * call would carry the other's batch. Remote kinds ignore it: their put is durable when the
 * server answers.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { ShardvaultError } from '../errors';

const NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;
/**
 * statfs(2) types whose syncfs is not known to reach the storage behind them, where an fsync
 * does: FUSE (sshfs, rclone mount: the kernel asks the daemon to sync only for virtiofs, while
 * an fsync sends it FUSE_FSYNC), and the network file systems (SMB/CIFS, NFS, 9p, Ceph, AFS),
 * where an fsync is the documented flush to the server. A folder on one of them is fsynced
 * object by object.
 */
export const SYNCFS_SHORT = new Set([
  0x65735546, // FUSE
  0xff534d42, // CIFS
  0xfe534d42, // SMB2
  0x517b, // SMB
  0x6969, // NFS
  0x01021997, // 9p
  0x00c36400, // Ceph
  0x5346414f, // AFS
  0x6b414653, // kAFS
]);
/** fsyncs at once in the fallback: libuv's pool has 4 threads. */
const FSYNC_AT_ONCE = 4;

export class DurableBatch {
  /** Folder -> the objects written in it since the last flush. */
  private readonly written = new Map<string, string[]>();
  /** Folders and objects made durable by flushes so far, and how (for reports and tests). */
  readonly flushed = { folders: 0, objects: 0, syncfs: 0, fsyncs: 0 };

  private done = false;

  /** `fsTypeOf`: the statfs type of a folder (tests name another file system's). */
  constructor(
    private readonly fsTypeOf: (folder: string) => Promise<number> = async (folder) =>
      Number((await fs.statfs(folder)).type),
  ) {}

  /** A put in `folder` renamed `file` into place and left both to this batch. A batch flushes
   * once: recording after that is a bug, and fails the put rather than leave it unsynced. */
  record(folder: string, file: string): void {
    if (this.done) throw new Error(`${file} was written under a durable batch already flushed`);
    const files = this.written.get(folder);
    if (files) files.push(file);
    else this.written.set(folder, [file]);
  }

  /** Makes every object recorded durable, and its folder entry; throws if it can't. Once. */
  async flush(): Promise<void> {
    if (this.done) throw new Error('a durable batch flushes once');
    this.done = true;
    const batch = new Map(this.written);
    this.written.clear();
    if (batch.size === 0) return;
    const folders = [...batch.keys()];
    const objects = [...batch.values()].reduce((n, f) => n + f.length, 0);
    // syncfs only where it reaches the storage (SYNCFS_SHORT); a folder statfs can't tell
    // about is fsynced (gone since: the fsyncs say so, or skip what is gone).
    const byFsync: string[] = [];
    const bySyncfs: string[] = [];
    for (const folder of folders) {
      const type = process.platform === 'linux' ? await this.fsTypeOf(folder).catch(() => null) : null;
      (type === null || SYNCFS_SHORT.has(type) ? byFsync : bySyncfs).push(folder);
    }
    if (bySyncfs.length > 0) {
      if (await syncFileSystems(bySyncfs)) this.flushed.syncfs += bySyncfs.length;
      else byFsync.push(...bySyncfs);
    }
    if (byFsync.length > 0) {
      const files = byFsync.flatMap((folder) => batch.get(folder)!);
      await fsyncEach(files, false);
      await fsyncEach(byFsync, true);
      this.flushed.fsyncs += files.length + byFsync.length;
    }
    this.flushed.folders += folders.length;
    this.flushed.objects += objects;
  }
}

const current = new AsyncLocalStorage<DurableBatch>();

/** Runs `run` with local puts deferring their fsyncs to `batch` (flush it before committing). */
export function withDurableBatch<T>(batch: DurableBatch, run: () => Promise<T>): Promise<T> {
  return current.run(batch, run);
}

/** The batch the calling operation writes under, if any. */
export function currentDurableBatch(): DurableBatch | undefined {
  return current.getStore();
}

/**
 * `sync --file-system FOLDER...`: true once done; false when there is no such command or it
 * has no such option (coreutils before 8.24), and the caller falls back. Any other failure is
 * a writeback error the kernel reported, and fails the flush.
 */
function syncFileSystems(folders: readonly string[]): Promise<boolean> {
  return new Promise((resolve, reject) => {
    execFile('sync', ['--file-system', '--', ...folders], { timeout: 10 * 60_000 }, (err, _out, stderr) => {
      if (err === null) return resolve(true);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || /unrecognized|invalid|unknown/i.test(stderr))
        return resolve(false);
      reject(
        new ShardvaultError('io', `could not make the objects written durable: ${stderr.trim() || err.message}`, {
          cause: err,
        }),
      );
    });
  });
}

async function fsyncEach(paths: readonly string[], folders: boolean): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < paths.length) {
      const path = paths[next++]!;
      let handle: fs.FileHandle | undefined;
      try {
        handle = await fs.open(path, fsConstants.O_RDONLY | NOFOLLOW | (folders ? (fsConstants.O_DIRECTORY ?? 0) : 0));
        await handle.sync();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Gone since (the location deleted it: it is a lost shard like any other), or a folder
        // the file system can't fsync (it does not need it).
        if (code === 'ENOENT' || (folders && (code === 'EINVAL' || code === 'EISDIR'))) continue;
        throw new ShardvaultError('io', `${path}: could not be made durable: ${(err as Error).message}`, {
          cause: err,
        });
      } finally {
        await handle?.close().catch(() => undefined);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FSYNC_AT_ONCE, paths.length) }, lane));
}
