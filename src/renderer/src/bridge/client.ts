/**
 * The one place the UI meets a bridge: envelopes become values or a thrown BridgeFailure,
 * every answer is checked against the contract again (the UI trusts a bridge no more than
 * main trusts the UI), and adding and exporting files are one operation each whatever the
 * mode (a path on disk and a save dialog on the desktop; an upload and a browser download
 * in the web UI).
 */

import type { FileEntry, FolderReport, ProgressEvent } from '../../../shared/api';
import { fileBaseName } from '../../../shared/file-name';
import {
  type CallName,
  type CallRequest,
  type CallResponse,
  type Envelope,
  type ShardvaultBridge,
  calls,
  callNames,
  downloadTicket,
} from '../../../shared/ipc';
import { type ErrorCode } from '../../../shared/errors';
import { type WebBridge, createWebBridge, takeToken } from './web-client';

export class BridgeFailure extends Error {
  override readonly name = 'BridgeFailure';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The positions of the request's locations it is about (BridgeError.locations), or []. */
    readonly locations: readonly number[] = [],
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
  /** The failure's code ('exists': a file of that name is in the vault already), or null. */
  readonly code: ErrorCode | null;
  /** An export of a guarded file waiting for guardian approvals: how many it has of how many. */
  readonly approvals: { readonly done: number; readonly needed: number } | null;
  /** A folder's store: its files stored and in all (null for one file). */
  readonly files: { readonly done: number; readonly total: number } | null;
}

/** Where an export went: a path the user picked (desktop), or the browser's downloads. */
export type Exported = { readonly kind: 'saved'; readonly path: string } | { readonly kind: 'downloaded' };

export interface Client {
  readonly mode: 'desktop' | 'web';
  readonly api: Api;
  readonly desktop: boolean;
  onProgress(listener: (event: ProgressEvent) => void): () => void;
  onLocked(listener: () => void): () => void;
  /**
   * Stores dropped or picked files (File objects); resolves with what was stored. A file that
   * fails is not thrown: its transfer row says why (once, there), and one refused because the
   * name is taken can be stored again over it with replace(). `survive`: each file survives
   * losing that many locations (the sensitivity presets).
   */
  addFiles(files: readonly File[], options?: StoreOptions): Promise<FileEntry[]>;
  /** Stores files under the names given (a folder's files keep their paths: `photos/a.jpg`;
   * an empty folder is an empty file whose name ends in `/`). Each is its own store. */
  addNamedFiles(files: readonly NamedFile[], options?: StoreOptions): Promise<FileEntry[]>;
  /**
   * Stores a picked or dropped folder as `name`, its files under their names below it (an
   * empty folder `x/`, no bytes), in one commit with progress over the whole tree on one
   * transfer row: on the desktop each file is offered to main and stored by its path, in the
   * web UI the tree goes in one upload. null when it failed (its row says why; one refused
   * because the name is taken can be stored again over it with replace()).
   */
  addFolder(name: string, files: readonly NamedFile[], options?: StoreOptions): Promise<FolderReport | null>;
  /** Desktop: picks files in the native open dialog and stores them ([] when cancelled). */
  pickAndAddFiles(options?: StoreOptions): Promise<FileEntry[]>;
  /** Stores the file or folder of a failed transfer again, replacing the one of that name in
   * the vault (its new row says how it went). */
  replace(transferId: number): Promise<void>;
  transfers(): readonly Transfer[];
  onTransfers(listener: () => void): () => void;
  clearFinished(): void;
  /** Exports a file, verified, with progress: to a path picked in the save dialog on the
   * desktop, as a browser download in the web UI. null: the user cancelled. */
  exportFile(name: string): Promise<Exported | null>;
  /** Opens a file: with the OS's default application on the desktop (main exports it to a
   * private folder wiped on lock), as a browser download in the web UI. */
  openFile(name: string): Promise<'opened' | 'downloaded'>;
}

/** `survive`: the file survives losing that many locations (the sensitivity presets);
 * `happy`: it is stored only if that many locations take shards; `guarded`: opening it also
 * needs G of the vault's nodes (the "Guarded" choice, once guard setup ran). */
export interface StoreOptions {
  readonly survive?: number;
  readonly happy?: number;
  readonly guarded?: boolean;
}

/** A file to store under a name of the caller's choosing (a folder's file under its path). */
export interface NamedFile {
  readonly file: File;
  readonly name: string;
}

/** What to store: a File from a drop or the web mode's file input (under its own name unless
 * one is given), or a path main's dialog picked. */
type Source = { readonly file: File; readonly name?: string } | { readonly path: string };

/** Any call of a bridge, its request already typed by Api (a method's parameter is bivariant). */
type AnyCall = { call(request?: unknown): Promise<Envelope<unknown>> }['call'];

function unwrap<T>(envelope: Envelope<T>): T {
  if (envelope.ok) return envelope.value;
  throw new BridgeFailure(envelope.error.code, envelope.error.message, envelope.error.locations ?? []);
}

function declaredBridge(): ShardvaultBridge | null {
  const candidate = window.shardvault;
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
    const raw: AnyCall | undefined = bridge[name];
    api[name] = async (request?: unknown) => {
      if (!raw) throw new BridgeFailure('unsupported', 'The desktop app offers this; the web UI does not.');
      const value = unwrap(await raw(request));
      return calls[name].response.parse(value);
    };
  }
  const typedApi = api as Api;
  /** The web UI's export: the engine verifies the file, the browser downloads it once. */
  const download = async (web: WebBridge, name: string): Promise<void> => {
    const { url } = await track(name, async () => downloadTicket.parse(unwrap(await web.exportFile(name))));
    startDownload(url, name);
  };

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
      {
        id,
        op,
        name,
        done: 0,
        total,
        startedAt: performance.now(),
        speed: null,
        state: 'running',
        error: null,
        code: null,
        approvals: null,
        files: null,
      },
    ];
    notify();
    return id;
  };
  // The engine's own progress events drive desktop stores and all exports.
  bridge.onProgress((event) => {
    if (event.op === 'approval') {
      const waiting = list.find((t) => t.state === 'running' && t.op === 'get' && t.name === event.name);
      if (waiting) update(waiting.id, { approvals: { done: event.done, needed: event.total } });
      return;
    }
    const op = event.op === 'put' || event.op === 'get' ? event.op : null;
    const match = list.find(
      (t) => t.state === 'running' && t.op === op && t.name === event.name && !webUploads.has(t.id),
    );
    if (!match) return;
    if (!event.files) return update(match.id, { done: event.done, total: event.total || match.total });
    // A folder: every file stored, the commit is what is left.
    const stored = event.files.done >= event.files.total;
    update(match.id, {
      done: event.done,
      total: event.total,
      files: event.files,
      state: stored ? 'finishing' : 'running',
    });
  });
  const webUploads = new Set<number>();
  // A failed store tried again with replace, by transfer id. Only Files (a drop, the web file
  // input): a path main's dialog picked is good for one store.
  const retries = new Map<number, () => Promise<unknown>>();
  const fail = (id: number, error: unknown): void => {
    update(id, {
      state: 'failed',
      error: error instanceof Error ? error.message : String(error),
      code: error instanceof BridgeFailure ? error.code : null,
    });
  };

  async function storeOne(source: Source, replace: boolean, options: StoreOptions): Promise<FileEntry> {
    const extra = {
      ...(options.survive === undefined ? {} : { survive: options.survive }),
      ...(options.happy === undefined ? {} : { happy: options.happy }),
      ...(options.guarded ? { guarded: true } : {}),
    };
    const name =
      'file' in source ? (source.name ?? source.file.name) : (source.path.split(/[\\/]/).pop() ?? source.path);
    const id = begin('put', name, 'file' in source ? source.file.size : 0);
    try {
      let entry: FileEntry;
      if (webBridge && 'file' in source) {
        webUploads.add(id);
        const handle = webBridge.upload(source.file, { name, replace, ...extra }, (sent, total) => {
          update(id, { done: sent, total, state: sent >= total ? 'finishing' : 'running' });
        });
        entry = calls.putFile.response.parse(unwrap(await handle.done));
      } else {
        // Desktop: main stores a path only once the user picked it (its dialog) or dropped it
        // (offerFile, through the preload).
        let path: string;
        if ('path' in source) path = source.path;
        else if (bridge.offerFile) path = unwrap(await bridge.offerFile(source.file));
        else throw new BridgeFailure('usage', `${name}: could not tell where this file is on disk.`);
        entry = await typedApi.putFile({ path, name, replace, ...extra });
      }
      update(id, { state: 'done', done: entry.size, total: entry.size });
      return entry;
    } catch (error) {
      if (error instanceof BridgeFailure && error.code === 'exists' && 'file' in source)
        retries.set(id, () => storeOne(source, true, options));
      fail(id, error);
      throw error;
    } finally {
      webUploads.delete(id);
    }
  }

  async function storeFolder(
    name: string,
    files: readonly NamedFile[],
    replace: boolean,
    options: StoreOptions,
  ): Promise<FolderReport | null> {
    const bare = name.replace(/\/+$/, '');
    // The folder's own entry (a dropped empty folder) is the folder: nothing below it to list.
    const listed = files.filter((f) => f.name !== '');
    const id = begin(
      'put',
      bare,
      listed.reduce((n, f) => n + f.file.size, 0),
    );
    update(id, { files: { done: 0, total: listed.length } });
    const extra = {
      ...(options.survive === undefined ? {} : { survive: options.survive }),
      ...(options.happy === undefined ? {} : { happy: options.happy }),
    };
    try {
      let report: FolderReport;
      if (webBridge) {
        const request = {
          name: bare,
          replace,
          files: listed.map((f) => ({ name: f.name, size: f.file.size })),
          ...extra,
        };
        const handle = webBridge.uploadFolder(
          request,
          listed.map((f) => f.file),
        );
        report = calls.putTree.response.parse(unwrap(await handle.done));
      } else {
        // Desktop: main stores a path only once the preload offered it (a dropped File).
        if (!bridge.offerFile)
          throw new BridgeFailure('usage', `${bare}: could not tell where this folder is on disk.`);
        const withPaths: { name: string; path?: string }[] = [];
        for (const f of listed) {
          if (f.name.endsWith('/')) withPaths.push({ name: f.name });
          else withPaths.push({ name: f.name, path: unwrap(await bridge.offerFile(f.file)) });
        }
        report = await typedApi.putTree({ name: bare, replace, files: withPaths, ...extra });
      }
      update(id, {
        state: 'done',
        done: report.bytes,
        total: report.bytes,
        files: { done: report.files, total: report.files },
      });
      return report;
    } catch (error) {
      if (error instanceof BridgeFailure && error.code === 'exists')
        retries.set(id, () => storeFolder(name, files, true, options));
      fail(id, error);
      return null;
    }
  }

  /** Stores each source; a failure is shown on its transfer row, not thrown. */
  async function storeAll(sources: readonly Source[], options: StoreOptions): Promise<FileEntry[]> {
    const stored: FileEntry[] = [];
    for (const source of sources) {
      try {
        stored.push(await storeOne(source, false, options));
      } catch {
        // its transfer row says why
      }
    }
    return stored;
  }

  async function track<T>(name: string, work: () => Promise<T>): Promise<T> {
    const id = begin('get', name, 0);
    try {
      const result = await work();
      update(id, { state: 'done' });
      return result;
    } catch (error) {
      fail(id, error);
      throw error;
    }
  }

  /** Hands a ready download (web.download URL) to the browser, which saves it. */
  function startDownload(url: string, name: string): void {
    const link = document.createElement('a');
    link.href = url;
    link.download = fileBaseName(name);
    link.rel = 'noopener';
    document.body.append(link);
    link.click();
    link.remove();
  }

  return {
    mode: desktop ? 'desktop' : 'web',
    desktop: desktop !== null,
    api: typedApi,
    onProgress: (listener) => bridge.onProgress(listener),
    onLocked: (listener) => bridge.onLocked(listener),
    addFiles: (files, options = {}) =>
      storeAll(
        files.map((file) => ({ file })),
        options,
      ),
    addNamedFiles: (files, options = {}) => storeAll(files, options),
    addFolder: (name, files, options = {}) => storeFolder(name, files, false, options),
    async pickAndAddFiles(options = {}) {
      const paths = await typedApi.chooseFiles();
      return storeAll(
        paths.map((path) => ({ path })),
        options,
      );
    },
    async replace(transferId) {
      const retry = retries.get(transferId);
      if (!retry) return;
      retries.delete(transferId);
      list = list.filter((t) => t.id !== transferId);
      notify();
      try {
        await retry();
      } catch {
        // its new transfer row says why
      }
    },
    transfers: () => list,
    onTransfers(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    clearFinished() {
      list = list.filter((t) => t.state === 'running' || t.state === 'finishing');
      for (const id of retries.keys()) if (!list.some((t) => t.id === id)) retries.delete(id);
      notify();
    },
    async exportFile(name) {
      if (webBridge) {
        await download(webBridge, name);
        return { kind: 'downloaded' };
      }
      const path = await typedApi.chooseSavePath({ name });
      if (!path) return null;
      await track(name, () => typedApi.getFile({ name, output: path, force: true }));
      return { kind: 'saved', path };
    },
    async openFile(name) {
      if (webBridge) {
        await download(webBridge, name);
        return 'downloaded';
      }
      await track(name, () => typedApi.openFile({ name }));
      return 'opened';
    },
  };
}
