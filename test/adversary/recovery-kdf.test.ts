/**
 * Case 3 of issue 9: a new machine takes the scrypt cost and salt from one location's
 * unprotected record (shardvault.json). The record is public and unauthenticated, so a
 * location that does not even know the passphrase can edit it.
 *
 * With `open --recovery`, the new passphrase is then stretched with the first listed
 * location's cost and salt: a hostile record downgrades it to cost 2^10 and a salt the
 * attacker chose (and precomputed a dictionary for), and a third machine listing another
 * location first is told "wrong passphrase". The owner's outcome: the new key shares are
 * sealed under the vault's real parameters, and any machine opens with the new passphrase
 * whatever order it lists the locations in. A plain `open` with the passphrase must not be
 * steered either.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { toBase64 } from '../../src/core/crypto/bytes';
import { decodeVaultRecord, encodeVaultRecord, PATHS, type VaultRecord } from '../../src/core/format/records';
import {
  adversaryCase,
  checkVault,
  describe as describeRun,
  pkOf,
  readRecord,
  unlockFrom,
  VaultFixture,
  type AdversaryCase,
  type Fresh,
  type HostileLocation,
} from './harness';

/** The vault's real cost: above the forged one, cheap enough for a test. */
const REAL_LOG_N = 14;
const NEW_PASSPHRASE = 'a new passphrase after the old one was forgotten, 2026';

let fixture: VaultFixture;

beforeAll(async () => {
  fixture = await VaultFixture.create('recovery-kdf', '2-of-3', { logN: REAL_LOG_N });
});

afterAll(async () => {
  await fixture?.cleanup();
});

/** The hostile location rewrites its record: cost 2^10 and a salt of its choosing. */
async function downgradeRecord(c: AdversaryCase, h: HostileLocation): Promise<VaultRecord> {
  const real = await h.record();
  const forged: VaultRecord = {
    ...real,
    kdf: { logN: 10, r: 8, p: 1 },
    salt: new Uint8Array(32).fill(0x41),
  };
  const bytes = encodeVaultRecord(forged);
  // Well-formed: the engine's own parser reads it, and it differs from the real one only in cost and salt.
  const back = decodeVaultRecord(bytes);
  c.expect(
    back.vaultId === real.vaultId && back.locationId === real.locationId && back.kdf.logN === 10,
    'malformed forgery: the edited location record does not read back as written',
  );
  c.expect(real.kdf.logN === REAL_LOG_N, `the vault's real cost is 2^${real.kdf.logN}, expected 2^${REAL_LOG_N}`);
  await h.write(PATHS.vault, bytes);
  return forged;
}

/** Whether the new machine's profile pinned the vault's real KDF parameters. */
async function pinnedReal(c: AdversaryCase, o: Fresh, home: string, real: VaultRecord, what: string): Promise<void> {
  const text = await fs.readFile(nodePath.join(home, 'profile.json'), 'utf8').catch(() => null);
  if (text === null) return;
  const p = JSON.parse(text) as { kdf: { logN: number }; salt: string; vaultId: string };
  c.forgery(
    p.vaultId === o.vaultId && (p.salt !== toBase64(real.salt) || p.kdf.logN !== real.kdf.logN),
    `${what}: the profile pinned the hostile record's KDF (2^${p.kdf.logN}, salt ${p.salt.slice(0, 8)}…) ` +
      `instead of the vault's (2^${real.kdf.logN}, salt ${toBase64(real.salt).slice(0, 8)}…)`,
  );
}

describe('3: recovery takes the KDF cost and salt from one location', () => {
  adversaryCase('3 kdf: open --recovery with a hostile first location (cost 2^10, chosen salt)', async (c) => {
    const o = await fixture.fresh(c);
    const h = c.hostile(o.locs[0]!);
    const forged = await downgradeRecord(c, h);
    const real = await readRecord(o.locs[1]!);

    const rescuer = o.scene.machine('rescuer', NEW_PASSPHRASE);
    const r = await rescuer.open(o.locs, { recoveryCode: o.recoveryCode });
    c.expect(r.code === 0, `open --recovery with one hostile location of three: ${describeRun(['open'], r)}`);
    await pinnedReal(c, o, rescuer.home, real, 'open --recovery');

    // The new generation on the honest locations: sealed under the real salt and cost, and
    // not under the forged ones.
    const honest = o.locs.slice(1);
    const realPk = await pkOf(real, NEW_PASSPHRASE);
    const forgedPk = await pkOf(forged, NEW_PASSPHRASE);
    const withReal = await unlockFrom(honest, o.vaultId, realPk);
    const withForged = await unlockFrom(honest, o.vaultId, forgedPk);
    c.expect(
      'vk' in withReal,
      `the new passphrase with the vault's real salt and cost does not unlock the honest locations: ${'error' in withReal ? withReal.error : ''}`,
    );
    c.forgery(
      'vk' in withForged,
      "the new key shares open under the hostile record's salt and cost 2^10 (the new passphrase was stretched with them)",
    );

    // A third machine lists another location first: it must unlock with the new passphrase.
    const third = o.scene.machine('third', NEW_PASSPHRASE);
    const order = [o.locs[1]!, o.locs[2]!, o.locs[0]!];
    const t = await third.open(order);
    c.expect(t.code === 0, `a third machine listing loc2 first, new passphrase: ${describeRun(['open'], t)}`);
    if (t.code === 0) {
      for (const [name, e] of o.owner.committed) third.committed.set(name, e);
      await checkVault(c, third, { label: 'third machine' });
    }
  });

  adversaryCase('3 kdf: plain open on a new machine with a hostile first location record', async (c) => {
    const o = await fixture.fresh(c);
    const h = c.hostile(o.locs[0]!);
    // No passphrase needed for this: the record is public. Another random salt this time.
    const real = await h.record();
    await h.write(
      PATHS.vault,
      encodeVaultRecord({ ...real, kdf: { logN: 10, r: 8, p: 1 }, salt: new Uint8Array(randomBytes(32)) }),
    );
    const laptop = o.scene.machine('laptop');
    const r = await laptop.open(o.locs);
    c.expect(r.code === 0, `open with the passphrase and one hostile location of three: ${describeRun(['open'], r)}`);
    await pinnedReal(c, o, laptop.home, real, 'open');
    if (r.code === 0) {
      for (const [name, e] of o.owner.committed) laptop.committed.set(name, e);
      await checkVault(c, laptop, { label: 'new machine' });
    }
  });
});
