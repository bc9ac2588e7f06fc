/**
 * Folders over the vault's flat names (src/shared/file-name.ts says what a folder is): a
 * whole tree stored in one commit, a subtree restored under a destination without ever
 * leaving it, a folder removed in one commit, and a file or folder renamed or moved in one
 * commit that only writes new manifest versions over the same shards.
 */
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { FileEntry, FolderReport } from '../../shared/api';
import {
  fileAndFolder,
  fileBaseName,
  fileNameProblem,
  FOLDER_SEPARATOR,
  folderBaseName,
  folderNameProblem,
  folderPrefix,
  isFolderMarker,
  isInFolder,
  movedName,
  restoreProblem,
  stepsBelow,
} from '../../shared/file-name';
import { plural } from '../../shared/format';
import { CorruptError, NotFoundError, ShardvaultError, UsageError } from '../errors';
import type { FileRef, Head } from '../format/head';
import { encodeManifest } from '../format/manifest';
import { PATHS } from '../format/records';
import { DurableBatch, withDurableBatch } from '../storage/durable-batch';
import {
  checkFileName,
  commitOrDiscard,
  completeAway,
  fetchManifest,
  freshManifestVersion,
  planPut,
  readFileTo,
  removeObjectsOf,
  rewrap,
  storeFile,
  warnLeft,
  type PutOptions,
  type StoredFile,
} from './files';
import type { ShardProblem } from './pipeline/read';
import { collectingPacks, isPack, PACK_FILE_MAX, PackReader, PackWriter, userFiles } from './packs';
import type { Vault } from './vault';

/** Files of a tree stored at once: enough to keep two cores and the locations busy. */
const PUT_PARALLEL = 16;
/** Files of a tree restored at once. */
const GET_PARALLEL = 8;

/** The names the head holds in the folder with that prefix (its marker included). */
export function filesIn(head: Head, prefix: string): FileRef[] {
  return userFiles(head).filter((f) => isInFolder(f.name, prefix));
}

// ------------------------------------------------------------------ put DIR

interface TreeFile {
  readonly path: string;
  readonly name: string;
  readonly size: number;
}

/** A file's bytes for a put; `close` once done with them, read to the end or not. */
export interface TreeBytes {
  readonly data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** A small file's bytes read whole into a buffer of its size (to be packed), or null when
   * it holds more than PACK_FILE_MAX now; `data` is then still read from its start. Without
   * it, a small file's `data` is gathered. */
  readonly readSmall?: (size: number) => Promise<Uint8Array | null>;
  close(): Promise<void>;
}

/** A tree to store in one commit (storeTree): names under its folder, each file's bytes on request. */
export interface Tree {
  readonly files: readonly { readonly name: string; readonly size: number; open(): Promise<TreeBytes> }[];
  /** Markers of folders with nothing stored in them (`NAME/empty/`). */
  readonly markers: readonly string[];
  /** What was left out, in words (links, devices, sockets). */
  readonly skipped: readonly string[];
  readonly bytes: number;
  /** Called once every file is stored, before the commit: a failure here stores nothing. */
  readonly finish?: () => Promise<void>;
}

export interface TreeScan {
  readonly files: TreeFile[];
  /** Markers of folders with nothing stored in them (`NAME/empty/`). */
  readonly markers: string[];
  /** What was left out, in words (links, devices, sockets). */
  readonly skipped: string[];
  readonly bytes: number;
}

/**
 * The tree under `dir` as vault names under `prefix`: regular files, and a marker for each
 * folder nothing is stored in. Symbolic links (to files or folders) and anything that is
 * not a file or folder are left out and named in `skipped`; no link is followed.
 */
export async function scanTree(dir: string, prefix: string): Promise<TreeScan> {
  const files: TreeFile[] = [];
  const markers: string[] = [];
  const skipped: string[] = [];
  let bytes = 0;
  const walk = async (path: string, name: string): Promise<boolean> => {
    const entries = await fs.readdir(path, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let stored = false;
    for (const e of entries) {
      const child = nodePath.join(path, e.name);
      const childName = `${name}${e.name}`;
      if (e.isSymbolicLink()) {
        skipped.push(`${child} (a symbolic link)`);
      } else if (e.isDirectory()) {
        if (await walk(child, `${childName}${FOLDER_SEPARATOR}`)) stored = true;
      } else if (e.isFile()) {
        const problem = fileNameProblem(childName);
        if (problem !== null) throw new UsageError(`${child}: ${problem}`);
        const st = await fs.lstat(child);
        files.push({ path: child, name: childName, size: st.size });
        bytes += st.size;
        stored = true;
      } else {
        skipped.push(`${child} (not a file or folder)`);
      }
    }
    if (!stored) {
      const problem = fileNameProblem(name);
      if (problem !== null) throw new UsageError(`${path}: ${problem}`);
      markers.push(name);
    }
    return true;
  };
  await walk(dir, prefix);
  return { files, markers, skipped, bytes };
}

/** What a folder's put stored, and what it left out (links, devices, sockets), in words. */
export interface FolderPut extends FolderReport {
  readonly skipped: readonly string[];
}

/**
 * Stores the folder `dir` under `name` (default its own name) in one commit (storeTree).
 */
export async function putFolder(
  vault: Vault,
  dir: string,
  opts: PutOptions & { name?: string } = {},
): Promise<FolderPut> {
  const root = nodePath.resolve(dir);
  const st = await fs.lstat(root).catch(() => null);
  if (!st?.isDirectory()) throw new UsageError(`${dir} is not a readable folder`);
  const prefix = folderPrefix(opts.name ?? nodePath.basename(root));
  return storeTree(
    vault,
    prefix,
    async () => {
      const scan = await scanTree(root, prefix);
      return {
        ...scan,
        files: scan.files.map((f) => ({ name: f.name, size: f.size, open: () => openTreeFile(f.path) })),
      };
    },
    opts,
  );
}

/**
 * A file of a tree on this machine, opened for a put: not through a link, and not a FIFO
 * swapped in since the scan (O_NONBLOCK: its open does not wait for a writer; then it is
 * refused as not a file).
 */
export async function openTreeFile(path: string): Promise<TreeBytes> {
  const handle = await fs.open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw new UsageError(`${path} is no longer a regular file`);
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
  let stream: AsyncIterable<Uint8Array> | null = null;
  return {
    // Made on first use: a packed small file is read by readSmall alone (pread: it leaves the
    // file position at 0, so a file grown past the pack limit still streams from its start).
    get data() {
      return (stream ??= handle.createReadStream({ highWaterMark: 1 << 20, autoClose: false }));
    },
    readSmall: (size) => readSmall(handle, size),
    close: () => handle.close().catch(() => undefined),
  };
}

/**
 * A small file's bytes for a pack: by `readSmall` when its source has one, or gathered from
 * `data`, which may not run past PACK_FILE_MAX (a tree's maker cuts each file to its size).
 */
async function smallBytes(bytes: TreeBytes, size: number): Promise<Uint8Array | null> {
  if (bytes.readSmall) return bytes.readSmall(size);
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of bytes.data) {
    total += part.length;
    if (total > PACK_FILE_MAX) throw new UsageError(`a file of ${size} bytes gave more than ${PACK_FILE_MAX}`);
    parts.push(part);
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/**
 * Stores a tree under the folder `prefix` (`NAME/`) in one commit: every file's shards and
 * manifest first, a few at a time, made durable together, then one head naming them all.
 * `tree` lists the files (names under `prefix`, checked by its maker) and opens each in turn
 * (put DIR: from disk; the web UI's folder upload: cut from one stream, tree-upload.ts). An
 * existing name in the folder (or a file of the folder's own name) is refused without
 * `replace`; with it, the old tree is replaced whole. A failure before the commit deletes
 * what was stored.
 */
export async function storeTree(
  vault: Vault,
  prefix: string,
  treeOf: () => Promise<Tree>,
  opts: PutOptions = {},
): Promise<FolderPut> {
  const problem = folderNameProblem(prefix);
  if (problem !== null) throw new UsageError(problem);
  const bare = prefix.slice(0, -1);
  await vault.finishKeyShareChange();
  return vault.audited('put', prefix, async (used) => {
    const head = vault.head();
    const existing = userFiles(head).filter((f) => isInFolder(f.name, prefix) || f.name === bare);
    if (existing.length > 0 && !opts.replace)
      throw new ShardvaultError('exists', `${bare} is already in the vault (use --replace to replace it)`);
    const tree = await treeOf();
    // Only what a folder restore can write back, whatever the tree's source (a folder on
    // disk may hold a name with a backslash, an upload anything): checked before a byte is
    // stored, since one such name would make the whole folder's restore fail.
    const treeNames = [...tree.files.map((f) => f.name), ...tree.markers];
    for (const n of treeNames) {
      const why = restoreProblem(n, prefix);
      if (why !== null) throw new UsageError(`${JSON.stringify(n.slice(prefix.length))}: ${why}`);
    }
    const both = fileAndFolder(treeNames);
    if (both !== null) throw new UsageError(`${both.slice(prefix.length)} is both a file and a folder`);
    for (const s of tree.skipped) vault.options.onWarning?.(`skipped ${s}`);
    const plan = await planPut(vault, opts);
    const total = { files: tree.files.length + tree.markers.length, bytes: tree.bytes };
    const progress = { files: 0, bytes: 0 };
    const emit = everyTick((): void =>
      vault.emitProgress({
        op: 'put',
        name: bare,
        done: progress.bytes,
        total: total.bytes,
        files: { done: progress.files, total: total.files },
      }),
    );
    const stored: StoredFile[] = [];
    // Small files go into packs (packs.ts): one set of shards and one manifest per few MiB
    // instead of per file. A guarded put packs nothing: a guarded file has a key of its own.
    const packs = opts.guarded ? null : new PackWriter(vault, plan, used);
    const jobs: (() => Promise<void>)[] = [
      ...tree.files.map((f) => async () => {
        const bytes = await f.open();
        let last = 0;
        try {
          const small = packs && f.size <= PACK_FILE_MAX ? await smallBytes(bytes, f.size) : null;
          if (packs && small) {
            await packs.add(f.name, small, new Date().toISOString());
            progress.bytes += small.length;
          } else {
            const s = await storeFile(vault, plan, bytes.data, f.name, {
              used,
              expectedSize: f.size,
              onProgress: (done) => {
                progress.bytes += done - last;
                last = done;
                emit();
              },
            });
            stored.push(s);
          }
        } finally {
          await bytes.close();
        }
        progress.files++;
        emit();
      }),
      ...tree.markers.map((m) => async () => {
        if (packs) await packs.add(m, new Uint8Array(0), new Date().toISOString());
        else stored.push(await storeFile(vault, plan, [], m, { used, expectedSize: 0 }));
        progress.files++;
        emit();
      }),
    ];
    const discardAll = (): Promise<unknown> =>
      Promise.allSettled([...stored, ...(packs?.stored() ?? [])].map((s) => s.discard()));
    // Every object of the tree is written without its own fsyncs and made durable in one
    // flush before the commit names it (storage/durable-batch.ts).
    const batch = new DurableBatch();
    try {
      await withDurableBatch(batch, async () => {
        await runLimited(jobs, PUT_PARALLEL);
        await packs?.finish();
      });
      await tree.finish?.();
      await batch.flush();
    } catch (err) {
      await discardAll();
      throw err;
    }
    emit(true);
    const refs = [...stored.map((s) => s.ref), ...(packs?.refs() ?? [])];
    // One head names the whole tree; from here its objects stay (see putFile).
    const names = new Set(refs.filter((r) => !isPack(r)).map((r) => r.name));
    // What the committed change replaced, from the merged head: not `existing` (a file this
    // device listed may have been moved away since; its shards are the moved file's).
    let replaced: FileRef[] = [];
    const commit = collectingPacks((h) => {
      const gone = userFiles(h).filter((f) => isInFolder(f.name, prefix) || f.name === bare || names.has(f.name));
      // Without `replace` the folder was free on this device's head; a name in it another
      // device stored since is refused, not tombstoned unseen.
      if (gone.length > 0 && !opts.replace)
        throw new ShardvaultError('exists', `${gone[0]!.name} is already in the vault (stored since)`);
      const goneIds = new Set(gone.map((f) => `${f.id}-${f.version}`));
      replaced = gone;
      return {
        ...h,
        files: [...h.files.filter((f) => !goneIds.has(`${f.id}-${f.version}`)), ...refs],
        tombstones: [...h.tombstones, ...gone.map((f) => ({ id: f.id, version: f.version }))],
      };
    });
    await commitOrDiscard(vault, commit.change, discardAll);
    await removeObjectsOf(vault, [...replaced, ...commit.dropped()]);
    const entries: FileEntry[] = [...stored, ...(packs?.stored() ?? [])].map((s) => s.entry);
    const awaiting = [...new Set(entries.flatMap((e) => e.awaiting))];
    return {
      name: bare,
      files: tree.files.length,
      folders: tree.markers.length,
      bytes: tree.bytes,
      skipped: tree.skipped,
      survives: entries.length === 0 ? 0 : Math.min(...entries.map((e) => e.survives)),
      awaiting,
      signIn: [...new Set(entries.flatMap((e) => e.signIn))],
    };
  });
}

/** A tree's progress is told at most this often (10,000 files would be 20,000 events, each
 * crossing the engine host, the web bridge and a render of the page), and once at the end. */
const PROGRESS_EVERY_MS = 100;

/** `tell`, at most every PROGRESS_EVERY_MS unless `now`. */
function everyTick(tell: () => void): (now?: boolean) => void {
  let last = -Infinity;
  return (now = false) => {
    const t = performance.now();
    if (!now && t - last < PROGRESS_EVERY_MS) return;
    last = t;
    tell();
  };
}

/**
 * A small file's bytes (at most PACK_FILE_MAX), or null when it holds more than that now
 * (grown since the scan: it is then stored on its own). Reads from byte 0 into a buffer of
 * the size the scan saw and one byte more; a read that comes back short is the end.
 */
async function readSmall(handle: fs.FileHandle, size: number): Promise<Uint8Array | null> {
  let buffer = new Uint8Array(Math.min(size, PACK_FILE_MAX) + 1);
  let at = 0;
  for (;;) {
    const asked = buffer.length - at;
    const { bytesRead } = await handle.read(buffer, at, asked, at);
    at += bytesRead;
    if (bytesRead < asked) break;
    if (at > PACK_FILE_MAX) return null;
    // Grown since the scan: read on, up to one byte past what may be packed.
    const grown = new Uint8Array(PACK_FILE_MAX + 1);
    grown.set(buffer);
    buffer = grown;
  }
  return buffer.subarray(0, at);
}

/** Runs `jobs`, at most `limit` at a time; the first failure stops the rest and is thrown. */
async function runLimited(jobs: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const state: { failed: Error | null } = { failed: null };
  const lane = async (): Promise<void> => {
    while (state.failed === null && next < jobs.length) {
      const job = jobs[next++]!;
      try {
        await job();
      } catch (err) {
        state.failed ??= err instanceof Error ? err : new Error(String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, lane));
  if (state.failed !== null) throw state.failed;
}

// ------------------------------------------------------------------ get NAME/

export interface FolderGet {
  readonly output: string;
  readonly files: number;
  readonly problems: ShardProblem[];
}

/**
 * A directory step made or found under `parent` (a real directory this restore trusts):
 * never through a link. mkdir does not follow a link in the last step, and what is there
 * must be a real directory.
 */
async function realDirectory(parent: string, step: string): Promise<string> {
  const path = nodePath.join(parent, step);
  await fs.mkdir(path, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw new ShardvaultError('io', `cannot make ${path}: ${err.message}`);
  });
  const st = await fs.lstat(path);
  if (st.isSymbolicLink())
    throw new ShardvaultError('exists', `${path} is a symbolic link: nothing is written through it`);
  if (!st.isDirectory()) throw new ShardvaultError('exists', `${path} is not a folder`);
  return path;
}

/**
 * Restores the folder `name` (`photos/` or `photos`) as DEST/<its last step>, creating DEST
 * if needed. An existing target is refused without `force`; with it, files are written over
 * and other files there stay. Every name is checked before anything is written: each step a
 * plain name (no "." or "..", no empty step, no backslash), so nothing lands outside the
 * target, whatever the head says; a link at the destination is never followed. Every folder
 * is made (or found, and checked to be a real folder) once, before any file is written; then
 * a few files are read at a time, each written to a temporary file and renamed into place
 * without its own fsync, and one flush at the end (storage/durable-batch.ts: syncfs of the
 * destination's file system, or an fsync of every file and folder) makes them durable before
 * the restore reports success. A crash before that flush (the restore never said it was done)
 * may leave, after a power loss, some restored files empty or missing, and `.part` files of
 * those being written: run it again with --force.
 */
export async function getFolder(
  vault: Vault,
  name: string,
  dest: string,
  opts: { force?: boolean } = {},
): Promise<FolderGet> {
  const prefix = folderPrefix(name);
  if (prefix === '') throw new UsageError('give the folder to restore (NAME/)');
  return vault.audited('get', prefix, async (used) => {
    const files = filesIn(vault.head(), prefix);
    if (files.length === 0) throw new NotFoundError(`no folder named ${JSON.stringify(prefix)} in the vault`);
    const base = folderBaseName(prefix);
    const planned = files.map((f) => {
      const steps = stepsBelow(f.name, prefix);
      if (steps === null || restoreProblem(f.name, prefix) !== null)
        throw new CorruptError(`the vault names a file ${JSON.stringify(f.name)} that can't be written out safely`);
      return { file: f, steps, folder: isFolderMarker(f.name) };
    });
    // Packed files pack by pack, so that each pack is read once (packs.ts PackReader).
    const packOrder = (p: { file: FileRef }): string => p.file.pack?.id ?? '';
    planned.sort((a, b) => (packOrder(a) < packOrder(b) ? -1 : packOrder(a) > packOrder(b) ? 1 : 0));
    const packs = new PackReader(vault, used);
    const both = fileAndFolder(files.map((f) => f.name));
    if (both !== null) throw new CorruptError(`${JSON.stringify(both)} is both a file and a folder in the vault`);
    // Every folder to make, each once.
    const dirs = new Set<string>();
    for (const p of planned) {
      const upto = p.folder ? p.steps.length : p.steps.length - 1;
      for (let i = 1; i <= upto; i++) dirs.add(p.steps.slice(0, i).join('/'));
    }
    await fs.mkdir(nodePath.resolve(dest), { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      throw new ShardvaultError('io', `cannot make ${dest}: ${err.message}`);
    });
    // DEST is the user's own choice (a link there is theirs); below it nothing is followed.
    const root = await fs.realpath(nodePath.resolve(dest));
    const target = nodePath.join(root, base);
    const there = await fs.lstat(target).catch(() => null);
    if (there && !opts.force) throw new ShardvaultError('exists', `${target} exists (use --force to write into it)`);
    const top = await realDirectory(root, base);
    // Every folder first, each made (or found) once, never through a link, parents first.
    const folders = new Map<string, string>([['', top]]);
    for (const d of [...dirs].sort((x, y) => x.split('/').length - y.split('/').length || (x < y ? -1 : 1))) {
      const cut = d.lastIndexOf('/');
      folders.set(d, await realDirectory(folders.get(cut < 0 ? '' : d.slice(0, cut))!, d.slice(cut + 1)));
    }
    const total = files.reduce((n, f) => n + f.size, 0);
    let bytes = 0;
    let done = planned.filter((p) => p.folder).length;
    const emit = everyTick((): void =>
      vault.emitProgress({ op: 'get', name: prefix, done: bytes, total, files: { done, total: files.length } }),
    );
    const problems: ShardProblem[] = [];
    // A few files at a time (their reads wait on the locations, not on this thread), each
    // renamed into place unsynced; one flush makes them all durable at the end.
    const batch = new DurableBatch();
    const jobs = planned
      .filter((p) => !p.folder)
      .map((p) => async () => {
        const parent = folders.get(p.steps.slice(0, -1).join('/'))!;
        const out = nodePath.join(parent, p.steps[p.steps.length - 1]!);
        const st = await fs.lstat(out).catch(() => null);
        if (st && !opts.force) throw new ShardvaultError('exists', `${out} exists (use --force to overwrite it)`);
        if (st?.isDirectory()) throw new ShardvaultError('exists', `${out} is a folder`);
        let last = 0;
        problems.push(
          ...(await readFileTo(
            vault,
            p.file,
            out,
            used,
            (d) => {
              bytes += d - last;
              last = d;
              emit();
            },
            { durable: batch },
            packs,
          )),
        );
        bytes += p.file.size - last;
        done++;
        emit();
      });
    await runLimited(jobs, GET_PARALLEL);
    await batch.flush();
    emit(true);
    return { output: top, files: files.length, problems };
  });
}

// ------------------------------------------------------------------ rm -r

/** Removes the folder `name` and everything in it, in one commit. */
export async function removeFolder(vault: Vault, name: string): Promise<{ removed: number }> {
  const prefix = folderPrefix(name);
  if (prefix === '') throw new UsageError('give the folder to remove (NAME/); the whole vault is not removed this way');
  await vault.finishKeyShareChange();
  return vault.audited('rm', prefix, async (used) => {
    const files = filesIn(vault.head(), prefix);
    if (files.length === 0) throw new NotFoundError(`no folder named ${JSON.stringify(prefix)} in the vault`);
    warnLeft(vault, await completeAway(vault));
    vault.locations.forEach((l) => used.add(l.name));
    const gone = new Set(files.map((f) => `${f.id}-${f.version}`));
    const commit = collectingPacks((h) => ({
      ...h,
      files: h.files.filter((f) => !gone.has(`${f.id}-${f.version}`)),
      tombstones: [...h.tombstones, ...files.map((f) => ({ id: f.id, version: f.version }))],
    }));
    await vault.commit(commit.change);
    await removeObjectsOf(vault, [...files, ...commit.dropped()]);
    return { removed: files.length };
  });
}

// ------------------------------------------------------------------ mv

export interface Move {
  readonly from: string;
  readonly to: string;
  readonly files: number;
}

/**
 * What `mv from to` renames: a file (`from` names one) or a folder (names start with
 * `from/`). Into an existing folder (or a `to` ending in a slash) it keeps its own last step.
 */
export function planMove(
  head: Head,
  from: string,
  to: string,
): { renames: Map<FileRef, string>; from: string; to: string } {
  const listed = userFiles(head);
  const names = new Set(listed.map((f) => f.name));
  const isFolder = (n: string): boolean => {
    const p = folderPrefix(n);
    return p !== '' && listed.some((f) => isInFolder(f.name, p));
  };
  const file = !from.endsWith(FOLDER_SEPARATOR) ? listed.find((f) => f.name === from) : undefined;
  const renames = new Map<FileRef, string>();
  let src: string;
  let dst: string;
  if (file) {
    src = from;
    dst = to.endsWith(FOLDER_SEPARATOR) || isFolder(to) ? `${folderPrefix(to)}${fileBaseName(from)}` : to;
    checkFileName(dst);
    renames.set(file, dst);
  } else {
    src = folderPrefix(from);
    if (src === '' || !isFolder(src))
      throw new NotFoundError(`no file or folder named ${JSON.stringify(from)} in the vault`);
    dst = isFolder(to) ? `${folderPrefix(to)}${folderBaseName(src)}${FOLDER_SEPARATOR}` : folderPrefix(to);
    const problem = folderNameProblem(dst);
    if (problem !== null) throw new UsageError(problem);
    if (dst.startsWith(src)) throw new UsageError(`a folder can't move into itself (${src} to ${dst})`);
    for (const f of filesIn(head, src)) {
      const n = movedName(f.name, src, dst);
      checkFileName(n);
      renames.set(f, n);
    }
  }
  const moving = new Set([...renames.keys()].map((f) => f.name));
  for (const n of renames.values()) {
    if (names.has(n) && !moving.has(n)) throw new ShardvaultError('exists', `${n} is already in the vault`);
  }
  if (src === dst) throw new UsageError(`${src} is already there`);
  const bare = dst.endsWith(FOLDER_SEPARATOR) ? dst.slice(0, -1) : `${dst}${FOLDER_SEPARATOR}`;
  if (names.has(bare) || (!dst.endsWith(FOLDER_SEPARATOR) && isFolder(dst)))
    throw new ShardvaultError('exists', `${bare} is already in the vault`);
  return { renames, from: src, to: dst };
}

/**
 * Renames or moves a file or folder in one commit. No shard is read or written: each file
 * gets a new manifest version with its new name over the same shards (keys wrapped again
 * for the version), written to the reachable locations before the head that names it; the
 * old versions are tombstoned and deleted after. Cut short before the commit, the vault is
 * as it was (the new manifests are unreferenced, for garbage collection); after, it is moved.
 */
export async function moveName(vault: Vault, from: string, to: string): Promise<Move> {
  await vault.finishKeyShareChange();
  const { renames, from: src, to: dst } = planMove(vault.head(), from, to);
  return vault.audited('mv', { file: src, detail: `moved to ${dst}` }, async (used) => {
    const keys = vault.requireKeys();
    const health = await vault.health();
    const reachable = vault.locations.filter((l) => health.get(l.id)?.reachable);
    reachable.forEach((l) => used.add(l.name));
    const written: { id: string; version: number }[] = [];
    const next = new Map<string, FileRef>();
    const newNames = new Set(renames.values());
    /** The new manifests, when nothing will name them (written in part, or the commit refused). */
    const discardWritten = (): Promise<unknown> =>
      vault.everywhere(async (l) => {
        for (const w of written) await l.node.delete(PATHS.manifest(w.id, w.version));
      }, reachable);
    // The new manifests are made durable together before the commit (storage/durable-batch.ts).
    const batch = new DurableBatch();
    try {
      await withDurableBatch(batch, async () => {
        for (const [file, name] of renames) {
          // A version no other attempt used (freshManifestVersion): two devices moving one file
          // at once, or a move cut short and run again, never write one manifest name twice.
          const version = freshManifestVersion(file.version);
          if (file.pack) {
            // A packed file has no manifest: its new name and version are in the head alone,
            // over the same extent (no byte is read or written).
            next.set(`${file.id}-${file.version}`, { ...file, name, version });
            continue;
          }
          const m = await fetchManifest(vault, file);
          const bytes = encodeManifest(rewrap(vault, m, { ...m, name, version }), keys.manifest);
          written.push({ id: file.id, version });
          const put = await vault.everywhere((l) => l.node.put(PATHS.manifest(file.id, version), bytes), reachable);
          const needed = Math.min(
            reachable.length,
            vault.policySurvives() + Math.max(0, vault.head().policy.data - m.data) + 1,
          );
          const ok = put.filter((r) => r.value !== undefined).length;
          if (ok < needed)
            throw new ShardvaultError(
              'unavailable',
              `the new manifest of ${file.name} reached ${plural(ok, 'location')}; ${needed} are needed`,
            );
          next.set(`${file.id}-${file.version}`, { ...file, name, version });
        }
      });
      await batch.flush();
    } catch (err) {
      await discardWritten();
      throw err;
    }
    await commitOrDiscard(
      vault,
      (h) => {
        // The plan was made on this device's head; another device may have stored a file under
        // a new name since. Committed anyway, the head would list two files under one name and
        // the next merge would tombstone the older: the file moved here would be lost.
        const taken = h.files.find((f) => newNames.has(f.name) && !next.has(`${f.id}-${f.version}`));
        if (taken) throw new ShardvaultError('exists', `${taken.name} is already in the vault (stored since)`);
        return {
          ...h,
          files: h.files.map((f) => next.get(`${f.id}-${f.version}`) ?? f),
          tombstones: [...h.tombstones, ...[...renames.keys()].map((f) => ({ id: f.id, version: f.version }))],
        };
      },
      discardWritten,
    );
    await vault.everywhere(async (l) => {
      for (const f of renames.keys()) if (!f.pack) await l.node.delete(PATHS.manifest(f.id, f.version));
    });
    return { from: src, to: dst, files: renames.size };
  });
}
