/**
 * get and readRange: PIECE-sized reads with up to WINDOW in flight (channel.ts), of a
 * regular file checked not to be a link (folders.ts). A get that ends short of the size its
 * file had when opened fails instead of passing off a truncated object.
 */
import type { Stats } from 'ssh2';
import { NotFoundError } from '../../errors';
import { call, PIECE, WINDOW, type Session } from './channel';
import type { SftpConnection } from './connection';
import { FX_EOF, statusOf } from './errors';
import { inspect } from './folders';

/** StorageNode.get (../node.ts); `path` is checked by the caller. */
export async function get(c: SftpConnection, path: string): Promise<AsyncIterable<Uint8Array>> {
  let s: Session | undefined;
  let handle: Buffer;
  let size: number;
  try {
    s = await c.session();
    const session = s;
    const st = await inspect(c, session, path);
    if (st === null || !st.isFile()) {
      throw new NotFoundError(
        `${c.display}: ${path} ${st === null ? 'does not exist' : 'is not a regular file (not followed)'}`,
      );
    }
    handle = await call<Buffer>(session, (cb) => session.sftp.open(c.full(path), 'r', cb));
    try {
      const opened = await call<Stats>(session, (cb) => session.sftp.fstat(handle, cb));
      if (!opened.isFile()) throw new NotFoundError(`${c.display}: ${path} is not a regular file`);
      size = opened.size;
    } catch (err) {
      await call(session, (cb) => session.sftp.close(handle, cb)).catch(() => undefined);
      throw err;
    }
  } catch (err) {
    throw s ? c.translate(s, path, err) : err;
  }
  return new ReadStreamIterable(s, handle, size, (err) => c.translate(s, path, err));
}

/** StorageNode.readRange (../node.ts) on session `s`; `path` and the range are checked by the caller. */
export async function readRange(
  c: SftpConnection,
  s: Session,
  path: string,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  let handle: Buffer | null = null;
  try {
    const h = await call<Buffer>(s, (cb) => s.sftp.open(c.full(path), 'r', cb));
    handle = h;
    // PIECE-sized reads, up to WINDOW in flight, as get streams them; the first short
    // piece is the end of the object.
    const out = new Uint8Array(length);
    for (let at = 0; at < length; at += PIECE * WINDOW) {
      const starts: number[] = [];
      for (let p = at; p < Math.min(length, at + PIECE * WINDOW); p += PIECE) starts.push(p);
      const read = await Promise.all(starts.map((p) => readPiece(s, h, offset + p, Math.min(PIECE, length - p))));
      for (const [i, piece] of read.entries()) {
        const start = starts[i]!;
        out.set(piece, start);
        if (piece.length < Math.min(PIECE, length - start)) return out.subarray(0, start + piece.length);
      }
    }
    return out;
  } catch (err) {
    throw c.translate(s, path, err);
  } finally {
    if (handle && s.alive) {
      const h = handle;
      await call(s, (cb) => s.sftp.close(h, cb)).catch(() => undefined);
    }
  }
}

/**
 * An object's bytes as an async iterable with up to WINDOW reads in flight. Its file
 * handle is released when it ends, fails, or the caller stops (even before the first read).
 */
class ReadStreamIterable implements AsyncIterable<Uint8Array>, AsyncIterator<Uint8Array> {
  private next_ = 0;
  private delivered = 0;
  private readonly queue: Promise<Buffer>[] = [];
  private done = false;

  constructor(
    private readonly s: Session,
    private readonly handle: Buffer,
    private readonly size: number,
    private readonly translate: (err: unknown) => Error,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.done) return { done: true, value: undefined };
    while (this.queue.length < WINDOW && this.next_ < this.size) {
      const len = Math.min(PIECE, this.size - this.next_);
      const piece = readPiece(this.s, this.handle, this.next_, len);
      // Read ahead: when the connection drops, every queued read fails at once, before
      // anyone awaits it; its error is taken when its turn comes.
      piece.catch(() => undefined);
      this.queue.push(piece);
      this.next_ += len;
    }
    const piece = this.queue.shift();
    if (piece === undefined) {
      await this.finish();
      return { done: true, value: undefined };
    }
    let buf: Buffer;
    try {
      buf = await piece;
    } catch (err) {
      await this.finish();
      throw this.translate(err);
    }
    this.delivered += buf.length;
    if (buf.length === 0 || (this.delivered < this.size && this.queue.length === 0 && this.next_ >= this.size)) {
      // It ended short of the size it had when opened: replaced meanwhile by a server that
      // reads by name (rclone without a cache; OpenSSH keeps the old file open). Never a
      // truncated object passed off as whole: the caller may read it again.
      await this.finish();
      throw this.translate(
        new Error(`changed while it was read (it ended after ${this.delivered} of ${this.size} bytes)`),
      );
    }
    return { done: false, value: buf };
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    await this.finish();
    return { done: true, value: undefined };
  }

  private async finish(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.queue.length = 0;
    if (this.s.alive) {
      await call(this.s, (cb) => this.s.sftp.close(this.handle, cb)).catch(() => undefined);
    }
  }
}

/** Reads `len` bytes at `position`, fewer only at end of file. */
async function readPiece(s: Session, handle: Buffer, position: number, len: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = await call<number>(s, (cb) =>
      s.sftp.read(handle, buf, got, len - got, position + got, (err, bytesRead) => {
        if (err && statusOf(err) === FX_EOF) cb(undefined, 0);
        else cb(err, bytesRead);
      }),
    );
    if (n === 0) break;
    got += n;
  }
  return got === len ? buf : buf.subarray(0, got);
}
