/** `shardvault placement NAME`: which locations hold each shard of a file. */
import { plural } from '../../shared/format';
import { placementReport } from '../../shared/ipc';
import { healthWords, untilBack } from '../../shared/words';
import { placement as placementOf } from '../../core/vault/files';
import { expectArguments, type Run } from '../command';
import { print, withVault } from '../context';
import { table } from '../format';

export const placement: Run = async (args, io, self) => {
  expectArguments(args, 1, self);
  const report = await withVault(io, args, { unlock: true }, (vault) => placementOf(vault, args.positional[0]!));
  print(
    io,
    { name: report.name, shards: report.shards },
    () =>
      [
        `${report.name}: ${healthWords(report)}, survives losing ${report.survives < 0 ? `nothing (${report.health === 'lost' ? 'lost' : 'can’t be read from here now'})` : `${plural(report.survives, 'more location', 'more locations')}${untilBack(report.awaiting)}`}`,
        table(
          ['SHARD', 'LOCATIONS'],
          report.shards.map((s) => [
            String(s.index),
            s.locations
              .map((l) => `${l.name}:${l.state}${l.stagedFor === undefined ? '' : ` (staged for ${l.stagedFor})`}`)
              .join(' '),
          ]),
        ),
      ].join('\n'),
    placementReport,
  );
  return 0;
};
