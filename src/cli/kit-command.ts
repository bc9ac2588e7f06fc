/**
 * `shardvault kit [--with-recovery-code]`: the one-page recovery kit as text (its words are
 * src/shared/kit.ts, the same the app prints). No passphrase, location password or key is in
 * it. The recovery code is kept nowhere, so the kit has a blank for it, unless the user asks
 * with --with-recovery-code: then the code is read ($SHARDVAULT_RECOVERY_CODE, else typed),
 * checked against the vault, and printed in the blank.
 */
import { kitText } from '../shared/kit';
import { kitFacts } from '../core/kit';
import type { Vault } from '../core/vault/vault';
import { expectPositional, type Parsed } from './args';
import { readSecret } from './prompt';

export const KIT_USAGE = 'kit [--with-recovery-code]';

export async function kitCommand(
  args: Parsed,
  io: { out: (t: string) => void; json: boolean },
  withVault: <T>(work: (vault: Vault) => Promise<T>) => Promise<T>,
): Promise<number> {
  expectPositional(args, 0, KIT_USAGE);
  const asked = args.flags.has('with-recovery-code');
  const facts = await withVault(async (vault) => {
    const recoveryCode = asked ? await readSecret('SHARDVAULT_RECOVERY_CODE', 'Recovery code') : undefined;
    return kitFacts(vault, recoveryCode === undefined ? {} : { recoveryCode });
  });
  io.out(io.json ? JSON.stringify(facts, null, 2) : kitText(facts));
  return 0;
}
