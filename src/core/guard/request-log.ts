/**
 * A custodian's request log: append-only and hash-chained. Entry n carries the hash of entry
 * n−1, and its own hash covers its fields and that link, so a rewritten or dropped entry breaks
 * every hash after it; a device that kept the last hash it read (`logHead` of `info`) sees a
 * rewrite at once. No call removes or changes an entry. Entries say who asked for what and what
 * the node answered; they hold no secret.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, fromHex, toHex, u64be } from '../crypto/bytes';
import { frame } from './group';

export const LOG_PAGE = 256;
export const GENESIS = new Uint8Array(32);

export const LOG_KINDS = [
  'setup',
  'reshare',
  'retire',
  'register',
  'open',
  'refuse',
  'policy',
  'enrol',
  'remove',
] as const;
export type LogKind = (typeof LOG_KINDS)[number];

export interface LogEntry {
  readonly seq: number;
  readonly time: number;
  readonly kind: LogKind;
  /** The device that asked (hex), or '' for none. */
  readonly device: string;
  /** What it was about: `fileId/version`, a request id, a setup id; free text, bounded. */
  readonly subject: string;
  readonly outcome: string;
  /** Hex of the previous entry's hash (GENESIS for the first). */
  readonly prev: string;
  /** Hex of this entry's hash. */
  readonly hash: string;
}

export function entryHash(e: Omit<LogEntry, 'hash'>): Uint8Array {
  return sha256(
    frame(
      'shardvault/v1/guard/log',
      u64be(e.seq),
      u64be(e.time),
      e.kind,
      e.device,
      e.subject,
      e.outcome,
      fromHex(e.prev, 'prev', 32),
    ),
  );
}

export function nextEntry(
  previous: { seq: number; hash: string } | undefined,
  fields: Omit<LogEntry, 'seq' | 'prev' | 'hash'>,
): LogEntry {
  const body = {
    ...fields,
    subject: fields.subject.slice(0, 200),
    outcome: fields.outcome.slice(0, 200),
    seq: previous === undefined ? 0 : previous.seq + 1,
    prev: previous === undefined ? toHex(GENESIS) : previous.hash,
  };
  return { ...body, hash: toHex(entryHash(body)) };
}

/**
 * True when `entries` are consecutive, each hash right and each linked to the one before;
 * `after` is the hash the reader trusts before the first (GENESIS for entry 0).
 */
export function verifyChain(entries: readonly LogEntry[], after: Uint8Array): boolean {
  let prev = after;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (i > 0 && e.seq !== entries[i - 1]!.seq + 1) return false;
    if (!equalBytes(fromHex(e.prev, 'prev', 32), prev)) return false;
    const hash = entryHash(e);
    if (toHex(hash) !== e.hash) return false;
    prev = hash;
  }
  return true;
}
