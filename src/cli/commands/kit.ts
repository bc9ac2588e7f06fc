/**
 * `shardvault kit [--with-recovery-code]`: the one-page recovery kit as text (its words are
 * src/shared/kit.ts, the same the app prints). No passphrase, location password or key is in
 * it. The recovery code is kept nowhere, so the kit has a blank for it, unless the user asks
 * with --with-recovery-code: then the code is read ($SHARDVAULT_RECOVERY_CODE, else typed),
 * checked against the vault (exit 3 if it is not this vault's), and printed in the blank.
 */
import { kitFacts as kitFactsSchema } from '../../shared/ipc';
import { kitText } from '../../shared/kit';
import { kitFacts } from '../../core/kit';
import { expectArguments, type Run } from '../command';
import { print, withVault } from '../context';
import { readSecret } from '../prompt';

export const kit: Run = async (args, io, self) => {
  expectArguments(args, 0, self);
  const asked = args.flags.has('with-recovery-code');
  const facts = await withVault(io, args, { unlock: true }, async (vault) => {
    const recoveryCode = asked ? await readSecret('SHARDVAULT_RECOVERY_CODE', 'Recovery code') : undefined;
    return kitFacts(vault, recoveryCode === undefined ? {} : { recoveryCode });
  });
  print(io, facts, () => kitText(facts), kitFactsSchema);
  return 0;
};
