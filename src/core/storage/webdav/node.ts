/**
 * A storage location on a WebDAV server (Apache mod_dav, rclone serve webdav, Nextcloud, a
 * NAS), over node:http / node:https directly rather than the `webdav` package: a put must
 * stream with backpressure and end only when the server has answered the request itself
 * (the package's write stream can report done early, FIELD-NOTES), a streamed body must
 * not be spent on a 401 (`Expect: 100-continue`), and errors must keep their status code
 * and cause to map onto the engine's typed errors.
 *
 * Server differences handled here (FIELD-NOTES):
 * - MKCOL on an existing collection: 405 (Apache, nginx) or success (rclone): both fine.
 *   Nested MKCOL is refused everywhere (409), so parents are made one level at a time.
 * - PUT into a missing parent: 404 (rclone) or 409 (Apache): parents are made first.
 * - MOVE of a missing source: 404 (Apache) or 403 (rclone); Apache also answers 404 when
 *   a concurrent MOVE deleted the target under it: the source is looked at to tell.
 * - MOVE onto an existing object deletes the target, then renames (Apache, rclone): for an
 *   instant the object is missing, never partial. get asks twice before NotFoundError;
 *   stat may answer null in that instant.
 * - rclone locks both ends of a MOVE: concurrent MOVEs onto one object get 423 for a few
 *   milliseconds, retried here a few times.
 * - MOVE onto an existing object: `Overwrite: T` is sent explicitly. RFC 4918 makes it the
 *   default, but rclone (golang.org/x/net/webdav) treats a missing header as F and answers 412.
 * - Collections are addressed with a trailing '/' (nginx needs it).
 * - PROPFIND Depth: 1 only (Depth: infinity is optional for servers).
 * - Quota properties are optional: freeBytes is null without them.
 * Auth: Basic or Digest (RFC 7616: MD5, SHA-256, -sess, qop=auth), chosen from the server's
 * challenge; nothing is sent before the server asks.
 */
import { NotFoundError, CorruptError, ShardvaultError, UsageError } from '../../errors';
import {
  assertDeletable,
  assertObjectPath,
  type LocationHealth,
  type ObjectInfo,
  type RootOutcome,
  type StorageNode,
  unreachable,
} from '../node';
import { DavCollections } from './collections';
import { drain, PROPFIND_BODY, QUOTA_BODY } from './http';
import { type DavEntry, childName } from './multistatus';
import { DavSession, type WebDavOptions } from './session';
import * as transfer from './transfer';

export type { WebDavOptions } from './session';

export class WebDavNode implements StorageNode {
  readonly kind = 'webdav' as const;
  readonly display: string;
  private readonly s: DavSession;
  private readonly dirs: DavCollections;

  constructor(options: WebDavOptions) {
    this.s = new DavSession(options);
    this.dirs = new DavCollections(this.s);
    this.display = this.s.display;
  }

  put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    return transfer.put(this.s, this.dirs, path, data);
  }

  get(path: string): Promise<AsyncIterable<Uint8Array>> {
    return transfer.get(this.s, path);
  }

  readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return transfer.readRange(this.s, path, offset, length);
  }

  async stat(path: string): Promise<ObjectInfo | null> {
    assertObjectPath(path);
    await this.s.ready();
    const entry = await this.s.propfindOne(path);
    return entry === null || entry.isCollection ? null : this.info(path, entry);
  }

  async list(dir: string): Promise<ObjectInfo[]> {
    assertObjectPath(dir, true);
    await this.s.ready();
    const collection = dir === '' ? '' : `${dir}/`;
    const { status, res } = await this.s.request('PROPFIND', collection, {
      body: PROPFIND_BODY,
      headers: { depth: '1', 'content-type': 'application/xml; charset=utf-8' },
    });
    if (status === 404) {
      await drain(res);
      return [];
    }
    if (status !== 207) {
      await drain(res);
      throw this.s.statusError('PROPFIND', dir, status);
    }
    const entries = await this.s.entries(res);
    const parent = this.s.url(collection).pathname;
    const out: ObjectInfo[] = [];
    for (const entry of entries) {
      if (entry.isCollection) continue;
      const name = childName(entry.href, this.s.base, parent, this.display);
      if (name === null) continue;
      const path = dir === '' ? name : `${dir}/${name}`;
      out.push(this.info(path, entry));
    }
    return out;
  }

  async delete(path: string): Promise<void> {
    // No links are visible over WebDAV; the name rule is what keeps a hostile listing from
    // steering a delete (node.ts assertDeletable).
    assertDeletable(path, this.display);
    await this.s.ready();
    const { status, res } = await this.s.request('DELETE', path);
    await drain(res);
    if (status === 404 || status === 200 || status === 204) return;
    throw this.s.statusError('DELETE', path, status);
  }

  async health(): Promise<LocationHealth> {
    try {
      await this.s.ready();
      const started = performance.now();
      const { status, res } = await this.s.request('PROPFIND', '', {
        body: QUOTA_BODY,
        headers: { depth: '0', 'content-type': 'application/xml; charset=utf-8' },
      });
      if (status !== 207) {
        await drain(res);
        throw this.s.statusError('PROPFIND', '', status);
      }
      const entries = await this.s.entries(res);
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      return { reachable: true, latencyMs, freeBytes: entries[0]?.quotaAvailable ?? null, error: null };
    } catch (err) {
      return unreachable(err);
    }
  }

  close(): Promise<void> {
    this.s.close();
    return Promise.resolve();
  }

  async createRoot(confirm?: () => Promise<boolean>): Promise<RootOutcome> {
    await this.s.open();
    const root = await this.s.propfindOne('');
    if (root !== null) {
      if (root.isCollection) return 'present';
      throw new ShardvaultError('io', `${this.display}: is not a folder (collection): nothing made`);
    }
    if (confirm && !(await confirm())) throw new UsageError(`${this.display} does not exist (not created)`);
    // MKCOL makes one level only: a missing parent is 409 everywhere, never made here.
    const { status, res } = await this.s.request('MKCOL', '');
    await drain(res);
    if (status === 201 || status === 200 || status === 204) {
      this.s.forgetRoot();
      return 'created';
    }
    if (status === 409) {
      const parent = new URL('..', this.s.base).pathname;
      throw new NotFoundError(
        `${this.display}: the folder ${parent} does not exist on the server: is the disk mounted?`,
      );
    }
    if ((await this.s.propfindOne(''))?.isCollection) return 'present'; // made meanwhile (405)
    throw this.s.statusError('MKCOL', '', status);
  }

  private info(path: string, entry: DavEntry): ObjectInfo {
    if (entry.size === null) throw new CorruptError(`${this.display}: ${path}: the server gave no size`);
    return entry.modifiedMs === null
      ? { path, size: entry.size }
      : { path, size: entry.size, modifiedMs: entry.modifiedMs };
  }
}
