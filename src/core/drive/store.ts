/**
 * What the drive (a WebDAV view of the vault, server.ts) asks of the vault: its file list,
 * a file's plaintext as verified segments, a new version from a stream, removal, and a move.
 * Every call that touches locations runs through `run`, one at a time: the engine's writes
 * to the head, the audit log and the profile must not interleave (the app passes its own
 * queue, the CLI a queue of its own).
 */
import { wipe } from '../crypto/bytes';
import { ShardvaultError } from '../errors';
import type { FileRef } from '../format/head';
import { Channel } from '../vault/channel';
import { moveName } from '../vault/folders';
import { fetchManifest, openFileKeys, putFile, readSpecOf, removeFile } from '../vault/files';
import { readSegmentsFrom } from '../vault/pipeline/ranged';
import { segmentBytes, type ShardProblem, readShards } from '../vault/pipeline/read';
import type { Vault } from '../vault/vault';
import { readPacked, userFiles } from '../vault/packs';
import { markerOf } from './tree';

export interface DriveFile {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly created: string;
}

/** One segment of plaintext, authenticated, with the file offset of its first byte. */
export interface DriveSegment {
  readonly offset: number;
  readonly last: boolean;
  /** Views into buffers the reader uses again once the sink's promise resolves. */
  readonly bytes: readonly Uint8Array[];
}

/** Thrown by a sink that has what it wanted: the read stops there, not an error. */
export class ReadEnough extends Error {
  constructor() {
    super('read stopped: the rest is not wanted');
  }
}

export interface DriveStore {
  /** The vault's files as the head lists them (no location is asked). */
  files(): readonly DriveFile[];
  /**
   * Streams `name`'s plaintext to `sink`, segment by segment, from the segment that holds
   * byte `from`: each segment's frames authenticate before it is given out; a sink that
   * throws ReadEnough ends the read early (then the whole-file hash is not checked). When
   * the whole file is read, a hash mismatch rejects after the last segment was given out:
   * the caller must hold that segment back until this resolves.
   */
  read(name: string, from: number, sink: (segment: DriveSegment) => Promise<void>): Promise<void>;
  /** Stores `body` as `name` (a new version when it exists). */
  write(name: string, body: AsyncIterable<Uint8Array>, expectedSize?: number): Promise<void>;
  remove(name: string): Promise<void>;
  /** Gives `from`'s contents the name `to` (replacing it) and removes `from`. */
  move(from: string, to: string): Promise<void>;
  /** Gives every name under folder `from` (no slash) the prefix `to` instead, in one commit. */
  moveFolder(from: string, to: string): Promise<void>;
  /** Stores a copy of `from` as `to`. */
  copy(from: string, to: string): Promise<void>;
}

/** One operation at a time, in order. */
export type Serial = <T>(work: (vault: Vault) => Promise<T>) => Promise<T>;

/** A queue of one over a vault the caller keeps open (the CLI's `mount`); `settled()`
 * resolves once the work queued so far has ended, so the vault can be closed after it. */
export function serialOver(vault: Vault): Serial & { settled(): Promise<void> } {
  let queue: Promise<unknown> = Promise.resolve();
  const run = <T>(work: (v: Vault) => Promise<T>): Promise<T> => {
    const next = queue.then(
      () => work(vault),
      () => work(vault),
    );
    queue = next.catch(() => undefined);
    return next;
  };
  return Object.assign(run, { settled: () => queue.then(() => undefined) });
}

function findRef(vault: Vault, name: string): FileRef {
  const file = userFiles(vault.head()).find((f) => f.name === name);
  if (!file) throw new ShardvaultError('not-found', `no file named ${JSON.stringify(name)} in the vault`);
  return file;
}

/**
 * The plaintext of `file`, segment by segment from the one holding byte `from`. From byte 0
 * the shards stream from their start and the whole-file hash is checked (readShards); from a
 * later segment only that segment's frames onward are fetched, each authenticated
 * (readSegmentsFrom), and the whole-file hash is not (it needs the bytes before). A guarded
 * file asks its nodes for the key, as every opening does.
 */
async function readPlain(
  vault: Vault,
  file: FileRef,
  from: number,
  sink: (segment: DriveSegment) => Promise<void>,
  onRead?: (location: string) => void,
): Promise<readonly ShardProblem[]> {
  if (file.pack) {
    // A packed file is read whole from its pack and checked against its own SHA-256 before
    // any byte is given out (packs.ts); it is one segment.
    const used = new Set<string>();
    const read = await readPacked(vault, file, used);
    for (const l of used) onRead?.(l);
    try {
      await sink({ offset: 0, last: true, bytes: [read.bytes] });
    } catch (err) {
      if (!(err instanceof ReadEnough)) throw err;
    }
    return read.problems;
  }
  const m = await fetchManifest(vault, file);
  // A file manager sends many GETs per file (thumbnails, ranges): under an approvals policy
  // each would publish a request for the guardians, so the drive does not ask; `get` and the
  // app's Open wait for approvals instead.
  const approvals = vault.head().guard?.approvals ?? 0;
  if (m.guard && approvals > 0)
    throw new ShardvaultError(
      'approval',
      `${m.name} is guarded and its opening needs ${approvals} guardian ${approvals === 1 ? 'approval' : 'approvals'}: ` +
        'open it with shardvault get or the app, which wait for them',
    );
  const { fileKey, shardKeys } = await openFileKeys(vault, m);
  try {
    const first = Math.floor(from / m.segmentSize);
    if (first > 0 && from < m.size) {
      return await readSegmentsFrom(
        readSpecOf(vault, m, shardKeys),
        first,
        (segment) => sink({ offset: segment.index * m.segmentSize, last: segment.last, bytes: segmentBytes(segment) }),
        { onRead: (copy) => onRead?.(copy.location) },
      );
    }
    let offset = 0;
    return await readShards(
      readSpecOf(vault, m, shardKeys),
      async (segment) => {
        const start = offset;
        offset += segment.length;
        if (offset <= from && !(segment.last && start === from)) return;
        await sink({ offset: start, last: segment.last, bytes: segmentBytes(segment) });
      },
      { onRead: (copy) => onRead?.(copy.location) },
    );
  } catch (err) {
    if (err instanceof ReadEnough) return [];
    throw err;
  } finally {
    wipe(fileKey, ...shardKeys);
  }
}

/** A read turned into a stream of owned chunks, for a put (copy, and move without a rename). */
function plainStream(vault: Vault, file: FileRef): AsyncIterable<Uint8Array> {
  const channel = new Channel(4);
  readPlain(vault, file, 0, async (segment) => {
    // The segment's buffers are the reader's again once this resolves: the put gets copies.
    for (const b of segment.bytes) await channel.push(new Uint8Array(b));
  }).then(
    () => channel.close(),
    (err: unknown) => channel.abort(err instanceof Error ? err : new Error(String(err))),
  );
  return channel;
}

export function vaultStore(run: Serial, vaultNow: () => Vault): DriveStore {
  const copyEntry = (vault: Vault, from: string, to: string): Promise<unknown> =>
    putFile(vault, plainStream(vault, findRef(vault, from)), to, {
      replace: true,
      expectedSize: findRef(vault, from).size,
    });
  return {
    files: () => userFiles(vaultNow().head()),
    read: (name, from, sink) =>
      run((vault) =>
        vault.audited('get', name, async (used) => {
          await readPlain(vault, findRef(vault, name), from, sink, (l) => used.add(l));
        }),
      ),
    write: (name, body, expectedSize) =>
      run(async (vault) => {
        await putFile(vault, body, name, {
          replace: true,
          ...(expectedSize !== undefined ? { expectedSize } : {}),
        });
      }),
    remove: (name) => run((vault) => removeFile(vault, name)),
    move: (from, to) => run((vault) => moveEntry(vault, from, to, copyEntry)),
    moveFolder: (from, to) =>
      run(async (vault) => {
        await moveName(vault, markerOf(from), markerOf(to));
      }),
    copy: (from, to) =>
      run(async (vault) => {
        await copyEntry(vault, from, to);
      }),
  };
}

/**
 * The one place a drive renames a file: the engine's `mv` (a new manifest version over the
 * same shards, one commit, nothing uploaded again). An empty folder's marker (a name ending
 * in `/`, no bytes) is copied and removed instead: `mv` of such a name moves a whole folder,
 * which the drive does with moveFolder.
 */
async function moveEntry(
  vault: Vault,
  from: string,
  to: string,
  copy: (vault: Vault, from: string, to: string) => Promise<unknown>,
): Promise<void> {
  if (from === to) return;
  if (!from.endsWith('/') && !to.endsWith('/')) {
    await moveName(vault, from, to);
    return;
  }
  await copy(vault, from, to);
  await removeFile(vault, from);
}
