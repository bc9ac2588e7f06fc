/**
 * The guard when the vault's node set changes (docs/GUARD.md, "Re-sharing"): `location add`
 * of a node, `location remove` of one, or `guard reshare`, re-share s among the new set keeping
 * P, so guarded files need no rewrite. Crash-safe in three steps:
 *
 * 1. the DKG re-sharing runs; each node only stages its new share (or its retirement);
 * 2. the sealed head records the new set, with `guard.reshare` naming the nodes yet to commit
 *    and the joiners yet to register the points of the files put before;
 * 3. each node is told to commit (its old share is overwritten), each joiner registers every
 *    guarded file's point; `guard.reshare` goes once all of it is done.
 *
 * Cut short before 2, the old set works as before (nothing switched); after 2, any later
 * `guard reshare` (or the next change of the node set, or a put) finishes 3, and until then a
 * node that has not committed is left out of openings (it would answer from its old share).
 */
import { equalBytes } from '../crypto/bytes';
import { ShardvaultError, UsageError } from '../errors';
import type { HeadGuard, HeadGuardReshare } from '../format/head';
import type { GuardNode } from '../guard/coordinator';
import { GuardFault } from '../guard/errors';
import { changeApprovalsNeeded } from '../guard/request';
import { parseNodeSpec } from '../storage/shardnode/spec';
import { fetchManifest } from './files';
import { groupOf, locationName, named, session, type ApprovalWait, type GuardSession } from './guard';
import { waitForChangeApprovals } from './guard-requests';
import type { Vault } from './vault';
import { storedFiles } from './packs';

export interface ReshareResult {
  /** The guard's nodes afterwards, by location name. */
  readonly nodes: readonly string[];
  readonly joined: readonly string[];
  readonly left: readonly string[];
  readonly threshold: number;
  /** Nodes that lose more than nodes − G: the guard survives losing this many. */
  readonly survives: number;
  readonly warnings: readonly string[];
}

const nameOf = locationName;

/**
 * Step 3 of a re-sharing the head records (none: nothing to do). Returns what is still left
 * (also recorded in the head) as warnings, and the nodes that refused their commit (`refused`:
 * the session is not staged there, e.g. overwritten by an older version, or the policy changed
 * since): asking them again will not help; reshareOnce deals them a fresh share instead.
 */
export async function settleReshare(
  vault: Vault,
  open?: GuardSession,
): Promise<{ warnings: string[]; refused: string[] }> {
  const g = vault.head().guard;
  const pending = g?.reshare;
  if (g === undefined || pending === undefined) return { warnings: [], refused: [] };
  const s = open ?? session(vault, g);
  try {
    // A leaving node whose location is gone from the vault cannot be asked any more.
    const known = new Set(vault.profileLocations().map((l) => l.id));
    const gone = pending.commit.filter((id) => !known.has(id) && !g.members.some((m) => m.location === id));
    const { failed, refused } = await s.coordinator.commit(
      pending.setupId,
      pending.commit.filter((id) => !gone.includes(id)),
    );
    const group = groupOf(vault.vaultId, { ...g, reshare: { ...pending, commit: failed } });
    const guarded: { fileId: string; version: number; point: Uint8Array }[] = [];
    if (pending.register.length > 0) {
      for (const f of storedFiles(vault.head())) {
        const m = await fetchManifest(vault, f);
        if (m.guard !== undefined && m.guard.epoch === g.epoch)
          guarded.push({ fileId: m.fileId, version: m.guard.keyVersion, point: m.guard.point });
      }
    }
    const unregistered = new Set<string>();
    for (const id of pending.register) {
      if (failed.includes(id)) {
        unregistered.add(id);
        continue;
      }
      for (const file of guarded) {
        const missed = await s.coordinator.registerPoint(group, file, [id]).catch(() => [id]);
        if (missed.length > 0) {
          unregistered.add(id);
          break;
        }
      }
    }
    const left: HeadGuardReshare = { ...pending, commit: failed, register: [...unregistered] };
    const done = left.commit.length === 0 && left.register.length === 0;
    await vault.commit((h) => {
      if (h.guard === undefined) return h;
      const { reshare: _, ...rest } = h.guard;
      return { ...h, guard: done ? rest : { ...rest, reshare: left } };
    });
    const warnings = [
      ...left.commit.map((id) =>
        refused.includes(id)
          ? `${nameOf(vault, id)} refused to switch to its new guard share (the re-sharing is not staged there): ` +
            'it is left out of openings until `shardvault guard reshare` deals it a fresh one'
          : `${nameOf(vault, id)} has not switched to its new guard share yet (unreachable): it is left out of ` +
            'openings until `shardvault guard reshare` reaches it',
      ),
      ...[...unregistered].map(
        (id) =>
          `${nameOf(vault, id)} has not registered every guarded file yet: it cannot help open them until ` +
          '`shardvault guard reshare` reaches it',
      ),
    ];
    return { warnings, refused };
  } finally {
    if (open === undefined) await s.close();
  }
}

/** Another device changed the guard between this one's plan and its head commit. */
class GuardChanged extends Error {}

/** How often a re-sharing overtaken by another device's is planned again from the new head. */
const RESHARE_ATTEMPTS = 3;

/** The same re-sharing pending (or none in both). */
function sameReshare(a: HeadGuardReshare | undefined, b: HeadGuardReshare | undefined): boolean {
  const list = (x: readonly string[], y: readonly string[]): boolean =>
    x.length === y.length && x.every((v, i) => v === y[i]);
  if (a === undefined || b === undefined) return a === b;
  return a.setupId === b.setupId && list(a.commit, b.commit) && list(a.register, b.register);
}

/**
 * Whether the head's guard `now` is still the one `planned` from: the same members with the
 * same shares, commitments and policy, and the same re-sharing pending (a repair plans from a
 * head that records a stuck one), or none in both.
 */
export function sameGuard(planned: HeadGuard, now: HeadGuard | undefined): boolean {
  const same = (a: Uint8Array, b: Uint8Array): boolean => equalBytes(a, b);
  return (
    now !== undefined &&
    sameReshare(planned.reshare, now.reshare) &&
    now.epoch === planned.epoch &&
    now.policyVersion === planned.policyVersion &&
    now.commitments.length === planned.commitments.length &&
    now.commitments.every((c, i) => same(c, planned.commitments[i]!)) &&
    now.members.length === planned.members.length &&
    now.members.every((m, i) => {
      const p = planned.members[i]!;
      return m.location === p.location && m.index === p.index && same(m.publicShare, p.publicShare);
    })
  );
}

/**
 * Re-shares the guard's key among the node locations `target` (location ids), keeping P and
 * G. When the policy asks for approvals, the planned session is published for the guardians
 * and this waits for them (`waiting`, as an opening does; exit 7 without). Returns null when
 * the vault has no guard, or `target` is already its set (after finishing any re-sharing the
 * head records).
 *
 * Two devices may re-share at once: each node stages both sessions, and a device records its
 * new set in the head only if the head's guard is still the one it planned from. The one that
 * finds it changed leaves its staged session unused (the nodes drop it at the next commit) and
 * plans again from the new head, which often already is the set it wanted.
 */
export async function reshareGuard(
  vault: Vault,
  target: readonly string[],
  waiting: ApprovalWait = {},
): Promise<ReshareResult | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await reshareOnce(vault, target, waiting);
    } catch (err) {
      if (!(err instanceof GuardChanged)) throw err;
      if (attempt >= RESHARE_ATTEMPTS)
        throw new ShardvaultError(
          'busy',
          `another device changed the guard while this re-sharing ran, ${attempt} times: nothing changed ` +
            'by this one; run it again',
        );
      waiting.say?.('another device changed the guard meanwhile: planning the re-sharing again');
    }
  }
}

async function reshareOnce(
  vault: Vault,
  target: readonly string[],
  waiting: ApprovalWait,
): Promise<ReshareResult | null> {
  if (vault.head().guard === undefined) return null;
  const { warnings, refused } = await settleReshare(vault);
  const g = vault.head().guard!;
  const current = g.members.map((m) => m.location);
  const same = target.length === current.length && target.every((id) => current.includes(id));
  // A node that refuses to commit the re-sharing the head records never will: the members that
  // did commit deal a fresh re-sharing, to that node too (GUARD.md, "Re-sharing").
  const repair = g.reshare !== undefined && refused.length > 0;
  if (same && !repair) return null;
  if (g.reshare !== undefined && !repair)
    throw new ShardvaultError(
      'unavailable',
      `an earlier re-sharing is not confirmed by every node yet: ${warnings.join('; ')}`,
    );
  // Members yet to commit hold no share the head's commitments know: they do not deal.
  const uncommitted = new Set(g.reshare?.commit ?? []);
  if (target.length < g.threshold)
    throw new UsageError(
      `the guard needs at least ${g.threshold} nodes (G = ${g.threshold}); this would leave ${target.length}: ` +
        'guarded files could not be opened. Add a node first',
    );
  const profile = vault.profileLocations();
  for (const id of target)
    if (profile.find((l) => l.id === id)?.kind !== 'node') throw new TypeError(`reshareGuard: ${id} is not a node`);
  const s = session(vault, g);
  try {
    const group = groupOf(vault.vaultId, g);
    // Who answers: every old member is asked (a leaving one deals, so its share is retired);
    // its identity must be the one the head pinned. Every node of the new set must answer.
    const probe = async (id: string): Promise<Uint8Array | Error> =>
      s.coordinator.identityOf(id).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    const oldIds = g.members.map((m) => m.location);
    const joiners = target.filter((id) => !oldIds.includes(id));
    const answers = new Map<string, Uint8Array | Error>();
    await Promise.all([...new Set([...oldIds, ...target])].map(async (id) => answers.set(id, await probe(id))));
    for (const m of g.members) {
      const a = answers.get(m.location)!;
      if (a instanceof Uint8Array && !equalBytes(a, m.identityKey))
        throw new ShardvaultError(
          'corrupt',
          `${nameOf(vault, m.location)} answers with another identity key than the sealed head pinned for the guard`,
        );
    }
    for (const id of target) {
      const a = answers.get(id)!;
      if (a instanceof Error)
        throw new ShardvaultError(
          'unavailable',
          `${nameOf(vault, id)} did not answer (${named(vault, a.message)}): every node of the new guard set must`,
        );
    }
    const dealers = oldIds.filter((id) => answers.get(id) instanceof Uint8Array && !uncommitted.has(id));
    if (dealers.length < g.threshold)
      throw new ShardvaultError(
        'unavailable',
        `only ${dealers.length} of the guard's nodes answered` +
          (uncommitted.size > 0 ? ' (a node yet to switch to its share from the last re-sharing does not deal)' : '') +
          `; a re-sharing needs ${g.threshold} of them`,
      );
    const unreachableLeavers = oldIds.filter((id) => !target.includes(id) && !dealers.includes(id));
    // The new set: staying nodes in their order, then the joiners.
    const order = [...oldIds.filter((id) => target.includes(id)), ...joiners];
    const nodes: GuardNode[] = order.map((id) => ({ nodeId: id, identityKey: answers.get(id) as Uint8Array }));
    const participants: GuardNode[] = [
      ...nodes,
      ...dealers
        .filter((id) => !target.includes(id))
        .map((id) => ({
          nodeId: id,
          identityKey: answers.get(id) as Uint8Array,
        })),
    ];
    const policy = { guardians: g.guardians, approvals: g.approvals, policyVersion: g.policyVersion };
    const plan = s.coordinator.planReshare(group, dealers, nodes, g.threshold, policy);
    const approvals =
      changeApprovalsNeeded(g, plan.deviceKey) > 0
        ? await waitForChangeApprovals(
            vault,
            { kind: 'reshare', session: plan, time: Date.now() },
            'guard re-sharing',
            waiting,
          )
        : [];
    let next;
    try {
      next = await s.coordinator.run(plan, participants, approvals);
    } catch (err) {
      if (err instanceof GuardFault)
        throw new ShardvaultError('corrupt', `guard re-sharing aborted: ${named(vault, err.message)}`);
      throw new ShardvaultError(
        (err as ShardvaultError).code ?? 'unavailable',
        `guard re-sharing aborted (the old set still holds the key): ${named(vault, (err as Error).message)}`,
      );
    }
    if (!equalBytes(next.groupKey, g.groupKey)) throw new ShardvaultError('corrupt', 'the re-sharing changed P');
    const pins = new Map(
      profile.map((l) => [l.id, l.kind === 'node' ? parseNodeSpec(l.spec).address.fingerprint : '']),
    );
    const record: HeadGuard = {
      ...g,
      commitments: next.commitments,
      members: next.members.map((m) => ({
        location: m.nodeId,
        index: m.index,
        publicShare: m.publicShare,
        identityKey: m.identityKey,
        pin: pins.get(m.nodeId)!,
      })),
      reshare: {
        setupId: plan.setupId,
        commit: participants.map((p) => p.nodeId),
        // A joiner of the stuck re-sharing has not registered the files put before either.
        register: [...new Set([...joiners, ...(g.reshare?.register ?? []).filter((id) => target.includes(id))])],
      },
    };
    // Step 2: the head is the commit point, if no other device changed the guard meanwhile
    // (its re-sharing won: this session stays staged, unused, until the next commit drops it).
    await vault.commit((h) => {
      if (!sameGuard(g, h.guard)) throw new GuardChanged();
      return { ...h, guard: record };
    });
    const left = (await settleReshare(vault, s)).warnings;
    const survives = order.length - g.threshold;
    return {
      nodes: order.map((id) => nameOf(vault, id)),
      joined: joiners.map((id) => nameOf(vault, id)),
      left: oldIds.filter((id) => !target.includes(id)).map((id) => nameOf(vault, id)),
      threshold: g.threshold,
      survives,
      warnings: [
        ...left,
        ...unreachableLeavers.map(
          (id) =>
            `${nameOf(vault, id)} could not be reached: its old guard share is not deleted, but no longer ` +
            'combines with any share in use',
        ),
        ...(survives < vault.policySurvives()
          ? [
              `a guarded file survives losing ${survives} of the ${order.length} nodes, fewer than the ` +
                `${vault.policySurvives()} locations the vault survives`,
            ]
          : []),
      ],
    };
  } finally {
    await s.close();
  }
}

/** The vault's node locations now, in profile order: the set `guard reshare` brings the guard to. */
export const nodeLocationIds = (vault: Vault): string[] =>
  vault
    .profileLocations()
    .filter((l) => l.kind === 'node')
    .map((l) => l.id);

/**
 * `guard reshare` (and the app's "Re-share now"): the guard brought to the vault's node
 * locations as they are, or a re-sharing the head records finished; logged in the access log.
 */
export function reshareNow(vault: Vault, waiting: ApprovalWait = {}): Promise<ReshareResult | null> {
  const target = nodeLocationIds(vault);
  return vault.audited(
    'guard',
    { detail: `guard re-sharing to ${target.map((id) => nameOf(vault, id)).join(', ')}` },
    (used) => {
      for (const id of target) used.add(nameOf(vault, id));
      return reshareGuard(vault, target, waiting);
    },
  );
}

/**
 * A re-sharing that `location add` or `location remove` made, as its own `guard` entry of the
 * access log beside the location change's (best effort: the change is made already).
 */
export async function logReshare(vault: Vault, result: ReshareResult | null): Promise<void> {
  if (result === null) return;
  await vault
    .audit({
      action: 'guard',
      file: null,
      detail: `guard re-sharing to ${result.nodes.join(', ')}`,
      outcome: 'ok',
      locations: [...result.nodes],
    })
    .catch(() => undefined);
}
