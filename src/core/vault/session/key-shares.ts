/**
 * Changing the deal of the vault key's shares: a re-deal over the locations, a new
 * passphrase, a new vault key (rotation), and finishing what a change cut short left behind.
 */
import { plural } from '../../../shared/format';
import { equalBytes, wipe } from '../../crypto/bytes';
import { AuthError, ShardvaultError, UsageError } from '../../errors';
import { type Head, type VaultKdf } from '../../format/head';
import {
  encodeVaultRecord,
  isFormatObjectName,
  keyShareGeneration,
  PATHS,
  type KeyShareRecord,
} from '../../format/records';
import { sealSecrets } from '../locations';
import { readVaultRecord } from '../checked-node';
import {
  dealShares,
  deriveVaultKeys,
  keyShareIsSound,
  newRecoveryCode,
  passphraseKey,
  recoveryKey,
  signRotation,
  wipeVaultKeys,
} from '../keys';
import { shareGroups } from '../domains';
import { everywhere, headOf, storeProfile, type Location, type VaultState } from './state';
import { domainsSurvive, policySurvives } from './survival';
import { commit, loadHead } from './head-store';
import { audited } from './access-log';
import { openedCredentials } from './credentials';
import { dropPreKey } from './unlock';

/** What a re-deal seals the new shares under when not the vault's current secrets (a passphrase change). */
export interface Resealing {
  readonly pk: Uint8Array;
  readonly rk: Uint8Array;
  /** Older shares go as soon as every location that answered holds the new deal. */
  readonly retireWhenReachable: boolean;
  /** Runs once the new shares are written, before the head that names them is committed. */
  /** Called once the new shares are written, before the head names them: `reached` holds them. */
  readonly beforeCommit?: (reached: readonly string[]) => Promise<void> | void;
}

export interface RedealOutcome {
  /** Locations that took the new deal. */
  readonly reached: readonly string[];
  /** Locations that could not be reached: they get the deal when they are back. */
  readonly away: readonly string[];
  /** Whether the older deals were deleted (from the locations that took the new one). */
  readonly retired: boolean;
}

export interface PassphraseChange extends RedealOutcome {
  /** The new recovery code (with newRecoveryCode), else null: the old one keeps working. */
  readonly recoveryCode: string | null;
}

export interface PassphraseChangeOptions {
  readonly newRecoveryCode?: boolean;
  readonly onRecoveryCode?: (code: string) => Promise<void> | void;
  /** The passphrase the user typed to confirm the change: it must be the current one. */
  readonly current?: string;
}

/** Whether a location's key share of the current generation is whole (repair). */
export function keyShareSound(s: VaultState, record: KeyShareRecord, locationId: string): boolean {
  if (!s.vk) throw new AuthError('the vault is locked');
  return keyShareIsSound(record, {
    vaultId: s.profile.vaultId,
    locationId,
    vk: s.vk,
    pk: s.pk,
    rk: headOf(s).recoveryKey,
    dealId: headOf(s).dealId,
  });
}

/**
 * Finishes what a re-deal left undone, once the vault is unlocked with the passphrase:
 *   - a location away at the last re-deal (a passphrase change) still holds an older deal,
 *     sealed under the old secrets: once it answers again the shares are dealt again over
 *     every location (shares of one deal can't be made for one location alone);
 *   - the shares that opened are of a generation above the head's (a change cut short
 *     before its commit, unlocked with the new passphrase): dealt again and committed;
 *   - the head's deal is on every location and the shares that opened are of it, but older
 *     shares are left (a change cut short while deleting them): they are deleted.
 * Never when the shares that opened are older than the head's deal: that passphrase is the
 * one a change replaced. A failure is a warning; the next unlock or repair tries again.
 */
/**
 * Finishes what the last unlock found of a key-share change left behind: a location back
 * with an older deal is dealt again, a change cut short before its commit is dealt again,
 * old shares a cut-short change left are retired. Writing commands call it (put, rm,
 * repair, and the app after unlock); readers never do.
 */
export async function finishKeyShareChange(s: VaultState): Promise<void> {
  const opened = s.openedGeneration;
  s.openedGeneration = null;
  if (opened !== null && s.keys) await catchUpKeyShares(s, opened);
}

export async function catchUpKeyShares(s: VaultState, opened: number): Promise<void> {
  const head = headOf(s);
  // Shares of an older deal that opened are under an older passphrase (a change cut short
  // after its commit): dealing under it would undo the change.
  if (!s.pk || opened < head.generation) return;
  const holds = (id: string): boolean | null => {
    const held = s.heldShares.get(id);
    if (held === undefined) return null;
    return held.some((r) => r.generation === head.generation && r.dealId === head.dealId);
  };
  const behind = head.locations.filter((e) => holds(e.id) === false && s.heldShares.get(e.id)!.length > 0);
  try {
    if (behind.length > 0 || opened > head.generation) {
      await redeal(s, (h) => h, { pk: s.pk, rk: head.recoveryKey, retireWhenReachable: true });
      s.options.onWarning?.(
        behind.length > 0
          ? `${behind.map((e) => e.name).join(', ')} held an older deal of the key shares (away at the last change): dealt again`
          : 'the last change of the key shares was cut short: dealt again under this passphrase',
      );
      return;
    }
    const older = [...s.heldShares.values()].some((held) => held.some((r) => r.generation < head.generation));
    if (opened === head.generation && older && head.locations.every((e) => holds(e.id) === true)) {
      await retireSharesBelow(s, head.generation);
    }
  } catch (err) {
    s.options.onWarning?.(`finishing the last change of the key shares: ${(err as Error).message}`);
  }
}

/**
 * Seals the vault key's shares under a new passphrase (docs/FORMAT.md, "Changing the
 * passphrase"): the same vault key is dealt again at the next generation, sealed under the
 * new PK and under RK (the current recovery code's, or a new one's), written beside the old
 * shares; the head that names the new deal is committed; then the old shares are deleted
 * from every location that took the new one, provided every location that answered did.
 * A change cut short leaves the old shares whole (before the commit) or t new ones (after),
 * so one of the two passphrases always unlocks. `onRecoveryCode` gets a new recovery code
 * once the shares it opens are written, before the commit retires the old code.
 */
export async function changePassphrase(
  s: VaultState,
  newPassphrase: string,
  opts: PassphraseChangeOptions = {},
): Promise<PassphraseChange> {
  const detail = opts.newRecoveryCode ? 'new passphrase and recovery code' : 'new passphrase';
  return audited(s, 'passphrase', { detail }, async (used) => {
    // Named before the commit, which writes the log entry with the head.
    return sealUnderNewPassphrase(s, newPassphrase, opts, (reached) => {
      for (const name of reached) used.add(name);
    });
  });
}

export async function sealUnderNewPassphrase(
  s: VaultState,
  newPassphrase: string,
  opts: PassphraseChangeOptions,
  onReached: (reached: readonly string[]) => void,
): Promise<PassphraseChange> {
  const head = headOf(s);
  if (!s.vk || !s.pk) throw new AuthError('changing the passphrase needs the vault unlocked with its passphrase');
  if (opts.current !== undefined) {
    const typed = await passphraseKey(opts.current, s.profile.salt, s.profile.kdf);
    const same = equalBytes(typed, s.pk);
    wipe(typed);
    if (!same) throw new AuthError('wrong passphrase');
  }
  const credentials = openedCredentials(s);
  const newPk = await passphraseKey(newPassphrase, s.profile.salt, s.profile.kdf);
  if (equalBytes(newPk, s.pk) && !opts.newRecoveryCode) {
    wipe(newPk);
    throw new UsageError('the new passphrase is the one the vault has');
  }
  const code = opts.newRecoveryCode ? newRecoveryCode() : null;
  const rk = code ? recoveryKey(code, s.profile.vaultId) : new Uint8Array(head.recoveryKey);
  let outcome: RedealOutcome;
  try {
    outcome = await redeal(s, (h) => (code ? { ...h, recoveryKey: new Uint8Array(rk) } : h), {
      pk: newPk,
      rk,
      retireWhenReachable: true,
      beforeCommit: (reached) => {
        onReached(reached);
        return code ? opts.onRecoveryCode?.(code) : undefined;
      },
    });
  } catch (err) {
    wipe(newPk);
    throw err;
  } finally {
    wipe(rk);
  }
  const old = s.pk;
  dropPreKey(s, old);
  s.pk = newPk;
  wipe(old);
  const vaultId = s.profile.vaultId;
  s.profile = {
    ...s.profile,
    locations: s.profile.locations.map((l) => {
      const secrets = credentials.get(l.id);
      return secrets ? { ...l, sealedSecrets: sealSecrets(secrets, newPk, vaultId, l.id) } : l;
    }),
  };
  await storeProfile(s);
  return { ...outcome, recoveryCode: code };
}

/**
 * Deals a new generation of VK's shares over every location of the vault (after a new
 * passphrase, or over a new set of locations), sealed under PK and under RK (kept in the
 * head), and commits the head that names it (with `change` applied). Old generations are
 * deleted only after that commit, and only once t + X locations hold the new one, so a
 * re-deal cut short at any point never locks the vault out.
 */
export async function redeal(
  s: VaultState,
  change: (head: Head) => Head = (h) => h,
  sealing: Resealing | null = null,
): Promise<RedealOutcome> {
  const head = headOf(s);
  if (!s.vk || !s.pk) throw new AuthError('re-dealing the key shares needs the vault unlocked with its passphrase');
  // A session unlocked before another device dealt again (a passphrase change there) holds
  // the old PK: dealing under it would write over the newer deal and undo the change.
  const latest = await loadHead(s).catch(() => null);
  if (latest && latest.generation > head.generation) {
    throw new AuthError(
      'the key shares were dealt again on another device since this one unlocked (the passphrase may have changed): ' +
        'lock and unlock again',
    );
  }
  const generation = head.generation + 1;
  // A change of policy deals for its new threshold: the head it commits names it.
  const threshold = change(head).policy.threshold;
  const dealt = change(head).locations;
  const groups = shareGroups(dealt, threshold);
  const shares = await dealShares(
    s.vk,
    {
      vaultId: s.profile.vaultId,
      generation,
      threshold,
      locationIds: head.locations.map((l) => l.id),
      // Over the domains the change leaves (a location's new domain is dealt with it).
      groups,
    },
    sealing?.pk ?? s.pk,
    sealing?.rk ?? head.recoveryKey,
  );
  const written = await everywhere(s, (l) => l.node.put(PATHS.keyShare(generation), shares.records.get(l.id)!));
  const ok = written.filter((w) => w.value !== undefined).length;
  // Locations of one failure domain hold one share between them: what counts towards t is
  // the distinct shares reached, not the locations.
  const groupOf = (id: string): string => groups?.[dealt.findIndex((e) => e.id === id)] ?? id;
  const sharesReached = new Set(written.filter((w) => w.value !== undefined).map((w) => groupOf(w.location.id))).size;
  const away = written.filter((w) => w.error instanceof ShardvaultError && w.error.code === 'offline');
  const outcome: RedealOutcome = {
    reached: written.filter((w) => w.value !== undefined).map((w) => w.location.name),
    away: away.map((w) => w.location.name),
    retired: false,
  };
  if (sharesReached < threshold) {
    throw new ShardvaultError(
      'unavailable',
      groups === undefined
        ? `the new key shares reached ${plural(ok, 'location')}; ${threshold} are needed to unlock with them`
        : `the new key shares reached ${plural(sharesReached, 'failure domain')}; ${threshold} are needed to unlock with them`,
    );
  }
  await sealing?.beforeCommit?.(outcome.reached);
  await commit(s, (h) => ({ ...change(h), generation, dealId: shares.dealId }));
  await rewriteLocationRecords(s);
  const safe = Math.min(s.current.length, threshold + policySurvives(s));
  // A new secret retires the old one as soon as every location that answered holds the new
  // deal: a location away now keeps its old share (fewer than t) until it is caught up.
  const everyReachable = ok + away.length === written.length;
  if (sealing?.retireWhenReachable && everyReachable) {
    await retireSharesBelow(
      s,
      generation,
      written.filter((w) => w.value !== undefined).map((w) => w.location),
    );
    return { ...outcome, retired: true };
  }
  const safeShares = groups === undefined ? 0 : Math.min(new Set(groups).size, threshold + domainsSurvive(s));
  if (ok < safe || sharesReached < safeShares) {
    // Old generations stay: until t + X locations hold the new one, losing some of them
    // must not lock the vault out.
    s.options.onWarning?.(
      `the new key shares reached ${ok} of ${s.current.length} locations; the rest get them when they are back (repair)`,
    );
    return outcome;
  }
  await retireSharesBelow(s, generation);
  return { ...outcome, retired: true };
}

/**
 * Deletes key shares of generations below `generation`. Only older key shares go: rotation
 * records stay (a device that missed a rotation follows the chain), and nothing else under
 * keys/ is a name this program made.
 */
export async function retireSharesBelow(
  s: VaultState,
  generation: number,
  locations: readonly Location[] = s.current,
): Promise<void> {
  await everywhere(
    s,
    async (l) => {
      for (const o of await l.node.list(PATHS.keysDir)) {
        const g = keyShareGeneration(o.path);
        if (g !== null && g < generation && o.path === PATHS.keyShare(g)) await l.node.delete(o.path);
      }
    },
    locations,
  );
}

/**
 * A location's record (shardvault.json) is public and unprotected: one that says other KDF
 * parameters than the sealed head (edited, or older than a change) is written again from
 * the head, so a new machine meets the vault's own parameters first.
 */
export async function rewriteLocationRecords(s: VaultState): Promise<void> {
  const { kdf, logPublicKey } = headOf(s);
  if (!kdf) return;
  await everywhere(s, async (l) => {
    const record = await readVaultRecord(l.node);
    const same =
      sameVaultKdf({ params: record.kdf, salt: record.salt }, kdf) &&
      record.logPublicKey !== null &&
      Buffer.from(record.logPublicKey).equals(Buffer.from(logPublicKey));
    if (same) return;
    await l.node.put(PATHS.vault, encodeVaultRecord({ ...record, kdf: kdf.params, salt: kdf.salt, logPublicKey }));
  });
}

/**
 * Replaces VK with `next` (a location is no longer trusted: its old share must stop
 * counting). The caller has already written every manifest again under `next`'s keys;
 * `change` points the head at them. The new head is committed under the new key before
 * old key shares go, and unlock falls back to an older generation whose head it can read,
 * so a rotation cut short leaves the old vault readable.
 */
export async function rotateTo(s: VaultState, next: Uint8Array, change: (head: Head) => Head): Promise<void> {
  const old = { vk: s.vk, keys: s.keys };
  if (!old.vk) throw new AuthError('the vault is locked');
  // Devices pinned to the old key follow the new one only on a record signed by the old
  // key. It goes first, to enough locations that any t of them hold it.
  const head = headOf(s);
  const threshold = change(head).policy.threshold;
  const rotation = signRotation(old.vk, next, s.profile.vaultId, {
    generation: head.generation + 1,
    threshold,
  });
  const signed = await everywhere(s, (l) => l.node.put(PATHS.keyRotation(head.generation + 1), rotation));
  const reached = signed.filter((w) => w.value !== undefined).length;
  // Any t locations, under the old threshold or the new one, must hold the record.
  const needed = s.current.length - Math.min(head.policy.threshold, threshold) + 1;
  if (reached < needed) {
    throw new ShardvaultError(
      'unavailable',
      `the key rotation record reached ${plural(reached, 'location')}; ${needed} are needed before the vault key can change`,
    );
  }
  // Heads under the old key don't open under the new one: expected here, not worth a warning.
  s.rotating = true;
  s.vk = next;
  s.keys = deriveVaultKeys(next, s.profile.vaultId);
  try {
    await redeal(s, change);
  } catch (err) {
    s.rotating = false;
    if (s.keys) wipeVaultKeys(s.keys);
    s.vk = old.vk;
    s.keys = old.keys;
    throw err;
  }
  s.rotating = false;
  wipe(old.vk);
  if (old.keys) wipeVaultKeys(old.keys);
  // Other devices' copies of their heads are under the old key: they no longer open, and
  // what they held is in the head just committed.
  const mine = PATHS.deviceHead(s.profile.device.id);
  await everywhere(s, async (l) => {
    for (const o of await l.node.list(PATHS.headsDir))
      if (o.path !== mine && isFormatObjectName(o.path)) await l.node.delete(o.path);
  });
}

export function sameVaultKdf(a: VaultKdf, b: VaultKdf): boolean {
  return (
    a.params.logN === b.params.logN &&
    a.params.r === b.params.r &&
    a.params.p === b.params.p &&
    Buffer.from(a.salt).equals(Buffer.from(b.salt))
  );
}
