/**
 * Opens a get's segments (SegmentOpener, with the file's FileHasher) in a worker thread when
 * the worker is bundled and the file is large enough, else on the main thread: the same code
 * either way. Frames and pieces move between the threads without copies where the buffers
 * allow it.
 *
 * One worker, which also hashes. A second one opening segments at the same time made
 * degraded gets (Reed-Solomon) faster, but each thread keeps its own garbage of decrypted
 * buffers until its next collection, and the peak memory of a 4 GiB degraded get went past
 * the 256 MiB the issue allows.
 */
import {
  FileHasher,
  SegmentOpener,
  transferables,
  type OpenedFile,
  type OpenFile,
  type OpenJob,
  type OpenResult,
} from './open-segment';
import { startWorker, workerPath } from './seal-pool';

export interface Opener {
  /** The job's frames (and spares) belong to the opener from here on; they come back in the result. */
  open(job: OpenJob): Promise<OpenResult>;
  /** After the last segment: how many were hashed, and the hash. */
  finish(): Promise<OpenedFile>;
  close(): Promise<void>;
}

/**
 * Files of fewer segments are opened on the main thread. A worker takes ~40 ms to start (on
 * the 2-core machine measured) and ~10 % more CPU in all, for buffers handed over and pieces
 * copied out; what it saves is the overlap of decrypting and hashing with reading and
 * writing, some 0.3 ms per MiB when the second core is free. Gets of 32 to 128 MiB (4 MiB
 * segments) were slower with it, 1 GiB ones faster.
 */
export const WORKER_MIN_SEGMENTS = 64;

/** `path`: the worker's bundle (found beside this code by default); null opens on this thread. */
export function createOpener(file: OpenFile, segments: number, path: string | null = workerPath()): Opener {
  if (!path || segments < WORKER_MIN_SEGMENTS) {
    const opener = new SegmentOpener(file);
    const hasher = new FileHasher();
    return {
      open: (job) => new Promise((resolve) => resolve(opener.open(job, hasher))),
      finish: () => new Promise((resolve) => resolve(hasher.finish())),
      close: () => Promise.resolve(),
    };
  }
  const worker = startWorker(path, 'opening');
  // The worker gets its own copy of the keys, and wipes it at close.
  worker.post({ kind: 'open-file', file });
  return {
    open: (job) =>
      worker.request<OpenResult>({ kind: 'open', job }, transferables([...job.frames, ...(job.spares ?? [])])),
    finish: () => worker.request<OpenedFile>({ kind: 'finish' }),
    close: () => worker.close(),
  };
}
