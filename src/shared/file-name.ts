/**
 * The one rule for a vault file's name, and what a folder is. Plain TypeScript: no Node, no
 * DOM.
 *
 * A name may hold slashes: a folder's files keep their paths (`photos/2026/beach.jpg`), and a
 * folder is every name that starts with its path and a slash. A folder with nothing in it is
 * kept as a marker: an empty file whose name ends in a slash (`photos/empty/`). Written out,
 * as an export or a download, a file is its last step.
 */

/** The marker of an empty folder ends in this; so does a folder's prefix. */
export const FOLDER_SEPARATOR = '/';

/**
 * Why `name` may not be written to the vault, or null when it may. Names may hold slashes,
 * but not a "." or ".." step, nor be only dots and slashes: `get` writes to the name's last
 * step, and ".." there is the parent folder, not a file. Readers of a vault check less (the
 * format's type and length only); writers check this.
 */
export function fileNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'a file name may not be empty';
  if (name.length > 1024) return 'a file name may be at most 1024 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a file name may not hold control characters';
  if (/^[./\\]+$/.test(name) || name.split(/[/\\]/).some((step) => step === '.' || step === '..')) {
    return `${JSON.stringify(name)} is not a file name: a name may not be only dots and slashes, nor hold a "." or ".." step`;
  }
  return null;
}

/**
 * A pack (many small files' bytes in one stored file, docs/FORMAT.md "Packs") is an entry of
 * the head under a name that starts with this: a control character, so no file name
 * (fileNameProblem) can be or hold one, and no folder prefix matches it. Listings leave packs out.
 */
export const PACK_NAME_PREFIX = '\u0000pack/';

/** True for the reserved name of a pack (PACK_NAME_PREFIX). */
export function isPackName(name: string): boolean {
  return name.startsWith(PACK_NAME_PREFIX);
}

/** The name's last step: what an export or a download is called. */
export function fileBaseName(name: string): string {
  return name.split(/[/\\]/).pop() || name;
}

/** True for the marker that keeps an empty folder (`photos/empty/`). */
export function isFolderMarker(name: string): boolean {
  return name.endsWith(FOLDER_SEPARATOR);
}

/**
 * A folder's prefix: `photos`, `photos/` and `/photos//` are all `photos/`; the root is ''.
 * The steps are those of a name (fileNameProblem), without empty ones.
 */
export function folderPrefix(folder: string): string {
  const steps = folder.split(FOLDER_SEPARATOR).filter((s) => s.length > 0);
  return steps.length === 0 ? '' : `${steps.join(FOLDER_SEPARATOR)}${FOLDER_SEPARATOR}`;
}

/** Why `folder` can't be a folder's name in the vault, or null. */
export function folderNameProblem(folder: string): string | null {
  const prefix = folderPrefix(folder);
  if (prefix === '') return 'a folder needs a name';
  return fileNameProblem(prefix);
}

/**
 * True when `name` belongs to the folder with that prefix: inside it at any depth, or its own
 * marker. The root ('') holds every name.
 */
export function isInFolder(name: string, prefix: string): boolean {
  return name.startsWith(prefix);
}

/** A folder's own last step (`photos/2026/` is `2026`): what a folder restore is called. */
export function folderBaseName(prefix: string): string {
  const steps = prefix.split(FOLDER_SEPARATOR).filter((s) => s.length > 0);
  return steps[steps.length - 1] ?? '';
}

/**
 * The steps of `name` below `prefix`, for writing it out under a folder: each step non-empty
 * and neither "." nor ".." (a marker's last, empty step is left out). Null when the name is
 * not one a restore can write as it stands (an empty step in the middle, a dot step, a
 * backslash, which some systems read as a separator): the caller refuses it.
 */
export function stepsBelow(name: string, prefix: string): string[] | null {
  if (!name.startsWith(prefix)) return null;
  const rest = name.slice(prefix.length);
  // The folder's own marker (an empty folder): nothing below it.
  if (rest === '') return [];
  const steps = rest.split(FOLDER_SEPARATOR);
  if (isFolderMarker(rest)) steps.pop();
  for (const s of steps) if (s === '' || s === '.' || s === '..' || s.includes('\\')) return null;
  return steps;
}

/**
 * Why `name`, in the tree of the folder `prefix`, can't be written back by a folder restore,
 * or null: every step below the folder plain (stepsBelow), and the folder's own last step
 * too. A put of a tree stores only names that pass, and a restore refuses a head that names
 * any other.
 */
export function restoreProblem(name: string, prefix: string): string | null {
  const base = folderBaseName(prefix);
  if (stepsBelow(name, prefix) === null || base === '' || base === '.' || base === '..' || base.includes('\\'))
    return 'not a name a folder restore can write (an empty or dot step, or a backslash)';
  return null;
}

/**
 * The first of `names` that is both a file and a folder (`a` beside `a/b` or the marker
 * `a/`), or null: a disk can't hold both, so a tree with one can't be restored.
 */
export function fileAndFolder(names: readonly string[]): string | null {
  const folders = new Set<string>();
  for (const n of names)
    for (let i = n.indexOf(FOLDER_SEPARATOR); i !== -1; i = n.indexOf(FOLDER_SEPARATOR, i + 1))
      folders.add(n.slice(0, i));
  for (const n of names) if (!isFolderMarker(n) && folders.has(n)) return n;
  return null;
}

export interface FolderEntry {
  /** The step shown (`beach.jpg`, `2026`). */
  readonly name: string;
  /** The whole vault name: a file's name, or a folder's prefix (ending in a slash). */
  readonly path: string;
  readonly kind: 'file' | 'folder';
}

/**
 * What the folder `prefix` shows: its files and its folders one step down, each once, from
 * the names the vault holds (markers show as folders). Folders first, then files, by name.
 */
export function folderEntries(names: Iterable<string>, prefix: string): FolderEntry[] {
  const folders = new Map<string, FolderEntry>();
  const files: FolderEntry[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || name === prefix) continue;
    const rest = name.slice(prefix.length);
    const slash = rest.indexOf(FOLDER_SEPARATOR);
    if (slash < 0) {
      files.push({ name: rest, path: name, kind: 'file' });
      continue;
    }
    const step = rest.slice(0, slash);
    const path = `${prefix}${step}${FOLDER_SEPARATOR}`;
    if (!folders.has(path)) folders.set(path, { name: step, path, kind: 'folder' });
  }
  const byName = (a: FolderEntry, b: FolderEntry): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return [...[...folders.values()].sort(byName), ...files.sort(byName)];
}

/** Where `name` goes when the folder (or file) `from` moves to `to`: the rest keeps its path. */
export function movedName(name: string, from: string, to: string): string {
  return `${to}${name.slice(from.length)}`;
}

/**
 * Endings that make a file a program or a launcher to the system's opener (Windows'
 * ShellExecute, macOS' Launch Services, a Linux desktop's xdg-open): opening such a file
 * runs it. From Chromium's list of dangerous download types, for the three systems; not
 * every ending a system could run, but those it runs on a double click.
 */
const PROGRAM_ENDINGS: ReadonlySet<string> = new Set(
  [
    // Windows
    'exe com scr pif bat cmd btm vb vbs vbe js jse wsf wsh ws wsc msi msp mst msix msixbundle',
    'appx appxbundle appinstaller hta cpl msc jar lnk url scf reg ps1 psm1 psd1 ps1xml ps2',
    'psc1 inf application appref-ms gadget settingcontent-ms library-ms search-ms sct chm xbap',
    'xll ins isp shb shs py pyw pyz',
    // macOS
    'app command tool terminal pkg mpkg workflow action scpt scptd applescript osax webloc',
    'inetloc fileloc dmg',
    // Linux desktops
    'desktop sh bash run appimage',
  ]
    .join(' ')
    .split(' '),
);

/**
 * True when the system would run a file of this name rather than open it in an application
 * (PROGRAM_ENDINGS; case and Windows' trailing dots and spaces do not matter). "Open" in the
 * desktop app refuses such a name: Export it instead.
 */
export function isProgramName(name: string): boolean {
  const last = fileBaseName(name)
    .replace(/[. ]+$/, '')
    .toLowerCase();
  const dot = last.lastIndexOf('.');
  return dot >= 0 && PROGRAM_ENDINGS.has(last.slice(dot + 1));
}
