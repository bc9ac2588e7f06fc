/**
 * Folders below the root, never followed (../node.ts): every folder on the way to an object
 * is lstat'ed to be a real folder (all levels in one round trip), and made where a put needs
 * it; the root itself is made only by createRoot (init).
 */
import * as posixPath from 'node:path/posix';
import type { Stats } from 'ssh2';
import { ForeignObjectError, NotFoundError, UsageError } from '../../errors';
import type { RootOutcome } from '../node';
import { call, type Session } from './channel';
import type { SftpConnection } from './connection';
import { FX_NO_SUCH_FILE, statusOf } from './errors';

/** The folders holding `path`, top down: `log/a/b` → [`log`, `log/a`]. */
export function foldersOf(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Each level of folder `dir`, top down: `log/a` → [`log`, `log/a`]. */
export function levelsOf(dir: string): string[] {
  return foldersOf(`${dir}/.`);
}

export function kindOf(st: Stats): string {
  return st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a folder' : 'not a regular file';
}

/**
 * Checks that each of `folders` (relative, top down) is a real folder below the root, and
 * lstats `objects` in the same round trip. A link or a file where a folder should be is a
 * ForeignObjectError (with `quiet`, it counts as missing); a missing folder is made when
 * `create`, else `present` is false.
 */
export async function checkFolders(
  c: SftpConnection,
  s: Session,
  folders: readonly string[],
  create: boolean,
  objects: readonly string[] = [],
  quiet = false,
): Promise<{ present: boolean; objects: (Stats | null)[] }> {
  const all = [...new Set(folders)];
  const stats = await Promise.all([...all, ...objects].map((rel) => lstatOrNull(c, s, rel)));
  let present = true;
  for (const [i, rel] of all.entries()) {
    let st = stats[i] ?? null;
    if (st === null) {
      if (!create) {
        present = false;
        break;
      }
      let refused: Error | null = null;
      try {
        await call(s, (cb) => s.sftp.mkdir(c.full(rel), { mode: 0o700 }, cb));
      } catch (err) {
        refused = err as Error; // made meanwhile by a concurrent put? Looked at below like any other.
      }
      st = await lstatOrNull(c, s, rel);
      if (st === null) throw refused ?? new NotFoundError(`${c.display}: ${rel} could not be made`);
    }
    if (!st.isDirectory()) {
      if (quiet) return { present: false, objects: [] };
      throw new ForeignObjectError(
        `${c.display}: ${rel} is ${kindOf(st)} where the vault keeps a folder (not followed); ` +
          'the vault never made it',
      );
    }
  }
  return { present, objects: present ? stats.slice(all.length) : objects.map(() => null) };
}

async function lstatOrNull(c: SftpConnection, s: Session, rel: string): Promise<Stats | null> {
  try {
    return await call<Stats>(s, (cb) => s.sftp.lstat(c.full(rel), cb));
  } catch (err) {
    if (statusOf(err) === FX_NO_SUCH_FILE) return null;
    throw err;
  }
}

/**
 * lstat of `path` after checking the folders holding it (one round trip): null when it, or
 * a folder on the way, is missing; a link or file where a folder should be also answers null.
 */
export async function inspect(c: SftpConnection, s: Session, path: string): Promise<Stats | null> {
  try {
    const { present, objects } = await checkFolders(c, s, foldersOf(path), false, [path]);
    return present ? (objects[0] ?? null) : null;
  } catch (err) {
    if (err instanceof ForeignObjectError) return null;
    throw err;
  }
}

/** StorageNode.createRoot (../node.ts), on a session of its own. */
export async function createRoot(c: SftpConnection, confirm?: () => Promise<boolean>): Promise<RootOutcome> {
  const s = await c.connect();
  try {
    // The configured path, not a resolved one: nothing is followed to make it (node.ts).
    const root = posixPath.normalize(c.options.root);
    const lstatAt = async (path: string): Promise<Stats | null> => {
      try {
        return await call<Stats>(s, (cb) => s.sftp.lstat(path, cb));
      } catch (err) {
        if (statusOf(err) === FX_NO_SUCH_FILE) return null;
        throw c.translate(s, '', err);
      }
    };
    const st = await lstatAt(root);
    if (st !== null) {
      if (st.isDirectory()) return 'present';
      if (st.isSymbolicLink()) {
        const target = await call<Stats>(s, (cb) => s.sftp.stat(root, cb)).catch(() => null);
        if (target?.isDirectory()) return 'present';
      }
      throw new ForeignObjectError(
        `${c.display}: ${root} on the server is ${kindOf(st)}, not a folder: not followed, nothing made`,
      );
    }
    const parent = posixPath.dirname(root);
    const above = parent === root ? null : await lstatAt(parent);
    if (above === null) {
      throw new NotFoundError(`${c.display}: ${parent} does not exist on the server: is the disk mounted?`);
    }
    if (!above.isDirectory()) {
      throw new ForeignObjectError(
        `${c.display}: ${parent} on the server is ${kindOf(above)}: ${posixPath.basename(root)} is not made ` +
          'through it (give the folder it points to, or make the folder yourself)',
      );
    }
    if (confirm && !(await confirm())) throw new UsageError(`${c.display} does not exist (not created)`);
    try {
      await call(s, (cb) => s.sftp.mkdir(root, { mode: 0o700 }, cb));
    } catch (err) {
      // Made meanwhile by someone else: fine when it is a folder now.
      if ((await lstatAt(root))?.isDirectory()) return 'present';
      throw c.translate(s, '', err);
    }
    return 'created';
  } finally {
    s.alive = false;
    await s.client.end().catch(() => undefined);
  }
}
