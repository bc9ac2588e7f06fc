// The preload exposes the typed API (src/shared/ipc.ts) as named functions, one per call,
// each bound to its own channel; never ipcRenderer itself, never a generic "send". Events
// come back parsed by their schema. Output is CommonJS: sandboxed preloads must be.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { ProgressEvent } from '../shared/api';
import { type ShardvaultBridge, callNames, calls, events } from '../shared/ipc';

const bridge: Record<string, unknown> = {
  mode: 'desktop',
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
  /** The path of a dropped or picked file (Electron no longer puts it on File). */
  pathForFile(file: unknown): string {
    return webUtils.getPathForFile(file as File);
  },
};
for (const name of callNames) {
  const { channel } = calls[name];
  bridge[name] = (request?: unknown): Promise<unknown> => ipcRenderer.invoke(channel, request);
}

contextBridge.exposeInMainWorld('shardvault', Object.freeze(bridge as ShardvaultBridge));
