/** `shardvault get NAME`: read a file back out of the vault. */
import { fileBaseName } from '../../shared/file-name';
import { getFile } from '../../core/vault/files';
import { integer, one } from '../args';
import { expectArguments, type Command } from '../command';
import { print, withVault } from '../context';

export const get: Command = {
  name: 'get',
  usage: 'NAME [--output PATH] [--force] [--wait S]',
  summary:
    'default ./NAME; PATH may be a folder (PATH/NAME); an existing file is refused without --force; a guarded ' +
    'file whose policy asks for approvals waits up to S seconds for them (default 300), then exits 7',
  async run(args, io) {
    expectArguments(args, 1, get);
    const name = args.positional[0]!;
    const output = one(args, 'output') ?? fileBaseName(name);
    const wait = integer(args, 'wait', 0, 86_400);
    const result = await withVault(io, args, { unlock: true }, (vault) =>
      getFile(vault, name, output, {
        force: args.flags.has('force'),
        ...(wait === undefined ? {} : { wait }),
        say: (line) => io.err(`shardvault: ${line}`),
      }),
    );
    for (const p of result.problems)
      io.err(`shardvault: warning: shard ${p.index} on ${p.location}: ${p.kind} (${p.message}); run verify/repair`);
    print(io, { name, output: result.output, problems: result.problems }, () => `Wrote ${result.output}`);
    return 0;
  },
};
