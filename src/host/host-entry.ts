/**
 * Entry point of the engine's process (bundled as out/cli/engine-host.mjs and
 * out/main/engine-host.js). Two carriers, the same host: an Electron utility process talks
 * over `process.parentPort`, a Node child process (child_process.fork with
 * `serialization: 'advanced'`) over `process.send`.
 */
import { Socket } from 'node:net';
import { removeAllSync } from '../core/cleanup';
import { configFromEnvironment, configureEngine } from '../core/config';
import { redactCredentials } from '../shared/redact';
import { serveEngine } from './engine-host';
import { DATA_FD_ENV, type FromHost, type Port, type ToHost } from './messages';

/** Electron's utility-process side of its channel (typed here: the engine imports no Electron). */
interface ParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

function nodePort(): Port<ToHost, FromHost> {
  if (!process.send) throw new Error('the engine host runs as a child process (child_process.fork) only');
  return {
    post: (message) => void process.send?.(message),
    onMessage: (listener) => process.on('message', (m) => listener(m as ToHost)),
  };
}

const port: Port<ToHost, FromHost> = parentPort
  ? {
      post: (message) => parentPort.postMessage(message),
      onMessage: (listener) => parentPort.on('message', (e) => listener(e.data as ToHost)),
    }
  : nodePort();

let exiting = false;
const exit = (code: number): void => {
  if (exiting) return;
  exiting = true;
  removeAllSync();
  process.exit(code);
};

/** putStream's byte pipe: fd 3 of a Node child (engine-client.ts forks it so). */
function dataPipe(): AsyncIterable<Uint8Array> | undefined {
  if (parentPort || !process.env[DATA_FD_ENV]) return undefined;
  delete process.env[DATA_FD_ENV]; // not for the engine's own children
  return new Socket({ fd: 3, readable: true, writable: false });
}

// The engine reads no environment itself: this process is its front end, and its
// environment is the one its parent forked it with (src/core/config.ts).
configureEngine({
  ...configFromEnvironment(process.env),
  warn: (m) => void process.stderr.write(`shardvault: warning: ${redactCredentials(m)}\n`),
});

const host = serveEngine(port, () => exit(0), { data: dataPipe() });

if (!parentPort) {
  // The front decides when the engine stops: Ctrl-C reaches the whole process group, and the
  // front closes the engine in order on its own signal. Should the front die instead, the
  // channel closes and the engine closes itself.
  process.on('SIGINT', () => undefined);
  process.on('disconnect', () => void host.closeNow().finally(() => exit(0)));
}
for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
  // A get's temporary output holds plaintext: removed before the process ends.
  process.on(signal, () => exit(signal === 'SIGTERM' ? 143 : 129));
}
