/**
 * One logged-in SSH connection's SFTP channel, and how a call runs on it: ssh2's callback
 * calls as promises that fail when the connection drops, and the sizes transfers are
 * pipelined in.
 */
import type { CipherAlgorithm, SFTPWrapper } from 'ssh2';
import type SftpClient from 'ssh2-sftp-client';

/**
 * Bytes per SFTP read/write we issue (ssh2 splits it to the server's packet limit: 255 KiB
 * for OpenSSH, 32 KiB for others) and how many are in flight per transfer (4 MiB). On
 * loopback 64 KiB × 32 ran at about half the speed of 256 KiB × 16 (scripts/bench-locations.ts).
 */
export const PIECE = 256 * 1024;
export const WINDOW = 16;
/** AES-GCM first: fast with AES-NI, and present in Electron's BoringSSL (chacha20 is not). */
export const CIPHERS: CipherAlgorithm[] = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
];

export interface Session {
  readonly client: SftpClient;
  readonly sftp: SFTPWrapper;
  alive: boolean;
  /** null until the first rename tells. */
  posixRename: boolean | null;
  /** Whether the server flushes files on request (fsync@openssh.com); null until asked. */
  fsync: boolean | null;
  /** Rejecters of the calls in flight, failed when the connection drops. */
  readonly pending: Set<(err: Error) => void>;
}

/** Marks a session dead and fails its calls in flight (see `call`). */
export function drop(s: Session): void {
  s.alive = false;
  const err = new Error('connection closed');
  for (const fail of s.pending) fail(err);
  s.pending.clear();
}

/**
 * Runs one ssh2 callback-style call on a session. ssh2 fails the requests in flight when
 * the connection closes, but a request made on a channel already closed gets no answer at
 * all: so a dead session fails at once, and its calls in flight fail when it drops.
 */
export function call<T = void>(
  s: Session,
  start: (cb: (err: Error | undefined | null, value: T) => void) => void,
): Promise<T> {
  if (!s.alive) return Promise.reject(new Error('connection closed'));
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => reject(err);
    s.pending.add(fail);
    try {
      start((err, value) => {
        s.pending.delete(fail);
        if (err) reject(err);
        else resolve(value);
      });
    } catch (err) {
      // ssh2 throws synchronously when the channel is gone or an extension is missing.
      s.pending.delete(fail);
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
