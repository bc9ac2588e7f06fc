/**
 * The server's host key, always verified: against a pinned `SHA256:...` fingerprint, or by
 * the caller's trust-on-first-use callback. A changed key is refused naming both.
 */
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import ssh2 from 'ssh2';
import { OfflineError, ShardvaultError } from '../../errors';
import { CIPHERS } from './channel';

/** `SHA256:...` of an SSH public key blob, as `ssh-keygen -lf` prints it. */
export function sshFingerprint(keyBlob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

export interface HostKeyTrust {
  /** The fingerprint trusted now (pinned, or accepted earlier), or null. */
  pinned(): string | null;
  /** Records a key the user accepted, for the node's own reconnects. */
  pin(fingerprint: string): void;
  /** Asked when nothing is pinned; without it an unpinned host is refused. */
  readonly ask?: (fingerprint: string) => Promise<boolean>;
}

/**
 * ssh2's hostVerifier for one connection of `display`, and the refusal it made (a
 * permission error naming the key), which the connection's failure is to report.
 */
export function hostKeyCheck(
  display: string,
  trust: HostKeyTrust,
): { verifier: (key: Buffer, verify: (ok: boolean) => void) => void; refusal: () => ShardvaultError | null } {
  let refusal: ShardvaultError | null = null;
  const verifier = (key: Buffer, verify: (ok: boolean) => void): void => {
    const presented = sshFingerprint(key);
    const pinned = trust.pinned();
    if (pinned !== null) {
      if (presented !== pinned) {
        refusal = new ShardvaultError(
          'permission',
          `${display}: the server's host key has changed: expected ${pinned}, ` +
            `the server presents ${presented}. Someone may be intercepting the connection; ` +
            `if the server's key was really replaced, check it on the server (ssh-keygen -lf) and pin the new one`,
        );
      }
      verify(presented === pinned);
      return;
    }
    const ask = trust.ask;
    if (!ask) {
      refusal = new ShardvaultError(
        'permission',
        `${display}: unknown host key ${presented}; check it on the server (ssh-keygen -lf) and pin it ` +
          `with fingerprint=${presented}`,
      );
      verify(false);
      return;
    }
    ask(presented).then(
      (ok) => {
        if (ok) trust.pin(presented);
        else refusal = new ShardvaultError('permission', `${display}: host key ${presented} was not trusted`);
        verify(ok);
      },
      (err: unknown) => {
        refusal = new ShardvaultError('permission', `${display}: host key ${presented} was not trusted`, {
          cause: err,
        });
        verify(false);
      },
    );
  };
  return { verifier, refusal: () => refusal };
}

/** Fetches the host key fingerprint of an SSH server without logging in, for a user to confirm. */
export async function fetchHostFingerprint(host: string, port = 22, timeoutMs = 15_000): Promise<string> {
  const client = new ssh2.Client();
  return new Promise<string>((resolve, reject) => {
    let seen: string | null = null;
    client.on('error', (err) => {
      if (seen) resolve(seen);
      else reject(new OfflineError(`sftp://${host}:${port}: cannot connect (${err.message})`, { cause: err }));
    });
    client.on('close', () => {
      if (seen) resolve(seen);
    });
    client.connect({
      sock: net.connect({ host, port, noDelay: true }),
      username: 'shardvault-probe',
      readyTimeout: timeoutMs,
      algorithms: { cipher: CIPHERS },
      hostVerifier: (key: Buffer) => {
        seen = sshFingerprint(key);
        return false;
      },
    });
  }).finally(() => client.end());
}
