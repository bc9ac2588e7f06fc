/**
 * The app side of the guard: runs key generation and re-sharing across custodians, registers a
 * guarded file's point at put, and opens by asking G custodians for partial decryptions. It
 * trusts no node's word: the group key and every public share P_i come from the commitments it
 * checked itself (dkg.ts groupInfo); every partial must carry a DLEQ proof against that P_i; a
 * node whose proof fails is named as lying and another node is asked instead.
 */
import { randomBytes } from 'node:crypto';
import { toHex, fromBase64, wipe } from '../crypto/bytes';
import { ed25519Sign, ed25519PublicKey } from '../crypto/signing';
import { CorruptError, OfflineError, ShardvaultError } from '../errors';
import {
  checkConfirmations,
  checkDealing,
  checkRound1,
  checkSession,
  groupInfo,
  judgeComplaint,
  sessionHash,
  transcriptHash,
  type Complaint,
  type Confirmation,
  type DkgSession,
  type GroupInfo,
  type GuardPolicy,
  type Member,
  type Round1,
  type Round2,
} from './dkg';
import { dkgAuthorizationMessage } from './custodian';
import { verifyProof, GUARD_CONTEXT } from './dleq';
import { GuardFault, GuardRefusal } from './errors';
import { decodePoint, interpreted, type Point } from './group';
import { combinePartials, deriveKek, newFilePoint } from './kek';
import {
  approvalDigest,
  changeApprovalDigest,
  policyMessage,
  registrationMessage,
  removalMessage,
  requestMessage,
  APPROVAL_MAX_MS,
  type AccessRequest,
  type Approval,
  type DeviceRemoval,
  type PolicyChange,
} from './request';
import { INFO_FIELDS, unwrap, type GuardMethod, type GuardTransport } from './transport';
import {
  approvalToJson,
  policyChangeToJson,
  readComplaint,
  readConfirmation,
  readRound1,
  readRound2,
  registrationToJson,
  removalToJson,
  requestToJson,
  round1ToJson,
  round2ToJson,
  confirmationToJson,
  sessionToJson,
  WireReader,
  type Json,
} from './wire';

/** A device's Ed25519 key: signs its requests (sealed like location credentials in the profile). */
export interface DeviceSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export function deviceSigner(seed: Uint8Array): DeviceSigner {
  return { publicKey: ed25519PublicKey(seed), sign: (message) => ed25519Sign(seed, message) };
}

/** A node as the app knows it: its id (the location id) and its pinned identity key. */
export interface GuardNode {
  readonly nodeId: string;
  readonly identityKey: Uint8Array;
}

/** What the sealed head keeps of the guard (P, G, and per node its index, P_i, identity key). */
export interface GuardGroup extends GroupInfo {
  readonly members: readonly (Member & { readonly publicShare: Uint8Array; readonly nodeId: string })[];
}

export interface OpenResult {
  readonly kek: Uint8Array;
  /** The nodes whose partials were combined. */
  readonly used: readonly string[];
  /** Nodes whose partial failed its proof: they lied. */
  readonly liars: readonly string[];
  /** Nodes that refused, with their reason; nodes that could not be reached. */
  readonly refused: readonly { readonly nodeId: string; readonly error: GuardRefusal }[];
  readonly unreachable: readonly string[];
}

const newId = (): string => randomBytes(16).toString('hex');

export class Coordinator {
  private readonly now: () => number;

  constructor(
    private readonly transport: GuardTransport,
    private readonly device: DeviceSigner,
    readonly vaultId: string,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  private call(nodeId: string, method: GuardMethod, body: Json): Promise<Json> {
    return this.transport.call(nodeId, method, body).then((answer) => unwrap(nodeId, answer));
  }

  // ---- key generation ----------------------------------------------------------------------

  /** A new setup: every node deals and receives; G = threshold; the device becomes the first guardian. */
  planSetup(nodes: readonly GuardNode[], threshold: number, epoch = 1): DkgSession {
    const members = nodes.map((n, i) => ({ index: i + 1, identityKey: n.identityKey }));
    const session = {
      vaultId: this.vaultId,
      setupId: newId(),
      epoch,
      threshold,
      dealers: members,
      receivers: members,
      deviceKey: this.device.publicKey,
    };
    checkSession(session);
    return session;
  }

  /**
   * A re-sharing of `group` to `nodes` (indices 1..n in that order) keeping P: `dealers` are
   * old members (at least the old G) that deal their weighted shares; `policy` is the one the
   * head records (old nodes refuse another, new nodes take it).
   */
  planReshare(
    group: GuardGroup,
    dealers: readonly string[],
    nodes: readonly GuardNode[],
    threshold: number,
    policy: GuardPolicy,
  ): DkgSession {
    const session: DkgSession = {
      vaultId: this.vaultId,
      setupId: newId(),
      epoch: group.epoch,
      threshold,
      dealers: dealers.map((id) => {
        const m = group.members.find((x) => x.nodeId === id);
        if (m === undefined) throw new RangeError(`${id} is not a node of the group`);
        return { index: m.index, identityKey: m.identityKey };
      }),
      receivers: nodes.map((n, i) => ({ index: i + 1, identityKey: n.identityKey })),
      previous: {
        threshold: group.threshold,
        groupKey: group.groupKey,
        publicShares: group.members.map((m) => ({ index: m.index, publicShare: m.publicShare })),
        policy,
      },
      deviceKey: this.device.publicKey,
    };
    checkSession(session);
    return session;
  }

  /**
   * Runs a planned session to the end. `nodes` maps every participant's identity key to its
   * node id; `approvals` are the guardians' approvals of a re-sharing (changeApprovalDigest over
   * the session hash), needed by nodes that hold a share when the policy asks for them.
   * Any failed check throws GuardFault naming the node at fault; nothing is kept anywhere then.
   */
  async run(
    session: DkgSession,
    nodes: readonly GuardNode[],
    approvals: readonly Approval[] = [],
  ): Promise<GuardGroup> {
    const idOf = new Map(nodes.map((n) => [toHex(n.identityKey), n.nodeId]));
    const named = <T>(work: () => Promise<T>): Promise<T> =>
      work().catch((error: unknown) => {
        if (error instanceof GuardFault && idOf.has(error.culprit))
          throw new GuardFault(idOf.get(error.culprit)!, error.detail);
        throw error;
      });
    return named(async () => {
      const sid = sessionHash(session);
      const nodeOf = (m: { identityKey: Uint8Array }): string => {
        const id = idOf.get(toHex(m.identityKey));
        if (id === undefined) throw new RangeError('a participant without a node id');
        return id;
      };
      const all = [
        ...new Map([...session.dealers, ...session.receivers].map((m) => [toHex(m.identityKey), m])).values(),
      ];
      const everyone = async <T>(
        list: readonly Member[],
        method: GuardMethod,
        body: Json,
        read: (v: Json, id: string) => T,
      ): Promise<T[]> =>
        Promise.all(
          list.map(async (m) => {
            const id = nodeOf(m);
            try {
              return read(await this.call(id, method, body), id);
            } catch (error) {
              if (error instanceof OfflineError)
                throw new ShardvaultError('unavailable', `${id} cannot be reached: every node must take part`);
              throw error;
            }
          }),
        );
      const reader = (id: string): WireReader => new WireReader(`${id} answer`);

      const round1 = await everyone(
        all,
        'dkg-round1',
        {
          session: sessionToJson(session),
          authorization: Buffer.from(this.device.sign(dkgAuthorizationMessage(sid))).toString('base64'),
          approvals: approvals.map(approvalToJson),
        },
        (v, id) => readRound1(reader(id), v, 'round1'),
      );
      sameSender(round1, all, idOf);
      const first = checkRound1(session, round1);

      const round2 = await everyone(
        session.dealers,
        'dkg-round2',
        { setupId: session.setupId, round1: round1.map(round1ToJson) },
        (v, id) => readRound2(reader(id), v, 'round2'),
      );
      sameSender(round2, session.dealers, idOf);
      const dealings = round2.map((m) => checkDealing(session, first, m));
      const group = groupInfo(session, dealings);
      const transcript = transcriptHash(sid, round1, round2);

      const answers = await everyone(
        session.receivers,
        'dkg-round3',
        { setupId: session.setupId, round1: round1.map(round1ToJson), round2: round2.map(round2ToJson) },
        (v, id): { confirmation?: Confirmation; complaint?: Complaint } => {
          const r = reader(id);
          const complains = typeof v === 'object' && v !== null && 'complaint' in v;
          const o = r.object(v, 'round3', [complains ? 'complaint' : 'confirmation']);
          return complains
            ? { complaint: readComplaint(r, o.complaint, 'complaint') }
            : { confirmation: readConfirmation(r, o.confirmation, 'confirmation') };
        },
      );
      for (const a of answers) {
        if (a.complaint !== undefined) {
          const culprit = judgeComplaint(session, round1, round2, a.complaint);
          const accused = toHex(culprit) === toHex(a.complaint.identityKey);
          throw new GuardFault(
            idOf.get(toHex(culprit)) ?? toHex(culprit),
            accused
              ? 'complained of a share that matches its commitments'
              : 'sent a share that does not match its commitments',
          );
        }
      }
      const confirmations = answers.map((a) => a.confirmation!);
      checkConfirmations(session, transcript, group.groupKey, confirmations);

      await everyone(
        all,
        'dkg-finish',
        {
          setupId: session.setupId,
          round2: round2.map(round2ToJson),
          confirmations: confirmations.map(confirmationToJson),
        },
        () => undefined,
      );
      return { ...group, members: group.members.map((m) => ({ ...m, nodeId: nodeOf(m) })) };
    });
  }

  /**
   * After a re-sharing ran and the app recorded the new set durably: each node in `nodeIds`
   * puts its staged share in use (or retires its old one). Returns the nodes that confirmed;
   * the others keep their old state until asked again (their ids stay in the head's record).
   * `refused`: those of `failed` that answered with a refusal (the session is not staged there,
   * or the policy changed since): asking again will not help, a new re-sharing will.
   */
  async commit(
    setupId: string,
    nodeIds: readonly string[],
  ): Promise<{ done: string[]; failed: string[]; refused: string[] }> {
    const results = await Promise.allSettled(nodeIds.map((id) => this.call(id, 'dkg-commit', { setupId })));
    return {
      done: nodeIds.filter((_, i) => results[i]!.status === 'fulfilled'),
      failed: nodeIds.filter((_, i) => results[i]!.status === 'rejected'),
      refused: nodeIds.filter((_, i) => {
        const r = results[i]!;
        return r.status === 'rejected' && r.reason instanceof GuardRefusal;
      }),
    };
  }

  /** The approval a guardian gives to a re-sharing session. */
  static approveSession(guardian: DeviceSigner, session: DkgSession, expiry: number): Approval {
    const digest = changeApprovalDigest(
      session.vaultId,
      session.setupId,
      session.deviceKey,
      sessionHash(session),
      expiry,
    );
    return { guardianKey: guardian.publicKey, expiry, signature: guardian.sign(digest) };
  }

  // ---- guarded files -----------------------------------------------------------------------

  /**
   * At put: draws R and its KEK, and registers (fileId, version, R) with every node. Needs at
   * least G registrations (a node that missed it cannot help open this file); returns the nodes
   * that did not take it.
   */
  async register(
    group: GuardGroup,
    fileId: string,
    version: number,
  ): Promise<{ point: Uint8Array; kek: Uint8Array; missed: readonly string[] }> {
    const { point, kek } = newFilePoint(group, { vaultId: this.vaultId, fileId, version });
    try {
      const missed = await this.registerPoint(group, { fileId, version, point });
      return { point, kek, missed };
    } catch (error) {
      kek.fill(0);
      throw error;
    }
  }

  /**
   * Registers an existing file's point with `nodes` (default: every node of the group): after a
   * re-sharing, with the nodes that joined, so they can help open files put before. A node
   * that holds the point already counts as registered. Throws when fewer than G of the group
   * hold it afterwards.
   */
  async registerPoint(
    group: GuardGroup,
    file: { fileId: string; version: number; point: Uint8Array },
    nodes: readonly string[] = group.members.map((m) => m.nodeId),
  ): Promise<string[]> {
    const fields = {
      vaultId: this.vaultId,
      ...file,
      nonce: new Uint8Array(randomBytes(16)),
      time: this.now(),
      deviceKey: this.device.publicKey,
    };
    const body: Json = {
      registration: registrationToJson({ ...fields, signature: this.device.sign(registrationMessage(fields)) }),
    };
    const results = await Promise.allSettled(nodes.map((id) => this.call(id, 'register', body)));
    const refusal = (r: PromiseSettledResult<Json>): unknown => (r.status === 'rejected' ? r.reason : undefined);
    const held = (r: PromiseSettledResult<Json>): boolean =>
      r.status === 'fulfilled' ||
      (refusal(r) instanceof GuardRefusal && (refusal(r) as GuardRefusal).reason === 'duplicate');
    const missed = nodes.filter((_, i) => !held(results[i]!));
    const holding = group.members.length - missed.length;
    if (holding < group.threshold) {
      const first = results.map(refusal).find((e) => e !== undefined);
      if (first instanceof GuardRefusal) throw first;
      throw new ShardvaultError('unavailable', `only ${holding} of ${group.threshold} nodes registered the file`);
    }
    return missed;
  }

  /** A signed request to open one guarded file (the same request id may be signed again later). */
  newRequest(file: { fileId: string; version: number; point: Uint8Array }, requestId = newId()): AccessRequest {
    const fields = {
      vaultId: this.vaultId,
      requestId,
      fileId: file.fileId,
      version: file.version,
      point: file.point,
      nonce: new Uint8Array(randomBytes(16)),
      time: this.now(),
      deviceKey: this.device.publicKey,
    };
    return { ...fields, signature: this.device.sign(requestMessage(fields)) };
  }

  /** A guardian's approval of a request, lasting `lifetime` ms (at most 15 minutes). */
  static approve(guardian: DeviceSigner, request: AccessRequest, expiry: number): Approval {
    return { guardianKey: guardian.publicKey, expiry, signature: guardian.sign(approvalDigest(request, expiry)) };
  }

  static readonly APPROVAL_MAX_MS = APPROVAL_MAX_MS;

  /**
   * Opens: asks G nodes at once for partials, combines G good ones by Lagrange interpolation
   * in the exponent and derives the KEK. Throws when fewer than G are good: a
   * GuardRefusal('approvals') when approvals are what is missing, else 'unavailable'.
   *
   * Without `accept`, every partial's proof is checked against the P_i computed from the
   * commitments before it is combined; a node whose proof fails is named as lying and another
   * node is asked in its place.
   *
   * With `accept` (the caller's authenticated check of the KEK: it opens the file's inner key
   * wrap, AES-GCM under the KEK, or it does not), the first G well-formed partials are combined
   * at once and their proofs are checked only if `accept` refuses the result: a KEK that opens
   * the wrap is the right one whatever the proofs say (a wrong partial gives another KEK, and
   * no node can make a wrap it never saw open under it), so what the proofs add is which node
   * lied, and that is needed when the combination fails. Then every proof of that wave is
   * checked, liars are named and routed around as above, and the verified partials' KEK must
   * pass `accept` too (else the file's record, not a node, is at fault: CorruptError). This
   * takes the two cold proof checks off an opening's path (docs/GUARD.md, "Cost").
   */
  async open(
    group: GuardGroup,
    request: AccessRequest,
    approvals: readonly Approval[] = [],
    accept?: (kek: Uint8Array) => boolean,
  ): Promise<OpenResult> {
    const R = decodePoint(request.point, 'file point');
    const body: Json = { request: requestToJson(request), approvals: approvals.map(approvalToJson) };
    const good: Answer[] = [];
    const liars: string[] = [];
    const refused: { nodeId: string; error: GuardRefusal }[] = [];
    const unreachable: string[] = [];
    const untried = [...group.members];
    const shares = new PublicShares();
    // A proof checked against the P_i computed for its node: the answer is good, or it lied.
    const check = (m: GroupMember, answer: Answer): void => {
      if (interpreted(() => proofHolds(answer, shares.of(m), R))) good.push(answer);
      else liars.push(m.nodeId);
    };
    let optimistic = accept !== undefined;
    while (good.length < group.threshold && untried.length > 0) {
      const wave = untried.splice(0, group.threshold - good.length);
      const checking = !optimistic;
      optimistic = false;
      const unchecked: { member: GroupMember; answer: Answer }[] = [];
      const asked = wave.map(async (m) => {
        let value: Json;
        try {
          value = await this.call(m.nodeId, 'partial', body);
        } catch (error) {
          if (error instanceof GuardRefusal) refused.push({ nodeId: m.nodeId, error });
          else if (error instanceof GuardFault) liars.push(m.nodeId);
          else unreachable.push(m.nodeId);
          return;
        }
        const answer = readAnswer(m, value);
        if (answer === undefined) liars.push(m.nodeId);
        else if (checking) check(m, answer);
        else unchecked.push({ member: m, answer });
      });
      // The requests are written by now; while they travel, decode the public shares their
      // proofs are checked against (1 to 2 ms of CPU in a get, more in a process that never
      // ran the field code), off the path from the answers to the key.
      const early = checking ? setImmediate(() => wave.forEach((m) => shares.of(m))) : undefined;
      try {
        await Promise.all(asked);
      } finally {
        if (early !== undefined) clearImmediate(early);
      }
      if (checking) continue;
      if (unchecked.length === group.threshold) {
        const answers = unchecked.map((u) => u.answer);
        const kek = deriveKek(
          interpreted(() => combinePartials(answers)),
          request,
          group,
        );
        if (accept!(kek)) return { kek, used: answers.map((a) => a.nodeId), liars, refused, unreachable };
        wipe(kek);
      }
      // A node of the wave did not answer, or the combination did not open: check each proof.
      for (const { member, answer } of unchecked) check(member, answer);
    }
    if (good.length < group.threshold) {
      const approvalsMissing = refused.find((r) => r.error.reason === 'approvals');
      if (approvalsMissing !== undefined) throw approvalsMissing.error;
      const parts = [
        liars.length > 0 ? `lying: ${liars.join(', ')}` : '',
        refused.length > 0 ? `refused: ${refused.map((r) => `${r.nodeId} (${r.error.reason})`).join(', ')}` : '',
        unreachable.length > 0 ? `unreachable: ${unreachable.join(', ')}` : '',
      ].filter(Boolean);
      throw new ShardvaultError(
        'unavailable',
        `only ${good.length} of ${group.threshold} nodes answered (${parts.join('; ')})`,
      );
    }
    const chosen = good.slice(0, group.threshold);
    const shared = interpreted(() => combinePartials(chosen));
    const kek = deriveKek(shared, request, group);
    if (accept !== undefined && !accept(kek)) {
      wipe(kek);
      throw new CorruptError(
        `the partials of ${chosen.map((g) => g.nodeId).join(', ')} hold their proofs, but their key does not open this file's wrapped key: the file's record is damaged`,
      );
    }
    return { kek, used: chosen.map((g) => g.nodeId), liars, refused, unreachable };
  }

  // ---- policy and log ----------------------------------------------------------------------

  /** A signed change of the guardians and g (apply with `changePolicy` once approved). */
  newPolicyChange(guardians: readonly Uint8Array[], approvals: number, policyVersion: number): PolicyChange {
    const fields = {
      vaultId: this.vaultId,
      requestId: newId(),
      guardians,
      approvals,
      policyVersion,
      nonce: new Uint8Array(randomBytes(16)),
      time: this.now(),
      deviceKey: this.device.publicKey,
    };
    return { ...fields, signature: this.device.sign(policyMessage(fields)) };
  }

  static approveChange(guardian: DeviceSigner, change: PolicyChange, expiry: number): Approval {
    const digest = changeApprovalDigest(
      change.vaultId,
      change.requestId,
      change.deviceKey,
      policyMessage(change),
      expiry,
    );
    return { guardianKey: guardian.publicKey, expiry, signature: guardian.sign(digest) };
  }

  /** Sends a policy change to every node; all must take it, else the nodes disagree (reported). */
  async changePolicy(group: GuardGroup, change: PolicyChange, approvals: readonly Approval[] = []): Promise<void> {
    const body: Json = { change: policyChangeToJson(change), approvals: approvals.map(approvalToJson) };
    const results = await Promise.allSettled(group.members.map((m) => this.call(m.nodeId, 'policy', body)));
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ nodeId: group.members[i]!.nodeId, error: r.reason as unknown }] : [],
    );
    if (failed.length > 0) {
      const first = failed[0]!.error;
      if (first instanceof ShardvaultError) throw first;
      throw new ShardvaultError('unavailable', `the policy did not reach ${failed.map((f) => f.nodeId).join(', ')}`);
    }
  }

  /** A signed removal of device key `device` from the nodes (apply with `removeDevice` once approved). */
  newDeviceRemoval(device: Uint8Array): DeviceRemoval {
    const fields = {
      vaultId: this.vaultId,
      requestId: newId(),
      device,
      nonce: new Uint8Array(randomBytes(16)),
      time: this.now(),
      deviceKey: this.device.publicKey,
    };
    return { ...fields, signature: this.device.sign(removalMessage(fields)) };
  }

  /**
   * Sends a device removal to each of `nodeIds`: which took it (and whether the key was enrolled
   * there), and which did not (unreachable, or refused: their errors).
   */
  async removeDevice(
    nodeIds: readonly string[],
    removal: DeviceRemoval,
    approvals: readonly Approval[] = [],
  ): Promise<{ done: { nodeId: string; removed: boolean }[]; failed: { nodeId: string; error: Error }[] }> {
    const body: Json = { removal: removalToJson(removal), approvals: approvals.map(approvalToJson) };
    const results = await Promise.allSettled(
      nodeIds.map(async (nodeId) => {
        const r = new WireReader(`${nodeId} device-remove`);
        const o = r.object(await this.call(nodeId, 'device-remove', body), 'answer', ['removed']);
        if (typeof o.removed !== 'boolean') r.fail('removed', 'must be true or false');
        return { nodeId, removed: o.removed as boolean };
      }),
    );
    return {
      done: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
      failed: results.flatMap((r, i) =>
        r.status === 'rejected' ? [{ nodeId: nodeIds[i]!, error: r.reason as Error }] : [],
      ),
    };
  }

  /** The identity key a node says it has (to pin at enrolment; the node server also shows it). */
  async identityOf(nodeId: string): Promise<Uint8Array> {
    const r = new WireReader(`${nodeId} info`);
    const o = r.object(await this.call(nodeId, 'info', {}), 'info', INFO_FIELDS);
    return fromBase64(r.string(o.identityKey, 'identityKey', 44), 'identityKey', 32);
  }
}

type GroupMember = GuardGroup['members'][number];

/** One node's well-formed answer to `partial`: its index, Z_i and its proof, not yet checked. */
interface Answer {
  readonly nodeId: string;
  readonly index: number;
  readonly partial: Point;
  readonly proof: Uint8Array;
}

/**
 * A node's answer read strictly: the index asked for, Z_i a valid group element (not the
 * identity), a 64-byte proof; undefined (the node lied) otherwise.
 */
function readAnswer(member: GroupMember, value: Json): Answer | undefined {
  try {
    const r = new WireReader(`${member.nodeId} partial`);
    const o = r.object(value, 'partial', ['index', 'partial', 'proof']);
    if (r.int(o.index, 'index', 1, 255) !== member.index) return undefined;
    const partial = interpreted(() => decodePoint(r.bytes(o.partial, 'partial', 32), 'partial'));
    return { nodeId: member.nodeId, index: member.index, partial, proof: r.bytes(o.proof, 'proof', 64) };
  } catch {
    return undefined;
  }
}

/**
 * Whether an answer's proof holds against the P_i the app computed (`Pi`, decoded from the
 * head's record; undefined if that did not decode: no proof holds then).
 */
function proofHolds(answer: Answer, Pi: Point | undefined, R: Point): boolean {
  return Pi !== undefined && verifyProof(GUARD_CONTEXT, Pi, [R], [answer.partial], answer.proof);
}

/** The members' public shares P_i of one opening, each decoded once, when first needed. */
class PublicShares {
  private readonly decoded = new Map<number, Point | undefined>();

  of(member: GuardGroup['members'][number]): Point | undefined {
    if (!this.decoded.has(member.index)) {
      let Pi: Point | undefined;
      try {
        Pi = interpreted(() => decodePoint(member.publicShare, 'public share'));
      } catch {
        Pi = undefined;
      }
      this.decoded.set(member.index, Pi);
    }
    return this.decoded.get(member.index);
  }
}

/** Each answer must come from the node asked: a node answering with another's message is at fault. */
function sameSender(
  messages: readonly { identityKey: Uint8Array }[],
  asked: readonly Member[],
  idOf: Map<string, string>,
): void {
  messages.forEach((m, i) => {
    const expected = toHex(asked[i]!.identityKey);
    if (toHex(m.identityKey) !== expected) {
      throw new GuardFault(idOf.get(expected) ?? expected, 'answered with a message signed as another node');
    }
  });
}

export type { Round1, Round2 };
