/**
 * The desktop app's engine runs in an Electron utility process: the same host module as
 * `shardvault serve`'s child process (src/host/host-entry.ts, built beside this file as
 * out/main/engine-host.js), so a put that keeps both cores busy never stalls the main
 * process, which only relays the renderer's validated calls (validated-ipc.ts) and owns
 * what needs Electron: windows, dialogs, the OS keystore (asked by the engine over the
 * channel), power events.
 */
import { fileURLToPath } from 'node:url';
import { utilityProcess } from 'electron';
import type { CredentialStore } from '../core/app';
import { connectEngine, type EngineProcess, type HostLink } from '../host/engine-client';
import type { EngineHooks, FromHost, HostOptions } from '../host/messages';

/** Forks the engine host; resolves once its engine is made. Call after the app is ready. */
export function startEngineProcess(
  options: HostOptions,
  credentials?: CredentialStore,
  hooks: EngineHooks = {},
): Promise<EngineProcess> {
  const modulePath = fileURLToPath(new URL('./engine-host.js', import.meta.url));
  const child = utilityProcess.fork(modulePath, [], { serviceName: 'Shardvault engine', stdio: 'inherit' });
  let exited = false;
  const link: HostLink = {
    get pid() {
      return child.pid ?? null;
    },
    post: (message) => {
      if (!exited) child.postMessage(message);
    },
    onMessage: (listener) => child.on('message', (m) => listener(m as FromHost)),
    onExit: (listener) =>
      child.once('exit', (code) => {
        exited = true;
        listener(code);
      }),
    kill: () => void child.kill(),
  };
  return connectEngine(link, options, credentials, hooks);
}
