/**
 * What went wrong with an S3 request, as the engine's typed errors (node.ts), in words.
 *
 * A server's error answer carries an HTTP status and a code (NoSuchKey, AccessDenied...);
 * a failure below HTTP carries a Node error code (ECONNREFUSED...) or is the SDK's
 * TimeoutError. Messages name the location (its display), the object and the code, never
 * the server's own message text (it is the server's to choose) nor any key.
 */
import { CorruptError, NotFoundError, OfflineError, ShardvaultError } from '../../errors';
import { TLS_TRUST_CODES } from '../response';
import { isNetworkFailure } from '../retry';
import { SourceError } from '../source';

/** Codes that say the key pair is wrong, rather than that it may not do this. */
const BAD_KEY_CODES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken']);
const NO_SPACE_CODES = new Set(['QuotaExceeded', 'XMinioStorageFull', 'InsufficientStorage', 'StorageQuotaExceeded']);
/** 4xx codes that are worth asking again (S3's own "try again"). */
const TRANSIENT_CODES = new Set(['RequestTimeout', 'SlowDown', 'OperationAborted', 'TooManyRequests']);

interface ServiceError {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** Whether a service answered with this error code (NoSuchKey, NoSuchBucket, InvalidRange...). */
export function hasS3Code(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as ServiceError).name === code;
}

/** The HTTP status of a service error, or null for a failure below HTTP. */
export function s3Status(err: unknown): number | null {
  if (typeof err !== 'object' || err === null) return null;
  return (err as ServiceError).$metadata?.httpStatusCode ?? null;
}

/**
 * The engine's error for a failed S3 call. `where` is the location's display and the
 * object's path when there is one; `unshown` are words never to quote (the location's keys:
 * a server knows the access key ID and may answer it as an error code).
 */
export function s3Error(err: unknown, where: string, unshown: readonly string[] = []): ShardvaultError | SourceError {
  if (err instanceof ShardvaultError || err instanceof SourceError) return err;
  const status = s3Status(err);
  const name = (err as ServiceError | null)?.name;
  const code = typeof name === 'string' && /^[A-Za-z0-9.]{1,64}$/.test(name) ? name : null;
  if (status !== null) {
    const quotable = code !== null && !unshown.some((word) => word !== '' && code.includes(word));
    return serviceError(status, code, quotable ? code : null, where, err);
  }
  if (code === 'TimeoutError') {
    // The SDK's own timeout: no connection, or a connection silent for the whole timeout.
    return new OfflineError(`${where}: no answer from the server in time`, { cause: err, unresponsive: true });
  }
  const errno = (err as { code?: unknown } | null)?.code;
  const shown = typeof errno === 'string' && /^[A-Z0-9_]{1,64}$/.test(errno) ? errno : null;
  if (shown !== null && TLS_TRUST_CODES.has(shown)) {
    return new ShardvaultError('permission', `${where}: the server's TLS certificate is not trusted (${shown})`, {
      cause: err,
    });
  }
  if (isNetworkFailure(err) || shown === 'ECONNRESET' || (err as Error | null)?.message === 'aborted') {
    return new OfflineError(`${where}: cannot reach the server (${shown ?? 'connection lost'})`, { cause: err });
  }
  if (code === 'CredentialsProviderError') {
    // Only explicit credentials are configured (node.ts): this is a bug, said plainly.
    return new ShardvaultError('auth', `${where}: no S3 credentials were given`, { cause: err });
  }
  // The SDK could not read an answer (XML it does not understand): the server said nonsense.
  if ((err as { $response?: unknown } | null)?.$response !== undefined) {
    return new CorruptError(`${where}: the server's answer could not be read`, { cause: err });
  }
  return new ShardvaultError('io', `${where}: the S3 request failed${shown ? ` (${shown})` : ''}`, { cause: err });
}

function serviceError(
  status: number,
  code: string | null,
  shown: string | null,
  where: string,
  cause: unknown,
): ShardvaultError {
  const what = shown === null ? `${status}` : `${status} ${shown}`;
  if (code !== null && BAD_KEY_CODES.has(code)) {
    return new ShardvaultError(
      'permission',
      `${where}: the server refused the access key (${what}); check the access key ID and secret key`,
      { cause },
    );
  }
  if (code === 'RequestTimeTooSkewed') {
    return new ShardvaultError(
      'permission',
      `${where}: the server refused the request because this computer's clock is off by more than 15 minutes (${what})`,
      { cause },
    );
  }
  if (status === 401 || status === 403) {
    return new ShardvaultError(
      'permission',
      `${where}: access refused (${what}); the key may not do this here (check the bucket's policy and the key's permissions)`,
      { cause },
    );
  }
  if (code === 'NoSuchBucket') {
    return new ShardvaultError(
      'io',
      `${where}: the bucket does not exist (create it first: a location's bucket is never created)`,
      { cause },
    );
  }
  if (status === 404) return new NotFoundError(`${where} does not exist`, { cause });
  if (status === 301 || status === 307 || code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed') {
    return new ShardvaultError(
      'io',
      `${where}: the bucket is not at this endpoint or in this region (${what}); check the host and ?region=`,
      { cause },
    );
  }
  if (status === 507 || (code !== null && NO_SPACE_CODES.has(code))) {
    return new ShardvaultError('no-space', `${where}: the location is full (${what})`, { cause });
  }
  if (status >= 500 || status === 408 || status === 429 || (code !== null && TRANSIENT_CODES.has(code))) {
    return new OfflineError(`${where}: the server is busy or failing (${what})`, { cause });
  }
  return new ShardvaultError('io', `${where}: the server answered ${what}`, { cause });
}
