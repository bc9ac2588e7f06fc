/**
 * The audit log: every access request (unlock, failed ones too; put, get, rm, open,
 * policy and location changes) as an entry in a per-device hash chain on the locations.
 * Entries are sealed to the vault's log public key, so a device can log while locked and
 * only holders of the vault key can read the log. The vault head anchors each device's
 * chain (seq, hash) on every commit: removing or changing an anchored entry is visible.
 * Passive storage can't enforce append-only; it can make tampering visible.
 */
import { createHash } from 'node:crypto';
import type { AccessAction, AccessOutcome, AccessRequest } from '../../shared/api';
import { ACCESS_ACTIONS as ACTIONS } from '../../shared/access';
import { fromHex } from '../crypto/bytes';
import { openFrom, SEALED_TO_OVERHEAD, sealTo, type X25519KeyPair } from '../crypto/sealed-box';
import { CorruptError } from '../errors';
import { JsonReader } from '../format/json';
import type { LogAnchor } from '../format/head';
import {
  FORMAT_VERSION,
  LOG_FORMAT_VERSION,
  logEntryHeader,
  MAX_LOG_ENTRY_BYTES,
  paddedJson,
  PADDING,
  readLogEntryHeader,
} from '../format/records';

export const ZERO_HASH = '0'.repeat(64);
/** The longest `detail` an entry may carry (FORMAT.md, "Log entry, version 2"). */
export const MAX_LOG_DETAIL = 1024;

export interface AuditEvent {
  readonly action: AccessAction;
  readonly file: string | null;
  /** What the request changed, in words, where action and file don't say it (a location change). */
  readonly detail?: string | null;
  readonly outcome: AccessOutcome;
  readonly locations: readonly string[];
}

export function encodeLogEntry(opts: {
  vaultId: string;
  deviceId: string;
  deviceName: string;
  seq: number;
  prevHash: string;
  logPublicKey: Uint8Array;
  event: AuditEvent;
  time: Date;
}): { bytes: Uint8Array; hash: string } {
  // Only an entry with a detail needs version 2; the others stay readable by older versions.
  const detail = opts.event.detail ?? null;
  const header = logEntryHeader(
    {
      vaultId: opts.vaultId,
      deviceId: opts.deviceId,
      seq: opts.seq,
      prevHash: fromHex(opts.prevHash, 'prevHash', 32),
    },
    detail === null ? FORMAT_VERSION : LOG_FORMAT_VERSION,
  );
  const body = paddedJson(
    {
      time: opts.time.toISOString(),
      device: opts.deviceName,
      action: opts.event.action,
      file: opts.event.file,
      ...(detail === null ? {} : { detail }),
      outcome: opts.event.outcome,
      locations: opts.event.locations,
    },
    PADDING.logEntry,
    MAX_LOG_ENTRY_BYTES - header.length - SEALED_TO_OVERHEAD,
    'audit log entry',
  );
  const sealed = sealTo(opts.logPublicKey, body, header);
  body.fill(0);
  const bytes = new Uint8Array(header.length + sealed.length);
  bytes.set(header);
  bytes.set(sealed, header.length);
  return { bytes, hash: createHash('sha256').update(bytes).digest('hex') };
}

export interface DecodedEntry {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  readonly request: Omit<AccessRequest, 'anchored'>;
}

const OUTCOMES: readonly AccessOutcome[] = ['ok', 'denied', 'failed'];

export function decodeLogEntry(
  bytes: Uint8Array,
  pair: X25519KeyPair,
  expect: { vaultId: string; deviceId: string; seq: number },
): DecodedEntry {
  if (bytes.length > MAX_LOG_ENTRY_BYTES) throw new CorruptError('audit log entry is too large');
  const { header, version, headerBytes, rest } = readLogEntryHeader(bytes);
  if (header.vaultId !== expect.vaultId || header.deviceId !== expect.deviceId || header.seq !== expect.seq) {
    throw new CorruptError(`audit log entry ${expect.seq} is not the one asked for`);
  }
  const j = new JsonReader(`audit log entry ${expect.seq}`);
  const plain = openFrom(pair, rest, headerBytes, 'audit log entry');
  const fields = ['time', 'device', 'action', 'file', 'outcome', 'locations'];
  // Version 1 entries have no detail.
  const o = j.object(j.parse(plain), 'entry', version === FORMAT_VERSION ? fields : [...fields, 'detail']);
  return {
    seq: header.seq,
    prevHash: Buffer.from(header.prevHash).toString('hex'),
    hash: createHash('sha256').update(bytes).digest('hex'),
    request: {
      time: j.time(o['time'], 'time'),
      device: j.string(o['device'], 'device', 64),
      action: j.oneOf(o['action'], 'action', ACTIONS),
      file: j.nullable(o['file'], (v) => j.string(v, 'file', 1024)),
      detail: version === FORMAT_VERSION ? null : j.nullable(o['detail'], (v) => j.string(v, 'detail', MAX_LOG_DETAIL)),
      outcome: j.oneOf(o['outcome'], 'outcome', OUTCOMES),
      locations: j.array(o['locations'], 'locations', 64).map((v, i) => j.string(v, `locations[${i}]`, 64)),
    },
  };
}

/**
 * Checks one device's chain: consecutive seqs from 1, each prevHash the hash of the entry
 * before. Entries up to the anchor must chain to the anchor's hash; later entries that chain
 * on are returned unanchored. Returns the entries and the problems found.
 */
export function checkChain(
  entries: readonly DecodedEntry[],
  anchor: LogAnchor | null,
): { requests: AccessRequest[]; problems: string[] } {
  const sorted = [...entries].sort((a, b) => a.seq - b.seq);
  const problems: string[] = [];
  const requests: AccessRequest[] = [];
  let expectedPrev = ZERO_HASH;
  let expectedSeq = 1;
  let intact = true;
  for (const e of sorted) {
    if (e.seq !== expectedSeq || e.prevHash !== expectedPrev) {
      if (intact) problems.push(`entry ${e.seq} does not follow entry ${expectedSeq - 1} (missing or changed entries)`);
      intact = false;
    }
    const anchored = intact && anchor !== null && e.seq <= anchor.seq;
    requests.push({ ...e.request, anchored });
    expectedPrev = e.hash;
    expectedSeq = e.seq + 1;
  }
  if (anchor) {
    const at = sorted.find((e) => e.seq === anchor.seq);
    if (!at) problems.push(`the entry ${anchor.seq} that the vault head vouches for is missing`);
    else if (at.hash !== anchor.hash)
      problems.push(`entry ${anchor.seq} differs from the one the vault head vouches for`);
    if (!at || at.hash !== anchor.hash) for (const r of requests) (r as { anchored: boolean }).anchored = false;
  }
  return { requests, problems };
}
