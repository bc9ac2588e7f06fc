/**
 * The engine's own process. `shardvault serve` forks it as a Node child process and the
 * desktop app as an Electron utility process (host-entry.ts picks the carrier); the front
 * process then only relays (engine-client.ts), so a put that keeps both cores busy with
 * reads, hashing, Reed-Solomon, AES-GCM and writes never stalls the event loop that answers
 * the UI. One engine (core/app.ts) per host, made on the front's `init`.
 */
import { type AppOptions, createApp, type CredentialStore } from '../core/app';
import { redactCredentials } from '../shared/redact';
import { Wakeup } from '../core/wakeup';
import { engineCallNames, toBridgeError } from '../shared/ipc';
import type { ShardvaultApi } from '../shared/api';
import {
  type CallName,
  FrameReader,
  type FromHost,
  type HostOptions,
  isStreamCall,
  type Port,
  STREAM_CALLS,
  type StoredCredentials,
  type ToHost,
} from './messages';

type App = ShardvaultApi & { close(): Promise<void> };

const CALLABLE: ReadonlySet<string> = new Set<string>([...engineCallNames, ...STREAM_CALLS]);

/** Bytes taken before the host says so (ack): fewer messages than one per piece. */
const ACK_EVERY = 2 ** 20;

/** A stream call's bytes (putStream, putTreeStream) as they arrive from the front, read by the engine as an AsyncIterable. */
class Inbound {
  private readonly queue: Uint8Array[] = [];
  private ended = false;
  private failure: Error | null = null;
  private readonly arrived = new Wakeup();
  private unacknowledged = 0;

  constructor(
    private readonly id: number,
    private readonly port: Port<ToHost, FromHost>,
  ) {
    // Open: the front may start sending.
    port.post({ t: 'ack', id, bytes: 0 });
  }

  push(data: Uint8Array): void {
    this.queue.push(data);
    this.arrived.wake();
  }
  end(): void {
    this.ended = true;
    this.arrived.wake();
  }
  abort(message: string): void {
    this.failure = new Error(message);
    this.arrived.wake();
  }
  private acknowledge(): void {
    if (this.unacknowledged === 0) return;
    this.port.post({ t: 'ack', id: this.id, bytes: this.unacknowledged });
    this.unacknowledged = 0;
  }

  async *read(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk) {
        // Taken: the front may send this many more.
        this.unacknowledged += chunk.byteLength;
        if (this.unacknowledged >= ACK_EVERY) this.acknowledge();
        yield chunk;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return;
      this.acknowledge();
      await this.arrived.wait();
    }
  }
}

/**
 * Answers the front's messages on `port` until it says close (then `exit` runs). `make`
 * builds the engine (createApp; a test may wrap it).
 */
export function serveEngine(
  port: Port<ToHost, FromHost>,
  exit: () => void,
  options: {
    /** The byte pipe putStream's frames arrive on (messages.ts), where the carrier has one. */
    readonly data?: AsyncIterable<Uint8Array> | undefined;
    readonly make?: (options: AppOptions) => App;
  } = {},
): { closeNow(): Promise<void> } {
  const make = options.make ?? createApp;
  let app: App | null = null;
  let closing: Promise<void> | null = null;
  const streams = new Map<number, Inbound>();
  const log = (line: string): void => void process.stderr.write(`shardvault engine: ${redactCredentials(line)}\n`);

  // The front's credential store, asked over the channel.
  let nextAsk = 0;
  const asked = new Map<number, (value: StoredCredentials | null) => void>();
  const ask = (message: FromHost & { id: number }): Promise<StoredCredentials | null> =>
    new Promise((resolve) => {
      asked.set(message.id, resolve);
      port.post(message);
    });
  const remoteStore: CredentialStore = {
    load: () => ask({ t: 'load-credentials', id: ++nextAsk }),
    save: async (value) => {
      await ask({ t: 'save-credentials', id: ++nextAsk, value });
    },
  };

  const answer = (id: number, work: () => Promise<unknown>): void => {
    void work().then(
      (value) => port.post({ t: 'result', id, ok: true, value }),
      (error: unknown) => {
        const info = toBridgeError(error);
        if (info.code === 'internal')
          log(`call failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        port.post({ t: 'result', id, ok: false, error: info });
      },
    );
  };

  const call = (id: number, name: CallName, request: unknown): void => {
    answer(id, async () => {
      if (!app) throw new Error('the engine host was not initialised');
      if (!CALLABLE.has(name)) throw new Error(`no such engine call: ${String(name).slice(0, 80)}`);
      if (isStreamCall(name)) {
        const inbound = new Inbound(id, port);
        streams.set(id, inbound);
        try {
          // The request's shape is the engine's to check (core/app.ts); only `data` is ours.
          const streamed = { ...(request as object), data: inbound.read() };
          return await (app[name] as (this: App, request: unknown) => Promise<unknown>).call(app, streamed);
        } finally {
          streams.delete(id);
        }
      }
      return (app[name] as (this: App, request: unknown) => Promise<unknown>).call(app, request);
    });
  };

  const closeNow = (): Promise<void> => {
    closing ??= (async () => {
      for (const s of streams.values()) s.abort('the engine is closing');
      await app?.close().catch((error: unknown) => log(`closing: ${String(error)}`));
      app = null;
    })();
    return closing;
  };

  if (options.data) {
    const source = options.data;
    const frames = new FrameReader((id, payload) => {
      // Frames of a stream the engine no longer reads (it failed early) are dropped.
      const inbound = streams.get(id);
      if (payload.byteLength === 0) inbound?.end();
      else inbound?.push(payload);
    });
    void (async () => {
      for await (const bytes of source) frames.push(bytes);
    })().catch((error: unknown) => log(`the byte pipe failed: ${String(error)}`));
  }

  port.onMessage((m) => {
    switch (m.t) {
      case 'init': {
        if (app) return;
        const { credentials, ...rest } = m.options satisfies HostOptions;
        const onDriveActivity = (): void => port.post({ t: 'drive-activity' });
        app = make(credentials ? { ...rest, credentials: remoteStore, onDriveActivity } : { ...rest, onDriveActivity });
        app.onProgress((event) => port.post({ t: 'progress', event }));
        port.post({ t: 'ready' });
        return;
      }
      case 'call':
        return call(m.id, m.name, m.request);
      case 'chunk':
        return streams.get(m.id)?.push(m.data);
      case 'end':
        return streams.get(m.id)?.end();
      case 'abort':
        return streams.get(m.id)?.abort(m.message);
      case 'credentials': {
        const resolve = asked.get(m.id);
        asked.delete(m.id);
        return resolve?.(m.value);
      }
      case 'close':
        void closeNow().then(() => {
          port.post({ t: 'closed' });
          exit();
        });
        return;
    }
  });
  return { closeNow };
}
