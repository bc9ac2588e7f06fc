/**
 * Locations that are away (a USB disk in a drawer). A put does not wait for them: a shard
 * copy meant for an away location is written, sealed like any other, to a location that is
 * present, as `staged/<its location id>-<object id>` (docs/FORMAT.md, "Staged shard copies").
 * The manifest still says where the shard belongs, so it stays the one record of placement;
 * the staged copy is a parcel addressed to its location. A reader that can't get the copy
 * from its own location looks for the parcel; when the location is back, the parcel is moved
 * there. Moving it needs no key (the bytes are the same), so the desktop app does it in the
 * background even while locked, and a CLI command that writes does it first.
 */
import { createHash } from 'node:crypto';
import { equalBytes } from '../crypto/bytes';
import type { Manifest } from '../format/manifest';
import { ID_BYTES, PATHS, SHARD_HEADER_BYTES, stagedCopyOf } from '../format/records';
import { DamageRegister } from './damage';
import type { Location, Vault } from './vault';

/** One copy of a shard: where it is written (`host`) and the location it belongs to (`home`). */
export interface PlacedCopy {
  readonly host: string;
  readonly home: string;
}

/**
 * Where each shard's copies go when only `present` locations can take them: a copy whose home
 * is present goes there; one whose home is away goes to the present location holding the
 * fewest of this file's copies (so that losing one location costs the fewest shards) and not
 * already holding that shard, earlier in `order` on a tie. A copy no present location can
 * take without holding its shard twice is left out (repair makes it once its home is back).
 */
export function stageAway(
  homes: readonly (readonly string[])[],
  present: ReadonlySet<string>,
  order: readonly string[],
): PlacedCopy[][] {
  const placed = homes.map((copies) => copies.filter((h) => present.has(h)).map((h) => ({ host: h, home: h })));
  const load = new Map<string, number>();
  for (const copies of placed) for (const c of copies) load.set(c.host, (load.get(c.host) ?? 0) + 1);
  homes.forEach((copies, index) => {
    for (const home of copies) {
      if (present.has(home)) continue;
      const candidates = order.filter((id) => present.has(id) && !placed[index]!.some((c) => c.host === id));
      const host = candidates.reduce<string | null>(
        (best, id) => (best === null || (load.get(id) ?? 0) < (load.get(best) ?? 0) ? id : best),
        null,
      );
      if (host === null) continue;
      placed[index]!.push({ host, home });
      load.set(host, (load.get(host) ?? 0) + 1);
    }
  });
  return placed;
}

/** Where a shard copy that failed to write goes instead (replaceFailed). */
export interface Rerouted {
  readonly index: number;
  /** The copy that failed: its host was the location that failed. */
  readonly failed: PlacedCopy;
  /** Its replacement: a spare's own copy (host = home, the manifest names the spare), or
   * one held for the failed copy's home on a present location (staged); null when none. */
  readonly to: PlacedCopy | null;
}

/**
 * Places the copies a put could not write (their location failed mid-put) on locations in
 * `usable` (reachable, and not failed in this put): first on a spare, a location holding no
 * shard of this file, which then is that shard's home; else held for its home on the usable
 * location holding the fewest copies and not that shard (as stageAway does), else nowhere.
 * `placed` is updated in place to what is written once the replacements are.
 */
export function replaceFailed(
  placed: PlacedCopy[][],
  failed: readonly { readonly index: number; readonly copy: PlacedCopy }[],
  usable: ReadonlySet<string>,
  order: readonly string[],
): Rerouted[] {
  for (const f of failed) {
    placed[f.index] = placed[f.index]!.filter((c) => c.host !== f.copy.host || c.home !== f.copy.home);
  }
  return failed.map(({ index, copy }) => {
    const hosts = new Set(placed.flat().map((c) => c.host));
    const spare = order.find((id) => usable.has(id) && !hosts.has(id));
    let to: PlacedCopy | null = spare === undefined ? null : { host: spare, home: spare };
    if (to === null) {
      const load = (id: string): number => placed.flat().filter((c) => c.host === id).length;
      const host = order
        .filter((id) => usable.has(id) && !placed[index]!.some((c) => c.host === id))
        .reduce<string | null>((best, id) => (best === null || load(id) < load(best) ? id : best), null);
      to = host === null ? null : { host, home: copy.home };
    }
    if (to !== null) placed[index]!.push(to);
    return { index, failed: copy, to };
  });
}

export interface Completion {
  /** Shard copies moved to their own location. */
  readonly moved: number;
  /** Staged copies whose location is back but that could not be moved, in words. */
  readonly left: readonly string[];
  /** Staged copies left because their location holds other bytes under the shard's name, in
   * words (repair settles them: the manifest tells which bytes are right). */
  readonly conflicts: readonly string[];
}

/**
 * Moves every staged copy whose location is reachable now to it, as `shards/<object id>`,
 * and deletes the staged copy once the location holds the same bytes. Needs no key. A copy
 * that is already there with other bytes is left in place and the one there remembered as
 * damaged (repair, which can tell which is right, rebuilds it); nothing the location holds is
 * overwritten. Never throws for one location's failure: what is left is said.
 *
 * A staged name is only the claim of the location that lists it: one location could address
 * bytes of its choosing, as many as it likes, to another. Unlocked, a copy is moved only when
 * a manifest of a file in the head names its object, with that location among the shard's,
 * and its header is that shard's; no more bytes than the manifest records are moved (vouch).
 * Locked, nothing can vouch for it: it is moved as listed, no more bytes than listed.
 */
export async function completeStaged(vault: Vault): Promise<Completion> {
  const listed = await vault.everywhere((l) => l.node.list(PATHS.stagedDir));
  const reachable = new Set(listed.filter((r) => r.value).map((r) => r.location.id));
  const parcels = listed.flatMap((r) =>
    (r.value ?? []).flatMap((o) => {
      const staged = stagedCopyOf(o.path);
      const home = staged ? vault.locationById(staged.location) : undefined;
      // A parcel for a location the vault no longer has is garbage (repair collects it); one
      // for a location still away waits.
      return staged && home && home.id !== r.location.id && reachable.has(home.id)
        ? [{ host: r.location, home, path: o.path, object: staged.object, listed: o.size }]
        : [];
    }),
  );
  if (parcels.length === 0) return { moved: 0, left: [], conflicts: [] };
  const damage = await DamageRegister.load(vault.dir, vault.vaultId, vault.options.onWarning);
  let moved = 0;
  const left: string[] = [];
  const conflicts: string[] = [];
  const byHome = new Map<Location, typeof parcels>();
  /** Manifests read to vouch for copies, by file id: a file's copies share one. */
  const manifests = new Map<string, Promise<Manifest>>();
  for (const p of parcels) byHome.set(p.home, [...(byHome.get(p.home) ?? []), p]);
  await Promise.all(
    [...byHome].map(async ([home, list]) => {
      for (const p of list) {
        const target = PATHS.shard(p.object);
        try {
          const vouched = await vouch(vault, p, manifests);
          if (vouched !== null && 'not' in vouched) {
            if (vouched.not !== null) {
              left.push(`a copy staged on ${p.host.name} for ${home.name} is not moved: ${vouched.not}`);
            }
            continue;
          }
          const size = vouched?.size ?? p.listed;
          const there = await home.node.stat(target);
          if (there === null) {
            const copied = await copyObject(p.host, p.path, home, target, size);
            if (copied.sent !== copied.stored)
              throw new Error(`${home.name} stored ${copied.stored} of ${copied.sent} bytes`);
            // What was found against an object of that name there before went with it.
            await damage.forget([{ location: home.id, path: target }]);
          } else if ((await digestOf(home, target, there.size)) !== (await digestOf(p.host, p.path, size))) {
            await damage.record([{ location: home.id, path: target }]);
            conflicts.push(`${home.name} holds other bytes under ${target} than the copy staged on ${p.host.name}`);
            continue;
          }
          await damage.moved({ location: p.host.id, path: p.path }, { location: home.id, path: target });
          await p.host.node.delete(p.path);
          moved++;
        } catch (err) {
          left.push(`a shard copy for ${home.name} stays on ${p.host.name}: ${(err as Error).message}`);
        }
      }
    }),
  );
  return { moved, left, conflicts };
}

/** Where in a shard's header (docs/FORMAT.md, "Shard header") its file id is. */
const HEADER_FILE_ID_AT = 4 + 1 + ID_BYTES;

/**
 * What a trusted record says a staged copy is, when the vault is unlocked: the shard of a file
 * in the head whose manifest names the copy's object with its home among the shard's
 * locations, and whose header the copy starts with; `size` is the shard's, as the manifest
 * records it. `not`: it is not moved, and why in words, or null when no record names it at
 * all (a put of another device this one has not seen yet, or garbage repair collects; and
 * what a hostile location would write). null: locked, nothing can be read.
 */
async function vouch(
  vault: Vault,
  p: { readonly host: Location; readonly home: Location; readonly path: string; readonly object: string },
  manifests: Map<string, Promise<Manifest>>,
): Promise<{ size: number } | { not: string | null } | null> {
  if (!vault.unlocked) return null;
  const header = await p.host.node.readRange(p.path, 0, SHARD_HEADER_BYTES);
  const unknown = { not: null };
  if (header.length < SHARD_HEADER_BYTES) return unknown;
  const fileId = Buffer.from(header.subarray(HEADER_FILE_ID_AT, HEADER_FILE_ID_AT + ID_BYTES)).toString('hex');
  const file = vault.head().files.find((f) => f.id === fileId);
  if (!file) return unknown;
  // files.ts moves staged copies (completeAway) and reads manifests: imported when needed.
  const { fetchManifest, headersOf } = await import('./files');
  if (!manifests.has(file.id)) manifests.set(file.id, fetchManifest(vault, file));
  const m = await manifests.get(file.id)!;
  const shard = m.shards.find((s) => s.object === p.object && s.locations.includes(p.home.id));
  if (!shard) return unknown;
  if (!equalBytes(header, headersOf(vault, m)[shard.index]!))
    return { not: `it is not shard ${shard.index} of ${file.name}` };
  return { size: shard.size };
}

/**
 * Streams an object from one location to another, hashing nothing: the bytes are moved as
 * they are, and no more than `max` of them (a source that sends more fails the move).
 */
async function copyObject(
  from: Location,
  path: string,
  to: Location,
  target: string,
  max: number,
): Promise<{ sent: number; stored: number }> {
  let sent = 0;
  const source = await from.node.get(path);
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      sent += chunk.length;
      if (sent > max) throw new Error(`${from.name} sent more than the ${max} bytes of ${path}`);
      yield chunk;
    }
  }
  const stored = await to.node.put(target, counted());
  return { sent, stored };
}

/** SHA-256 of an object, which may be no larger than `max` bytes (a location may send without end). */
async function digestOf(location: Location, path: string, max: number): Promise<string> {
  const hash = createHash('sha256');
  let read = 0;
  for await (const chunk of await location.node.get(path)) {
    read += chunk.length;
    if (read > max) throw new Error(`${location.name} sent more than the ${max} bytes of ${path}`);
    hash.update(chunk);
  }
  return hash.digest('hex');
}
