/**
 * Distributed key generation in which no party ever holds the secret: Pedersen's DKG with
 * Feldman commitments, checked as RFC 9591 appendix C does (each dealer proves knowledge of
 * its constant term with a Schnorr proof bound to the session; each receiver checks its share
 * against the dealer's commitments), and proactive re-sharing of an existing key to a new set
 * of nodes keeping the group key P (each old node deals λ_i·s_i, its Lagrange-weighted share,
 * and everyone checks that the constant commitment is λ_i·P_i).
 *
 * The app relays every message but cannot forge one: each is signed by its sender's Ed25519
 * identity key (pinned by the app at enrolment). Shares travel sealed (X25519, crypto/sealed-box)
 * to a fresh per-session encryption key that the receiver signed in round 1, inside the
 * dealer's signed round-2 message. Rounds:
 *   1. every participant: its session encryption key and, if it deals, H(its commitments);
 *   2. every dealer: its commitments, the proof of knowledge, a sealed share per receiver;
 *   3. every receiver: checks everything, computes its share, signs the transcript hash;
 *   4. every receiver: keeps its share only once every receiver signed the same transcript.
 * A failed check aborts and names the participant at fault. A share that does not match its
 * commitments is only visible to its receiver: the receiver then complains by revealing its
 * session decryption key (which protects nothing else), so the app can decide publicly whether
 * the dealer or the complainer lied (`judgeComplaint`).
 *
 * Pure functions: the custodian (custodian.ts) keeps the per-session secrets, the coordinator
 * (coordinator.ts) runs the rounds.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { abytes, concat, equalBytes, toHex, utf8, fromHex } from '../crypto/bytes';
import { openFrom, sealTo, type X25519KeyPair } from '../crypto/sealed-box';
import { ed25519Verify, ED25519_PUBLIC_BYTES } from '../crypto/signing';
import { X25519_BYTES } from '../crypto/sealed-box';
import { GuardFault } from './errors';
import {
  BASE,
  decodePoint,
  decodeScalar,
  encodePoint,
  encodeScalar,
  evalCommitments,
  evalPolynomial,
  frame,
  hashToScalar,
  IDENTITY,
  lagrangeAtZero,
  mul,
  mulBase,
  randomScalar,
  scalarAdd,
  scalarMul,
  sumOfProducts,
  type Point,
  type Scalar,
} from './group';
import { GUARD_CONTEXT } from './dleq';

export const MAX_NODES = 64;
export const MIN_THRESHOLD = 2;
const POK_DST = concat(GUARD_CONTEXT, utf8('-pok'));

/** A node taking part, by its index in the sharing and its Ed25519 identity key. */
export interface Member {
  readonly index: number;
  readonly identityKey: Uint8Array;
}

/** Who approves and how many approvals an opening needs (g); nodes hold it. */
export interface GuardPolicy {
  readonly guardians: readonly Uint8Array[];
  readonly approvals: number;
  /** Counts the changes; a change names the version it makes, so it applies once. */
  readonly policyVersion: number;
}

/** The policy right after a setup: "any enrolled device", the device that ran it the one guardian. */
export const firstPolicy = (deviceKey: Uint8Array): GuardPolicy => ({
  guardians: [deviceKey],
  approvals: 0,
  policyVersion: 1,
});

/**
 * Whether approvals can ever meet a policy: at least one guardian, none named twice (approvals
 * count distinct guardians), and no more approvals than guardians. Nodes refuse any other.
 */
export const policyPossible = (p: Pick<GuardPolicy, 'guardians' | 'approvals'>): boolean =>
  p.guardians.length > 0 &&
  new Set(p.guardians.map((k) => toHex(k))).size === p.guardians.length &&
  p.approvals <= p.guardians.length;

/** The old sharing a re-sharing starts from (what the app's sealed head records). */
export interface PreviousSharing {
  readonly threshold: number;
  readonly groupKey: Uint8Array;
  readonly publicShares: readonly { readonly index: number; readonly publicShare: Uint8Array }[];
  /** The policy the old nodes hold: new nodes take it, old ones refuse any other. */
  readonly policy: GuardPolicy;
}

/** Everything every participant must agree on before round 1; its hash binds every message. */
export interface DkgSession {
  readonly vaultId: string;
  /** 16 random bytes, hex: names this run. */
  readonly setupId: string;
  /** The guard key's epoch: a new setup makes a new one; a re-sharing keeps it. */
  readonly epoch: number;
  /** G of the sharing being made. */
  readonly threshold: number;
  readonly dealers: readonly Member[];
  readonly receivers: readonly Member[];
  /** Present for a re-sharing only. */
  readonly previous?: PreviousSharing;
  /** The device that runs it: the first guardian after a setup. */
  readonly deviceKey: Uint8Array;
}

export interface Round1 {
  readonly identityKey: Uint8Array;
  readonly encryptionKey: Uint8Array;
  /** SHA-256 of the dealer's commitments; empty for a participant that only receives. */
  readonly commitmentHash: Uint8Array;
  readonly signature: Uint8Array;
}

export interface SealedShare {
  readonly index: number;
  readonly box: Uint8Array;
}

export interface Round2 {
  readonly identityKey: Uint8Array;
  readonly commitments: readonly Uint8Array[];
  /** Schnorr proof of knowledge of the constant term: R ‖ μ. */
  readonly proof: Uint8Array;
  readonly shares: readonly SealedShare[];
  readonly signature: Uint8Array;
}

export interface Confirmation {
  readonly identityKey: Uint8Array;
  readonly transcript: Uint8Array;
  readonly groupKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** A receiver's claim that a dealer's share to it is bad, with the key that opens the box. */
export interface Complaint {
  readonly identityKey: Uint8Array;
  readonly accused: Uint8Array;
  readonly decryptionKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** What a dealer keeps between round 1 and round 2. */
export interface Dealing {
  readonly coefficients: Scalar[];
  readonly commitments: Point[];
}

/** The public outcome: what the app records in its sealed head. */
export interface GroupInfo {
  readonly vaultId: string;
  readonly epoch: number;
  readonly threshold: number;
  readonly groupKey: Uint8Array;
  /** The summed commitments A_k: P_i = Σ A_k·i^k for any index. */
  readonly commitments: readonly Uint8Array[];
  readonly members: readonly (Member & { readonly publicShare: Uint8Array })[];
}

const hex = toHex;
/** The culprit of a fault inside the protocol: the identity key in hex (the coordinator maps it to a node id). */
const who = (identityKey: Uint8Array): string => hex(identityKey);

function checkMembers(list: readonly Member[], what: string): void {
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_NODES) {
    throw new RangeError(`${what} must list 1 to ${MAX_NODES} nodes`);
  }
  const indices = new Set<number>();
  const keys = new Set<string>();
  for (const m of list as readonly Member[]) {
    if (!Number.isSafeInteger(m.index) || m.index < 1 || m.index > 255) throw new RangeError(`${what}: bad index`);
    abytes(m.identityKey, `${what} identity key`, ED25519_PUBLIC_BYTES);
    indices.add(m.index);
    keys.add(hex(m.identityKey));
  }
  if (indices.size !== list.length || keys.size !== list.length) throw new RangeError(`${what} repeat a node`);
}

/** Refuses a session that no honest participant should join. */
export function checkSession(session: DkgSession): void {
  fromHex(session.vaultId, 'vaultId', 16);
  fromHex(session.setupId, 'setupId', 16);
  abytes(session.deviceKey, 'device key', ED25519_PUBLIC_BYTES);
  if (!Number.isSafeInteger(session.epoch) || session.epoch < 1) throw new RangeError('epoch must be positive');
  checkMembers(session.dealers, 'dealers');
  checkMembers(session.receivers, 'receivers');
  const G = session.threshold;
  if (!Number.isSafeInteger(G) || G < MIN_THRESHOLD || G > session.receivers.length) {
    throw new RangeError(`threshold must be between ${MIN_THRESHOLD} and the number of receivers`);
  }
  if (session.previous === undefined) {
    const dealers = session.dealers.map((m) => `${m.index}:${hex(m.identityKey)}`).sort();
    const receivers = session.receivers.map((m) => `${m.index}:${hex(m.identityKey)}`).sort();
    if (dealers.join() !== receivers.join()) throw new RangeError('a new setup has every node deal and receive');
  } else {
    const prev = session.previous;
    decodePoint(prev.groupKey, 'group key');
    if (!policyPossible(prev.policy)) throw new RangeError('the policy is impossible');
    if (session.dealers.length < prev.threshold) throw new RangeError('a re-sharing needs at least G old nodes');
    for (const d of session.dealers) {
      if (!prev.publicShares.some((p) => p.index === d.index)) throw new RangeError('a dealer is not an old node');
    }
  }
}

export function sessionHash(session: DkgSession): Uint8Array {
  const members = (list: readonly Member[]): Uint8Array[] =>
    [...list].sort((a, b) => a.index - b.index).flatMap((m) => [frame(m.index), m.identityKey]);
  const prev = session.previous;
  return sha256(
    frame(
      'shardvault/v1/guard/dkg',
      fromHex(session.vaultId, 'vaultId', 16),
      fromHex(session.setupId, 'setupId', 16),
      session.epoch,
      session.threshold,
      frame(...members(session.dealers)),
      frame(...members(session.receivers)),
      prev === undefined
        ? new Uint8Array(0)
        : frame(
            prev.threshold,
            prev.groupKey,
            frame(
              ...[...prev.publicShares]
                .sort((a, b) => a.index - b.index)
                .flatMap((p) => [frame(p.index), p.publicShare]),
            ),
            frame(...prev.policy.guardians),
            prev.policy.approvals,
            prev.policy.policyVersion,
          ),
      session.deviceKey,
    ),
  );
}

/** Everyone who takes part (dealers ∪ receivers), once each, by identity key. */
export function participants(session: DkgSession): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  for (const m of [...session.dealers, ...session.receivers]) seen.set(hex(m.identityKey), m.identityKey);
  return [...seen.values()];
}

export const round1Message = (sid: Uint8Array, r: Pick<Round1, 'encryptionKey' | 'commitmentHash'>): Uint8Array =>
  frame('round1', sid, r.encryptionKey, r.commitmentHash);

export function round2Message(sid: Uint8Array, r: Pick<Round2, 'commitments' | 'proof' | 'shares'>): Uint8Array {
  return frame(
    'round2',
    sid,
    frame(...r.commitments),
    r.proof,
    frame(...[...r.shares].sort((a, b) => a.index - b.index).flatMap((s) => [frame(s.index), s.box])),
  );
}

export const confirmMessage = (sid: Uint8Array, c: Pick<Confirmation, 'transcript' | 'groupKey'>): Uint8Array =>
  frame('confirm', sid, c.transcript, c.groupKey);

export const complaintMessage = (sid: Uint8Array, c: Pick<Complaint, 'accused' | 'decryptionKey'>): Uint8Array =>
  frame('complaint', sid, c.accused, c.decryptionKey);

export const commitmentHash = (commitments: readonly Uint8Array[]): Uint8Array =>
  sha256(frame('commitments', ...commitments));

const shareAad = (sid: Uint8Array, dealer: number, receiver: number): Uint8Array =>
  frame('share', sid, dealer, receiver);

function dealerIndexOf(session: DkgSession, identityKey: Uint8Array): number {
  const d = session.dealers.find((m) => equalBytes(m.identityKey, identityKey));
  if (d === undefined) throw new GuardFault(who(identityKey), 'is not a dealer of this session');
  return d.index;
}

/**
 * A dealer's polynomial: random coefficients, the constant term random for a setup and
 * λ_i·s_i for a re-sharing (`constant`).
 */
export function newDealing(threshold: number, constant?: Scalar): Dealing {
  const coefficients = Array.from({ length: threshold }, () => randomScalar());
  if (constant !== undefined) coefficients[0] = constant;
  return { coefficients, commitments: coefficients.map((a) => mulBase(a)) };
}

/** The Schnorr proof of knowledge of a0 = log_B(C0), bound to the session and the dealer. */
export function proveKnowledge(sid: Uint8Array, dealer: number, a0: Scalar, C0: Point): Uint8Array {
  const k = randomScalar();
  const R = mulBase(k);
  const c = hashToScalar(frame(sid, dealer, encodePoint(C0), encodePoint(R)), POK_DST);
  return concat(encodePoint(R), encodeScalar(scalarAdd(k, scalarMul(a0, c))));
}

export function verifyKnowledge(sid: Uint8Array, dealer: number, C0: Point, proof: Uint8Array): boolean {
  if (!(proof instanceof Uint8Array) || proof.length !== 64) return false;
  try {
    const R = decodePoint(proof.subarray(0, 32), 'proof commitment');
    const mu = decodeScalar(proof.subarray(32), 'proof response');
    const c = hashToScalar(frame(sid, dealer, encodePoint(C0), encodePoint(R)), POK_DST);
    // μ·B − c·C0 = R
    return sumOfProducts([BASE, C0], [mu, -c]).equals(R);
  } catch {
    return false;
  }
}

/** The round-2 body of a dealer (unsigned): commitments, proof, one sealed share per receiver. */
export function dealRound2(
  session: DkgSession,
  dealerIndex: number,
  dealing: Dealing,
  round1: ReadonlyMap<string, Round1>,
): Pick<Round2, 'commitments' | 'proof' | 'shares'> {
  const sid = sessionHash(session);
  const shares = session.receivers.map((r) => {
    const first = round1.get(hex(r.identityKey));
    if (first === undefined) throw new GuardFault(who(r.identityKey), 'sent no round-1 message');
    const share = encodeScalar(evalPolynomial(dealing.coefficients, r.index));
    const box = sealTo(first.encryptionKey, share, shareAad(sid, dealerIndex, r.index));
    share.fill(0);
    return { index: r.index, box };
  });
  return {
    commitments: dealing.commitments.map(encodePoint),
    proof: proveKnowledge(sid, dealerIndex, dealing.coefficients[0]!, dealing.commitments[0]!),
    shares,
  };
}

/**
 * Checks the round-1 messages: one per participant, each signed by its identity key, with a
 * commitment hash exactly when the participant deals. Returns them by identity key (hex).
 */
export function checkRound1(session: DkgSession, messages: readonly Round1[]): Map<string, Round1> {
  const sid = sessionHash(session);
  const dealers = new Set(session.dealers.map((m) => hex(m.identityKey)));
  const byKey = new Map<string, Round1>();
  for (const m of messages) byKey.set(hex(m.identityKey), m);
  for (const key of participants(session)) {
    const m = byKey.get(hex(key));
    if (m === undefined) throw new GuardFault(who(key), 'sent no round-1 message');
    if (!(m.encryptionKey instanceof Uint8Array) || m.encryptionKey.length !== X25519_BYTES) {
      throw new GuardFault(who(key), 'round-1 encryption key is malformed');
    }
    const deals = dealers.has(hex(key));
    if (!(m.commitmentHash instanceof Uint8Array) || m.commitmentHash.length !== (deals ? 32 : 0)) {
      throw new GuardFault(who(key), 'round-1 commitment hash is malformed');
    }
    if (!(m.signature instanceof Uint8Array) || !ed25519Verify(key, round1Message(sid, m), m.signature)) {
      throw new GuardFault(who(key), 'round-1 signature does not verify');
    }
  }
  if (messages.length !== byKey.size || byKey.size !== participants(session).length) {
    throw new GuardFault('the relay', 'sent round-1 messages twice or of strangers');
  }
  return byKey;
}

/**
 * The checks of one dealer's round-2 message anyone can make: signature, commitments matching
 * the round-1 hash, the proof of knowledge, and for a re-sharing C0 = λ_i·P_i. Returns the
 * decoded commitments; throws GuardFault naming the dealer.
 */
export function checkDealing(session: DkgSession, round1: ReadonlyMap<string, Round1>, m: Round2): Point[] {
  const sid = sessionHash(session);
  const name = who(m.identityKey);
  const index = dealerIndexOf(session, m.identityKey);
  if (!(m.signature instanceof Uint8Array) || !ed25519Verify(m.identityKey, round2Message(sid, m), m.signature)) {
    throw new GuardFault(name, 'round-2 signature does not verify');
  }
  if (!Array.isArray(m.commitments) || m.commitments.length !== session.threshold) {
    throw new GuardFault(name, `sent ${m.commitments?.length} commitments, not ${session.threshold}`);
  }
  const first = round1.get(hex(m.identityKey));
  if (first === undefined || !equalBytes(commitmentHash(m.commitments), first.commitmentHash)) {
    throw new GuardFault(name, 'commitments differ from the ones it committed to in round 1');
  }
  let commitments: Point[];
  try {
    commitments = m.commitments.map((c) => decodePoint(c, 'commitment'));
  } catch {
    throw new GuardFault(name, 'sent a commitment that is not a valid group element');
  }
  if (!verifyKnowledge(sid, index, commitments[0]!, m.proof)) {
    throw new GuardFault(name, 'proof of knowledge of its constant term does not verify');
  }
  if (session.previous !== undefined) {
    const prev = session.previous;
    const old = prev.publicShares.find((p) => p.index === index)!;
    const lambda = lagrangeAtZero(
      session.dealers.map((d) => d.index),
      index,
    );
    if (!mul(decodePoint(old.publicShare, 'public share'), lambda).equals(commitments[0]!)) {
      throw new GuardFault(name, 'dealt another constant than its weighted old share');
    }
  }
  const indices = m.shares.map((s) => s.index).sort((a, b) => a - b);
  const expected = session.receivers.map((r) => r.index).sort((a, b) => a - b);
  if (indices.join() !== expected.join()) throw new GuardFault(name, 'did not send exactly one share per receiver');
  return commitments;
}

/** The hash every receiver signs: the session and every round-1 and round-2 message. */
export function transcriptHash(sid: Uint8Array, round1: readonly Round1[], round2: readonly Round2[]): Uint8Array {
  const byKey = <T extends { identityKey: Uint8Array }>(list: readonly T[]): T[] =>
    [...list].sort((a, b) => (hex(a.identityKey) < hex(b.identityKey) ? -1 : 1));
  return sha256(
    frame(
      'transcript',
      sid,
      ...byKey(round1).map((m) => frame(m.identityKey, round1Message(sid, m), m.signature)),
      ...byKey(round2).map((m) => frame(m.identityKey, round2Message(sid, m), m.signature)),
    ),
  );
}

/** The public outcome computed from the dealings: P, the summed commitments, every P_i. */
export function groupInfo(session: DkgSession, dealings: readonly Point[][]): GroupInfo {
  const A: Point[] = [];
  for (let k = 0; k < session.threshold; k++) {
    A.push(dealings.reduce((acc, d) => acc.add(d[k]!), IDENTITY));
  }
  const groupKey = A[0]!;
  if (groupKey.is0()) throw new GuardFault('the dealers', 'made the identity as group key');
  if (session.previous !== undefined && !equalBytes(encodePoint(groupKey), session.previous.groupKey)) {
    throw new GuardFault('the dealers', 'a re-sharing changed the group key');
  }
  return {
    vaultId: session.vaultId,
    epoch: session.epoch,
    threshold: session.threshold,
    groupKey: encodePoint(groupKey),
    commitments: A.map(encodePoint),
    members: session.receivers.map((r) => ({ ...r, publicShare: encodePoint(evalCommitments(A, r.index)) })),
  };
}

export type ReceiveResult =
  | { readonly ok: true; readonly share: Scalar; readonly group: GroupInfo; readonly transcript: Uint8Array }
  | { readonly ok: false; readonly accused: Uint8Array };

/**
 * A receiver's round 3: every public check of every dealing, then its own shares against the
 * commitments. Returns its share and the group, or the dealer whose share to it is bad (the
 * caller then complains). A failed public check throws GuardFault naming the dealer.
 */
export function receiveShares(
  session: DkgSession,
  me: Member,
  encryption: X25519KeyPair,
  round1: readonly Round1[],
  round2: readonly Round2[],
): ReceiveResult {
  const sid = sessionHash(session);
  const first = checkRound1(session, round1);
  const byDealer = new Map(round2.map((m) => [hex(m.identityKey), m]));
  if (round2.length !== byDealer.size) throw new GuardFault('the relay', 'sent a round-2 message twice');
  const dealings: Point[][] = [];
  let share = 0n;
  for (const dealer of session.dealers) {
    const m = byDealer.get(hex(dealer.identityKey));
    if (m === undefined) throw new GuardFault(who(dealer.identityKey), 'sent no round-2 message');
    const commitments = checkDealing(session, first, m);
    dealings.push(commitments);
    const mine = m.shares.find((s) => s.index === me.index)!;
    let value: Scalar;
    try {
      const bytes = openFrom(encryption, mine.box, shareAad(sid, dealer.index, me.index), 'DKG share');
      value = decodeScalar(bytes, 'DKG share');
      bytes.fill(0);
    } catch {
      return { ok: false, accused: dealer.identityKey };
    }
    if (!mulBase(value).equals(evalCommitments(commitments, me.index)))
      return { ok: false, accused: dealer.identityKey };
    share = scalarAdd(share, value);
  }
  if (byDealer.size !== session.dealers.length) throw new GuardFault('the relay', 'sent round-2 messages of strangers');
  const group = groupInfo(session, dealings);
  const mine = group.members.find((m) => m.index === me.index)!;
  if (!equalBytes(encodePoint(mulBase(share)), mine.publicShare)) {
    throw new GuardFault('the dealers', 'the shares do not add up to the public share');
  }
  return { ok: true, share, group, transcript: transcriptHash(sid, round1, round2) };
}

/**
 * Round 4: true once every receiver signed the same transcript and group key as ours; else
 * a GuardFault names the first receiver that did not.
 */
export function checkConfirmations(
  session: DkgSession,
  transcript: Uint8Array,
  groupKey: Uint8Array,
  confirmations: readonly Confirmation[],
): void {
  const sid = sessionHash(session);
  const byKey = new Map(confirmations.map((c) => [hex(c.identityKey), c]));
  for (const r of session.receivers) {
    const c = byKey.get(hex(r.identityKey));
    if (c === undefined) throw new GuardFault(who(r.identityKey), 'did not confirm the transcript');
    if (!(c.signature instanceof Uint8Array) || !ed25519Verify(r.identityKey, confirmMessage(sid, c), c.signature)) {
      throw new GuardFault(who(r.identityKey), 'confirmation signature does not verify');
    }
    if (!equalBytes(c.transcript, transcript) || !equalBytes(c.groupKey, groupKey)) {
      throw new GuardFault(who(r.identityKey), 'confirmed another transcript (the relay equivocated, or it lies)');
    }
  }
}

/**
 * Decides a complaint in public: opens the accused dealer's share to the complainer with the
 * revealed key. Returns the identity key of whoever lied: the dealer if the share is bad, the
 * complainer if it is good (or the complaint does not hold together).
 */
export function judgeComplaint(
  session: DkgSession,
  round1: readonly Round1[],
  round2: readonly Round2[],
  complaint: Complaint,
): Uint8Array {
  const sid = sessionHash(session);
  const complainer = session.receivers.find((r) => equalBytes(r.identityKey, complaint.identityKey));
  if (complainer === undefined) throw new RangeError('a complaint from a stranger');
  if (!ed25519Verify(complainer.identityKey, complaintMessage(sid, complaint), complaint.signature)) {
    return complainer.identityKey;
  }
  const first = checkRound1(session, round1);
  const mine = first.get(hex(complainer.identityKey))!;
  const dealerMessage = round2.find((m) => equalBytes(m.identityKey, complaint.accused));
  if (dealerMessage === undefined) return complainer.identityKey;
  const commitments = checkDealing(session, first, dealerMessage);
  const dealerIndex = dealerIndexOf(session, complaint.accused);
  const box = dealerMessage.shares.find((s) => s.index === complainer.index)!.box;
  let publicKey: Uint8Array;
  try {
    publicKey = x25519PublicOf(complaint.decryptionKey);
  } catch {
    return complainer.identityKey;
  }
  if (!equalBytes(publicKey, mine.encryptionKey)) return complainer.identityKey;
  try {
    const bytes = openFrom(
      { publicKey, privateKey: complaint.decryptionKey },
      box,
      shareAad(sid, dealerIndex, complainer.index),
    );
    const value = decodeScalar(bytes, 'DKG share');
    return mulBase(value).equals(evalCommitments(commitments, complainer.index))
      ? complainer.identityKey
      : complaint.accused;
  } catch {
    return complaint.accused;
  }
}

function x25519PublicOf(privateKey: Uint8Array): Uint8Array {
  abytes(privateKey, 'decryption key', X25519_BYTES);
  return x25519.getPublicKey(privateKey);
}
