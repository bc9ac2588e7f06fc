/**
 * `shardvault drill --lose LOC,LOC [--open]`: would every file still read and the vault still
 * unlock without those locations (vault/drill.ts)? Exit 0 when nothing would be lost, 6 when
 * something would (or, with --open, the fresh open or a read back failed), 2 for a name the
 * vault has no location by.
 */
import { tmpdir } from 'node:os';
import type { DrillReport } from '../../shared/api';
import { plural } from '../../shared/format';
import { drillReport } from '../../shared/ipc';
import { drillWords } from '../../shared/words';
import { drill as drillVault } from '../../core/vault/drill';
import { UsageError } from '../../core/errors';
import { expectArguments, type Run } from '../command';
import { print, withVault } from '../context';
import { table } from '../format';

export const drill: Run = async (args, io, self) => {
  expectArguments(args, 0, self);
  const named = (args.values.get('lose') ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  const domains = args.values.get('lose-domain') ?? [];
  const open = args.flags.has('open');
  const report = await withVault(io, args, { unlock: true }, (vault, passphrase) => {
    // --lose-domain D: every location in failure domain D is lost at once (a fire, a provider gone).
    const located = vault.domainLocations();
    const inDomains = domains.flatMap((d) => {
      const members = located.filter((l) => l.domain === d).map((l) => l.name);
      if (members.length === 0) throw new UsageError(`no location is in the domain ${d}`);
      return members;
    });
    const lose = [...new Set([...named, ...inDomains])];
    return drillVault(vault, lose, open && passphrase !== undefined ? { passphrase, tempRoot: tmpdir() } : {});
  });
  print(io, report, () => humanDrill(report), drillReport);
  return report.ok ? 0 : 6;
};

function humanDrill(r: DrillReport): string {
  const lines = [drillWords(r)];
  if (r.unreachable.length > 0)
    lines.push(
      `  (${r.unreachable.join(', ')} ${r.unreachable.length === 1 ? 'is' : 'are'} unreachable now: counted as gone)`,
    );
  if (r.files.length > 0)
    lines.push(
      table(
        ['FILE', 'WOULD BE', 'SURVIVES'],
        r.files.map((f) => [
          f.name,
          f.health,
          f.survives < 0 ? '-' : `${plural(f.survives, 'more loss', 'more losses')}`,
        ]),
      ),
    );
  lines.push(
    `key shares left: ${r.unlock.shares} (unlocking needs ${r.unlock.threshold}); vault heads left: ${r.unlock.heads}`,
  );
  if (r.open) {
    lines.push(
      r.open.opened
        ? `opened afresh from the remaining locations: ${r.open.read} of ${plural(r.open.tried, 'file')} read back byte for byte`
        : 'could not open the vault afresh from the remaining locations',
    );
    for (const p of r.open.problems) lines.push(`  ${p}`);
  }
  lines.push(r.ok ? 'drill: nothing would be lost' : 'drill: something would be lost');
  return lines.join('\n');
}
