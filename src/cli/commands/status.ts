/** `shardvault status`: the vault and its locations; works locked. */
import { statusReport as statusReportSchema } from '../../shared/ipc';
import { statusReport } from '../../core/vault/status';
import { expectArguments, type Run } from '../command';
import { print, withVault } from '../context';
import { humanStatus } from '../format';

export const status: Run = async (args, io, self) => {
  expectArguments(args, 0, self);
  const report = await withVault(io, args, { unlock: false }, (vault) => statusReport(vault));
  print(io, report, () => humanStatus(report), statusReportSchema);
  return 0;
};
