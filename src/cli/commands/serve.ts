/** `shardvault serve`: the UI in a browser, over the web bridge (../serve.ts), loopback only. */
import { createApp } from '../../core/app';
import { profileDir } from '../../core/vault/profile';
import { integer } from '../args';
import type { Command } from '../command';

export const serve: Command = {
  name: 'serve',
  usage: '[--port P]',
  summary: 'the desktop UI in a browser, on this machine only',
  async run(args, io) {
    // Extra arguments are ignored here, as they always were.
    const port = integer(args, 'port', 0, 65535) ?? 0;
    // The web bridge is loaded only by this command (the other commands start faster without it).
    const { startServer } = await import('../serve');
    const app = createApp({ profileDir: profileDir(process.env) });
    const passphrase = process.env['SHARDVAULT_PASSPHRASE'];
    if (passphrase) {
      const status = await app.status();
      if (status) await app.unlock({ passphrase });
    }
    const server = await startServer(app, { port });
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
  },
};
