/**
 * `shardvault mount [--port P]`: the unlocked vault as a WebDAV drive on 127.0.0.1
 * (core/drive/). The drive's address, with its user and random password, is the first line
 * on stdout, flushed at once, with nothing before it on either stream (scripts read it):
 * warnings of the unlock wait until it is out. Runs until SIGINT or SIGTERM, then exits 0;
 * holds the profile meanwhile, so other commands exit 5.
 */
import { removeAllSync } from '../../core/cleanup';
import { integer } from '../args';
import { type Run, expectArguments } from '../command';
import { type Io, withVault } from '../context';
import { signals } from '../signals';

export const mount: Run = async (args, io, self) => {
  expectArguments(args, 0, self);
  const port = integer(args, 'port', 0, 65535) ?? 0;
  // The drive is loaded only by this command (the other commands start faster without it).
  const [{ startDrive }, { serialOver, vaultStore }] = await Promise.all([
    import('../../core/drive/server'),
    import('../../core/drive/store'),
  ]);
  // Lines for stderr before the address is out are held back, then written after it (or,
  // when the mount fails, before the error).
  let held: string[] | null = [];
  const quiet: Io = { ...io, err: (t) => (held ? held.push(t) : io.err(t)) };
  const flush = (): void => {
    const lines = held ?? [];
    held = null;
    for (const line of lines) io.err(line);
  };
  signals.takenOver = true;
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  try {
    await withVault(quiet, args, { unlock: true }, async (vault) => {
      const queue = serialOver(vault);
      const drive = await startDrive(
        vaultStore(queue, () => vault),
        {
          port,
          // What the vault failed (a client's mistakes are answered, not reported).
          onError: (m) => io.err(`shardvault: drive: ${m}`),
        },
      );
      try {
        io.out(drive.url);
        flush();
        io.err('shardvault: the vault is open as a drive on this machine only; press Ctrl+C to stop');
        await stopped;
      } finally {
        await drive.close();
        // Work already under way (a put cleaning up after its cut-off upload) ends before
        // the vault closes.
        await queue.settled();
      }
    });
  } finally {
    flush();
    removeAllSync();
  }
  return 0;
};
