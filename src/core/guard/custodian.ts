/**
 * The node side of the guard: holds one share s_i of the vault's guard key, sealed at rest,
 * and answers the calls of transport.ts. It trusts nothing it is sent: every body is read
 * strictly (wire.ts), every request must be signed by a device the node enrolled, fresh, not
 * replayed, about a point registered for that very file, and approved by g guardians when the
 * policy asks. Every decision on a signed request is appended to the request log.
 *
 * Transport-independent: the node server gives it a small store, its identity key, the key that
 * seals its state, and a way to ask whether a device is enrolled, and passes each RPC call to
 * `handle`. Calls that change state run one at a time.
 */
import { randomBytes } from 'node:crypto';
import { openWithNonce, sealWithNonce } from '../crypto/aead';
import { abytes, equalBytes, toBase64, toHex, utf8 } from '../crypto/bytes';
import { generateX25519, type X25519KeyPair } from '../crypto/sealed-box';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../crypto/signing';
import { CorruptError, ShardvaultError } from '../errors';
import {
  checkConfirmations,
  checkDealing,
  checkRound1,
  checkSession,
  commitmentHash,
  complaintMessage,
  confirmMessage,
  dealRound2,
  firstPolicy,
  groupInfo,
  newDealing,
  policyPossible,
  receiveShares,
  round1Message,
  round2Message,
  sessionHash,
  transcriptHash,
  type Dealing,
  type DkgSession,
  type GroupInfo,
  type GuardPolicy,
  type Member,
  type Round1,
  type Round2,
} from './dkg';
import { generateProof, GUARD_CONTEXT } from './dleq';
import { GuardFault, GuardRefusal, type RefusalReason } from './errors';
import {
  decodePoint,
  decodeScalar,
  encodePoint,
  encodeScalar,
  frame,
  lagrangeAtZero,
  mul,
  scalarMul,
  type Scalar,
} from './group';
import { nextEntry, LOG_KINDS, LOG_PAGE, type LogEntry, type LogKind } from './request-log';
import {
  approvalDigest,
  changeApprovalDigest,
  changeApprovalsNeeded,
  countApprovals,
  ENROL_REQUEST_MAX_MS,
  enrolMessage,
  policyMessage,
  registrationMessage,
  removalApprovalsNeeded,
  removalMessage,
  requestMessage,
  REQUEST_SKEW_MS,
  type Approval,
  type DeviceRemoval,
} from './request';
import { isGuardMethod, type GuardResponse } from './transport';
import {
  complaintToJson,
  confirmationToJson,
  readApprovals,
  readConfirmation,
  readEnrolRequest,
  readPolicyChange,
  readRegistration,
  readRemoval,
  readRequest,
  readRound1,
  readRound2,
  readSession,
  round1ToJson,
  round2ToJson,
  WireReader,
  MAX_DEVICES,
  MAX_GUARDIANS,
  type Json,
} from './wire';

/**
 * Where a custodian keeps its state. Names are short lowercase words and hex ([a-z0-9-],
 * at most 80 characters). `write` replaces the bytes under a name atomically (all or nothing)
 * and durably before it resolves, and may run for two names at once; `read` returns undefined
 * for a name never written. The custodian never deletes: retiring a share overwrites it.
 */
export interface GuardStore {
  read(name: string): Promise<Uint8Array | undefined>;
  write(name: string, bytes: Uint8Array): Promise<void>;
}

export interface CustodianOptions {
  readonly store: GuardStore;
  /** The node's Ed25519 identity key (32-byte seed): signs its DKG messages. */
  readonly identitySeed: Uint8Array;
  /** 32 bytes that seal everything the custodian writes (the node key, or one from --passphrase-file). */
  readonly sealKey: Uint8Array;
  /** Whether the node enrolled this device (Ed25519 public key). */
  readonly isEnrolled: (deviceKey: Uint8Array) => boolean | Promise<boolean>;
  /**
   * Drops this device from the node's enrolled devices, durably, before it resolves (a signed,
   * approved `device-remove`): from then on `isEnrolled` says no for it, and the node refuses
   * it for every request, storage as well as guard calls. Answers whether it was enrolled.
   */
  readonly removeDevice: (deviceKey: Uint8Array) => boolean | Promise<boolean>;
  /** The devices the node enrolled, and when (ISO 8601); none when the host does not say. */
  readonly devices?: () => readonly { readonly key: Uint8Array; readonly enrolled: string }[];
  /** Milliseconds since the epoch; tests move it. */
  readonly now?: () => number;
}

/** The sealed state of a custodian that took part in a setup. */
interface State {
  readonly vaultId: string;
  readonly epoch: number;
  readonly threshold: number;
  readonly index: number;
  readonly share: Scalar;
  readonly group: GroupInfo;
  readonly guardians: readonly Uint8Array[];
  readonly approvals: number;
  readonly policyVersion: number;
}

interface Pending {
  readonly session: DkgSession;
  readonly sid: Uint8Array;
  readonly encryption: X25519KeyPair;
  readonly dealing: Dealing | undefined;
  round1?: Round1[];
  result?: { share: Scalar; group: GroupInfo; transcript: Uint8Array };
}

const MAX_PENDING = 4;

/** The custodian's own stored state failed its check: the node is broken, the caller is not at fault. */
export class NodeStateError extends ShardvaultError {
  override readonly name = 'NodeStateError';
  constructor(message: string, cause: unknown) {
    super('corrupt', message, { cause });
  }
}
const NAME = /^[a-z0-9-]{1,80}$/;
const refuse = (reason: RefusalReason, message: string): never => {
  throw new GuardRefusal(reason, message);
};
export const dkgAuthorizationMessage = (sid: Uint8Array): Uint8Array => frame('shardvault/v1/guard/dkg-authorize', sid);

export class Custodian {
  readonly identityKey: Uint8Array;
  private readonly store: GuardStore;
  private readonly identitySeed: Uint8Array;
  private readonly sealKey: Uint8Array;
  private readonly isEnrolled: CustodianOptions['isEnrolled'];
  private readonly removeDevice: CustodianOptions['removeDevice'];
  private readonly devices: NonNullable<CustodianOptions['devices']>;
  private readonly now: () => number;
  private readonly pending = new Map<string, Pending>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: CustodianOptions) {
    abytes(options.identitySeed, 'identity seed', 32);
    abytes(options.sealKey, 'seal key', 32);
    this.store = options.store;
    this.identitySeed = options.identitySeed;
    this.sealKey = options.sealKey;
    this.isEnrolled = options.isEnrolled;
    this.removeDevice = options.removeDevice;
    this.devices = options.devices ?? (() => []);
    this.now = options.now ?? Date.now;
    this.identityKey = ed25519PublicKey(options.identitySeed);
  }

  /**
   * One RPC call. A refusal or a malformed body is an `ok: false` envelope; the promise rejects
   * only when the node itself is broken (its store fails, or its sealed state does not open:
   * NodeStateError), which the server answers as its own error, not the caller's.
   */
  async handle(method: string, body: unknown): Promise<GuardResponse> {
    const run = async (): Promise<GuardResponse> => {
      try {
        if (!isGuardMethod(method)) return refuse('malformed', `no method ${String(method).slice(0, 40)}`);
        return { ok: true, value: await this.dispatch(method, body) };
      } catch (error) {
        if (error instanceof GuardRefusal) return { ok: false, reason: error.reason, message: error.message };
        if (error instanceof GuardFault) return { ok: false, reason: 'dkg', message: error.message };
        if (error instanceof CorruptError || error instanceof RangeError || error instanceof TypeError) {
          return { ok: false, reason: 'malformed', message: error.message };
        }
        throw error;
      }
    };
    // One call at a time: replay markers, registrations and the log must not race.
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Whether the node may enrol `deviceKey` (its enrolment code already checked by the server):
   * yes when this node holds no share or its policy asks for no approvals (g = 0); else only
   * with `body` = {request, approvals}: an enrolment request of this vault, signed by that very
   * key, at most ENROL_REQUEST_MAX_MS old, and g valid approvals of it (the requester's own never
   * counts). The decision is logged. Runs in turn with the calls, as they do.
   */
  checkEnrolment(deviceKey: Uint8Array, body: unknown): Promise<GuardResponse> {
    const run = async (): Promise<GuardResponse> => {
      try {
        return { ok: true, value: await this.enrolment(deviceKey, body) };
      } catch (error) {
        if (error instanceof GuardRefusal) return { ok: false, reason: error.reason, message: error.message };
        if (error instanceof CorruptError || error instanceof RangeError || error instanceof TypeError)
          return { ok: false, reason: 'malformed', message: error.message };
        throw error;
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async enrolment(deviceKey: Uint8Array, body: unknown): Promise<Json> {
    const s = await this.state();
    if (s === undefined || s.approvals === 0) return { approvals: 0 };
    const subject = `enrol ${toHex(deviceKey).slice(0, 16)}`;
    const needs = async (why: string): Promise<never> => {
      await this.log('refuse', deviceKey, subject, why);
      return refuse('approvals', why);
    };
    if (body === undefined || body === null) return needs(`0 of ${s.approvals} approvals`);
    const r = new WireReader('enrolment');
    const o = r.object(body, 'guard', ['request', 'approvals']);
    const request = readEnrolRequest(r, o.request, 'request');
    const approvals = readApprovals(r, o.approvals, 'approvals');
    if (request.vaultId !== s.vaultId) return refuse('wrong-vault', 'the enrolment is for another vault');
    if (!equalBytes(request.deviceKey, deviceKey)) return needs('the enrolment request is for another device key');
    if (!ed25519Verify(deviceKey, enrolMessage(request), request.signature))
      return refuse('bad-signature', 'the enrolment request is not signed by the device it enrols');
    const now = this.now();
    if (request.time > now + REQUEST_SKEW_MS || now - request.time > ENROL_REQUEST_MAX_MS)
      return refuse('stale', 'the enrolment request is older than an approval may last, or from the future');
    const message = enrolMessage(request);
    const digest = (expiry: number): Uint8Array =>
      changeApprovalDigest(request.vaultId, request.requestId, deviceKey, message, expiry);
    const count = countApprovals(approvals, s.guardians, deviceKey, digest, now);
    if (count < s.approvals) return needs(`${count} of ${s.approvals} approvals`);
    await this.log('enrol', deviceKey, subject, `enrolled with ${count} approvals`);
    return { approvals: count };
  }

  private async dispatch(method: string, body: unknown): Promise<Json> {
    const r = new WireReader(`guard ${method}`);
    switch (method) {
      case 'info':
        r.object(body, 'body', []);
        return this.info();
      case 'dkg-round1': {
        const o = r.object(body, 'body', ['session', 'authorization', 'approvals']);
        return this.round1(
          readSession(r, o.session),
          r.bytes(o.authorization, 'authorization', 64),
          readApprovals(r, o.approvals, 'approvals'),
        );
      }
      case 'dkg-round2': {
        const o = r.object(body, 'body', ['setupId', 'round1']);
        const list = r.array(o.round1, 'round1', 2 * 64).map((m, i) => readRound1(r, m, `round1[${i}]`));
        return this.round2(r.hex(o.setupId, 'setupId', 16), list);
      }
      case 'dkg-round3': {
        const o = r.object(body, 'body', ['setupId', 'round1', 'round2']);
        const round1 = r.array(o.round1, 'round1', 2 * 64).map((m, i) => readRound1(r, m, `round1[${i}]`));
        const list = r.array(o.round2, 'round2', 64).map((m, i) => readRound2(r, m, `round2[${i}]`));
        return this.round3(r.hex(o.setupId, 'setupId', 16), round1, list);
      }
      case 'dkg-finish': {
        const o = r.object(body, 'body', ['setupId', 'round2', 'confirmations']);
        const round2 = r.array(o.round2, 'round2', 64).map((m, i) => readRound2(r, m, `round2[${i}]`));
        const confirmations = r
          .array(o.confirmations, 'confirmations', 64)
          .map((m, i) => readConfirmation(r, m, `confirmations[${i}]`));
        return this.finish(r.hex(o.setupId, 'setupId', 16), round2, confirmations);
      }
      case 'dkg-commit': {
        const o = r.object(body, 'body', ['setupId']);
        return this.commit(r.hex(o.setupId, 'setupId', 16));
      }
      case 'register': {
        const o = r.object(body, 'body', ['registration']);
        return this.register(readRegistration(r, o.registration, 'registration'));
      }
      case 'partial': {
        const o = r.object(body, 'body', ['request', 'approvals']);
        return this.partial(readRequest(r, o.request, 'request'), readApprovals(r, o.approvals, 'approvals'));
      }
      case 'policy': {
        const o = r.object(body, 'body', ['change', 'approvals']);
        return this.policy(readPolicyChange(r, o.change, 'change'), readApprovals(r, o.approvals, 'approvals'));
      }
      case 'device-remove': {
        const o = r.object(body, 'body', ['removal', 'approvals']);
        return this.remove(readRemoval(r, o.removal, 'removal'), readApprovals(r, o.approvals, 'approvals'));
      }
      case 'devices':
        r.object(body, 'body', []);
        return {
          devices: this.devices()
            .slice(0, MAX_DEVICES)
            .map((d) => ({ key: toBase64(d.key), enrolled: d.enrolled.slice(0, 40) })),
        };
      case 'log': {
        const o = r.object(body, 'body', ['from']);
        return this.readLog(r.int(o.from, 'from', 0, Number.MAX_SAFE_INTEGER));
      }
      default:
        return refuse('malformed', `no method ${method}`);
    }
  }

  // ---- sealed storage ----------------------------------------------------------------------

  private async readSealed(name: string): Promise<Uint8Array | undefined> {
    if (!NAME.test(name)) throw new RangeError(`bad store name ${name}`);
    const boxed = await this.store.read(name);
    if (boxed === undefined) return undefined;
    try {
      return openWithNonce(this.sealKey, boxed, utf8(`shardvault/v1/guard/${name}`), name);
    } catch (error) {
      // The node's own state, not a caller's input: `handle` rejects instead of refusing.
      throw new NodeStateError(`guard state ${name} failed its check (changed on disk, or another seal key)`, error);
    }
  }

  private async writeSealed(name: string, plain: Uint8Array): Promise<void> {
    if (!NAME.test(name)) throw new RangeError(`bad store name ${name}`);
    await this.store.write(name, sealWithNonce(this.sealKey, plain, utf8(`shardvault/v1/guard/${name}`)));
  }

  private async readJson(name: string): Promise<unknown> {
    const bytes = await this.readSealed(name);
    return bytes === undefined ? undefined : new WireReader(name).parse(bytes);
  }

  private writeJson(name: string, value: Json): Promise<void> {
    return this.writeSealed(name, utf8(JSON.stringify(value)));
  }

  private async state(): Promise<State | undefined> {
    const raw = await this.readJson('state');
    if (raw === undefined) return undefined;
    const r = new WireReader('custodian state');
    if (typeof raw === 'object' && raw !== null && (raw as { retired?: unknown }).retired === true) return undefined;
    const o = r.object(raw, 'state', [
      'retired',
      'vaultId',
      'epoch',
      'threshold',
      'index',
      'share',
      'group',
      'guardians',
      'approvals',
      'policyVersion',
    ]);
    if (o.retired === true) return undefined;
    const g = r.object(o.group, 'group', ['commitments', 'members']);
    const group: GroupInfo = {
      vaultId: r.hex(o.vaultId, 'vaultId', 16),
      epoch: r.int(o.epoch, 'epoch', 1, 0xffffffff),
      threshold: r.int(o.threshold, 'threshold', 2, 64),
      groupKey: r.bytes(r.array(g.commitments, 'commitments', 64)[0], 'groupKey', 32),
      commitments: r.array(g.commitments, 'commitments', 64).map((c, i) => r.bytes(c, `commitments[${i}]`, 32)),
      members: r.array(g.members, 'members', 64).map((m, i) => {
        const x = r.object(m, `members[${i}]`, ['index', 'identityKey', 'publicShare']);
        return {
          index: r.int(x.index, 'index', 1, 255),
          identityKey: r.bytes(x.identityKey, 'identityKey', 32),
          publicShare: r.bytes(x.publicShare, 'publicShare', 32),
        };
      }),
    };
    return {
      vaultId: group.vaultId,
      epoch: group.epoch,
      threshold: group.threshold,
      index: r.int(o.index, 'index', 1, 255),
      share: decodeScalar(r.bytes(o.share, 'share', 32), 'share'),
      group,
      guardians: r.array(o.guardians, 'guardians', MAX_GUARDIANS).map((k, i) => r.bytes(k, `guardians[${i}]`, 32)),
      approvals: r.int(o.approvals, 'approvals', 0, MAX_GUARDIANS),
      policyVersion: r.int(o.policyVersion, 'policyVersion', 1, 0xffffffff),
    };
  }

  private writeState(s: State): Promise<void> {
    return this.writeJson('state', stateToJson(s));
  }

  private async requireState(vaultId: string): Promise<State> {
    const s = await this.state();
    if (s === undefined) return refuse('no-share', 'this node holds no guard share');
    if (s.vaultId !== vaultId) return refuse('wrong-vault', 'this node serves another vault');
    return s;
  }

  // ---- the log -----------------------------------------------------------------------------

  private async logHead(): Promise<{ seq: number; hash: string } | undefined> {
    const raw = await this.readJson('log-head');
    if (raw === undefined) return undefined;
    const r = new WireReader('log head');
    const o = r.object(raw, 'head', ['seq', 'hash']);
    return { seq: r.int(o.seq, 'seq', 0, Number.MAX_SAFE_INTEGER), hash: r.hex(o.hash, 'hash', 32) };
  }

  private async log(kind: LogKind, device: Uint8Array | undefined, subject: string, outcome: string): Promise<void> {
    const head = await this.logHead();
    const entry = nextEntry(head, {
      time: this.now(),
      kind,
      device: device === undefined ? '' : toHex(device),
      subject,
      outcome,
    });
    await this.writeJson(`log-${entry.seq}`, { ...entry });
    await this.writeJson('log-head', { seq: entry.seq, hash: entry.hash });
  }

  private async readLog(from: number): Promise<Json> {
    const head = await this.logHead();
    const entries: Json[] = [];
    if (head !== undefined) {
      for (let seq = from; seq <= head.seq && entries.length < LOG_PAGE; seq++) {
        const raw = await this.readJson(`log-${seq}`);
        const r = new WireReader(`log entry ${seq}`);
        const o = r.object(raw, 'entry', ['seq', 'time', 'kind', 'device', 'subject', 'outcome', 'prev', 'hash']);
        const entry: LogEntry = {
          seq: r.int(o.seq, 'seq', seq, seq),
          time: r.int(o.time, 'time', 0, Number.MAX_SAFE_INTEGER),
          kind: r.oneOf(o.kind, 'kind', LOG_KINDS),
          device: r.string(o.device, 'device', 64),
          subject: r.string(o.subject, 'subject', 200),
          outcome: r.string(o.outcome, 'outcome', 200),
          prev: r.hex(o.prev, 'prev', 32),
          hash: r.hex(o.hash, 'hash', 32),
        };
        entries.push({ ...entry });
      }
    }
    return { entries };
  }

  // ---- checks shared by the signed requests ---------------------------------------------------

  private async checkDevice(
    deviceKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    time?: number,
  ): Promise<void> {
    if (!(await this.isEnrolled(deviceKey))) refuse('not-enrolled', 'this device is not enrolled with this node');
    if (!ed25519Verify(deviceKey, message, signature)) refuse('bad-signature', 'the device signature does not verify');
    if (time !== undefined && Math.abs(this.now() - time) > REQUEST_SKEW_MS) {
      refuse('stale', 'the request time is more than 5 minutes from the node clock');
    }
  }

  /** Marks a request id used; refuses one used before. */
  private async consume(requestId: string): Promise<void> {
    await this.refuseSpent(requestId);
    await this.spend(requestId);
  }

  /** Refuses a request id this custodian answered before. */
  private async refuseSpent(requestId: string): Promise<void> {
    if ((await this.readSealed(`request-${requestId}`)) !== undefined)
      refuse('replayed', `request ${requestId} was answered before`);
  }

  /** refuseSpent, with the refusal logged as `device`'s about `subject`. */
  private async refuseReplay(requestId: string, device: Uint8Array, subject: string): Promise<void> {
    try {
      await this.refuseSpent(requestId);
    } catch (error) {
      if (error instanceof GuardRefusal) await this.log('refuse', device, subject, 'replayed');
      throw error;
    }
  }

  /** Marks a request id answered (its replay marker). */
  private spend(requestId: string): Promise<void> {
    return this.writeSealed(`request-${requestId}`, new Uint8Array(0));
  }

  // ---- methods -----------------------------------------------------------------------------

  private async info(): Promise<Json> {
    const s = await this.state();
    const head = await this.logHead();
    const me = s?.group.members.find((m) => m.index === s.index);
    return {
      identityKey: toBase64(this.identityKey),
      vaultId: s?.vaultId ?? null,
      epoch: s?.epoch ?? null,
      index: s?.index ?? null,
      publicShare: me === undefined ? null : toBase64(me.publicShare),
      policyVersion: s?.policyVersion ?? 0,
      logLength: head === undefined ? 0 : head.seq + 1,
      logHead: head?.hash ?? null,
    };
  }

  private sign(message: Uint8Array): Uint8Array {
    return ed25519Sign(this.identitySeed, message);
  }

  private async round1(session: DkgSession, authorization: Uint8Array, approvals: Approval[]): Promise<Json> {
    checkSession(session);
    const sid = sessionHash(session);
    const key = toHex(this.identityKey);
    const asDealer = session.dealers.find((m) => toHex(m.identityKey) === key);
    const asReceiver = session.receivers.find((m) => toHex(m.identityKey) === key);
    if (asDealer === undefined && asReceiver === undefined) refuse('dkg', 'this node is not in the session');
    // One round 1 per session: a second would give the relay two dealings to play off.
    if (this.pending.has(session.setupId)) refuse('dkg', `key generation ${session.setupId} is under way already`);
    await this.checkDevice(session.deviceKey, dkgAuthorizationMessage(sid), authorization);
    const s = await this.state();
    if (s !== undefined && s.vaultId !== session.vaultId) refuse('wrong-vault', 'this node serves another vault');
    let constant: Scalar | undefined;
    if (session.previous === undefined) {
      if (s !== undefined) refuse('dkg', 'this node holds a share already: re-share, or reset the node');
    } else if (s !== undefined) {
      if (!equalBytes(session.previous.groupKey, s.group.groupKey) || session.epoch !== s.epoch) {
        refuse('dkg', 'the re-sharing is of another key than this node holds');
      }
      if (!samePolicy(session.previous.policy, s))
        refuse('dkg', 'the re-sharing carries another policy than this node holds');
      const digest = (expiry: number): Uint8Array =>
        changeApprovalDigest(session.vaultId, session.setupId, session.deviceKey, sid, expiry);
      const count = countApprovals(approvals, s.guardians, session.deviceKey, digest, this.now());
      const needed = changeApprovalsNeeded(s, session.deviceKey);
      if (count < needed) refuse('approvals', `${count} of ${needed} approvals`);
      if (asDealer !== undefined) {
        const mine = session.previous.publicShares.find((p) => p.index === asDealer.index);
        const recorded = s.group.members.find((m) => m.index === s.index);
        if (asDealer.index !== s.index || mine === undefined || !equalBytes(mine.publicShare, recorded!.publicShare)) {
          refuse('dkg', 'the session gives this node another index or public share than it holds');
        }
        constant = scalarMul(
          lagrangeAtZero(
            session.dealers.map((d) => d.index),
            s.index,
          ),
          s.share,
        );
      }
    } else if (asDealer !== undefined) {
      refuse('no-share', 'this node holds no share to re-share');
    }
    const dealing = asDealer === undefined ? undefined : newDealing(session.threshold, constant);
    const encryption = generateX25519();
    const hash = dealing === undefined ? new Uint8Array(0) : commitmentHash(dealing.commitments.map(encodePoint));
    const body = { identityKey: this.identityKey, encryptionKey: encryption.publicKey, commitmentHash: hash };
    if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
    this.pending.set(session.setupId, { session, sid, encryption, dealing });
    return round1ToJsonSigned(body, this.sign(round1Message(sid, body)));
  }

  private pendingOf(setupId: string): Pending {
    const p = this.pending.get(setupId);
    if (p === undefined) return refuse('dkg', `no key generation ${setupId} is under way here`);
    return p;
  }

  private meIn(list: readonly Member[]): Member | undefined {
    return list.find((m) => equalBytes(m.identityKey, this.identityKey));
  }

  /** Checks the round-1 messages and that ours is among them unchanged; keeps them. */
  private takeRound1(p: Pending, round1: Round1[]): Map<string, Round1> {
    const byKey = checkRound1(p.session, round1);
    const mine = byKey.get(toHex(this.identityKey));
    if (mine === undefined || !equalBytes(mine.encryptionKey, p.encryption.publicKey)) {
      throw new GuardFault('the relay', 'changed this node’s round-1 message');
    }
    if (
      p.round1 !== undefined &&
      toHex(transcriptHash(p.sid, p.round1, [])) !== toHex(transcriptHash(p.sid, round1, []))
    ) {
      throw new GuardFault('the relay', 'sent other round-1 messages than before');
    }
    p.round1 = round1;
    return byKey;
  }

  private round2(setupId: string, round1: Round1[]): Json {
    const p = this.pendingOf(setupId);
    const byKey = this.takeRound1(p, round1);
    const dealer = this.meIn(p.session.dealers);
    if (dealer === undefined || p.dealing === undefined)
      return refuse('dkg', 'this node does not deal in this session');
    const body = { identityKey: this.identityKey, ...dealRound2(p.session, dealer.index, p.dealing, byKey) };
    const message: Round2 = { ...body, signature: this.sign(round2Message(p.sid, body)) };
    return round2ToJson(message);
  }

  private round3(setupId: string, round1: Round1[], round2: Round2[]): Json {
    const p = this.pendingOf(setupId);
    const me = this.meIn(p.session.receivers);
    if (me === undefined) return refuse('dkg', 'this node does not receive in this session');
    this.takeRound1(p, round1);
    const result = receiveShares(p.session, me, p.encryption, round1, round2);
    if (!result.ok) {
      this.pending.delete(setupId);
      const body = { accused: result.accused, decryptionKey: p.encryption.privateKey };
      return {
        complaint: complaintToJson({
          identityKey: this.identityKey,
          ...body,
          signature: this.sign(complaintMessage(p.sid, body)),
        }),
      };
    }
    p.result = result;
    const body = { transcript: result.transcript, groupKey: result.group.groupKey };
    return {
      confirmation: confirmationToJson({
        identityKey: this.identityKey,
        ...body,
        signature: this.sign(confirmMessage(p.sid, body)),
      }),
    };
  }

  private async finish(
    setupId: string,
    round2: Round2[],
    confirmations: ReturnType<typeof readConfirmation>[],
  ): Promise<Json> {
    const p = this.pendingOf(setupId);
    const { session } = p;
    const me = this.meIn(session.receivers);
    if (me !== undefined) {
      if (p.result === undefined) return refuse('dkg', 'round 3 has not run here');
      checkConfirmations(session, p.result.transcript, p.result.group.groupKey, confirmations);
      const next: State = {
        vaultId: session.vaultId,
        epoch: session.epoch,
        threshold: session.threshold,
        index: me.index,
        share: p.result.share,
        group: p.result.group,
        // A setup starts the first policy; a re-sharing hands on the one the old nodes hold
        // (checked by each of them in round 1), to new nodes too.
        ...(session.previous?.policy ?? firstPolicy(session.deviceKey)),
      };
      this.pending.delete(setupId);
      if (session.previous === undefined) {
        await this.writeState(next);
        await this.log('setup', session.deviceKey, setupId, `index ${me.index}`);
      } else {
        // A re-sharing is staged: the old share keeps answering until `dkg-commit`, which the
        // app sends once its sealed head records the new set (a cut-short re-sharing leaves
        // the old set working).
        await this.stage(setupId, stateToJson(next));
        await this.log('reshare', session.deviceKey, setupId, `staged index ${me.index}`);
      }
      const mine = p.result.group.members.find((m) => m.index === me.index)!;
      return { index: me.index, publicShare: toBase64(mine.publicShare) };
    }
    // A dealer that leaves: check the new set confirmed what it dealt, then retire its share.
    if (p.round1 === undefined) return refuse('dkg', 'round 2 has not run here');
    const first = checkRound1(session, p.round1);
    const byKey = new Map(round2.map((m) => [toHex(m.identityKey), m]));
    const dealings = session.dealers.map((d) => {
      const m = byKey.get(toHex(d.identityKey));
      if (m === undefined) throw new GuardFault(toHex(d.identityKey), 'sent no round-2 message');
      return checkDealing(session, first, m);
    });
    const group = groupInfo(session, dealings);
    checkConfirmations(session, transcriptHash(p.sid, p.round1, round2), group.groupKey, confirmations);
    await this.stage(setupId, { retired: true });
    this.pending.delete(setupId);
    await this.log('retire', session.deviceKey, setupId, 'retirement staged: the new set confirmed');
    return { index: null, publicShare: null };
  }

  /**
   * The staged re-sharings (`next`): up to MAX_PENDING sessions, each staged from the share in
   * use, and the one committed last. Two devices re-sharing at once each stage their own
   * session here; the one whose sealed head wins is committed, and the others are dropped then
   * (they were dealt from the share the commit replaced). A store written by an earlier version
   * (`{setupId, state}`: one slot) reads as a list of one.
   */
  private async staged(): Promise<{ staged: { setupId: string; state: Json }[]; committed: string | null }> {
    const raw = await this.readJson('next');
    if (raw === undefined) return { staged: [], committed: null };
    const r = new WireReader('staged re-sharing');
    if (typeof raw === 'object' && raw !== null && 'setupId' in raw) {
      const o = r.object(raw, 'next', ['setupId', 'state']);
      const setupId = r.hex(o.setupId, 'setupId', 16);
      const done = typeof o.state === 'object' && o.state !== null && 'committed' in o.state;
      return done
        ? { staged: [], committed: setupId }
        : { staged: [{ setupId, state: o.state as Json }], committed: null };
    }
    const o = r.object(raw, 'next', ['staged', 'committed']);
    return {
      staged: r.array(o.staged, 'staged', MAX_PENDING).map((x, i) => {
        const e = r.object(x, `staged[${i}]`, ['setupId', 'state']);
        return { setupId: r.hex(e.setupId, 'setupId', 16), state: e.state as Json };
      }),
      committed: o.committed === null ? null : r.hex(o.committed, 'committed', 16),
    };
  }

  /** Keeps `state` aside as re-sharing `setupId`'s result, beside any other staged session. */
  private async stage(setupId: string, state: Json): Promise<void> {
    const { staged, committed } = await this.staged();
    const kept = [...staged.filter((x) => x.setupId !== setupId), { setupId, state }].slice(-MAX_PENDING);
    await this.writeJson('next', { staged: kept, committed });
  }

  /**
   * `dkg-commit`: the staged result of re-sharing `setupId` replaces this node's state (its new
   * share, or its old share retired), and every other staged session is dropped. The old share
   * is gone from then on. A commit repeated after it took effect answers the same; one for no
   * staged re-sharing is refused.
   */
  private async commit(setupId: string): Promise<Json> {
    const { staged, committed } = await this.staged();
    const entry = staged.find((x) => x.setupId === setupId);
    if (entry === undefined && committed !== setupId) return refuse('dkg', `no re-sharing ${setupId} is staged here`);
    if (entry !== undefined) {
      // The staged state carries the policy this node held at round 1: a commit sent after a
      // policy change (a re-sharing cut short, committed late by any enrolled device) would put
      // the old guardians and g back.
      const current = await this.state();
      const next = entry.state as { retired?: unknown; policyVersion?: unknown };
      if (current !== undefined && next.retired !== true && next.policyVersion !== current.policyVersion)
        return refuse('dkg', `the policy changed since re-sharing ${setupId} was staged here: run it again`);
      await this.writeJson('state', entry.state);
      await this.writeJson('next', { staged: [], committed: setupId });
    }
    const s = await this.state();
    if (entry !== undefined)
      await this.log(
        s === undefined ? 'retire' : 'reshare',
        undefined,
        setupId,
        s === undefined ? 'share retired' : `index ${s.index} in use`,
      );
    const me = s?.group.members.find((m) => m.index === s.index);
    return { index: s?.index ?? null, publicShare: me === undefined ? null : toBase64(me.publicShare) };
  }

  private async register(reg: ReturnType<typeof readRegistration>): Promise<Json> {
    await this.requireState(reg.vaultId);
    await this.checkDevice(reg.deviceKey, registrationMessage(reg), reg.signature, reg.time);
    decodePoint(reg.point, 'point');
    const name = `point-${toHex(reg.point)}`;
    const subject = `${reg.fileId}/${reg.version}`;
    if ((await this.readSealed(name)) !== undefined) {
      await this.log('refuse', reg.deviceKey, subject, 'duplicate point');
      return refuse('duplicate', 'this point is registered already');
    }
    await this.writeJson(name, { fileId: reg.fileId, version: reg.version });
    await this.log('register', reg.deviceKey, subject, 'registered');
    return {};
  }

  private async partial(req: ReturnType<typeof readRequest>, approvals: Approval[]): Promise<Json> {
    const s = await this.requireState(req.vaultId);
    await this.checkDevice(req.deviceKey, requestMessage(req), req.signature, req.time);
    const subject = `${req.fileId}/${req.version} request ${req.requestId}`;
    const R = decodePoint(req.point, 'point');
    const registered = await this.readJson(`point-${toHex(req.point)}`);
    const r = new WireReader('registration');
    const reg = registered === undefined ? undefined : r.object(registered, 'registration', ['fileId', 'version']);
    if (reg === undefined || reg.fileId !== req.fileId || reg.version !== req.version) {
      await this.log('refuse', req.deviceKey, subject, 'point not registered for this file');
      return refuse('unregistered', 'this point is not registered for this file and version');
    }
    const digest = (expiry: number): Uint8Array => approvalDigest(req, expiry);
    const count = countApprovals(approvals, s.guardians, req.deviceKey, digest, this.now());
    if (count < s.approvals) {
      await this.log('refuse', req.deviceKey, subject, `${count} of ${s.approvals} approvals`);
      return refuse('approvals', `${count} of ${s.approvals} approvals`);
    }
    await this.refuseReplay(req.requestId, req.deviceKey, subject);
    // The replay marker and the log entry reach the disk side by side (calls run one at a
    // time, so nothing comes between the check above and the marker), and the partial is
    // computed meanwhile; it goes out only once both are durable.
    const durable = Promise.all([
      this.spend(req.requestId),
      this.log('open', req.deviceKey, subject, `answered with ${count} approvals`),
    ]);
    let answer: Json;
    try {
      const me = s.group.members.find((m) => m.index === s.index)!;
      const Z = mul(R, s.share);
      const proof = generateProof(GUARD_CONTEXT, s.share, decodePoint(me.publicShare, 'public share'), [R], [Z]);
      answer = { index: s.index, partial: toBase64(encodePoint(Z)), proof: toBase64(proof) };
    } catch (error) {
      await durable.catch(() => undefined);
      throw error;
    }
    await durable;
    return answer;
  }

  private async policy(change: ReturnType<typeof readPolicyChange>, approvals: Approval[]): Promise<Json> {
    const s = await this.requireState(change.vaultId);
    await this.checkDevice(change.deviceKey, policyMessage(change), change.signature, change.time);
    if (change.policyVersion !== s.policyVersion + 1)
      refuse('replayed', 'the policy changed since this change was made');
    if (!policyPossible(change)) {
      refuse('malformed', 'a policy needs a guardian, each once, and no more approvals than guardians');
    }
    const message = policyMessage(change);
    const digest = (expiry: number): Uint8Array =>
      changeApprovalDigest(change.vaultId, change.requestId, change.deviceKey, message, expiry);
    const count = countApprovals(approvals, s.guardians, change.deviceKey, digest, this.now());
    const needed = changeApprovalsNeeded(s, change.deviceKey);
    if (count < needed) refuse('approvals', `${count} of ${needed} approvals`);
    await this.consume(change.requestId);
    await this.writeState({
      ...s,
      guardians: change.guardians,
      approvals: change.approvals,
      policyVersion: change.policyVersion,
    });
    await this.log(
      'policy',
      change.deviceKey,
      change.requestId,
      `${change.guardians.length} guardians, ${change.approvals} approvals`,
    );
    return { policyVersion: change.policyVersion };
  }

  /**
   * `device-remove`: a device key is taken off this node (a lost laptop). Signed by an enrolled
   * device, fresh, once; another device's removal needs the approvals of a change of the guard,
   * a device's own none. A guardian's key is refused: it approves whether enrolled or not, so it
   * leaves the guardians first (a policy change). The host drops the key; the decision is logged.
   */
  private async remove(removal: DeviceRemoval, approvals: Approval[]): Promise<Json> {
    const s = await this.requireState(removal.vaultId);
    const message = removalMessage(removal);
    await this.checkDevice(removal.deviceKey, message, removal.signature, removal.time);
    const subject = `remove ${toHex(removal.device).slice(0, 16)}`;
    if (s.guardians.some((g) => equalBytes(g, removal.device))) {
      await this.log('refuse', removal.deviceKey, subject, 'a guardian: remove it from the guardians first');
      return refuse('malformed', 'that device is a guardian: remove it from the guardians first');
    }
    const digest = (expiry: number): Uint8Array =>
      changeApprovalDigest(removal.vaultId, removal.requestId, removal.deviceKey, message, expiry);
    const count = countApprovals(approvals, s.guardians, removal.deviceKey, digest, this.now());
    const needed = removalApprovalsNeeded(s, removal);
    if (count < needed) {
      await this.log('refuse', removal.deviceKey, subject, `${count} of ${needed} approvals`);
      return refuse('approvals', `${count} of ${needed} approvals`);
    }
    await this.refuseReplay(removal.requestId, removal.deviceKey, subject);
    await this.spend(removal.requestId);
    const removed = await this.removeDevice(removal.device);
    await this.log(
      'remove',
      removal.deviceKey,
      subject,
      `${removed ? 'removed' : 'not enrolled here'} with ${count} approvals`,
    );
    return { removed };
  }
}

function stateToJson(s: State): Json {
  return {
    retired: false,
    vaultId: s.vaultId,
    epoch: s.epoch,
    threshold: s.threshold,
    index: s.index,
    share: toBase64(encodeScalar(s.share)),
    group: {
      commitments: s.group.commitments.map(toBase64),
      members: s.group.members.map((m) => ({
        index: m.index,
        identityKey: toBase64(m.identityKey),
        publicShare: toBase64(m.publicShare),
      })),
    },
    guardians: s.guardians.map(toBase64),
    approvals: s.approvals,
    policyVersion: s.policyVersion,
  };
}

function samePolicy(a: GuardPolicy, b: GuardPolicy): boolean {
  return (
    a.approvals === b.approvals &&
    a.policyVersion === b.policyVersion &&
    a.guardians.length === b.guardians.length &&
    a.guardians.every((g, i) => equalBytes(g, b.guardians[i]!))
  );
}

function round1ToJsonSigned(body: Omit<Round1, 'signature'>, signature: Uint8Array): Json {
  return round1ToJson({ ...body, signature });
}

/** A fresh 32-byte key for sealing a custodian's state (the node server keeps it 0600). */
export function newSealKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}
