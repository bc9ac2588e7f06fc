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

/**
 * An error as it crosses to another thread (structured cloning keeps neither an error's class
 * nor its own fields): the class by name, its code and fields, and the causes' words.
 */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string | number;
  readonly unresponsive?: boolean;
  readonly locations?: readonly number[];
  readonly level?: string;
  /** A ShardvaultError of a class not listed in fromWireError: it comes back as one, by name. */
  readonly engine?: boolean;
  readonly cause?: WireError;
}

/** `err` for postMessage (see WireError); causes kept to a depth of 4. */
export function toWireError(err: unknown, depth = 0): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const e = err as Error & { code?: unknown; level?: unknown; unresponsive?: unknown; locations?: unknown };
  return {
    name: e.name,
    message: e.message,
    ...(e.stack === undefined ? {} : { stack: e.stack }),
    ...(typeof e.code === 'string' || typeof e.code === 'number' ? { code: e.code } : {}),
    ...(typeof e.level === 'string' ? { level: e.level } : {}),
    ...(err instanceof OfflineError ? { unresponsive: err.unresponsive } : {}),
    ...(err instanceof LocationsError ? { locations: [...err.locations] } : {}),
    ...(err instanceof ShardvaultError ? { engine: true } : {}),
    ...(e.cause !== undefined && depth < 4 ? { cause: toWireError(e.cause, depth + 1) } : {}),
  };
}

/** The error `toWireError` described, as the same class with the same fields. */
export function fromWireError(w: WireError): Error {
  const options = w.cause === undefined ? {} : { cause: fromWireError(w.cause) };
  const code = w.code as ErrorCode;
  let err: Error;
  switch (w.name) {
    case 'CorruptError':
      err = new CorruptError(w.message, options);
      break;
    case 'NotFoundError':
      err = new NotFoundError(w.message, options);
      break;
    case 'OfflineError':
      err = new OfflineError(w.message, { ...options, unresponsive: w.unresponsive === true });
      break;
    case 'ForeignObjectError':
      err = new ForeignObjectError(w.message);
      break;
    case 'UsageError':
      err = new UsageError(w.message);
      break;
    case 'AuthError':
      err = new AuthError(w.message);
      break;
    case 'LocationsError':
      err = new LocationsError(
        w.locations ?? [],
        options.cause instanceof ShardvaultError ? options.cause : new ShardvaultError(code, w.message),
      );
      break;
    case 'ShardvaultError':
      err = new ShardvaultError(code, w.message, options);
      break;
    case 'RangeError':
      err = new RangeError(w.message, options);
      break;
    case 'TypeError':
      err = new TypeError(w.message, options);
      break;
    default: {
      if (w.engine === true) {
        err = new ShardvaultError(code, w.message, options);
        Object.defineProperty(err, 'name', { value: w.name, configurable: true, writable: true });
        break;
      }
      // Not the engine's: a library's error, its name, code and level kept as fields.
      const plain = new Error(w.message, options) as Error & { code?: unknown; level?: unknown };
      if (w.name !== 'Error')
        Object.defineProperty(plain, 'name', { value: w.name, configurable: true, writable: true });
      if (w.code !== undefined) plain.code = w.code;
      if (w.level !== undefined) plain.level = w.level;
      err = plain;
    }
  }
  if (w.stack !== undefined) err.stack = w.stack;
  return err;
}
