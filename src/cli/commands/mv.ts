/** `shardvault mv OLD NEW`: rename or move a file or folder, in one commit, no shard written. */
import { plural } from '../../shared/format';
import { moveName } from '../../core/vault/folders';
import { expectArguments, type Run } from '../command';
import { print, withVault } from '../context';

export const mv: Run = async (args, io, self) => {
  expectArguments(args, 2, self);
  const [from, to] = args.positional as [string, string];
  const moved = await withVault(io, args, { unlock: true }, (vault) => moveName(vault, from, to));
  print(
    io,
    moved,
    () => `Moved ${moved.from} to ${moved.to}${moved.files > 1 ? ` (${plural(moved.files, 'file')})` : ''}`,
  );
  return 0;
};
