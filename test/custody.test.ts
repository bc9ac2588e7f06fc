// Key custody that a minority cannot steer (issue 9): a device follows key shares only when
// they combine to the vault key it pinned, or to one a chain of rotation records signed by
// the pinned key vouches for; a deal counts each location once; a fresh device takes the
// highest threshold it sees, and the fingerprint the user gives.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/core/crypto/bytes';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../src/core/crypto/signing';
import { decodeKeyRotation, decodeKeyShare } from '../src/core/format/records';
import {
  dealShares,
  keyFingerprint,
  keyPin,
  keyShareIsSound,
  newRecoveryCode,
  recoverVaultKey,
  recoveryKey,
  signRotation,
  type KeyPin,
  type ShareFromLocation,
} from '../src/core/vault/keys';

const key = (): Uint8Array => new Uint8Array(randomBytes(32));
const vaultId = toHex(new Uint8Array(randomBytes(16)));
const ids = [0, 1, 2, 3, 4].map(() => toHex(new Uint8Array(randomBytes(16))));

async function deal(
  vk: Uint8Array,
  pk: Uint8Array,
  rk: Uint8Array,
  generation: number,
  threshold: number,
  locationIds: readonly string[] = ids,
): Promise<{ shares: ShareFromLocation[]; dealId: string }> {
  const { records, dealId } = await dealShares(vk, { vaultId, generation, threshold, locationIds }, pk, rk);
  return {
    dealId,
    shares: locationIds.map((locationId) => ({ locationId, record: decodeKeyShare(records.get(locationId)!) })),
  };
}

describe('Ed25519 (RFC 8032 section 7.1, test 1)', () => {
  it('derives the public key and signature of the RFC vector, and verifies only it', () => {
    const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
    const pub = ed25519PublicKey(seed);
    expect(toHex(pub)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const sig = ed25519Sign(seed, new Uint8Array());
    expect(toHex(sig)).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(ed25519Verify(pub, new Uint8Array(), sig)).toBe(true);
    expect(ed25519Verify(pub, Uint8Array.of(0), sig)).toBe(false);
    sig[0]! ^= 1;
    expect(ed25519Verify(pub, new Uint8Array(), sig)).toBe(false);
  });
});

describe('the key pin', () => {
  const pk = key();
  const rk = recoveryKey(newRecoveryCode(), vaultId);

  it('refuses a forged newer generation from a minority that knows the passphrase, and unlocks with the real one', async () => {
    const vk = key();
    const real = await deal(vk, pk, rk, 3, 3);
    const pin: KeyPin = { key: keyPin(vk, vaultId), generation: 3, threshold: 3 };
    // Two hostile locations (t - 1 of a 3-of-5 vault) deal a key of their own at generation 9,
    // threshold 2, each writing its share under its own name.
    const forgedKey = key();
    const forged = await deal(forgedKey, pk, rk, 9, 2, ids.slice(0, 2));
    const shares = [...real.shares, ...forged.shares];
    const got = await recoverVaultKey(vaultId, shares, { kind: 'passphrase', key: pk }, { pin, rotations: [] });
    expect(toHex(got.vk)).toBe(toHex(vk));
    expect(got.refused).toEqual([{ generation: 9, locations: ids.slice(0, 2) }]);
    // With the real deal out of reach, the forgery is refused, never followed.
    const refusal = recoverVaultKey(vaultId, forged.shares, { kind: 'passphrase', key: pk }, { pin, rotations: [] });
    await expect(refusal).rejects.toMatchObject({ code: 'corrupt' });
    await expect(refusal).rejects.toThrow(/does not trust/);
  });

  it('counts each location once: two shares of a chosen key from one location unlock nothing', async () => {
    const vk = key();
    const forgedKey = key();
    const forged = await deal(forgedKey, pk, rk, 9, 2, ids.slice(0, 2));
    // Both forged shares claim the same location (the hostile one).
    const oneLocation = forged.shares.map((s) => ({
      locationId: ids[0]!,
      record: { ...s.record, locationId: ids[0]! },
    }));
    // A fresh device (no pin): the share opens (the attacker knows the passphrase) but one location is one vote.
    const real = await deal(vk, pk, rk, 3, 3);
    await expect(
      recoverVaultKey(vaultId, [...oneLocation, ...real.shares.slice(1, 3)], { kind: 'passphrase', key: pk }),
    ).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('a fresh device takes the highest threshold it sees: a minority deal with a low t is not enough', async () => {
    const vk = key();
    const real = await deal(vk, pk, rk, 3, 3);
    const forged = await deal(key(), pk, rk, 9, 2, ids.slice(0, 2));
    const got = await recoverVaultKey(vaultId, [...forged.shares, ...real.shares], { kind: 'passphrase', key: pk });
    expect(toHex(got.vk)).toBe(toHex(vk));
    expect(got.threshold).toBe(3);
  });

  it('a fresh device checks the fingerprint it is given', async () => {
    const vk = key();
    const real = await deal(vk, pk, rk, 1, 3);
    const fingerprint = keyFingerprint(keyPin(vk, vaultId));
    expect(fingerprint).toMatch(/^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/);
    const ok = await recoverVaultKey(
      vaultId,
      real.shares,
      { kind: 'passphrase', key: pk },
      { pin: null, rotations: [], expectFingerprint: fingerprint.toLowerCase() },
    );
    expect(toHex(ok.vk)).toBe(toHex(vk));
    await expect(
      recoverVaultKey(
        vaultId,
        real.shares,
        { kind: 'passphrase', key: pk },
        { pin: null, rotations: [], expectFingerprint: keyFingerprint(keyPin(key(), vaultId)) },
      ),
    ).rejects.toMatchObject({ code: 'corrupt' });
  });

  it('follows a rotation only through records signed by the pinned key', async () => {
    const v1 = key();
    const v2 = key();
    const v3 = key();
    const pin: KeyPin = { key: keyPin(v1, vaultId), generation: 1, threshold: 3 };
    const rotated = await deal(v3, pk, rk, 7, 3);
    const r12 = decodeKeyRotation(signRotation(v1, v2, vaultId, { generation: 4, threshold: 3 }));
    const r23 = decodeKeyRotation(signRotation(v2, v3, vaultId, { generation: 7, threshold: 3 }));
    const got = await recoverVaultKey(
      vaultId,
      rotated.shares,
      { kind: 'passphrase', key: pk },
      { pin, rotations: [r23, r12] },
    );
    expect(toHex(got.vk)).toBe(toHex(v3));
    expect(toHex(got.pin)).toBe(toHex(keyPin(v3, vaultId)));
    // A link missing, or signed by a key the device never trusted, breaks the chain.
    await expect(
      recoverVaultKey(vaultId, rotated.shares, { kind: 'passphrase', key: pk }, { pin, rotations: [r23] }),
    ).rejects.toMatchObject({ code: 'corrupt' });
    const forgedLink = decodeKeyRotation(signRotation(key(), v3, vaultId, { generation: 7, threshold: 3 }));
    const relinked = { ...forgedLink, oldPin: pin.key };
    await expect(
      recoverVaultKey(vaultId, rotated.shares, { kind: 'passphrase', key: pk }, { pin, rotations: [relinked] }),
    ).rejects.toMatchObject({ code: 'corrupt' });
  });
});

describe('a generation dealt twice', () => {
  it('the second deal has its own deal id, so a share of the first is not sound', async () => {
    const pk = key();
    const rk = key();
    const vk = key();
    const first = await deal(vk, pk, rk, 2, 3);
    const second = await deal(vk, pk, rk, 2, 3);
    expect(first.dealId).not.toBe(second.dealId);
    const opts = (locationId: string) => ({ vaultId, locationId, vk, pk, rk, dealId: second.dealId });
    expect(keyShareIsSound(second.shares[0]!.record, opts(ids[0]!))).toBe(true);
    expect(keyShareIsSound(first.shares[0]!.record, opts(ids[0]!))).toBe(false);
    // Mixed shares of the two deals of one generation do not pass as one deal.
    const mixed = [...first.shares.slice(0, 2), ...second.shares.slice(2, 3)];
    await expect(recoverVaultKey(vaultId, mixed, { kind: 'passphrase', key: pk })).rejects.toMatchObject({
      code: 'unavailable',
    });
  });
});
