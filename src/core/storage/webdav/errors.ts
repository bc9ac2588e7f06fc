/** What a WebDAV answer or a failed connection means, as the engine's typed errors. */
import { NotFoundError, OfflineError, ShardvaultError } from '../../errors';
import { TLS_TRUST_CODES } from '../response';

/** A status other than the ones `method` expects, on `path` of the location `display`. */
export function statusError(display: string, method: string, path: string, status: number): ShardvaultError {
  const where = path === '' ? display : `${display}: ${path}`;
  const what = `${method} answered ${status}`;
  if (status === 401 || status === 403) {
    return new ShardvaultError('permission', `${where}: access refused (${what}); check the user and password`);
  }
  if (status === 404) return new NotFoundError(`${where} does not exist`);
  if (status === 507 || status === 413)
    return new ShardvaultError('no-space', `${where}: the location is full (${what})`);
  if (status >= 500 || status === 408 || status === 423 || status === 429) {
    return new OfflineError(`${where}: the server is busy or failing (${what})`);
  }
  return new ShardvaultError('io', `${where}: ${what}`);
}

/** A request that failed before it was answered (refused, reset, silent, untrusted TLS). */
export function networkError(display: string, method: string, url: URL, err: unknown): ShardvaultError {
  if (err instanceof ShardvaultError) return err;
  const e = err as Error & { code?: string };
  const where = `${display}: ${method} ${decodeURIComponent(url.pathname)}`;
  if (e.code !== undefined && TLS_TRUST_CODES.has(e.code)) {
    return new ShardvaultError('permission', `${where}: the server's TLS certificate is not trusted (${e.code})`, {
      cause: err,
    });
  }
  // ETIMEDOUT is the request's own silence timeout (see DavSession.send): the server took
  // the connection and said nothing.
  return new OfflineError(`${where}: ${e.code ?? e.message}`, { cause: err, unresponsive: e.code === 'ETIMEDOUT' });
}
