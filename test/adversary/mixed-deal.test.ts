/**
 * Case 4 of issue 9: a generation dealt twice passes the soundness check.
 *
 * The key-check value depends only on VK and the generation, so a share of generation g+1
 * from an earlier deal of the same VK (a re-deal that stopped before its commit, or a
 * location replaying one) looks "sound" to repair, although it does not combine with the
 * shares of the deal that was committed. Here, in a 2-of-4 vault (t + X = 3 < 4, so a
 * re-deal that reached three locations deletes the old generation there):
 *
 *   1. a first deal of generation 2 reaches loc4 only (written as the engine writes it);
 *   2. loc4 is unplugged; loc1 loses its share; `repair` re-deals generation 2 over the
 *      reachable three, commits, and deletes generation 1 on them;
 *   3. loc4 comes back holding generation 1 and the first deal's generation 2.
 *
 * `repair` must notice the mixed deal and deal again; afterwards every pair of locations
 * (t = 2) unlocks the vault.
 */
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { decodeKeyShare } from '../../src/core/format/records';
import { combinations } from '../../src/core/crypto/shamir';
import { dealShares, keyShareIsSound, recoveryKey } from '../../src/core/vault/keys';
import {
  adversaryCase,
  checkListing,
  describe as describeRun,
  keyName,
  keySharesIn,
  pkOf,
  readRecord,
  unlockFrom,
  unplug,
  VaultFixture,
} from './harness';

let fixture: VaultFixture;

beforeAll(async () => {
  fixture = await VaultFixture.create('mixed-deal', '2-of-4');
});

afterAll(async () => {
  await fixture?.cleanup();
});

describe('4: a generation dealt twice', () => {
  adversaryCase(
    '4 mixed deal: repair calls a twice-dealt generation current; every t-subset must unlock',
    async (c) => {
      const o = await fixture.fresh(c);
      const [a, , , d] = o.locs as [string, string, string, string];
      const record = await readRecord(a);
      const pk = await pkOf(record, o.owner.passphrase);
      const rk = recoveryKey(o.recoveryCode, o.vaultId);
      const unlocked = await unlockFrom(o.locs, o.vaultId, pk);
      if (!('vk' in unlocked)) throw new Error(`the test cannot unlock its own vault: ${unlocked.error}`);
      const vk = unlocked.vk;

      // 1. A first deal of generation 2, cut short: only loc4 got its share.
      const first = await dealShares(
        vk,
        { vaultId: o.vaultId, generation: 2, threshold: 2, locationIds: o.ids },
        pk,
        rk,
      );
      const stale = first.records.get(o.ids[3]!)!;
      c.expect(
        keyShareIsSound(decodeKeyShare(stale), {
          vaultId: o.vaultId,
          locationId: o.ids[3]!,
          vk,
          pk,
          rk,
          dealId: first.dealId,
        }),
        "malformed forgery: the first deal's share is not sound by the engine's own check",
      );
      await c.hostile(d).write(keyName(2), stale);

      // 2. loc4 away, loc1 loses its share, repair deals generation 2 again over the rest.
      const plugBack = await unplug(d);
      await fs.rm(nodePath.join(a, keyName(1)));
      const first_repair = await o.owner.repair();
      c.note(
        `repair with loc4 away: key shares ${first_repair.report?.keyShares ?? describeRun(['repair'], first_repair.run)}`,
      );
      await plugBack();
      const onA = (await keySharesIn(a)).map((s) => s.generation);
      c.note(
        `generations on loc1 after that repair: ${onA.join(', ')}; on loc4: ${(await keySharesIn(d)).map((s) => s.generation).join(', ')}`,
      );

      // 3. loc4 is back: its generation-2 share is of another deal. The command must deal
      // again: repair itself, or the unlock before it (which catches up a location that
      // holds an older deal, since the passphrase change). Afterwards every location holds a
      // share of one deal of the newest generation.
      const second = await o.owner.repair();
      c.note(`repair with loc4 back: key shares ${second.report?.keyShares ?? describeRun(['repair'], second.run)}`);
      c.expect(second.run.code === 0, `repair with every location back: ${describeRun(['repair'], second.run)}`);
      const held = await Promise.all(o.locs.map((l) => keySharesIn(l)));
      const newest = Math.max(...held.flat().map((r) => r.generation));
      const deals = held.map((rs) => rs.find((r) => r.generation === newest)?.dealId ?? 'none');
      c.forgery(
        newest <= 2 || new Set(deals).size !== 1 || deals.includes('none'),
        `after repair the newest key shares (generation ${newest}) are not one deal on every location: ${deals.join(', ')}`,
      );

      // Every pair of locations unlocks the vault (the engine's own recovery, the passphrase).
      for (const pair of combinations(o.locs.length, 2)) {
        const roots = pair.map((i) => o.locs[i]!);
        const got = await unlockFrom(roots, o.vaultId, pk);
        const ok = 'vk' in got && Buffer.from(got.vk).equals(Buffer.from(vk));
        c.expect(
          ok,
          `loc${pair[0]! + 1} + loc${pair[1]! + 1} do not unlock the vault after repair: ${'error' in got ? got.error : 'another key'}`,
        );
      }
      // And through the CLI: the owner with only loc3 and loc4 reachable lists the vault.
      const away = [await unplug(o.locs[0]!), await unplug(o.locs[1]!)];
      await checkListing(c, o.owner, { label: 'only loc3 and loc4 reachable' }).catch((err: unknown) =>
        c.expect(false, `ls with loc3 and loc4: ${(err as Error).message}`),
      );
      for (const back of away) await back();
    },
  );
});
