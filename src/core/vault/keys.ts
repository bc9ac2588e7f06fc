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
import { randomBytes } from 'node:crypto';
import { openWithNonce, sealWithNonce } from '../crypto/aead';
import { concat, equalBytes, fromHex, u32be, utf8, wipe } from '../crypto/bytes';
import { hkdf, scrypt, type KdfParams } from '../crypto/kdf';
import { recoverChecked, splitSecret } from '../crypto/shamir';
import { AuthError, ShardvaultError } from '../errors';
import { keyShareHeader, type KeyShareRecord } from '../format/records';

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
  const bytes = randomBytes(RECOVERY_BITS / 8);
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

export function keyCheckValue(vk: Uint8Array, vaultId: string, generation: number): Uint8Array {
  return hkdf(vk, fromHex(vaultId, 'vaultId', 16), info('kcv', u32be(generation)));
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
}

/** Splits VK over the locations; returns each location's key-share record bytes. */
export async function dealShares(
  vk: Uint8Array,
  deal: Dealing,
  pk: Uint8Array,
  rk: Uint8Array,
): Promise<Map<string, Uint8Array>> {
  const shares = await splitSecret(vk, deal.locationIds.length, deal.threshold);
  const kcv = keyCheckValue(vk, deal.vaultId, deal.generation);
  const out = new Map<string, Uint8Array>();
  deal.locationIds.forEach((locationId, i) => {
    const share = shares[i]!;
    const header = keyShareHeader({
      vaultId: deal.vaultId,
      generation: deal.generation,
      threshold: deal.threshold,
      total: deal.locationIds.length,
      locationId,
      kcv,
    });
    const passKey = shareSealKey(pk, 'passphrase', deal.vaultId, locationId, deal.generation);
    const recKey = shareSealKey(rk, 'recovery', deal.vaultId, locationId, deal.generation);
    out.set(locationId, concat(header, sealWithNonce(passKey, share, header), sealWithNonce(recKey, share, header)));
    wipe(share, passKey, recKey);
  });
  return out;
}

/**
 * Whether a location's key share is whole: each box opens under its key (the passphrase box
 * only when PK is at hand) and its check value is this VK's. A share damaged inside a box
 * still parses, and would only fail at the next unlock, when fewer locations may be left.
 */
export function keyShareIsSound(
  record: KeyShareRecord,
  opts: { vaultId: string; locationId: string; vk: Uint8Array; pk: Uint8Array | null; rk: Uint8Array },
): boolean {
  if (record.vaultId !== opts.vaultId || record.locationId !== opts.locationId) return false;
  if (!equalBytes(record.kcv, keyCheckValue(opts.vk, opts.vaultId, record.generation))) return false;
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
  readonly record: KeyShareRecord;
}

/**
 * Recovers VK from the shares the locations gave: the highest generation with `threshold`
 * shares that open under the secret and combine to its key-check value. Tells apart a wrong
 * secret (no share opens: AuthError), too few shares (code 'unavailable') and shares that
 * open but do not combine (mixed or forged deals: code 'corrupt').
 */
export async function recoverVaultKey(
  vaultId: string,
  shares: readonly ShareFromLocation[],
  secret: UnlockSecret,
): Promise<{ vk: Uint8Array; generation: number; threshold: number }> {
  const opened = new Map<number, { threshold: number; kcv: Uint8Array; shares: Uint8Array[] }>();
  let openedAny = false;
  for (const { locationId, record } of shares) {
    if (record.vaultId !== vaultId || record.locationId !== locationId) continue;
    const key = shareSealKey(secret.key, secret.kind, vaultId, locationId, record.generation);
    try {
      const share = openWithNonce(
        key,
        secret.kind === 'passphrase' ? record.passphraseBox : record.recoveryBox,
        record.header,
        'key share',
      );
      openedAny = true;
      const group = opened.get(record.generation) ?? { threshold: record.threshold, kcv: record.kcv, shares: [] };
      if (group.threshold === record.threshold && equalBytes(group.kcv, record.kcv)) group.shares.push(share);
      opened.set(record.generation, group);
    } catch {
      // A share under another secret, or damaged: it does not count.
    } finally {
      wipe(key);
    }
  }
  if (!openedAny && shares.length > 0) {
    throw new AuthError(secret.kind === 'passphrase' ? 'wrong passphrase' : 'wrong recovery code');
  }
  const generations = [...opened.keys()].sort((a, b) => b - a);
  let mixed = false;
  for (const generation of generations) {
    const group = opened.get(generation)!;
    if (group.shares.length < group.threshold) continue;
    const vk = await recoverChecked(group.shares, group.threshold, (candidate) =>
      equalBytes(keyCheckValue(candidate, vaultId, generation), group.kcv),
    );
    group.shares.forEach((s) => wipe(s));
    if (vk) return { vk, generation, threshold: group.threshold };
    mixed = true;
  }
  if (mixed) {
    throw new ShardvaultError(
      'corrupt',
      'the key shares open but do not combine to the vault key (mixed or damaged deals)',
    );
  }
  const best = generations.length ? opened.get(generations[0]!)! : null;
  throw new ShardvaultError(
    'unavailable',
    best
      ? `only ${best.shares.length} of the ${best.threshold} key shares needed to unlock are reachable`
      : 'no key shares are reachable',
  );
}

export function newVaultKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}
