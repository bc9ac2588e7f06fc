// Crypto primitives: AES-256-GCM frames (STREAM) against tampering, truncation and
// reordering; Shamir known-answer vectors (test/golden/shamir.json, from the independent
// scripts/gen-shamir-vectors.py) and every k-of-n combination; key-check values telling a
// wrong passphrase, too few shares and mixed deals apart; sealed boxes; recovery codes.
import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { combine } from 'shamir-secret-sharing';
import { describe, expect, it } from 'vitest';
import { open, seal, sealWithNonce, openWithNonce } from '../src/core/crypto/aead';
import { fromHex, toHex } from '../src/core/crypto/bytes';
import { checkKdfParams, hkdf, scrypt, INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { generateX25519, openFrom, sealTo } from '../src/core/crypto/sealed-box';
import { combinations, recoverChecked, splitSecret } from '../src/core/crypto/shamir';
import { frameNonce, openFrame, sealFrame } from '../src/core/crypto/stream';
import { AuthError, CorruptError, ShardvaultError } from '../src/core/errors';
import { decodeKeyShare } from '../src/core/format/records';
import {
  dealShares,
  newDealId,
  keyCheckValue,
  newRecoveryCode,
  normalizeRecoveryCode,
  recoverVaultKey,
  recoveryKey,
} from '../src/core/vault/keys';

const key = (): Uint8Array => new Uint8Array(randomBytes(32));

describe('AES-256-GCM', () => {
  it('matches node:crypto used directly (NIST SP 800-38D layout: ciphertext || tag)', () => {
    const k = key();
    const nonce = new Uint8Array(randomBytes(12));
    const aad = new Uint8Array([1, 2, 3]);
    const msg = new Uint8Array(randomBytes(1000));
    const c = createCipheriv('aes-256-gcm', k, nonce);
    c.setAAD(aad);
    const expected = Buffer.concat([c.update(msg), c.final(), c.getAuthTag()]);
    expect(toHex(seal(k, nonce, msg, aad))).toBe(expected.toString('hex'));
    expect(open(k, nonce, expected, aad)).toEqual(msg);
  });

  it('refuses any flipped bit, other AAD or other key', () => {
    const k = key();
    const msg = new Uint8Array(randomBytes(64));
    const boxed = sealWithNonce(k, msg, new Uint8Array([9]));
    for (let i = 0; i < boxed.length; i++) {
      const bad = boxed.slice();
      bad[i]! ^= 1 << (i % 8);
      expect(() => openWithNonce(k, bad, new Uint8Array([9]))).toThrow(CorruptError);
    }
    expect(() => openWithNonce(k, boxed, new Uint8Array([8]))).toThrow(CorruptError);
    expect(() => openWithNonce(key(), boxed, new Uint8Array([9]))).toThrow(CorruptError);
    expect(() => openWithNonce(k, boxed.subarray(0, 20), new Uint8Array([9]))).toThrow(CorruptError);
  });

  it('guards its arguments', () => {
    expect(() => seal(new Uint8Array(16), new Uint8Array(12), new Uint8Array(1), new Uint8Array(0))).toThrow(
      RangeError,
    );
    expect(() => seal(key(), new Uint8Array(8), new Uint8Array(1), new Uint8Array(0))).toThrow(RangeError);
    expect(() => seal('k' as unknown as Uint8Array, new Uint8Array(12), new Uint8Array(1), new Uint8Array(0))).toThrow(
      TypeError,
    );
  });
});

describe('STREAM frames', () => {
  const header = new Uint8Array(randomBytes(49));
  const k = key();
  const pieces = [0, 1, 2, 3].map(() => new Uint8Array(randomBytes(100)));
  const frames = pieces.map((p, i) => sealFrame(k, i, i === 3, p, header));

  it('round-trips in order', () => {
    frames.forEach((f, i) => expect(openFrame(k, i, i === 3, f, header)).toEqual(pieces[i]));
  });

  it('detects reordering, dropping, truncation, a forged last flag and a foreign header', () => {
    expect(() => openFrame(k, 0, false, frames[1]!, header)).toThrow(CorruptError); // reordered
    expect(() => openFrame(k, 2, false, frames[3]!, header)).toThrow(CorruptError); // frame 2 dropped
    expect(() => openFrame(k, 2, true, frames[2]!, header)).toThrow(CorruptError); // cut after frame 2
    expect(() => openFrame(k, 3, false, frames[3]!, header)).toThrow(CorruptError); // last flag stripped
    const other = header.slice();
    other[10]! ^= 1;
    expect(() => openFrame(k, 0, false, frames[0]!, other)).toThrow(CorruptError);
    expect(() => openFrame(k, 0, false, frames[0]!.subarray(0, 50), header)).toThrow(CorruptError);
  });

  it('puts the counter and last flag in the nonce', () => {
    expect(toHex(frameNonce(0x01020304, true))).toBe('0000000000000001020304' + '01');
    expect(toHex(frameNonce(0, false))).toBe('00'.repeat(12));
    expect(() => frameNonce(-1, false)).toThrow(RangeError);
  });

  it('detects any single flipped byte in any frame (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (f, pos, mask) => {
        const bad = frames[f]!.slice();
        bad[pos % bad.length]! ^= mask;
        expect(() => openFrame(k, f, f === 3, bad, header)).toThrow(CorruptError);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Shamir secret sharing', () => {
  const golden = JSON.parse(readFileSync(new URL('./golden/shamir.json', import.meta.url), 'utf8')) as {
    vectors: { threshold: number; secret: string; shares: string[] }[];
  };

  it('combines the independent known-answer vectors from every t-subset', async () => {
    for (const v of golden.vectors) {
      const shares = v.shares.map((s) => fromHex(s, 'share'));
      for (const subset of combinations(shares.length, v.threshold)) {
        expect(toHex(await combine(subset.map((i) => shares[i]!)))).toBe(v.secret);
      }
    }
  });

  it('recovers from every k-of-n combination and refuses fewer (via the check value)', async () => {
    for (const [t, n] of [
      [2, 2],
      [2, 3],
      [3, 5],
      [4, 7],
    ] as const) {
      const secret = key();
      const shares = await splitSecret(secret, n, t);
      const check = (s: Uint8Array): boolean => toHex(s) === toHex(secret);
      for (const subset of combinations(n, t)) {
        const got = await recoverChecked(
          subset.map((i) => shares[i]!),
          t,
          check,
        );
        expect(got && toHex(got)).toBe(toHex(secret));
      }
      for (const subset of combinations(n, t - 1)) {
        // t-1 shares can't even be offered as a t-subset; combine() itself yields garbage.
        if (t - 1 >= 2) expect(toHex(await combine(subset.map((i) => shares[i]!)))).not.toBe(toHex(secret));
        expect(
          await recoverChecked(
            subset.map((i) => shares[i]!),
            t,
            check,
          ),
        ).toBeNull();
      }
    }
  });

  it('skips a forged share when enough good ones remain', async () => {
    const secret = key();
    const shares = await splitSecret(secret, 5, 3);
    shares[0]![3]! ^= 0xff;
    const got = await recoverChecked(shares, 3, (s) => toHex(s) === toHex(secret));
    expect(got && toHex(got)).toBe(toHex(secret));
  });
});

describe('vault key dealing', () => {
  const vaultId = toHex(new Uint8Array(randomBytes(16)));
  const ids = [0, 1, 2, 3, 4].map(() => toHex(new Uint8Array(randomBytes(16))));

  async function deal(generation: number, vk: Uint8Array, pk: Uint8Array, rk: Uint8Array) {
    const { records } = await dealShares(vk, { vaultId, generation, threshold: 3, locationIds: ids }, pk, rk);
    return ids.map((locationId) => ({ locationId, record: decodeKeyShare(records.get(locationId)!) }));
  }

  it('tells a wrong passphrase, too few shares and mixed deals apart', async () => {
    const vk = key();
    const pk = key();
    const rk = recoveryKey(newRecoveryCode(), vaultId);
    const shares = await deal(1, vk, pk, rk);
    const ok = await recoverVaultKey(vaultId, shares.slice(0, 3), { kind: 'passphrase', key: pk });
    expect(toHex(ok.vk)).toBe(toHex(vk));
    expect(toHex((await recoverVaultKey(vaultId, shares.slice(2), { kind: 'recovery', key: rk })).vk)).toBe(toHex(vk));

    await expect(recoverVaultKey(vaultId, shares, { kind: 'passphrase', key: key() })).rejects.toBeInstanceOf(
      AuthError,
    );
    await expect(recoverVaultKey(vaultId, shares.slice(0, 2), { kind: 'passphrase', key: pk })).rejects.toMatchObject({
      code: 'unavailable',
    });
    // A share moved to another location's slot does not count.
    const moved = [{ locationId: ids[1]!, record: shares[0]!.record }, shares[2]!, shares[3]!];
    await expect(recoverVaultKey(vaultId, moved, { kind: 'passphrase', key: pk })).rejects.toMatchObject({
      code: 'unavailable',
    });

    // A newer generation wins once it has t shares; below t the older one still unlocks.
    const vk2 = key();
    const newer = await deal(2, vk2, pk, rk);
    expect(
      toHex((await recoverVaultKey(vaultId, [...shares, ...newer.slice(0, 3)], { kind: 'passphrase', key: pk })).vk),
    ).toBe(toHex(vk2));
    expect(
      toHex((await recoverVaultKey(vaultId, [...shares, ...newer.slice(0, 2)], { kind: 'passphrase', key: pk })).vk),
    ).toBe(toHex(vk));
  });

  it('binds each share to its generation (a relabelled share fails to open)', async () => {
    const pk = key();
    const shares = await deal(1, key(), pk, key());
    const bytes = new Uint8Array(shares[0]!.record.header.length + 122);
    bytes.set(shares[0]!.record.header);
    bytes.set(shares[0]!.record.passphraseBox, shares[0]!.record.header.length);
    bytes.set(shares[0]!.record.recoveryBox, shares[0]!.record.header.length + 61);
    bytes[8]! ^= 1; // generation field
    const relabelled = { locationId: ids[0]!, record: decodeKeyShare(bytes) };
    await expect(recoverVaultKey(vaultId, [relabelled], { kind: 'passphrase', key: pk })).rejects.toBeInstanceOf(
      AuthError,
    );
  });

  it('key-check values differ per generation, per deal and per key', () => {
    const vk = key();
    const deal = newDealId();
    expect(toHex(keyCheckValue(vk, vaultId, 1, deal))).not.toBe(toHex(keyCheckValue(vk, vaultId, 2, deal)));
    expect(toHex(keyCheckValue(vk, vaultId, 1, deal))).not.toBe(toHex(keyCheckValue(vk, vaultId, 1, newDealId())));
    expect(toHex(keyCheckValue(vk, vaultId, 1, deal))).not.toBe(toHex(keyCheckValue(key(), vaultId, 1, deal)));
    expect(toHex(keyCheckValue(vk, vaultId, 1, null))).not.toBe(toHex(keyCheckValue(vk, vaultId, 1, deal)));
  });
});

describe('key derivation', () => {
  it('scrypt is deterministic and sensitive to the passphrase', async () => {
    const salt = new Uint8Array(32).fill(7);
    const a = await scrypt('password', salt, INSECURE_TEST_KDF);
    const b = await scrypt('password', salt, INSECURE_TEST_KDF);
    expect(toHex(a)).toBe(toHex(b));
    expect(toHex(a)).not.toBe(toHex(await scrypt('passwort', salt, INSECURE_TEST_KDF)));
  });

  it('refuses scrypt costs a location could lie about', () => {
    expect(() => checkKdfParams({ logN: 30, r: 8, p: 1 })).toThrow(ShardvaultError);
    expect(() => checkKdfParams({ logN: 4, r: 8, p: 1 })).toThrow(ShardvaultError);
    expect(() => checkKdfParams({ logN: 17, r: 8, p: 64 })).toThrow(ShardvaultError);
  });

  it('HKDF-SHA256 matches RFC 5869 test case 1', () => {
    const ikm = new Uint8Array(22).fill(0x0b);
    const salt = fromHex('000102030405060708090a0b0c', 'salt');
    const info = fromHex('f0f1f2f3f4f5f6f7f8f9', 'info');
    expect(toHex(hkdf(ikm, salt, info, 42))).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });
});

describe('sealed box (audit log)', () => {
  it('opens only with the recipient key pair and the same associated data', () => {
    const pair = generateX25519();
    const msg = new Uint8Array(randomBytes(300));
    const boxed = sealTo(pair.publicKey, msg, new Uint8Array([1]));
    expect(openFrom(pair, boxed, new Uint8Array([1]))).toEqual(msg);
    expect(() => openFrom(pair, boxed, new Uint8Array([2]))).toThrow(CorruptError);
    expect(() => openFrom(generateX25519(), boxed, new Uint8Array([1]))).toThrow(CorruptError);
    const bad = boxed.slice();
    bad[40]! ^= 1;
    expect(() => openFrom(pair, bad, new Uint8Array([1]))).toThrow(CorruptError);
    expect(() => openFrom(pair, boxed.subarray(0, 10), new Uint8Array([1]))).toThrow(CorruptError);
  });
});

describe('recovery codes', () => {
  it('carry 160 bits in 8 groups and survive retyping', () => {
    const code = newRecoveryCode();
    expect(code).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){7}[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(normalizeRecoveryCode(code.toLowerCase().replace(/-/g, ' '))).toBe(code.replace(/-/g, ''));
    expect(() => normalizeRecoveryCode('too short')).toThrow(AuthError);
    expect(new Set(Array.from({ length: 50 }, newRecoveryCode)).size).toBe(50);
  });
});
