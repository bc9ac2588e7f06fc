/** `shardvault put FILE|DIR`: store a file, or a folder's whole tree in one commit. */
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { formatBytes, plural } from '../../shared/format';
import { fileEntry } from '../../shared/ipc';
import { survivesWords } from '../../shared/words';
import { UsageError } from '../../core/errors';
import { FileObject } from '../../core/storage/read-into';
import { putFile } from '../../core/vault/files';
import { putFolder } from '../../core/vault/folders';
import { warmWorkers } from '../../core/vault/seal-pool';
import { DEFAULT_SEGMENT } from '../../core/vault/session/state';
import type { Parsed } from '../args';
import type { Io } from '../context';
import { integer, one } from '../args';
import { expectArguments, type Run } from '../command';
import { print, withVault } from '../context';

export const put: Run = async (args, io, self) => {
  expectArguments(args, 1, self);
  const path = args.positional[0]!;
  const name = one(args, 'name') ?? nodePath.basename(path);
  const st = await fs.stat(path).catch(() => null);
  if (st?.isDirectory()) {
    if (args.flags.has('guarded')) throw new UsageError('--guarded takes one FILE, not a folder');
    return putTree(args, io);
  }
  if (!st?.isFile()) throw new UsageError(`${path} is not a readable file or folder`);
  const surviveText = one(args, 'survive');
  if (surviveText !== undefined && !/^\d{1,3}$/.test(surviveText))
    throw new UsageError('--survive takes a whole number of locations');
  const surviveArg = surviveText === undefined ? undefined : Number(surviveText);
  const happy = integer(args, 'happy', 1, 64);
  // The sealing and hashing workers of a file of more than one segment start while the
  // vault unlocks (the KDF), not after.
  if (st.size > DEFAULT_SEGMENT) warmWorkers(2);
  // Read straight into the put's segment buffers (write.ts, segmentsOf): no chunk per read.
  const source = new FileObject(await fs.open(path, 'r'), st.size);
  const entry = await withVault(io, args, { unlock: true }, (vault) =>
    putFile(vault, source, name, {
      replace: args.flags.has('replace'),
      guarded: args.flags.has('guarded'),
      expectedSize: st.size,
      ...(surviveArg !== undefined ? { survive: surviveArg } : {}),
      ...(happy !== undefined ? { happy } : {}),
    }),
  ).finally(() => source.close());
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
    fileEntry,
  );
  return 0;
};

/** `put DIR`: the folder's tree under NAME/ in one commit. */
async function putTree(args: Parsed, io: Io): Promise<number> {
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
