/** `shardvault get NAME`: read a file back out of the vault. */
import { fileBaseName } from '../../shared/file-name';
import { getFile } from '../../core/vault/files';
import { one } from '../args';
import { expectArguments, type Command } from '../command';
import { print, withVault } from '../context';

export const get: Command = {
  name: 'get',
  usage: 'NAME [--output PATH] [--force]',
  summary: 'default ./NAME; PATH may be a folder (PATH/NAME); an existing file is refused without --force',
  async run(args, io) {
    expectArguments(args, 1, get);
    const name = args.positional[0]!;
    const output = one(args, 'output') ?? fileBaseName(name);
    const result = await withVault(io, args, { unlock: true }, (vault) =>
      getFile(vault, name, output, { force: args.flags.has('force') }),
    );
    for (const p of result.problems)
      io.err(`shardvault: warning: shard ${p.index} on ${p.location}: ${p.kind} (${p.message}); run verify/repair`);
    print(io, { name, output: result.output, problems: result.problems }, () => `Wrote ${result.output}`);
    return 0;
  },
};
