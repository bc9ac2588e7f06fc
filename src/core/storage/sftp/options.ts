/**
 * What an SFTP location is given, and its checks: plain data and no ssh2, so that the thread
 * that hands a location to its worker (worker-node.ts) reads them as the worker does.
 */
import * as posixPath from 'node:path/posix';
import { ShardvaultError } from '../../errors';
import { displaySftp, FINGERPRINT } from '../url';

export interface SftpOptions {
  readonly host: string;
  /** Default 22. */
  readonly port?: number;
  readonly username: string;
  /** Absolute folder on the server that is the location's root. It must exist. */
  readonly root: string;
  /** A private key file (OpenSSH or PEM format) ... */
  readonly privateKeyPath?: string | null;
  /** ... or the key itself. */
  readonly privateKey?: string | Uint8Array | null;
  /** Passphrase of an encrypted private key. */
  readonly passphrase?: string | null;
  /** Password authentication, when there is no key (or the key is refused). */
  readonly password?: string | null;
  /**
   * With no key and no password: the ssh-agent socket ($SSH_AUTH_SOCK) and the home folder
   * whose ~/.ssh default keys are tried after it (ssh-keys.ts), as OpenSSH's client does.
   * `passphrase` opens an encrypted default key.
   */
  readonly agent?: string | null;
  readonly home?: string | null;
  /** Pinned host key, `SHA256:<base64 without padding>` as `ssh-keygen -lf` prints it. */
  readonly fingerprint?: string | null;
  /**
   * Asked when no fingerprint is pinned: resolve true to trust this key (the caller records
   * it; the node pins it for its own reconnects). Without it an unpinned host is refused.
   * The SSH handshake waits meanwhile, within `connectTimeoutMs`.
   */
  readonly onUnknownHostKey?: (fingerprint: string) => Promise<boolean>;
  /** TCP connect + SSH handshake + authentication. Default 20 s. */
  readonly connectTimeoutMs?: number;
  /** SSH keepalive period; the connection is dropped after 3 unanswered ones. Default 5 s. */
  readonly keepaliveIntervalMs?: number;
  /**
   * Use posix-rename@openssh.com when the server offers it (default true). false forces the
   * plain-rename fallback, for a server that offers the extension but breaks it.
   */
  readonly posixRename?: boolean;
}

/** Refuses options no connection could use (RangeError); the root normalized and the display. */
export function checkSftpOptions(options: SftpOptions): { readonly root: string; readonly display: string } {
  if (!options.host) throw new RangeError('SFTP host is empty');
  if (!options.username) throw new RangeError('SFTP username is empty');
  if (!posixPath.isAbsolute(options.root)) {
    throw new RangeError(`SFTP root must be an absolute path, got ${JSON.stringify(options.root)}`);
  }
  if (options.fingerprint != null && !FINGERPRINT.test(options.fingerprint)) {
    throw new RangeError(`bad host key fingerprint ${JSON.stringify(options.fingerprint)} (want SHA256:<base64>)`);
  }
  const root = posixPath.normalize(options.root);
  return { root, display: displaySftp({ ...options, root }) };
}

/** What a call on a closed location fails with. */
export function closedError(display: string): ShardvaultError {
  return new ShardvaultError('io', `${display}: location is closed`);
}
