/**
 * A file's manifest: its name, size and hash, its wrapped file key, and per shard the
 * wrapped shard key, the SHA-256 of the stored bytes, the size, and where it lives.
 * Sealed under the vault's manifest key with (vault id, file id, version) as associated
 * data, so a manifest can't be passed off as another file's or another version's.
 */
import { toBase64 } from '../crypto/bytes';
import { CorruptError } from '../errors';
import { MAX_NAME } from './head';
import { JsonReader } from './json';
import {
  ID_BYTES,
  manifestHeader,
  MAX_LOCATIONS,
  MAX_SEGMENT,
  MIN_SEGMENT,
  openJson,
  readManifestHeader,
  sealJson,
} from './records';

export interface ShardEntry {
  readonly index: number;
  readonly object: string;
  /** The shard key wrapped under the file key: nonce || ciphertext || tag. */
  readonly key: Uint8Array;
  /** SHA-256 over the shard's header and its frames' tags (docs/FORMAT.md, "Shard digest"). */
  readonly digest: string;
  readonly size: number;
  /** Location ids holding a copy. */
  readonly locations: readonly string[];
}

export interface Manifest {
  readonly vaultId: string;
  readonly fileId: string;
  readonly version: number;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly created: string;
  readonly data: number;
  readonly total: number;
  readonly segmentSize: number;
  /** The manifest version the shards were written under (their headers bind it): moving or
   * re-keying a file makes a new manifest version over the same shard bytes. */
  readonly shardsVersion: number;
  /** The file key wrapped under the vault's file-key wrapping key (a guarded file: its inner wrap, wrapped). */
  readonly fileKey: Uint8Array;
  readonly shards: readonly ShardEntry[];
  /**
   * The losses this file asked to survive (`put --survive`) when that is more than the vault's
   * own: a change of policy re-codes it with at least that much parity. Absent otherwise.
   */
  readonly survive?: number;
  /** A guarded file (docs/GUARD.md): its point R, the guard epoch, the version its KEK is bound to. */
  readonly guard?: ManifestGuard;
}

export interface ManifestGuard {
  /** enc(R), 32 bytes (ristretto255). */
  readonly point: Uint8Array;
  readonly epoch: number;
  /** The manifest version at the put: the KEK and the nodes' registration are bound to it. */
  readonly keyVersion: number;
}

const WRAPPED_KEY_BYTES = 12 + 32 + 16;
/** A guarded file key: the 60-byte inner wrap (under the KEK), wrapped again: 88 bytes. */
const GUARDED_KEY_BYTES = 12 + WRAPPED_KEY_BYTES + 16;

export function encodeManifest(m: Manifest, key: Uint8Array): Uint8Array {
  const body = {
    name: m.name,
    size: m.size,
    sha256: m.sha256,
    created: m.created,
    data: m.data,
    total: m.total,
    segmentSize: m.segmentSize,
    shardsVersion: m.shardsVersion,
    fileKey: toBase64(m.fileKey),
    shards: m.shards.map((s) => ({ ...s, key: toBase64(s.key) })),
    ...(m.guard
      ? { guard: { point: toBase64(m.guard.point), epoch: m.guard.epoch, keyVersion: m.guard.keyVersion } }
      : {}),
    ...(m.survive === undefined ? {} : { survive: m.survive }),
  };
  return sealJson(manifestHeader(m), key, body);
}

export function decodeManifest(
  bytes: Uint8Array,
  key: Uint8Array,
  expect: { vaultId: string; fileId: string; version: number },
): Manifest {
  const { header, headerBytes, rest } = readManifestHeader(bytes);
  if (header.vaultId !== expect.vaultId || header.fileId !== expect.fileId || header.version !== expect.version) {
    throw new CorruptError(`manifest is not the one asked for (file ${expect.fileId} version ${expect.version})`);
  }
  const j = new JsonReader(`manifest ${expect.fileId}-${expect.version}`);
  const body = openJson(headerBytes, key, rest, 'manifest');
  const guarded = typeof body === 'object' && body !== null && 'guard' in body;
  const asked = typeof body === 'object' && body !== null && 'survive' in body;
  const o = j.object(body, 'manifest', [
    ...(guarded ? ['guard'] : []),
    ...(asked ? ['survive'] : []),
    'name',
    'size',
    'sha256',
    'created',
    'data',
    'total',
    'segmentSize',
    'shardsVersion',
    'fileKey',
    'shards',
  ]);
  const data = j.int(o['data'], 'data', 1, 255);
  const total = j.int(o['total'], 'total', data, 255);
  const keyBytes = guarded ? GUARDED_KEY_BYTES : WRAPPED_KEY_BYTES;
  const fileKey = j.base64(o['fileKey'], 'fileKey', keyBytes);
  if (fileKey.length !== keyBytes) j.fail('fileKey', `must be ${keyBytes} bytes`);
  let guard: ManifestGuard | undefined;
  if (guarded) {
    const g = j.object(o['guard'], 'guard', ['point', 'epoch', 'keyVersion']);
    const point = j.base64(g['point'], 'guard.point', 32);
    if (point.length !== 32) j.fail('guard.point', 'must be 32 bytes');
    guard = {
      point,
      epoch: j.int(g['epoch'], 'guard.epoch', 1, 0xffffffff),
      keyVersion: j.int(g['keyVersion'], 'guard.keyVersion', 1, header.version),
    };
  }
  const shards = j.array(o['shards'], 'shards', 255).map((v, i) => {
    const s = j.object(v, `shards[${i}]`, ['index', 'object', 'key', 'digest', 'size', 'locations']);
    const wrapped = j.base64(s['key'], `shards[${i}].key`, WRAPPED_KEY_BYTES);
    if (wrapped.length !== WRAPPED_KEY_BYTES) j.fail(`shards[${i}].key`, `must be ${WRAPPED_KEY_BYTES} bytes`);
    return {
      index: j.int(s['index'], `shards[${i}].index`, 0, total - 1),
      object: j.hex(s['object'], `shards[${i}].object`, ID_BYTES),
      key: wrapped,
      digest: j.hex(s['digest'], `shards[${i}].digest`, 32),
      size: j.int(s['size'], `shards[${i}].size`, 0, Number.MAX_SAFE_INTEGER),
      locations: j
        .array(s['locations'], `shards[${i}].locations`, MAX_LOCATIONS)
        .map((l, k) => j.hex(l, `shards[${i}].locations[${k}]`, ID_BYTES)),
    };
  });
  if (shards.length !== total || shards.some((s, i) => s.index !== i))
    j.fail('shards', `must list shards 0..${total - 1} in order`);
  return {
    ...header,
    name: j.string(o['name'], 'name', MAX_NAME),
    size: j.int(o['size'], 'size', 0, Number.MAX_SAFE_INTEGER),
    sha256: j.hex(o['sha256'], 'sha256', 32),
    created: j.time(o['created'], 'created'),
    data,
    total,
    segmentSize: j.int(o['segmentSize'], 'segmentSize', MIN_SEGMENT, MAX_SEGMENT),
    shardsVersion: j.int(o['shardsVersion'], 'shardsVersion', 1, header.version),
    fileKey,
    shards,
    ...(guard ? { guard } : {}),
    ...(asked ? { survive: j.int(o['survive'], 'survive', 1, MAX_LOCATIONS) } : {}),
  };
}
