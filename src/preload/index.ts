// The preload exposes the typed API (src/shared/ipc.ts) as named functions, one per call,
// each bound to its own channel; never ipcRenderer itself, never a generic "send". Events
// come back parsed by their schema. Output is CommonJS: sandboxed preloads must be.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { ProgressEvent } from '../shared/api';
import { type Envelope, type ShardvaultBridge, bindCalls, calls, events, preloadCalls } from '../shared/ipc';

const bridge = {
  ...bindCalls((name, request) => ipcRenderer.invoke(calls[name].channel, request) as Promise<Envelope<unknown>>),
  mode: 'desktop' as const,
  onProgress(listener: (event: ProgressEvent) => void): () => void {
    const handler = (_event: Electron.IpcRendererEvent, payload: unknown): void => {
      try {
        listener(events.progress.payload.parse(payload));
      } catch {
        // not a progress event as the contract has it: ignore
      }
    };
    ipcRenderer.on(events.progress.channel, handler);
    return () => void ipcRenderer.removeListener(events.progress.channel, handler);
  },
  onLocked(listener: () => void): () => void {
    const handler = (): void => listener();
    ipcRenderer.on(events.locked.channel, handler);
    return () => void ipcRenderer.removeListener(events.locked.channel, handler);
  },
  /**
   * A file the user dropped on the window: its path (Electron no longer puts it on File) goes
   * to main, which then accepts it for one putFile. The page hands over a File, never a path:
   * webUtils throws for anything else and answers '' for a File made in script, so the page
   * can offer only files the user really dropped or picked.
   */
  offerFile(file: unknown): Promise<Envelope<string>> {
    let path = '';
    try {
      path = webUtils.getPathForFile(file as File);
    } catch {
      // not a File
    }
    if (path === '') {
      return Promise.resolve({
        ok: false,
        error: { code: 'usage', message: 'This is not a file on this computer: drop it from a folder.' },
      });
    }
    return ipcRenderer.invoke(preloadCalls.offerFile.channel, { path }) as Promise<Envelope<string>>;
  },
} satisfies ShardvaultBridge;

contextBridge.exposeInMainWorld('shardvault', Object.freeze(bridge));
