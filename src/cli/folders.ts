/**
 * The CLI's folder commands: `put DIR`, `get NAME` (a file or a folder), `ls [PREFIX]
 * [--tree]`, `rm -r NAME/` and `mv OLD NEW`, over src/core/vault/folders.ts.
 */
import { fileBaseName, folderEntries, folderPrefix, isFolderMarker, isInFolder } from '../shared/file-name';
import { formatBytes, plural } from '../shared/format';
import { healthWords, survivesWords, untilBack } from '../shared/words';
import { UsageError } from '../core/errors';
import { getFile, listFiles } from '../core/vault/files';
import { getFolder, moveName, putFolder, removeFolder } from '../core/vault/folders';
import { expectPositional, integer, one, type Parsed } from './args';
import { table } from './format';
import { print, type Io, type WithVault } from './main';

export async function putFolderCommand(args: Parsed, io: Io, withVault: WithVault): Promise<number> {
  const dir = args.positional[0]!;
  if (args.values.has('survive')) throw new UsageError('--survive is for one file; a folder takes the vault policy');
  const happy = integer(args, 'happy', 1, 64);
  const name = one(args, 'name');
  const result = await withVault(io, args, { unlock: true }, (vault) =>
    putFolder(vault, dir, {
      replace: args.flags.has('replace'),
      ...(name !== undefined ? { name } : {}),
      ...(happy !== undefined ? { happy } : {}),
    }),
  );
  if (result.awaiting.length > 0)
    io.err(
      `shardvault: warning: ${result.awaiting.join(', ')} away: ${result.name}/ ${survivesWords(result)}; its shards ` +
        `for them wait on the other locations and move there at the next put, rm or repair once back`,
    );
  print(
    io,
    result,
    () =>
      `Stored ${result.name}/ (${plural(result.files, 'file')}, ${formatBytes(result.bytes)}` +
      `${result.folders > 0 ? `, ${plural(result.folders, 'empty folder')}` : ''}` +
      `${result.skipped.length > 0 ? `; skipped ${plural(result.skipped.length, 'link or special file', 'links or special files')}` : ''}), ` +
      `survives losing ${plural(result.survives, 'location')}`,
  );
  return 0;
}

/** `get NAME`: a file; `get NAME/`, or a NAME that is no file but a folder: the folder. */
export async function getCommand(args: Parsed, io: Io, withVault: WithVault): Promise<number> {
  expectPositional(args, 1, 'get NAME [--output PATH] [--force]');
  const name = args.positional[0]!;
  const force = args.flags.has('force');
  const result = await withVault(io, args, { unlock: true }, async (vault) => {
    const files = vault.head().files;
    const folder =
      name.endsWith('/') ||
      (!files.some((f) => f.name === name) && files.some((f) => isInFolder(f.name, folderPrefix(name))));
    if (folder) {
      const got = await getFolder(vault, name, one(args, 'output') ?? '.', { force });
      return { ...got, folder: true };
    }
    const got = await getFile(vault, name, one(args, 'output') ?? fileBaseName(name), { force });
    return { ...got, files: 1, folder: false };
  });
  for (const p of result.problems)
    io.err(`shardvault: warning: shard ${p.index} on ${p.location}: ${p.kind} (${p.message}); run verify/repair`);
  print(io, { name, output: result.output, files: result.files, problems: result.problems }, () =>
    result.folder ? `Wrote ${result.output} (${plural(result.files, 'file')})` : `Wrote ${result.output}`,
  );
  return 0;
}

/** `ls [PREFIX]`: the files in a folder (all by default), with health; `--tree`: the folders drawn. */
export async function lsCommand(args: Parsed, io: Io, withVault: WithVault): Promise<number> {
  if (args.positional.length > 1) throw new UsageError('usage: shardvault ls [PREFIX] [--tree]');
  const prefix = args.positional[0] === undefined ? '' : folderPrefix(args.positional[0]);
  const all = await withVault(io, args, { unlock: true }, (vault) => listFiles(vault));
  const files = all.filter((f) => isInFolder(f.name, prefix)).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (args.positional[0] !== undefined && files.length === 0 && !all.some((f) => f.name === args.positional[0]))
    throw new UsageError(`no folder named ${JSON.stringify(prefix)} in the vault`);
  const shown =
    args.positional[0] !== undefined && files.length === 0 ? all.filter((f) => f.name === args.positional[0]) : files;
  if (args.flags.has('tree')) {
    print(io, shown, () => (shown.length === 0 ? 'The vault is empty.' : drawTree(shown, prefix)));
    return 0;
  }
  const listed = shown.filter((f) => !isFolderMarker(f.name));
  print(io, shown, () =>
    shown.length === 0
      ? 'The vault is empty.'
      : table(
          ['NAME', 'SIZE', 'HEALTH', 'SURVIVES', 'CREATED'],
          [
            ...listed.map((f) => [
              f.name,
              formatBytes(f.size),
              healthWords(f),
              f.survives < 0 ? '-' : `${f.survives}${untilBack(f.awaiting)}`,
              f.created,
            ]),
            ...shown.filter((f) => isFolderMarker(f.name)).map((f) => [f.name, '-', 'empty folder', '-', f.created]),
          ],
        ),
  );
  return 0;
}

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

export async function rmFolderCommand(args: Parsed, io: Io, withVault: WithVault): Promise<number> {
  const name = args.positional[0]!;
  const result = await withVault(io, args, { unlock: true }, (vault) => removeFolder(vault, name));
  print(
    io,
    { removed: folderPrefix(name), files: result.removed },
    () => `Removed ${folderPrefix(name)} (${plural(result.removed, 'name')})`,
  );
  return 0;
}

export async function mvCommand(args: Parsed, io: Io, withVault: WithVault): Promise<number> {
  expectPositional(args, 2, 'mv OLD NEW');
  const [from, to] = args.positional as [string, string];
  const moved = await withVault(io, args, { unlock: true }, (vault) => moveName(vault, from, to));
  print(
    io,
    moved,
    () => `Moved ${moved.from} to ${moved.to}${moved.files > 1 ? ` (${plural(moved.files, 'file')})` : ''}`,
  );
  return 0;
}
