// The preload exposes named functions of the typed API (src/shared/api.ts) and nothing
// else: never ipcRenderer itself. Filled in by the desktop app (issue 5).
import { contextBridge } from 'electron';

contextBridge.exposeInMainWorld('shardvault', Object.freeze({ version: '0.1.0' }));
