/** What an SFTP status or a failed login means, as the engine's typed errors. */
import { NotFoundError, OfflineError, ShardvaultError } from '../../errors';
import { isNetworkFailure } from '../retry';

// SFTP status codes (draft-ietf-secsh-filexfer-02, what OpenSSH speaks).
export const FX_EOF = 1;
export const FX_NO_SUCH_FILE = 2;
export const FX_PERMISSION_DENIED = 3;
export const FX_FAILURE = 4;
export const FX_NO_CONNECTION = 6;
export const FX_CONNECTION_LOST = 7;
export const FX_OP_UNSUPPORTED = 8;

export function statusOf(err: unknown): number | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'number' ? code : undefined;
}

/** The engine's error for a failed SFTP call on `path` of `display`, over a session `alive` or not. */
export function translate(display: string, alive: boolean, path: string, err: unknown): Error {
  if (err instanceof ShardvaultError) return err;
  const where = path === '' ? display : `${display}: ${path}`;
  const status = statusOf(err);
  const message = (err as Error).message;
  if (status === FX_NO_SUCH_FILE) return new NotFoundError(`${where} does not exist`, { cause: err });
  if (status === FX_PERMISSION_DENIED) {
    return new ShardvaultError('permission', `${where}: permission denied`, { cause: err });
  }
  if (status === FX_NO_CONNECTION || status === FX_CONNECTION_LOST || !alive || isNetworkFailure(err)) {
    return new OfflineError(`${where}: connection lost (${message})`, { cause: err });
  }
  if (status === undefined) {
    // Not a server answer: ssh2 fails pending requests with "No response from server" on a drop.
    return new OfflineError(`${where}: ${message}`, { cause: err });
  }
  if (/no space|disk full|quota/i.test(message)) {
    return new ShardvaultError('no-space', `${where}: the location is full (${message})`, { cause: err });
  }
  return new ShardvaultError('io', `${where}: ${message} (SFTP status ${status})`, { cause: err });
}

/**
 * The engine's error for a connection that failed before its session was ready: `tried` is
 * what a login without a named key tried, `timeoutMs` the handshake's timeout.
 */
export function connectError(
  display: string,
  username: string,
  tried: string | null,
  timeoutMs: number,
  err: unknown,
): ShardvaultError {
  const e = err as Error & { level?: string };
  const where = `${display}:`;
  if (e.level === 'client-authentication' || /authentication methods failed/i.test(e.message)) {
    return new ShardvaultError(
      'permission',
      `${where} the server refused the credentials of ${username}` + (tried ? ` (tried ${tried})` : ''),
      {
        cause: err,
      },
    );
  }
  if (e.level === 'handshake' || e.level === 'protocol') {
    return new ShardvaultError('io', `${where} SSH handshake failed (${e.message})`, { cause: err });
  }
  if (e.level === 'client-timeout') {
    return new OfflineError(`${where} no SSH answer within ${timeoutMs} ms`, {
      cause: err,
      unresponsive: true,
    });
  }
  const code = (err as { code?: unknown }).code;
  return new OfflineError(
    `${where} cannot connect (${typeof code === 'string' ? code : e.message || 'connection closed'})`,
    { cause: err },
  );
}
