/**
 * Repair: bring every reachable location back to what the vault head says. Idempotent and
 * safe to interrupt (every write is atomic, and nothing is deleted that the head still
 * references), so running it again after a crash simply continues.
 *
 * 1. key shares: a reachable location without the current generation (it was offline
 *    during a re-deal, or lost its share) gets a fresh deal over all locations.
 * 2. manifests: re-written where missing or unreadable.
 * 3. shards: a missing or damaged copy on a reachable location is rebuilt in place, from a
 *    good copy of the same shard or from any k good shards (the same bytes as before).
 *    Damaged is what verify finds: a wrong size, or a header, first or last frame that does
 *    not authenticate (a shard swapped for another); with --deep, any frame or the digest.
 * 4. garbage: temporary objects, shards and manifests the head does not reference, older
 *    than an hour (younger ones may belong to a write in progress on another machine).
 */
import type { RepairReport } from '../../shared/api';
import { wipe } from '../crypto/bytes';
import { ShardvaultError } from '../errors';
import { encodeManifest, type Manifest } from '../format/manifest';
import { decodeKeyShare, isFormatObjectName, KEY_SHARE_BYTES, MAX_MANIFEST_BYTES, PATHS } from '../format/records';
import { readObject } from '../storage/node';
import { checkCopies, copyStates, fetchManifest, healthOf, readSpecOf, shardListings, unwrapShardKeys } from './files';
import { decodeManifest } from '../format/manifest';
import { rebuildShards } from './pipeline';
import type { Vault } from './vault';

export const GARBAGE_AGE_MS = 60 * 60 * 1000;

export type { RepairReport };

export async function repair(vault: Vault, opts: { deep: boolean; now?: number }): Promise<RepairReport> {
  return vault.audited('repair', null, async (used) => {
    const pending: string[] = [];
    const health = await vault.health();
    const reachable = vault.locations.filter((l) => health.get(l.id)?.reachable);
    for (const l of vault.locations) {
      if (!health.get(l.id)?.reachable)
        pending.push(`${l.name} is unreachable (${health.get(l.id)?.error ?? 'offline'}): repaired when it is back`);
    }
    reachable.forEach((l) => used.add(l.name));

    // 1. key shares
    const head = vault.head();
    const holders = await vault.everywhere(async (l) => {
      for (const o of await l.node.list(PATHS.keysDir)) {
        if (o.path !== PATHS.keyShare(head.generation) || o.size !== KEY_SHARE_BYTES) continue;
        const record = decodeKeyShare(await readObject(l.node, o.path, KEY_SHARE_BYTES));
        if (record.generation === head.generation && vault.keyShareSound(record, l.id)) return true;
      }
      return false;
    }, reachable);
    let keyShares: RepairReport['keyShares'] = 'current';
    if (holders.some((h) => h.value === false || h.error)) {
      await vault.redeal();
      keyShares = reachable.length === vault.locations.length ? 'redealt' : 'partial';
    }

    // 2 and 3: manifests and shards, file by file
    const listings = await shardListings(vault);
    const keys = vault.requireKeys();
    let manifestsWritten = 0;
    const files: RepairReport['files'][number][] = [];
    const referenced = new Set<string>();
    for (const f of vault.head().files) {
      referenced.add(PATHS.manifest(f.id, f.version));
      let m: Manifest;
      try {
        m = await fetchManifest(vault, f);
      } catch (err) {
        files.push({ name: f.name, before: 'lost', after: 'lost', survives: -1, rebuilt: 0 });
        pending.push(`${f.name}: ${(err as Error).message}`);
        continue;
      }
      m.shards.forEach((s) => referenced.add(PATHS.shard(s.object)));
      const bytes = encodeManifest(m, keys.manifest);
      const rewritten = await vault.everywhere(async (l) => {
        try {
          decodeManifest(
            await readObject(l.node, PATHS.manifest(f.id, f.version), MAX_MANIFEST_BYTES),
            keys.manifest,
            m,
          );
          return false;
        } catch (err) {
          if (err instanceof ShardvaultError && err.code === 'offline') throw err;
          await l.node.put(PATHS.manifest(f.id, f.version), bytes);
          return true;
        }
      }, reachable);
      manifestsWritten += rewritten.filter((r) => r.value).length;

      const copies = copyStates(vault, m, listings);
      // The same look inside as verify's: a copy verify calls corrupt is rebuilt here.
      await checkCopies(vault, m, copies, opts.deep);
      const { fileKey, shardKeys } = unwrapShardKeys(vault, m);
      try {
        const before = healthOf(m, copies);
        const broken = copies.filter((c) => c.location && (c.state === 'missing' || c.state === 'corrupt'));
        let rebuilt = 0;
        if (broken.length > 0 && before.health !== 'lost') {
          const bad = new Set(broken.map((c) => `${c.index}:${c.locationId}`));
          try {
            await rebuildShards(
              readSpecOf(vault, m, shardKeys, (index, id) => bad.has(`${index}:${id}`)),
              broken.map((c) => ({
                index: c.index,
                node: c.location!.node,
                path: PATHS.shard(m.shards[c.index]!.object),
              })),
            );
            rebuilt = broken.length;
            broken.forEach((c) => (c.state = 'ok'));
          } catch (err) {
            pending.push(`${f.name}: rebuilding ${broken.length} shard copies failed: ${(err as Error).message}`);
          }
        }
        const after = healthOf(m, copies);
        files.push({ name: f.name, before: before.health, after: after.health, survives: after.survives, rebuilt });
        if (after.health === 'lost') pending.push(`${f.name} is lost: fewer than ${m.data} good shards are reachable`);
      } finally {
        wipe(fileKey, ...shardKeys);
      }
    }

    // 4. garbage
    const now = opts.now ?? Date.now();
    const old = (modifiedMs: number | undefined): boolean =>
      modifiedMs !== undefined && now - modifiedMs > GARBAGE_AGE_MS;
    const collected = await vault.everywhere(async (l) => {
      let count = 0;
      for (const dir of [PATHS.tempDir, PATHS.shardsDir, PATHS.manifestsDir]) {
        for (const o of await l.node.list(dir)) {
          // A listing is the location's claim: a name the vault does not make is not its garbage.
          if (!isFormatObjectName(o.path)) continue;
          if (dir !== PATHS.tempDir && referenced.has(o.path)) continue;
          if (!old(o.modifiedMs)) continue;
          await l.node.delete(o.path);
          count++;
        }
      }
      return count;
    }, reachable);

    // 5. heads: a location whose head is missing, damaged or old gets the current one again
    // (otherwise head damage would pile up across repairs until no readable head is left).
    if ((await vault.staleHeads()).length > 0) await vault.commit((h) => h);

    return {
      ok: pending.length === 0,
      files,
      keyShares,
      manifestsWritten,
      collected: collected.reduce((n, c) => n + (c.value ?? 0), 0),
      pending,
    };
  });
}
