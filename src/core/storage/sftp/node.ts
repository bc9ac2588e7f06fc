/**
 * A storage location on an SFTP server (OpenSSH, rclone serve sftp, a NAS), over
 * ssh2-sftp-client for the connection and ssh2's SFTP channel for the calls. The node
 * composes:
 * - connection.ts: one SSH connection, opened lazily, reopened after a drop; its login
 *   (auth.ts) and host key check (host-key.ts: pinned, or trusted on first use by the
 *   caller; a changed key is refused naming both);
 * - channel.ts: calls as promises failing when the connection drops, and the transfer sizes
 *   (transfers are pipelined on a socket with Nagle off: stop-and-wait over one request at a
 *   time runs at a fraction of the link);
 * - write.ts (put: temporary object, flushed by disk.ts, size checked, renamed into place),
 *   read.ts (get, readRange), folders.ts (folders checked, made, and the root's creation),
 *   errors.ts (SFTP status → typed error).
 * How many calls run at once is not the node's business: the kind composes it with
 * ../limit.ts (kinds/sftp.ts).
 *
 * The root folder must exist; only createRoot (init) makes it. Parent folders below it are.
 * Nothing below the root is followed (../node.ts): the root the user gave is resolved once
 * (realpath) and trusted; below it, every folder on the way to an object is lstat'ed to be a
 * real folder (all levels in one round trip), objects must lstat as regular files, and
 * listings keep regular files only (OpenSSH's readdir reports lstat attributes). The server
 * resolves paths itself, so what remains is the window between that lstat and the call (see
 * ../local.ts): a client can't open relative to a checked folder over SFTP v3.
 */
import type { FileEntryWithStats, Stats } from 'ssh2';
import { ForeignObjectError } from '../../errors';
import {
  assertDeletable,
  assertObjectPath,
  assertRange,
  isObjectSegment,
  type LocationHealth,
  type ObjectInfo,
  type RootOutcome,
  type StorageNode,
  unreachable,
} from '../node';
import { call } from './channel';
import { SftpConnection, type SftpOptions } from './connection';
import { freeBytesOf } from './disk';
import { FX_NO_SUCH_FILE, statusOf } from './errors';
import { checkFolders, createRoot, foldersOf, inspect, kindOf, levelsOf } from './folders';
import { get, readRange } from './read';
import { put } from './write';

export type { SftpOptions } from './connection';
export { fetchHostFingerprint } from './host-key';

export class SftpNode implements StorageNode {
  readonly kind = 'sftp' as const;
  readonly display: string;
  private readonly c: SftpConnection;

  constructor(options: SftpOptions) {
    this.c = new SftpConnection(options);
    this.display = this.c.display;
  }

  /** The host key fingerprint this node trusts: pinned, or accepted on first use. */
  get hostFingerprint(): string | null {
    return this.c.hostFingerprint;
  }

  async put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    assertObjectPath(path);
    return put(this.c, await this.c.session(), path, data);
  }

  async get(path: string): Promise<AsyncIterable<Uint8Array>> {
    assertObjectPath(path);
    return get(this.c, path);
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    assertObjectPath(path);
    assertRange(offset, length);
    return readRange(this.c, await this.c.session(), path, offset, length);
  }

  async stat(path: string): Promise<ObjectInfo | null> {
    assertObjectPath(path);
    const s = await this.c.session();
    try {
      const st = await inspect(this.c, s, path);
      return st?.isFile() ? { path, size: st.size, modifiedMs: st.mtime * 1000 } : null;
    } catch (err) {
      throw this.c.translate(s, path, err);
    }
  }

  async list(dir: string): Promise<ObjectInfo[]> {
    assertObjectPath(dir, true);
    const s = await this.c.session();
    try {
      if (dir !== '' && !(await checkFolders(this.c, s, levelsOf(dir), false, [], true)).present) return [];
      const entries = await call<FileEntryWithStats[]>(s, (cb) =>
        s.sftp.readdir(dir === '' ? this.c.root : this.c.full(dir), cb),
      );
      // Regular files only: OpenSSH gives lstat attributes, so a link is no file here.
      return entries
        .filter((e) => e.attrs.isFile() && isObjectSegment(e.filename))
        .map((e) => ({
          path: dir === '' ? e.filename : `${dir}/${e.filename}`,
          size: e.attrs.size,
          modifiedMs: e.attrs.mtime * 1000,
        }));
    } catch (err) {
      if (statusOf(err) === FX_NO_SUCH_FILE) return [];
      throw this.c.translate(s, dir, err);
    }
  }

  async delete(path: string): Promise<void> {
    assertDeletable(path, this.display);
    const s = await this.c.session();
    try {
      const { present, objects } = await checkFolders(this.c, s, foldersOf(path), false, [path]);
      const st = objects[0] ?? null;
      if (!present || st === null) return;
      if (!st.isFile()) {
        throw new ForeignObjectError(
          `${this.display}: ${path} is ${kindOf(st)} where the vault keeps a regular file (not deleted); ` +
            'the vault never made it',
        );
      }
      await call(s, (cb) => s.sftp.unlink(this.c.full(path), cb));
    } catch (err) {
      if (statusOf(err) === FX_NO_SUCH_FILE) return;
      throw this.c.translate(s, path, err);
    }
  }

  async health(): Promise<LocationHealth> {
    try {
      const s = await this.c.session();
      const started = performance.now();
      try {
        await call<Stats>(s, (cb) => s.sftp.stat(this.c.root, cb));
      } catch (err) {
        throw this.c.translate(s, '', err);
      }
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      return { reachable: true, latencyMs, freeBytes: await freeBytesOf(s, this.c.root), error: null };
    } catch (err) {
      return unreachable(err);
    }
  }

  createRoot(confirm?: () => Promise<boolean>): Promise<RootOutcome> {
    return createRoot(this.c, confirm);
  }

  close(): Promise<void> {
    return this.c.close();
  }
}
