/**
 * The one contract between the app's Coordinator and a node's Custodian: a method name and a
 * JSON body in, a JSON envelope out. The node server hosts a Custodian behind its authenticated
 * RPC endpoint by passing each call to `custodian.handle(method, body)` and sending back what it
 * returns; the app's side implements `GuardTransport.call` over that endpoint (TLS with the
 * node's pinned certificate). Byte strings are base64 (wire.ts); every body is checked by the
 * receiver, never trusted.
 *
 * The envelope: `{ ok: true, value }`, or `{ ok: false, reason, message }` with a reason from
 * errors.ts REFUSAL_REASONS (a custodian's refusal, which the app shows and never retries
 * elsewhere as if the node were down). A node that cannot be reached makes `call` reject with
 * OfflineError; any other rejection is treated the same (the node is routed around).
 *
 * Method names are words of [a-z0-9-] (a node server can route `POST …/guard/<method>`
 * without escaping). Methods (request body → `value` of a successful answer):
 *
 * - `info` — `{}` → `{ identityKey, vaultId | null, epoch | null, index | null, publicShare | null,
 *   policyVersion, logLength, logHead }`. Unauthenticated facts the app checks against its
 *   sealed head (the public share it computed from the commitments, never this node's word).
 * - `dkg-round1` — `{ session, authorization, approvals }` → a Round1 message. `session` is the
 *   DkgSession (wire.ts sessionToJson), `authorization` the device's Ed25519 signature over the
 *   session hash (the device must be enrolled), `approvals` the guardians' approvals of the
 *   re-sharing when the node already holds a share (changeApprovalDigest over the session hash).
 *   The node draws its session encryption key and, if it deals, its polynomial; kept in memory.
 * - `dkg-round2` — `{ setupId, round1: Round1[] }` → a Round2 message (dealers only): its
 *   commitments, proof of knowledge and one sealed share per receiver, all signed.
 * - `dkg-round3` — `{ setupId, round1: Round1[], round2: Round2[] }` → `{ confirmation }` or
 *   `{ complaint }` (receivers only; round1 again, since a node that only receives has not seen
 *   it, and one that deals checks it is the same). A complaint reveals the session decryption key
 *   so the app can judge it.
 * - `dkg-finish` — `{ setupId, round2: Round2[], confirmations: Confirmation[] }` → `{ index |
 *   null, publicShare | null }`. Once every receiver confirmed one transcript, a receiver seals
 *   and keeps its new share; a dealer that does not receive retires its old share. In a
 *   re-sharing both are only staged (the old share keeps answering) until `dkg-commit`. Any
 *   failed check refuses and names the node at fault in the message.
 * - `dkg-commit` — `{ setupId }` → `{ index | null, publicShare | null }`: the staged result of
 *   re-sharing `setupId` takes effect (new share in use, or old share retired); the old share
 *   is overwritten. Sent by the app once its sealed head records the new set; repeating it
 *   answers the same; refused when no such re-sharing is staged.
 * - `register` — `{ registration }` → `{}`. Records (fileId, version, R); refuses a point seen
 *   before (`duplicate`), a device not enrolled, a bad signature or a stale time.
 * - `partial` — `{ request, approvals }` → `{ index, partial, proof }`: Z_i = s_i·R and its DLEQ
 *   proof (dleq.ts, GUARD_CONTEXT). Refuses an unregistered or another file's R, a replayed
 *   request id, a stale time, a device not enrolled, or fewer than g valid approvals. Logged.
 * - `policy` — `{ change, approvals }` → `{ policyVersion }`: replaces the guardians and g; needs
 *   g approvals of the current policy (changeApprovalDigest over the change's signed bytes).
 * - `device-remove` — `{ removal, approvals }` → `{ removed }`: the node drops the device key
 *   `removal.device` from its enrolled devices (every later request signed by it is refused;
 *   `removed` is false when it was not enrolled here). Needs the approvals of a change of the
 *   guard (changeApprovalDigest over the removal's signed bytes), none when a device removes
 *   itself (request.ts removalApprovalsNeeded); refuses to remove a guardian's key. Logged.
 * - `devices` — `{}` → `{ devices: [{ key, enrolled }] }`: the device keys the node enrolled
 *   (base64) and when (ISO 8601), at most MAX_DEVICES; what `guard status` lists, to pick the
 *   key of a lost device. A node older than this method refuses it as malformed.
 * - `log` — `{ from }` → `{ entries }`: the request log from entry `from` on (at most
 *   LOG_PAGE entries), each with the hash that chains it to the one before.
 */
import { OfflineError } from '../errors';
import { GuardFault, GuardRefusal, isRefusalReason } from './errors';
import type { Json } from './wire';

export const GUARD_METHODS = [
  'info',
  'dkg-round1',
  'dkg-round2',
  'dkg-round3',
  'dkg-finish',
  'dkg-commit',
  'register',
  'partial',
  'policy',
  'device-remove',
  'devices',
  'log',
] as const;
export type GuardMethod = (typeof GUARD_METHODS)[number];

/** The fields of an `info` answer (above), in one place for every reader of it. */
export const INFO_FIELDS = [
  'identityKey',
  'vaultId',
  'epoch',
  'index',
  'publicShare',
  'policyVersion',
  'logLength',
  'logHead',
] as const;

export function isGuardMethod(value: unknown): value is GuardMethod {
  return typeof value === 'string' && (GUARD_METHODS as readonly string[]).includes(value);
}

export type GuardResponse =
  | { readonly ok: true; readonly value: Json }
  | { readonly ok: false; readonly reason: string; readonly message: string };

export interface GuardTransport {
  /** Rejects (OfflineError) when the node cannot be reached; otherwise the node's envelope. */
  call(nodeId: string, method: GuardMethod, body: Json): Promise<GuardResponse>;
}

/** The value of a successful answer, or the node's refusal as a GuardRefusal (its words kept). */
export function unwrap(nodeId: string, response: unknown): Json {
  if (typeof response !== 'object' || response === null) throw new GuardFault(nodeId, 'answered with no envelope');
  const r = response as Record<string, unknown>;
  if (r.ok === true && 'value' in r) return r.value as Json;
  if (r.ok === false && isRefusalReason(r.reason) && typeof r.message === 'string') {
    throw new GuardRefusal(r.reason, `${nodeId} refused: ${r.message.slice(0, 500)}`);
  }
  throw new GuardFault(nodeId, 'answered with a malformed envelope');
}

/**
 * A transport to custodians in this process (tests, and a future in-app node): each body goes
 * through JSON text both ways, as it would over the wire. `down` nodes reject as unreachable.
 */
export function localTransport(
  custodians: ReadonlyMap<string, { handle(method: string, body: unknown): Promise<GuardResponse> }>,
  down: ReadonlySet<string> = new Set(),
): GuardTransport {
  return {
    async call(nodeId, method, body) {
      const custodian = custodians.get(nodeId);
      if (custodian === undefined || down.has(nodeId)) throw new OfflineError(`${nodeId} cannot be reached`);
      const answer = await custodian.handle(method, JSON.parse(JSON.stringify(body)) as unknown);
      return JSON.parse(JSON.stringify(answer)) as GuardResponse;
    },
  };
}
