/**
 * `shardvault guard setup --threshold G`: the vault's node locations become the guard of
 * guarded files (docs/GUARD.md): a key generation in which no node and no device ever holds
 * the whole key; afterwards `put FILE --guarded` stores files that open only with G nodes.
 */
import { plural } from '../../shared/format';
import { UsageError } from '../../core/errors';
import { fetchManifest } from '../../core/vault/files';
import { guardPolicy, guardSetup } from '../../core/vault/guard';
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

const policy: Command = {
  name: 'guard policy',
  usage: '--approvals g',
  summary:
    "every opening of a guarded file needs g guardians' approvals (0: any enrolled device); the " +
    "requester's own never counts",
  async run(args, io) {
    const approvals = integer(args, 'approvals', 0, 64);
    if (approvals === undefined || args.positional.length > 0) throw usageError(policy);
    const result = await withVault(io, args, { unlock: true }, (vault) => guardPolicy(vault, approvals));
    print(io, result, () =>
      result.approvals === 0
        ? 'Guarded files open for any enrolled device'
        : `Guarded files open with ${plural(result.approvals, 'approval')} of the ${plural(result.guardians, 'guardian')} ` +
          `(shardvault requests, approve ID, deny ID)`,
    );
    return 0;
  },
};

const subcommands: readonly Command[] = [setup, policy];

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
