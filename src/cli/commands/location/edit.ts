/**
 * `shardvault location edit NAME [SPEC] [--name NEW]` and `location login NAME`, together:
 * `edit NAME` alone is a sign-in, and a sign-in refused for a folder points at edit.
 */
import { UsageError } from '../../../core/errors';
import { KINDS } from '../../../core/storage/kinds';
import { editLocation, signInLocation } from '../../../core/vault/location-ops';
import { addressOf } from '../../../core/vault/locations';
import { replaceOverDomains } from '../../../core/vault/policy-change';
import { plural } from '../../../shared/format';
import type { Vault } from '../../../core/vault/vault';
import { one } from '../../args';
import { usageError, usageOf, type Run } from '../../command';
import { commandNamed } from '..';
import { print, warnAboutDomains, warnAboutPasswords, withVault } from '../../context';
import { readSecret } from '../../prompt';
import { approvalWait } from '../guard';

export const edit: Run = async (args, io, self) => {
  const rest = args.positional;
  const newName = one(args, 'name');
  const domain = one(args, 'domain');
  // `location edit NAME` alone is a sign-in: only the secrets, at the address this device has.
  if (rest.length === 1 && newName === undefined && domain === undefined)
    return login(args, io, commandNamed('location login'));
  if (rest.length < 1 || rest.length > 2) throw usageError(self);
  if (rest[1] !== undefined) warnAboutPasswords([rest[1]], io);
  const change = {
    ...(newName !== undefined ? { name: newName } : {}),
    ...(domain !== undefined ? { domain } : {}),
    ...(rest[1] ? { spec: rest[1] } : {}),
    allowInsecureHttp: args.flags.has('allow-insecure-http'),
    guard: approvalWait(args, io),
  };
  const edited = await withVault(io, args, { unlock: true }, async (vault) => {
    const info = await editLocation(vault, rest[0]!, change);
    // Files a domain now holds too much of move, as a re-coding does (new copies first).
    const placed = domain === undefined ? null : await replaceOverDomains(vault, { onlyWhenQueued: true });
    for (const p of placed?.pending ?? []) io.err(`shardvault: ${p}`);
    warnAboutDomains(vault, io);
    return { ...info, replaced: placed?.replaced ?? 0, pending: placed?.pending ?? [] };
  });
  print(
    io,
    edited,
    () =>
      `Location ${rest[0]} is now ${edited.name} (${edited.display}${edited.domain === undefined ? '' : `, in ${edited.domain}`})` +
      (domain === undefined
        ? ''
        : '; the key shares were dealt again over the domains' +
          (edited.replaced > 0 ? `; ${plural(edited.replaced, 'file')} moved over the domains` : '') +
          (edited.pending.length > 0 ? '; files left to move wait for shardvault repair' : '')),
  );
  return 0;
};

export const login: Run = async (args, io, self) => {
  if (args.positional.length !== 1 || one(args, 'name') !== undefined || one(args, 'domain') !== undefined)
    throw usageError(self);
  const signedIn = await withVault(io, args, { unlock: true }, (vault) => signIn(vault, args.positional[0]!));
  print(io, signedIn, () => `Signed in to ${signedIn.name} (${signedIn.display}) on this device`);
  return 0;
};

/**
 * Asks only for what the address lacks, on a terminal: an SFTP key's passphrase when the key
 * file it names is encrypted (scripts: $SHARDVAULT_SFTP_KEY_PASSPHRASE), nothing when that key
 * opens as it is, else the password (scripts: $SHARDVAULT_LOCATION_PASSWORD; empty, for SFTP:
 * the ssh-agent and ~/.ssh keys).
 */
async function signIn(vault: Vault, name: string): Promise<{ name: string; display: string }> {
  const location = vault.locations.find((l) => l.name === name);
  if (!location) throw new UsageError(`no location named ${name}`);
  const address = addressOf(vault.profileLocations().find((e) => e.id === location.id)!);
  if (address === null)
    throw new UsageError(
      `${name} is a folder on this machine: it needs no sign-in (usage: shardvault ${usageOf(commandNamed('location edit'))})`,
    );
  const by = KINDS[location.kind].signInBy?.(name);
  if (by !== undefined) throw new UsageError(`${name}: ${by}`);
  if (address.hostKey && process.stderr.isTTY)
    process.stderr.write(`${name}: the server must show host key ${address.hostKey}, as pinned in the vault\n`);
  if (address.keyFile !== null) {
    const { readKeyFile } = await import('../../../core/storage/ssh-keys');
    const key = await readKeyFile(address.keyFile, null);
    if (key === null)
      throw new UsageError(`${name} logs in with the key ${address.keyFile}, which is not on this machine`);
    if (key.problem !== 'encrypted') return signInLocation(vault, name, null);
    const passphrase = await readSecret('SHARDVAULT_SFTP_KEY_PASSPHRASE', `Passphrase of ${address.keyFile}`);
    return signInLocation(vault, name, { keyPassphrase: passphrase });
  }
  const given = process.env['SHARDVAULT_LOCATION_PASSWORD'];
  const password =
    given ??
    (await readSecret(
      'SHARDVAULT_LOCATION_PASSWORD',
      `Password for ${name} (${location.display})${location.kind === 'sftp' ? ' (empty: the ssh-agent or ~/.ssh keys)' : ''}`,
    ));
  return signInLocation(vault, name, password ? { password } : null);
}
