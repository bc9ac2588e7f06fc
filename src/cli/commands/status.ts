/** `shardvault status`: the vault and its locations; works locked. */
import { statusReport as statusReportSchema } from '../../shared/ipc';
import { statusReport } from '../../core/app';
import { expectArguments, type Command } from '../command';
import { print, withVault } from '../context';
import { humanStatus } from '../format';

export const status: Command = {
  name: 'status',
  usage: '',
  summary: 'each location: reachable, latency, free space, shards (no passphrase needed)',
  async run(args, io) {
    expectArguments(args, 0, status);
    const report = await withVault(io, args, { unlock: false }, (vault) => statusReport(vault));
    print(io, report, () => humanStatus(report), statusReportSchema);
    return 0;
  },
};
