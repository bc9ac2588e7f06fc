/**
 * Merging vault heads written by different devices.
 *
 * Passive storage has no compare-and-swap: two machines that read head N at the same moment
 * both write head N + 1, and on each location the last write wins. So every device also
 * keeps its own copy of the head it last committed (`heads/<device id>`, written by it alone),
 * and a reader merges the shared head with every device's copy. A change one device
 * committed is then never lost to another device's concurrent write.
 *
 * Every reader that holds the same heads computes the same vault, whatever order it read them
 * in (and merging a head with itself changes nothing). Where no two files share a name, the
 * merge is also associative: a join of the heads' files and tombstones.
 *   - files: every entry of every head, less those named by any tombstone (every removal and
 *     every replaced version leaves a tombstone, so a merge never brings a removed file
 *     back); two different files under one name (two devices stored the same name at once):
 *     the later `created` wins, ties by id, and the other is reported and tombstoned; one file
 *     under two names (two devices moved it at once): the higher version wins, the other is
 *     reported and tombstoned, and a name it won is held again without it;
 *   - tombstones: the union;
 *   - audit anchors: per device, the highest sequence number;
 *   - counter and time: the highest;
 *   - key generation, policy, locations and keys: those of the head with the highest
 *     generation (then counter, then time): a re-deal is one device's act.
 */
import type { FileRef, Head, LogAnchor } from '../format/head';

export interface Merged {
  readonly head: Head;
  /** Files that lost their name to another device's file stored under it at the same time. */
  readonly shadowed: readonly FileRef[];
}

const key = (f: { readonly id: string; readonly version: number }): string => `${f.id}:${f.version}`;

function newer(a: Head, b: Head, content: (h: Head) => string): number {
  return (
    b.generation - a.generation ||
    b.counter - a.counter ||
    byCodeUnits(b.updated, a.updated) ||
    // Last, any fixed order, so that every reader picks the same base from the same heads.
    byCodeUnits(content(b), content(a))
  );
}

/** Plain code-unit order: localeCompare depends on the process's locale, and every reader must agree. */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function contentOf(h: Head): string {
  return JSON.stringify([h.generation, h.dealId, h.policy, h.locations, h.files, h.tombstones, h.guard ?? null]);
}

/** Whether `a` wins the name over `b`. */
function wins(a: FileRef, b: FileRef): boolean {
  return a.created !== b.created ? a.created > b.created : a.id !== b.id ? a.id > b.id : a.version > b.version;
}

/** An entry: a version of a file under one name (two names at one version are two entries). */
const entryKey = (f: FileRef): string => `${key(f)}:${f.name}`;

/** Two different files under one name: the later `created` wins, ties by id, then version. */
function namedOnce(entries: readonly FileRef[]): Map<string, FileRef> {
  const byName = new Map<string, FileRef>();
  for (const f of entries) {
    const holder = byName.get(f.name);
    if (!holder || (key(holder) !== key(f) && wins(f, holder))) byName.set(f.name, f);
  }
  return byName;
}

/**
 * One file, one name. Two devices that moved one file at the same moment each hold a live
 * version of it over the same shards; were both kept, removing one would delete the shards
 * the other still names. The higher version is kept (then the greater name); the others
 * leave `byName` and are returned (by entryKey). Two names at one version (a version both
 * chose, which freshManifestVersion makes unlikely) can't be told apart by tombstone: the
 * lesser name is only left out, which every reader does alike.
 */
function oneNamePerFile(byName: Map<string, FileRef>): Set<string> {
  const byId = new Map<string, FileRef>();
  const dropped = new Set<string>();
  for (const f of [...byName.values()].sort((a, b) => byCodeUnits(a.name, b.name))) {
    const held = byId.get(f.id);
    if (!held) {
      byId.set(f.id, f);
      continue;
    }
    const [keep, drop] =
      f.version > held.version || (f.version === held.version && f.name > held.name) ? [f, held] : [held, f];
    byId.set(f.id, keep);
    byName.delete(drop.name);
    dropped.add(entryKey(drop));
  }
  return dropped;
}

export function mergeHeads(heads: readonly Head[]): Merged {
  if (heads.length === 0) throw new RangeError('mergeHeads needs at least one head');
  // A head's content is compared only between heads that tie on everything else, and then
  // stringified once (a head of many files is megabytes of JSON).
  const contents = new Map<Head, string>();
  const content = (h: Head): string => {
    let c = contents.get(h);
    if (c === undefined) contents.set(h, (c = contentOf(h)));
    return c;
  };
  const ordered = [...heads].sort((a, b) => newer(a, b, content));
  const base = ordered[0]!;

  const tombstones = new Map<string, { id: string; version: number }>();
  for (const h of ordered) for (const t of h.tombstones) if (!tombstones.has(key(t))) tombstones.set(key(t), t);

  // Every live entry, from every head (a file listed by several heads comes several times).
  const live = ordered.flatMap((h) => h.files.filter((f) => !tombstones.has(key(f))));
  let candidates = live;
  let byName: Map<string, FileRef>;
  for (;;) {
    byName = namedOnce(candidates);
    const dropped = oneNamePerFile(byName);
    if (dropped.size === 0) break;
    // A version left out for its file's other name gives up its own name too: the names it
    // won are held again among the rest. Otherwise a file that lost its name only to that
    // version would be tombstoned for nothing (a move at the same moment as another move of
    // the other file). Each round leaves out at least one entry, so this ends; the result
    // depends only on the entries, not on the heads' order.
    candidates = candidates.filter((f) => !dropped.has(entryKey(f)));
  }
  const kept = new Set([...byName.values()].map(key));
  // Every entry that lost (its name, or to another version of its file) is reported once.
  const shadowed = new Map<string, FileRef>();
  for (const f of live) if (!kept.has(key(f)) && !shadowed.has(key(f))) shadowed.set(key(f), f);

  const anchors = new Map<string, LogAnchor>();
  for (const h of ordered) {
    for (const a of h.logAnchors) {
      const held = anchors.get(a.device);
      if (!held || a.seq > held.seq) anchors.set(a.device, a);
    }
  }

  const at = new Map<string, number>();
  base.files.forEach((f, i) => {
    if (!at.has(key(f))) at.set(key(f), i);
  });
  const rank = (f: FileRef): number => at.get(key(f)) ?? base.files.length;
  const head: Head = {
    ...base,
    counter: Math.max(...ordered.map((h) => h.counter)),
    updated: ordered.map((h) => h.updated).reduce((a, b) => (b > a ? b : a)),
    // The base head's order first, then what only other heads hold, oldest first.
    files: [...byName.values()].sort((a, b) => rank(a) - rank(b) || byCodeUnits(a.created, b.created)),
    // A file that lost its name is tombstoned too: once a device writes this merge, the file
    // stays out even if the winner is removed later (its remover never saw the loser listed).
    tombstones: [...tombstones.values(), ...[...shadowed.values()].map(({ id, version }) => ({ id, version }))],
    logAnchors: [...anchors.values()],
  };
  return { head, shadowed: [...shadowed.values()] };
}

/** Whether two heads say the same about the vault (counters, times and audit anchors aside). */
export function sameContent(a: Head, b: Head): boolean {
  return contentOf(a) === contentOf(b);
}
