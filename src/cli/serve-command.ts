/** `shardvault serve`: the UI in a browser, over the web bridge (serve.ts), loopback only. */
import { createApp } from '../core/app';
import { ShardvaultError } from '../core/errors';
import { profileDir } from '../core/vault/profile';
import type { Parsed } from './args';
import { integer } from './args';
import { startServer } from './serve';

export async function serve(args: Parsed, io: { out: (t: string) => void; err: (t: string) => void }): Promise<number> {
  const port = integer(args, 'port', 0, 65535) ?? 0;
  // The drive's requests are use of the vault: they postpone the bridge's auto-lock.
  let touch = (): void => undefined;
  const app = createApp({ profileDir: profileDir(), onDriveActivity: () => touch() });
  const passphrase = process.env['SHARDVAULT_PASSPHRASE'];
  if (passphrase) {
    const status = await app.status();
    if (status) await app.unlock({ passphrase });
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
  if (!server) throw new ShardvaultError('io', 'server stopped');
  return 0;
}
