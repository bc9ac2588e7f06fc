/**
 * Worker thread entry (bundled as out/cli/sftp-worker.mjs and out/main/sftp-worker.js): SFTP
 * locations' nodes (node.ts), their SSH connections and all of ssh2's work for them (packet
 * framing, encryption, socket writes), off the thread that holds the locations
 * (worker-node.ts). It answers that thread's calls (worker-protocol.ts) until it is stopped.
 */
import { parentPort } from 'node:worker_threads';
import { fromWireError, toWireError } from '../../errors';
import { Wakeup } from '../../wakeup';
import { SftpNode } from './node';
import type { Recycling } from './write';
import { movable, POOL_BYTES, type Call, type FromWorker, type ToWorker } from './worker-protocol';

const port = parentPort!;
/** The locations this worker carries, by the number the owning thread gave each. */
const nodes = new Map<number, SftpNode>();
/** Streamed puts by call id. */
const inboxes = new Map<number, Inbox>();
/** Open gets by call id. */
const outboxes = new Map<number, Outbox>();
const asks = new Map<number, { resolve: (ok: boolean) => void; reject: (err: Error) => void }>();
let nextAsk = 0;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

/** A question only the owning thread can answer (a host key to trust, a root to make). */
function ask(
  node: number,
  question: { what: 'host-key'; fingerprint: string } | { what: 'confirm'; id: number },
): Promise<boolean> {
  const id = nextAsk++;
  return new Promise((resolve, reject) => {
    asks.set(id, { resolve, reject });
    post({ t: 'ask', ask: id, node, ...question });
  });
}

/** What a streamed put's data throws when the owning thread's source failed. */
class SourceAborted extends Error {}

/**
 * A streamed put's data, as the owning thread sends it; what is taken is acknowledged, and
 * each chunk's buffer goes back once the writes are done with it (write.ts Recycling).
 */
class Inbox implements AsyncIterable<Uint8Array>, Recycling {
  private readonly queue: Uint8Array[] = [];
  private ended = false;
  private aborted = false;
  /** Woken when a chunk, the end or an abort came. */
  private readonly wakeup = new Wakeup();

  constructor(
    private readonly id: number,
    private readonly node: number,
  ) {}

  push(bytes: Uint8Array): void {
    this.queue.push(bytes);
    this.wakeup.wake();
  }
  end(): void {
    this.ended = true;
    this.wakeup.wake();
  }
  abort(): void {
    this.aborted = true;
    this.wakeup.wake();
  }
  recycle(chunk: Uint8Array): void {
    const buffer = chunk.buffer;
    if (buffer instanceof ArrayBuffer && buffer.byteLength > POOL_BYTES) {
      post({ t: 'free', node: this.node, bytes: new Uint8Array(buffer) }, [buffer]);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: async (): Promise<IteratorResult<Uint8Array>> => {
        for (;;) {
          if (this.aborted) throw new SourceAborted('the data source failed');
          const bytes = this.queue.shift();
          if (bytes !== undefined) {
            post({ t: 'took', id: this.id, bytes: bytes.length });
            return { done: false, value: bytes };
          }
          if (this.ended) return { done: true, value: undefined };
          await this.wakeup.wait();
        }
      },
    };
  }
}

/** An open get: its pieces go to the owning thread as fast as its reader grants credit. */
class Outbox {
  private credit: number;
  private stopped = false;
  /** The pump while it runs: a stop waits for its read in flight. */
  private running: Promise<void> | null = null;

  constructor(
    private readonly id: number,
    private readonly iterator: AsyncIterator<Uint8Array>,
    credit: number,
  ) {
    this.credit = credit;
  }

  more(n: number): void {
    this.credit += n;
    this.running ??= this.pump().finally(() => (this.running = null));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    if (!outboxes.has(this.id)) return; // ended or failed meanwhile, and said so
    outboxes.delete(this.id);
    await this.iterator.return?.().catch(() => undefined);
    post({ t: 'end', id: this.id });
  }

  private async pump(): Promise<void> {
    while (this.credit > 0 && !this.stopped) {
      this.credit--;
      let step: IteratorResult<Uint8Array>;
      try {
        step = await this.iterator.next();
      } catch (err) {
        outboxes.delete(this.id);
        post({ t: 'fail', id: this.id, error: toWireError(err) });
        return;
      }
      if (step.done) {
        outboxes.delete(this.id);
        post({ t: 'end', id: this.id });
        return;
      }
      // The piece is this thread's own buffer (read.ts): it moves.
      const { bytes, transfer } = movable(step.value, true);
      post({ t: 'data', id: this.id, bytes }, transfer);
    }
  }
}

/** Carries out a call: its answer, the buffers that move with it, and what follows the answer. */
async function perform(
  id: number,
  key: number,
  call: Call,
): Promise<{ value: unknown; transfer?: ArrayBuffer[]; after?: () => void }> {
  const n = nodes.get(key)!;
  switch (call.op) {
    case 'put': {
      if (call.bytes !== null) return { value: await n.put(call.path, call.bytes) };
      const inbox = new Inbox(id, key);
      inboxes.set(id, inbox);
      try {
        return { value: await n.put(call.path, inbox) };
      } finally {
        inboxes.delete(id);
      }
    }
    case 'get': {
      const iterator = (await n.get(call.path))[Symbol.asyncIterator]();
      const outbox = new Outbox(id, iterator, 0);
      outboxes.set(id, outbox);
      // Answered first, so the owning thread has the stream before its first piece comes.
      return { value: null, after: () => outbox.more(call.credit) };
    }
    case 'readRange': {
      const { bytes, transfer } = movable(await n.readRange(call.path, call.offset, call.length), true);
      return { value: bytes, transfer };
    }
    case 'stat':
      return { value: await n.stat(call.path) };
    case 'list':
      return { value: await n.list(call.dir) };
    case 'delete':
      return { value: await n.delete(call.path) };
    case 'health':
      return { value: await n.health() };
    case 'createRoot':
      return { value: await n.createRoot(call.confirm ? () => ask(key, { what: 'confirm', id }) : undefined) };
    case 'close':
      nodes.delete(key);
      return { value: await n.close() };
  }
}

async function run(id: number, key: number, call: Call): Promise<void> {
  try {
    const { value, transfer, after } = await perform(id, key, call);
    post({ t: 'done', id, value }, transfer);
    after?.();
  } catch (err) {
    post({ t: 'fail', id, error: toWireError(err), ...(err instanceof SourceAborted ? { source: true } : {}) });
  }
}

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'open': {
      const { asksHostKey, ...options } = m.options;
      const key = m.node;
      nodes.set(
        key,
        new SftpNode({
          ...options,
          ...(asksHostKey
            ? { onUnknownHostKey: (fingerprint: string) => ask(key, { what: 'host-key', fingerprint }) }
            : {}),
        }),
      );
      break;
    }
    case 'call':
      void run(m.id, m.node, m.call);
      break;
    case 'chunk':
      inboxes.get(m.id)?.push(m.bytes);
      break;
    case 'end':
      inboxes.get(m.id)?.end();
      break;
    case 'abort':
      inboxes.get(m.id)?.abort();
      break;
    case 'more':
      outboxes.get(m.id)?.more(m.n);
      break;
    case 'stop': {
      const outbox = outboxes.get(m.id);
      if (outbox) void outbox.stop();
      else post({ t: 'end', id: m.id });
      break;
    }
    case 'answer': {
      const waiting = asks.get(m.ask);
      asks.delete(m.ask);
      if (m.error !== undefined) waiting?.reject(fromWireError(m.error));
      else waiting?.resolve(m.ok);
      break;
    }
  }
});
