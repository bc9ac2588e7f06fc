/**
 * The one place the UI meets a bridge: envelopes become values or a thrown BridgeFailure,
 * every answer is checked against the contract again (the UI trusts a bridge no more than
 * main trusts the UI), and adding files is one operation whatever the mode.
 */

import type { FileEntry, ProgressEvent } from '../../../shared/api';
import {
  type CallName,
  type CallRequest,
  type CallResponse,
  type Envelope,
  type ShardvaultBridge,
  type UploadRequest,
  calls,
  callNames,
} from '../../../shared/ipc';
import { type WebBridge, createWebBridge, takeToken } from './web-client';

export class BridgeFailure extends Error {
  override readonly name = 'BridgeFailure';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Api = {
  readonly [N in CallName]: CallRequest<N> extends void
    ? () => Promise<CallResponse<N>>
    : (request: CallRequest<N>) => Promise<CallResponse<N>>;
};

export interface Transfer {
  readonly id: number;
  readonly op: 'put' | 'get';
  readonly name: string;
  readonly done: number;
  readonly total: number;
  readonly startedAt: number;
  /** Bytes per second, smoothed; null until measurable. */
  readonly speed: number | null;
  readonly state: 'running' | 'finishing' | 'done' | 'failed';
  readonly error: string | null;
}

export type StoreOptions = Omit<UploadRequest, 'name'>;

export interface Client {
  readonly mode: 'desktop' | 'web';
  readonly api: Api;
  readonly desktop: boolean;
  onProgress(listener: (event: ProgressEvent) => void): () => void;
  onLocked(listener: () => void): () => void;
  /** Stores dropped or picked files (File objects); resolves with what was stored. */
  /** `survive`: each file survives losing that many locations (the sensitivity presets);
   * `happy`: each is stored only if that many locations take shards. */
  addFiles(files: readonly File[], options?: StoreOptions): Promise<FileEntry[]>;
  transfers(): readonly Transfer[];
  onTransfers(listener: () => void): () => void;
  clearFinished(): void;
  /** Tracks an export so it shows progress from the engine's events. */
  trackExport<T>(name: string, work: () => Promise<T>): Promise<T>;
}

function unwrap<T>(envelope: Envelope<T>): T {
  if (envelope.ok) return envelope.value;
  throw new BridgeFailure(envelope.error.code, envelope.error.message);
}

function declaredBridge(): ShardvaultBridge | null {
  const candidate = (window as unknown as { shardvault?: ShardvaultBridge }).shardvault;
  return candidate && candidate.mode === 'desktop' ? candidate : null;
}

export function connect(): Client | { error: string } {
  const desktop = declaredBridge();
  let bridge: ShardvaultBridge;
  let webBridge: WebBridge | null = null;
  if (desktop) {
    bridge = desktop;
  } else {
    const token = takeToken();
    if (!token) return { error: 'Open the address that `shardvault serve` printed: it carries this session’s key.' };
    webBridge = createWebBridge(token);
    bridge = webBridge;
  }

  const api: Record<string, unknown> = {};
  for (const name of callNames) {
    const raw = (bridge as unknown as Record<string, ((request?: unknown) => Promise<Envelope<unknown>>) | undefined>)[
      name
    ];
    api[name] = async (request?: unknown) => {
      if (!raw) throw new BridgeFailure('unsupported', 'The desktop app offers this; the web UI does not.');
      const value = unwrap(await raw(request));
      return calls[name].response.parse(value);
    };
  }
  const typedApi = api as Api;

  // Transfers: progress of uploads, stores and exports, for the files screen.
  let list: Transfer[] = [];
  let nextId = 1;
  const listeners = new Set<() => void>();
  const notify = (): void => listeners.forEach((listener) => listener());
  const update = (id: number, change: Partial<Transfer>): void => {
    list = list.map((t) => {
      if (t.id !== id) return t;
      const next = { ...t, ...change };
      if (change.done !== undefined && change.done > t.done) {
        const seconds = (performance.now() - t.startedAt) / 1000;
        if (seconds > 0.25) next.speed = next.done / seconds;
      }
      return next;
    });
    notify();
  };
  const begin = (op: Transfer['op'], name: string, total: number): number => {
    const id = nextId++;
    list = [
      ...list,
      { id, op, name, done: 0, total, startedAt: performance.now(), speed: null, state: 'running', error: null },
    ];
    notify();
    return id;
  };
  // The engine's own progress events drive desktop stores and all exports.
  bridge.onProgress((event) => {
    const op = event.op === 'verify' ? null : event.op;
    const match = list.find(
      (t) => t.state === 'running' && t.op === op && t.name === event.name && !webUploads.has(t.id),
    );
    if (match) update(match.id, { done: event.done, total: event.total || match.total });
  });
  const webUploads = new Set<number>();

  async function storeOne(file: File, options: StoreOptions): Promise<FileEntry> {
    const replace = options.replace ?? false;
    const extra = {
      ...(options.survive === undefined ? {} : { survive: options.survive }),
      ...(options.happy === undefined ? {} : { happy: options.happy }),
    };
    const id = begin('put', file.name, file.size);
    try {
      let entry: FileEntry;
      if (webBridge) {
        webUploads.add(id);
        const handle = webBridge.upload(file, { name: file.name, replace, ...extra }, (sent, total) => {
          update(id, { done: sent, total, state: sent >= total ? 'finishing' : 'running' });
        });
        entry = calls.putFile.response.parse(unwrap(await handle.done));
      } else {
        const path = bridge.pathForFile?.(file);
        if (!path) throw new BridgeFailure('usage', `${file.name}: could not tell where this file is on disk.`);
        entry = await typedApi.putFile({ path, name: file.name, replace, ...extra });
      }
      update(id, { state: 'done', done: file.size, total: file.size });
      return entry;
    } catch (error) {
      update(id, { state: 'failed', error: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      webUploads.delete(id);
    }
  }

  return {
    mode: desktop ? 'desktop' : 'web',
    desktop: desktop !== null,
    api: typedApi,
    onProgress: (listener) => bridge.onProgress(listener),
    onLocked: (listener) => bridge.onLocked(listener),
    async addFiles(files, options = {}) {
      const stored: FileEntry[] = [];
      const failures: string[] = [];
      for (const file of files) {
        try {
          stored.push(await storeOne(file, options));
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
      }
      if (failures.length > 0) throw new BridgeFailure('put', failures.join('\n'));
      return stored;
    },
    transfers: () => list,
    onTransfers(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    clearFinished() {
      list = list.filter((t) => t.state === 'running' || t.state === 'finishing');
      notify();
    },
    async trackExport(name, work) {
      const id = begin('get', name, 0);
      try {
        const result = await work();
        update(id, { state: 'done' });
        return result;
      } catch (error) {
        update(id, { state: 'failed', error: error instanceof Error ? error.message : String(error) });
        throw error;
      }
    },
  };
}
