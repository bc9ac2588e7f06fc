/** `shardvault ls`: the files in the vault. */
import { formatBytes } from '../../shared/format';
import { array, fileEntry } from '../../shared/ipc';
import { healthWords, untilBack } from '../../shared/words';
import { listFiles } from '../../core/vault/files';
import { expectArguments, type Command } from '../command';
import { print, withVault } from '../context';
import { table } from '../format';

export const ls: Command = {
  name: 'ls',
  usage: '',
  summary: "the vault's files: size, health, how many more losses each survives",
  async run(args, io) {
    expectArguments(args, 0, ls);
    const files = await withVault(io, args, { unlock: true }, (vault) => listFiles(vault));
    print(
      io,
      files,
      () =>
        files.length === 0
          ? 'The vault is empty.'
          : table(
              ['NAME', 'SIZE', 'HEALTH', 'SURVIVES', 'CREATED'],
              files.map((f) => [
                f.name,
                formatBytes(f.size),
                healthWords(f),
                f.survives < 0 ? '-' : `${f.survives}${untilBack(f.awaiting)}`,
                f.created,
              ]),
            ),
      array(fileEntry),
    );
    return 0;
  },
};
