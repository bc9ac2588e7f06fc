/** `shardvault repair [--deep]`: rebuild what verify would find; exit 6 if something is left to do. */
import { plural } from '../../shared/format';
import { repairReport } from '../../shared/ipc';
import { repair as repairVault } from '../../core/vault/repair';
import { expectArguments, type Run } from '../command';
import { print, withVault } from '../context';
import { table } from '../format';

export const repair: Run = async (args, io, self) => {
  expectArguments(args, 0, self);
  const report = await withVault(io, args, { unlock: true }, (vault) =>
    repairVault(vault, { deep: args.flags.has('deep') }),
  );
  print(
    io,
    report,
    () =>
      [
        table(
          ['FILE', 'BEFORE', 'AFTER', 'REBUILT', 'SURVIVES'],
          report.files.map((f) => [
            f.name,
            f.before,
            f.after,
            String(f.rebuilt),
            f.survives < 0 ? '-' : String(f.survives),
          ]),
        ),
        `key shares: ${report.keyShares}; staged shard copies moved home: ${report.moved}; files re-placed over domains: ${report.replaced}; manifests rewritten: ${report.manifestsWritten}; garbage collected: ${report.collected}`,
        ...report.pending.map((p) => `pending: ${p}`),
        report.ok ? 'repair: all good' : `repair: ${plural(report.pending.length, 'thing')} left to do`,
      ].join('\n'),
    repairReport,
  );
  return report.ok ? 0 : 6;
};
