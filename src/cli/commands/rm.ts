/** `shardvault rm NAME`: remove a file from the vault. */
import { removeFile } from '../../core/vault/files';
import { expectArguments, type Command } from '../command';
import { print, withVault } from '../context';

export const rm: Command = {
  name: 'rm',
  usage: 'NAME',
  summary: 'remove the file NAME from the vault (its shards on every location)',
  async run(args, io) {
    expectArguments(args, 1, rm);
    const name = args.positional[0]!;
    await withVault(io, args, { unlock: true }, (vault) => removeFile(vault, name));
    print(io, { removed: name }, () => `Removed ${name}`);
    return 0;
  },
};
