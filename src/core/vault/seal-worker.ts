/**
 * Worker thread entry: seals a put's segments (seal-segment.ts), or takes a put's whole-file
 * SHA-256 (seal-pool.ts, createFileHash), or opens and hashes a get's (open-segment.ts),
 * while the main thread reads and writes. Bundled beside the CLI and the
 * Electron main process; where it is not (tests from source), the same code runs on the main
 * thread instead (seal-pool.ts, open-pool.ts). A worker serves one put or one get at a time;
 * after its 'end' it holds nothing of it, and may serve the next (seal-pool.ts, the pool).
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { wipe } from '../crypto/bytes';
import { SegmentOpener, transferables, type OpenFile, type OpenJob } from './open-segment';
import { SegmentSealer, type SealFile } from './seal-segment';

type Message =
  | { kind: 'file'; file: SealFile }
  | { kind: 'segment'; id: number; segment: Uint8Array; index: number; last: boolean }
  | { kind: 'open-file'; file: OpenFile }
  | { kind: 'open'; id: number; job: OpenJob }
  | { kind: 'hash'; id: number; segment: Uint8Array }
  | { kind: 'hash-finish'; id: number }
  | { kind: 'end'; id: number };

let sealer: SegmentSealer | null = null;
let opener: SegmentOpener | null = null;
let keys: readonly (Uint8Array | null)[] = [];
let fileHash: Hash | null = null;

/** Answers request `id` with what `work` returns, moving its buffers back without a copy. */
function answer(id: number, work: () => { result: unknown; buffers?: readonly Uint8Array[] }): void {
  let reply: { result: unknown; buffers?: readonly Uint8Array[] };
  try {
    reply = work();
  } catch (err) {
    parentPort!.postMessage({ id, error: (err as Error).message });
    return;
  }
  parentPort!.postMessage({ id, result: reply.result }, transferables(reply.buffers ?? []));
}

parentPort?.on('message', (message: Message) => {
  switch (message.kind) {
    case 'file':
      sealer = new SegmentSealer(message.file);
      keys = message.file.keys;
      break;
    case 'segment':
      answer(message.id, () => {
        const sealed = sealer!.seal(message.segment, message.index, message.last);
        // The segment goes back too, to be read into again (write.ts, SegmentBuffers).
        return { result: { ...sealed, segment: message.segment }, buffers: [...sealed.bodies, message.segment] };
      });
      break;
    case 'open-file':
      opener = new SegmentOpener(message.file, true);
      keys = message.file.keys;
      break;
    case 'open':
      answer(message.id, () => {
        // Not hashed here: the thread that asked hashes the pieces, in order (open-pool.ts).
        const result = opener!.open(message.job);
        return { result, buffers: result.kind === 'opened' ? [...result.pieces, ...result.frames] : result.frames };
      });
      break;
    case 'hash':
      answer(message.id, () => {
        (fileHash ??= createHash('sha256')).update(message.segment);
        // The buffer goes back to be filled again: no garbage piles up in this thread.
        return { result: message.segment, buffers: [message.segment] };
      });
      break;
    case 'hash-finish':
      answer(message.id, () => {
        const digest = (fileHash ?? createHash('sha256')).digest('hex');
        fileHash = null;
        return { result: digest };
      });
      break;
    case 'end':
      // The work is over: nothing of it stays (the worker may serve another put or get).
      wipe(...keys);
      keys = [];
      sealer = null;
      opener = null;
      fileHash = null;
      parentPort!.postMessage({ id: message.id, result: null });
      break;
    default: {
      // A request this worker does not know (a worker of another build beside the code that
      // asked) is answered with an error: unanswered, its promise would wait for ever.
      const { id, kind } = message as { id?: unknown; kind?: unknown };
      if (typeof id === 'number') parentPort!.postMessage({ id, error: `no such request: ${String(kind)}` });
    }
  }
});
