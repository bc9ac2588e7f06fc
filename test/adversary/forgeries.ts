/**
 * The generic forgeries of issue 9, for one vault shape and a set of hostile locations
 * (forgeries-2of3.test.ts: one of three; forgeries-3of5.test.ts: two of five). The hostile
 * count is t − 1 = X in both shapes, so the same locations are both "up to t − 1 that know the
 * passphrase" and "up to X that don't": the replays here need no passphrase (heads,
 * manifests, shards and location records are copied, not made), and the passphrase would add
 * nothing to them (they are sealed under keys derived from the vault key). The one attack that
 * uses the passphrase, a vault of the attackers' own offered to a new machine, says so.
 *
 * Every case: the owner lists exactly what was committed and reads every file byte for byte
 * (a get may refuse only where a case says so, never release other bytes), and nothing
 * outside the location roots changes.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { peekHead } from '../../src/core/format/head';
import { decodeVaultRecord, encodeVaultRecord, PATHS, readManifestHeader } from '../../src/core/format/records';
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
  pkOf,
  POLICIES,
  changedFiles,
  snapshotRoots,
  snapshotTree,
  VaultFixture,
  newId,
  type AdversaryCase,
  type Fresh,
  type Machine,
  type PolicyName,
} from './harness';

export interface Threat {
  readonly policy: PolicyName;
  /** Indices of the hostile locations (listed first: the reader asks them first). */
  readonly hostile: readonly number[];
}

/** A new machine opens the vault with the hostile locations listed first. */
async function newMachine(
  c: AdversaryCase,
  o: Fresh,
  threat: Threat,
  name: string,
  locations: readonly string[] = order(o, threat),
): Promise<Machine | null> {
  const m = o.scene.machine(name);
  let r = await m.open(locations);
  if (r.code === 2 && /different vaults/.test(r.stdout + r.stderr)) {
    // A clear refusal: the records name two vaults and a majority proves nothing. The user
    // then gives the fingerprint from the recovery kit, which picks the owner's vault.
    c.note(`${name}: open refused locations naming different vaults; again with the fingerprint`);
    r = await m.open(locations, { expectFingerprint: o.fingerprint });
  }
  c.expect(r.code === 0, `${name}: open with the hostile location(s) listed first: ${describeRun(['open'], r)}`);
  if (r.code !== 0) return null;
  for (const [file, e] of o.owner.committed) m.committed.set(file, e);
  return m;
}

/** The locations, hostile ones first. */
function order(o: Fresh, threat: Threat): string[] {
  return [...threat.hostile.map((i) => o.locs[i]!), ...o.locs.filter((_, i) => !threat.hostile.includes(i))];
}

/** Whether a profile maps every location id to the folder that really holds it. */
async function profileTrue(c: AdversaryCase, o: Fresh, m: Machine, what: string): Promise<void> {
  const p = await m.profile();
  c.forgery(p.vaultId !== o.vaultId, `${what}: the profile names vault ${p.vaultId.slice(0, 8)}…, not the owner's`);
  for (const l of p.locations) {
    const i = o.ids.indexOf(l.id);
    if (i < 0) c.forgery(true, `${what}: the profile holds a location ${l.id.slice(0, 8)}… the vault never had`);
    else
      c.forgery(
        l.spec !== o.locs[i],
        `${what}: the profile puts loc${i + 1} (${l.id.slice(0, 8)}…) at ${l.spec}, which is not where it is`,
      );
  }
}

export function defineForgeries(threat: Threat): void {
  const shape = POLICIES[threat.policy];
  const n = threat.hostile.length;
  const tag = `${threat.policy}, ${n} hostile`;
  let fixture: VaultFixture;

  beforeAll(async () => {
    fixture = await VaultFixture.create(`forgeries-${threat.policy}`, threat.policy, {
      files: { 'letters/2026.txt': 70_001, 'twin.txt': 70_001 },
      otherVault: true,
    });
  });

  afterAll(async () => {
    await fixture?.cleanup();
  });

  describe(`generic forgeries (${tag}: t − 1 = X = ${shape.t - 1})`, () => {
    adversaryCase(`rollback (${tag}): old heads, manifests and shards are put back`, async (c) => {
      const o = await fixture.fresh(c);
      await o.owner.putOk('letters/2026.txt', 90_000, { replace: true });
      await o.owner.rmOk('twin.txt');
      await o.owner.putOk('new.bin', 120_000);
      // The hostile locations put back their copies from before those changes.
      for (const i of threat.hostile) await c.hostile(o.locs[i]!).restore(o.pristine[i]!);
      await checkVault(c, o.owner, { label: 'owner' });
      const gone = await o.owner.get('twin.txt');
      c.forgery(gone.run.code === 0, 'the removed file twin.txt came back from the rolled-back location(s)');
      // A machine that never saw the newer heads: it must merge them, not follow the old ones.
      const laptop = await newMachine(c, o, threat, 'laptop');
      if (laptop) await checkListing(c, laptop, { label: 'new machine' });
    });

    adversaryCase(`manifests (${tag}): an older version's, another vault's, another file's`, async (c) => {
      const o = await fixture.fresh(c);
      await o.owner.putOk('letters/2026.txt', 90_000, { replace: true });
      const other = c.hostile(o.other!.locs[0]!);
      const [theirs] = await other.list('manifests');
      // Well-formed: a genuine manifest of the other vault (its header parses; sealed as any).
      c.expect(
        readManifestHeader(await other.read(theirs!)).header.vaultId === o.other!.vaultId,
        "the other vault's manifest does not parse as one",
      );
      const genuine = new Map<number, { fresh: string; twin: string; bytes: [Uint8Array, Uint8Array] }>();
      for (const i of threat.hostile) {
        const h = c.hostile(o.locs[i]!);
        const was = c.hostile(o.pristine[i]!);
        const now = await h.list('manifests');
        const then = await was.list('manifests');
        const replaced = then.find((m) => !now.includes(m))!; // the old version of letters/2026.txt
        const fresh = now.find((m) => !then.includes(m))!; // the new one
        const twin = now.find((m) => m !== fresh)!;
        genuine.set(i, { fresh, twin, bytes: [await h.read(fresh), await h.read(twin)] });
        // Under the name of the new version: the old version's manifest (same file name).
        await h.write(fresh, await was.read(replaced));
        // Under the other file's name: another vault's manifest of a file of the same name.
        await h.write(twin, await other.read(theirs!));
      }
      await checkVault(c, o.owner, { label: 'older version, other vault' });
      // Then each file's manifest under the other file's name.
      for (const i of threat.hostile) {
        const h = c.hostile(o.locs[i]!);
        const g = genuine.get(i)!;
        await h.write(g.fresh, g.bytes[1]);
        await h.write(g.twin, g.bytes[0]);
      }
      await checkGets(c, o.owner, { label: 'swapped between files' });
    });

    adversaryCase(`heads (${tag}): another vault's head as the shared and device heads`, async (c) => {
      const o = await fixture.fresh(c);
      const other = c.hostile(o.other!.locs[0]!);
      const theirHead = await other.read(PATHS.head);
      // Well-formed: the other vault's genuine head (its header names that vault).
      c.expect(peekHead(theirHead).vaultId === o.other!.vaultId, "the other vault's head does not parse as one");
      const device = (await o.owner.profile()).device.id;
      for (const i of threat.hostile) {
        const h = c.hostile(o.locs[i]!);
        await h.write(PATHS.head, theirHead);
        await h.write(PATHS.deviceHead(device), theirHead);
        for (const copy of await other.list(PATHS.headsDir)) await h.write(copy, await other.read(copy));
      }
      await checkListing(c, o.owner, { label: 'owner' });
      const laptop = await newMachine(c, o, threat, 'laptop');
      if (laptop) await checkListing(c, laptop, { label: 'new machine' });
      // A commit over the forged heads, then every file back.
      await o.owner.putOk('after.txt', 10_000);
      await checkGets(c, o.owner, { label: 'owner after a put' });
    });

    adversaryCase(`location record (${tag}): naming another vault`, async (c) => {
      const o = await fixture.fresh(c);
      const theirs = await c.hostile(o.other!.locs[0]!).read(PATHS.vault);
      c.expect(decodeVaultRecord(theirs).vaultId === o.other!.vaultId, "the other vault's record does not parse");
      for (const i of threat.hostile) await c.hostile(o.locs[i]!).write(PATHS.vault, theirs);
      await recordOutcome(c, o, threat);
    });

    adversaryCase(`location record (${tag}): naming another location of this vault`, async (c) => {
      const o = await fixture.fresh(c);
      const honest = o.locs.map((_, i) => i).filter((i) => !threat.hostile.includes(i));
      for (const [k, i] of threat.hostile.entries()) {
        const h = c.hostile(o.locs[i]!);
        const rec = await h.record();
        // The record of an honest location, as this one's: same vault, another location id.
        await h.write(PATHS.vault, encodeVaultRecord({ ...rec, locationId: o.ids[honest[k]!]! }));
      }
      await recordOutcome(c, o, threat);
    });

    adversaryCase(`shards (${tag}): a shard of another file of the same size`, async (c) => {
      const o = await fixture.fresh(c);
      for (const i of threat.hostile) {
        const h = c.hostile(o.locs[i]!);
        const shards = await h.list('shards');
        const sizes = new Map<number, string[]>();
        for (const s of shards) {
          const size = (await h.read(s)).length;
          sizes.set(size, [...(sizes.get(size) ?? []), s]);
        }
        const pair = [...sizes.values()].find((v) => v.length === 2);
        if (!pair) throw new Error('no two shards of the same size on a hostile location');
        const [x, y] = [await h.read(pair[0]!), await h.read(pair[1]!)];
        await h.write(pair[0]!, y);
        await h.write(pair[1]!, x);
      }
      await checkVault(c, o.owner, { label: 'owner' });
    });

    adversaryCase(
      `own vault (${tag}, with the passphrase): a new machine given t locations, hostile first`,
      async (c) => {
        const o = await fixture.fresh(c);
        // The hostile locations become a vault of their own: a record naming it, shares of its
        // key sealed under the owner's passphrase (they know it), a head listing only them.
        const hs = threat.hostile.map((i) => c.hostile(o.locs[i]!));
        const recs = await Promise.all(hs.map((h) => h.record()));
        const vaultId = newId();
        const pk = await pkOf(recs[0]!, o.owner.passphrase);
        const ids = n === 1 ? [recs[0]!.locationId, recs[0]!.locationId] : recs.map((r) => r.locationId);
        const deal = await forgeDeal({ vaultId, generation: 1, threshold: 2, locationIds: ids, pk });
        for (const p of await forgedSharesUnlock(
          vaultId,
          deal.records.map((bytes, k) => ({ locationId: ids[k]!, bytes })),
          pk,
          deal,
        ))
          c.expect(false, `malformed forgery: ${p}`);
        const head = forgeHead({
          vaultId,
          vk: deal.vk,
          rk: deal.rk,
          counter: 1,
          generation: 1,
          policy: { data: 1, total: n, threshold: 2, replicas: 1, segmentSize: 65536 },
          locations: recs.map((r, k) => ({
            id: r.locationId,
            name: `loc${k + 1}`,
            kind: 'local',
            display: hs[k]!.root,
          })),
        });
        for (const [k, h] of hs.entries()) {
          await h.write(PATHS.vault, encodeVaultRecord({ ...recs[k]!, vaultId }));
          await h.write(keyName(1), deal.records[k]!);
          if (n === 1) await h.write(`${keyName(1)}.2`, deal.records[1]!);
          await h.write(PATHS.head, head);
        }
        // The user gives t locations (enough to unlock): the hostile ones and t − n honest ones.
        const given = order(o, threat).slice(0, shape.t);
        const laptop = o.scene.machine('laptop');
        const r = await laptop.open(given);
        c.note(`open with ${given.length} locations, ${n} hostile first: ${describeRun(['open'], r).slice(0, 140)}`);
        if (r.code === 0) {
          const p = await laptop.profile();
          c.forgery(p.vaultId === vaultId, "the new machine attached to the hostile locations' own vault");
          if (p.vaultId === o.vaultId) {
            for (const [file, e] of o.owner.committed) laptop.committed.set(file, e);
            await checkVault(c, laptop, { label: 'new machine', getMayRefuse: true });
          }
        }
      },
    );
  });
}

/**
 * A location whose record names another vault or location is treated as offline: nothing
 * is written into it, the owner reads everything, and a new machine maps every location to
 * where it really is.
 */
async function recordOutcome(c: AdversaryCase, o: Fresh, threat: Threat): Promise<void> {
  const hostileRoots = threat.hostile.map((i) => o.locs[i]!);
  const before = await snapshotRoots(hostileRoots);
  const put = await o.owner.put('after.txt', 10_000);
  c.note(`put with the hostile record(s): ${describeRun(['put'], put).slice(0, 140)}`);
  await checkVault(c, o.owner, { label: 'owner' });
  const laptop = await newMachine(c, o, threat, 'laptop');
  if (laptop) {
    await profileTrue(c, o, laptop, 'new machine');
    await checkVault(c, laptop, { label: 'new machine', only: ['letters/2026.txt'] });
  }
  for (const root of hostileRoots) {
    const changed = changedFiles(before.get(root)!, await snapshotTree(root));
    c.forgery(
      changed.length > 0,
      `the client wrote into ${root} although its record names another vault or location: ${changed.slice(0, 4).join(', ')}`,
    );
  }
}
