/**
 * The key hierarchy (docs/SECURITY.md):
 *
 *   passphrase --scrypt(vault salt)--> PK --HKDF(location, generation)--> share sealing keys
 *   recovery code --HKDF--> RK ---------HKDF(location, generation)--> share sealing keys
 *   VK (random, Shamir-shared t-of-m) --HKDF--> head key, manifest key, file-key wrapping
 *                                               key, key-check value per generation
 *   FK (random per file, wrapped under VK's wrapping key) --> wraps each shard key
 *   shard key (random per shard) --> STREAM frames of that shard
 */
import { createHash, randomBytes } from 'node:crypto';
import { openWithNonce, sealWithNonce } from '../crypto/aead';
import { concat, equalBytes, fromHex, toHex, u32be, utf8, wipe } from '../crypto/bytes';
import { hkdf, scrypt, type KdfParams } from '../crypto/kdf';
import { recoverChecked, shareX, splitSecret } from '../crypto/shamir';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../crypto/signing';
import { AuthError, ShardvaultError, UsageError } from '../errors';
import {
  DEAL_ID_BYTES,
  keyRotationBody,
  keyShareHeader,
  type KeyRotationRecord,
  type KeyShareRecord,
} from '../format/records';

const info = (purpose: string, ...parts: Uint8Array[]): Uint8Array =>
  concat(utf8(`shardvault/v1/${purpose}`), ...parts);

export function passphraseKey(passphrase: string, salt: Uint8Array, kdf: KdfParams): Promise<Uint8Array> {
  if (passphrase.length === 0) throw new AuthError('the passphrase is empty');
  return scrypt(passphrase, salt, kdf);
}

// ------------------------------------------------------------------ recovery code

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32
export const RECOVERY_BITS = 160;

/** 160 random bits as 32 Crockford base-32 characters in groups of four. */
export function newRecoveryCode(): string {
  return base32Groups(randomBytes(RECOVERY_BITS / 8));
}

/** Crockford base-32 in groups of four (a whole number of 5-bit groups: 20 bytes give 32 characters). */
function base32Groups(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join('-');
}

/** Accepts the code as printed, in any case, with or without separators; O→0, I/L→1. */
export function normalizeRecoveryCode(code: string): string {
  const clean = code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (clean.length !== RECOVERY_BITS / 5 || [...clean].some((c) => !ALPHABET.includes(c))) {
    throw new AuthError('that is not a recovery code (32 characters from the recovery kit)');
  }
  return clean;
}

/** A 160-bit random code needs no stretching: HKDF alone is enough against guessing. */
export function recoveryKey(code: string, vaultId: string): Uint8Array {
  return hkdf(utf8(normalizeRecoveryCode(code)), fromHex(vaultId, 'vaultId', 16), info('recovery'));
}

// ------------------------------------------------------------------ derived keys

export interface VaultKeys {
  readonly head: Uint8Array;
  readonly manifest: Uint8Array;
  readonly fileWrap: Uint8Array;
}

export function deriveVaultKeys(vk: Uint8Array, vaultId: string): VaultKeys {
  const salt = fromHex(vaultId, 'vaultId', 16);
  return {
    head: hkdf(vk, salt, info('head')),
    manifest: hkdf(vk, salt, info('manifest')),
    fileWrap: hkdf(vk, salt, info('file-key-wrap')),
  };
}

export function wipeVaultKeys(keys: VaultKeys): void {
  wipe(keys.head, keys.manifest, keys.fileWrap);
}

/** The check value of one deal: version 2 shares bind their deal id, version 1 (dealId null) the generation only. */
export function keyCheckValue(vk: Uint8Array, vaultId: string, generation: number, dealId: string | null): Uint8Array {
  const deal = dealId === null ? [] : [fromHex(dealId, 'dealId', DEAL_ID_BYTES)];
  return hkdf(vk, fromHex(vaultId, 'vaultId', 16), info('kcv', u32be(generation), ...deal));
}

// ------------------------------------------------------------------ the key pin

/**
 * What a device trusts about the vault key without holding it: the public half of an
 * Ed25519 key derived from VK (a fingerprint of VK that also verifies signatures), with
 * the generation and threshold it last saw. Key shares are followed only when they combine
 * to the pinned key, or to a key that a chain of rotation records signed by it vouches for.
 */
export interface KeyPin {
  readonly key: Uint8Array;
  readonly generation: number;
  readonly threshold: number;
}

function pinSeed(vk: Uint8Array, vaultId: string): Uint8Array {
  return hkdf(vk, fromHex(vaultId, 'vaultId', 16), info('pin'));
}

/** The pin of a vault key (32 bytes, public). */
export function keyPin(vk: Uint8Array, vaultId: string): Uint8Array {
  const seed = pinSeed(vk, vaultId);
  try {
    return ed25519PublicKey(seed);
  } finally {
    wipe(seed);
  }
}

/** The pin as people compare it: 160 bits of its hash in Crockford base 32 (the recovery kit prints it). */
export function keyFingerprint(pin: Uint8Array): string {
  const digest = createHash('sha256').update(utf8('shardvault/v1/fingerprint')).update(pin).digest();
  return base32Groups(digest.subarray(0, 20));
}

/** A fingerprint as typed (any case, with or without dashes), or a UsageError. */
export function normalizeFingerprint(text: string): string {
  const clean = text.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (clean.length !== 32 || [...clean].some((c) => !ALPHABET.includes(c))) {
    throw new UsageError('that is not a vault key fingerprint (32 characters from the recovery kit)');
  }
  return clean.match(/.{4}/g)!.join('-');
}

/** The rotation record that lets devices pinned to `oldVk` follow the vault to `newVk`. */
export function signRotation(
  oldVk: Uint8Array,
  newVk: Uint8Array,
  vaultId: string,
  deal: { generation: number; threshold: number },
): Uint8Array {
  const body = keyRotationBody({
    vaultId,
    generation: deal.generation,
    threshold: deal.threshold,
    oldPin: keyPin(oldVk, vaultId),
    newPin: keyPin(newVk, vaultId),
  });
  const seed = pinSeed(oldVk, vaultId);
  try {
    return concat(body, ed25519Sign(seed, body));
  } finally {
    wipe(seed);
  }
}

/** Rotation records a device can follow at most, one after the other. */
const MAX_ROTATION_CHAIN = 64;

/**
 * Whether a chain of rotation records, each signed by the key the one before it names,
 * leads from the pinned key to `target` (at a generation no later than `generation`). A
 * record that is malformed, of another vault or badly signed is passed over.
 */
export function rotationsVouch(
  vaultId: string,
  from: Uint8Array,
  target: Uint8Array,
  generation: number,
  records: readonly (KeyRotationRecord & { body: Uint8Array })[],
): boolean {
  let current = from;
  let after = 0;
  for (let step = 0; step < MAX_ROTATION_CHAIN; step++) {
    const next = records
      .filter(
        (r) =>
          r.vaultId === vaultId &&
          r.generation > after &&
          r.generation <= generation &&
          equalBytes(r.oldPin, current) &&
          ed25519Verify(current, r.body, r.signature),
      )
      .sort((a, b) => a.generation - b.generation)[0];
    if (!next) return false;
    current = next.newPin;
    after = next.generation;
    if (equalBytes(current, target)) return true;
  }
  return false;
}

function shareSealKey(
  root: Uint8Array,
  kind: 'passphrase' | 'recovery',
  vaultId: string,
  locationId: string,
  generation: number,
): Uint8Array {
  return hkdf(
    root,
    fromHex(vaultId, 'vaultId', 16),
    info(`share-${kind}`, fromHex(locationId, 'locationId', 16), u32be(generation)),
  );
}

/** The profile's own key, for sealing location credentials (profile.ts). */
export function profileKey(pk: Uint8Array, vaultId: string): Uint8Array {
  return hkdf(pk, fromHex(vaultId, 'vaultId', 16), info('profile'));
}

// ------------------------------------------------------------------ wrapping

export function wrapKey(wrappingKey: Uint8Array, key: Uint8Array, aad: Uint8Array): Uint8Array {
  return sealWithNonce(wrappingKey, key, aad);
}

export function unwrapKey(wrappingKey: Uint8Array, wrapped: Uint8Array, aad: Uint8Array, what: string): Uint8Array {
  return openWithNonce(wrappingKey, wrapped, aad, what);
}

export const fileKeyAad = (vaultId: string, fileId: string, version: number): Uint8Array =>
  concat(utf8('SVFK'), fromHex(vaultId, 'vaultId', 16), fromHex(fileId, 'fileId', 16), u32be(version));

export const shardKeyAad = (fileId: string, version: number, index: number): Uint8Array =>
  concat(utf8('SVSK'), fromHex(fileId, 'fileId', 16), u32be(version), Uint8Array.of(index));

// ------------------------------------------------------------------ dealing and recovering

export interface Dealing {
  readonly vaultId: string;
  readonly generation: number;
  readonly threshold: number;
  /** Location ids, in x order of the deal. */
  readonly locationIds: readonly string[];
  /**
   * One group per location (its failure domain, domains.ts shareGroups): locations of one
   * group hold the same share, so a domain counts once towards t. Absent: a share each.
   */
  readonly groups?: readonly string[];
}

export function newDealId(): string {
  return toHex(randomBytes(DEAL_ID_BYTES));
}

/**
 * Splits VK over the locations under a fresh deal id; returns each location's key-share
 * record bytes and the deal id (the head names it, so repair can tell this deal from another
 * of the same generation).
 */
export async function dealShares(
  vk: Uint8Array,
  deal: Dealing,
  pk: Uint8Array,
  rk: Uint8Array,
): Promise<{ records: Map<string, Uint8Array>; dealId: string }> {
  const groups = deal.groups ?? deal.locationIds;
  if (groups.length !== deal.locationIds.length) throw new TypeError('dealShares: one group per location');
  const distinct = [...new Set(groups)];
  const shares = await splitSecret(vk, distinct.length, deal.threshold);
  const dealId = newDealId();
  const kcv = keyCheckValue(vk, deal.vaultId, deal.generation, dealId);
  const out = new Map<string, Uint8Array>();
  deal.locationIds.forEach((locationId, i) => {
    const share = shares[distinct.indexOf(groups[i]!)]!;
    const header = keyShareHeader({
      vaultId: deal.vaultId,
      generation: deal.generation,
      threshold: deal.threshold,
      total: distinct.length,
      locationId,
      dealId,
      kcv,
    });
    const passKey = shareSealKey(pk, 'passphrase', deal.vaultId, locationId, deal.generation);
    const recKey = shareSealKey(rk, 'recovery', deal.vaultId, locationId, deal.generation);
    out.set(locationId, concat(header, sealWithNonce(passKey, share, header), sealWithNonce(recKey, share, header)));
    wipe(passKey, recKey);
  });
  wipe(...shares);
  return { records: out, dealId };
}

/**
 * Whether a location's key share is whole: each box opens under its key (the passphrase box
 * only when PK is at hand) and its check value is this VK's. A share damaged inside a box
 * still parses, and would only fail at the next unlock, when fewer locations may be left.
 */
export function keyShareIsSound(
  record: KeyShareRecord,
  opts: {
    vaultId: string;
    locationId: string;
    vk: Uint8Array;
    pk: Uint8Array | null;
    rk: Uint8Array;
    /** The deal the head names (null for a version 1 head): a share of another deal of the same generation is not sound. */
    dealId: string | null;
  },
): boolean {
  if (record.vaultId !== opts.vaultId || record.locationId !== opts.locationId) return false;
  if (record.dealId !== opts.dealId) return false;
  if (!equalBytes(record.kcv, keyCheckValue(opts.vk, opts.vaultId, record.generation, record.dealId))) return false;
  const boxes: [Uint8Array, Uint8Array][] = [
    [shareSealKey(opts.rk, 'recovery', opts.vaultId, opts.locationId, record.generation), record.recoveryBox],
  ];
  if (opts.pk)
    boxes.push([
      shareSealKey(opts.pk, 'passphrase', opts.vaultId, opts.locationId, record.generation),
      record.passphraseBox,
    ]);
  for (const [key, box] of boxes) {
    try {
      wipe(openWithNonce(key, box, record.header, 'key share'));
    } catch {
      return false;
    } finally {
      wipe(key);
    }
  }
  return true;
}

export type UnlockSecret = { kind: 'passphrase'; key: Uint8Array } | { kind: 'recovery'; key: Uint8Array };

export interface ShareFromLocation {
  readonly locationId: string;
  /** The location's name, for messages. */
  readonly locationName?: string;
  readonly record: KeyShareRecord;
}

/** What this device trusts before it holds the vault key (the profile's pin, or nothing yet). */
export interface KeyTrust {
  /** The pinned key; null on a device that has never unlocked this vault. */
  readonly pin: KeyPin | null;
  /** Rotation records read from the locations (verified here, never trusted as read). */
  readonly rotations: readonly (KeyRotationRecord & { body: Uint8Array })[];
  /** A fingerprint the user gave (open --expect-fingerprint): the key must have it. */
  readonly expectFingerprint?: string;
  /** Shares of generations at or above this one are not used (a fallback past a cut-short rotation). */
  readonly below?: number;
}

export interface RecoveredKey {
  readonly vk: Uint8Array;
  readonly generation: number;
  readonly threshold: number;
  readonly dealId: string | null;
  /** The key's pin: the same as the pinned one, or one the rotation records vouch for. */
  readonly pin: Uint8Array;
  /** The locations whose shares combined. */
  readonly locationIds: readonly string[];
  /** Deals that combined to a key this device does not trust, with the locations they came from. */
  readonly refused: readonly { generation: number; locations: readonly string[] }[];
}

interface Deal {
  readonly generation: number;
  readonly dealId: string | null;
  readonly threshold: number;
  readonly kcv: Uint8Array;
  readonly shares: { locationId: string; name: string; share: Uint8Array }[];
}

/**
 * Recovers VK from the shares the locations gave, trusting only what the device already
 * trusts. A location could write any well-formed share (it may know the passphrase), so:
 *   - a deal counts each location once (the caller reads one share per location and
 *     generation, under its expected name; a second one here is dropped), and needs
 *     `threshold` distinct locations;
 *   - a deal is grouped by generation, deal id, threshold and check value (a share that
 *     disagrees is a deal of its own, and can't push honest shares out);
 *   - the combined key must be the pinned one, or one that rotation records signed by the
 *     pinned key vouch for; a device with no pin yet takes t as the highest threshold among
 *     the shares it opened (a hostile minority can't reach it) and the user's fingerprint
 *     when given.
 * Deals that combine to an untrusted key are passed over (returned in `refused`), so a
 * forged newer generation can't lock the owner out while the real one is reachable.
 * Tells apart a wrong secret (no share opens: AuthError), too few shares ('unavailable')
 * and shares that open but give no trusted key ('corrupt', naming the locations).
 */
export async function recoverVaultKey(
  vaultId: string,
  shares: readonly ShareFromLocation[],
  secret: UnlockSecret,
  trust: KeyTrust = { pin: null, rotations: [] },
): Promise<RecoveredKey> {
  const deals = new Map<string, Deal>();
  let openedAny = false;
  let highestThreshold = 0;
  try {
    for (const { locationId, locationName, record } of shares) {
      if (record.vaultId !== vaultId || record.locationId !== locationId) continue;
      const key = shareSealKey(secret.key, secret.kind, vaultId, locationId, record.generation);
      let share: Uint8Array;
      try {
        share = openWithNonce(
          key,
          secret.kind === 'passphrase' ? record.passphraseBox : record.recoveryBox,
          record.header,
          'key share',
        );
      } catch {
        continue; // a share under another secret, or damaged: it does not count
      } finally {
        wipe(key);
      }
      openedAny = true;
      if (trust.below !== undefined && record.generation >= trust.below) {
        wipe(share);
        continue;
      }
      highestThreshold = Math.max(highestThreshold, record.threshold);
      // A deal is everything its shares must agree on: a share that disagrees (a forged check
      // value or threshold under the right name) forms a deal of its own instead of pushing
      // the honest shares out.
      const id = `${record.generation}:${record.dealId ?? 'v1'}:${record.threshold}:${toHex(record.kcv)}`;
      const deal = deals.get(id) ?? {
        generation: record.generation,
        dealId: record.dealId,
        threshold: record.threshold,
        kcv: record.kcv,
        shares: [],
      };
      deals.set(id, deal);
      if (deal.shares.some((s) => s.locationId === locationId)) {
        wipe(share);
        continue;
      }
      deal.shares.push({ locationId, name: locationName ?? locationId, share });
    }
    if (!openedAny && shares.length > 0) {
      throw new AuthError(secret.kind === 'passphrase' ? 'wrong passphrase' : 'wrong recovery code');
    }
    const floor = trust.pin ? 2 : highestThreshold;
    const ordered = [...deals.values()].sort((a, b) => b.generation - a.generation);
    const refused: { generation: number; locations: string[] }[] = [];
    let mixed = false;
    for (const deal of ordered) {
      // Locations of one failure domain hold the same share (one x): they count once.
      if (distinctShares(deal) < deal.threshold || deal.threshold < floor) continue;
      const vk = await recoverChecked(
        deal.shares.map((s) => s.share),
        deal.threshold,
        (candidate) => equalBytes(keyCheckValue(candidate, vaultId, deal.generation, deal.dealId), deal.kcv),
      );
      if (!vk) {
        mixed = true;
        continue;
      }
      const pin = keyPin(vk, vaultId);
      const trusted = trust.pin
        ? equalBytes(pin, trust.pin.key) ||
          rotationsVouch(vaultId, trust.pin.key, pin, deal.generation, trust.rotations)
        : true;
      const expected =
        trust.expectFingerprint === undefined || keyFingerprint(pin) === normalizeFingerprint(trust.expectFingerprint);
      if (!trusted || !expected) {
        wipe(vk);
        refused.push({ generation: deal.generation, locations: deal.shares.map((s) => s.name) });
        continue;
      }
      return {
        vk,
        generation: deal.generation,
        threshold: deal.threshold,
        dealId: deal.dealId,
        pin,
        locationIds: deal.shares.map((s) => s.locationId),
        refused,
      };
    }
    if (refused.length) {
      const r = refused[0]!;
      throw new ShardvaultError(
        'corrupt',
        trust.expectFingerprint !== undefined && !trust.pin
          ? `the key shares at ${r.locations.join(', ')} combine to a vault key whose fingerprint is not ${normalizeFingerprint(trust.expectFingerprint)}`
          : `the key shares at ${r.locations.join(', ')} (generation ${r.generation}) combine to a vault key this device does not trust: ` +
              'a location may be forging key shares; the vault was not unlocked',
      );
    }
    if (mixed) {
      throw new ShardvaultError(
        'corrupt',
        'the key shares open but do not combine to the vault key (mixed or damaged deals)',
      );
    }
    const usable = ordered.filter((d) => d.threshold >= floor);
    const best = usable.sort((a, b) => distinctShares(b) / b.threshold - distinctShares(a) / a.threshold)[0];
    if (!best && ordered.length) {
      throw new ShardvaultError(
        'unavailable',
        `the key shares reachable need fewer locations than the ${floor} another share claims; ` +
          'give the vault key fingerprint from the recovery kit (--expect-fingerprint) or reach more locations',
      );
    }
    throw new ShardvaultError(
      'unavailable',
      best
        ? `only ${distinctShares(best)} of the ${best.threshold} key shares needed to unlock are reachable (${best.shares.map((s) => s.name).join(', ') || 'none'})`
        : 'no key shares are reachable',
    );
  } finally {
    for (const d of deals.values()) d.shares.forEach((s) => wipe(s.share));
  }
}

function distinctShares(deal: Deal): number {
  return new Set(deal.shares.map((s) => shareX(s.share))).size;
}

export function newVaultKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}
