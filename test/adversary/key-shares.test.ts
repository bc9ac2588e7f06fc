/**
 * Case 1 of issue 9: up to t − 1 locations that know the passphrase replace the vault key.
 *
 * A location knows the vault id and its own location id (its shardvault.json), the salt and
 * the KDF cost; with the passphrase it has the key that seals every share box. So it can deal
 * shares of a vault key of its own choosing, as many as it likes, each sealed exactly as the
 * engine seals them, with that key's own check value, and seal a head under that key. The
 * owner's device must follow only what a key it already trusts vouches for: after the
 * attack `ls` lists exactly the committed files (or refuses, naming the location), every file
 * reads back byte for byte, the profile keeps every location, and nothing written afterwards
 * opens under the attacker's key.
 *
 * Also here: forged shares that do not take the vault over but lock the owner out (a single
 * share of another key under the current generation's name; a flood of shares bound to the
 * real check value). The promise is availability with X locations returning garbage: one
 * hostile location in a 2-of-3 vault is within it.
 */
import { openWithNonce } from '../../src/core/crypto/aead';
import { randomBytes } from 'node:crypto';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { decodeKeyShare } from '../../src/core/format/records';
import {
  adversaryCase,
  checkGets,
  checkListing,
  checkVault,
  describe as describeRun,
  forgeDeal,
  forgedSharesUnlock,
  forgeHead,
  keyName,
  newId,
  pkOf,
  recordsOpeningUnder,
  sealShare,
  shareBoxKey,
  snapshotRoots,
  unlockFrom,
  type AdversaryCase,
  type ForgedDeal,
  type HostileLocation,
  type Fresh,
  VaultFixture,
} from './harness';

let small: VaultFixture;
let wide: VaultFixture;

beforeAll(async () => {
  [small, wide] = await Promise.all([
    VaultFixture.create('keys-2of3', '2-of-3', { otherVault: true, backupOf: 1 }),
    VaultFixture.create('keys-3of5', '3-of-5'),
  ]);
});

afterAll(async () => {
  await small?.cleanup();
  await wide?.cleanup();
});

/**
 * The toolkit seals a share exactly as the engine does: the hostile location's own genuine
 * share opens under the box key the attacker derives (a forgery the client rejects as
 * malformed would prove nothing).
 */
async function toolkitMatchesEngine(c: AdversaryCase, h: HostileLocation, pk: Uint8Array): Promise<void> {
  const rec = await h.record();
  const own = (await h.list('keys'))[0];
  if (!own) {
    c.expect(false, 'the hostile location holds no key share to check the toolkit with');
    return;
  }
  const share = decodeKeyShare(await h.read(own));
  try {
    openWithNonce(
      shareBoxKey(pk, 'passphrase', rec.vaultId, rec.locationId, share.generation),
      share.passphraseBox,
      share.header,
    );
  } catch (err) {
    c.expect(false, `the attacker's box key does not open the engine's own share: ${(err as Error).message}`);
  }
}

/** The forged shares are well-formed and unlock the attacker's key on their own. */
async function assertSound(
  c: AdversaryCase,
  vaultId: string,
  shares: { locationId: string; bytes: Uint8Array }[],
  pk: Uint8Array,
  deal: ForgedDeal,
): Promise<void> {
  for (const p of await forgedSharesUnlock(vaultId, shares, pk, deal)) c.expect(false, `malformed forgery: ${p}`);
}

/**
 * What the owner ends up with after an attack meant to replace the vault key: ls as
 * committed (or a refusal naming a hostile location), the profile's locations unchanged, a
 * put afterwards that the attacker's key does not open, and every file byte for byte.
 */
async function ownerOutcome(
  c: AdversaryCase,
  o: Fresh,
  hostile: readonly number[],
  attackerKey: Uint8Array | null,
): Promise<void> {
  const names = hostile.flatMap((i) => [`loc${i + 1}`, o.locs[i]!]);
  const earlier = [...o.owner.committed.keys()];
  await checkListing(c, o.owner, { refusalMayName: names, label: 'after the attack' });
  const profile = await o.owner.profile();
  const kept = new Set(profile.locations.map((l) => l.id));
  const dropped = o.ids.filter((id) => !kept.has(id));
  const added = [...kept].filter((id) => !o.ids.includes(id));
  c.forgery(dropped.length > 0, `the profile dropped ${dropped.length} location(s) on a hostile head's word`);
  c.forgery(added.length > 0, `the profile took in ${added.length} location(s) from a hostile head`);

  const before = await snapshotRoots(o.locs);
  const put = await o.owner.put('after-the-attack.txt', 50_000);
  c.note(`put after the attack: ${describeRun(['put'], put).slice(0, 160)}`);
  if (attackerKey) {
    const readable = await recordsOpeningUnder(attackerKey, o.vaultId, o.locs, before);
    c.forgery(
      readable.length > 0,
      `the put after the attack wrote records the attacker's key opens: ${readable.join(', ')}`,
    );
  }
  // Every earlier file reads back exactly (the new one's bytes are not the question here).
  await checkGets(c, o.owner, { label: 'after the attack', only: earlier });
}

/**
 * One location writes `count` shares of a key it chose for `generation`, every one claiming
 * its own location id, and (unless `head` is false) a head under that key naming only itself.
 */
async function takeOver(
  c: AdversaryCase,
  o: Fresh,
  h: HostileLocation,
  opts: { generation: number; threshold: number; count: number; names?: string[]; head?: boolean; total?: number },
): Promise<ForgedDeal> {
  const rec = await h.record();
  const pk = await pkOf(rec, o.owner.passphrase);
  await toolkitMatchesEngine(c, h, pk);
  const deal = await forgeDeal({
    vaultId: o.vaultId,
    generation: opts.generation,
    threshold: opts.threshold,
    locationIds: Array.from({ length: opts.count }, () => rec.locationId),
    pk,
    ...(opts.total !== undefined ? { total: opts.total } : {}),
  });
  // Enough shares to reach their threshold: they must unlock the forged key on their own.
  // Fewer (a lockout): each is checked to decode and open by the case itself.
  if (opts.count >= opts.threshold)
    await assertSound(
      c,
      o.vaultId,
      deal.records.map((bytes) => ({ locationId: rec.locationId, bytes })),
      pk,
      deal,
    );
  const names =
    opts.names ?? deal.records.map((_, i) => (i === 0 ? keyName(opts.generation) : `${keyName(opts.generation)}.${i}`));
  for (const [i, bytes] of deal.records.entries()) await h.write(names[i]!, bytes);
  if (opts.head !== false) {
    const head = forgeHead({
      vaultId: o.vaultId,
      vk: deal.vk,
      rk: deal.rk,
      counter: 1_000_000,
      generation: opts.generation,
      locations: [{ id: rec.locationId, name: 'loc1', kind: 'local', display: h.root }],
    });
    await h.write('head', head);
    await h.write(`heads/${newId()}`, head);
  }
  return deal;
}

describe('1: a minority that knows the passphrase replaces the vault key', () => {
  adversaryCase('1 key: 2-of-3, one location deals two shares of its own key at a new generation', async (c) => {
    const o = await small.fresh(c);
    const h = c.hostile(o.locs[0]!);
    const deal = await takeOver(c, o, h, { generation: 2, threshold: 2, count: 2 });
    await ownerOutcome(c, o, [0], deal.vk);
  });

  adversaryCase('1 key: 2-of-3, the forged shares under the current generation name (keys/0000000001)', async (c) => {
    const o = await small.fresh(c);
    const h = c.hostile(o.locs[0]!);
    const deal = await takeOver(c, o, h, {
      generation: 1,
      threshold: 2,
      count: 2,
      names: [keyName(1), `${keyName(1)}.2`],
    });
    await ownerOutcome(c, o, [0], deal.vk);
  });

  adversaryCase('1 key: 2-of-3, shares replayed from another vault (same passphrase)', async (c) => {
    const o = await small.fresh(c);
    // The attacker's own vault, made with the owner's passphrase (it knows it).
    const theirs = o.other!.locs;
    const other = o.other!;
    const attacker = other.machine;
    const h = c.hostile(o.locs[0]!);
    const replayed: { locationId: string; bytes: Uint8Array }[] = [];
    for (const root of theirs.slice(0, 2)) {
      const b = c.hostile(root);
      replayed.push({ locationId: (await b.record()).locationId, bytes: await b.read(keyName(1)) });
    }
    // Well-formed: the replayed shares unlock their own vault.
    const pkB = await pkOf(await c.hostile(theirs[0]!).record(), attacker.passphrase);
    const own = await unlockFrom(theirs.slice(0, 2), other.vaultId, pkB);
    c.expect('vk' in own, `the replayed shares do not unlock their own vault: ${'error' in own ? own.error : ''}`);
    await h.write(keyName(2), replayed[0]!.bytes);
    await h.write(keyName(3), replayed[1]!.bytes);
    await h.write('head', await c.hostile(theirs[0]!).read('head'));
    await ownerOutcome(c, o, [0], 'vk' in own ? own.vk : null);
  });

  adversaryCase("1 key: 2-of-3, forged shares claiming the other locations' ids", async (c) => {
    const o = await small.fresh(c);
    const h = c.hostile(o.locs[0]!);
    const rec = await h.record();
    const pk = await pkOf(rec, o.owner.passphrase);
    await toolkitMatchesEngine(c, h, pk);
    // One share each for loc2, loc3 and itself, each sealed for the id it claims.
    const claimed = [o.ids[1]!, o.ids[2]!, rec.locationId];
    const deal = await forgeDeal({ vaultId: o.vaultId, generation: 2, threshold: 2, locationIds: claimed, pk });
    await assertSound(
      c,
      o.vaultId,
      deal.records.map((bytes, i) => ({ locationId: claimed[i]!, bytes })),
      pk,
      deal,
    );
    for (const [i, bytes] of deal.records.entries()) await h.write(i === 0 ? keyName(2) : `${keyName(2)}.${i}`, bytes);
    const head = forgeHead({
      vaultId: o.vaultId,
      vk: deal.vk,
      rk: deal.rk,
      counter: 1_000_000,
      generation: 2,
      locations: [{ id: rec.locationId, name: 'loc1', kind: 'local', display: h.root }],
    });
    await h.write('head', head);
    await ownerOutcome(c, o, [0], deal.vk);
  });

  adversaryCase('1 key: 2-of-3, a forged generation with its own threshold (255 refused, 64 written)', async (c) => {
    const o = await small.fresh(c);
    const h = c.hostile(o.locs[0]!);
    const rec = await h.record();
    const pk = await pkOf(rec, o.owner.passphrase);
    // Threshold 255 is not well-formed: the parser refuses it (at most 64 locations), so the
    // strongest well-formed version is threshold 64 of 64, all 64 shares from this location.
    let refused = false;
    try {
      decodeKeyShare(
        sealShare({
          vaultId: o.vaultId,
          generation: 2,
          threshold: 255,
          total: 255,
          locationId: rec.locationId,
          dealId: '00'.repeat(16),
          kcv: new Uint8Array(32),
          share: new Uint8Array(randomBytes(33)),
          pk,
          rk: new Uint8Array(32),
        }),
      );
    } catch {
      refused = true;
    }
    c.expect(refused, 'a key share with threshold 255 decodes (the parser should refuse it)');
    const deal = await takeOver(c, o, h, { generation: 2, threshold: 64, count: 64, total: 64 });
    await ownerOutcome(c, o, [0], deal.vk);
  });

  adversaryCase('1 key: 3-of-5, two cooperating locations deal one share each of their key', async (c) => {
    const o = await wide.fresh(c);
    const hs = [c.hostile(o.locs[0]!), c.hostile(o.locs[1]!)];
    const recs = await Promise.all(hs.map((h) => h.record()));
    const pk = await pkOf(recs[0]!, o.owner.passphrase);
    await toolkitMatchesEngine(c, hs[0]!, pk);
    // Their own threshold: 2 (they are two); t − 1 = 2 of the vault's t = 3.
    const deal = await forgeDeal({
      vaultId: o.vaultId,
      generation: 2,
      threshold: 2,
      locationIds: recs.map((r) => r.locationId),
      pk,
    });
    await assertSound(
      c,
      o.vaultId,
      deal.records.map((bytes, i) => ({ locationId: recs[i]!.locationId, bytes })),
      pk,
      deal,
    );
    const head = forgeHead({
      vaultId: o.vaultId,
      vk: deal.vk,
      rk: deal.rk,
      counter: 1_000_000,
      generation: 2,
      policy: { data: 1, total: 2, threshold: 2, replicas: 1, segmentSize: 65536 },
      locations: recs.map((r, i) => ({ id: r.locationId, name: `loc${i + 1}`, kind: 'local', display: hs[i]!.root })),
    });
    for (const [i, h] of hs.entries()) {
      await h.write(keyName(2), deal.records[i]!);
      await h.write('head', head);
    }
    await ownerOutcome(c, o, [0, 1], deal.vk);
  });
});

describe('1: the same, by up to X locations that do not know the passphrase', () => {
  adversaryCase('1 key: 3-of-5, two locations without the passphrase (shares sealed under a guess)', async (c) => {
    const o = await wide.fresh(c);
    const hs = [c.hostile(o.locs[0]!), c.hostile(o.locs[1]!)];
    const recs = await Promise.all(hs.map((h) => h.record()));
    // Everything but the passphrase: the real salt and cost, a guess for the passphrase.
    const pk = await pkOf(recs[0]!, 'a guess at the passphrase');
    const deal = await forgeDeal({
      vaultId: o.vaultId,
      generation: 2,
      threshold: 2,
      locationIds: recs.map((r) => r.locationId),
      pk,
    });
    // Well-formed: they decode, open under the guessed passphrase and unlock the forged key.
    await assertSound(
      c,
      o.vaultId,
      deal.records.map((bytes, i) => ({ locationId: recs[i]!.locationId, bytes })),
      pk,
      deal,
    );
    const head = forgeHead({
      vaultId: o.vaultId,
      vk: deal.vk,
      rk: deal.rk,
      counter: 1_000_000,
      generation: 2,
      locations: recs.map((r, i) => ({ id: r.locationId, name: `loc${i + 1}`, kind: 'local', display: hs[i]!.root })),
    });
    for (const [i, h] of hs.entries()) {
      await h.write(keyName(2), deal.records[i]!);
      await h.write('head', head);
    }
    await ownerOutcome(c, o, [0, 1], deal.vk);
  });
});

describe('1: what a replaced vault key lets a location do next', () => {
  adversaryCase(
    '1 key: 2-of-3, a forged head then points a dropped location at its backup outside the roots',
    async (c) => {
      const o = await small.fresh(c);
      const h = c.hostile(o.locs[0]!);
      const deal = await takeOver(c, o, h, { generation: 2, threshold: 2, count: 2 });
      // The owner runs any command: today its profile follows the forged head.
      const first = await o.owner.ls();
      c.note(`ls after the takeover: exit ${first.run.code}, ${first.files?.length ?? '-'} file(s)`);
      // Then a head naming loc2 (its real id) at the copy the user keeps of it: a folder
      // outside every location root whose record names this vault and loc2.
      const backup = nodePath.join(o.scene.root, 'outside', 'backup-of-loc2');
      const rec = await h.record();
      const head = forgeHead({
        vaultId: o.vaultId,
        vk: deal.vk,
        rk: deal.rk,
        counter: 1_000_001,
        generation: 2,
        policy: { data: 1, total: 2, threshold: 2, replicas: 1, segmentSize: 65536 },
        locations: [
          { id: rec.locationId, name: 'loc1', kind: 'local', display: h.root },
          { id: o.ids[1]!, name: 'loc2', kind: 'local', display: backup },
        ],
      });
      await h.write('head', head);
      await ownerOutcome(c, o, [0], deal.vk);
    },
  );
});

describe('1: forged shares that lock the owner out (availability, within X)', () => {
  adversaryCase('1 lockout: 2-of-3, one share of another key replaces the current generation share', async (c) => {
    const o = await small.fresh(c);
    const h = c.hostile(o.locs[0]!);
    // A single share: it cannot combine to anything, and is well-formed (decodes, opens).
    const deal = await takeOver(c, o, h, { generation: 1, threshold: 2, count: 1, head: false });
    const rec = await h.record();
    const pk = await pkOf(rec, o.owner.passphrase);
    const share = decodeKeyShare(deal.records[0]!);
    try {
      openWithNonce(shareBoxKey(pk, 'passphrase', o.vaultId, rec.locationId, 1), share.passphraseBox, share.header);
    } catch {
      c.expect(false, 'malformed forgery: the single forged share does not open under the passphrase key');
    }
    // Two honest locations hold their shares: the owner must unlock and read everything.
    await checkVault(c, o.owner, { label: 'after the attack' });
  });

  adversaryCase('1 lockout: 2-of-3, 255 shares bound to the real check value take every x-coordinate', async (c) => {
    const o = await small.fresh(c);
    const h = c.hostile(o.locs[0]!);
    const rec = await h.record();
    const pk = await pkOf(rec, o.owner.passphrase);
    await toolkitMatchesEngine(c, h, pk);
    // The header of its own genuine share is public to it: generation, threshold, check value.
    const genuine = decodeKeyShare(await h.read(keyName(1)));
    const rk = new Uint8Array(randomBytes(32));
    for (let x = 1; x <= 255; x++) {
      const share = new Uint8Array(33);
      share.set(randomBytes(32));
      share[32] = x;
      const bytes = sealShare({
        vaultId: o.vaultId,
        generation: 1,
        threshold: genuine.threshold,
        total: genuine.total,
        locationId: rec.locationId,
        dealId: genuine.dealId ?? '00'.repeat(16),
        kcv: genuine.kcv,
        share,
        pk,
        rk,
      });
      await h.write(x === 1 ? keyName(1) : `${keyName(1)}.${x}`, bytes);
    }
    // Well-formed: each decodes and opens under the passphrase key (checked on a sample).
    const sample = decodeKeyShare(await h.read(`${keyName(1)}.200`));
    try {
      openWithNonce(shareBoxKey(pk, 'passphrase', o.vaultId, rec.locationId, 1), sample.passphraseBox, sample.header);
    } catch {
      c.expect(false, 'malformed forgery: a flooded share does not open under the passphrase key');
    }
    await checkVault(c, o.owner, { label: 'after the flood' });
  });
});
