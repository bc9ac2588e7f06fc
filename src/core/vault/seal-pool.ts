/**
 * Runs a put's sealing (seal-segment.ts) and a get's opening (open-segment.ts) off the main
 * thread when the worker is bundled beside this code (out/cli/seal-worker.mjs,
 * out/main/seal-worker.js), else on the main thread, with the same code. Results come back
 * in the order the work was given. One worker per put or get at a time: with two cores, the
 * main thread reads and writes while the worker codes, encrypts, decrypts and hashes; a
 * worker whose work ended cleanly waits in a small pool for the next (startWorker).
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { engineConfig } from '../config';
import { bundledBeside } from '../bundled';
import { ownBuffer } from './open-segment';
import { SegmentSealer, type SealedSegment, type SealFile } from './seal-segment';

export interface Sealer {
  /** The segment's buffer belongs to the sealer until the result, which hands it back
   * (`segment`) for the next segment to be read into. */
  seal(segment: Uint8Array, index: number, last: boolean): Promise<SealedSegment & { readonly segment: Uint8Array }>;
  close(): Promise<void>;
}

/** The bundled worker, or null (running from source, or configured off: SHARDVAULT_NO_WORKER). */
export function workerPath(): string | null {
  if (!engineConfig().sealWorker) return null;
  return bundledBeside(import.meta.url, ['./seal-worker.mjs', './seal-worker.js']);
}

/** A worker that answers requests ({ id, ... } in, { id, result } or { id, error } out) in order. */
export interface WorkerHost {
  /** A message without an answer (the worker's setup). */
  post(message: object, transfer?: readonly ArrayBuffer[]): void;
  request<T>(message: object, transfer?: readonly ArrayBuffer[]): Promise<T>;
  /** Requests not answered yet. */
  readonly queued: number;
  /** Asks the worker to wipe what it holds ({ kind: 'end' }), then stops it. */
  close(): Promise<void>;
}

/**
 * Idle workers, unreferenced until taken: started ahead of need (warmWorkers), or given back
 * by a put or get that ended cleanly (close), for the next one in a process that lives on
 * (the engine host, serve, the app, a folder's restore). A worker given back has wiped what
 * it held ({ kind: 'end' }) and has its JIT and its allocator's memory warm: the first
 * segments of a new worker cost ~40 ms each in fresh memory (docs/PERFORMANCE.md).
 */
const warm: { path: string; worker: Worker; idle?: NodeJS.Timeout }[] = [];

/** Idle workers of one bundle kept at most; an idle one is stopped after IDLE_MS. */
const KEEP_IDLE = 2;
const IDLE_MS = 30_000;

/** Workers whose pool listeners are on (once each). */
const tracked = new WeakSet<Worker>();

/** While idle: an error is the exit's to report, and an exit takes the worker out of the pool. */
function track(worker: Worker): void {
  if (tracked.has(worker)) return;
  tracked.add(worker);
  worker.on('error', () => undefined);
  worker.once('exit', () => {
    const at = warm.findIndex((w) => w.worker === worker);
    if (at >= 0) {
      clearTimeout(warm[at]!.idle);
      warm.splice(at, 1);
    }
  });
}

/**
 * Starts `count` workers now, so that their start-up (~100 ms of CPU on a 2-core machine)
 * overlaps what comes before the work (the KDF, the head, the manifest) instead of following
 * it. Idle, they do not keep the process alive; startWorker takes them.
 */
export function warmWorkers(count: number, path: string | null = workerPath()): void {
  if (!path) return;
  for (let i = warmCount(path); i < count; i++) {
    const worker = new Worker(path);
    worker.unref();
    track(worker);
    warm.push({ path, worker });
  }
}

/** A worker that ended its work cleanly goes back to the pool (or stops, the pool being full). */
async function giveBack(path: string, worker: Worker): Promise<void> {
  if (warmCount(path) >= KEEP_IDLE) {
    await worker.terminate();
    return;
  }
  worker.unref();
  track(worker);
  const idle = setTimeout(() => void worker.terminate(), IDLE_MS);
  idle.unref();
  warm.push({ path, worker, idle });
}

/** Stops the idle workers of `path` (they hold nothing; this frees their memory). */
export async function stopIdleWorkers(path: string): Promise<void> {
  const idle = warm.filter((w) => w.path === path);
  for (const w of idle) {
    clearTimeout(w.idle);
    warm.splice(warm.indexOf(w), 1);
  }
  await Promise.all(idle.map((w) => w.worker.terminate()));
}

/** Idle workers of `path` in the pool. */
export function warmCount(path: string): number {
  return warm.filter((w) => w.path === path).length;
}

export function startWorker(path: string, what: string): WorkerHost {
  const at = warm.findIndex((w) => w.path === path);
  const taken = at >= 0 ? warm.splice(at, 1)[0]! : null;
  clearTimeout(taken?.idle);
  const worker = taken?.worker ?? new Worker(path);
  worker.ref();
  const waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  let next = 0;
  let failure: Error | null = null;
  const failAll = (err: Error): void => {
    failure ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  const onMessage = (m: { id: number; result?: unknown; error?: string }): void => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (!w) return;
    if (m.error === undefined) w.resolve(m.result);
    else w.reject(new Error(`${what} failed: ${m.error}`));
  };
  const onExit = (code: number): void => failAll(new Error(`the ${what} worker stopped (exit ${code})`));
  worker.on('message', onMessage);
  worker.on('error', failAll);
  // An answer that can't be deserialized would otherwise leave its request waiting for ever.
  worker.on('messageerror', failAll);
  worker.on('exit', onExit);
  const request = <T>(message: object, transfer: readonly ArrayBuffer[] = []): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const id = next++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (r: unknown) => void, reject });
      worker.postMessage({ ...message, id }, transfer as ArrayBuffer[]);
    });
  };
  return {
    post: (message, transfer = []) => worker.postMessage(message, transfer as ArrayBuffer[]),
    request,
    get queued() {
      return waiting.size;
    },
    async close() {
      // 'end' is answered after every request before it: the worker then holds nothing.
      const ended = failure
        ? false
        : await request({ kind: 'end' }).then(
            () => true,
            () => false,
          );
      worker.off('message', onMessage);
      worker.off('error', failAll);
      worker.off('messageerror', failAll);
      worker.off('exit', onExit);
      if (ended && !failure) await giveBack(path, worker);
      else await worker.terminate();
    },
  };
}

export function createSealer(file: SealFile, opts: { inline?: boolean } = {}): Sealer {
  // A small file is sealed on this thread: starting a worker costs more than its one segment.
  const path = opts.inline ? null : workerPath();
  if (!path) {
    const sealer = new SegmentSealer(file);
    // The frame bodies are the cipher's own buffers: the segment is free once sealed.
    return {
      seal: (s, i, l) => Promise.resolve({ ...sealer.seal(s, i, l), segment: s }),
      close: () => Promise.resolve(),
    };
  }
  const worker = startWorker(path, 'sealing');
  worker.post({ kind: 'file', file });
  return {
    // The segment's bytes move to the worker (no copy) and come back with its frames.
    seal: (segment, index, last) =>
      worker.request<SealedSegment & { segment: Uint8Array }>({ kind: 'segment', segment, index, last }, [
        segment.buffer as ArrayBuffer,
      ]),
    close: () => worker.close(),
  };
}

/** A put's whole-file SHA-256, fed its segments in order. */
export interface FileHash {
  /** Takes the segment's bytes now (the caller may hand the segment on); resolves when few enough wait. */
  update(segment: Uint8Array): Promise<void>;
  /** After the last update: the hex digest. */
  digest(): Promise<string>;
  close(): Promise<void>;
}

/** Segments a hashing worker may hold before update waits. */
const HASH_QUEUE = 4;

/**
 * The whole-file SHA-256 of a put on a worker thread of its own when the worker is bundled
 * and the file has more than one segment, else on this thread. It was 27 % of a put's main
 * thread (docs/PERFORMANCE.md); in its own worker it runs beside the sealing worker and the
 * main thread's reads and writes. The segment itself moves to the sealing worker, so the
 * hashing worker gets a copy (a memcpy costs this thread a fraction of what hashing did),
 * in one of a few buffers that travel there and back: a buffer left as garbage in the
 * worker would wait for that thread's next collection, and a put's peak memory grew by
 * ~70 MiB that way. A file of one segment is hashed here: starting a worker would cost more.
 */
export function createFileHash(path: string | null = workerPath()): FileHash {
  const here = createHash('sha256');
  let worker: WorkerHost | null = null;
  // The first segment, kept until a second one shows the file is worth a worker.
  let held: Uint8Array | null = null;
  const waiting: Promise<unknown>[] = [];
  const free: Uint8Array[] = [];
  const copyOf = (segment: Uint8Array): Uint8Array => {
    const reused = free.pop();
    const copy = reused && reused.length === segment.length ? reused : ownBuffer(segment.length);
    copy.set(segment);
    return copy;
  };
  const send = (bytes: Uint8Array): void => {
    const transfer = bytes.length > 0 ? [bytes.buffer as ArrayBuffer] : [];
    const done = worker!.request<Uint8Array>({ kind: 'hash', segment: bytes }, transfer).then((back) => {
      if (free.length < HASH_QUEUE) free.push(back);
    });
    done.catch(() => undefined); // awaited by update or digest, in order
    waiting.push(done);
  };
  return {
    async update(segment) {
      if (!path) {
        here.update(segment);
        return;
      }
      const copy = copyOf(segment);
      if (!worker) {
        if (!held) {
          held = copy;
          return;
        }
        worker = startWorker(path, 'hashing');
        send(held);
        held = null;
      }
      send(copy);
      if (waiting.length > HASH_QUEUE) await waiting.shift();
    },
    async digest() {
      if (!worker) {
        if (held) here.update(held);
        held = null;
        return here.digest('hex');
      }
      await Promise.all(waiting.splice(0));
      return worker.request<string>({ kind: 'hash-finish' });
    },
    close: () => {
      free.length = 0;
      return worker ? worker.close() : Promise.resolve();
    },
  };
}
