/**
 * A folder given as a list of its files rather than a folder on disk: sent as one stream (the
 * web UI's "Add folder…" and folder drop: the list of its files, names below the folder and
 * sizes, comes first, then their bytes one after the other in the list's order, with nothing
 * between or after them), or as paths the desktop app's user dropped. storeTree (folders.ts)
 * stores it as `put DIR` stores a folder on disk, in one commit.
 *
 * The sender is not trusted beyond the bytes it sends: every name is checked before any
 * byte is stored, a file gets exactly the bytes its size says, and a stream that ends early
 * or runs on past the last file fails the upload before the commit.
 */
import * as fs from 'node:fs/promises';
import type { TreeFileSize } from '../../shared/api';
import { fileNameProblem, isFolderMarker } from '../../shared/file-name';
import { UsageError } from '../errors';
import { openTreeFile, type Tree, type TreeBytes } from './folders';

/** A file this small is read whole before it is stored, so the next one's bytes can follow
 * while it is sealed and written (storeTree stores a few at a time); a larger one streams. */
const WHOLE_BELOW = 2 ** 20;

/**
 * The tree under `prefix` (`NAME/`) that `files` lists, its bytes cut from `data` in order;
 * a file smaller than `wholeBelow` is read whole before it is stored.
 */
export function treeFromStream(
  prefix: string,
  files: readonly TreeFileSize[],
  data: AsyncIterable<Uint8Array>,
  wholeBelow = WHOLE_BELOW,
): Tree {
  const cutter = new Cutter(data, wholeBelow);
  return {
    ...listedTree(prefix, files, (f) => cutter.part(f.size, f.name)),
    finish: () => cutter.end(),
  };
}

/**
 * The tree under `prefix` of files on this machine (the desktop app's folder drop: paths the
 * user dropped, each checked by main), each a regular file reached through no link; a name
 * ending in `/` is an empty folder and has no path.
 */
export async function treeFromPaths(
  prefix: string,
  files: readonly { readonly name: string; readonly path?: string | undefined }[],
): Promise<Tree> {
  const sized = await Promise.all(
    files.map(async (f) => {
      if (f.path === undefined) {
        if (!isFolderMarker(f.name)) throw new UsageError(`${f.name}: a file needs its path`);
        return { name: f.name, size: 0, path: '' };
      }
      if (isFolderMarker(f.name)) throw new UsageError(`${f.name} is a folder: it has no path`);
      const st = await fs.lstat(f.path).catch(() => null);
      if (!st?.isFile()) throw new UsageError(`${f.path} is not a readable file`);
      return { name: f.name, size: st.size, path: f.path };
    }),
  );
  const paths = new Map(sized.map((f) => [`${prefix}${f.name}`, f.path]));
  return listedTree(prefix, sized, (f) => openTreeFile(paths.get(f.name)!));
}

/**
 * A tree of listed files: names (below `prefix`) checked before anything is stored, each a
 * file name under the folder, none twice (storeTree checks the rest: restoreProblem,
 * fileAndFolder).
 */
function listedTree(
  prefix: string,
  files: readonly TreeFileSize[],
  open: (file: TreeFileSize) => Promise<TreeBytes>,
): Omit<Tree, 'finish'> {
  const seen = new Set<string>();
  const stored: TreeFileSize[] = [];
  const markers: string[] = [];
  let bytes = 0;
  for (const f of files) {
    const name = `${prefix}${f.name}`;
    const problem = f.name === '' ? 'a file of the folder has no name' : fileNameProblem(name);
    if (problem !== null) throw new UsageError(`${f.name}: ${problem}`);
    if (seen.has(name)) throw new UsageError(`${f.name} is listed twice`);
    seen.add(name);
    if (isFolderMarker(name)) {
      if (f.size !== 0) throw new UsageError(`${f.name} is a folder: it has no bytes`);
      markers.push(name);
    } else {
      stored.push({ name, size: f.size });
      bytes += f.size;
    }
  }
  // An empty folder is its own marker, as put DIR keeps it.
  if (files.length === 0) markers.push(prefix);
  return {
    files: stored.map((f) => ({ name: f.name, size: f.size, open: () => open(f) })),
    markers,
    skipped: [],
    bytes,
  };
}

/**
 * Cuts one stream into consecutive parts. A part is handed out once the one before it is
 * done with (read to its end, or closed: a part closed before its end breaks the cutter,
 * and every later part fails, since the bytes that follow are no longer in step).
 */
class Cutter {
  private readonly source: AsyncIterator<Uint8Array>;
  /** Bytes read past the end of the part before. */
  private rest: Uint8Array | null = null;
  private turn: Promise<void> = Promise.resolve();
  private broken: Error | null = null;

  constructor(
    data: AsyncIterable<Uint8Array>,
    private readonly wholeBelow: number,
  ) {
    this.source = data[Symbol.asyncIterator]();
  }

  async part(size: number, name: string): Promise<TreeBytes> {
    const before = this.turn;
    let release!: () => void;
    this.turn = new Promise<void>((resolve) => (release = resolve));
    await before;
    if (this.broken) {
      release();
      throw this.broken;
    }
    if (size < this.wholeBelow) {
      const chunks: Uint8Array[] = [];
      try {
        for (let left = size; left > 0;) {
          const chunk = await this.next(left, name);
          chunks.push(chunk);
          left -= chunk.byteLength;
        }
      } catch (err) {
        this.broken ??= err instanceof Error ? err : new Error(String(err));
        throw err;
      } finally {
        release();
      }
      return { data: chunks, close: () => Promise.resolve() };
    }
    let left = size;
    const next = (): Promise<Uint8Array> => this.next(left, name);
    async function* stream(): AsyncGenerator<Uint8Array> {
      while (left > 0) {
        const chunk = await next();
        left -= chunk.byteLength;
        // Read to its end: the next file's bytes may be taken while this one is stored.
        if (left === 0) release();
        yield chunk;
      }
    }
    return {
      data: stream(),
      close: () => {
        if (left > 0) this.broken ??= new UsageError(`${name} was not read to its end: the upload stops here`);
        release();
        return Promise.resolve();
      },
    };
  }

  /** After the last part: nothing may follow. */
  async end(): Promise<void> {
    await this.turn;
    if (this.broken) throw this.broken;
    if (this.rest !== null && this.rest.byteLength > 0) throw tooLong();
    for (;;) {
      const r = await this.source.next();
      if (r.done) return;
      if (r.value.byteLength > 0) throw tooLong();
    }
  }

  /** The next bytes of the stream, at least one and at most `max`. */
  private async next(max: number, name: string): Promise<Uint8Array> {
    let chunk = this.rest;
    this.rest = null;
    while (chunk === null || chunk.byteLength === 0) {
      const r = await this.source.next();
      if (r.done) throw new UsageError(`the upload ended in ${name}, before the last of its files`);
      chunk = r.value;
    }
    if (chunk.byteLength > max) {
      this.rest = chunk.subarray(max);
      return chunk.subarray(0, max);
    }
    return chunk;
  }
}

function tooLong(): UsageError {
  return new UsageError('the upload sent more bytes than its files');
}
