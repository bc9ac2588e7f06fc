/**
 * The one small contract every kind of storage location implements: a local folder, an
 * SFTP server, a WebDAV server, an S3 bucket, a Shardvault node. The vault engine sees
 * locations only through it. Like restic's and rclone's backends, what every location
 * shares is a wrapper with this same interface, composed by the kind (kinds/): limit.ts
 * (calls in flight), retry.ts (transient failures), breaker.ts (a frozen server kept out),
 * lazy.ts (the library loaded on first use). Calls may come concurrently, from one caller or
 * many; a node answers each as if it were alone (test/conformance/suite.ts checks it).
 *
 * Paths are relative, '/'-separated object keys made by the engine (e.g. `shards/3f9a…`):
 * never user input, never absolute, never containing `..`. Implementations check this with
 * `assertObjectPath` all the same.
 *
 * Errors are the engine's typed errors (../errors.ts):
 *   - NotFoundError   the object does not exist (get, readRange)
 *   - OfflineError    the location cannot be reached now (unplugged disk, server down,
 *                     connection dropped, timeout): transient, the call may be retried
 *   - ShardvaultError code 'permission' / 'no-space': permanent until a person acts
 *   - CorruptError    the location answered something malformed
 *   - ForeignObjectError  the call would touch something the vault did not make: delete of
 *                     a name the format does not make, or (local, SFTP) a symbolic link,
 *                     folder or special file where an object or its folder should be
 * Every call may be retried after an OfflineError: put is idempotent, delete
 * of a missing object succeeds.
 *
 * A location is hostile: it may hold anything well-formed, symbolic links included. No call
 * ever follows a symbolic link below the location's root (a folder root the user configured
 * may itself be a link: it is resolved once, when the node first reaches it): list skips
 * links and never descends into one, get and stat see no object there, put refuses to
 * write through a linked folder, delete refuses anything but a regular file.
 */

import { randomBytes } from 'node:crypto';
import { CorruptError, ForeignObjectError, OfflineError } from '../errors';
import { isFormatObjectName, PATHS } from '../format/records';
import type { LocationKindName } from '../../shared/location-kinds';

/** The kinds are listed once, in src/shared/location-kinds.ts; each has an entry in ./kinds. */
export type LocationKind = LocationKindName;

export interface ObjectInfo {
  /** Object key relative to the location root, as given to put. */
  readonly path: string;
  readonly size: number;
  /** Last modification, ms since the epoch, where the location tells (garbage collection
   * leaves young objects alone: they may belong to a write in progress elsewhere). */
  readonly modifiedMs?: number;
}

export interface LocationHealth {
  readonly reachable: boolean;
  /** Round trip of one cheap request, in milliseconds; null when unreachable. */
  readonly latencyMs: number | null;
  /** Free bytes as the location reports them; null when it can't tell. */
  readonly freeBytes: number | null;
  /** Why it is unreachable, in words for a user; null when reachable. */
  readonly error: string | null;
  /** True when it took the connection and answered nothing within its timeout (a frozen
   * server): probing it again at once would only wait as long again. */
  readonly unresponsive?: boolean;
}

/** The health answer for a failed probe. */
export function unreachable(err: unknown): LocationHealth {
  return {
    reachable: false,
    latencyMs: null,
    freeBytes: null,
    error: (err as Error).message,
    ...(err instanceof OfflineError && err.unresponsive ? { unresponsive: true } : {}),
  };
}

export interface StorageNode {
  readonly kind: LocationKind;
  /** Where it is, for people: no credentials, ever. */
  readonly display: string;

  /**
   * Stores the whole object atomically: readers see the previous object (or none) until
   * every byte is stored, then all of it. Writes to a temporary name and renames it into
   * place; a failed or interrupted put leaves the previous state visible (and at most a
   * temporary object, collected later). Creates missing parent folders below the root,
   * never the root itself. Replaces an existing object. Resolves to the bytes stored, once
   * they are durable (as durable as the location makes them: see each kind), except a local
   * folder's put under a DurableBatch (durable-batch.ts): durable when that is flushed.
   */
  put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number>;

  /**
   * Streams an object's bytes. Rejects with NotFoundError when it is missing. The caller
   * either reads to the end or stops early (break / return()), which releases the stream.
   */
  get(path: string): Promise<AsyncIterable<Uint8Array>>;

  /**
   * Reads `length` bytes from byte `offset` of an object, without streaming what comes
   * before or after (quick verify reads a shard's header, first and last frames this way).
   * Answers fewer bytes only where the object ends sooner, none past its end. Rejects with
   * NotFoundError when the object is missing, RangeError for a bad offset or length
   * (assertRange). Buffers the answer: callers keep `length` bounded.
   */
  readRange(path: string, offset: number, length: number): Promise<Uint8Array>;

  /**
   * Size (and, where the location tells, modification time) of an object, or null when it is
   * missing, or what is there is no object the vault could have made (a folder; local, SFTP:
   * a symbolic link or special file).
   */
  stat(path: string): Promise<ObjectInfo | null>;

  /**
   * Objects directly inside folder `dir` ('' for the root), in no particular order: regular
   * objects whose names are object segments (isObjectSegment), never folders, links or
   * anything else. A missing folder lists empty.
   */
  list(dir: string): Promise<ObjectInfo[]>;

  /**
   * Removes an object; a missing one is not an error. Only names the vault format makes
   * (isFormatObjectName) are removed: any other name is refused with ForeignObjectError
   * before the location is asked anything (assertDeletable).
   */
  delete(path: string): Promise<void>;

  /** Reachability, latency and free space. Never throws: an unreachable location says so. */
  health(): Promise<LocationHealth>;

  /**
   * Makes the location's root folder when it is missing (`init` on a folder not made yet),
   * and only that: the last component of the configured path, made only when its parent is
   * already a real folder. A missing parent is never made, so neither is a mount point of a
   * disk that is not there: NotFoundError "<parent> does not exist: is the disk mounted?".
   * Nothing is followed (local, SFTP): the parent must lstat as a folder, not a symbolic
   * link, and a link, file or anything but a folder at the root itself is refused with
   * ForeignObjectError (a root the user configured as a link to a folder is present). When
   * the root is missing and can be made, `confirm` (when given) is asked first; a no is a
   * UsageError and nothing is made. Resolves 'present' when the root is already a folder,
   * 'created' when this call made it. OfflineError when the location can't be reached.
   * Not retried by the wrappers (it may ask a person); the caller decides whom to ask.
   *
   * Optional by capability: locations with folders (local, SFTP, WebDAV) have it; an object
   * store (S3: the bucket is made by its owner, keys need no folders) leaves it out, and
   * `createRootOf` then answers 'present' without asking anything.
   */
  createRoot?(confirm?: () => Promise<boolean>): Promise<RootOutcome>;

  /** Releases connections. The node may not be used after. */
  close(): Promise<void>;
}

export type RootOutcome = 'present' | 'created';

/** `node.createRoot`, or 'present' for a location without folders (see createRoot). */
export function createRootOf(node: StorageNode, confirm?: () => Promise<boolean>): Promise<RootOutcome> {
  return node.createRoot ? node.createRoot(confirm) : Promise.resolve('present');
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Refuses anything but a relative key of safe segments: no '..', no absolute paths, no empties. */
export function assertObjectPath(path: string, allowRoot = false): void {
  if (typeof path !== 'string') throw new TypeError('object path must be a string');
  if (path === '' && allowRoot) return;
  const parts = path.split('/');
  for (const part of parts) {
    if (!isObjectSegment(part)) {
      throw new RangeError(`bad object path: ${JSON.stringify(path)}`);
    }
  }
}

/** Refuses a range that is not whole numbers, or empty, or larger than MAX_RANGE_BYTES. */
export function assertRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`bad range offset: ${offset}`);
  if (!Number.isSafeInteger(length) || length < 1 || length > MAX_RANGE_BYTES)
    throw new RangeError(`bad range length: ${length} (1..${MAX_RANGE_BYTES})`);
}

/** The most one readRange buffers: a frame of the largest segment with one data shard, and its header. */
export const MAX_RANGE_BYTES = 65 * 1024 * 1024;

/** True for one segment of an object path: what a listing may return as a name. */
export function isObjectSegment(name: string): boolean {
  return SEGMENT.test(name) && name !== '.' && name !== '..';
}

/**
 * The check every backend's delete makes first: a sound object path that names something the
 * vault format makes. Whatever a caller got from a hostile listing, nothing else is deleted.
 */
export function assertDeletable(path: string, display: string): void {
  assertObjectPath(path);
  if (!isFormatObjectName(path)) {
    throw new ForeignObjectError(`${display}: refusing to delete ${path}: not a name the vault makes`);
  }
}

/** A fresh temporary name for a put (PATHS.temp: 12 random bytes, hex). */
export function newTempPath(): string {
  return PATHS.temp(randomBytes(12).toString('hex'));
}

/** Reads a whole object into memory, refusing more than `maxBytes` (a location may lie). */
export async function readObject(node: StorageNode, path: string, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of await node.get(path)) {
    total += chunk.length;
    if (total > maxBytes) {
      throw new CorruptError(`${node.display}: ${path} is larger than the ${maxBytes} bytes it may be`);
    }
    chunks.push(chunk);
  }
  return concatBytes(chunks, total);
}

export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  const size = total ?? chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
