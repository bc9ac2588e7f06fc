/**
 * Seals segments off the main thread when the seal worker is bundled beside this code
 * (out/cli/seal-worker.mjs, out/main/seal-worker.mjs), else on the main thread. Results come
 * back in the order segments were given. One worker per put: with two cores, the main
 * thread reads, hashes and writes while the worker codes and encrypts.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SegmentSealer, type SealedSegment, type SealFile } from './seal-segment';

export interface Sealer {
  seal(segment: Uint8Array, index: number, last: boolean): Promise<SealedSegment>;
  close(): Promise<void>;
}

function workerPath(): string | null {
  if (process.env['SHARDVAULT_NO_WORKER']) return null;
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

export function createSealer(file: SealFile): Sealer {
  const path = workerPath();
  if (!path) {
    const sealer = new SegmentSealer(file);
    return { seal: (s, i, l) => Promise.resolve(sealer.seal(s, i, l)), close: () => Promise.resolve() };
  }
  const worker = new Worker(path);
  const waiting = new Map<number, { resolve: (s: SealedSegment) => void; reject: (e: Error) => void }>();
  let next = 0;
  let failure: Error | null = null;
  const failAll = (err: Error): void => {
    failure ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on('message', (m: { id: number; sealed?: SealedSegment; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (!w) return;
    if (m.sealed) w.resolve(m.sealed);
    else w.reject(new Error(`sealing failed: ${m.error ?? 'unknown'}`));
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => {
    if (code !== 0) failAll(new Error(`the seal worker stopped (exit ${code})`));
  });
  worker.postMessage({ kind: 'file', file });
  return {
    seal(segment, index, last) {
      if (failure) return Promise.reject(failure);
      const id = next++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        // The segment's bytes move to the worker (no copy); the caller no longer owns them.
        worker.postMessage({ kind: 'segment', id, segment, index, last }, [segment.buffer as ArrayBuffer]);
      });
    },
    async close() {
      worker.postMessage({ kind: 'end' });
      await worker.terminate();
    },
  };
}
