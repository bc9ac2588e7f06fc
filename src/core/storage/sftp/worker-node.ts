/**
 * An SFTP location whose SSH connection runs on a worker thread (worker.ts), with the
 * StorageNode interface of node.ts: the thread that holds it only moves bytes and answers.
 * With five SFTP locations, ssh2's framing, encryption and socket writes for all five
 * otherwise share the CLI's one main thread, which then bounds a put (docs/PERFORMANCE.md).
 * Each location gets a worker of its own up to one less than the cores, then they share
 * (THREADS). Running from source the worker is not bundled, and the kind opens node.ts on
 * this thread instead (kinds/sftp.ts).
 *
 * Errors come back as the same classes with the same fields (errors.ts WireError). A worker
 * that stops (a crash) fails the calls in flight with OfflineError; the next call opens the
 * location on a new one, as a dropped connection is reopened. A worker keeps the process
 * alive only while a call waits for it: an idle location never holds the process open, and
 * closing a worker's last location ends the thread. This module loads no ssh2: a vault of
 * folders never pays for it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { fromWireError, OfflineError, toWireError } from '../../errors';
import { bundledBeside } from '../../bundled';
import {
  assertDeletable,
  assertObjectPath,
  assertRange,
  type LocationHealth,
  type ObjectInfo,
  type RootOutcome,
  type StorageNode,
  unreachable,
} from '../node';
import { nextChunk, SourceError } from '../source';
import { Wakeup } from '../../wakeup';
import { checkSftpOptions, closedError, type SftpOptions } from './options';
import {
  GET_CREDIT,
  movable,
  PUT_QUEUE_BYTES,
  type Call,
  type FromWorker,
  type ToWorker,
  type WorkerOptions,
} from './worker-protocol';

/** How long close waits for the worker to end its connection politely before it stops the thread. */
const CLOSE_WAIT_MS = 5000;

/** The bundled worker (beside this code, or beside the chunk's folder), or null running from source. */
export function sftpWorkerPath(): string | null {
  return bundledBeside(import.meta.url, ['./sftp-worker.mjs', './sftp-worker.js', '../sftp-worker.js']);
}

/** What receives a call's messages: its answer, and a stream's bytes or credit. */
interface Receiver {
  message(m: FromWorker): void;
  /** The worker stopped: `err` is the OfflineError for what is still waiting. */
  death(err: OfflineError): void;
}

/** A location a worker carries: what its questions and returned buffers go to. */
interface Member {
  readonly display: string;
  answer(m: Extract<FromWorker, { t: 'ask' }>): Promise<boolean>;
  freed(bytes: Uint8Array): void;
}

/**
 * Worker threads at most, per worker file: one per location up to one less than the cores,
 * then locations share them. Each thread costs a Node start, its own load of ssh2 and its own
 * warm-up of ssh2's code: on two cores a thread per location (five) cost a put about 2.5 s
 * more CPU than one shared (docs/PERFORMANCE.md).
 */
const THREADS = Math.max(1, availableParallelism() - 1);
const running = new Map<string, Thread[]>();

/** A worker for a new location: a new one while there are fewer than THREADS, else the least busy. */
function threadFor(path: string): Thread {
  const live = (running.get(path) ?? []).filter((t) => t.dead === null && !t.stopping);
  running.set(path, live);
  if (live.length < THREADS) {
    const thread = new Thread(path, () =>
      running.set(
        path,
        (running.get(path) ?? []).filter((t) => t !== thread),
      ),
    );
    live.push(thread);
    return thread;
  }
  return live.reduce((a, b) => (b.members.size < a.members.size ? b : a));
}

/** One worker thread, the locations it carries and the calls waiting on it. */
class Thread {
  private readonly worker: Worker;
  private readonly receivers = new Map<number, { readonly node: number; readonly receiver: Receiver }>();
  readonly members = new Map<number, Member>();
  private next = 0;
  private nextNode = 0;
  /** Waits in progress on this thread (the worker holds the process alive only while > 0). */
  private waits = 0;
  dead: OfflineError | null = null;
  /** Its last location is closing: no new one joins. */
  stopping = false;

  constructor(
    path: string,
    private readonly gone: () => void,
  ) {
    this.worker = new Worker(path);
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => this.receive(m));
    this.worker.on('error', (err) => this.die(err.message, err));
    this.worker.on('messageerror', (err) => this.die(err.message, err));
    this.worker.on('exit', (code) => this.die(`exit ${code}`));
  }

  /** Opens a location on this worker; its number. */
  join(member: Member, options: WorkerOptions): number {
    const node = this.nextNode++;
    this.members.set(node, member);
    this.post({ t: 'open', node, options });
    return node;
  }

  /** Closes location `node` (its connection ends, its calls fail); the last one out stops the thread. */
  async leave(node: number): Promise<void> {
    if (this.dead === null) {
      if (this.members.size === 1) this.stopping = true;
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
      await Promise.race([this.request(node, { op: 'close' }).catch(() => undefined), waited]);
      clearTimeout(timer);
    }
    this.members.delete(node);
    for (const [id, r] of [...this.receivers]) {
      if (r.node !== node) continue;
      this.receivers.delete(id);
      r.receiver.death(closedOffline(this.display(node)));
    }
    if (this.members.size === 0 && !this.dead) {
      this.stopping = true;
      await this.worker.terminate();
      this.die('closed');
    }
  }

  post(message: ToWorker, transfer: readonly ArrayBuffer[] = []): void {
    if (!this.dead) this.worker.postMessage(message, transfer as ArrayBuffer[]);
  }

  /** Runs `wait` with the worker holding the process alive meanwhile. */
  async hold<T>(wait: Promise<T>): Promise<T> {
    if (this.waits++ === 0 && !this.dead) this.worker.ref();
    try {
      return await wait;
    } finally {
      if (--this.waits === 0 && !this.dead) this.worker.unref();
    }
  }

  /** Starts `call` of location `node` with `receiver` taking its messages; its id. */
  start(node: number, call: Call, receiver: Receiver, transfer: readonly ArrayBuffer[] = []): number {
    const id = this.next++;
    if (this.dead) {
      receiver.death(this.dead);
      return id;
    }
    this.receivers.set(id, { node, receiver });
    this.post({ t: 'call', id, node, call }, transfer);
    return id;
  }

  /** Stops listening to call `id` (its last message came). */
  forget(id: number): void {
    this.receivers.delete(id);
  }

  /** A call with one answer; `started` learns its id before any message of it arrives. */
  request<T>(
    node: number,
    call: Call,
    transfer: readonly ArrayBuffer[] = [],
    started: (id: number) => void = () => undefined,
  ): Promise<T> {
    return this.hold(
      new Promise<T>((resolve, reject) => {
        const id = this.start(
          node,
          call,
          {
            message: (m) => {
              if (m.t === 'done') {
                this.forget(id);
                resolve(m.value as T);
              } else if (m.t === 'fail') {
                this.forget(id);
                reject(fromWireError(m.error));
              }
            },
            death: reject,
          },
          transfer,
        );
        started(id);
      }),
    );
  }

  private display(node: number): string {
    return this.members.get(node)?.display ?? 'sftp';
  }

  private receive(m: FromWorker): void {
    if (m.t === 'free') {
      this.members.get(m.node)?.freed(m.bytes);
      return;
    }
    if (m.t === 'ask') {
      const member = this.members.get(m.node);
      (member ? member.answer(m) : Promise.resolve(false)).then(
        (ok) => this.post({ t: 'answer', ask: m.ask, ok }),
        (err: unknown) => this.post({ t: 'answer', ask: m.ask, ok: false, error: toWireError(err) }),
      );
      return;
    }
    this.receivers.get(m.id)?.receiver.message(m);
  }

  private die(why: string, cause?: unknown): void {
    if (this.dead) return;
    this.dead = new OfflineError(`the SFTP worker thread stopped (${why})`, cause === undefined ? {} : { cause });
    this.gone();
    const receivers = [...this.receivers.values()];
    this.receivers.clear();
    for (const { node, receiver } of receivers) {
      receiver.death(
        new OfflineError(`${this.display(node)}: the connection's worker thread stopped (${why})`, {
          cause: cause ?? this.dead,
        }),
      );
    }
  }
}

/** What a call waiting on a location closed meanwhile fails with: as a connection ended by close. */
function closedOffline(display: string): OfflineError {
  return new OfflineError(`${display}: connection lost (location closed)`);
}

/**
 * Chunk buffers the worker gave back, to copy the next chunks into while streamed puts run
 * (then dropped: an idle location holds no memory). A fresh buffer per chunk faulted its
 * pages in one by one: 0.4 s of CPU on this thread for the 447 MB a 256 MiB put stores.
 */
class Spares {
  private readonly free: Uint8Array[] = [];
  /** Streamed puts in progress. */
  users = 0;

  /** A spare of at least `length` bytes and not twice that, as a view of `length`; or null. */
  take(length: number): Uint8Array | null {
    const i = this.free.findIndex((b) => b.length >= length && b.length < 2 * length);
    if (i < 0) return null;
    const [b] = this.free.splice(i, 1);
    return b!.subarray(0, length);
  }

  give(bytes: Uint8Array): void {
    if (this.users > 0 && this.free.length < SPARES) this.free.push(bytes);
  }

  clear(): void {
    this.free.length = 0;
  }
}

/** Spare chunk buffers kept per location: about what its put has in flight (4 MiB queued, 4 MiB written). */
const SPARES = 8;

/** A streamed put the worker gave up because its source failed: put rethrows the source's error. */
class SourceFailed extends Error {}

export class SftpWorkerNode implements StorageNode {
  readonly kind = 'sftp' as const;
  readonly display: string;
  private pinned: string | null;
  /** The worker carrying this location, and its number there. */
  private member: { readonly thread: Thread; readonly node: number } | null = null;
  private closed = false;
  /** createRoot's confirm, by call id, for the worker's question. */
  private readonly confirms = new Map<number, () => Promise<boolean>>();
  private readonly spares = new Spares();

  constructor(
    private readonly options: SftpOptions,
    private readonly workerPath: string,
  ) {
    this.display = checkSftpOptions(options).display;
    this.pinned = options.fingerprint ?? null;
  }

  /** The host key fingerprint this node trusts: pinned, or accepted on first use. */
  get hostFingerprint(): string | null {
    return this.pinned;
  }

  /** The worker carrying this location: opened on one at the first call, or after the last one stopped. */
  private thread(): { readonly thread: Thread; readonly node: number } {
    if (this.closed) throw closedError(this.display);
    if (this.member === null || this.member.thread.dead !== null) {
      const { onUnknownHostKey, ...rest } = this.options;
      // A key trusted on first use is pinned for the worker's reconnects, and for a new worker.
      const options: WorkerOptions = { ...rest, fingerprint: this.pinned, asksHostKey: onUnknownHostKey !== undefined };
      const thread = threadFor(this.workerPath);
      const node = thread.join(
        { display: this.display, answer: (m) => this.answer(m), freed: (bytes) => this.spares.give(bytes) },
        options,
      );
      this.member = { thread, node };
    }
    return this.member;
  }

  private async answer(m: Extract<FromWorker, { t: 'ask' }>): Promise<boolean> {
    if (m.what === 'confirm') return (await this.confirms.get(m.id)?.()) ?? false;
    const ok = (await this.options.onUnknownHostKey?.(m.fingerprint)) ?? false;
    if (ok) this.pinned = m.fingerprint;
    return ok;
  }

  async put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    assertObjectPath(path);
    const { thread, node } = this.thread();
    if (data instanceof Uint8Array) {
      // The caller keeps its bytes (a retry sends them again): the worker gets a copy.
      const { bytes, transfer } = movable(data, false);
      return thread.request<number>(node, { op: 'put', path, bytes }, transfer);
    }
    const source: { error?: unknown } = {};
    this.spares.users++;
    try {
      return await thread.hold(this.putStream(thread, node, path, data, source));
    } catch (err) {
      throw err instanceof SourceFailed && 'error' in source ? source.error : err;
    } finally {
      if (--this.spares.users === 0) this.spares.clear();
    }
  }

  /**
   * A streamed put: chunks go to the worker as the source yields them, at most
   * PUT_QUEUE_BYTES ahead of its writes. A source that fails makes the worker discard the
   * object, and its error is the put's, as it was (as node.ts rethrows it).
   */
  private putStream(
    thread: Thread,
    node: number,
    path: string,
    data: AsyncIterable<Uint8Array>,
    source: { error?: unknown },
  ): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let queued = 0;
      let settled = false;
      /** Woken when the worker took bytes, or the put settled. */
      const wakeup = new Wakeup();
      const settle = (): void => {
        settled = true;
        wakeup.wake();
      };
      const id = thread.start(
        node,
        { op: 'put', path, bytes: null },
        {
          message: (m) => {
            if (m.t === 'took') {
              queued -= m.bytes;
              wakeup.wake();
            } else if (m.t === 'done') {
              thread.forget(id);
              settle();
              resolve(m.value as number);
            } else if (m.t === 'fail') {
              thread.forget(id);
              settle();
              reject(m.source === true ? new SourceFailed() : fromWireError(m.error));
            }
          },
          death: (err) => {
            settle();
            reject(err);
          },
        },
      );
      const pump = async (): Promise<void> => {
        const iterator = data[Symbol.asyncIterator]();
        for (;;) {
          let step: IteratorResult<Uint8Array>;
          try {
            step = await nextChunk(iterator);
          } catch (err) {
            source.error = err instanceof SourceError ? err.source : err;
            thread.post({ t: 'abort', id });
            return;
          }
          if (settled) return;
          if (step.done) {
            thread.post({ t: 'end', id });
            return;
          }
          while (queued >= PUT_QUEUE_BYTES && !settled) await wakeup.wait();
          if (settled) return;
          // The caller's bytes may be its own buffers, or go to other locations too: copied
          // once, and the copy moves.
          const { bytes, transfer } = movable(step.value, false, (length) => this.spares.take(length));
          queued += bytes.length;
          thread.post({ t: 'chunk', id, bytes }, transfer);
        }
      };
      void pump();
    });
  }

  async get(path: string): Promise<AsyncIterable<Uint8Array>> {
    assertObjectPath(path);
    const { thread, node } = this.thread();
    const stream = new WorkerReadStream(thread, node);
    await thread.hold(stream.open(path));
    return stream;
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    assertObjectPath(path);
    assertRange(offset, length);
    return this.request<Uint8Array>({ op: 'readRange', path, offset, length });
  }

  async stat(path: string): Promise<ObjectInfo | null> {
    assertObjectPath(path);
    return this.request<ObjectInfo | null>({ op: 'stat', path });
  }

  async list(dir: string): Promise<ObjectInfo[]> {
    assertObjectPath(dir, true);
    return this.request<ObjectInfo[]>({ op: 'list', dir });
  }

  async delete(path: string): Promise<void> {
    assertDeletable(path, this.display);
    return this.request<void>({ op: 'delete', path });
  }

  async health(): Promise<LocationHealth> {
    try {
      return await this.request<LocationHealth>({ op: 'health' });
    } catch (err) {
      return unreachable(err);
    }
  }

  async createRoot(confirm?: () => Promise<boolean>): Promise<RootOutcome> {
    const { thread, node } = this.thread();
    let id = -1;
    try {
      // The worker's question (`ask` confirm) names the call: its confirm is ready before it.
      return await thread.request<RootOutcome>(node, { op: 'createRoot', confirm: confirm !== undefined }, [], (i) => {
        id = i;
        if (confirm) this.confirms.set(i, confirm);
      });
    } finally {
      this.confirms.delete(id);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const member = this.member;
    this.member = null;
    await member?.thread.leave(member.node);
  }

  private request<T>(call: Call): Promise<T> {
    const { thread, node } = this.thread();
    return thread.request<T>(node, call);
  }
}

/** A get's bytes as the worker sends them, GET_CREDIT pieces ahead of the reader. */
class WorkerReadStream implements AsyncIterable<Uint8Array>, AsyncIterator<Uint8Array> {
  private id = -1;
  private readonly queue: Uint8Array[] = [];
  private ended = false;
  private failure: Error | null = null;
  private opened: { resolve: () => void; reject: (err: Error) => void } | null = null;
  /** Woken when a piece, the end or a failure came. */
  private readonly wakeup = new Wakeup();

  constructor(
    private readonly thread: Thread,
    private readonly node: number,
  ) {}

  open(path: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.opened = { resolve, reject };
      this.id = this.thread.start(
        this.node,
        { op: 'get', path, credit: GET_CREDIT },
        { message: (m) => this.receive(m), death: (err) => this.fail(err) },
      );
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    for (;;) {
      const bytes = this.queue.shift();
      if (bytes !== undefined) {
        if (!this.ended && this.failure === null) this.thread.post({ t: 'more', id: this.id, n: 1 });
        return { done: false, value: bytes };
      }
      if (this.failure !== null) {
        const err = this.failure;
        this.ended = true;
        this.failure = null;
        throw err;
      }
      if (this.ended) return { done: true, value: undefined };
      await this.thread.hold(this.wakeup.wait());
    }
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.queue.length = 0;
    if (!this.ended && this.failure === null) {
      // The worker closes the file, then says `end`.
      this.thread.post({ t: 'stop', id: this.id });
      while (!this.ended && this.failure === null) {
        await this.thread.hold(this.wakeup.wait());
      }
    }
    this.ended = true;
    this.failure = null;
    return { done: true, value: undefined };
  }

  private receive(m: FromWorker): void {
    switch (m.t) {
      case 'done':
        this.opened?.resolve();
        this.opened = null;
        return;
      case 'data':
        // A Buffer over the moved bytes, as node.ts yields.
        this.queue.push(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
        break;
      case 'end':
        this.thread.forget(this.id);
        this.ended = true;
        break;
      case 'fail':
        this.thread.forget(this.id);
        this.fail(fromWireError(m.error));
        return;
      default:
        return;
    }
    this.wakeup.wake();
  }

  private fail(err: Error): void {
    if (this.opened) {
      this.opened.reject(err);
      this.opened = null;
      return;
    }
    if (!this.ended) this.failure ??= err;
    this.wakeup.wake();
  }
}
