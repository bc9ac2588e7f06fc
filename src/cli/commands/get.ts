/** `shardvault get NAME`: read a file, or a folder (`NAME/`), back out of the vault. */
import { fileBaseName, folderPrefix, isInFolder } from '../../shared/file-name';
import { plural } from '../../shared/format';
import { getFile } from '../../core/vault/files';
import { integer, one } from '../args';
import { expectArguments, type Run } from '../command';
import { print, withVault } from '../context';
import { userFiles } from '../../core/vault/packs';

export const get: Run = async (args, io, self) => {
  expectArguments(args, 1, self);
  const name = args.positional[0]!;
  const force = args.flags.has('force');
  const wait = integer(args, 'wait', 0, 86_400);
  const result = await withVault(io, args, { unlock: true }, async (vault) => {
    const files = userFiles(vault.head());
    // NAME/, or a NAME that is no file but a folder: the folder.
    const folder =
      name.endsWith('/') ||
      (!files.some((f) => f.name === name) && files.some((f) => isInFolder(f.name, folderPrefix(name))));
    if (folder) {
      // A folder's code is loaded only for a folder.
      const { getFolder } = await import('../../core/vault/folders');
      return { ...(await getFolder(vault, name, one(args, 'output') ?? '.', { force })), folder: true };
    }
    const got = await getFile(vault, name, one(args, 'output') ?? fileBaseName(name), {
      force,
      ...(wait === undefined ? {} : { wait }),
      say: (line) => io.err(`shardvault: ${line}`),
    });
    return { ...got, files: 1, folder: false };
  });
  for (const p of result.problems)
    io.err(`shardvault: warning: shard ${p.index} on ${p.location}: ${p.kind} (${p.message}); run verify/repair`);
  print(io, { name, output: result.output, files: result.files, problems: result.problems }, () =>
    result.folder ? `Wrote ${result.output} (${plural(result.files, 'file')})` : `Wrote ${result.output}`,
  );
  return 0;
};
