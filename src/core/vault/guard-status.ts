/**
 * The guard as the app shows it (docs/GUARD.md): each node location's health (its index, its
 * public share checked against the guard's commitments, the length of its request log), the
 * guard's numbers for the dashboard, and the pending access requests a guardian answers.
 *
 * Nothing a node says is taken on its word: the public share it answers with must be the P_i
 * this device computes from the commitments the sealed head holds (and the head's own record
 * of P_i), and its identity key the one the head pinned. A node that answers otherwise is
 * shown as not verified, with the reason.
 */
import type { GuardRequest, GuardStatus, NodeHealth } from '../../shared/api';
import { NEEDS_ENROLMENT } from '../../shared/words';
import { equalBytes } from '../crypto/bytes';
import type { HeadGuard, HeadGuardMember } from '../format/head';
import { decodePoint, encodePoint, evalCommitments } from '../guard/group';
import { INFO_FIELDS, unwrap } from '../guard/transport';
import { MAX_DEVICES, WireReader } from '../guard/wire';
import { answerRequest, listRequests, type PendingRequest } from './guard-requests';
import { groupOf, locationName, session, type GuardSession } from './guard';
import { guardHasNews } from './status';
import type { Vault } from './vault';

const NOT_ENROLLED = `${NEEDS_ENROLMENT.word}: ${NEEDS_ENROLMENT.explanation}`;

/** The node locations this device holds a device key for (enrolled with, here). */
function enrolledNodes(vault: Vault): Set<string> {
  const credentials = vault.openedCredentials();
  return new Set(
    vault
      .profileLocations()
      .filter((l) => l.kind === 'node' && !vault.needsSignIn(l.id) && credentials.get(l.id)?.deviceKey)
      .map((l) => l.id),
  );
}

/** A session when this device is enrolled with some node; null (and why) when not. */
function trySession(vault: Vault, guard: HeadGuard | undefined): { s: GuardSession | null; problem: string | null } {
  try {
    return { s: session(vault, guard), problem: null };
  } catch (err) {
    return { s: null, problem: (err as Error).message };
  }
}

/** A problem in words, bounded: part of it may be a node's own. */
const bounded = (text: string): string => (text.length > 300 ? `${text.slice(0, 299)}…` : text);

/**
 * A node's `info` answer judged against the sealed head: `member` is its record there
 * (undefined: not one of the guard's nodes). Its public share must be P_i computed here from
 * the guard's commitments, and the head's own P_i too; its identity key the one pinned.
 */
export function judgeInfo(
  value: unknown,
  vaultId: string,
  guard: HeadGuard | undefined,
  member: HeadGuardMember | undefined,
): NodeHealth {
  const index = member?.index ?? null;
  const r = new WireReader('node info');
  let o: Record<string, unknown>;
  try {
    o = r.object(value, 'info', INFO_FIELDS);
  } catch (err) {
    return {
      index,
      shareVerified: null,
      logLength: null,
      problem: bounded(`answered outside the protocol: ${(err as Error).message}`),
    };
  }
  let logLength: number | null = null;
  try {
    logLength = r.int(o.logLength, 'logLength', 0, Number.MAX_SAFE_INTEGER);
  } catch {
    // a node that cannot say how long its log is: shown as unknown
  }
  if (guard === undefined || member === undefined) return { index, shareVerified: null, logLength, problem: null };
  const mismatch = (problem: string): NodeHealth => ({
    index,
    shareVerified: false,
    logLength,
    problem: bounded(problem),
  });
  try {
    if (!equalBytes(r.bytes(o.identityKey, 'identityKey', 32), member.identityKey))
      return mismatch('answers with another identity key than the one the guard pinned');
    if (o.vaultId !== vaultId) return mismatch('holds a share of another vault, or none');
    const epoch = o.epoch === null ? null : r.int(o.epoch, 'epoch', 0, Number.MAX_SAFE_INTEGER);
    const said = o.index === null ? null : r.int(o.index, 'index', 0, Number.MAX_SAFE_INTEGER);
    if (epoch !== guard.epoch || said !== member.index)
      return mismatch(
        `holds share ${said ?? 'none'} of epoch ${epoch ?? 'none'}, not ${member.index} of ${guard.epoch}`,
      );
    if (o.publicShare === null) return mismatch('holds no key share');
    const expected = encodePoint(
      evalCommitments(
        guard.commitments.map((c, i) => decodePoint(c, `commitment ${i}`)),
        member.index,
      ),
    );
    const share = r.bytes(o.publicShare, 'publicShare', 32);
    if (!equalBytes(expected, member.publicShare) || !equalBytes(share, expected))
      return mismatch("its public share does not match the guard's commitments");
  } catch (err) {
    return mismatch(`answered outside the protocol: ${(err as Error).message}`);
  }
  return { index, shareVerified: true, logLength, problem: null };
}

/** One node's `info`, asked over this device's session and judged. */
async function askNode(
  s: GuardSession,
  vault: Vault,
  locationId: string,
  guard: HeadGuard | undefined,
): Promise<NodeHealth> {
  const member = guard?.members.find((m) => m.location === locationId);
  let value: unknown;
  try {
    value = unwrap(locationId, await s.transport.call(locationId, 'info', {}));
  } catch (err) {
    return {
      index: member?.index ?? null,
      shareVerified: null,
      logLength: null,
      problem: bounded(`did not answer: ${(err as Error).message}`),
    };
  }
  return judgeInfo(value, vault.vaultId, guard, member);
}

/**
 * Each node location's health (by location id) and the guard's status; both empty and null
 * while the vault is locked. Only the nodes `reachable` (the location check just made) are
 * asked, so a node that is away costs no second timeout.
 */
export async function guardHealth(
  vault: Vault,
  reachable: (locationId: string) => boolean,
): Promise<{ nodes: Map<string, NodeHealth>; guard: GuardStatus | null }> {
  const nodes = new Map<string, NodeHealth>();
  if (!guardHasNews(vault)) return { nodes, guard: null };
  const nodeLocations = vault.profileLocations().filter((l) => l.kind === 'node');
  const guard = vault.head().guard;
  const enrolled = enrolledNodes(vault);
  const { s, problem } = enrolled.size > 0 ? trySession(vault, guard) : { s: null, problem: NOT_ENROLLED };
  try {
    await Promise.all(
      nodeLocations.map(async (l) => {
        const index = guard?.members.find((m) => m.location === l.id)?.index ?? null;
        const unasked = (why: string | null): NodeHealth => ({
          index,
          shareVerified: null,
          logLength: null,
          problem: why,
        });
        if (!enrolled.has(l.id)) nodes.set(l.id, unasked(NOT_ENROLLED));
        else if (s === null) nodes.set(l.id, unasked(problem));
        else if (!reachable(l.id)) nodes.set(l.id, unasked(null));
        else nodes.set(l.id, await askNode(s, vault, l.id, guard));
      }),
    );
  } finally {
    await s?.close();
  }
  if (guard === undefined) return { nodes, guard: null };
  const members = guard.members.map((m) => m.location);
  const nodeIds = nodeLocations.map((l) => l.id);
  const key = (k: Uint8Array): string => Buffer.from(k).toString('base64url');
  return {
    nodes,
    guard: {
      threshold: guard.threshold,
      nodes: members.length,
      enrolled: members.filter((id) => enrolled.has(id)).length,
      ready: members.filter((id) => nodes.get(id)?.shareVerified === true).length,
      approvals: guard.approvals,
      guardians: guard.guardians.length,
      guardian: s !== null && guard.guardians.some((k) => equalBytes(k, s.devicePublicKey)),
      device: s === null ? null : key(s.devicePublicKey),
      guardianKeys: guard.guardians.map(key),
      reshare:
        guard.reshare !== undefined ||
        nodeIds.some((id) => !members.includes(id)) ||
        members.some((id) => !nodeIds.includes(id)),
    },
  };
}

/** This device's key for the guard (its node locations' device key), or null (none enrolled). */
function deviceKeyOf(vault: Vault): string | null {
  const { s } = enrolledNodes(vault).size > 0 ? trySession(vault, vault.head().guard) : { s: null };
  if (s === null) return null;
  const key = Buffer.from(s.devicePublicKey).toString('base64url');
  void s.close();
  return key;
}

function shown(vault: Vault, r: PendingRequest, me: string | null): GuardRequest {
  const guard = vault.head().guard;
  const name = (id: string): string => vault.profileLocations().find((l) => l.id === id)?.name ?? id;
  return {
    id: r.id,
    file: r.file,
    device: r.device,
    time: r.time,
    approvals: r.approvals,
    needed: r.needed,
    denied: r.denied,
    nodes: (guard?.members ?? []).map((m) => name(m.location)),
    mine: me !== null && r.deviceKey === me,
    deviceKey: r.deviceKey,
  };
}

/** The pending openings of guarded files (guard-requests.ts), as the Access requests screen lists them. */
export async function guardRequests(vault: Vault): Promise<GuardRequest[]> {
  const me = deviceKeyOf(vault);
  return (await listRequests(vault)).map((r) => shown(vault, r, me));
}

/** Approve or deny `id` as this device (a guardian). */
export async function answerGuardRequest(vault: Vault, id: string, approve: boolean): Promise<GuardRequest> {
  const answered = await answerRequest(vault, id, approve);
  return shown(vault, answered, deviceKeyOf(vault));
}

export interface GuardReport {
  readonly threshold: number;
  readonly approvals: number;
  readonly guardians: number;
  /** This device's guard key, and whether it is a guardian. */
  readonly device: string | null;
  readonly guardian: boolean;
  /** Each node of the guard: `reachable` when it answered with the share the head pins (the
   * dashboard's `shareVerified`); `problem` why not, in words, when known. */
  readonly nodes: readonly {
    readonly name: string;
    readonly reachable: boolean;
    readonly index: number;
    readonly problem: string | null;
  }[];
  /** Whether G nodes answer now: false means guarded files cannot be opened. */
  readonly canOpen: boolean;
  /** What to say plainly. */
  readonly words: readonly string[];
  /**
   * The device keys the reachable nodes say they enrolled (base64url), with the nodes that
   * list each: a lost device's key to give `guard device remove`. The nodes' word: a node could
   * leave one out, so a removal goes to every node, listed there or not.
   */
  readonly devices: readonly { readonly key: string; readonly nodes: readonly string[]; readonly guardian: boolean }[];
}

/** Each reachable node's `devices` answer, merged by key (a node that does not answer is left out). */
async function enrolledDevices(vault: Vault, g: HeadGuard): Promise<GuardReport['devices']> {
  const { s } = trySession(vault, g);
  if (s === null) return [];
  try {
    const listed = await Promise.all(
      g.members.map(async (m) => {
        try {
          const r = new WireReader(`${m.location} devices`);
          const o = r.object(unwrap(m.location, await s.transport.call(m.location, 'devices', {})), 'answer', [
            'devices',
          ]);
          return r.array(o.devices, 'devices', MAX_DEVICES).map((d, i) => {
            const x = r.object(d, `devices[${i}]`, ['key', 'enrolled']);
            return Buffer.from(r.bytes(x.key, `devices[${i}].key`, 32)).toString('base64url');
          });
        } catch {
          return [];
        }
      }),
    );
    const byKey = new Map<string, string[]>();
    listed.forEach((keys, i) => {
      for (const key of new Set(keys))
        byKey.set(key, [...(byKey.get(key) ?? []), locationName(vault, g.members[i]!.location)]);
    });
    const guardians = new Set(g.guardians.map((k) => Buffer.from(k).toString('base64url')));
    return [...byKey].map(([key, nodes]) => ({ key, nodes, guardian: guardians.has(key) }));
  } finally {
    await s.close();
  }
}

/**
 * `guard status`: each node of the guard, reachable or not, and whether guarded files open now.
 * The same asking and judging as the dashboard's (guardHealth), every node asked; a node still
 * to commit a re-sharing is not counted (openings leave it out).
 */
export async function guardStatus(vault: Vault): Promise<GuardReport | null> {
  const g = vault.head().guard;
  if (g === undefined) return null;
  const { nodes: health, guard: summary } = await guardHealth(vault, () => true);
  const inUse = new Set(groupOf(vault.vaultId, g).members.map((m) => m.nodeId));
  const nodes = g.members.map((m) => {
    const h = health.get(m.location);
    return {
      name: locationName(vault, m.location),
      reachable: inUse.has(m.location) && h?.shareVerified === true,
      index: m.index,
      problem: inUse.has(m.location) ? (h?.problem ?? null) : 'has not switched to its new share yet',
    };
  });
  const up = nodes.filter((n) => n.reachable).length;
  const canOpen = up >= g.threshold;
  const words = [
    canOpen
      ? `guarded files open with ${g.threshold} of the ${g.members.length} nodes; ${up} answer now`
      : `guarded files cannot be opened now: only ${up} of the ${g.members.length} nodes answer, and opening ` +
        `needs ${g.threshold}`,
    ...(g.members.length - g.threshold < vault.policySurvives()
      ? [
          `a guarded file survives losing ${g.members.length - g.threshold} nodes, fewer than the ` +
            `${vault.policySurvives()} locations the vault survives`,
        ]
      : []),
    ...(g.reshare !== undefined
      ? ['a re-sharing is not confirmed by every node yet: shardvault guard reshare finishes it']
      : []),
  ];
  return {
    threshold: g.threshold,
    approvals: g.approvals,
    guardians: g.guardians.length,
    device: summary?.device ?? null,
    guardian: summary?.guardian ?? false,
    nodes,
    canOpen,
    words,
    devices: await enrolledDevices(vault, g),
  };
}
