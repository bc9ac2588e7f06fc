/**
 * Packs (docs/FORMAT.md "Packs"): the small files of one `put DIR` stored together. A pack is
 * an ordinary vault file under a reserved name (PACK_NAME_PREFIX): one set of shards and one
 * manifest, so repair, verify, re-coding, key rotation, location removal and the drill handle
 * it as any file. Each small file is a head entry naming an extent of a pack (`pack`: the
 * pack's file id and an offset; its length is the entry's size) and its own SHA-256, checked
 * on every read: the head is sealed under the vault key, so no location can make an extent
 * release other bytes. A pack is removed only when no entry of the merged head refers to it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isPackName, PACK_NAME_PREFIX } from '../../shared/file-name';
import { wipe } from '../crypto/bytes';
import { CorruptError } from '../errors';
import type { FileRef, Head } from '../format/head';
import { fetchManifest, openFileKeys, readSpecOf, storeFile, type PutPlan, type StoredFile } from './files';
import { readShards, segmentBytes, type ShardProblem } from './pipeline/read';
import type { Vault } from './vault';

/** Files of at most this many bytes are packed by `put DIR`. */
export const PACK_FILE_MAX = 64 * 1024;
/** A pack is stored once it holds at least this many bytes (so at most this + PACK_FILE_MAX). */
export const PACK_TARGET = 4 * 1024 * 1024;

/** A pack: the head entry of many small files' bytes (never listed). */
export const isPack = (f: FileRef): boolean => isPackName(f.name);
/** A packed file: an extent of a pack, with no manifest or shards of its own. */
export const isPacked = (f: FileRef): boolean => f.pack !== undefined;

/** The files a user sees (listings, folders, the drive): every entry but the packs. */
export function userFiles(head: Head): FileRef[] {
  return head.files.filter((f) => !isPack(f));
}

/**
 * The entries with a manifest and shards of their own (files stored alone, and packs): what
 * repair, verify, re-coding, location removal, key rotation and the drill work through.
 */
export function storedFiles(head: Head): FileRef[] {
  return head.files.filter((f) => !isPacked(f));
}

/** The pack a packed file's bytes are in, as the head names it. */
export function packOf(head: Head, file: FileRef): FileRef {
  const pack = file.pack ? head.files.find((f) => f.id === file.pack!.id && isPack(f)) : undefined;
  if (!pack) throw new CorruptError(`the vault head names no pack for ${file.name}`);
  if (file.pack!.offset + file.size > pack.size)
    throw new CorruptError(`${file.name}'s extent ends past its pack (${pack.size} bytes)`);
  return pack;
}

/**
 * Drops the packs no entry of `head` refers to (each tombstoned like a removed file) and
 * returns them: their objects are deleted once the head that drops them is committed.
 * Computed from the head a commit writes (the merged head), never from a location's listing.
 */
export function collectPacks(head: Head): { head: Head; dropped: FileRef[] } {
  const referenced = new Set(head.files.flatMap((f) => (f.pack ? [f.pack.id] : [])));
  const dropped = head.files.filter((f) => isPack(f) && !referenced.has(f.id));
  if (dropped.length === 0) return { head, dropped };
  const gone = new Set(dropped);
  return {
    head: {
      ...head,
      files: head.files.filter((f) => !gone.has(f)),
      tombstones: [...head.tombstones, ...dropped.map((f) => ({ id: f.id, version: f.version }))],
    },
    dropped,
  };
}

/**
 * A commit's change that also drops the packs it leaves unreferenced; `dropped` holds them
 * once the commit ran (the last application is the one committed).
 */
export function collectingPacks(change: (head: Head) => Head): {
  change: (head: Head) => Head;
  dropped: () => FileRef[];
} {
  let dropped: FileRef[] = [];
  return {
    change: (h) => {
      const collected = collectPacks(change(h));
      dropped = collected.dropped;
      return collected.head;
    },
    dropped: () => dropped,
  };
}

/** A pack's whole plaintext, read and checked against its manifest's and the head's SHA-256. */
export async function readPack(
  vault: Vault,
  pack: FileRef,
  used: Set<string>,
): Promise<{ bytes: Uint8Array; problems: ShardProblem[] }> {
  const m = await fetchManifest(vault, pack);
  if (m.guard) throw new CorruptError(`pack ${pack.id} is guarded: a pack never is`);
  const { fileKey, shardKeys } = await openFileKeys(vault, m);
  try {
    const bytes = new Uint8Array(m.size);
    let at = 0;
    const problems = await readShards(
      readSpecOf(vault, m, shardKeys),
      (segment) => {
        for (const piece of segmentBytes(segment)) {
          bytes.set(piece, at);
          at += piece.length;
        }
        return Promise.resolve();
      },
      { onRead: (copy) => used.add(copy.location) },
    );
    if (at !== m.size) throw new CorruptError(`pack ${pack.id} read short`);
    return { bytes, problems };
  } finally {
    wipe(fileKey, ...shardKeys);
  }
}

/** A packed file's bytes from its pack's plaintext, refused unless they hash to the entry's SHA-256. */
export function extentOf(file: FileRef, pack: FileRef, packBytes: Uint8Array): Uint8Array {
  const offset = file.pack!.offset;
  if (packBytes.length !== pack.size || offset + file.size > packBytes.length)
    throw new CorruptError(`${file.name}'s extent ends past its pack`);
  const bytes = packBytes.subarray(offset, offset + file.size);
  if (createHash('sha256').update(bytes).digest('hex') !== file.sha256)
    throw new CorruptError(`${file.name}: its bytes in the pack do not match the SHA-256 the vault head names`);
  return bytes;
}

/** A packed file's bytes, read from its pack and checked (extentOf): a PackReader of one file. */
export function readPacked(
  vault: Vault,
  file: FileRef,
  used: Set<string>,
): Promise<{ bytes: Uint8Array; problems: ShardProblem[] }> {
  return new PackReader(vault, used).read(file);
}

/**
 * Reads packed files, keeping the last pack read: a folder restore takes its files pack by
 * pack, so each pack is read once.
 */
export class PackReader {
  /** The last pack asked for, its read shared by every caller waiting on it (a restore reads
   * a few files at a time, in pack order). */
  private last: { pack: FileRef; read: Promise<{ bytes: Uint8Array; problems: ShardProblem[] }> } | null = null;

  constructor(
    private readonly vault: Vault,
    private readonly used: Set<string>,
  ) {}

  async read(file: FileRef): Promise<{ bytes: Uint8Array; problems: ShardProblem[] }> {
    const pack = packOf(this.vault.head(), file);
    let first = false;
    if (this.last?.pack !== pack) {
      this.last = { pack, read: readPack(this.vault, pack, this.used) };
      first = true;
    }
    const read = await this.last.read;
    // A pack's problems are told once, by the first file that read it.
    return { bytes: extentOf(file, pack, read.bytes), problems: first ? read.problems : [] };
  }
}

const newId = (): string => randomBytes(16).toString('hex');

/**
 * Gathers the small files of one request into packs: `add` appends a file's bytes and gives
 * its entry; a pack is stored (storeFile, like any file) once it reaches PACK_TARGET, and the
 * last by `finish`. Nothing is in a head until the request commits `stored()`'s refs.
 */
export class PackWriter {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private id = newId();
  private readonly packs: StoredFile[] = [];
  private readonly entries: FileRef[] = [];
  private storing: Promise<void> = Promise.resolve();

  constructor(
    private readonly vault: Vault,
    private readonly plan: PutPlan,
    private readonly used: Set<string>,
  ) {}

  /** Appends one small file; stores the pack when it is full. */
  async add(name: string, data: Uint8Array, created: string): Promise<void> {
    this.entries.push({
      id: newId(),
      version: 1,
      name,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      created,
      pack: { id: this.id, offset: this.bytes },
    });
    this.parts.push(data);
    this.bytes += data.length;
    if (this.bytes >= PACK_TARGET) await this.seal();
  }

  /** Stores what is gathered and waits for every pack to be stored. */
  async finish(): Promise<void> {
    if (this.parts.length > 0) await this.seal();
    await this.storing;
  }

  /** The packs stored so far (for a request that fails: to discard). */
  stored(): readonly StoredFile[] {
    return this.packs;
  }

  /** Every packed file's entry and every pack's, for the commit (after finish). */
  refs(): FileRef[] {
    return [...this.packs.map((p) => p.ref), ...this.entries];
  }

  /** Stores the pack gathered so far under its id; the next pack starts empty. */
  private async seal(): Promise<void> {
    const parts = this.parts;
    const id = this.id;
    const size = this.bytes;
    this.parts = [];
    this.bytes = 0;
    this.id = newId();
    // One pack stored at a time, in order: a pack is a few MiB, sealed on worker threads.
    const run = this.storing.then(async () => {
      const stored = await storeFile(this.vault, this.plan, parts, `${PACK_NAME_PREFIX}${id}`, {
        used: this.used,
        expectedSize: size,
        fileId: id,
      });
      this.packs.push(stored);
    });
    this.storing = run.catch(() => undefined);
    await run;
  }
}

/** What a report shows for an entry: a pack's reserved name is not a name to print. */
export function shownName(f: { readonly name: string }): string {
  return isPackName(f.name) ? `(pack ${f.name.slice(PACK_NAME_PREFIX.length)})` : f.name;
}
