/**
 * The records a vault keeps on every location (docs/FORMAT.md is the specification; this
 * file must agree with it). Binary headers are big-endian; JSON bodies are UTF-8 and are
 * only ever stored inside AES-256-GCM with the header as associated data.
 */
import { openWithNonce, sealWithNonce, NONCE_BYTES, TAG_BYTES } from '../crypto/aead';
import { fromHex, toBase64, utf8 } from '../crypto/bytes';
import { checkKdfParams, type KdfParams } from '../crypto/kdf';
import { SHARE_BYTES } from '../crypto/shamir';
import { CorruptError } from '../errors';
import { ByteReader, writeRecord } from './binary';
import { JsonReader } from './json';

export const FORMAT_VERSION = 1;
export const ID_BYTES = 16;
export const MAX_LOCATIONS = 64;
export const MAX_FILES = 1_000_000;
export const MAX_HEAD_BYTES = 64 * 1024 * 1024;
export const MAX_MANIFEST_BYTES = 1024 * 1024;
export const MAX_LOG_ENTRY_BYTES = 64 * 1024;
export const MIN_SEGMENT = 4096;
export const MAX_SEGMENT = 64 * 1024 * 1024;

export const PATHS = {
  vault: 'shardvault.json',
  keysDir: 'keys',
  keyShare: (generation: number) => `keys/${String(generation).padStart(10, '0')}`,
  /** The record that vouches for the vault key dealt at `generation` (a rotation); never deleted. */
  keyRotation: (generation: number) => `keys/rotation-${String(generation).padStart(10, '0')}`,
  head: 'head',
  /** Each device's copy of the head it last committed (vault/merge.ts): written by that device only. */
  headsDir: 'heads',
  deviceHead: (deviceId: string) => `heads/${deviceId}`,
  manifestsDir: 'manifests',
  manifest: (fileId: string, version: number) => `manifests/${fileId}-${version}`,
  shardsDir: 'shards',
  shard: (objectId: string) => `shards/${objectId}`,
  /** A shard copy meant for a location that was away when it was written, held on another
   * one until it is back (FORMAT.md, "Staged shard copies"): the same bytes as the shard. */
  stagedDir: 'staged',
  staged: (locationId: string, objectId: string) => `staged/${locationId}-${objectId}`,
  logRoot: 'log',
  logDir: (deviceId: string) => `log/${deviceId}`,
  /** A device's marker beside the chains: lets readers find a chain no head anchors yet. */
  logDevice: (deviceId: string) => `log/${deviceId}.device`,
  logEntry: (deviceId: string, seq: number) => `log/${deviceId}/${String(seq).padStart(12, '0')}`,
  /** Where a put writes before it renames into place (every backend; garbage after a crash). */
  tempDir: 'tmp',
  temp: (random: string) => `tmp/${random}.part`,
  /** A pending opening of a guarded file that needs guardian approvals (FORMAT.md, "Access requests"). */
  requestsDir: 'requests',
  request: (requestId: string) => `requests/${requestId}`,
  /** A guardian's answer to one: an approval or a denial, one object per guardian. */
  approvalsDir: 'approvals',
  approval: (requestId: string, guardianKeyHex: string) => `approvals/${requestId}-${guardianKeyHex}`,
  /** The round trip object of a location test (vault/location-ops.ts). */
  probe: (random: string) => `tmp/probe-${random}`,
} as const;

/**
 * The shape of every name PATHS makes, once: the matchers below and the rule of which names
 * may be deleted (isFormatObjectName) are all built from it. Groups capture the parts
 * readers take from a name.
 */
const ID = '[0-9a-f]{32}';
const NAME_SHAPES = {
  vault: 'shardvault\\.json',
  head: 'head',
  deviceHead: `heads/${ID}`,
  keyShare: 'keys/([0-9]{10})',
  keyRotation: 'keys/rotation-([0-9]{10})',
  manifest: `manifests/${ID}-(?:0|[1-9][0-9]{0,9})`,
  shard: `shards/${ID}`,
  staged: `staged/(${ID})-(${ID})`,
  logEntry: `log/${ID}/[0-9]{12,20}`,
  logDevice: `log/${ID}\\.device`,
  temp: 'tmp/[0-9a-f]{24}\\.part',
  probe: 'tmp/probe-[0-9a-f]{16}',
  request: `requests/${ID}`,
  approval: `approvals/${ID}-[0-9a-f]{64}`,
} as const;
const exactly = (shape: string): RegExp => new RegExp(`^${shape}$`);
const DEVICE_HEAD = exactly(NAME_SHAPES.deviceHead);
const KEY_SHARE = exactly(NAME_SHAPES.keyShare);
const KEY_ROTATION = exactly(NAME_SHAPES.keyRotation);
const STAGED = exactly(NAME_SHAPES.staged);

/** Whether a name is a device's copy of the head (`heads/` and a device id). */
export function isDeviceHeadName(path: string): boolean {
  return DEVICE_HEAD.test(path);
}

/** The generation a key-share object name stands for (`keys/` and ten digits), or null. */
export function keyShareGeneration(path: string): number | null {
  const m = KEY_SHARE.exec(path);
  return m ? Number(m[1]) : null;
}

/** The location a staged shard copy waits for and the shard's object id, or null for any other name. */
export function stagedCopyOf(path: string): { location: string; object: string } | null {
  const m = STAGED.exec(path);
  return m ? { location: m[1]!, object: m[2]! } : null;
}

/** The generation a key-rotation record's name stands for, or null. */
export function keyRotationGeneration(path: string): number | null {
  const m = KEY_ROTATION.exec(path);
  return m ? Number(m[1]) : null;
}

/** scrypt parameters in a JSON record (location record, head, profile): one reader, bounded. */
export function readKdfParams(j: JsonReader, o: Record<string, unknown>, field: string): KdfParams {
  const params = {
    logN: j.int(o['logN'], `${field}.logN`, 0, 64),
    r: j.int(o['r'], `${field}.r`, 0, 1024),
    p: j.int(o['p'], `${field}.p`, 0, 1024),
  };
  checkKdfParams(params);
  return params;
}

/** A 32-byte scrypt salt in base64. */
export function readSalt(j: JsonReader, value: unknown, field: string): Uint8Array {
  const salt = j.base64(value, field, 32);
  if (salt.length !== 32) j.fail(field, 'must be 32 bytes');
  return salt;
}

/**
 * Every name PATHS makes, and nothing else: the names a vault may delete from a location
 * (storage/node.ts assertDeletable). A location is hostile: what it lists is only a claim,
 * and a listed name the format does not make is never the vault's to remove.
 */
const FORMAT_OBJECT_NAME = exactly(`(?:${Object.values(NAME_SHAPES).join('|')})`);

export function isFormatObjectName(path: string): boolean {
  return typeof path === 'string' && FORMAT_OBJECT_NAME.test(path);
}

// ---------------------------------------------------------------- vault record (public)

/** What a location says about the vault before anything is unlocked. Public, not secret. */
export interface VaultRecord {
  readonly vaultId: string;
  readonly locationId: string;
  readonly kdf: KdfParams;
  readonly salt: Uint8Array;
  readonly created: string;
  /**
   * The audit log's public key (version 2), so that a device that fails to unlock before it
   * knows the vault can still log the attempt. Public, and unprotected like the rest: a
   * location that swaps it can only make such entries unreadable to the owner (FORMAT.md).
   */
  readonly logPublicKey: Uint8Array | null;
}

export function encodeVaultRecord(r: VaultRecord): Uint8Array {
  const body = {
    format: 'shardvault-location',
    version: r.logPublicKey ? KEYS_FORMAT_VERSION : FORMAT_VERSION,
    vaultId: r.vaultId,
    locationId: r.locationId,
    kdf: { alg: 'scrypt', logN: r.kdf.logN, r: r.kdf.r, p: r.kdf.p, salt: toBase64(r.salt) },
    created: r.created,
    ...(r.logPublicKey ? { logPublicKey: toBase64(r.logPublicKey) } : {}),
  };
  return utf8(JSON.stringify(body, null, 2) + '\n');
}

export function decodeVaultRecord(bytes: Uint8Array): VaultRecord {
  const j = new JsonReader('location record (shardvault.json)');
  const parsed = j.parse(bytes);
  const version = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['version'] : null;
  if (version !== FORMAT_VERSION && version !== KEYS_FORMAT_VERSION)
    j.fail('version', `is ${String(version)}; this program reads ${FORMAT_VERSION} and ${KEYS_FORMAT_VERSION}`);
  const fields = ['format', 'version', 'vaultId', 'locationId', 'kdf', 'created'];
  const o = j.object(parsed, 'record', version === FORMAT_VERSION ? fields : [...fields, 'logPublicKey']);
  if (o['format'] !== 'shardvault-location') j.fail('format', 'is not shardvault-location');
  let logPublicKey: Uint8Array | null = null;
  if (version === KEYS_FORMAT_VERSION) {
    logPublicKey = j.base64(o['logPublicKey'], 'logPublicKey', 32);
    if (logPublicKey.length !== 32) j.fail('logPublicKey', 'must be 32 bytes');
  }
  const kdf = j.object(o['kdf'], 'kdf', ['alg', 'logN', 'r', 'p', 'salt']);
  if (kdf['alg'] !== 'scrypt') j.fail('kdf.alg', 'must be scrypt');
  const params = readKdfParams(j, kdf, 'kdf');
  const salt = readSalt(j, kdf['salt'], 'kdf.salt');
  return {
    vaultId: j.hex(o['vaultId'], 'vaultId', ID_BYTES),
    locationId: j.hex(o['locationId'], 'locationId', ID_BYTES),
    kdf: params,
    salt,
    created: j.time(o['created'], 'created'),
    logPublicKey,
  };
}

// ---------------------------------------------------------------- key share

/** Key shares, heads and key rotations are written in version 2; version 1 still reads. */
export const KEYS_FORMAT_VERSION = 2;
export const DEAL_ID_BYTES = 16;
const SHARE_BOX = NONCE_BYTES + SHARE_BYTES + TAG_BYTES;
const SHARE_HEADER_V1 = 4 + 1 + 16 + 4 + 1 + 1 + 16 + 32;
export const KEY_SHARE_BYTES_V1 = SHARE_HEADER_V1 + 2 * SHARE_BOX;
export const KEY_SHARE_BYTES = SHARE_HEADER_V1 + DEAL_ID_BYTES + 2 * SHARE_BOX;

export interface KeyShareHeader {
  readonly vaultId: string;
  readonly generation: number;
  readonly threshold: number;
  readonly total: number;
  readonly locationId: string;
  /** A random id per deal (version 2; null in version 1): two deals of one generation differ. */
  readonly dealId: string | null;
  /** Key-check value of this deal's vault key (vault/keys.ts). */
  readonly kcv: Uint8Array;
}

export interface KeyShareRecord extends KeyShareHeader {
  /** The associated data both boxes are sealed with. */
  readonly header: Uint8Array;
  readonly passphraseBox: Uint8Array;
  readonly recoveryBox: Uint8Array;
}

/** Writes a version 2 header (a deal id is required); version 1 is read only. */
export function keyShareHeader(h: KeyShareHeader): Uint8Array {
  if (h.dealId === null) throw new TypeError('keyShareHeader: new key shares carry a deal id');
  return writeRecord('SVKS', KEYS_FORMAT_VERSION, [
    { bytes: fromHex(h.vaultId, 'vaultId', ID_BYTES) },
    { u32: h.generation },
    { u8: h.threshold },
    { u8: h.total },
    { bytes: fromHex(h.locationId, 'locationId', ID_BYTES) },
    { bytes: fromHex(h.dealId, 'dealId', DEAL_ID_BYTES) },
    { bytes: h.kcv },
  ]);
}

export function decodeKeyShare(bytes: Uint8Array): KeyShareRecord {
  const what = 'key share';
  if (bytes.length !== KEY_SHARE_BYTES && bytes.length !== KEY_SHARE_BYTES_V1)
    throw new CorruptError(`${what}: ${bytes.length} bytes, expected ${KEY_SHARE_BYTES}`);
  const r = new ByteReader(bytes, what);
  const version = r.magicOf('SVKS', [FORMAT_VERSION, KEYS_FORMAT_VERSION]);
  if (bytes.length !== (version === FORMAT_VERSION ? KEY_SHARE_BYTES_V1 : KEY_SHARE_BYTES))
    throw new CorruptError(`${what}: ${bytes.length} bytes is not the length of a version ${version} share`);
  const vaultId = Buffer.from(r.take(16, 'vaultId')).toString('hex');
  const generation = r.u32('generation');
  const threshold = r.u8('threshold');
  const total = r.u8('total');
  if (threshold < 2 || total < threshold || total > MAX_LOCATIONS) {
    throw new CorruptError(`${what}: threshold ${threshold} of ${total} is out of bounds`);
  }
  const locationId = Buffer.from(r.take(16, 'locationId')).toString('hex');
  const dealId = version === FORMAT_VERSION ? null : Buffer.from(r.take(DEAL_ID_BYTES, 'dealId')).toString('hex');
  const kcv = r.take(32, 'kcv');
  const header = r.consumed();
  const passphraseBox = r.take(SHARE_BOX, 'passphrase box');
  const recoveryBox = r.take(SHARE_BOX, 'recovery box');
  r.end();
  return { vaultId, generation, threshold, total, locationId, dealId, kcv, header, passphraseBox, recoveryBox };
}

// ---------------------------------------------------------------- key rotation

/**
 * What a vault-key rotation leaves behind: signed with the OLD vault key's pin key, it names
 * the generation dealt under the new key, its threshold and the new pin. A device that
 * pinned the old key follows it; nothing else can make a device trust a new key.
 */
export interface KeyRotationRecord {
  readonly vaultId: string;
  readonly generation: number;
  readonly threshold: number;
  readonly oldPin: Uint8Array;
  readonly newPin: Uint8Array;
  /** Ed25519 over every byte before it, by the old pin's key. */
  readonly signature: Uint8Array;
}

export const KEY_ROTATION_BYTES = 4 + 1 + 16 + 4 + 1 + 32 + 32 + 64;

/** The signed part of a rotation record. */
export function keyRotationBody(r: Omit<KeyRotationRecord, 'signature'>): Uint8Array {
  return writeRecord('SVKR', KEYS_FORMAT_VERSION, [
    { bytes: fromHex(r.vaultId, 'vaultId', ID_BYTES) },
    { u32: r.generation },
    { u8: r.threshold },
    { bytes: r.oldPin },
    { bytes: r.newPin },
  ]);
}

export function decodeKeyRotation(bytes: Uint8Array): KeyRotationRecord & { body: Uint8Array } {
  const what = 'key rotation record';
  if (bytes.length !== KEY_ROTATION_BYTES)
    throw new CorruptError(`${what}: ${bytes.length} bytes, expected ${KEY_ROTATION_BYTES}`);
  const r = new ByteReader(bytes, what);
  r.magic('SVKR', KEYS_FORMAT_VERSION);
  const vaultId = Buffer.from(r.take(16, 'vaultId')).toString('hex');
  const generation = r.u32('generation');
  const threshold = r.u8('threshold');
  if (threshold < 2 || threshold > MAX_LOCATIONS)
    throw new CorruptError(`${what}: threshold ${threshold} out of bounds`);
  const oldPin = r.take(32, 'oldPin');
  const newPin = r.take(32, 'newPin');
  const body = r.consumed();
  const signature = r.take(64, 'signature');
  r.end();
  return { vaultId, generation, threshold, oldPin, newPin, signature, body };
}

// ---------------------------------------------------------------- padding

/**
 * Sealed JSON is padded with trailing spaces before it is sealed (docs/FORMAT.md, "Padding"),
 * so a location learns the bucket of a record's size, not the byte length of the names in it.
 * JSON allows trailing whitespace: padded and unpadded records read the same, in this
 * version and in readers written before padding.
 */
export const PADDING = {
  /** Vault heads and manifests: powers of two from 1 KiB. */
  powersOfTwo: (bytes: number): number => {
    let bucket = 1024;
    while (bucket < bytes) bucket *= 2;
    return bucket;
  },
  /** Audit log entries: multiples of 512 bytes from 1 KiB (an entry with a short name is
   * about 150 bytes: the first bucket holds names of up to about 850 bytes alike). */
  logEntry: (bytes: number): number => Math.max(1024, Math.ceil(bytes / 512) * 512),
} as const;

/**
 * `body` as JSON, padded with spaces to `bucket`'s size, never past `maxBytes` (the bound its
 * readers hold the plaintext to; padding must not make a record they refuse).
 */
export function paddedJson(
  body: unknown,
  bucket: (bytes: number) => number,
  maxBytes: number,
  what: string,
): Uint8Array {
  const text = utf8(JSON.stringify(body));
  if (text.length > maxBytes) {
    text.fill(0);
    throw new RangeError(`${what}: ${text.length} bytes of JSON is more than the ${maxBytes} its readers accept`);
  }
  const padded = new Uint8Array(Math.min(Math.max(bucket(text.length), text.length), maxBytes)).fill(0x20);
  padded.set(text);
  text.fill(0);
  return padded;
}

// ---------------------------------------------------------------- sealed JSON records (head, manifest)

/** What readers hold each sealed JSON record to, by its magic: its padding stays inside. */
const SEALED_JSON = new Map([
  ['SVHD', { what: 'vault head', maxBytes: MAX_HEAD_BYTES }],
  ['SVMF', { what: 'manifest', maxBytes: MAX_MANIFEST_BYTES }],
]);

/**
 * A JSON body sealed under `key` with the binary header as associated data, padded to a
 * power of two from 1 KiB (PADDING) within the bound readers hold the record to.
 */
export function sealJson(header: Uint8Array, key: Uint8Array, body: unknown): Uint8Array {
  const record = SEALED_JSON.get(new TextDecoder().decode(header.subarray(0, 4)));
  if (!record) throw new TypeError('sealJson seals vault heads and manifests only');
  const maxPlain = record.maxBytes - header.length - NONCE_BYTES - TAG_BYTES;
  const plain = paddedJson(body, PADDING.powersOfTwo, maxPlain, record.what);
  const boxed = sealWithNonce(key, plain, header);
  plain.fill(0);
  const out = new Uint8Array(header.length + boxed.length);
  out.set(header);
  out.set(boxed, header.length);
  return out;
}

export function openJson(header: Uint8Array, key: Uint8Array, rest: Uint8Array, what: string): unknown {
  const plain = openWithNonce(key, rest, header, what);
  try {
    return new JsonReader(what).parse(plain);
  } finally {
    plain.fill(0);
  }
}

export interface HeadHeader {
  readonly vaultId: string;
  readonly counter: number;
}

/**
 * Heads are written in version 3: version 2 (the deal id and the vault KDF) whose location
 * entries may carry their secret-free address (`spec`, docs/FORMAT.md). Versions 1 and 2 still read.
 */
export const HEAD_FORMAT_VERSION = 3;
/**
 * Version 3 whose location entries may carry a failure domain (`domain`): written only
 * when some location has one, so a vault without domains stays readable by version 3 readers.
 */
export const DOMAIN_HEAD_VERSION = 4;
/**
 * Version 4 whose file entries may be packed (`pack`: an extent of a pack, docs/FORMAT.md
 * "Packs"): written only when some entry is packed, so a vault without packs stays readable
 * by version 4 readers.
 */
export const PACK_HEAD_VERSION = 5;

export function headHeader(h: HeadHeader, version = HEAD_FORMAT_VERSION): Uint8Array {
  return writeRecord('SVHD', version, [{ bytes: fromHex(h.vaultId, 'vaultId', ID_BYTES) }, { u64: h.counter }]);
}

export function readHeadHeader(bytes: Uint8Array): {
  header: HeadHeader;
  headerBytes: Uint8Array;
  rest: Uint8Array;
  version: number;
} {
  const r = new ByteReader(bytes, 'vault head');
  const version = r.magicOf('SVHD', [
    FORMAT_VERSION,
    KEYS_FORMAT_VERSION,
    HEAD_FORMAT_VERSION,
    DOMAIN_HEAD_VERSION,
    PACK_HEAD_VERSION,
  ]);
  const vaultId = Buffer.from(r.take(16, 'vaultId')).toString('hex');
  const counter = r.u64('counter');
  const headerBytes = r.consumed();
  return { header: { vaultId, counter }, headerBytes, rest: r.rest(), version };
}

export interface ManifestHeader {
  readonly vaultId: string;
  readonly fileId: string;
  readonly version: number;
}

export function manifestHeader(h: ManifestHeader): Uint8Array {
  return writeRecord('SVMF', FORMAT_VERSION, [
    { bytes: fromHex(h.vaultId, 'vaultId', ID_BYTES) },
    { bytes: fromHex(h.fileId, 'fileId', ID_BYTES) },
    { u32: h.version },
  ]);
}

export function readManifestHeader(bytes: Uint8Array): {
  header: ManifestHeader;
  headerBytes: Uint8Array;
  rest: Uint8Array;
} {
  const r = new ByteReader(bytes, 'manifest');
  r.magic('SVMF', FORMAT_VERSION);
  const vaultId = Buffer.from(r.take(16, 'vaultId')).toString('hex');
  const fileId = Buffer.from(r.take(16, 'fileId')).toString('hex');
  const version = r.u32('version');
  return { header: { vaultId, fileId, version }, headerBytes: r.consumed(), rest: r.rest() };
}

// ---------------------------------------------------------------- shard header

export interface ShardHeader {
  readonly vaultId: string;
  readonly fileId: string;
  readonly version: number;
  readonly index: number;
  readonly data: number;
  readonly total: number;
  readonly segmentSize: number;
}

export const SHARD_HEADER_BYTES = 4 + 1 + 16 + 16 + 4 + 1 + 1 + 1 + 1 + 4;

export function shardHeader(h: ShardHeader): Uint8Array {
  return writeRecord('SVSD', FORMAT_VERSION, [
    { bytes: fromHex(h.vaultId, 'vaultId', ID_BYTES) },
    { bytes: fromHex(h.fileId, 'fileId', ID_BYTES) },
    { u32: h.version },
    { u8: h.index },
    { u8: h.data },
    { u8: h.total },
    { u8: 0 },
    { u32: h.segmentSize },
  ]);
}

// ---------------------------------------------------------------- audit log entry

export interface LogEntryHeader {
  readonly vaultId: string;
  readonly deviceId: string;
  readonly seq: number;
  readonly prevHash: Uint8Array;
}

/** Log entries of version 2 carry `detail` in their body (FORMAT.md, "Log entry, version 2"). */
export const LOG_FORMAT_VERSION = 2;

export function logEntryHeader(h: LogEntryHeader, version: number = LOG_FORMAT_VERSION): Uint8Array {
  return writeRecord('SVLG', version, [
    { bytes: fromHex(h.vaultId, 'vaultId', ID_BYTES) },
    { bytes: fromHex(h.deviceId, 'deviceId', ID_BYTES) },
    { u64: h.seq },
    { bytes: h.prevHash },
  ]);
}

export function readLogEntryHeader(bytes: Uint8Array): {
  header: LogEntryHeader;
  version: number;
  headerBytes: Uint8Array;
  rest: Uint8Array;
} {
  const r = new ByteReader(bytes, 'audit log entry');
  const version = r.magicOf('SVLG', [FORMAT_VERSION, LOG_FORMAT_VERSION]);
  const vaultId = Buffer.from(r.take(16, 'vaultId')).toString('hex');
  const deviceId = Buffer.from(r.take(16, 'deviceId')).toString('hex');
  const seq = r.u64('seq');
  const prevHash = r.take(32, 'prevHash');
  return { header: { vaultId, deviceId, seq, prevHash }, version, headerBytes: r.consumed(), rest: r.rest() };
}
