/**
 * Guarded files in the vault (docs/GUARD.md): the node locations as a guard, its setup, and
 * the KEK of a guarded file at put and at get. The engine layer (../guard) does the
 * cryptography; this file finds the nodes (the vault's `node` locations, pinned as the sealed
 * head records them), signs as this device (the one key every node location of this device
 * enrolled) and keeps the guard's public record in the sealed head.
 */
import { openWithNonce, sealWithNonce } from '../crypto/aead';
import { concat, equalBytes, fromHex, u32be, utf8, wipe } from '../crypto/bytes';
import { NEEDS_ENROLMENT } from '../../shared/words';
import { CorruptError, ShardvaultError, UsageError } from '../errors';
import type { HeadGuard } from '../format/head';
import type { Manifest, ManifestGuard } from '../format/manifest';
import { Coordinator, deviceSigner, type DeviceSigner, type GuardGroup } from '../guard/coordinator';
import { GuardRefusal } from '../guard/errors';
import {
  changeApprovalsNeeded,
  removalApprovalsNeeded,
  type Approval,
  type DeviceRemoval,
  type PolicyChange,
} from '../guard/request';
import { GuardFault } from '../guard/errors';
import { unwrap, type GuardTransport } from '../guard/transport';
import { ShardNodeClient } from '../storage/shardnode/client';
import { parseNodeSpec } from '../storage/shardnode/spec';
import { nodeGuardTransport } from './guard-transport';
import { judgeInfo } from './guard-status';
import { waitForApprovals } from './guard-requests';
import type { Vault } from './vault';

/** The inner wrap's AAD: "SVGK" ‖ vaultId ‖ fileId ‖ u32be(keyVersion) (docs/FORMAT.md). */
export const guardKeyAad = (vaultId: string, fileId: string, keyVersion: number): Uint8Array =>
  concat(utf8('SVGK'), fromHex(vaultId, 'vaultId', 16), fromHex(fileId, 'fileId', 16), u32be(keyVersion));

/** The inner wrap of a file key under its KEK: 12 + 32 + 16 = 60 bytes. */
export const GUARDED_INNER_BYTES = 60;

export interface GuardSession {
  readonly coordinator: Coordinator;
  /** The nodes' guard endpoints as the coordinator calls them (guard-status.ts asks `info`). */
  readonly transport: GuardTransport;
  readonly device: DeviceSigner;
  readonly devicePublicKey: Uint8Array;
  close(): Promise<void>;
}

/** This device's signer and a client per node location (each pinned by its profile SPEC). */
export function session(vault: Vault, guard: HeadGuard | undefined): GuardSession {
  const nodes = vault.profileLocations().filter((l) => l.kind === 'node');
  if (nodes.length === 0)
    throw new UsageError('this vault has no node locations (shardvault node serve, then location add)');
  const credentials = vault.openedCredentials();
  const seeds = new Set<string>();
  const clients = new Map<string, ShardNodeClient>();
  for (const l of nodes) {
    const seed = credentials.get(l.id)?.deviceKey;
    if (!seed) continue; // needs sign-in on this device: unreachable for the guard
    seeds.add(seed);
    const { address } = parseNodeSpec(l.spec);
    const member = guard?.members.find((m) => m.location === l.id);
    if (member !== undefined && member.pin !== address.fingerprint)
      throw new ShardvaultError(
        'corrupt',
        `${l.name}: its pin differs from the one the sealed head records for the guard`,
      );
    clients.set(l.id, new ShardNodeClient({ address, deviceKey: seed, enrolCode: null, timeoutMs: 15_000 }));
  }
  if (seeds.size === 0)
    throw new UsageError(
      `${NEEDS_ENROLMENT.word}: no node location of this vault is enrolled on this device; ${NEEDS_ENROLMENT.explanation}`,
    );
  if (seeds.size > 1)
    throw new UsageError(
      'the node locations of this device were enrolled with different device keys (added before guarded files); ' +
        'remove and add them again',
    );
  const device = deviceSigner(new Uint8Array(Buffer.from([...seeds][0]!, 'base64url')));
  const transport = nodeGuardTransport((id) => clients.get(id));
  const coordinator = new Coordinator(transport, device, vault.vaultId);
  return {
    coordinator,
    transport,
    device,
    devicePublicKey: device.publicKey,
    async close() {
      await Promise.allSettled([...clients.values()].map((c) => c.close()));
    },
  };
}

/**
 * The Coordinator's view of the head's guard. A member still to commit a re-sharing the head
 * records (guard-reshare.ts) is left out: it would answer from its old share.
 */
export function groupOf(vaultId: string, g: HeadGuard): GuardGroup {
  const waiting = new Set(g.reshare?.commit ?? []);
  return {
    vaultId,
    epoch: g.epoch,
    threshold: g.threshold,
    groupKey: g.groupKey,
    commitments: g.commitments,
    members: g.members
      .filter((m) => !waiting.has(m.location))
      .map((m) => ({
        index: m.index,
        identityKey: m.identityKey,
        publicShare: m.publicShare,
        nodeId: m.location,
      })),
  };
}

export const locationName = (vault: Vault, id: string): string =>
  vault.profileLocations().find((l) => l.id === id)?.name ?? id;

/** The node ids in a message replaced by the locations' names. */
export function named(vault: Vault, text: string): string {
  let out = text;
  for (const l of vault.profileLocations()) out = out.split(l.id).join(l.name);
  return out;
}

export interface GuardSetupResult {
  readonly threshold: number;
  readonly nodes: readonly string[];
  /** Node losses a guarded file survives: nodes − G. */
  readonly survives: number;
  readonly warnings: readonly string[];
}

/**
 * `guard setup --threshold G`: a DKG over every node location (all must answer); the sealed
 * head then records P, G, the commitments, the first policy and each node. Refused while a
 * guarded file exists (its KEK is bound to the key it would replace).
 */
export async function guardSetup(
  vault: Vault,
  threshold: number,
  isGuarded: (m: Manifest) => boolean,
  manifests: () => Promise<Manifest[]>,
): Promise<GuardSetupResult> {
  if (!Number.isInteger(threshold) || threshold < 2) throw new UsageError('--threshold G: G is at least 2');
  const nodeCount = vault.profileLocations().filter((l) => l.kind === 'node').length;
  return vault.audited('guard', { detail: `guard setup: G = ${threshold} of ${nodeCount} nodes` }, () =>
    setUpGuard(vault, threshold, isGuarded, manifests),
  );
}

async function setUpGuard(
  vault: Vault,
  threshold: number,
  isGuarded: (m: Manifest) => boolean,
  manifests: () => Promise<Manifest[]>,
): Promise<GuardSetupResult> {
  const head = vault.head();
  if (head.guard !== undefined && (await manifests()).some(isGuarded))
    throw new UsageError('guarded files exist: a new guard setup would lock them out; remove them first');
  const nodes = vault.profileLocations().filter((l) => l.kind === 'node');
  if (nodes.length < threshold)
    throw new UsageError(
      `--threshold ${threshold} needs at least ${threshold} node locations; this vault has ${nodes.length}`,
    );
  const s = session(vault, undefined);
  try {
    const members = await Promise.all(
      nodes.map(async (l) => {
        try {
          return { nodeId: l.id, identityKey: await s.coordinator.identityOf(l.id) };
        } catch (err) {
          throw new ShardvaultError(
            'unavailable',
            `${l.name} did not answer: ${(err as Error).message}; every node must`,
          );
        }
      }),
    );
    const epoch = (head.guard?.epoch ?? 0) + 1;
    let group: GuardGroup;
    try {
      group = await s.coordinator.run(s.coordinator.planSetup(members, threshold, epoch), members);
    } catch (err) {
      if (err instanceof GuardFault)
        throw new ShardvaultError('corrupt', `guard setup aborted: ${named(vault, err.message)}`);
      throw new ShardvaultError(
        (err as ShardvaultError).code ?? 'unavailable',
        `guard setup aborted: ${named(vault, (err as Error).message)}`,
      );
    }
    const record: HeadGuard = {
      epoch,
      threshold,
      groupKey: group.groupKey,
      commitments: group.commitments,
      approvals: 0,
      guardians: [s.devicePublicKey],
      policyVersion: 1,
      members: group.members.map((m) => ({
        location: m.nodeId,
        index: m.index,
        publicShare: m.publicShare,
        identityKey: m.identityKey,
        pin: parseNodeSpec(nodes.find((l) => l.id === m.nodeId)!.spec).address.fingerprint,
      })),
    };
    await vault.commit((h) => ({ ...h, guard: record }));
    const survives = nodes.length - threshold;
    const x = vault.policySurvives();
    const warnings =
      survives < x
        ? [
            `a guarded file survives losing ${survives} of the ${nodes.length} nodes, fewer than the ${x} ` +
              `locations the vault survives: with fewer than ${threshold} nodes left, guarded files cannot be opened`,
          ]
        : [];
    return { threshold, nodes: nodes.map((l) => l.name), survives, warnings };
  } finally {
    await s.close();
  }
}

/**
 * Before a put: the guard key P the sealed head names must be the nodes'. The head is sealed
 * under the vault key, which the passphrase gives, so a thief who can write the locations could
 * name a P' it knows, and every file put under it would open without the nodes. P must be the
 * constant term of the head's commitments, and G nodes, reached by the pins in this device's
 * profile, must each answer with the public share the commitments give at its index: G points
 * fix the polynomial of degree G − 1, so P is the one the nodes' shares make.
 */
async function confirmGuardKey(vault: Vault, s: GuardSession, g: HeadGuard): Promise<void> {
  const refuse = (why: string): ShardvaultError =>
    new ShardvaultError(
      'corrupt',
      `the guard key the sealed head names is not the nodes' (${why}): no guarded file is put under it`,
    );
  if (!equalBytes(g.groupKey, g.commitments[0]!)) throw refuse('it is not its commitments’ constant term');
  const waiting = new Set(g.reshare?.commit ?? []);
  const asked = g.members.filter((m) => !waiting.has(m.location));
  const judged = await Promise.all(
    asked.map(async (m) => {
      try {
        return judgeInfo(unwrap(m.location, await s.transport.call(m.location, 'info', {})), vault.vaultId, g, m);
      } catch (err) {
        return { shareVerified: false, problem: (err as Error).message };
      }
    }),
  );
  const confirmed = judged.filter((j) => j.shareVerified === true).length;
  if (confirmed < g.threshold) {
    const why = asked
      .map((m, i) =>
        judged[i]!.shareVerified === true ? '' : `${locationName(vault, m.location)}: ${judged[i]!.problem}`,
      )
      .filter(Boolean)
      .join('; ');
    throw refuse(`${confirmed} of the ${g.threshold} nodes it needs confirm it; ${why}`);
  }
}

/**
 * At put: R and its KEK for a new guarded file, R registered with every node, and the file key
 * wrapped under the KEK (the inner wrap; the caller wraps it again as any file key).
 */
export async function guardFileKey(
  vault: Vault,
  fileId: string,
  keyVersion: number,
  fileKey: Uint8Array,
): Promise<{ inner: Uint8Array; guard: ManifestGuard; missed: readonly string[] }> {
  const g = vault.head().guard;
  if (g === undefined)
    throw new UsageError('this vault has no guard yet: run shardvault guard setup --threshold G first');
  const s = session(vault, g);
  try {
    await confirmGuardKey(vault, s, g);
    const { point, kek, missed } = await s.coordinator.register(groupOf(vault.vaultId, g), fileId, keyVersion);
    try {
      const inner = sealWithNonce(kek, fileKey, guardKeyAad(vault.vaultId, fileId, keyVersion));
      return {
        inner,
        guard: { point, epoch: g.epoch, keyVersion },
        missed: missed.map((id) => locationName(vault, id)),
      };
    } finally {
      wipe(kek);
    }
  } catch (err) {
    if (err instanceof ShardvaultError) throw new ShardvaultError(err.code, named(vault, err.message));
    throw err;
  } finally {
    await s.close();
  }
}

export interface GuardOpening {
  /** The file key (the inner wrap opened). */
  readonly fileKey: Uint8Array;
  readonly used: readonly string[];
  readonly liars: readonly string[];
  readonly unreachable: readonly string[];
}

export interface ApprovalWait {
  /** Seconds to wait for guardian approvals when the policy asks for them (default 300). */
  readonly wait?: number;
  /** Progress for the user ("1 of 2 approvals"). */
  readonly say?: (line: string) => void;
  /** The same progress as numbers (the app's progress event). */
  readonly counted?: (approvals: number, needed: number) => void;
}

/**
 * At get: asks G nodes for the KEK of a guarded manifest and opens the inner wrap. When the
 * nodes want guardian approvals, the request is published on the locations (guard-requests.ts)
 * and this waits for them up to `wait` seconds, then fails with code `approval` (exit 7).
 */
export async function openGuardedKey(
  vault: Vault,
  m: Manifest,
  inner: Uint8Array,
  waiting: ApprovalWait = {},
): Promise<GuardOpening> {
  const g = vault.head().guard;
  const mg = m.guard;
  if (mg === undefined) throw new TypeError('openGuardedKey: not a guarded manifest');
  if (g === undefined || g.epoch !== mg.epoch)
    throw new ShardvaultError(
      'corrupt',
      `${m.name} is guarded under guard epoch ${mg.epoch}, which this vault's head does not hold`,
    );
  const s = session(vault, g);
  try {
    let opened;
    const file = { fileId: m.fileId, version: mg.keyVersion, point: mg.point };
    const group = groupOf(vault.vaultId, g);
    // The combined KEK is accepted when it opens the inner wrap (AES-GCM, bound to this file
    // and version): the nodes' proofs are then checked only if it does not (coordinator.ts).
    let fileKey: Uint8Array | undefined;
    const aad = guardKeyAad(vault.vaultId, m.fileId, mg.keyVersion);
    const accept = (kek: Uint8Array): boolean => {
      try {
        fileKey = openWithNonce(kek, inner, aad, 'guarded file key');
        return true;
      } catch (err) {
        if (err instanceof CorruptError) return false;
        throw err;
      }
    };
    try {
      const request = s.coordinator.newRequest(file);
      try {
        opened = await s.coordinator.open(group, request, [], accept);
      } catch (err) {
        if (!(err instanceof GuardRefusal && err.reason === 'approvals')) throw err;
        const approvals = await waitForApprovals(vault, m, request, g, waiting);
        opened = await s.coordinator.open(group, s.coordinator.newRequest(file, request.requestId), approvals, accept);
      }
    } catch (err) {
      if (err instanceof ShardvaultError && err.code === 'approval') throw err;
      const why = named(vault, (err as Error).message);
      throw new ShardvaultError(
        (err as ShardvaultError).code ?? 'unavailable',
        `${m.name} is guarded: it opens with ${g.threshold} of the vault's ${g.members.length} nodes; ${why}`,
      );
    }
    wipe(opened.kek);
    if (fileKey === undefined) throw new TypeError('openGuardedKey: the opening returned a key it did not accept');
    return {
      fileKey,
      used: opened.used.map((id) => locationName(vault, id)),
      liars: opened.liars.map((id) => locationName(vault, id)),
      unreachable: opened.unreachable.map((id) => locationName(vault, id)),
    };
  } finally {
    await s.close();
  }
}

/**
 * `guard policy --approvals g`: every node of the guard takes the new g (the guardians stay);
 * the head records it. Needs the current policy's approvals (`gather`).
 */
export async function guardPolicy(
  vault: Vault,
  approvals: number,
  gather: (change: PolicyChange) => Promise<readonly Approval[]>,
): Promise<{ approvals: number; guardians: number }> {
  const g = vault.head().guard;
  if (g === undefined)
    throw new UsageError('this vault has no guard yet: run shardvault guard setup --threshold G first');
  if (!Number.isInteger(approvals) || approvals < 0 || approvals > g.guardians.length)
    throw new UsageError(`--approvals g: 0 to the ${g.guardians.length} guardians`);
  await vault.audited('guard', { detail: `guard policy: ${g.approvals} -> ${approvals} approvals per opening` }, () =>
    changeGuardPolicy(vault, g.guardians, approvals, gather),
  );
  return { approvals, guardians: g.guardians.length };
}

/** A device's guard key as `guard status` and `requests` show it: base64url of 32 bytes. */
export function readDeviceKey(text: string): Uint8Array {
  const bytes = /^[A-Za-z0-9_-]{43}$/.test(text) ? Buffer.from(text, 'base64url') : undefined;
  if (bytes === undefined || bytes.length !== 32)
    throw new UsageError(
      `${text.slice(0, 60)}: a device key is 43 base64url characters (as \`shardvault guard status\` shows it)`,
    );
  return new Uint8Array(bytes);
}

export const deviceKeyText = (key: Uint8Array): string => Buffer.from(key).toString('base64url');

/**
 * `guard guardian add|remove DEVICE`: a signed policy change every node must take; it needs
 * the current policy's g approvals (`gather` collects them from the guardians, guard-requests.ts).
 * The head records the new guardians once every node took them.
 */
export async function guardGuardians(
  vault: Vault,
  op: 'add' | 'remove',
  device: Uint8Array,
  gather: (change: PolicyChange) => Promise<readonly Approval[]>,
): Promise<{ guardians: number; approvals: number }> {
  const g = vault.head().guard;
  if (g === undefined)
    throw new UsageError('this vault has no guard yet: run shardvault guard setup --threshold G first');
  const has = g.guardians.some((k) => equalBytes(k, device));
  if (op === 'add' && has) throw new UsageError('that device is a guardian already');
  if (op === 'remove' && !has) throw new UsageError('that device is not a guardian');
  const guardians = op === 'add' ? [...g.guardians, device] : g.guardians.filter((k) => !equalBytes(k, device));
  if (guardians.length === 0) throw new UsageError('the guard needs at least one guardian');
  if (guardians.length < g.approvals)
    throw new UsageError(
      `the policy asks for ${g.approvals} approvals: it needs at least that many guardians (guard policy --approvals first)`,
    );
  await vault.audited('guard', { detail: `guard guardian ${op} ${deviceKeyText(device).slice(0, 10)}…` }, () =>
    changeGuardPolicy(vault, guardians, g.approvals, gather),
  );
  return { guardians: guardians.length, approvals: g.approvals };
}

/** Sends a policy change (with the current policy's approvals) to every node, then records it. */
async function changeGuardPolicy(
  vault: Vault,
  guardians: readonly Uint8Array[],
  approvals: number,
  gather: (change: PolicyChange) => Promise<readonly Approval[]>,
): Promise<void> {
  const g = vault.head().guard!;
  if (g.reshare !== undefined)
    throw new ShardvaultError(
      'unavailable',
      'a re-sharing is not confirmed by every node yet: run guard reshare first',
    );
  const s = session(vault, g);
  try {
    const change = s.coordinator.newPolicyChange(guardians, approvals, g.policyVersion + 1);
    const given = changeApprovalsNeeded(g, change.deviceKey) > 0 ? await gather(change) : [];
    try {
      await s.coordinator.changePolicy(groupOf(vault.vaultId, g), change, given);
    } catch (err) {
      if (err instanceof ShardvaultError && err.code === 'approval') throw err;
      throw new ShardvaultError((err as ShardvaultError).code ?? 'unavailable', named(vault, (err as Error).message));
    }
    await vault.commit((h) => ({
      ...h,
      guard: { ...h.guard!, guardians, approvals, policyVersion: g.policyVersion + 1 },
    }));
  } finally {
    await s.close();
  }
}

export interface DeviceRemovalResult {
  /** The nodes that dropped the key. */
  readonly removed: readonly string[];
  /** The nodes that took the removal but had not enrolled the key. */
  readonly notEnrolled: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * `guard device remove DEVICE`: a signed removal of a device key (a lost laptop), sent to every
 * node of the guard; each drops the key from its enrolled devices and refuses it from then on,
 * storage and guard calls alike. Removing another device needs the approvals a change of the
 * guard needs (`gather`), removing this device itself none. A guardian's key is refused: it
 * leaves the guardians first (guard guardian remove), since a guardian approves whether its key
 * is enrolled or not. Fails (code unavailable) naming the nodes that did not take it: run it
 * again once they answer; the nodes that took it refuse the key already.
 */
export async function guardRemoveDevice(
  vault: Vault,
  device: Uint8Array,
  gather: (removal: DeviceRemoval) => Promise<readonly Approval[]>,
): Promise<DeviceRemovalResult> {
  const g = vault.head().guard;
  if (g === undefined)
    throw new UsageError('this vault has no guard yet: run shardvault guard setup --threshold G first');
  if (g.guardians.some((k) => equalBytes(k, device)))
    throw new UsageError(
      'that device is a guardian: remove it from the guardians first (shardvault guard guardian remove DEVICE)',
    );
  return vault.audited('guard', { detail: `guard device remove ${deviceKeyText(device).slice(0, 10)}…` }, () =>
    removeDevice(vault, g, device, gather),
  );
}

async function removeDevice(
  vault: Vault,
  g: HeadGuard,
  device: Uint8Array,
  gather: (removal: DeviceRemoval) => Promise<readonly Approval[]>,
): Promise<DeviceRemovalResult> {
  const s = session(vault, g);
  try {
    const removal = s.coordinator.newDeviceRemoval(device);
    const given = removalApprovalsNeeded(g, removal) > 0 ? await gather(removal) : [];
    const members = g.members.map((m) => m.location);
    const { done, failed } = await s.coordinator.removeDevice(members, removal, given);
    const names = (ids: readonly string[]): string[] => ids.map((id) => locationName(vault, id));
    if (failed.length > 0) {
      const why = failed.map((f) => `${locationName(vault, f.nodeId)}: ${named(vault, f.error.message)}`).join('; ');
      const refusal = failed.find((f) => f.error instanceof GuardRefusal)?.error as GuardRefusal | undefined;
      throw new ShardvaultError(
        done.length === 0 && refusal !== undefined ? refusal.code : 'unavailable',
        (done.length > 0 ? `removed at ${names(done.map((d) => d.nodeId)).join(', ')}; ` : '') +
          `not at ${failed.length} of the guard's ${members.length} nodes (${why}): run it again once they answer`,
      );
    }
    const inGuard = new Set(members);
    const outside = vault.profileLocations().filter((l) => l.kind === 'node' && !inGuard.has(l.id));
    return {
      removed: names(done.filter((d) => d.removed).map((d) => d.nodeId)),
      notEnrolled: names(done.filter((d) => !d.removed).map((d) => d.nodeId)),
      warnings: outside.map(
        (l) => `${l.name} is not a node of the guard: it keeps the key (guard reshare takes it in; then remove again)`,
      ),
    };
  } finally {
    await s.close();
  }
}
