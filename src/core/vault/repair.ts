/**
 * Repair: bring every reachable location back to what the vault head says. Idempotent and
 * safe to interrupt (every write is atomic, and nothing is deleted that the head still
 * references), so running it again after a crash simply continues.
 *
 * 0. locations that are back get the shard copies staged for them and the manifests of
 *    files stored while they were away (files.ts completeAway).
 * 1. key shares: a reachable location without the current generation (it was offline
 *    during a re-deal, or lost its share) gets a fresh deal over all locations.
 * 2. manifests: re-written where missing or unreadable.
 * 3. shards: a missing or damaged copy on a reachable location is rebuilt in place, from a
 *    good copy of the same shard or from any k good shards (the same bytes as before).
 *    Damaged is what verify finds (a wrong size, or a header, first or last frame that does
 *    not authenticate: a shard swapped for another), what a get or a deep check on this
 *    device remembered as damaged (damage.ts), and with --deep any frame or the digest.
 * 3b. placement: files a failure domain holds more shards of than placement over the domains
 *    would (a location's domain changed since they were stored) join the re-coding job, which
 *    moves them crash-safely (policy-change.ts replaceOverDomains); the job runs to its end.
 * 4. garbage: temporary objects, shards, staged copies and manifests the head does not
 *    reference, older than an hour (younger ones may belong to a write in progress on
 *    another machine).
 */
import type { RepairReport } from '../../shared/api';
import { wipe } from '../crypto/bytes';
import { ShardvaultError } from '../errors';
import { encodeManifest, type Manifest } from '../format/manifest';
import {
  decodeKeyShare,
  isFormatObjectName,
  KEY_SHARE_BYTES,
  KEY_SHARE_BYTES_V1,
  MAX_MANIFEST_BYTES,
  PATHS,
} from '../format/records';
import { readObject } from '../storage/node';
import {
  checkCopies,
  completeAway,
  copyStates,
  type CopyState,
  fetchManifest,
  healthOf,
  holdings,
  readSpecOf,
  openFileKeys,
} from './files';
import { decodeManifest } from '../format/manifest';
import { rebuildShards } from './pipeline/rebuild';
import { replaceOverDomains } from './policy-change';
import type { Location, Vault } from './vault';
import { shownName, storedFiles } from './packs';

export const GARBAGE_AGE_MS = 60 * 60 * 1000;

export type { RepairReport };

/**
 * Whether a location holds a whole key share of the vault's current generation (one that
 * combines to the vault key): what repair re-deals for and the recovery drill counts.
 */
export async function holdsKeyShare(vault: Vault, l: Location): Promise<boolean> {
  const generation = vault.head().generation;
  for (const o of await l.node.list(PATHS.keysDir)) {
    // Either size unlock reads: a version 1 share (no deal id) is as current as a version 2 one.
    if (o.path !== PATHS.keyShare(generation) || (o.size !== KEY_SHARE_BYTES && o.size !== KEY_SHARE_BYTES_V1))
      continue;
    const record = decodeKeyShare(await readObject(l.node, o.path, KEY_SHARE_BYTES));
    if (record.generation === generation && vault.keyShareSound(record, l.id)) return true;
  }
  return false;
}

export async function repair(vault: Vault, opts: { deep: boolean; now?: number }): Promise<RepairReport> {
  await vault.finishKeyShareChange();
  return vault.audited('repair', null, async (used) => {
    const pending: string[] = [];
    const health = await vault.health();
    const reachable = vault.locations.filter((l) => health.get(l.id)?.reachable);
    for (const l of vault.locations) {
      if (!health.get(l.id)?.reachable)
        pending.push(`${l.name} is unreachable (${health.get(l.id)?.error ?? 'offline'}): repaired when it is back`);
    }
    reachable.forEach((l) => used.add(l.name));

    // 0. what waited for locations that are back
    const completed = await completeAway(vault);
    // Conflicts are settled below (step 3), where the manifest tells which bytes are right.
    pending.push(...completed.left);

    // 1. key shares
    const holders = await vault.everywhere((l) => holdsKeyShare(vault, l), reachable);
    let keyShares: RepairReport['keyShares'] = 'current';
    if (holders.some((h) => h.value === false || h.error)) {
      await vault.redeal();
      keyShares = reachable.length === vault.locations.length ? 'redealt' : 'partial';
    }

    // 2 and 3: manifests and shards, file by file
    const known = await holdings(vault);
    const keys = vault.requireKeys();
    let everyManifest = true;
    let manifestsWritten = completed.manifests;
    const files: RepairReport['files'][number][] = [];
    const referenced = new Set<string>();
    for (const f of storedFiles(vault.head())) {
      referenced.add(PATHS.manifest(f.id, f.version));
      let m: Manifest;
      try {
        m = await fetchManifest(vault, f);
      } catch (err) {
        files.push({ name: shownName(f), before: 'lost', after: 'lost', survives: -1, rebuilt: 0 });
        pending.push(`${shownName(f)}: ${(err as Error).message}`);
        everyManifest = false;
        continue;
      }
      for (const s of m.shards) {
        referenced.add(PATHS.shard(s.object));
        for (const home of s.locations) referenced.add(PATHS.staged(home, s.object));
      }
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

      let copies = copyStates(vault, m, known);
      // A staged copy still here though its location is back could not be moved (the location
      // holds other bytes under its name, or the move failed): both are opened, and once the
      // one at home is whole (or rebuilt) the staged one goes.
      const leftover = copies.filter((c) => c.stagedFor !== null && known.held.get(c.stagedFor));
      const atHome = (c: CopyState): boolean =>
        leftover.some((l) => l.index === c.index && l.stagedFor === c.locationId && c.stagedFor === null);
      // A plain repair opens the copies a get or a deep check found damaged; --deep every copy.
      await checkCopies(vault, m, copies, known, opts.deep, (c) => leftover.includes(c) || atHome(c));
      // A guarded file's repair needs its key: it asks its nodes like any opening.
      const { fileKey, shardKeys } = await openFileKeys(vault, m);
      try {
        const before = healthOf(vault, m, copies);
        const broken = copies.filter((c) => c.location && (c.state === 'missing' || c.state === 'corrupt'));
        let rebuilt = 0;
        if (broken.length > 0 && before.survives >= 0) {
          const bad = new Set(broken.map((c) => `${c.locationId}:${c.path}`));
          try {
            await rebuildShards(
              readSpecOf(vault, m, shardKeys, (_index, id, path) => bad.has(`${id}:${path}`)),
              broken.map((c) => ({ index: c.index, node: c.location!.node, path: c.path })),
            );
            rebuilt = broken.length;
            broken.forEach((c) => (c.state = 'ok'));
            await known.damaged.forget(broken.map((c) => ({ location: c.locationId, path: c.path })));
          } catch (err) {
            pending.push(`${shownName(f)}: rebuilding ${broken.length} shard copies failed: ${(err as Error).message}`);
          }
        }
        for (const l of leftover) {
          if (!copies.some((c) => atHome(c) && c.index === l.index && c.state === 'ok')) continue;
          await l.location?.node.delete(l.path);
          await known.damaged.forget([{ location: l.locationId, path: l.path }]);
          copies = copies.filter((c) => c !== l);
        }
        const after = healthOf(vault, m, copies);
        files.push({
          name: shownName(f),
          before: before.health,
          after: after.health,
          survives: after.survives,
          rebuilt,
        });
        if (after.health === 'lost')
          pending.push(`${shownName(f)} is lost: fewer than ${m.data} good shards are reachable`);
        if (after.health === 'unreachable')
          pending.push(`${shownName(f)} can't be read until ${after.awaiting.join(', ')} can be reached from here`);
      } finally {
        wipe(fileKey, ...shardKeys);
      }
    }

    // 3b. placement over failure domains (and any re-coding job left): its new codings are
    // referenced by the head it commits, its old ones are garbage only once it has committed.
    const placed = await replaceOverDomains(vault);
    pending.push(...placed.pending);
    if (placed.replaced > 0) {
      referenced.clear();
      for (const f of storedFiles(vault.head())) {
        referenced.add(PATHS.manifest(f.id, f.version));
        const m = await fetchManifest(vault, f);
        for (const s of m.shards) {
          referenced.add(PATHS.shard(s.object));
          for (const home of s.locations) referenced.add(PATHS.staged(home, s.object));
        }
      }
    }

    // What no file refers to any more is no damage to remember.
    if (everyManifest) {
      await known.damaged.forget(
        known.damaged.all().filter((c) => !referenced.has(c.path) || !vault.locationById(c.location)),
      );
    }

    // 4. garbage
    const now = opts.now ?? Date.now();
    const old = (modifiedMs: number | undefined): boolean =>
      modifiedMs !== undefined && now - modifiedMs > GARBAGE_AGE_MS;
    const collected = await vault.everywhere(async (l) => {
      let count = 0;
      for (const dir of [PATHS.tempDir, PATHS.shardsDir, PATHS.stagedDir, PATHS.manifestsDir]) {
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
      moved: completed.moved,
      replaced: placed.replaced,
      manifestsWritten,
      collected: collected.reduce((n, c) => n + (c.value ?? 0), 0),
      pending,
    };
  });
}
