/**
 * Opens a get's segments (SegmentOpener) in a worker thread when the worker is bundled and
 * the file is large enough, else on the main thread: the same code either way. Frames and
 * pieces move between the threads without copies where the buffers allow it.
 *
 * On the main thread the opener also hashes each segment as it decrypts it (FileHasher, the
 * parts still in cache). With a worker, the worker only authenticates, decrypts and rebuilds,
 * and this thread hashes the pieces that come back, in order: the worker was the busy thread
 * of a get (AES-GCM and SHA-256 one after the other) while this one mostly waited on reads
 * and writes, so each now does about half (docs/PERFORMANCE.md, "get, fifth sitting").
 *
 * One worker. A second one opening segments at the same time made degraded gets (Reed-
 * Solomon) faster, but each thread keeps its own garbage of decrypted buffers until its next
 * collection, and the peak memory of a 4 GiB degraded get went past the 256 MiB the issue
 * allows. With the hashing here, two workers took 300-400 ms of CPU each for a 256 MiB get
 * where one takes 500: more in all, and this thread, the busiest, no less.
 */
import {
  FileHasher,
  SegmentOpener,
  segmentCount,
  segmentLength,
  transferables,
  type OpenedFile,
  type OpenFile,
  type OpenJob,
  type OpenResult,
} from './open-segment';
import { startWorker, warmWorkers, workerPath } from './seal-pool';

export interface Opener {
  /** The job's frames belong to the opener from here on (it decrypts them in place); they come back in the result. */
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

/**
 * Starts the opening worker of a file of `size` bytes now, when its get will want one (the
 * same rule as createOpener, at the vault's segment size): its start-up then overlaps the
 * access log's entry, the manifest and the keys instead of following them. Small files
 * start none: an unused worker cost a 100 kB get a quarter more time.
 */
export function warmOpener(size: number, segmentSize: number, path: string | null = workerPath()): void {
  if (segmentCount(size, segmentSize) >= WORKER_MIN_SEGMENTS) warmWorkers(1, path);
}

/** `path`: the worker's bundle (found beside this code by default); null opens on this thread. */
export function createOpener(file: OpenFile, segments: number, path: string | null = workerPath()): Opener {
  if (!path || segments < WORKER_MIN_SEGMENTS) {
    const opener = new SegmentOpener(file, true);
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
  const hasher = new FileHasher();
  // Each result is hashed here as it comes, in the order the jobs were given, when it is the
  // next one: the worker only authenticates, decrypts and rebuilds, and this thread, which
  // mostly waits on reads and writes, hashes. As SegmentOpener.open does, a segment is
  // hashed only once every frame opened and every segment before it was hashed.
  let inOrder: Promise<unknown> = Promise.resolve();
  return {
    open: (job) => {
      const answer = worker.request<OpenResult>({ kind: 'open', job }, transferables(job.frames));
      const result = inOrder.then(async (): Promise<OpenResult> => {
        const r = await answer;
        if (r.kind !== 'opened') return r;
        const length = segmentLength(file.size, job.segment, file.segmentSize);
        return { ...r, hashed: hasher.addIfNext(job.segment, r.pieces, length) };
      });
      inOrder = result.catch(() => undefined);
      return result;
    },
    finish: async () => {
      await inOrder;
      return hasher.finish();
    },
    close: () => worker.close(),
  };
}
