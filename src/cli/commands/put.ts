/** `shardvault put FILE`: store a file in the vault. */
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { formatBytes, plural } from '../../shared/format';
import { survivesWords } from '../../shared/words';
import { UsageError } from '../../core/errors';
import { putFile } from '../../core/vault/files';
import { integer, one } from '../args';
import { expectArguments, type Command } from '../command';
import { print, withVault } from '../context';

export const put: Command = {
  name: 'put',
  usage: 'FILE [--name NAME] [--replace] [--survive X] [--happy N] [--guarded]',
  summary:
    'an existing NAME is refused without --replace; --survive: this file survives losing X locations ' +
    '(more parity); --happy: only if N locations can take shards (default k); --guarded: opening it also ' +
    "needs G of the vault's nodes (after guard setup)",
  async run(args, io) {
    expectArguments(args, 1, put);
    const path = args.positional[0]!;
    const name = one(args, 'name') ?? nodePath.basename(path);
    const st = await fs.stat(path).catch(() => null);
    if (!st?.isFile()) throw new UsageError(`${path} is not a readable file`);
    const surviveText = one(args, 'survive');
    if (surviveText !== undefined && !/^\d{1,3}$/.test(surviveText))
      throw new UsageError('--survive takes a whole number of locations');
    const surviveArg = surviveText === undefined ? undefined : Number(surviveText);
    const happy = integer(args, 'happy', 1, 64);
    const entry = await withVault(io, args, { unlock: true }, (vault) =>
      putFile(vault, createReadStream(path, { highWaterMark: 1 << 20 }), name, {
        replace: args.flags.has('replace'),
        guarded: args.flags.has('guarded'),
        expectedSize: st.size,
        ...(surviveArg !== undefined ? { survive: surviveArg } : {}),
        ...(happy !== undefined ? { happy } : {}),
      }),
    );
    const signIn = entry.signIn;
    const away = entry.awaiting.filter((n) => !signIn.includes(n));
    if (signIn.length > 0)
      io.err(
        `shardvault: warning: ${signIn.join(', ')} ${signIn.length === 1 ? 'needs' : 'need'} sign-in on this device: ` +
          `${entry.name} ${survivesWords(entry)}; its shards for ${signIn.join(', ')} wait on the other locations ` +
          `and move there once signed in (shardvault location login ${signIn[0]!})`,
      );
    if (away.length > 0) {
      io.err(
        `shardvault: warning: ${away.join(', ')} ${away.length === 1 ? 'is' : 'are'} away: ${entry.name} ${survivesWords(entry)}; ` +
          `its shards for ${away.join(', ')} wait on the other locations and move there at the next put, rm or repair once back`,
      );
    }
    print(
      io,
      entry,
      () => `Stored ${entry.name} (${formatBytes(entry.size)}), survives losing ${plural(entry.survives, 'location')}`,
    );
    return 0;
  },
};
