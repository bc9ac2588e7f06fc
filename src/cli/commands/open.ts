/** `shardvault open`: attach this profile to an existing vault (a new machine, or recovery). */
import { plural } from '../../shared/format';
import { UsageError } from '../../core/errors';
import { normalizeFingerprint } from '../../core/vault/keys';
import { lockProfile, profileDir } from '../../core/vault/profile';
import { Vault, type Secret } from '../../core/vault/vault';
import { one } from '../args';
import { expectArguments, type Run } from '../command';
import { hostKeyConfirmer, keyPassphraseAsker, print, requireStrong, warnAboutPasswords, warner } from '../context';
import { readSecret } from '../prompt';
import { userFiles } from '../../core/vault/packs';

export const open: Run = async (args, io, self) => {
  expectArguments(args, 0, self);
  const specs = args.values.get('location') ?? [];
  if (specs.length === 0) throw new UsageError('open needs at least one --location');
  warnAboutPasswords(specs, io);
  let secret: Secret;
  let newPassphrase: string | null = null;
  if (args.flags.has('recovery')) {
    secret = { recoveryCode: await readSecret('SHARDVAULT_RECOVERY_CODE', 'Recovery code') };
    newPassphrase = await readSecret('SHARDVAULT_PASSPHRASE', 'New passphrase');
    await requireStrong(newPassphrase, args);
  } else {
    secret = { passphrase: await readSecret('SHARDVAULT_PASSPHRASE', 'Passphrase') };
  }
  const dir = profileDir(process.env);
  const release = await lockProfile(dir);
  try {
    const expectFingerprint = one(args, 'expect-fingerprint');
    const vault = await Vault.attach(dir, specs, secret, newPassphrase, {
      onWarning: warner(io),
      confirmHostKey: hostKeyConfirmer(args),
      askKeyPassphrase: keyPassphraseAsker(),
      ...(expectFingerprint === undefined ? {} : { expectFingerprint: normalizeFingerprint(expectFingerprint) }),
      allowInsecureHttp: args.flags.has('allow-insecure-http'),
    });
    const p = vault.policy;
    const value = {
      vault: { id: vault.vaultId, data: p.data, total: p.total, threshold: p.threshold },
      files: userFiles(vault.head()).length,
      fingerprint: vault.keyFingerprint,
    };
    await vault.close();
    print(
      io,
      value,
      () =>
        `Opened vault ${value.vault.id}: ${plural(value.files, 'file')}, k = ${p.data} of n = ${p.total}, t = ${p.threshold}\n` +
        `  vault key fingerprint ${value.fingerprint ?? ''}`,
    );
  } finally {
    await release();
  }
  return 0;
};
