/**
 * The vault head of a session: reading every location's heads and merging them, committing a
 * change as the next head (sealed, to every reachable location), and the key pin that follows
 * a head sealed under the key (docs/FORMAT.md, "The vault head").
 */
import { plural } from '../../../shared/format';
import { NotFoundError, ShardvaultError } from '../../errors';
import { decodeHead, encodeHead, type Head } from '../../format/head';
import { isDeviceHeadName, MAX_HEAD_BYTES, PATHS } from '../../format/records';
import { sftpTarget } from '../../storage/open';
import { headSpec } from '../locations';
import { readObject } from '../../storage/node';
import { keyPin, type VaultKeys } from '../keys';
import { mergeHeads, sameContent } from '../merge';
import { domainField } from '../domains';
import { type ProfileLocation } from '../profile';
import { everywhere, headOf, nowIso, requireKeys, storeProfile, type Location, type VaultState } from './state';
import { policySurvives } from './survival';
import { audit } from './access-log';

/** The profile's locations with the domains a head gives them (status reads them while locked). */
export function domainsFromHead(locations: readonly ProfileLocation[], head: Head): ProfileLocation[] {
  return locations.map((l) => {
    const { domain: _old, ...rest } = l;
    return { ...rest, ...domainField(head.locations.find((e) => e.id === l.id)?.domain) };
  });
}

/** A location may list at most this many device heads; more is a lie, and the rest are left unread. */
const MAX_DEVICE_HEADS = 1024;

/** No reachable location holds a head that opens under the recovered vault key. */
export class NoHeadError extends ShardvaultError {
  constructor() {
    super('unavailable', 'no location holds a readable vault head');
  }
}

/** Locations whose shared vault head is missing, damaged, older than the current one, or lacks another device's change. */
export async function staleHeads(s: VaultState): Promise<Location[]> {
  const current = headOf(s);
  const stale = (shared: Head | null): boolean =>
    !shared || shared.counter < current.counter || !sameContent(shared, current);
  return (await readHeads(s)).filter((r) => stale(r.shared)).map((r) => r.location);
}

/** Pins the key this device now trusts, with the head's generation and threshold. */
export function pinKey(s: VaultState, pin: Uint8Array = keyPin(s.vk!, s.profile.vaultId)): void {
  const head = headOf(s);
  s.profile = {
    ...s.profile,
    keyPin: { key: pin, generation: head.generation, threshold: head.policy.threshold },
  };
}

/**
 * The vault as the reachable locations hold it: the shared head merged with every device's
 * own copy (vault/merge.ts), so a commit another device made at the same moment is not
 * lost. Refuses a vault older than this profile saw.
 */
export async function loadHead(s: VaultState): Promise<Head> {
  const heads = (await readHeads(s)).flatMap((r) => r.heads);
  if (heads.length === 0) throw new NoHeadError();
  const { head, shadowed } = mergeHeads(heads);
  for (const f of shadowed) {
    const kept = head.files.find((k) => k.id === f.id);
    s.options.onWarning?.(
      kept
        ? `${f.name}: two devices moved this file at the same time; it is kept as ${kept.name}`
        : `${f.name}: two devices stored this name at the same time; the later one is kept, the other ` +
            `(${f.size} bytes, stored ${f.created}) is no longer listed`,
    );
  }
  if (head.counter < s.profile.lastHeadCounter) {
    throw new ShardvaultError(
      'rollback',
      `the locations offer vault head ${head.counter}, older than ${s.profile.lastHeadCounter} which this device has seen: ` +
        'a location may be serving old data, or the newest heads are on unreachable locations',
    );
  }
  s.profile = {
    ...s.profile,
    lastHeadCounter: head.counter,
    policy: head.policy,
    locations: domainsFromHead(s.profile.locations, head),
  };
  return head;
}

/**
 * Every valid head on each reachable location: the shared one and each device's copy.
 * Damaged ones are warned about (except under a key rotation, where heads under the old
 * key are expected not to open) and left out.
 */
export async function readHeads(s: VaultState): Promise<{ location: Location; shared: Head | null; heads: Head[] }[]> {
  const keys = requireKeys(s);
  const vaultId = s.profile.vaultId;
  const warn = (l: Location, what: string, err: unknown): void => {
    if (err instanceof NotFoundError) return;
    if (err instanceof ShardvaultError && err.code === 'offline') return;
    if (s.rotating && err instanceof ShardvaultError && err.code === 'corrupt') return;
    s.options.onWarning?.(`${l.name}: ${what}: ${(err as Error).message}`);
  };
  /** A head and the bytes it took, or null (warned about) when it is missing or does not open. */
  const read = async (
    l: Location,
    path: string,
    maxBytes = MAX_HEAD_BYTES,
  ): Promise<{ head: Head; size: number } | null> => {
    try {
      const bytes = await readObject(l.node, path, maxBytes);
      return { head: decodeHead(bytes, keys.head, vaultId), size: bytes.length };
    } catch (err) {
      warn(l, path === PATHS.head ? 'vault head' : `device head ${path}`, err);
      if (err instanceof ShardvaultError && err.code === 'offline') throw err;
      return null;
    }
  };
  const found = await everywhere(s, async (l) => {
    const shared = await read(l, PATHS.head);
    // A device head is a copy of some head of this vault, so it is about the size of the
    // shared one: a location that lists many huge (or sparse) ones gets them skipped, not
    // read, and they are read one after another within a budget per location.
    const perHead = shared ? Math.min(MAX_HEAD_BYTES, Math.max(4 * shared.size, 4 << 20)) : MAX_HEAD_BYTES;
    let budget = 2 * MAX_HEAD_BYTES;
    const heads = shared ? [shared.head] : [];
    const listed = (await l.node.list(PATHS.headsDir))
      .filter((o) => isDeviceHeadName(o.path) && o.size <= perHead)
      .slice(0, MAX_DEVICE_HEADS);
    for (const o of listed) {
      if (o.size > budget) break;
      budget -= o.size;
      const copy = await read(l, o.path, perHead);
      if (copy) heads.push(copy.head);
    }
    return { location: l, shared: shared?.head ?? null, heads };
  });
  return found.flatMap((f) => (f.value ? [f.value] : []));
}

/**
 * Commits a change: the next head, anchoring this device's audit chain, written to every
 * reachable location. Committed once on at least X + 1 of them (X: losses the policy
 * survives), so any set of locations that can still unlock the vault sees it.
 */
export async function commit(s: VaultState, change: (head: Head) => Head): Promise<Head> {
  const keys = requireKeys(s);
  // The access request that causes this change is logged first, so the head anchors it.
  const pending = s.pending;
  if (pending && !pending.logged) {
    await audit(s, {
      action: pending.action,
      file: pending.file,
      detail: pending.detail,
      outcome: 'ok',
      locations: [...pending.used],
    });
    pending.logged = true;
  }
  // Another device may have committed since this one read the head (passive storage has
  // no lock across machines): the change is applied to the vault as the locations hold it
  // now. One that commits at the very same moment is not lost either: its own copy of its
  // head is merged by every reader (vault/merge.ts).
  let base = headOf(s);
  try {
    base = mergeHeads([base, await loadHead(s)]).head;
  } catch (err) {
    if (!(err instanceof NoHeadError)) throw err;
  }
  const next = await writeHead(s, withKnownAddresses(s, change(base)), base.counter + 1, keys);
  s.currentHead = next;
  s.profile = {
    ...s.profile,
    lastHeadCounter: next.counter,
    locations: domainsFromHead(s.profile.locations, next),
  };
  if (s.vk) pinKey(s);
  await storeProfile(s);
  return next;
}

/**
 * Fills in the address (`spec`) of head locations that have none yet (heads written before
 * version 3) from this profile, where it names the same place as the head and is usable: for
 * SFTP with its host key pinned. A location this profile learned from an older head's
 * display (a folder) adds only what that display says. So a vault made by an older version
 * tells new machines where its locations are after one commit.
 */
export function withKnownAddresses(s: VaultState, head: Head): Head {
  if (head.locations.every((l) => l.spec !== undefined)) return head;
  return {
    ...head,
    locations: head.locations.map((entry) => {
      const mine = s.profile.locations.find((l) => l.id === entry.id);
      if (entry.spec !== undefined || !mine || mine.needsSignIn) return entry;
      const known = headSpec({ ...entry, spec: mine.spec });
      if (known === null || (entry.kind === 'sftp' && !sftpTarget({ kind: 'sftp', spec: known })?.fingerprint))
        return entry;
      return { ...entry, spec: known };
    }),
  };
}

/** Writes `base` as head number `counter` (anchoring this device's audit chain) to every
 * reachable location, as the shared head and as this device's copy; committed once on at
 * least X + 1 of them. */
export async function writeHead(s: VaultState, base: Head, counter: number, keys: VaultKeys): Promise<Head> {
  const anchors = base.logAnchors.filter((a) => a.device !== s.profile.device.id);
  if (s.profile.logTip.seq > 0) anchors.push({ device: s.profile.device.id, ...s.profile.logTip });
  const next: Head = {
    ...base,
    counter,
    logAnchors: anchors,
    updated: nowIso(),
    // A version 1 head gains the vault KDF this profile has used all along.
    kdf: base.kdf ?? { params: s.profile.kdf, salt: s.profile.salt },
  };
  const bytes = encodeHead(next, keys.head);
  // This device's own copy first: no other device writes it, so a rival commit landing on
  // the shared head a moment later can't erase this change.
  const results = await everywhere(s, async (l) => {
    await l.node.put(PATHS.deviceHead(s.profile.device.id), bytes);
    return l.node.put(PATHS.head, bytes);
  });
  const ok = results.filter((r) => r.value !== undefined).length;
  const needed = Math.min(s.current.length, policySurvives(s) + 1);
  if (ok < needed) {
    throw new ShardvaultError(
      'unavailable',
      `the change reached ${plural(ok, 'location')}; ${needed} are needed to commit it (${results
        .filter((r) => r.error)
        .map((r) => `${r.location.name}: ${r.error!.message}`)
        .join('; ')})`,
    );
  }
  return next;
}
