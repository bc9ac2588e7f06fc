/** `shardvault rm [-r] NAME`: remove a file, or (-r) a folder and everything in it. */
import { folderPrefix } from '../../shared/file-name';
import { plural } from '../../shared/format';
import { removeFile } from '../../core/vault/files';
import { removeFolder } from '../../core/vault/folders';
import { expectArguments, type Run } from '../command';
import { print, withVault } from '../context';

export const rm: Run = async (args, io, self) => {
  expectArguments(args, 1, self);
  const name = args.positional[0]!;
  if (args.flags.has('recursive')) {
    const prefix = folderPrefix(name);
    const result = await withVault(io, args, { unlock: true }, (vault) => removeFolder(vault, name));
    print(
      io,
      { removed: prefix, files: result.removed },
      () => `Removed ${prefix} (${plural(result.removed, 'name')})`,
    );
    return 0;
  }
  await withVault(io, args, { unlock: true }, (vault) => removeFile(vault, name));
  print(io, { removed: name }, () => `Removed ${name}`);
  return 0;
};
