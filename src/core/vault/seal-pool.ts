/**
 * Runs a put's sealing (seal-segment.ts) and a get's opening (open-segment.ts) off the main
 * thread when the worker is bundled beside this code (out/cli/seal-worker.mjs,
 * out/main/seal-worker.js), else on the main thread, with the same code. Results come back
 * in the order the work was given. One worker per put or get: with two cores, the main
 * thread reads and writes while the worker codes, encrypts, decrypts and hashes.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { engineConfig } from '../config';
import { SegmentSealer, type SealedSegment, type SealFile } from './seal-segment';

export interface Sealer {
  seal(segment: Uint8Array, index: number, last: boolean): Promise<SealedSegment>;
  close(): Promise<void>;
}

/** The bundled worker, or null (running from source, or configured off: SHARDVAULT_NO_WORKER). */
export function workerPath(): string | null {
  if (!engineConfig().sealWorker) return null;
  for (const name of ['./seal-worker.mjs', './seal-worker.js']) {
    try {
      const path = fileURLToPath(new URL(name, import.meta.url));
      if (existsSync(path)) return path;
    } catch {
      return null;
    }
  }
  return null;
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

export function startWorker(path: string, what: string): WorkerHost {
  const worker = new Worker(path);
  const waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  let next = 0;
  let failure: Error | null = null;
  const failAll = (err: Error): void => {
    failure ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on('message', (m: { id: number; result?: unknown; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (!w) return;
    if (m.error === undefined) w.resolve(m.result);
    else w.reject(new Error(`${what} failed: ${m.error}`));
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`the ${what} worker stopped (exit ${code})`)));
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
      if (!failure) await request({ kind: 'end' }).catch(() => undefined);
      await worker.terminate();
    },
  };
}

export function createSealer(file: SealFile): Sealer {
  const path = workerPath();
  if (!path) {
    const sealer = new SegmentSealer(file);
    return { seal: (s, i, l) => Promise.resolve(sealer.seal(s, i, l)), close: () => Promise.resolve() };
  }
  const worker = startWorker(path, 'sealing');
  worker.post({ kind: 'file', file });
  return {
    // The segment's bytes move to the worker (no copy); the caller no longer owns them.
    seal: (segment, index, last) =>
      worker.request<SealedSegment>({ kind: 'segment', segment, index, last }, [segment.buffer as ArrayBuffer]),
    close: () => worker.close(),
  };
}
