/**
 * The guard's messages as JSON (byte strings in base64), and strict readers for them: every
 * body a custodian or the coordinator receives comes from the network and may be a well-formed
 * lie, so each reader checks shape, lengths and bounds and throws CorruptError naming the field
 * (format/json.ts). Cryptographic checks come after, in dkg.ts, request.ts and custodian.ts.
 */
import { toBase64 } from '../crypto/bytes';
import { SEALED_TO_OVERHEAD, X25519_BYTES } from '../crypto/sealed-box';
import { ED25519_PUBLIC_BYTES, ED25519_SIGNATURE_BYTES } from '../crypto/signing';
import { JsonReader } from '../format/json';
import type { Complaint, Confirmation, DkgSession, Member, Round1, Round2 } from './dkg';
import { MAX_NODES } from './dkg';
import { POINT_BYTES, SCALAR_BYTES } from './group';
import type { AccessRequest, Approval, DeviceRemoval, EnrolRequest, PolicyChange, Registration } from './request';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const b64 = (bytes: Uint8Array): string => toBase64(bytes);
export const MAX_APPROVALS = 64;
export const MAX_GUARDIANS = 64;
/** The most devices a node's `devices` answer lists. */
export const MAX_DEVICES = 1000;
const MAX_TIME = 2 ** 50;
const SHARE_BOX_BYTES = SEALED_TO_OVERHEAD + SCALAR_BYTES;

/** A JsonReader with fixed-length byte strings. */
export class WireReader extends JsonReader {
  bytes(value: unknown, field: string, length: number): Uint8Array {
    const out = this.base64(value, field, length);
    if (out.length !== length) this.fail(field, `must be ${length} bytes`);
    return out;
  }
}

// ---- DKG -------------------------------------------------------------------------------

const memberJson = (m: Member): Json => ({ index: m.index, identityKey: b64(m.identityKey) });

export function sessionToJson(s: DkgSession): Json {
  return {
    vaultId: s.vaultId,
    setupId: s.setupId,
    epoch: s.epoch,
    threshold: s.threshold,
    dealers: s.dealers.map(memberJson),
    receivers: s.receivers.map(memberJson),
    previous:
      s.previous === undefined
        ? null
        : {
            threshold: s.previous.threshold,
            groupKey: b64(s.previous.groupKey),
            publicShares: s.previous.publicShares.map((p) => ({ index: p.index, publicShare: b64(p.publicShare) })),
            policy: {
              guardians: s.previous.policy.guardians.map(b64),
              approvals: s.previous.policy.approvals,
              policyVersion: s.previous.policy.policyVersion,
            },
          },
    deviceKey: b64(s.deviceKey),
  };
}

function readMembers(r: WireReader, value: unknown, field: string): Member[] {
  return r.array(value, field, MAX_NODES).map((item, i) => {
    const m = r.object(item, `${field}[${i}]`, ['index', 'identityKey']);
    return {
      index: r.int(m.index, `${field}[${i}].index`, 1, 255),
      identityKey: r.bytes(m.identityKey, `${field}[${i}].identityKey`, ED25519_PUBLIC_BYTES),
    };
  });
}

export function readSession(r: WireReader, value: unknown, field = 'session'): DkgSession {
  const o = r.object(value, field, [
    'vaultId',
    'setupId',
    'epoch',
    'threshold',
    'dealers',
    'receivers',
    'previous',
    'deviceKey',
  ]);
  let previous: DkgSession['previous'];
  if (o.previous !== null) {
    const p = r.object(o.previous, `${field}.previous`, ['threshold', 'groupKey', 'publicShares', 'policy']);
    const policy = r.object(p.policy, `${field}.previous.policy`, ['guardians', 'approvals', 'policyVersion']);
    previous = {
      threshold: r.int(p.threshold, `${field}.previous.threshold`, 2, MAX_NODES),
      groupKey: r.bytes(p.groupKey, `${field}.previous.groupKey`, POINT_BYTES),
      publicShares: r.array(p.publicShares, `${field}.previous.publicShares`, MAX_NODES).map((item, i) => {
        const s = r.object(item, `${field}.previous.publicShares[${i}]`, ['index', 'publicShare']);
        return {
          index: r.int(s.index, `publicShares[${i}].index`, 1, 255),
          publicShare: r.bytes(s.publicShare, `publicShares[${i}].publicShare`, POINT_BYTES),
        };
      }),
      policy: {
        guardians: r
          .array(policy.guardians, `${field}.previous.policy.guardians`, MAX_GUARDIANS)
          .map((g, i) => r.bytes(g, `${field}.previous.policy.guardians[${i}]`, ED25519_PUBLIC_BYTES)),
        approvals: r.int(policy.approvals, `${field}.previous.policy.approvals`, 0, MAX_GUARDIANS),
        policyVersion: r.int(policy.policyVersion, `${field}.previous.policy.policyVersion`, 1, 0xffffffff),
      },
    };
  }
  return {
    vaultId: r.hex(o.vaultId, `${field}.vaultId`, 16),
    setupId: r.hex(o.setupId, `${field}.setupId`, 16),
    epoch: r.int(o.epoch, `${field}.epoch`, 1, 0xffffffff),
    threshold: r.int(o.threshold, `${field}.threshold`, 2, MAX_NODES),
    dealers: readMembers(r, o.dealers, `${field}.dealers`),
    receivers: readMembers(r, o.receivers, `${field}.receivers`),
    ...(previous === undefined ? {} : { previous }),
    deviceKey: r.bytes(o.deviceKey, `${field}.deviceKey`, ED25519_PUBLIC_BYTES),
  };
}

export const round1ToJson = (m: Round1): Json => ({
  identityKey: b64(m.identityKey),
  encryptionKey: b64(m.encryptionKey),
  commitmentHash: b64(m.commitmentHash),
  signature: b64(m.signature),
});

export function readRound1(r: WireReader, value: unknown, field: string): Round1 {
  const o = r.object(value, field, ['identityKey', 'encryptionKey', 'commitmentHash', 'signature']);
  const commitmentHash = r.base64(o.commitmentHash, `${field}.commitmentHash`, 32);
  if (commitmentHash.length !== 0 && commitmentHash.length !== 32)
    r.fail(`${field}.commitmentHash`, 'must be 0 or 32 bytes');
  return {
    identityKey: r.bytes(o.identityKey, `${field}.identityKey`, ED25519_PUBLIC_BYTES),
    encryptionKey: r.bytes(o.encryptionKey, `${field}.encryptionKey`, X25519_BYTES),
    commitmentHash,
    signature: r.bytes(o.signature, `${field}.signature`, ED25519_SIGNATURE_BYTES),
  };
}

export const round2ToJson = (m: Round2): Json => ({
  identityKey: b64(m.identityKey),
  commitments: m.commitments.map(b64),
  proof: b64(m.proof),
  shares: m.shares.map((s) => ({ index: s.index, box: b64(s.box) })),
  signature: b64(m.signature),
});

export function readRound2(r: WireReader, value: unknown, field: string): Round2 {
  const o = r.object(value, field, ['identityKey', 'commitments', 'proof', 'shares', 'signature']);
  return {
    identityKey: r.bytes(o.identityKey, `${field}.identityKey`, ED25519_PUBLIC_BYTES),
    commitments: r
      .array(o.commitments, `${field}.commitments`, MAX_NODES)
      .map((c, i) => r.bytes(c, `${field}.commitments[${i}]`, POINT_BYTES)),
    proof: r.bytes(o.proof, `${field}.proof`, POINT_BYTES + SCALAR_BYTES),
    shares: r.array(o.shares, `${field}.shares`, MAX_NODES).map((item, i) => {
      const s = r.object(item, `${field}.shares[${i}]`, ['index', 'box']);
      return {
        index: r.int(s.index, `${field}.shares[${i}].index`, 1, 255),
        box: r.bytes(s.box, `${field}.shares[${i}].box`, SHARE_BOX_BYTES),
      };
    }),
    signature: r.bytes(o.signature, `${field}.signature`, ED25519_SIGNATURE_BYTES),
  };
}

export const confirmationToJson = (c: Confirmation): Json => ({
  identityKey: b64(c.identityKey),
  transcript: b64(c.transcript),
  groupKey: b64(c.groupKey),
  signature: b64(c.signature),
});

export function readConfirmation(r: WireReader, value: unknown, field: string): Confirmation {
  const o = r.object(value, field, ['identityKey', 'transcript', 'groupKey', 'signature']);
  return {
    identityKey: r.bytes(o.identityKey, `${field}.identityKey`, ED25519_PUBLIC_BYTES),
    transcript: r.bytes(o.transcript, `${field}.transcript`, 32),
    groupKey: r.bytes(o.groupKey, `${field}.groupKey`, POINT_BYTES),
    signature: r.bytes(o.signature, `${field}.signature`, ED25519_SIGNATURE_BYTES),
  };
}

export const complaintToJson = (c: Complaint): Json => ({
  identityKey: b64(c.identityKey),
  accused: b64(c.accused),
  decryptionKey: b64(c.decryptionKey),
  signature: b64(c.signature),
});

export function readComplaint(r: WireReader, value: unknown, field: string): Complaint {
  const o = r.object(value, field, ['identityKey', 'accused', 'decryptionKey', 'signature']);
  return {
    identityKey: r.bytes(o.identityKey, `${field}.identityKey`, ED25519_PUBLIC_BYTES),
    accused: r.bytes(o.accused, `${field}.accused`, ED25519_PUBLIC_BYTES),
    decryptionKey: r.bytes(o.decryptionKey, `${field}.decryptionKey`, X25519_BYTES),
    signature: r.bytes(o.signature, `${field}.signature`, ED25519_SIGNATURE_BYTES),
  };
}

// ---- requests --------------------------------------------------------------------------

/** A registration and a request share every field but the request id. */
const FILE_MESSAGE_FIELDS = ['vaultId', 'fileId', 'version', 'point', 'nonce', 'time', 'deviceKey', 'signature'];

export const registrationToJson = (m: Registration): Json => ({
  vaultId: m.vaultId,
  fileId: m.fileId,
  version: m.version,
  point: b64(m.point),
  nonce: b64(m.nonce),
  time: m.time,
  deviceKey: b64(m.deviceKey),
  signature: b64(m.signature),
});

function readFileMessage(r: WireReader, o: Record<string, unknown>, field: string): Registration {
  return {
    vaultId: r.hex(o.vaultId, `${field}.vaultId`, 16),
    fileId: r.hex(o.fileId, `${field}.fileId`, 16),
    version: r.int(o.version, `${field}.version`, 1, 0xffffffff),
    point: r.bytes(o.point, `${field}.point`, POINT_BYTES),
    nonce: r.bytes(o.nonce, `${field}.nonce`, 16),
    time: r.int(o.time, `${field}.time`, 0, MAX_TIME),
    deviceKey: r.bytes(o.deviceKey, `${field}.deviceKey`, ED25519_PUBLIC_BYTES),
    signature: r.bytes(o.signature, `${field}.signature`, ED25519_SIGNATURE_BYTES),
  };
}

export function readRegistration(r: WireReader, value: unknown, field: string): Registration {
  return readFileMessage(r, r.object(value, field, FILE_MESSAGE_FIELDS), field);
}

export const requestToJson = (m: AccessRequest): Json => ({
  ...(registrationToJson(m) as Record<string, Json>),
  requestId: m.requestId,
});

export function readRequest(r: WireReader, value: unknown, field: string): AccessRequest {
  const o = r.object(value, field, [...FILE_MESSAGE_FIELDS, 'requestId']);
  return { ...readFileMessage(r, o, field), requestId: r.hex(o.requestId, `${field}.requestId`, 16) };
}

export const approvalToJson = (a: Approval): Json => ({
  guardianKey: b64(a.guardianKey),
  expiry: a.expiry,
  signature: b64(a.signature),
});

export function readApprovals(r: WireReader, value: unknown, field: string): Approval[] {
  return r.array(value, field, MAX_APPROVALS).map((item, i) => {
    const o = r.object(item, `${field}[${i}]`, ['guardianKey', 'expiry', 'signature']);
    return {
      guardianKey: r.bytes(o.guardianKey, `${field}[${i}].guardianKey`, ED25519_PUBLIC_BYTES),
      expiry: r.int(o.expiry, `${field}[${i}].expiry`, 0, MAX_TIME),
      signature: r.bytes(o.signature, `${field}[${i}].signature`, ED25519_SIGNATURE_BYTES),
    };
  });
}

export const policyChangeToJson = (p: PolicyChange): Json => ({
  vaultId: p.vaultId,
  requestId: p.requestId,
  guardians: p.guardians.map(b64),
  approvals: p.approvals,
  policyVersion: p.policyVersion,
  nonce: b64(p.nonce),
  time: p.time,
  deviceKey: b64(p.deviceKey),
  signature: b64(p.signature),
});

export function readPolicyChange(r: WireReader, value: unknown, field: string): PolicyChange {
  const o = r.object(value, field, [
    'vaultId',
    'requestId',
    'guardians',
    'approvals',
    'policyVersion',
    'nonce',
    'time',
    'deviceKey',
    'signature',
  ]);
  return {
    vaultId: r.hex(o.vaultId, `${field}.vaultId`, 16),
    requestId: r.hex(o.requestId, `${field}.requestId`, 16),
    guardians: r
      .array(o.guardians, `${field}.guardians`, MAX_GUARDIANS)
      .map((g, i) => r.bytes(g, `${field}.guardians[${i}]`, ED25519_PUBLIC_BYTES)),
    approvals: r.int(o.approvals, `${field}.approvals`, 0, MAX_GUARDIANS),
    policyVersion: r.int(o.policyVersion, `${field}.policyVersion`, 1, 0xffffffff),
    nonce: r.bytes(o.nonce, `${field}.nonce`, 16),
    time: r.int(o.time, `${field}.time`, 0, MAX_TIME),
    deviceKey: r.bytes(o.deviceKey, `${field}.deviceKey`, ED25519_PUBLIC_BYTES),
    signature: r.bytes(o.signature, `${field}.signature`, ED25519_SIGNATURE_BYTES),
  };
}

export const enrolRequestToJson = (e: EnrolRequest): Json => ({
  vaultId: e.vaultId,
  requestId: e.requestId,
  time: e.time,
  deviceKey: b64(e.deviceKey),
  signature: b64(e.signature),
});

export function readEnrolRequest(r: WireReader, value: unknown, field: string): EnrolRequest {
  const o = r.object(value, field, ['vaultId', 'requestId', 'time', 'deviceKey', 'signature']);
  return {
    vaultId: r.hex(o.vaultId, `${field}.vaultId`, 16),
    requestId: r.hex(o.requestId, `${field}.requestId`, 16),
    time: r.int(o.time, `${field}.time`, 0, MAX_TIME),
    deviceKey: r.bytes(o.deviceKey, `${field}.deviceKey`, ED25519_PUBLIC_BYTES),
    signature: r.bytes(o.signature, `${field}.signature`, ED25519_SIGNATURE_BYTES),
  };
}

export const removalToJson = (d: DeviceRemoval): Json => ({
  vaultId: d.vaultId,
  requestId: d.requestId,
  device: b64(d.device),
  nonce: b64(d.nonce),
  time: d.time,
  deviceKey: b64(d.deviceKey),
  signature: b64(d.signature),
});

export function readRemoval(r: WireReader, value: unknown, field: string): DeviceRemoval {
  const o = r.object(value, field, ['vaultId', 'requestId', 'device', 'nonce', 'time', 'deviceKey', 'signature']);
  return {
    vaultId: r.hex(o.vaultId, `${field}.vaultId`, 16),
    requestId: r.hex(o.requestId, `${field}.requestId`, 16),
    device: r.bytes(o.device, `${field}.device`, ED25519_PUBLIC_BYTES),
    nonce: r.bytes(o.nonce, `${field}.nonce`, 16),
    time: r.int(o.time, `${field}.time`, 0, MAX_TIME),
    deviceKey: r.bytes(o.deviceKey, `${field}.deviceKey`, ED25519_PUBLIC_BYTES),
    signature: r.bytes(o.signature, `${field}.signature`, ED25519_SIGNATURE_BYTES),
  };
}
