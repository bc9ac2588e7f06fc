/**
 * The collections (folders) of a WebDAV location, and moving and deleting in them. MKCOL on
 * an existing collection is 405 (Apache, nginx) or success (rclone); nested MKCOL is refused
 * everywhere (409), so parents are made one level at a time, each once per session. MOVE
 * onto an existing object is delete-then-rename (Apache, rclone), sent with an explicit
 * `Overwrite: T` (rclone answers 412 without it), and may meet a 423 or a 404 from a
 * concurrent MOVE (see move).
 */
import { NotFoundError, ShardvaultError } from '../../errors';
import { drain } from './http';
import type { DavSession } from './session';

export class DavCollections {
  private readonly dirs = new Set<string>();
  private readonly making = new Map<string, Promise<void>>();

  constructor(private readonly s: DavSession) {}

  async move(from: string, to: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const { status, res } = await this.s.request('MOVE', from, {
        headers: { destination: this.s.url(to).href, overwrite: 'T' },
      });
      await drain(res);
      if (status === 201 || status === 204 || status === 200) return;
      if (status === 409 && attempt === 1) {
        // The parent vanished since we made it (another client cleaned up): make it again.
        this.dirs.clear();
        await this.ensureParents(to);
        continue;
      }
      if (status === 404 || status === 403) {
        // rclone answers 403 for a missing source; Apache answers 404 when a concurrent
        // MOVE deleted the target under it. Look at the source to tell.
        if ((await this.s.propfindOne(from)) === null) {
          throw new NotFoundError(`${this.s.display}: ${from} does not exist`);
        }
        if (status === 404 && attempt < 5) continue;
      }
      throw this.s.statusError('MOVE', from, status);
    }
  }

  async deleteQuietly(path: string): Promise<void> {
    try {
      const { res } = await this.s.request('DELETE', path);
      await drain(res);
    } catch {
      // a leftover temporary object is collected later
    }
  }

  async ensureParents(path: string): Promise<void> {
    const cut = path.lastIndexOf('/');
    if (cut > 0) await this.ensureDir(path.slice(0, cut));
  }

  /** MKCOL each missing level of `dir` below the root, top down (nested MKCOL is refused). */
  private async ensureDir(dir: string): Promise<void> {
    if (this.dirs.has(dir)) return;
    const parts = dir.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const level = parts.slice(0, i).join('/');
      if (this.dirs.has(level)) continue;
      // Concurrent puts into one new folder share one MKCOL per level.
      let making = this.making.get(level);
      if (making === undefined) {
        making = this.makeCollection(level, i === 1).finally(() => this.making.delete(level));
        this.making.set(level, making);
      }
      await making;
    }
  }

  private async makeCollection(level: string, topLevel: boolean): Promise<void> {
    const { status, res } = await this.s.request('MKCOL', `${level}/`);
    await drain(res);
    // 405: exists already (Apache, nginx); rclone answers 201 either way.
    if (status === 201 || status === 200 || status === 204 || status === 405) {
      this.dirs.add(level);
      return;
    }
    // Another client may have made it meanwhile (Apache then answers 403): look.
    const entry = await this.s.propfindOne(`${level}/`);
    if (entry?.isCollection) {
      this.dirs.add(level);
      return;
    }
    if (status === 409 && topLevel) {
      this.s.forgetRoot();
      throw new ShardvaultError('io', `${this.s.display}: the folder does not exist on the server`);
    }
    throw this.s.statusError('MKCOL', level, status);
  }
}
