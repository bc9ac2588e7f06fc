/** `shardvault passphrase change`: seal the key shares under a new passphrase. */
import { UsageError } from '../../core/errors';
import { usageError, type Run } from '../command';
import { print, requireStrong, withVault } from '../context';
import { readSecret } from '../prompt';

export const passphrase: Run = async (args, io, self) => {
  if (args.positional.length !== 1 || args.positional[0] !== 'change') throw usageError(self);
  const newCode = args.flags.has('new-recovery-code');
  const change = await withVault(io, args, { unlock: true }, async (vault) => {
    const fromEnv = process.env['SHARDVAULT_NEW_PASSPHRASE'];
    const next = await readSecret('SHARDVAULT_NEW_PASSPHRASE', 'New passphrase');
    await requireStrong(next, args);
    if (!fromEnv && (await readSecret('SHARDVAULT_NEW_PASSPHRASE', 'New passphrase again')) !== next)
      throw new UsageError('the passphrases differ');
    return vault.changePassphrase(next, {
      newRecoveryCode: newCode,
      // Shown as soon as the shares it opens are written, before the old code is retired.
      onRecoveryCode: (code) => {
        if (!io.json) io.out(`New recovery code (shown once; the old one stops working now):\n  ${code}`);
      },
    });
  });
  // Not through passphraseChangeReport: the CLI's answer also carries a new recovery code.
  print(io, change, () =>
    [
      `Passphrase changed: the key shares on ${change.reached.join(', ')} are sealed under the new one`,
      change.away.length
        ? `  ${change.away.join(', ')} ${change.away.length === 1 ? 'was' : 'were'} away: caught up at the next unlock that reaches ${change.away.length === 1 ? 'it' : 'them'}`
        : '',
      change.retired
        ? '  the old passphrase no longer unlocks'
        : '  the old key shares stay until every location holds the new ones',
    ]
      .filter(Boolean)
      .join('\n'),
  );
  return 0;
};
