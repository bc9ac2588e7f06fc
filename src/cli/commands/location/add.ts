/** `shardvault location add SPEC`. */
import { addLocation } from '../../../core/vault/location-ops';
import { expectArguments, type Command } from '../../command';
import { print, warnAboutPasswords, withVault } from '../../context';

export const add: Command = {
  name: 'location add',
  usage: 'SPEC',
  summary: "a new location; the vault key's shares are dealt again over every location (no file is re-encrypted)",
  async run(args, io) {
    expectArguments(args, 1, add);
    warnAboutPasswords(args.positional, io);
    const added = await withVault(io, args, { unlock: true }, (vault) => addLocation(vault, args.positional[0]!));
    print(
      io,
      added,
      () => `Added ${added.name} (${added.display}); the key shares were dealt again over every location`,
    );
    return 0;
  },
};
