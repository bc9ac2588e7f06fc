/**
 * The engine host's message channel: what a front process (`shardvault serve`, Electron's
 * main process) and the engine's own process (engine-host.ts) say to each other. Generic on
 * purpose: a call is its name from the call table (src/shared/ipc.ts, `engineCallNames`)
 * and its request, an answer is the value or a BridgeError, so a call added to the table
 * crosses the channel without a line here. Messages are structured-clone data (Node's
 * `serialization: 'advanced'`, Electron's postMessage): Uint8Array and Map cross as they are.
 *
 * Besides calls: the bytes of putStream and putTreeStream, progress events, and the front's credential store (the
 * desktop app's OS keystore lives in the main process; the engine asks it to load and save).
 *
 * putStream's bytes take a byte pipe of their own where the carrier has one (a Node child's
 * fd 3): the message channel serializes every message, which cost the front ~5 ms of CPU
 * per MiB (an upload of 1 GiB: ~5 s on the thread that answers the UI), a plain pipe
 * ~0.4 ms. On the pipe each piece is a frame, `id` (u32 BE), `length` (u32 BE), then that
 * many bytes; length 0 ends the stream. Without a pipe (Electron) they travel as `chunk`
 * and `end` messages. Either way the host says `ack` with the bytes it has taken (0 first:
 * the stream is open, send), so at most STREAM_WINDOW bytes wait on the way.
 */
import type { ProgressEvent } from '../shared/api';
import type { BridgeError, EngineCallName, StreamCallName } from '../shared/ipc';
import type { KdfParams } from '../core/crypto/kdf';
import type { LocationSecrets } from '../core/storage/kinds';

/** What the front may choose of the engine's options (AppOptions, less the store itself). */
/** What the front hears of the engine besides answers and progress. */
export interface EngineHooks {
  /** The drive (`startDrive`) answered a request. */
  readonly onDriveActivity?: () => void;
}

export interface HostOptions {
  readonly profileDir: string;
  /** The front keeps a credential store: the engine asks it over the channel. */
  readonly credentials?: boolean;
  /** Tests only (AppOptions.insecureKdf): `serve` and the desktop app never set it. */
  readonly insecureKdf?: KdfParams;
  readonly segmentSize?: number;
  readonly completeEveryMs?: number;
}

/** Bytes of putStream the front sends ahead of what the host has read. */
export const STREAM_WINDOW = 16 * 2 ** 20;

export type StoredCredentials = ReadonlyMap<string, LocationSecrets>;

/** A call; one that takes a stream (StreamCallName) carries its request without `data`. */
export type CallName = EngineCallName | StreamCallName;

/** The calls whose bytes follow their request (STREAM_WINDOW, the byte pipe). */
export const STREAM_CALLS: readonly StreamCallName[] = ['putStream', 'putTreeStream'];
export const isStreamCall = (name: string): name is StreamCallName =>
  (STREAM_CALLS as readonly string[]).includes(name);

export type ToHost =
  | { readonly t: 'init'; readonly options: HostOptions }
  | { readonly t: 'call'; readonly id: number; readonly name: CallName; readonly request: unknown }
  | { readonly t: 'chunk'; readonly id: number; readonly data: Uint8Array }
  | { readonly t: 'end'; readonly id: number }
  | { readonly t: 'abort'; readonly id: number; readonly message: string }
  | { readonly t: 'credentials'; readonly id: number; readonly value: StoredCredentials | null }
  | { readonly t: 'close' };

export type FromHost =
  | { readonly t: 'ready' }
  | { readonly t: 'result'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly t: 'result'; readonly id: number; readonly ok: false; readonly error: BridgeError }
  | { readonly t: 'ack'; readonly id: number; readonly bytes: number }
  | { readonly t: 'progress'; readonly event: ProgressEvent }
  /** The drive answered a request: use of the vault, which postpones the front's auto-lock. */
  | { readonly t: 'drive-activity' }
  | { readonly t: 'load-credentials'; readonly id: number }
  | { readonly t: 'save-credentials'; readonly id: number; readonly value: StoredCredentials }
  | { readonly t: 'closed' };

/** One end of the channel, whatever carries it (a Node IPC pipe, an Electron MessagePort). */
export interface Port<In, Out> {
  post(message: Out): void;
  onMessage(listener: (message: In) => void): void;
}

/** Set in a Node child's environment when fd 3 is the byte pipe. */
export const DATA_FD_ENV = 'SHARDVAULT_ENGINE_DATA_FD';

/** A byte-pipe frame's header: stream id and payload length. */
export const FRAME_HEADER = 8;

export function frameHeader(id: number, length: number): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER);
  const view = new DataView(header.buffer);
  view.setUint32(0, id);
  view.setUint32(4, length);
  return header;
}

/**
 * Cuts a byte pipe into frames: feed it what the pipe delivers, in order; `deliver` gets
 * each frame's id and payload (empty: the stream's end).
 */
export class FrameReader {
  /** What arrived and is not delivered yet: pieces[head..], the first one from `offset`. */
  private pieces: Uint8Array[] = [];
  private head = 0;
  private offset = 0;
  private pendingBytes = 0;
  private header: { id: number; length: number } | null = null;

  constructor(private readonly deliver: (id: number, payload: Uint8Array) => void) {}

  push(bytes: Uint8Array): void {
    this.pieces.push(bytes);
    this.pendingBytes += bytes.byteLength;
    for (;;) {
      if (!this.header) {
        if (this.pendingBytes < FRAME_HEADER) break;
        const h = this.take(FRAME_HEADER);
        const view = new DataView(h.buffer, h.byteOffset, FRAME_HEADER);
        this.header = { id: view.getUint32(0), length: view.getUint32(4) };
      }
      if (this.pendingBytes < this.header.length) break;
      const { id, length } = this.header;
      this.header = null;
      this.deliver(id, this.take(length));
    }
    if (this.head > 64 && this.head * 2 > this.pieces.length) {
      this.pieces = this.pieces.slice(this.head);
      this.head = 0;
    }
  }

  /** The next `n` bytes, as a view of what arrived when they lie in one piece. */
  private take(n: number): Uint8Array {
    this.pendingBytes -= n;
    const first = this.pieces[this.head];
    if (first && first.byteLength - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n);
      this.advance(first, n);
      return out;
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const piece = this.pieces[this.head]!;
      const used = Math.min(piece.byteLength - this.offset, n - at);
      out.set(piece.subarray(this.offset, this.offset + used), at);
      at += used;
      this.advance(piece, used);
    }
    return out;
  }

  private advance(piece: Uint8Array, used: number): void {
    this.offset += used;
    if (this.offset === piece.byteLength) {
      this.head++;
      this.offset = 0;
    }
  }
}
