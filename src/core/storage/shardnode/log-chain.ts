/**
 * The request log's chain, checked the same way by the node at start and by a device that
 * reads it (docs/NODE.md, "Request log"): each line's `prev` is the SHA-256 of the line
 * before (64 zeros for the first), its `seq` its place.
 */
import { sha256Hex } from './protocol';

export const GENESIS = '0'.repeat(64);

export interface LogEntry {
  readonly seq: number;
  /** ISO time the node answered. */
  readonly time: string;
  /** The device key that signed the request (base64url). */
  readonly device: string;
  readonly method: string;
  readonly target: string;
  /** SHA-256 of the request body, hex. */
  readonly body: string;
  /** The HTTP status answered. */
  readonly status: number;
  readonly prev: string;
}

const FIELDS = ['seq', 'time', 'device', 'method', 'target', 'body', 'status', 'prev'];

/** Reads one line strictly; null when it is not an entry. */
export function readEntry(line: string): LogEntry | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length !== FIELDS.length || !FIELDS.every((f, i) => keys[i] === f)) return null;
  if (!Number.isSafeInteger(o['seq']) || !Number.isSafeInteger(o['status'])) return null;
  for (const f of ['time', 'device', 'method', 'target', 'body', 'prev'])
    if (typeof o[f] !== 'string' || o[f].length > 4096) return null;
  if (!/^[0-9a-f]{64}$/.test(o['prev'] as string)) return null;
  return o as unknown as LogEntry;
}

/**
 * Checks `lines` as the log's entries from `from`, the first chaining to `prev`: the index
 * (from `from`) of the first bad one, or null when all hold.
 */
export function verifyChain(lines: readonly string[], from: number, prev: string): number | null {
  let expect = prev;
  for (let i = 0; i < lines.length; i++) {
    const e = readEntry(lines[i]!);
    if (e === null || e.seq !== from + i || e.prev !== expect) return from + i;
    expect = sha256Hex(lines[i]!);
  }
  return null;
}
