/**
 * The guard's two failures a caller must tell apart. A `GuardFault` names the participant
 * whose message failed a check (a DKG dealing, a partial decryption's proof): the protocol
 * aborts or routes around it, and the user is told which node lied. A `GuardRefusal` is a
 * custodian saying no to a request it was right to refuse (not enrolled, replayed, stale,
 * another file's point, too few approvals); its `reason` travels over the wire as data.
 */
import { ShardvaultError } from '../errors';

export class GuardFault extends ShardvaultError {
  override readonly name = 'GuardFault';
  /** Who is at fault: a node id at the coordinator, an identity key (hex) inside the protocol. */
  readonly culprit: string;
  /** What failed, without the culprit's name. */
  readonly detail: string;
  constructor(culprit: string, detail: string) {
    super('corrupt', `${culprit}: ${detail}`);
    this.culprit = culprit;
    this.detail = detail;
  }
}

/** Why a custodian refused; one list, shared by the custodian and the coordinator. */
export const REFUSAL_REASONS = [
  'malformed', // the request failed its schema or a length check
  'not-enrolled', // the device key is not one the node enrolled
  'bad-signature', // the device's or a guardian's signature does not verify
  'replayed', // a request id or nonce this node has seen
  'stale', // the request's time is too far from the node's clock
  'unregistered', // the point R is not registered, or registered for another file or version
  'duplicate', // the point R is registered already
  'approvals', // fewer valid guardian approvals than the policy asks for
  'no-share', // the node holds no share yet (or not for this vault)
  'wrong-vault', // the request names another vault than the one the node serves
  'dkg', // a key-generation step that cannot go on (see the message)
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export class GuardRefusal extends ShardvaultError {
  override readonly name = 'GuardRefusal';
  readonly reason: RefusalReason;
  constructor(reason: RefusalReason, message: string) {
    super(reason === 'malformed' ? 'usage' : 'auth', message);
    this.reason = reason;
  }
}

export function isRefusalReason(value: unknown): value is RefusalReason {
  return typeof value === 'string' && (REFUSAL_REASONS as readonly string[]).includes(value);
}
