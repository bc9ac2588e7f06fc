/** `shardvault settings`: this device's settings. */
import { UsageError } from '../../core/errors';
import { setHappy } from '../../core/vault/files';
import { one } from '../args';
import { expectArguments, type Run } from '../command';
import { print, withVault } from '../context';

export const settings: Run = async (args, io, self) => {
  expectArguments(args, 0, self);
  const happyText = one(args, 'happy');
  if (happyText !== undefined && happyText !== 'default' && !/^\d{1,2}$/.test(happyText))
    throw new UsageError('--happy takes a number of locations, or default');
  const result = await withVault(io, args, { unlock: false }, async (vault) => {
    if (happyText !== undefined) await setHappy(vault, happyText === 'default' ? null : Number(happyText));
    return { happy: vault.happy, defaultHappy: vault.policy.data, locations: vault.locations.length };
  });
  print(io, result, () =>
    result.happy === null
      ? `happy: default: a put needs shards on k = ${result.defaultHappy} of the ${result.locations} locations`
      : `happy: a put needs shards on ${result.happy} of the ${result.locations} locations`,
  );
  return 0;
};
