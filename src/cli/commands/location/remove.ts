/** `shardvault location remove NAME [--untrusted]`. */
import { removeLocation } from '../../../core/vault/location-ops';
import { expectArguments, type Command } from '../../command';
import { print, withVault } from '../../context';

export const remove: Command = {
  name: 'location remove',
  usage: 'NAME [--untrusted]',
  summary: 'move its shards to the others and drop it; --untrusted also changes the vault key',
  async run(args, io) {
    expectArguments(args, 1, remove);
    const name = args.positional[0]!;
    const result = await withVault(io, args, { unlock: true }, (vault) =>
      removeLocation(vault, name, { untrusted: args.flags.has('untrusted') }),
    );
    print(io, { removed: name, ...result }, () =>
      [
        `Removed ${name}: ${result.moved} shard copies moved to the other locations; key shares dealt again`,
        result.rotated ? "The vault key was rotated: the removed location's old share no longer opens anything." : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    return 0;
  },
};
