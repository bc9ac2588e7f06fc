/**
 * The front process's side of the engine host (engine-host.ts): a ShardvaultApi whose every
 * call is relayed to the engine's process, by name, with its request, and answered with the
 * value or a BridgeFailure carrying the engine's BridgeError. The front never runs engine
 * work, so its event loop stays free for the UI while a put keeps both cores busy.
 *
 * `forkEngine` starts the host as a Node child process (`shardvault serve`); the desktop app
 * starts the same host module as an Electron utility process (src/main/engine-process.ts)
 * and hands its channel to `connectEngine`.
 */
import { fork } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { ProgressEvent, ShardvaultApi } from '../shared/api';
import { BridgeFailure, engineCallNames } from '../shared/ipc';
import type { CredentialStore } from '../core/app';
import { bundledBeside } from '../core/bundled';
import { Wakeup } from '../core/wakeup';
import {
  type CallName,
  DATA_FD_ENV,
  frameHeader,
  type FromHost,
  type EngineHooks,
  type HostOptions,
  type Port,
  STREAM_CALLS,
  STREAM_WINDOW,
  type StoredCredentials,
  type ToHost,
} from './messages';

export type EngineProcess = ShardvaultApi & {
  /** Closes the engine (its vault, the profile lock), then its process ends. */
  close(): Promise<void>;
  /** The engine process's id (null: the engine runs in this process). */
  readonly pid: number | null;
};

/** A putStream on its way: opened by the host's first ack, then bytes in flight. */
interface Window {
  open: boolean;
  answered: boolean;
  inflight: number;
  /** Woken when the host acknowledges bytes, answers, or ends. */
  readonly wakeup: Wakeup;
}

/** The carrier of the channel, seen from the front. */
export interface HostLink extends Port<FromHost, ToHost> {
  /** A byte pipe to the host for putStream's frames (messages.ts), if the carrier has one. */
  readonly data?: Writable;
  /** Called once, when the engine's process has ended (code, or null after a signal). */
  onExit(listener: (code: number | null) => void): void;
  kill(): void;
  readonly pid: number | null;
}

/** The bundled host module beside this code (out/cli/engine-host.mjs), or null (running from source). */
export function hostModulePath(): string | null {
  return bundledBeside(import.meta.url, ['./engine-host.mjs', './engine-host.js']);
}

const stopped = (why: string): BridgeFailure =>
  new BridgeFailure({ code: 'internal', message: `The engine process stopped (${why}); restart Shardvault.` });

/**
 * Talks to a host over `link`: sends `init`, waits for `ready`. `credentials` answers the
 * engine's requests to load and save the locations' credentials (the front's keystore).
 */
export async function connectEngine(
  link: HostLink,
  options: HostOptions,
  credentials?: CredentialStore,
  hooks: EngineHooks = {},
): Promise<EngineProcess> {
  const listeners = new Set<(event: ProgressEvent) => void>();
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const windows = new Map<number, Window>();
  let next = 0;
  let failure: BridgeFailure | null = null;
  let onReady: (() => void) | null = null;
  let onClosed: (() => void) | null = null;
  const log = (line: string): void => void process.stderr.write(`shardvault: ${line}\n`);

  const ended = new Promise<void>((resolve) =>
    link.onExit((code) => {
      failure ??= stopped(code === null ? 'killed' : `exit status ${code}`);
      for (const w of waiting.values()) w.reject(failure);
      waiting.clear();
      for (const w of windows.values()) w.wakeup.wake();
      resolve();
    }),
  );

  link.onMessage((m) => {
    switch (m.t) {
      case 'ready':
        return onReady?.();
      case 'result': {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        if (!w) return;
        if (m.ok) w.resolve(m.value);
        else w.reject(new BridgeFailure(m.error));
        return;
      }
      case 'ack': {
        const window = windows.get(m.id);
        if (!window) return;
        window.open = true;
        window.inflight -= m.bytes;
        return window.wakeup.wake();
      }
      case 'progress':
        for (const l of listeners) l(m.event);
        return;
      case 'drive-activity':
        return hooks.onDriveActivity?.();
      case 'load-credentials': {
        const reply = (value: StoredCredentials | null): void => link.post({ t: 'credentials', id: m.id, value });
        if (!credentials) return reply(null);
        void credentials.load().then(reply, (error: unknown) => {
          log(`the credential store could not be read: ${String(error)}`);
          reply(null);
        });
        return;
      }
      case 'save-credentials': {
        const reply = (): void => link.post({ t: 'credentials', id: m.id, value: null });
        if (!credentials) return reply();
        void credentials
          .save(m.value)
          .catch((error: unknown) => log(`the credentials were not kept in the keystore: ${String(error)}`))
          .finally(reply);
        return;
      }
      case 'closed':
        return onClosed?.();
    }
  });

  const request = (name: CallName, req: unknown, id = ++next): Promise<unknown> => {
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      link.post({ t: 'call', id, name, request: req });
    });
  };

  /** Sends a putStream's bytes once the host has opened the stream, at most STREAM_WINDOW
   * ahead of what the engine has read: on the byte pipe when there is one, else as messages. */
  const pump = async (id: number, window: Window, data: AsyncIterable<Uint8Array>): Promise<void> => {
    const halted = (): boolean => window.answered || failure !== null;
    const pipe = link.data;
    try {
      for await (const chunk of data) {
        while ((!window.open || window.inflight >= STREAM_WINDOW) && !halted()) await window.wakeup.wait();
        if (halted()) return;
        if (chunk.byteLength === 0) continue; // an empty frame would end the stream
        window.inflight += chunk.byteLength;
        if (!pipe) {
          link.post({ t: 'chunk', id, data: chunk });
          continue;
        }
        pipe.write(frameHeader(id, chunk.byteLength));
        if (!pipe.write(chunk)) await new Promise<void>((resolve) => pipe.once('drain', resolve));
      }
      while (!window.open && !halted()) await window.wakeup.wait();
      if (halted()) return;
      if (pipe) pipe.write(frameHeader(id, 0));
      else link.post({ t: 'end', id });
    } catch (error) {
      if (!halted()) link.post({ t: 'abort', id, message: (error as Error).message ?? String(error) });
    }
  };

  const api: Record<string, unknown> = {};
  for (const name of engineCallNames) api[name] = (req: unknown) => request(name, req);
  for (const name of STREAM_CALLS) {
    api[name] = async (req: { data: AsyncIterable<Uint8Array> }) => {
      const { data, ...rest } = req;
      const id = ++next;
      const window: Window = { open: false, answered: false, inflight: 0, wakeup: new Wakeup() };
      windows.set(id, window);
      const answer = request(name, rest, id).finally(() => {
        window.answered = true;
        windows.delete(id);
        window.wakeup.wake();
      });
      const [value] = await Promise.all([answer, pump(id, window, data)]);
      return value;
    };
  }
  api['onProgress'] = (listener: (event: ProgressEvent) => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  let closing: Promise<void> | null = null;
  api['close'] = () =>
    (closing ??= (async () => {
      if (!failure) {
        const closed = new Promise<void>((resolve) => (onClosed = resolve));
        link.post({ t: 'close' });
        await Promise.race([closed, ended]);
      }
      const timer = setTimeout(() => link.kill(), 10_000);
      await ended;
      clearTimeout(timer);
    })());

  const ready = new Promise<void>((resolve) => (onReady = resolve));
  link.post({ t: 'init', options: credentials ? { ...options, credentials: true } : options });
  await Promise.race([ready, ended]);
  const failed = failure as BridgeFailure | null; // set by the exit listener meanwhile
  if (failed) throw failed;
  api['pid'] = link.pid;
  return api as unknown as EngineProcess;
}

/** Starts the engine host as a Node child process and connects to it. */
export function forkEngine(
  options: HostOptions,
  hostModule: string,
  credentials?: CredentialStore,
  hooks: EngineHooks = {},
): Promise<EngineProcess> {
  const child = fork(hostModule, [], {
    serialization: 'advanced',
    env: { ...process.env, [DATA_FD_ENV]: '3' },
    // The front's stdout may carry a contract (serve's first line is its URL): the engine's
    // output, warnings only, goes to stderr. fd 3: putStream's byte pipe.
    stdio: ['ignore', 2, 2, 'pipe', 'ipc'],
  });
  const data = child.stdio[3] as Writable;
  // A host that died mid-stream: its exit fails the calls; the pipe's error says nothing more.
  data.on('error', () => undefined);
  child.once('exit', () => data.destroy());
  const link: HostLink = {
    pid: child.pid ?? null,
    data,
    post: (message) => {
      // A host dying between the check and the write gives EPIPE: to this callback, not as an
      // uncaught 'error' on the child. Its exit fails the call that waits (as for the pipe).
      if (child.connected) child.send(message, () => undefined);
    },
    onMessage: (listener) => child.on('message', (m) => listener(m as FromHost)),
    onExit: (listener) => child.once('exit', (code) => listener(code)),
    kill: () => child.kill('SIGKILL'),
  };
  return connectEngine(link, options, credentials, hooks);
}

/**
 * The engine for a front that serves a UI: in a process of its own when the host module is
 * built beside this code, else (running from source, or SHARDVAULT_IN_PROCESS_ENGINE set)
 * in this process, with the same interface.
 */
export async function startEngine(
  options: HostOptions,
  credentials?: CredentialStore,
  hooks: EngineHooks = {},
): Promise<EngineProcess> {
  const hostModule = process.env['SHARDVAULT_IN_PROCESS_ENGINE'] ? null : hostModulePath();
  if (hostModule) return forkEngine(options, hostModule, credentials, hooks);
  const { createApp } = await import('../core/app');
  const { credentials: _wanted, ...rest } = options;
  const withHooks = hooks.onDriveActivity ? { ...rest, onDriveActivity: hooks.onDriveActivity } : rest;
  const app = createApp(credentials ? { ...withHooks, credentials } : withHooks);
  return Object.assign(app, { pid: null });
}
