/** The session of this profile's vault, loaded locked. */
import { wipe } from '../../crypto/bytes';
import { NotFoundError } from '../../errors';
import { displaySpec, type LocationSecrets } from '../../storage/open';
import { nodeFor, plainHttpWarning } from '../locations';
import { passphraseKey } from '../keys';
import { loadProfile } from '../profile';
import { newState, preKeyFor, type Location, type VaultOptions, type VaultState } from './state';
import { openStaleSeals } from './credentials';

/** The vault of the profile in `dir`, locked. NotFoundError when the profile has none. */
export async function loadVault(dir: string, options: VaultOptions = {}, passphrase?: string): Promise<VaultState> {
  const profile = await loadProfile(dir);
  if (!profile) {
    throw new NotFoundError(
      `no vault in ${dir}: create one with \`shardvault init\` or attach one with \`shardvault open\``,
    );
  }
  // Sealed location credentials need the passphrase before anything can be fetched; the
  // key is kept for the unlock that follows, so scrypt runs once.
  const pk =
    passphrase && profile.locations.some((l) => l.sealedSecrets)
      ? await passphraseKey(passphrase, profile.salt, profile.kdf)
      : null;
  let locations: Location[];
  let stale: Map<string, LocationSecrets> | null = null;
  try {
    stale = pk ? await openStaleSeals(profile, pk, options.askOldPassphrase, options.keptCredentials) : null;
    locations = profile.locations.map((l) => ({
      id: l.id,
      name: l.name,
      kind: l.kind,
      display: displaySpec(l),
      node: nodeFor(
        l,
        profile.vaultId,
        stale?.has(l.id) ? null : pk,
        stale?.get(l.id) ?? options.keptCredentials?.get(l.id) ?? null,
      ),
    }));
  } catch (err) {
    wipe(pk);
    throw err;
  }
  const vault = newState(dir, profile, locations, options);
  vault.staleSeals = stale;
  if (pk && passphrase) vault.preKey = preKeyFor(passphrase, pk);
  for (const l of profile.locations) {
    const warning = plainHttpWarning(l);
    if (warning?.legacy) options.onWarning?.(warning.message);
  }
  return vault;
}
