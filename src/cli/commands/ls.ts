/** `shardvault ls [PREFIX] [--tree]`: the files in the vault, or in one folder; --tree draws them. */
import { folderEntries, folderPrefix, isFolderMarker, isInFolder } from '../../shared/file-name';
import { formatBytes } from '../../shared/format';
import { array, fileEntry } from '../../shared/ipc';
import { healthWords, untilBack } from '../../shared/words';
import { UsageError } from '../../core/errors';
import { listFiles } from '../../core/vault/files';
import { usageError, type Run } from '../command';
import { print, withVault } from '../context';
import { table } from '../format';

export const ls: Run = async (args, io, self) => {
  if (args.positional.length > 1) throw usageError(self);
  const given = args.positional[0];
  const prefix = given === undefined ? '' : folderPrefix(given);
  let nodes = new Set<string>();
  const all = await withVault(io, args, { unlock: true }, (vault) => {
    nodes = new Set(
      vault
        .profileLocations()
        .filter((l) => l.kind === 'node')
        .map((l) => l.name),
    );
    return listFiles(vault);
  });
  const inFolder = all.filter((f) => isInFolder(f.name, prefix));
  // `ls NAME` of a file shows that file.
  const shown = given !== undefined && inFolder.length === 0 ? all.filter((f) => f.name === given) : inFolder;
  if (given !== undefined && shown.length === 0)
    throw new UsageError(`no file or folder named ${JSON.stringify(given)} in the vault`);
  if (args.flags.has('tree')) {
    print(io, shown, () => (shown.length === 0 ? 'The vault is empty.' : drawTree(shown, prefix)), array(fileEntry));
    return 0;
  }
  print(
    io,
    shown,
    () =>
      shown.length === 0
        ? 'The vault is empty.'
        : table(
            ['NAME', 'SIZE', 'HEALTH', 'SURVIVES', 'CREATED'],
            shown.map((f) =>
              isFolderMarker(f.name)
                ? [f.name, '-', 'empty folder', '-', f.created]
                : [
                    f.name,
                    formatBytes(f.size),
                    healthWords(f, nodes) + (f.guarded ? ', guarded' : ''),
                    f.survives < 0 ? '-' : `${f.survives}${untilBack(f.awaiting)}`,
                    f.created,
                  ],
            ),
          ),
    array(fileEntry),
  );
  return 0;
};

/** The folders and files under `prefix`, drawn as a tree (folders first, then files, by name). */
export function drawTree(files: readonly { name: string; size: number }[], prefix: string): string {
  const names = files.map((f) => f.name);
  const size = new Map(files.map((f) => [f.name, f.size]));
  const lines: string[] = [prefix === '' ? '.' : prefix];
  const walk = (at: string, indent: string): void => {
    const entries = folderEntries(names, at);
    entries.forEach((e, i) => {
      const last = i === entries.length - 1;
      const label = e.kind === 'folder' ? `${e.name}/` : `${e.name}  ${formatBytes(size.get(e.path) ?? 0)}`;
      lines.push(`${indent}${last ? '└── ' : '├── '}${label}`);
      if (e.kind === 'folder') walk(e.path, `${indent}${last ? '    ' : '│   '}`);
    });
  };
  walk(prefix, '');
  return lines.join('\n');
}
