/** `shardvault verify [--deep]`: check every copy of every shard; exit 6 on a problem. */
import { plural } from '../../shared/format';
import { verifyReport } from '../../shared/ipc';
import { verify as verifyVault } from '../../core/vault/files';
import { expectArguments, type Run } from '../command';
import { print, withVault } from '../context';
import { table } from '../format';

export const verify: Run = async (args, io, self) => {
  expectArguments(args, 0, self);
  const report = await withVault(io, args, { unlock: true }, (vault) => verifyVault(vault, args.flags.has('deep')));
  print(
    io,
    report,
    () =>
      [
        table(
          ['FILE', 'HEALTH', 'SURVIVES'],
          report.files.map((f) => [f.name, f.health, f.survives < 0 ? '-' : String(f.survives)]),
        ),
        ...report.problems.map((p) => `problem: ${p.file} shard ${p.shard ?? '-'} on ${p.location}: ${p.kind}`),
        report.ok ? 'verify: all good' : `verify: ${plural(report.problems.length, 'problem')}`,
      ].join('\n'),
    verifyReport,
  );
  return report.ok ? 0 : 6;
};
