/**
 * `shardvault guard setup --threshold G`: the vault's node locations become the guard of
 * guarded files (docs/GUARD.md): a key generation in which no node and no device ever holds
 * the whole key; afterwards `put FILE --guarded` stores files that open only with G nodes.
 */
import { plural } from '../../shared/format';
import { fetchManifest } from '../../core/vault/files';
import { guardPolicy, guardSetup } from '../../core/vault/guard';
import { integer } from '../args';
import { parentCommand, usageError, type Command } from '../command';
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

export const guard: Command = parentCommand(
  'guard',
  "guarded files: the vault's nodes hold a threshold key (docs/GUARD.md)",
  [setup, policy],
);
