/**
 * Unlocking and locking a session: the key shares read from every location, the vault key
 * recovered from them (keys.ts), the head that proves it, and the profile brought in line
 * with that head; lock() wipes every key.
 */
import { equalBytes, utf8, wipe } from '../../crypto/bytes';
import { ShardvaultError } from '../../errors';
import { type Head } from '../../format/head';
import {
  decodeKeyRotation,
  decodeKeyShare,
  KEY_ROTATION_BYTES,
  KEY_SHARE_BYTES,
  KEY_SHARE_BYTES_V1,
  keyRotationGeneration,
  keyShareGeneration,
  PATHS,
} from '../../format/records';
import { headSpec, locationFromHead, nodeFor, UnavailableNode } from '../locations';
import { readObject } from '../../storage/node';
import {
  deriveVaultKeys,
  passphraseKey,
  recoverVaultKey,
  recoveryKey,
  wipeVaultKeys,
  type KeyTrust,
  type RecoveredKey,
  type ShareFromLocation,
  type UnlockSecret,
} from '../keys';
import { type ProfileLocation } from '../profile';
import {
  everywhere,
  headOf,
  locationById,
  preKeyFor,
  storeProfile,
  UNKNOWN_ADDRESS,
  type Location,
  type Secret,
  type VaultState,
} from './state';
import { loadHead, NoHeadError, pinKey } from './head-store';
import { audit } from './access-log';
import { openStaleSeals, resealStale } from './credentials';

/** Objects under keys/ read at most per location (shares of live generations and rotation records). */
const MAX_KEY_OBJECTS = 4096;

/**
 * `oldPassphrase`: the passphrase this profile's credentials were sealed under before a
 * change on another device (a front end asked for it); without it, options.askOldPassphrase.
 */
export async function unlock(s: VaultState, secret: Secret, opts: { oldPassphrase?: string } = {}): Promise<void> {
  if (s.keys) return;
  if ('passphrase' in secret) await openSealedLocations(s, secret.passphrase, opts.oldPassphrase);
  // A key rotation cut short can leave a newest generation whose head was never written:
  // then the generation below, whose head is intact, is the vault.
  let below: number | undefined;
  for (;;) {
    const { vk, pk, generation, pin } = await recover(s, secret, true, { below });
    s.vk = vk;
    s.pk = pk;
    try {
      s.keys = deriveVaultKeys(vk, s.profile.vaultId);
      s.currentHead = await loadHead(s);
      // Only a head sealed under the key moves the pin: a rotation is followed once its
      // head is read, never on the word of key shares alone.
      pinKey(s, pin);
      await followHeadLocations(s);
      // Every unlock is an access request, whatever the front end (failed ones are logged in recover).
      await audit(s, { action: 'unlock', file: null, outcome: 'ok', locations: s.sharesFrom });
      await resealStale(s);
      // Finished by the next writing command (finishKeyShareChange), never by a reader:
      // ls, get, status, verify and log write nothing.
      s.openedGeneration = generation;
      return;
    } catch (err) {
      const retry = err instanceof NoHeadError && generation > 1;
      // lock() wipes every key; PK is kept (copied) for the retry one generation down.
      const keep = retry && 'passphrase' in secret && s.pk ? preKeyFor(secret.passphrase, new Uint8Array(s.pk)) : null;
      lock(s);
      s.preKey = keep;
      if (!retry) throw err;
      below = generation;
    }
  }
}

/**
 * Locations whose credentials are sealed under the passphrase could not be reached by a
 * vault loaded without it (a UI process loads first, unlocks later): with the passphrase
 * they are opened now, before the key shares are read from them. The passphrase key is
 * kept for recover(), so scrypt runs once; a wrong passphrase opens nothing here and is
 * refused by recover().
 */
export async function openSealedLocations(s: VaultState, passphrase: string, oldPassphrase?: string): Promise<void> {
  const sealed = (l: Location): ProfileLocation | null => {
    const entry = s.profile.locations.find((e) => e.id === l.id);
    return l.node instanceof UnavailableNode && entry?.sealedSecrets ? entry : null;
  };
  // Reached through a front end's kept credentials, but sealed under another passphrase
  // (changed on another device): sealed again once unlocked (resealStale).
  const keptOnly = s.options.keptCredentials !== undefined && s.profile.locations.some((l) => l.sealedSecrets);
  if (!s.current.some((l) => sealed(l)) && !keptOnly) return;
  const reuse = preKeyMatches(s, passphrase) ? s.preKey!.pk : null;
  const pk = reuse ?? (await passphraseKey(passphrase, s.profile.salt, s.profile.kdf));
  dropPreKey(s, reuse);
  s.preKey = preKeyFor(passphrase, pk);
  const ask =
    oldPassphrase !== undefined ? () => Promise.resolve<string | null>(oldPassphrase) : s.options.askOldPassphrase;
  const stale = await openStaleSeals(s.profile, pk, ask, s.options.keptCredentials);
  if (stale) s.staleSeals = stale;
  s.current = s.current.map((l) => {
    const entry = sealed(l);
    if (!entry) return l;
    try {
      const old = stale?.get(l.id);
      return {
        ...l,
        node: old ? nodeFor(entry, s.profile.vaultId, null, old) : nodeFor(entry, s.profile.vaultId, pk),
      };
    } catch {
      return l; // not this passphrase's seal: recover() says so
    }
  });
}

/**
 * The head is the vault's word on which locations it has. A command killed between
 * committing a location change and saving the profile leaves the two apart, and key shares
 * dealt over the head's list would then miss a location of the profile's, or the other way
 * round. So the profile follows the head: a location the head no longer names is dropped
 * (its removal was committed, here or on another device); one the head names that this
 * profile lacks is reached at the address the head records, as `open` does.
 */
export async function followHeadLocations(s: VaultState): Promise<void> {
  const head = headOf(s);
  const ids = new Set(head.locations.map((l) => l.id));
  const extra = s.current.filter((l) => !ids.has(l.id));
  const missing = head.locations.filter((e) => !s.current.some((l) => l.id === e.id));
  await learnAddresses(s, head);
  if (extra.length === 0 && missing.length === 0) return;
  for (const l of extra) {
    s.options.onWarning?.(`${l.name} is no longer a location of this vault; dropped from this profile`);
    await l.node.close().catch(() => undefined);
  }
  const vaultId = s.profile.vaultId;
  const learned = missing.map((entry) => ({ entry, ...locationFromHead(entry, vaultId, UNKNOWN_ADDRESS) }));
  const added: Location[] = learned.map(({ entry, node }) => ({
    id: entry.id,
    name: entry.name,
    kind: entry.kind,
    display: entry.display,
    node,
  }));
  s.current = [...s.current.filter((l) => ids.has(l.id)), ...added];
  s.profile = {
    ...s.profile,
    locations: [...s.profile.locations.filter((e) => ids.has(e.id)), ...learned.map((l) => l.profile)],
  };
  await storeProfile(s);
}

/**
 * A server this profile knows only by the display of an older head (no host key, no
 * credentials: never usable) takes the address the head now carries, and needs sign-in
 * like one learned on a new machine.
 */
export async function learnAddresses(s: VaultState, head: Head): Promise<void> {
  const vaultId = s.profile.vaultId;
  const learned = new Map<string, ReturnType<typeof locationFromHead>>();
  for (const entry of head.locations) {
    const mine = s.profile.locations.find((l) => l.id === entry.id);
    const spec = headSpec(entry);
    if (!mine || spec === null || mine.kind === 'local' || mine.sealedSecrets || mine.needsSignIn) continue;
    if (mine.spec !== entry.display || spec === mine.spec) continue;
    learned.set(entry.id, locationFromHead(entry, vaultId, UNKNOWN_ADDRESS));
  }
  if (learned.size === 0) return;
  for (const l of s.current) if (learned.has(l.id)) await l.node.close().catch(() => undefined);
  s.current = s.current.map((l) => {
    const now = learned.get(l.id);
    return now ? { ...l, node: now.node } : l;
  });
  s.profile = {
    ...s.profile,
    locations: s.profile.locations.map((l) => {
      const now = learned.get(l.id);
      return now ? { ...now.profile, lastSeen: l.lastSeen } : l;
    }),
  };
  await storeProfile(s);
}

/**
 * Wipes every key this vault holds (VK, PK, the keys derived from VK, the head's log and
 * recovery keys, a PK derived ahead and the passphrase bytes kept with it): the buffers are
 * zeroed, not just dropped. Main calls it on lock, on the idle timer, on screen lock and
 * suspend; close() calls it too.
 */
export function lock(s: VaultState): void {
  if (s.keys) wipeVaultKeys(s.keys);
  if (s.currentHead) wipe(s.currentHead.logPrivateKey, s.currentHead.recoveryKey);
  wipe(s.vk, s.pk);
  dropPreKey(s, null);
  s.vk = null;
  s.pk = null;
  s.keys = null;
  s.currentHead = null;
  s.staleSeals = null;
}

export function preKeyMatches(s: VaultState, passphrase: string): boolean {
  if (!s.preKey) return false;
  const bytes = utf8(passphrase.normalize('NFC'));
  try {
    return equalBytes(bytes, s.preKey.passphrase);
  } finally {
    wipe(bytes);
  }
}

/** Wipes and forgets the PK derived ahead, except `handedOn` (a caller took it over). */
export function dropPreKey(s: VaultState, handedOn: Uint8Array | null): void {
  if (!s.preKey) return;
  wipe(s.preKey.passphrase);
  if (s.preKey.pk !== handedOn) wipe(s.preKey.pk);
  s.preKey = null;
}

/** Reads every reachable location's key shares and recovers VK, logging a refusal. */
export async function recover(
  s: VaultState,
  secret: Secret,
  logFailure: boolean,
  extra: Pick<KeyTrust, 'below' | 'expectFingerprint'> = {},
): Promise<RecoveredKey & { pk: Uint8Array | null }> {
  // One share per location and generation, read under its expected name only; rotation
  // records beside them are checked against the pin in recoverVaultKey, never trusted as read.
  const found = await everywhere(s, async (l) => {
    const listing = await l.node.list(PATHS.keysDir);
    const shares: ShareFromLocation[] = [];
    const rotations: ReturnType<typeof decodeKeyRotation>[] = [];
    for (const object of listing.slice(0, MAX_KEY_OBJECTS)) {
      const generation = keyShareGeneration(object.path);
      try {
        if (generation !== null && object.path === PATHS.keyShare(generation)) {
          if (object.size !== KEY_SHARE_BYTES && object.size !== KEY_SHARE_BYTES_V1) continue;
          const record = decodeKeyShare(await readObject(l.node, object.path, KEY_SHARE_BYTES));
          if (record.generation !== generation) {
            s.options.onWarning?.(`${l.name}: ${object.path} holds a key share of generation ${record.generation}`);
            continue;
          }
          shares.push({ locationId: l.id, locationName: l.name, record });
        } else if (keyRotationGeneration(object.path) !== null && object.size === KEY_ROTATION_BYTES) {
          rotations.push(decodeKeyRotation(await readObject(l.node, object.path, KEY_ROTATION_BYTES)));
        }
      } catch (err) {
        s.options.onWarning?.(`${l.name}: ${(err as Error).message}`);
      }
    }
    return { shares, rotations };
  });
  const shares = found.flatMap((f) => f.value?.shares ?? []);
  const rotations = found.flatMap((f) => f.value?.rotations ?? []);
  s.heldShares = new Map(
    found.flatMap((f) => (f.value ? [[f.location.id, f.value.shares.map((x) => x.record)] as const] : [])),
  );
  const reached = found.filter((f) => f.value).map((f) => f.location.name);
  let unlockSecret: UnlockSecret;
  if ('passphrase' in secret) {
    const reuse = preKeyMatches(s, secret.passphrase) ? s.preKey!.pk : null;
    dropPreKey(s, reuse); // a reused PK is handed on: kept as PK below, or wiped
    unlockSecret = {
      kind: 'passphrase',
      key: reuse ?? (await passphraseKey(secret.passphrase, s.profile.salt, s.profile.kdf)),
    };
  } else {
    unlockSecret = { kind: 'recovery', key: recoveryKey(secret.recoveryCode, s.profile.vaultId) };
  }
  let keep = false;
  try {
    const recovered = await recoverVaultKey(s.profile.vaultId, shares, unlockSecret, {
      pin: s.profile.keyPin,
      rotations,
      ...extra,
    });
    for (const r of recovered.refused) {
      s.options.onWarning?.(
        `the key shares at ${r.locations.join(', ')} (generation ${r.generation}) combine to a vault key this device ` +
          'does not trust: a location may be forging key shares; they were not used',
      );
    }
    keep = unlockSecret.kind === 'passphrase';
    s.sharesFrom = recovered.locationIds.map((id) => locationById(s, id)?.name ?? id);
    return { ...recovered, pk: keep ? unlockSecret.key : null };
  } catch (err) {
    if (logFailure && err instanceof ShardvaultError) {
      await audit(s, {
        action: 'unlock',
        file: null,
        outcome: err.code === 'auth' ? 'denied' : 'failed',
        locations: reached,
      }).catch(() => undefined);
      await storeProfile(s).catch(() => undefined);
    }
    if (err instanceof ShardvaultError && err.code === 'unavailable') {
      const down = found.filter((f) => f.error).map((f) => `${f.location.name}: ${f.error!.message}`);
      if (down.length) throw new ShardvaultError('unavailable', `${err.message}; unreachable: ${down.join('; ')}`);
    }
    throw err;
  } finally {
    if (!keep) wipe(unlockSecret.key);
  }
}
