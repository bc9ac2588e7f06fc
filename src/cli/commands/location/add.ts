/** `shardvault location add SPEC [--domain DOMAIN]`. */
import { addLocation } from '../../../core/vault/location-ops';
import { one } from '../../args';
import { expectArguments, type Command } from '../../command';
import { print, warnAboutDomains, warnAboutPasswords, withVault } from '../../context';

export const add: Command = {
  name: 'location add',
  usage: 'SPEC [--domain DOMAIN]',
  summary:
    "a new location; the vault key's shares are dealt again over every location (no file is re-encrypted); " +
    '--domain: it fails together with the others in DOMAIN (same building, same provider)',
  async run(args, io) {
    expectArguments(args, 1, add);
    warnAboutPasswords(args.positional, io);
    const domain = one(args, 'domain');
    const added = await withVault(io, args, { unlock: true }, async (vault) => {
      const info = await addLocation(
        vault,
        args.positional[0]!,
        undefined,
        undefined,
        domain === undefined ? {} : { domain },
      );
      warnAboutDomains(vault, io);
      return info;
    });
    print(
      io,
      added,
      () =>
        `Added ${added.name} (${added.display}${added.domain === undefined ? '' : `, in ${added.domain}`}); ` +
        'the key shares were dealt again over every location',
    );
    return 0;
  },
};
