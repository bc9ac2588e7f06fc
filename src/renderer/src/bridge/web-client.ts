/**
 * The browser's side of the web bridge (src/cli/serve.ts): the same ShardvaultBridge the
 * Electron preload exposes, over fetch, Server-Sent Events and one streamed upload.
 *
 * The token arrives once in the URL's fragment; it is moved to sessionStorage (this tab
 * only, gone when the tab closes, readable only by this origin's own scripts under a
 * strict CSP) and wiped from the address bar, so it is not left on screen or in history.
 */

import type { ProgressEvent } from '../../../shared/api';
import { type ErrorCode, isErrorCode } from '../../../shared/errors';
import {
  type CallName,
  type Envelope,
  type ShardvaultBridge,
  type UploadRequest,
  type FolderUploadRequest,
  calls,
  failedLocations,
  bindCalls,
  events,
  progressEvent,
  web,
} from '../../../shared/ipc';

const TOKEN_KEY = 'shardvault.token';

export interface UploadHandle {
  readonly done: Promise<Envelope<unknown>>;
  abort(): void;
}

export type WebBridge = ShardvaultBridge & {
  /** Streams a file to the engine; progress counts bytes sent. */
  upload(file: Blob, request: UploadRequest, onProgress: (sent: number, total: number) => void): UploadHandle;
  /** A folder in one upload (web.uploadFolder): `files` are the bytes of `request.files`, in
   * its order. The engine stores it in one commit; its progress comes as engine events. */
  uploadFolder(request: FolderUploadRequest, files: readonly Blob[]): UploadHandle;
  /** Has the engine rebuild and verify a file for a browser download; answers {url}, good once. */
  exportFile(name: string): Promise<Envelope<unknown>>;
};

/** The token from the fragment (first load) or from this tab's session (reloads), or null. */
export function takeToken(): string | null {
  const match = /(?:^#|&)token=([A-Za-z0-9_-]{20,})/.exec(window.location.hash);
  if (match?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, match[1]);
    history.replaceState(null, '', window.location.pathname + window.location.search);
    return match[1];
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function failure(code: ErrorCode, message: string): Envelope<never> {
  return { ok: false, error: { code, message } };
}

function asEnvelope(value: unknown): Envelope<unknown> {
  if (typeof value === 'object' && value !== null && 'ok' in value) {
    const v = value as { ok: unknown; value?: unknown; error?: unknown };
    if (v.ok === true) return { ok: true, value: v.value };
    const error = v.error as { code?: unknown; message?: unknown; locations?: unknown } | undefined;
    if (v.ok === false && isErrorCode(error?.code) && typeof error.message === 'string') {
      const locations = failedLocations(error.locations);
      return { ok: false, error: { code: error.code, message: error.message, ...(locations ? { locations } : {}) } };
    }
  }
  return failure('internal', 'The server answered something this page cannot read.');
}

export function createWebBridge(token: string): WebBridge {
  const headers = { [web.tokenHeader]: token };

  async function invoke(name: CallName, request: unknown): Promise<Envelope<unknown>> {
    return post(calls[name].route, request);
  }

  async function post(route: string, request: unknown): Promise<Envelope<unknown>> {
    let response: Response;
    try {
      response = await fetch(route, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: request === undefined ? null : JSON.stringify(request),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      return failure('offline', 'The Shardvault server is not answering. Is `shardvault serve` still running?');
    }
    if (response.status === 401 || response.status === 403) {
      const body = asEnvelope(await response.json().catch(() => null));
      if (!body.ok && body.error.code === 'forbidden') {
        return failure(
          'forbidden',
          'This page is not signed in to the server: open the URL that `shardvault serve` printed.',
        );
      }
      return body;
    }
    return asEnvelope(await response.json().catch(() => null));
  }

  const progressListeners = new Set<(event: ProgressEvent) => void>();
  const lockedListeners = new Set<() => void>();
  let streaming = false;

  function dispatch(name: string, data: string): void {
    if (name === events.progress.name) {
      let event: ProgressEvent;
      try {
        event = progressEvent.parse(JSON.parse(data));
      } catch {
        return;
      }
      for (const listener of progressListeners) listener(event);
    } else if (name === events.locked.name) {
      for (const listener of lockedListeners) listener();
    }
  }

  /** One event stream for all listeners, read with fetch so the token stays in a header. */
  async function stream(): Promise<void> {
    if (streaming) return;
    streaming = true;
    while (progressListeners.size + lockedListeners.size > 0) {
      try {
        const response = await fetch(web.events, { headers, cache: 'no-store', credentials: 'omit' });
        if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let name = 'message';
            const data: string[] = [];
            for (const line of frame.split('\n')) {
              if (line.startsWith('event: ')) name = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (data.length > 0) dispatch(name, data.join('\n'));
          }
        }
      } catch {
        // the server went away or restarted: try again shortly
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    streaming = false;
  }

  /** PUTs `body` to `route`, with the token; the answer as an Envelope. */
  function send(route: string, body: Blob, onProgress: (sent: number, total: number) => void): UploadHandle {
    const xhr = new XMLHttpRequest();
    const done = new Promise<Envelope<unknown>>((resolve) => {
      xhr.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : body.size);
      xhr.onload = () => {
        let answer: unknown;
        try {
          answer = JSON.parse(xhr.responseText);
        } catch {
          answer = null;
        }
        resolve(asEnvelope(answer));
      };
      xhr.onerror = () => resolve(failure('offline', 'The upload was cut off: is `shardvault serve` still running?'));
      xhr.onabort = () => resolve(failure('cancelled', 'Upload cancelled.'));
    });
    xhr.open('PUT', route);
    xhr.setRequestHeader(web.tokenHeader, token);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.send(body);
    return { done, abort: () => xhr.abort() };
  }

  return {
    ...bindCalls(invoke, 'web'),
    mode: 'web',
    onProgress(listener: (event: ProgressEvent) => void) {
      progressListeners.add(listener);
      void stream();
      return () => progressListeners.delete(listener);
    },
    onLocked(listener: () => void) {
      lockedListeners.add(listener);
      void stream();
      return () => lockedListeners.delete(listener);
    },
    upload(file: Blob, request: UploadRequest, onProgress: (sent: number, total: number) => void) {
      const query = new URLSearchParams({ name: request.name });
      if (request.replace) query.set('replace', '1');
      if (request.survive !== undefined) query.set('survive', String(request.survive));
      if (request.happy !== undefined) query.set('happy', String(request.happy));
      if (request.guarded) query.set('guarded', '1');
      return send(`${web.upload}?${query.toString()}`, file, onProgress);
    },
    uploadFolder(request: FolderUploadRequest, files: readonly Blob[]) {
      // One body: the head's length, the head, then every file's bytes in the head's order.
      // A Blob made of Files refers to them: the browser reads each as it sends, never all at once.
      const head = new TextEncoder().encode(JSON.stringify(request));
      const length = new Uint8Array(4);
      new DataView(length.buffer).setUint32(0, head.byteLength);
      return send(web.uploadFolder, new Blob([length, head, ...files]), () => undefined);
    },
    exportFile: (name: string) => post(web.exportFile, { name }),
  } satisfies WebBridge;
}
