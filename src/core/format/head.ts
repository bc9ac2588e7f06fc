/**
 * The vault head: the small record that says what the vault holds now. AEAD alone can't
 * tell an old manifest from the current one, nor notice a hidden one; the head's counter
 * can (readers take the highest valid head and refuse one older than this profile saw).
 */
import { toBase64 } from '../crypto/bytes';
import type { KdfParams } from '../crypto/kdf';
import { CorruptError } from '../errors';
import { JsonReader } from './json';
import {
  isLocationDomain,
  LOCATION_DOMAIN_RULE,
  LOCATION_KIND_NAMES,
  type LocationKindName,
} from '../../shared/location-kinds';
import {
  DEAL_ID_BYTES,
  DOMAIN_HEAD_VERSION,
  HEAD_FORMAT_VERSION,
  PACK_HEAD_VERSION,
  headHeader,
  ID_BYTES,
  KEYS_FORMAT_VERSION,
  MAX_FILES,
  MAX_LOCATIONS,
  MAX_SEGMENT,
  MIN_SEGMENT,
  openJson,
  readHeadHeader,
  readKdfParams,
  readSalt,
  sealJson,
} from './records';

export interface Policy {
  /** k: shards needed to read a file. */
  readonly data: number;
  /** n: shards written per file. */
  readonly total: number;
  /** t: key shares needed to unlock. */
  readonly threshold: number;
  /** r: copies of each shard. */
  readonly replicas: number;
  readonly segmentSize: number;
}

export interface LocationEntry {
  readonly id: string;
  readonly name: string;
  readonly kind: LocationKindName;
  /** Where it is, without credentials. */
  readonly display: string;
  /**
   * How to reach it, without secrets (version 3 heads): the SPEC a profile keeps
   * (storage/open.ts ParsedSpec.spec), with an SFTP location's pinned host-key fingerprint, so
   * a device that opens the vault can reach it with only a password or key to give. Absent
   * in older heads, and until a device that knows it commits.
   */
  readonly spec?: string;
  /**
   * Its failure domain (version 4 heads, shared/location-kinds.ts LOCATION_DOMAIN): locations
   * with the same one fail together and count once for the policy. Absent: a domain of its own.
   */
  readonly domain?: string;
}

/** Longest `locations[].spec` (the profile's own bound). */
export const MAX_LOCATION_SPEC = 4096;

export interface FileRef {
  readonly id: string;
  readonly version: number;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly created: string;
  /**
   * A packed file (version 5 heads): its bytes are `size` bytes at `offset` of the pack whose
   * entry has id `pack.id` (docs/FORMAT.md "Packs"); it has no manifest or shards of its own.
   * Absent for a file stored on its own, and for a pack.
   */
  readonly pack?: PackExtent;
}

/** Where a packed file's bytes are: in the pack with this file id, from this byte on. */
export interface PackExtent {
  readonly id: string;
  readonly offset: number;
}

export interface LogAnchor {
  readonly device: string;
  readonly seq: number;
  readonly hash: string;
}

export interface Head {
  readonly vaultId: string;
  readonly counter: number;
  readonly generation: number;
  readonly policy: Policy;
  readonly locations: readonly LocationEntry[];
  readonly files: readonly FileRef[];
  readonly tombstones: readonly { readonly id: string; readonly version: number }[];
  readonly logPublicKey: Uint8Array;
  readonly logPrivateKey: Uint8Array;
  /** RK (from the recovery code), kept so that any re-deal can seal recovery boxes too. */
  readonly recoveryKey: Uint8Array;
  readonly logAnchors: readonly LogAnchor[];
  readonly updated: string;
  /** The deal id of the current generation's key shares (null while they are version 1 shares). */
  readonly dealId: string | null;
  /**
   * The passphrase KDF of the vault (scrypt cost and salt), vouched for by the vault key:
   * a location's own record is public and could lie (FORMAT.md). Null only in a version 1 head.
   */
  readonly kdf: VaultKdf | null;
  /** The guard of guarded files (docs/GUARD.md), once `guard setup` ran; absent before. */
  readonly guard?: HeadGuard;
  /** A change of policy whose files are still being re-coded (version 3 heads; absent when none). */
  readonly recode?: RecodeJob;
}

/** A node of the guard: its location, its index, P_i, its identity key and its TLS pin. */
export interface HeadGuardMember {
  readonly location: string;
  readonly index: number;
  readonly publicShare: Uint8Array;
  readonly identityKey: Uint8Array;
  readonly pin: string;
}

/** The guard's public record: P, G, the summed commitments, the policy and the nodes. */
export interface HeadGuard {
  readonly epoch: number;
  readonly threshold: number;
  readonly groupKey: Uint8Array;
  readonly commitments: readonly Uint8Array[];
  readonly approvals: number;
  readonly guardians: readonly Uint8Array[];
  readonly policyVersion: number;
  readonly members: readonly HeadGuardMember[];
  /**
   * A re-sharing recorded here but not yet confirmed by every node it concerns: `members` is
   * the new set already; the nodes in `commit` still hold their staged share (dkg-commit), those
   * in `register` still lack the points of files put before they joined. Absent when none.
   */
  readonly reshare?: HeadGuardReshare;
}

export interface HeadGuardReshare {
  /** 32 hex: the re-sharing session's id, which dkg-commit names. */
  readonly setupId: string;
  /** Location ids of nodes (members, or old members leaving) yet to confirm dkg-commit. */
  readonly commit: readonly string[];
  /** Location ids of members that joined and have not registered every guarded file's point. */
  readonly register: readonly string[];
}

/** At most this many guard nodes (the DKG's own bound is larger). */
export const MAX_GUARD_NODES = 64;
const PIN = /^SHA256:[A-Za-z0-9+/]{43}$/;

function guardToJson(g: HeadGuard): unknown {
  return {
    epoch: g.epoch,
    threshold: g.threshold,
    groupKey: toBase64(g.groupKey),
    commitments: g.commitments.map(toBase64),
    approvals: g.approvals,
    guardians: g.guardians.map(toBase64),
    policyVersion: g.policyVersion,
    members: g.members.map((m) => ({
      location: m.location,
      index: m.index,
      publicShare: toBase64(m.publicShare),
      identityKey: toBase64(m.identityKey),
      pin: m.pin,
    })),
    ...(g.reshare ? { reshare: { ...g.reshare } } : {}),
  };
}

function readGuard(j: JsonReader, value: unknown): HeadGuard {
  const g = j.object(value, 'guard', [
    'epoch',
    'threshold',
    'groupKey',
    'commitments',
    'approvals',
    'guardians',
    'policyVersion',
    'members',
    ...(typeof value === 'object' && value !== null && 'reshare' in value ? ['reshare'] : []),
  ]);
  const key = (v: unknown, field: string): Uint8Array => {
    const b = j.base64(v, field, 32);
    if (b.length !== 32) j.fail(field, 'must be 32 bytes');
    return b;
  };
  const threshold = j.int(g['threshold'], 'guard.threshold', 2, MAX_GUARD_NODES);
  const commitments = j
    .array(g['commitments'], 'guard.commitments', MAX_GUARD_NODES)
    .map((v, i) => key(v, `guard.commitments[${i}]`));
  if (commitments.length !== threshold) j.fail('guard.commitments', 'must be G points');
  const guardians = j
    .array(g['guardians'], 'guard.guardians', MAX_GUARD_NODES)
    .map((v, i) => key(v, `guard.guardians[${i}]`));
  const members = j.array(g['members'], 'guard.members', MAX_GUARD_NODES).map((v, i) => {
    const m = j.object(v, `guard.members[${i}]`, ['location', 'index', 'publicShare', 'identityKey', 'pin']);
    const pin = j.string(m['pin'], `guard.members[${i}].pin`, 64);
    if (!PIN.test(pin)) j.fail(`guard.members[${i}].pin`, 'must be SHA256: and 43 base64 characters');
    return {
      location: j.hex(m['location'], `guard.members[${i}].location`, ID_BYTES),
      index: j.int(m['index'], `guard.members[${i}].index`, 1, 255),
      publicShare: key(m['publicShare'], `guard.members[${i}].publicShare`),
      identityKey: key(m['identityKey'], `guard.members[${i}].identityKey`),
      pin,
    };
  });
  if (members.length < threshold) j.fail('guard.members', 'fewer nodes than G');
  if (new Set(members.map((m) => m.index)).size !== members.length) j.fail('guard.members', 'repeats an index');
  let reshare: HeadGuardReshare | undefined;
  if ('reshare' in g) {
    const r = j.object(g['reshare'], 'guard.reshare', ['setupId', 'commit', 'register']);
    const ids = (field: 'commit' | 'register'): string[] =>
      j
        .array(r[field], `guard.reshare.${field}`, 2 * MAX_GUARD_NODES)
        .map((v, i) => j.hex(v, `guard.reshare.${field}[${i}]`, ID_BYTES));
    reshare = {
      setupId: j.hex(r['setupId'], 'guard.reshare.setupId', 16),
      commit: ids('commit'),
      register: ids('register'),
    };
  }
  return {
    epoch: j.int(g['epoch'], 'guard.epoch', 1, 0xffffffff),
    threshold,
    groupKey: key(g['groupKey'], 'guard.groupKey'),
    commitments,
    approvals: j.int(g['approvals'], 'guard.approvals', 0, MAX_GUARD_NODES),
    guardians,
    policyVersion: j.int(g['policyVersion'], 'guard.policyVersion', 0, 0xffffffff),
    members,
    ...(reshare ? { reshare } : {}),
  };
}

/**
 * The re-coding job of a policy change, kept in the sealed head so that any device can see
 * how far it is and resume it, and no location can lie about it. `pending` is a list to
 * work through, not a truth: whether a file is re-coded is what its (sealed) manifest says.
 */
export interface RecodeJob {
  /** When the change was made. */
  readonly started: string;
  /** The vault's k and n before the change: a file with more parity than that asked for it. */
  readonly from: { readonly data: number; readonly total: number };
  /** Files and their bytes that were to be re-coded when the change was made. */
  readonly files: number;
  readonly bytes: number;
  /** Ids of the files not re-coded yet. */
  readonly pending: readonly string[];
}

export interface VaultKdf {
  readonly params: KdfParams;
  readonly salt: Uint8Array;
}

export const MAX_NAME = 1024;

export function encodeHead(head: Head, key: Uint8Array): Uint8Array {
  const body = {
    counter: head.counter,
    generation: head.generation,
    policy: head.policy,
    locations: head.locations,
    files: head.files,
    tombstones: head.tombstones,
    recoveryKey: toBase64(head.recoveryKey),
    log: {
      publicKey: toBase64(head.logPublicKey),
      privateKey: toBase64(head.logPrivateKey),
      anchors: head.logAnchors,
    },
    updated: head.updated,
    deal: head.dealId,
    kdf: head.kdf && { ...head.kdf.params, salt: toBase64(head.kdf.salt) },
    ...(head.guard ? { guard: guardToJson(head.guard) } : {}),
    ...(head.recode ? { recode: head.recode } : {}),
  };
  if (!head.kdf) throw new TypeError('encodeHead: a head is written with the vault KDF');
  const version = head.files.some((f) => f.pack !== undefined)
    ? PACK_HEAD_VERSION
    : head.locations.some((l) => l.domain !== undefined)
      ? DOMAIN_HEAD_VERSION
      : HEAD_FORMAT_VERSION;
  return sealJson(headHeader({ vaultId: head.vaultId, counter: head.counter }, version), key, body);
}

/** Reads only the unauthenticated header: who and which counter. Use decodeHead to trust it. */
export function peekHead(bytes: Uint8Array): { vaultId: string; counter: number } {
  return readHeadHeader(bytes).header;
}

const HEAD_FIELDS_V1 = [
  'counter',
  'generation',
  'policy',
  'locations',
  'files',
  'tombstones',
  'recoveryKey',
  'log',
  'updated',
] as const;

export function decodeHead(bytes: Uint8Array, key: Uint8Array, expectedVaultId: string): Head {
  const { header, headerBytes, rest, version } = readHeadHeader(bytes);
  if (header.vaultId !== expectedVaultId) throw new CorruptError('vault head belongs to another vault');
  const j = new JsonReader('vault head');
  // Version 3 is version 2 with an optional `spec` in each location entry and an optional
  // re-coding job; version 4 is version 3 with an optional `domain` in each location entry;
  // version 5 is version 4 with an optional `pack` in each file entry.
  const v5 = version === PACK_HEAD_VERSION;
  const v4 = version === DOMAIN_HEAD_VERSION || v5;
  const v3 = version === HEAD_FORMAT_VERSION || v4;
  const v2 = version === KEYS_FORMAT_VERSION || v3;
  const body = openJson(headerBytes, key, rest, 'vault head');
  // Version 3 and later may carry a `guard` (guarded files' nodes; a head without one has no
  // guard) and a re-coding job.
  const guarded = v3 && typeof body === 'object' && body !== null && 'guard' in body;
  const withJob = v3 && typeof body === 'object' && body !== null && 'recode' in body;
  const o = j.object(
    body,
    'head',
    v2
      ? [...HEAD_FIELDS_V1, 'deal', 'kdf', ...(guarded ? ['guard'] : []), ...(withJob ? ['recode'] : [])]
      : HEAD_FIELDS_V1,
  );
  const dealId = v2 ? j.nullable(o['deal'], (d) => j.hex(d, 'deal', DEAL_ID_BYTES)) : null;
  let kdf: VaultKdf | null = null;
  if (v2) {
    const k = j.object(o['kdf'], 'kdf', ['logN', 'r', 'p', 'salt']);
    kdf = { params: readKdfParams(j, k, 'kdf'), salt: readSalt(j, k['salt'], 'kdf.salt') };
  }
  const counter = j.int(o['counter'], 'counter', 0, Number.MAX_SAFE_INTEGER);
  if (counter !== header.counter) j.fail('counter', 'differs from the header');
  const policy = readPolicy(j, o['policy']);
  const locations = j.array(o['locations'], 'locations', MAX_LOCATIONS).map((v, i) => {
    const withSpec = v3 && typeof v === 'object' && v !== null && 'spec' in v;
    const withDomain = v4 && typeof v === 'object' && v !== null && 'domain' in v;
    const l = j.object(v, `locations[${i}]`, [
      'id',
      'name',
      'kind',
      'display',
      ...(withSpec ? ['spec'] : []),
      ...(withDomain ? ['domain'] : []),
    ]);
    const entry: LocationEntry = {
      id: j.hex(l['id'], `locations[${i}].id`, ID_BYTES),
      name: j.string(l['name'], `locations[${i}].name`, 64),
      kind: j.oneOf(l['kind'], `locations[${i}].kind`, LOCATION_KIND_NAMES),
      display: j.string(l['display'], `locations[${i}].display`, 2048),
      ...(withSpec ? { spec: j.string(l['spec'], `locations[${i}].spec`, MAX_LOCATION_SPEC) } : {}),
    };
    return withDomain ? { ...entry, domain: readDomainField(j, l['domain'], `locations[${i}].domain`) } : entry;
  });
  const files = j.array(o['files'], 'files', MAX_FILES).map((v, i): FileRef => {
    const packed = v5 && typeof v === 'object' && v !== null && 'pack' in v;
    const f = j.object(v, `files[${i}]`, [
      'id',
      'version',
      'name',
      'size',
      'sha256',
      'created',
      ...(packed ? ['pack'] : []),
    ]);
    const entry: FileRef = {
      id: j.hex(f['id'], `files[${i}].id`, ID_BYTES),
      version: j.int(f['version'], `files[${i}].version`, 1, 0xffffffff),
      name: j.string(f['name'], `files[${i}].name`, MAX_NAME),
      size: j.int(f['size'], `files[${i}].size`, 0, Number.MAX_SAFE_INTEGER),
      sha256: j.hex(f['sha256'], `files[${i}].sha256`, 32),
      created: j.time(f['created'], `files[${i}].created`),
    };
    if (!packed) return entry;
    const p = j.object(f['pack'], `files[${i}].pack`, ['id', 'offset']);
    return {
      ...entry,
      pack: {
        id: j.hex(p['id'], `files[${i}].pack.id`, ID_BYTES),
        offset: j.int(p['offset'], `files[${i}].pack.offset`, 0, Number.MAX_SAFE_INTEGER),
      },
    };
  });
  const tombstones = j.array(o['tombstones'], 'tombstones', MAX_FILES * 4).map((v, i) => {
    const t = j.object(v, `tombstones[${i}]`, ['id', 'version']);
    return {
      id: j.hex(t['id'], `tombstones[${i}].id`, ID_BYTES),
      version: j.int(t['version'], `tombstones[${i}].version`, 1, 0xffffffff),
    };
  });
  const log = j.object(o['log'], 'log', ['publicKey', 'privateKey', 'anchors']);
  const logPublicKey = j.base64(log['publicKey'], 'log.publicKey', 32);
  const logPrivateKey = j.base64(log['privateKey'], 'log.privateKey', 32);
  if (logPublicKey.length !== 32 || logPrivateKey.length !== 32) j.fail('log', 'keys must be 32 bytes');
  const recoveryKey = j.base64(o['recoveryKey'], 'recoveryKey', 32);
  if (recoveryKey.length !== 32) j.fail('recoveryKey', 'must be 32 bytes');
  const logAnchors = j.array(log['anchors'], 'log.anchors', 4096).map((v, i) => {
    const a = j.object(v, `log.anchors[${i}]`, ['device', 'seq', 'hash']);
    return {
      device: j.hex(a['device'], `log.anchors[${i}].device`, ID_BYTES),
      seq: j.int(a['seq'], `log.anchors[${i}].seq`, 1, Number.MAX_SAFE_INTEGER),
      hash: j.hex(a['hash'], `log.anchors[${i}].hash`, 32),
    };
  });
  return {
    vaultId: header.vaultId,
    counter,
    generation: j.int(o['generation'], 'generation', 1, 0xffffffff),
    policy,
    locations,
    files,
    tombstones,
    logPublicKey,
    logPrivateKey,
    recoveryKey,
    logAnchors,
    updated: j.time(o['updated'], 'updated'),
    dealId,
    kdf,
    ...(guarded ? { guard: readGuard(j, o['guard']) } : {}),
    ...(withJob ? { recode: readRecodeJob(j, o['recode']) } : {}),
  };
}

function readRecodeJob(j: JsonReader, value: unknown): RecodeJob {
  const r = j.object(value, 'recode', ['started', 'from', 'files', 'bytes', 'pending']);
  const from = j.object(r['from'], 'recode.from', ['data', 'total']);
  const data = j.int(from['data'], 'recode.from.data', 1, 255);
  return {
    started: j.time(r['started'], 'recode.started'),
    from: { data, total: j.int(from['total'], 'recode.from.total', data, 255) },
    files: j.int(r['files'], 'recode.files', 0, MAX_FILES),
    bytes: j.int(r['bytes'], 'recode.bytes', 0, Number.MAX_SAFE_INTEGER),
    pending: j
      .array(r['pending'], 'recode.pending', MAX_FILES)
      .map((v, i) => j.hex(v, `recode.pending[${i}]`, ID_BYTES)),
  };
}

/** A location's `domain` (head version 4, and the profile's copy): the one rule, LOCATION_DOMAIN. */
export function readDomainField(j: JsonReader, value: unknown, field: string): string {
  const domain = j.string(value, field, 64);
  if (!isLocationDomain(domain)) j.fail(field, `must be ${LOCATION_DOMAIN_RULE}`);
  return domain;
}

export function readPolicy(j: JsonReader, value: unknown): Policy {
  const p = j.object(value, 'policy', ['data', 'total', 'threshold', 'replicas', 'segmentSize']);
  const data = j.int(p['data'], 'policy.data', 1, 255);
  const total = j.int(p['total'], 'policy.total', data, 255);
  return {
    data,
    total,
    threshold: j.int(p['threshold'], 'policy.threshold', 2, MAX_LOCATIONS),
    replicas: j.int(p['replicas'], 'policy.replicas', 1, MAX_LOCATIONS),
    segmentSize: j.int(p['segmentSize'], 'policy.segmentSize', MIN_SEGMENT, MAX_SEGMENT),
  };
}
