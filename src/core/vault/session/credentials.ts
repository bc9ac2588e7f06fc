/** Location credentials this profile seals under the passphrase key: sealing, opening, and sealing again after a change on another device. */
import { plural } from '../../../shared/format';
import { wipe } from '../../crypto/bytes';
import { AuthError } from '../../errors';
import { type LocationSecrets } from '../../storage/open';
import { openSecrets, sealSecrets } from '../locations';
import { passphraseKey } from '../keys';
import { type Profile } from '../profile';
import { storeProfile, type VaultOptions, type VaultState } from './state';

/** Seals credentials for the profile; needs the vault unlocked with its passphrase. */
export function sealCredentials(s: VaultState, secrets: LocationSecrets | null, locationId: string): string | null {
  if (!secrets) return null;
  if (!s.pk) throw new AuthError('storing credentials needs the vault unlocked with its passphrase');
  return sealSecrets(secrets, s.pk, s.profile.vaultId, locationId);
}

/** The credentials the profile seals, opened (for a front end's own keystore copy). Unlocked with the passphrase only. */
export function openedCredentials(s: VaultState): Map<string, LocationSecrets> {
  if (!s.pk) throw new AuthError('the credentials open with the passphrase only');
  const out = new Map<string, LocationSecrets>();
  for (const l of s.profile.locations) {
    if (l.sealedSecrets) out.set(l.id, openSecrets(l.sealedSecrets, s.pk, s.profile.vaultId, l.id));
  }
  return out;
}

/**
 * Credentials opened under the passphrase this device knew before another device changed
 * it are sealed again under the one the vault just unlocked with (which the key shares
 * proved right), so the old passphrase is asked for once.
 */
export async function resealStale(s: VaultState): Promise<void> {
  const stale = s.staleSeals;
  s.staleSeals = null;
  if (!stale || !s.pk) return;
  const pk = s.pk;
  s.profile = {
    ...s.profile,
    locations: s.profile.locations.map((l) =>
      stale.has(l.id) ? { ...l, sealedSecrets: sealSecrets(stale.get(l.id)!, pk, s.profile.vaultId, l.id) } : l,
    ),
  };
  await storeProfile(s);
  s.options.onWarning?.(
    `the passphrase was changed on another device: the credentials of ${plural(stale.size, 'location')} on this device are now sealed under the new one`,
  );
}

/**
 * The profile's sealed credentials that do not open under `pk` (the passphrase was changed
 * on another device), opened under the older passphrase `ask` gives; null when all open or
 * no one can be asked (nodeFor then refuses as before). A wrong older passphrase is an AuthError.
 */
export async function openStaleSeals(
  profile: Profile,
  pk: Uint8Array,
  ask: VaultOptions['askOldPassphrase'],
  kept?: ReadonlyMap<string, LocationSecrets>,
): Promise<Map<string, LocationSecrets> | null> {
  const failing = profile.locations.filter((l) => {
    if (!l.sealedSecrets) return false;
    try {
      openSecrets(l.sealedSecrets, pk, profile.vaultId, l.id);
      return false;
    } catch {
      return true;
    }
  });
  if (failing.length === 0) return null;
  // A front end's keystore copy (kept from an earlier unlock) stands in for the old passphrase.
  if (kept && failing.every((l) => kept.has(l.id))) return new Map(failing.map((l) => [l.id, kept.get(l.id)!]));
  if (!ask) return null;
  const older = await ask();
  if (older === null) return null;
  const oldPk = await passphraseKey(older, profile.salt, profile.kdf);
  try {
    return new Map(failing.map((l) => [l.id, openSecrets(l.sealedSecrets!, oldPk, profile.vaultId, l.id)]));
  } finally {
    wipe(oldPk);
  }
}
