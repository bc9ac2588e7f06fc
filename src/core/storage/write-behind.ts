/**
 * Write-behind for a file that is fsynced once it is complete (a shard, a get's output):
 * every WRITE_BEHIND_BYTES written, an fdatasync of what is there so far starts while the
 * next bytes are still being written. The page cache then goes to disk during the stream,
 * and the final fsync after the last byte has only the tail left to write.
 *
 * It adds syncs, never removes one: the caller still fsyncs the file after its last byte,
 * then renames it into place and fsyncs the folder, exactly as without it. What it changes
 * is only when the bytes reach the disk, never what is committed before they have.
 *
 * A failed write-behind sync fails the file: Linux reports a writeback error to one fsync
 * only, and may then mark the pages clean, so the final fsync could succeed over bytes that
 * never reached the disk. `wrote` and `settle` throw the first failure.
 */
import type { FileHandle } from 'node:fs/promises';

/** How many bytes of a file are written between two write-behind syncs. */
export const WRITE_BEHIND_BYTES = 8 * 1024 * 1024;

/**
 * Write-behind syncs running at once, in the whole process. Each holds one thread of libuv's
 * pool (4 threads unless UV_THREADPOOL_SIZE says otherwise) for as long as the disk takes;
 * the writes and reads of the stream need the others. A file whose turn comes while none is
 * free syncs at its next write instead.
 */
export const WRITE_BEHIND_AT_ONCE = 2;

let running = 0;

export class WriteBehind {
  private pending = 0;
  private syncing: Promise<void> | null = null;
  private failure: Error | null = null;
  /** Write-behind syncs started on this file (for tests and reports). */
  started = 0;

  constructor(
    private readonly handle: Pick<FileHandle, 'datasync'>,
    private readonly every: number = WRITE_BEHIND_BYTES,
  ) {
    if (!Number.isSafeInteger(every) || every < 1) throw new RangeError(`every: ${every} is not a byte count`);
  }

  /** Call after each write of `bytes`: starts a sync when one is due, this file has none
   * running and the process has a free slot. Throws the failure of an earlier sync. */
  wrote(bytes: number): void {
    if (this.failure) throw this.failure;
    this.pending += bytes;
    if (this.pending < this.every || this.syncing !== null || running >= WRITE_BEHIND_AT_ONCE) return;
    this.pending = 0;
    running++;
    this.started++;
    this.syncing = this.handle.datasync().then(
      () => {
        running--;
        this.syncing = null;
      },
      (err: unknown) => {
        running--;
        this.syncing = null;
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      },
    );
  }

  /** Waits for the running sync, if any; throws the first failure. Before the final fsync
   * and before the handle is closed. */
  async settle(): Promise<void> {
    await this.syncing;
    if (this.failure) throw this.failure;
  }
}

/**
 * Writes all of `parts` at the handle's position with as few writev calls as the kernel
 * allows (it may take fewer bytes than asked; the rest goes again), and tells `behind`.
 * Returns the bytes written.
 */
export async function writeAll(
  handle: { writev(buffers: Uint8Array[]): Promise<{ bytesWritten: number }> },
  parts: readonly Uint8Array[],
  behind?: WriteBehind,
): Promise<number> {
  let views = parts.filter((p) => p.length > 0);
  let total = 0;
  while (views.length > 0) {
    const { bytesWritten } = await handle.writev(views);
    if (bytesWritten <= 0) throw new Error('the file system took no bytes');
    total += bytesWritten;
    behind?.wrote(bytesWritten);
    let skip = bytesWritten;
    while (skip > 0 && views.length > 0) {
      const head = views[0]!;
      if (skip >= head.length) {
        skip -= head.length;
        views = views.slice(1);
      } else {
        views = [head.subarray(skip), ...views.slice(1)];
        skip = 0;
      }
    }
  }
  return total;
}
