/**
 * What the thread that holds SFTP locations (worker-node.ts) and the worker that runs their
 * SSH connections (worker.ts) say to each other. A worker may carry several locations, each
 * opened under a number (`node`). Every call has an id; its answer is `done`
 * or `fail` (the error as errors.ts WireError: the same class and fields on this side). Bytes
 * move with transfer lists: a put's chunks as they come, bounded by PUT_QUEUE_BYTES not yet
 * taken by the worker (`took`); a get's pieces as the reader grants credit (`more`).
 */
import type { WireError } from '../../errors';
import type { SftpOptions } from './options';

/** The options as the worker gets them: the host key question is asked of the owning thread. */
export type WorkerOptions = Omit<SftpOptions, 'onUnknownHostKey'> & { readonly asksHostKey: boolean };

export type Call =
  /** `bytes` null: the data follows as `chunk` messages, then `end` (or `abort`). */
  | { readonly op: 'put'; readonly path: string; readonly bytes: Uint8Array | null }
  | { readonly op: 'get'; readonly path: string; readonly credit: number }
  | { readonly op: 'readRange'; readonly path: string; readonly offset: number; readonly length: number }
  | { readonly op: 'stat'; readonly path: string }
  | { readonly op: 'list'; readonly dir: string }
  | { readonly op: 'delete'; readonly path: string }
  | { readonly op: 'health' }
  | { readonly op: 'createRoot'; readonly confirm: boolean }
  /** Closes the location and forgets it; the worker goes on for the others. */
  | { readonly op: 'close' };

export type ToWorker =
  | { readonly t: 'open'; readonly node: number; readonly options: WorkerOptions }
  | { readonly t: 'call'; readonly id: number; readonly node: number; readonly call: Call }
  | { readonly t: 'chunk'; readonly id: number; readonly bytes: Uint8Array }
  | { readonly t: 'end'; readonly id: number }
  /** The put's data source failed: the put discards its object and fails with `source`. */
  | { readonly t: 'abort'; readonly id: number }
  | { readonly t: 'more'; readonly id: number; readonly n: number }
  /** The get's reader stopped early: the file is closed, then `end`. */
  | { readonly t: 'stop'; readonly id: number }
  | { readonly t: 'answer'; readonly ask: number; readonly ok: boolean; readonly error?: WireError };

export type FromWorker =
  | { readonly t: 'done'; readonly id: number; readonly value: unknown }
  /** `source`: the put failed because its data source did (the owning thread has that error). */
  | { readonly t: 'fail'; readonly id: number; readonly error: WireError; readonly source?: boolean }
  | { readonly t: 'took'; readonly id: number; readonly bytes: number }
  /** A put chunk's buffer, which no write needs any more, back to be filled again. */
  | { readonly t: 'free'; readonly node: number; readonly bytes: Uint8Array }
  | { readonly t: 'data'; readonly id: number; readonly bytes: Uint8Array }
  | { readonly t: 'end'; readonly id: number }
  | {
      readonly t: 'ask';
      readonly ask: number;
      readonly node: number;
      readonly what: 'host-key';
      readonly fingerprint: string;
    }
  | { readonly t: 'ask'; readonly ask: number; readonly node: number; readonly what: 'confirm'; readonly id: number };

/** Bytes of a put's data sent to the worker and not yet taken by its writes. */
export const PUT_QUEUE_BYTES = 4 << 20;
/** Pieces (256 KiB, channel.ts PIECE) a get's worker may send ahead of its reader. */
export const GET_CREDIT = 8;

/** Buffers no larger than this may be slices of Node's shared pool, which can't move. */
export const POOL_BYTES = 8192;

/**
 * `bytes` ready to post, with what to transfer: bytes this thread owns move without a copy
 * (`owned`: nothing else holds their buffer), others (a caller's, which it may reuse or send
 * elsewhere too) are copied once into a buffer of their own, which moves.
 */
export function movable(
  bytes: Uint8Array,
  owned: boolean,
  spare: (length: number) => Uint8Array | null = () => null,
): { bytes: Uint8Array; transfer: ArrayBuffer[] } {
  if (owned && bytes.buffer instanceof ArrayBuffer && bytes.buffer.byteLength > POOL_BYTES) {
    return { bytes, transfer: [bytes.buffer] };
  }
  if (bytes.length === 0) return { bytes: new Uint8Array(0), transfer: [] };
  // A buffer that came back (`free`) costs no fresh memory: a new one faults in page by page.
  const copy = spare(bytes.length) ?? Buffer.allocUnsafeSlow(bytes.length);
  copy.set(bytes);
  return { bytes: copy, transfer: [copy.buffer as ArrayBuffer] };
}
