/**
 * put: the object is written to `tmp/<random>.part` with several writes in flight, flushed
 * (disk.ts), its size checked on the server, and renamed into place with
 * posix-rename@openssh.com (atomic replace; OpenSSH and rclone 1.60 offer it). Servers
 * without it get a plain SFTP rename, which some carry out as a replace (rclone) and others
 * refuse onto an existing target (OpenSSH): then the target is deleted first, which leaves a
 * short window without the object (never a partial one).
 *
 * A server that can't seek in a file being written (rclone serve sftp with its default
 * flags) refuses writes that arrive out of order: the node then writes in order (writeAll).
 */
import type { Stats } from 'ssh2';
import { NotFoundError, OfflineError, ShardvaultError } from '../../errors';
import { newTempPath } from '../node';
import { nextChunk, SourceError } from '../source';
import { call, PIECE, WINDOW, type Session } from './channel';
import type { SftpConnection } from './connection';
import { flush, isFull } from './disk';
import { FX_FAILURE, FX_NO_SUCH_FILE, FX_OP_UNSUPPORTED, statusOf } from './errors';
import { checkFolders, foldersOf } from './folders';

/** StorageNode.put (../node.ts) on session `s`; `path` is checked by the caller. */
export async function put(
  c: SftpConnection,
  s: Session,
  path: string,
  data: AsyncIterable<Uint8Array> | Uint8Array,
): Promise<number> {
  const tempPath = newTempPath();
  const temp = c.full(tempPath);
  const target = c.full(path);
  let handle: Buffer | null = null;
  try {
    await checkFolders(c, s, [...foldersOf(tempPath), ...foldersOf(path)], true);
    // 'wx': O_EXCL, so a name planted meanwhile (a link included) is never written through.
    handle = await call<Buffer>(s, (cb) => s.sftp.open(temp, 'wx', 0o600, cb));
    const written = await writeAll(s, handle, data, c.writeMode);
    // On the server's disk before it is renamed into place: a commit that names this
    // object must not outlive it through a server crash.
    await flush(s, handle);
    const h = handle;
    handle = null;
    await call(s, (cb) => s.sftp.close(h, cb));
    // The close's answer means the server has every byte; its size proves it.
    const st = await call<Stats>(s, (cb) => s.sftp.stat(temp, cb));
    if (st.size !== written) {
      throw new OfflineError(`${c.display}: ${path}: the server holds ${st.size} of ${written} bytes written`);
    }
    await moveIntoPlace(c, s, temp, target, path);
    return written;
  } catch (err) {
    // OpenSSH reports a full disk as a bare SSH_FX_FAILURE: ask statvfs, before the
    // temporary object is removed and frees its space again.
    const full = statusOf(err) === FX_FAILURE && s.alive ? await isFull(s, c.root) : false;
    if (handle && s.alive) {
      const h = handle;
      await call(s, (cb) => s.sftp.close(h, cb)).catch(() => undefined);
    }
    if (s.alive) await call(s, (cb) => s.sftp.unlink(temp, cb)).catch(() => undefined);
    if (err instanceof SourceError) throw err.source;
    if (full) {
      throw new ShardvaultError('no-space', `${c.display}: ${path}: the location is full`, { cause: err });
    }
    throw c.translate(s, path, err);
  }
}

/** Renames `from` onto `to` (full paths), replacing it; see the header for servers without posix-rename. */
async function moveIntoPlace(c: SftpConnection, s: Session, from: string, to: string, shown: string): Promise<void> {
  if (s.posixRename !== false) {
    try {
      await call(s, (cb) => s.sftp.ext_openssh_rename(from, to, cb));
      s.posixRename = true;
      return;
    } catch (err) {
      const status = statusOf(err);
      if (status === FX_NO_SUCH_FILE) throw new NotFoundError(`${c.display}: ${shown} does not exist`);
      // ssh2 throws at once (no status) when the server does not offer the extension.
      const unsupported = (status === undefined && s.alive) || status === FX_OP_UNSUPPORTED;
      if (s.posixRename === true || !unsupported) throw err;
      s.posixRename = false;
    }
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await call(s, (cb) => s.sftp.rename(from, to, cb));
      return;
    } catch (err) {
      if (statusOf(err) === FX_NO_SUCH_FILE) throw new NotFoundError(`${c.display}: ${shown} does not exist`);
      if (attempt >= 8 || statusOf(err) !== FX_FAILURE) throw err;
      // A plain SFTP rename refuses an existing target: remove it, then try again.
      await call(s, (cb) => s.sftp.unlink(to, cb)).catch((e: unknown) => {
        if (statusOf(e) !== FX_NO_SUCH_FILE) throw e;
      });
    }
  }
}

/**
 * A put's data that takes each chunk back once no write needs its bytes any more (ssh2 reads
 * a piece's bytes until the server acknowledges it): the worker (worker.ts) hands the buffer
 * back to the thread that fills it, instead of leaving it as garbage.
 */
export interface Recycling {
  recycle(chunk: Uint8Array): void;
}

const recyclerOf = (data: object): Recycling | null =>
  typeof (data as Partial<Recycling>).recycle === 'function' ? (data as Recycling) : null;

/** How a node writes: pipelined, or one piece at a time once its server refused a write out of order. */
export interface WriteMode {
  inOrder: boolean;
}

/** A server that can't seek in a file being written (rclone serve sftp without --vfs-cache-mode writes). */
function isSeekRefusal(err: unknown): boolean {
  return statusOf(err) === FX_FAILURE && /illegal seek/i.test((err as Error).message);
}

/**
 * Writes all of `data` at increasing offsets with up to WINDOW requests in flight. The server
 * may carry them out in any order; one that can't seek in a file being written refuses those
 * that arrive early ("Illegal seek"). Then the refused pieces, still in memory, are written
 * again in order once the others have settled, and from then on this node writes one piece
 * at a time (`mode.inOrder`): slower, and the only way such a server takes a large object.
 */
async function writeAll(
  s: Session,
  handle: Buffer,
  data: AsyncIterable<Uint8Array> | Uint8Array,
  mode: WriteMode,
): Promise<number> {
  interface Piece {
    readonly buf: Buffer;
    readonly off: number;
    readonly len: number;
    readonly at: number;
  }
  const inflight = new Set<Promise<void>>();
  const refused: Piece[] = [];
  let failure: { error: unknown } | null = null;
  /** Offset of the last piece the server acknowledged. */
  let lastAcked = -1;
  let position = 0;
  const write = (p: Piece): Promise<void> => call(s, (cb) => s.sftp.write(handle, p.buf, p.off, p.len, p.at, cb));
  /** Waits for the pieces in flight, then writes the refused ones in order. */
  const settle = async (): Promise<void> => {
    await Promise.all(inflight);
    if (failure) throw failure.error;
    if (refused.length === 0) return;
    refused.sort((a, b) => a.at - b.at);
    // Only a refused tail can be written again: a piece taken after a refused one means the
    // server wrote out of order after all, and what the file holds can't be told.
    if (lastAcked > refused[0]!.at) throw new Error(`the server refused a write at ${refused[0]!.at} out of order`);
    mode.inOrder = true;
    for (const p of refused.splice(0)) await write(p);
  };
  const recycler = data instanceof Uint8Array ? null : recyclerOf(data);
  const send = async (chunk: Uint8Array): Promise<void> => {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // The chunk goes back once this loop and every write of its pieces are done, unless a
    // piece was refused (kept to be written again) or failed (the put fails).
    let open = 1;
    let kept = false;
    const done = (): void => {
      if (--open === 0 && !kept) recycler?.recycle(chunk);
    };
    for (let off = 0; off < buf.length; off += PIECE) {
      const piece: Piece = { buf, off, len: Math.min(PIECE, buf.length - off), at: position };
      position += piece.len;
      if (!mode.inOrder) {
        while (inflight.size >= WINDOW && refused.length === 0) await Promise.race(inflight);
        if (failure) throw failure.error;
      }
      if (mode.inOrder || refused.length > 0) {
        await settle();
        await write(piece);
        continue;
      }
      open++;
      const sent: Promise<void> = write(piece).then(
        () => {
          inflight.delete(sent);
          lastAcked = Math.max(lastAcked, piece.at);
          done();
        },
        (err: unknown) => {
          inflight.delete(sent);
          kept = true;
          if (isSeekRefusal(err)) refused.push(piece);
          else failure ??= { error: err };
        },
      );
      inflight.add(sent);
    }
    done();
  };
  try {
    if (data instanceof Uint8Array) {
      await send(data);
    } else {
      const iterator = data[Symbol.asyncIterator]();
      for (;;) {
        const step = await nextChunk(iterator);
        if (step.done) break;
        await send(step.value);
      }
    }
    await settle();
    return position;
  } catch (err) {
    await Promise.allSettled(inflight);
    throw err;
  }
}
