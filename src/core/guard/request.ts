/**
 * The signed messages of a guarded opening, as bytes to sign (every field length-framed, see
 * group.ts `frame`) and the checks a custodian makes on them. A device signs its registration
 * of a file's point at put and each request to open; a guardian signs an approval of one
 * request, valid at most APPROVAL_MAX_MS; the requester's own approval never counts.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { fromHex, toHex, u64be } from '../crypto/bytes';
import { ed25519Verify } from '../crypto/signing';
import { frame } from './group';

/** How far a request's time may be from the node's clock, either way. */
export const REQUEST_SKEW_MS = 5 * 60_000;
/** The longest an approval may last. */
export const APPROVAL_MAX_MS = 15 * 60_000;

/** At put: "this point R is file (fileId, version)'s", by an enrolled device. */
export interface Registration {
  readonly vaultId: string;
  readonly fileId: string;
  readonly version: number;
  readonly point: Uint8Array;
  readonly nonce: Uint8Array;
  readonly time: number;
  readonly deviceKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** To open: "give me your partial for R of (fileId, version)", by an enrolled device. */
export interface AccessRequest {
  readonly vaultId: string;
  /** 16 random bytes, hex: approvals name it. */
  readonly requestId: string;
  readonly fileId: string;
  readonly version: number;
  readonly point: Uint8Array;
  readonly nonce: Uint8Array;
  readonly time: number;
  readonly deviceKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** A guardian's yes to one request, until `expiry` (ms since the epoch). */
export interface Approval {
  readonly guardianKey: Uint8Array;
  readonly expiry: number;
  readonly signature: Uint8Array;
}

/** A change of the guardian policy, itself needing the current policy's approvals. */
export interface PolicyChange {
  readonly vaultId: string;
  readonly requestId: string;
  readonly guardians: readonly Uint8Array[];
  readonly approvals: number;
  /** One more than the node's current policy version: a change applies once. */
  readonly policyVersion: number;
  readonly nonce: Uint8Array;
  readonly time: number;
  readonly deviceKey: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * A new device's enrolment at the guard's nodes, when the policy asks for approvals: "enrol my
 * key", signed by that key; guardians approve it (changeApprovalDigest over enrolMessage), and
 * each node checks the approvals before it takes the key (with its enrolment code, as ever).
 */
export interface EnrolRequest {
  readonly vaultId: string;
  readonly requestId: string;
  readonly time: number;
  readonly deviceKey: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * "Take device key `device` off the guard's nodes" (a lost laptop): signed by an enrolled device;
 * every node that takes it drops the key from its enrolled devices, so the key is refused for
 * every request from then on. Removing another device needs the approvals a change of the guard
 * needs (removalApprovalsNeeded); a device removing itself needs none.
 */
export interface DeviceRemoval {
  readonly vaultId: string;
  readonly requestId: string;
  /** The device key to remove. */
  readonly device: Uint8Array;
  readonly nonce: Uint8Array;
  readonly time: number;
  /** The requester. */
  readonly deviceKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** How long an enrolment request stays usable at a node: as long as an approval may last. */
export const ENROL_REQUEST_MAX_MS = APPROVAL_MAX_MS + REQUEST_SKEW_MS;

const id16 = (text: string, what: string): Uint8Array => fromHex(text, what, 16);

export const enrolMessage = (e: Omit<EnrolRequest, 'signature'>): Uint8Array =>
  frame(
    'shardvault/v1/guard/enrol',
    id16(e.vaultId, 'vaultId'),
    id16(e.requestId, 'requestId'),
    u64be(e.time),
    e.deviceKey,
  );

export const removalMessage = (d: Omit<DeviceRemoval, 'signature'>): Uint8Array =>
  frame(
    'shardvault/v1/guard/device-remove',
    id16(d.vaultId, 'vaultId'),
    id16(d.requestId, 'requestId'),
    d.device,
    d.nonce,
    u64be(d.time),
    d.deviceKey,
  );

/** The fields a registration and a request share, framed after the tag (and request id). */
const fileFields = (r: Omit<Registration, 'signature'>): (Uint8Array | number)[] => [
  id16(r.fileId, 'fileId'),
  r.version,
  r.point,
  r.nonce,
  u64be(r.time),
  r.deviceKey,
];

export const registrationMessage = (r: Omit<Registration, 'signature'>): Uint8Array =>
  frame('shardvault/v1/guard/register', id16(r.vaultId, 'vaultId'), ...fileFields(r));

export const requestMessage = (r: Omit<AccessRequest, 'signature'>): Uint8Array =>
  frame('shardvault/v1/guard/request', id16(r.vaultId, 'vaultId'), id16(r.requestId, 'requestId'), ...fileFields(r));

export const policyMessage = (p: Omit<PolicyChange, 'signature'>): Uint8Array =>
  frame(
    'shardvault/v1/guard/policy',
    id16(p.vaultId, 'vaultId'),
    id16(p.requestId, 'requestId'),
    frame(...p.guardians),
    p.approvals,
    p.policyVersion,
    p.nonce,
    u64be(p.time),
    p.deviceKey,
  );

/**
 * What a guardian signs to approve opening one file: H(domain tag, vaultId, requestId,
 * requester key, fileId, version, R, expiry).
 */
export function approvalDigest(
  request: Omit<AccessRequest, 'signature' | 'nonce' | 'time'>,
  expiry: number,
): Uint8Array {
  return sha256(
    frame(
      'shardvault/v1/guard/approval',
      id16(request.vaultId, 'vaultId'),
      id16(request.requestId, 'requestId'),
      request.deviceKey,
      id16(request.fileId, 'fileId'),
      request.version,
      request.point,
      u64be(expiry),
    ),
  );
}

/** What a guardian signs to approve a policy change or a re-sharing: H(tag, vaultId, requestId, requester, subject, expiry). */
export function changeApprovalDigest(
  vaultId: string,
  requestId: string,
  requester: Uint8Array,
  subject: Uint8Array,
  expiry: number,
): Uint8Array {
  return sha256(
    frame(
      'shardvault/v1/guard/change-approval',
      id16(vaultId, 'vaultId'),
      id16(requestId, 'requestId'),
      requester,
      sha256(subject),
      u64be(expiry),
    ),
  );
}

/**
 * What a guardian signs to deny request `requestId` of `requester` (an opening, a change of the
 * guard, an enrolment): H(tag "denial", vaultId, requestId, requester). Its own tag: it is no
 * approval digest, so a denial is never an approval, nor an approval a denial. The requester
 * believes a denial only with this signature by a guardian of its head.
 */
export function denialDigest(vaultId: string, requestId: string, requester: Uint8Array): Uint8Array {
  return sha256(frame('shardvault/v1/guard/denial', id16(vaultId, 'vaultId'), id16(requestId, 'requestId'), requester));
}

/**
 * How many guardians' approvals a change of the guard (a policy change, a re-sharing) needs:
 * the policy's g, and with g = 0 still one unless the requester is a guardian itself. "Any
 * enrolled device" opens files; it does not take the guard (make itself the only guardian,
 * or re-share the key to nodes it runs) without a guardian's say.
 */
export function changeApprovalsNeeded(
  policy: { readonly guardians: readonly Uint8Array[]; readonly approvals: number },
  requester: Uint8Array,
): number {
  if (policy.approvals > 0) return policy.approvals;
  return policy.guardians.some((k) => toHex(k) === toHex(requester)) ? 0 : 1;
}

/**
 * How many approvals a device removal needs: none when a device removes itself (it gives up
 * only its own access: a thief holding it gains nothing by that), else what any change of the
 * guard needs.
 */
export function removalApprovalsNeeded(
  policy: { readonly guardians: readonly Uint8Array[]; readonly approvals: number },
  removal: Pick<DeviceRemoval, 'device' | 'deviceKey'>,
): number {
  return toHex(removal.device) === toHex(removal.deviceKey) ? 0 : changeApprovalsNeeded(policy, removal.deviceKey);
}

/**
 * The number of distinct guardians whose approval of `digest(expiry)` is valid now: signed by a
 * guardian of the policy, not the requester, not expired, lasting at most APPROVAL_MAX_MS.
 */
export function countApprovals(
  approvals: readonly Approval[],
  guardians: readonly Uint8Array[],
  requester: Uint8Array,
  digest: (expiry: number) => Uint8Array,
  now: number,
): number {
  const counted = new Set<string>();
  const guardianSet = new Set(guardians.map(toHex));
  for (const a of approvals) {
    const key = toHex(a.guardianKey);
    if (!guardianSet.has(key) || key === toHex(requester) || counted.has(key)) continue;
    if (!Number.isSafeInteger(a.expiry) || a.expiry < now || a.expiry > now + APPROVAL_MAX_MS) continue;
    if (ed25519Verify(a.guardianKey, digest(a.expiry), a.signature)) counted.add(key);
  }
  return counted.size;
}
