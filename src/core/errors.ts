/**
 * Typed errors of the engine. Few on purpose (rclone's sentinel errors show how few are
 * needed): every failure a caller must tell apart has a code (src/shared/errors.ts: one
 * table with each code's meaning, CLI exit status and HTTP status). Messages are written for the user and never carry secrets.
 */

import { type EngineErrorCode } from '../shared/errors';

export { assertNever, exitCodeFor } from '../shared/errors';
/** The engine's codes; the list, their meanings and exit statuses are in src/shared/errors.ts. */
export type ErrorCode = EngineErrorCode;

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
