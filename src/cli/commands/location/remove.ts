/** `shardvault location remove NAME [--untrusted]`. */
import { removeLocation } from '../../../core/vault/location-ops';
import { expectArguments, type Run } from '../../command';
import { print, withVault } from '../../context';
import { approvalWait } from '../guard';

export const remove: Run = async (args, io, self) => {
  expectArguments(args, 1, self);
  const name = args.positional[0]!;
  const result = await withVault(io, args, { unlock: true }, (vault) =>
    removeLocation(vault, name, { untrusted: args.flags.has('untrusted'), guard: approvalWait(args, io) }),
  );
  for (const w of result.guard?.warnings ?? []) io.err(`shardvault: warning: ${w}`);
  print(io, { removed: name, ...result }, () =>
    [
      `Removed ${name}: ${result.moved} shard copies moved to the other locations; key shares dealt again`,
      result.rotated ? "The vault key was rotated: the removed location's old share no longer opens anything." : '',
      result.guard
        ? `The guard was re-shared: guarded files open with ${result.guard.threshold} of ${result.guard.nodes.join(', ')}`
        : '',
    ]
      .filter(Boolean)
      .join('\n'),
  );
  return 0;
};
