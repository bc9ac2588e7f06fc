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
  head: 'head',
  /** Each device's copy of the head it last committed (vault/merge.ts): written by that device only. */
  headsDir: 'heads',
  deviceHead: (deviceId: string) => `heads/${deviceId}`,
  manifestsDir: 'manifests',
  manifest: (fileId: string, version: number) => `manifests/${fileId}-${version}`,
  shardsDir: 'shards',
  shard: (objectId: string) => `shards/${objectId}`,
  logDir: (deviceId: string) => `log/${deviceId}`,
  logEntry: (deviceId: string, seq: number) => `log/${deviceId}/${String(seq).padStart(12, '0')}`,
  /** Where a put writes before it renames into place (every backend; garbage after a crash). */
  tempDir: 'tmp',
  temp: (random: string) => `tmp/${random}.part`,
  /** The round trip object of a location test (vault/location-ops.ts). */
  probe: (random: string) => `tmp/probe-${random}`,
} as const;

/**
 * Every name PATHS makes, and nothing else: the names a vault may delete from a location
 * (storage/node.ts assertDeletable). A location is hostile: what it lists is only a claim,
 * and a listed name the format does not make is never the vault's to remove.
 */
const FORMAT_OBJECT_NAME = new RegExp(
  '^(?:' +
    [
      'shardvault\\.json',
      'head',
      'heads/[0-9a-f]{32}',
      'keys/[0-9]{10}',
      'manifests/[0-9a-f]{32}-(?:0|[1-9][0-9]{0,9})',
      'shards/[0-9a-f]{32}',
      'log/[0-9a-f]{32}/[0-9]{12,20}',
      'tmp/[0-9a-f]{24}\\.part',
      'tmp/probe-[0-9a-f]{16}',
    ].join('|') +
    ')$',
);

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
}

export function encodeVaultRecord(r: VaultRecord): Uint8Array {
  const body = {
    format: 'shardvault-location',
    version: FORMAT_VERSION,
    vaultId: r.vaultId,
    locationId: r.locationId,
    kdf: { alg: 'scrypt', logN: r.kdf.logN, r: r.kdf.r, p: r.kdf.p, salt: toBase64(r.salt) },
    created: r.created,
  };
  return utf8(JSON.stringify(body, null, 2) + '\n');
}

export function decodeVaultRecord(bytes: Uint8Array): VaultRecord {
  const j = new JsonReader('location record (shardvault.json)');
  const o = j.object(j.parse(bytes), 'record', ['format', 'version', 'vaultId', 'locationId', 'kdf', 'created']);
  if (o['format'] !== 'shardvault-location') j.fail('format', 'is not shardvault-location');
  if (o['version'] !== FORMAT_VERSION)
    j.fail('version', `is ${String(o['version'])}; this program reads ${FORMAT_VERSION}`);
  const kdf = j.object(o['kdf'], 'kdf', ['alg', 'logN', 'r', 'p', 'salt']);
  if (kdf['alg'] !== 'scrypt') j.fail('kdf.alg', 'must be scrypt');
  const params = {
    logN: j.int(kdf['logN'], 'kdf.logN', 0, 64),
    r: j.int(kdf['r'], 'kdf.r', 0, 1024),
    p: j.int(kdf['p'], 'kdf.p', 0, 1024),
  };
  checkKdfParams(params);
  const salt = j.base64(kdf['salt'], 'kdf.salt', 32);
  if (salt.length !== 32) j.fail('kdf.salt', 'must be 32 bytes');
  return {
    vaultId: j.hex(o['vaultId'], 'vaultId', ID_BYTES),
    locationId: j.hex(o['locationId'], 'locationId', ID_BYTES),
    kdf: params,
    salt,
    created: j.time(o['created'], 'created'),
  };
}

// ---------------------------------------------------------------- key share

const SHARE_BOX = NONCE_BYTES + SHARE_BYTES + TAG_BYTES;
export const KEY_SHARE_BYTES = 4 + 1 + 16 + 4 + 1 + 1 + 16 + 32 + 2 * SHARE_BOX;

export interface KeyShareHeader {
  readonly vaultId: string;
  readonly generation: number;
  readonly threshold: number;
  readonly total: number;
  readonly locationId: string;
  /** Key-check value of this generation's vault key (vault/keys.ts). */
  readonly kcv: Uint8Array;
}

export interface KeyShareRecord extends KeyShareHeader {
  /** The associated data both boxes are sealed with. */
  readonly header: Uint8Array;
  readonly passphraseBox: Uint8Array;
  readonly recoveryBox: Uint8Array;
}

export function keyShareHeader(h: KeyShareHeader): Uint8Array {
  return writeRecord('SVKS', FORMAT_VERSION, [
    { bytes: fromHex(h.vaultId, 'vaultId', ID_BYTES) },
    { u32: h.generation },
    { u8: h.threshold },
    { u8: h.total },
    { bytes: fromHex(h.locationId, 'locationId', ID_BYTES) },
    { bytes: h.kcv },
  ]);
}

export function decodeKeyShare(bytes: Uint8Array): KeyShareRecord {
  const what = 'key share';
  if (bytes.length !== KEY_SHARE_BYTES)
    throw new CorruptError(`${what}: ${bytes.length} bytes, expected ${KEY_SHARE_BYTES}`);
  const r = new ByteReader(bytes, what);
  r.magic('SVKS', FORMAT_VERSION);
  const vaultId = Buffer.from(r.take(16, 'vaultId')).toString('hex');
  const generation = r.u32('generation');
  const threshold = r.u8('threshold');
  const total = r.u8('total');
  if (threshold < 2 || total < threshold || total > MAX_LOCATIONS) {
    throw new CorruptError(`${what}: threshold ${threshold} of ${total} is out of bounds`);
  }
  const locationId = Buffer.from(r.take(16, 'locationId')).toString('hex');
  const kcv = r.take(32, 'kcv');
  const header = r.consumed();
  const passphraseBox = r.take(SHARE_BOX, 'passphrase box');
  const recoveryBox = r.take(SHARE_BOX, 'recovery box');
  r.end();
  return { vaultId, generation, threshold, total, locationId, kcv, header, passphraseBox, recoveryBox };
}

// ---------------------------------------------------------------- sealed JSON records (head, manifest)

/** A JSON body sealed under `key` with the binary header as associated data. */
export function sealJson(header: Uint8Array, key: Uint8Array, body: unknown): Uint8Array {
  const plain = utf8(JSON.stringify(body));
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

export function headHeader(h: HeadHeader): Uint8Array {
  return writeRecord('SVHD', FORMAT_VERSION, [{ bytes: fromHex(h.vaultId, 'vaultId', ID_BYTES) }, { u64: h.counter }]);
}

export function readHeadHeader(bytes: Uint8Array): { header: HeadHeader; headerBytes: Uint8Array; rest: Uint8Array } {
  const r = new ByteReader(bytes, 'vault head');
  r.magic('SVHD', FORMAT_VERSION);
  const vaultId = Buffer.from(r.take(16, 'vaultId')).toString('hex');
  const counter = r.u64('counter');
  const headerBytes = r.consumed();
  return { header: { vaultId, counter }, headerBytes, rest: r.rest() };
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

export function logEntryHeader(h: LogEntryHeader): Uint8Array {
  return writeRecord('SVLG', FORMAT_VERSION, [
    { bytes: fromHex(h.vaultId, 'vaultId', ID_BYTES) },
    { bytes: fromHex(h.deviceId, 'deviceId', ID_BYTES) },
    { u64: h.seq },
    { bytes: h.prevHash },
  ]);
}

export function readLogEntryHeader(bytes: Uint8Array): {
  header: LogEntryHeader;
  headerBytes: Uint8Array;
  rest: Uint8Array;
} {
  const r = new ByteReader(bytes, 'audit log entry');
  r.magic('SVLG', FORMAT_VERSION);
  const vaultId = Buffer.from(r.take(16, 'vaultId')).toString('hex');
  const deviceId = Buffer.from(r.take(16, 'deviceId')).toString('hex');
  const seq = r.u64('seq');
  const prevHash = r.take(32, 'prevHash');
  return { header: { vaultId, deviceId, seq, prevHash }, headerBytes: r.consumed(), rest: r.rest() };
}
