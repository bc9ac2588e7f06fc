/**
 * `shardvault serve`: the UI in a browser, over the web bridge (../serve.ts), loopback only.
 * The engine runs in a process of its own (src/host): this one only answers HTTP and
 * relays, so it answers while a put keeps both cores busy.
 */
import { ShardvaultError } from '../../core/errors';
import { startEngine } from '../../host/engine-client';
import { profileDir } from '../../core/vault/profile';
import { isEngineErrorCode } from '../../shared/errors';
import { BridgeFailure } from '../../shared/ipc';
import { integer } from '../args';
import type { Run } from '../command';

export const serve: Run = async (args, io) => {
  // Extra arguments are ignored here, as they always were.
  const port = integer(args, 'port', 0, 65535) ?? 0;
  // The web bridge is loaded only by this command (the other commands start faster without it).
  const { startServer } = await import('../serve');
  // The drive's requests are use of the vault: they postpone the bridge's auto-lock.
  let touch = (): void => undefined;
  const app = await startEngine({ profileDir: profileDir(process.env) }, undefined, {
    onDriveActivity: () => touch(),
  });
  const passphrase = process.env['SHARDVAULT_PASSPHRASE'];
  try {
    if (passphrase) {
      const status = await app.status();
      if (status) await app.unlock({ passphrase });
    }
  } catch (error) {
    await app.close();
    // The engine's own code (a profile held by another process: busy), for the exit status.
    if (error instanceof BridgeFailure && isEngineErrorCode(error.code))
      throw new ShardvaultError(error.code, error.message);
    throw error;
  }
  const server = await startServer(app, { port });
  touch = () => server.touch();
  io.out(server.url);
  io.err('shardvault: serving on this machine only; press Ctrl+C to stop');
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  await app.close();
  return 0;
};
