/**
 * `shardvault mount [--port P]`: the unlocked vault as a WebDAV drive on 127.0.0.1
 * (core/drive/). The drive's address, with its user and random password, is the first line
 * on stdout, flushed at once, with nothing before it on either stream (scripts read it):
 * warnings of the unlock wait until it is out. Runs until SIGINT or SIGTERM, then exits 0;
 * holds the profile meanwhile, so other commands exit 5.
 */
import { removeAllSync } from '../core/cleanup';
import { startDrive } from '../core/drive/server';
import { serialOver, vaultStore } from '../core/drive/store';
import type { Vault } from '../core/vault/vault';
import { expectPositional, integer, type Parsed } from './args';
import { signals } from './signals';

export interface MountIo {
  out: (text: string) => void;
  err: (text: string) => void;
  json: boolean;
}

export async function mountCommand(
  args: Parsed,
  io: MountIo,
  withVault: <T>(io: MountIo, work: (vault: Vault) => Promise<T>) => Promise<T>,
): Promise<number> {
  expectPositional(args, 0, 'mount [--port P]');
  const port = integer(args, 'port', 0, 65535) ?? 0;
  // Lines for stderr before the address is out are held back, then written after it (or,
  // when the mount fails, before the error).
  let held: string[] | null = [];
  const quiet: MountIo = { ...io, err: (t) => (held ? held.push(t) : io.err(t)) };
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
    await withVault(quiet, async (vault) => {
      const drive = await startDrive(
        vaultStore(serialOver(vault), () => vault),
        { port },
      );
      try {
        io.out(drive.url);
        flush();
        io.err('shardvault: the vault is open as a drive on this machine only; press Ctrl+C to stop');
        await stopped;
      } finally {
        await drive.close();
      }
    });
  } finally {
    flush();
    removeAllSync();
  }
  return 0;
}
