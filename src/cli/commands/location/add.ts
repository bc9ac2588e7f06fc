/** `shardvault location add SPEC [--domain DOMAIN]`. */
import { addLocation } from '../../../core/vault/location-ops';
import { plural } from '../../../shared/format';
import { widerPolicy } from '../../../shared/words';
import { one } from '../../args';
import { expectArguments, type Run } from '../../command';
import { print, warnAboutDomains, warnAboutPasswords, withVault } from '../../context';
import { approvalWait } from '../guard';

export const add: Run = async (args, io, self) => {
  expectArguments(args, 1, self);
  warnAboutPasswords(args.positional, io);
  const domain = one(args, 'domain');
  const added = await withVault(io, args, { unlock: true }, async (vault) => {
    const info = await addLocation(vault, args.positional[0]!, undefined, undefined, {
      ...(domain === undefined ? {} : { domain }),
      guard: approvalWait(args, io),
    });
    warnAboutDomains(vault, io);
    return { info, total: vault.policy.total, wider: widerPolicy(vault.policy, vault.locations.length) };
  });
  const { info, total, wider } = added;
  for (const w of info.warnings ?? []) io.err(`shardvault: warning: ${w}`);
  print(
    io,
    info,
    () =>
      `Added ${info.name} (${info.display}${info.domain === undefined ? '' : `, in ${info.domain}`}); ` +
      'the key shares were dealt again over every location' +
      // Never a prompt: the command that would use the new location, to run when wanted.
      (wider === null
        ? ''
        : `\nFiles are written as ${plural(total, 'shard')} over ${plural(wider.total, 'location')} now; ` +
          `to use them all (re-codes every file): ${wider.command}`),
  );
  return 0;
};
