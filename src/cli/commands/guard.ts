/**
 * `shardvault guard setup --threshold G`: the vault's node locations become the guard of
 * guarded files (docs/GUARD.md): a key generation in which no node and no device ever holds
 * the whole key; afterwards `put FILE --guarded` stores files that open only with G nodes.
 */
import { plural } from '../../shared/format';
import { UsageError } from '../../core/errors';
import { fetchManifest } from '../../core/vault/files';
import { guardSetup } from '../../core/vault/guard';
import { integer } from '../args';
import { usageError, type Command } from '../command';
import { print, withVault } from '../context';

const setup: Command = {
  name: 'guard setup',
  usage: '--threshold G',
  summary:
    'every node location holds a share of a new guard key (G >= 2, every node reachable); guarded files ' +
    'then open only with G of them; refused while guarded files exist',
  async run(args, io) {
    const threshold = integer(args, 'threshold', 2, 64);
    if (threshold === undefined || args.positional.length > 0) throw usageError(setup);
    const result = await withVault(io, args, { unlock: true }, (vault) =>
      guardSetup(
        vault,
        threshold,
        (m) => m.guard !== undefined,
        () => Promise.all(vault.head().files.map((f) => fetchManifest(vault, f))),
      ),
    );
    for (const w of result.warnings) io.err(`shardvault: warning: ${w}`);
    print(
      io,
      result,
      () =>
        `Guard set up: guarded files open with ${result.threshold} of ${plural(result.nodes.length, 'node')} ` +
        `(${result.nodes.join(', ')}); they survive losing ${plural(result.survives, 'node')}`,
    );
    return 0;
  },
};

const subcommands: readonly Command[] = [setup];

export const guard: Command = {
  name: 'guard',
  usage: subcommands.map((s) => s.name.slice('guard '.length) + ` ${s.usage}`).join(' | '),
  summary: "guarded files: the vault's nodes hold a threshold key (docs/GUARD.md)",
  subcommands,
  run(args, io) {
    const [word, ...rest] = args.positional;
    const sub = subcommands.find((s) => s.name === `guard ${word ?? ''}`);
    if (!sub) {
      if (word === undefined) throw usageError(guard);
      throw new UsageError(`no guard command ${JSON.stringify(word)}: ${guard.usage}`);
    }
    return sub.run({ ...args, positional: rest }, io);
  },
};
