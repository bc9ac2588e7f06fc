/**
 * `shardvault node serve --dir DIR --listen HOST:PORT [--public-host NAME] [--max-connections N]`: this machine as
 * a Shardvault node for one vault (src/core/node-server/, docs/NODE.md). Its first line on
 * stdout, before anything else on either stream, is the SPEC to add it with; it runs until
 * SIGINT or SIGTERM and then exits 0 (main.ts leaves a signal to a command that listens).
 */
import { UsageError } from '../../core/errors';
import { integer, one } from '../args';
import { usageError, type Run } from '../command';

/** HOST:PORT, an IPv6 host in brackets; port 0 picks a free one. */
export function readListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535)
    throw new UsageError('--listen is HOST:PORT (an IPv6 address in brackets; port 0: any free one)');
  return { host: (m[1] ?? m[2])!, port };
}

export const serve: Run = async (args, io, self) => {
  const dir = one(args, 'dir');
  const listen = one(args, 'listen');
  if (dir === undefined || listen === undefined || args.positional.length > 0) throw usageError(self);
  const { host, port } = readListen(listen);
  const publicHost = one(args, 'public-host');
  const maxConnections = integer(args, 'max-connections', 1, 65_535);
  // The server is loaded only by this command.
  const { startNodeServer } = await import('../../core/node-server/server');
  const { hostCustodian } = await import('../../core/node-server/custodian');
  const node = await startNodeServer({
    dir,
    host,
    port,
    guard: hostCustodian,
    ...(publicHost === undefined ? {} : { publicHost }),
    ...(maxConnections === undefined ? {} : { maxConnections }),
    say: (line) => io.err(`shardvault node: ${line}`),
  });
  io.out(node.spec);
  io.err(
    node.spec.includes('&enrol=')
      ? 'shardvault node: add it with `shardvault location add` and the line above (its code works once, for 24 hours)'
      : `shardvault node: serving vault ${node.state.vaultId ?? '(none yet)'}; no new device can enrol with a code`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await node.close();
  return 0;
};

export const newCode: Run = async (args, io, self) => {
  const dir = one(args, 'dir');
  if (dir === undefined || args.positional.length > 0) throw usageError(self);
  const { newEnrolment } = await import('../../core/node-server/server');
  io.out(await newEnrolment(dir));
  return 0;
};
