/**
 * What the server's disk promises, through OpenSSH's extensions: fsync@openssh.com flushes a
 * file written (before it is renamed into place), statvfs@openssh.com tells the free space.
 * A server without them can't be asked: its durability is its own, its free space unknown.
 */
import { call, PIECE, WINDOW, type Session } from './channel';

/**
 * Asks the server to flush an open file to its disk (OpenSSH's fsync@openssh.com). A server
 * without the extension (rclone's, some NAS) can't be asked: its durability is its own.
 */
export async function flush(s: Session, handle: Buffer): Promise<void> {
  if (s.fsync === false) return;
  try {
    await call(s, (cb) => s.sftp.ext_openssh_fsync(handle, cb));
    s.fsync = true;
  } catch (err) {
    // Several puts on one session may ask before the first answer: each refusal counts, not
    // only the first (a later one sees fsync already false, set by an earlier refusal).
    if (s.fsync !== true && /does not support/i.test((err as Error).message)) {
      s.fsync = false;
      return;
    }
    throw err;
  }
}

export async function freeBytesOf(s: Session, root: string): Promise<number | null> {
  try {
    const info = await call<{ f_bavail?: number; f_frsize?: number; f_bsize?: number }>(s, (cb) =>
      s.sftp.ext_openssh_statvfs(root, cb),
    );
    const unit = info.f_frsize || info.f_bsize;
    if (typeof info.f_bavail !== 'number' || typeof unit !== 'number') return null;
    return info.f_bavail * unit;
  } catch {
    return null; // statvfs@openssh.com not offered
  }
}

/** True when statvfs says less than one transfer window is free (false when it can't tell). */
export async function isFull(s: Session, root: string): Promise<boolean> {
  const free = await freeBytesOf(s, root);
  return free !== null && free < PIECE * WINDOW;
}
