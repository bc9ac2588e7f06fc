/**
 * Typed errors of the engine. Few on purpose (rclone's sentinel errors show how few are
 * needed): every failure a caller must tell apart has a code, and each code has one exit
 * status in the CLI. Messages are written for the user and never carry secrets.
 */

export type ErrorCode =
  | 'usage' // the caller asked for something malformed
  | 'weak-passphrase' // a new passphrase is too easy to guess (crypto/passphrase-strength.ts)
  | 'auth' // wrong passphrase or recovery code, or none given
  | 'unavailable' // not enough locations reachable to do the work
  | 'busy' // another process holds the profile
  | 'verify' // verify found a problem
  | 'not-found' // a named thing does not exist
  | 'exists' // a named thing exists and the caller did not ask to replace it
  | 'corrupt' // bytes from a location failed a check (tag, hash, length, format)
  | 'policy' // the redundancy policy cannot be honoured by the locations
  | 'offline' // a single location cannot be reached right now (transient for the caller)
  | 'permission' // a location refused access (credentials, permissions)
  | 'no-space' // a location is full
  | 'rollback' // a location served state older than this profile has seen
  | 'io'; // anything else from the operating system

export class ShardvaultError extends Error {
  override readonly name: string = 'ShardvaultError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Bytes read from a location, a profile or a file failed a structural or cryptographic check. */
export class CorruptError extends ShardvaultError {
  override readonly name = 'CorruptError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('corrupt', message, options);
  }
}

/** A location, object or vault entry that was asked for does not exist. */
export class NotFoundError extends ShardvaultError {
  override readonly name = 'NotFoundError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('not-found', message, options);
  }
}

/**
 * A location cannot be reached now: unplugged disk, server down, timeout. Worth retrying later.
 * `unresponsive` marks a location that accepted the connection but gave no answer within its
 * timeout (a frozen server): asking again at once would only wait that long again.
 */
export class OfflineError extends ShardvaultError {
  override readonly name = 'OfflineError';
  readonly unresponsive: boolean;
  constructor(message: string, options?: { cause?: unknown; unresponsive?: boolean }) {
    super('offline', message, options);
    this.unresponsive = options?.unresponsive ?? false;
  }
}

/**
 * A location call refused because it would touch something that is not the vault's own: a
 * name the format does not make (format/records.ts isFormatObjectName), or a symbolic link,
 * folder or special file where the vault keeps its objects. A hostile location plants such
 * things as bait (a link `keys -> ~/Documents`); nothing was read, written or deleted.
 */
export class ForeignObjectError extends ShardvaultError {
  override readonly name = 'ForeignObjectError';
  constructor(message: string) {
    super('corrupt', message);
  }
}

export class UsageError extends ShardvaultError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super('usage', message);
  }
}

/**
 * An error about some of the locations a request listed (init): `locations` are their places
 * in that list, so a front end can point at their rows. Keeps the code and words of the cause.
 */
export class LocationsError extends ShardvaultError {
  override readonly name = 'LocationsError';
  constructor(
    readonly locations: readonly number[],
    cause: ShardvaultError,
  ) {
    super(cause.code, cause.message, { cause });
  }
}

export class AuthError extends ShardvaultError {
  override readonly name = 'AuthError';
  constructor(message: string) {
    super('auth', message);
  }
}

export function assertNever(value: never, what = 'value'): never {
  throw new TypeError(`unexpected ${what}: ${String(value)}`);
}

/** Exit status of the CLI for each error code (the CLI contract in README.md). */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'usage':
    case 'weak-passphrase':
      return 2;
    case 'auth':
      return 3;
    case 'unavailable':
      return 4;
    case 'busy':
      return 5;
    case 'verify':
      return 6;
    case 'not-found':
    case 'exists':
    case 'corrupt':
    case 'policy':
    case 'offline':
    case 'permission':
    case 'no-space':
    case 'rollback':
    case 'io':
      return 1;
    default:
      return assertNever(code, 'error code');
  }
}
