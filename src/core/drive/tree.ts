/**
 * The vault's flat list of names seen as folders: a name's `/` separates folders, a folder
 * exists while some name lies below it, and an empty folder is kept by a marker, an empty
 * file whose name is the folder's followed by `/` (FOLDER_MARK).
 */
import type { DriveFile } from './store';

export const FOLDER_MARK = '/';
/** The longest request path the drive reads (a vault name is at most 1024 characters). */
export const MAX_PATH_CHARS = 4096;

export function markerOf(folder: string): string {
  return `${folder}${FOLDER_MARK}`;
}

/**
 * A request's path as a vault name: '' for the root, else its decoded steps joined by `/`.
 * null for what no name can be: a "." or ".." step (never followed), a backslash, a NUL
 * or control character, an undecodable escape.
 */
export function nameOfPath(path: string): { name: string; slash: boolean } | null {
  if (path.length > MAX_PATH_CHARS || !path.startsWith('/')) return null;
  const steps: string[] = [];
  for (const raw of path.split('/')) {
    if (raw === '') continue;
    let step: string;
    try {
      step = decodeURIComponent(raw);
    } catch {
      return null;
    }
    // eslint-disable-next-line no-control-regex
    if (step === '.' || step === '..' || /[\\/\u0000-\u001f\u007f]/.test(step)) return null;
    steps.push(step);
  }
  return { name: steps.join('/'), slash: path.endsWith('/') };
}

/** The href of a name (each step percent-encoded); folders end in `/`. */
export function hrefOf(name: string, folder: boolean): string {
  const encoded = name === '' ? '' : name.split('/').map(encodeURIComponent).join('/');
  return `/${encoded}${folder && name !== '' ? '/' : ''}`;
}

export function parentOf(name: string): string {
  const at = name.lastIndexOf('/');
  return at < 0 ? '' : name.slice(0, at);
}

export type Resource = { kind: 'file'; file: DriveFile } | { kind: 'folder' };

export class Tree {
  private readonly byName = new Map<string, DriveFile>();

  constructor(readonly files: readonly DriveFile[]) {
    for (const f of files) this.byName.set(f.name, f);
  }

  file(name: string): DriveFile | undefined {
    return name.endsWith(FOLDER_MARK) ? undefined : this.byName.get(name);
  }

  isFolder(name: string): boolean {
    if (name === '') return true;
    const prefix = `${name}/`;
    return this.files.some((f) => f.name.startsWith(prefix));
  }

  /** A path names a file when the vault has that name, else a folder when one lies below it. */
  resolve(name: string): Resource | null {
    const file = this.file(name);
    if (file) return { kind: 'file', file };
    return this.isFolder(name) ? { kind: 'folder' } : null;
  }

  /** Every stored name at or below folder `name`, markers included. */
  below(name: string): DriveFile[] {
    if (name === '') return [...this.files];
    const prefix = `${name}/`;
    return this.files.filter((f) => f.name.startsWith(prefix));
  }

  /** The folder's direct children: files, and folders (each once). */
  children(name: string): { name: string; resource: Resource }[] {
    const prefix = name === '' ? '' : `${name}/`;
    const folders = new Set<string>();
    const out: { name: string; resource: Resource }[] = [];
    for (const f of this.files) {
      if (!f.name.startsWith(prefix)) continue;
      const rest = f.name.slice(prefix.length);
      if (rest === '') continue; // this folder's own marker
      const slash = rest.indexOf('/');
      if (slash < 0) out.push({ name: f.name, resource: { kind: 'file', file: f } });
      else folders.add(prefix + rest.slice(0, slash));
    }
    for (const folder of folders)
      if (!this.byName.has(folder)) out.push({ name: folder, resource: { kind: 'folder' } });
    return out;
  }
}
