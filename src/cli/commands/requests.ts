/**
 * `shardvault requests`, `approve ID`, `deny ID`: openings of guarded files that wait for
 * guardian approvals (docs/GUARD.md); a guardian's device lists and answers them.
 */
import { answerRequest, listRequests, type PendingRequest } from '../../core/vault/guard-requests';
import { expectArguments, type Run } from '../command';
import { print, withVault } from '../context';

const line = (r: PendingRequest): string =>
  `${r.id}  ${r.file}  from ${r.device} (${r.deviceKey.slice(0, 10)}…)  ${r.time}  ` +
  (r.denied ? 'denied' : `${r.approvals} of ${r.needed} approvals`);

export const requests: Run = async (args, io, self) => {
  expectArguments(args, 0, self);
  const list = await withVault(io, args, { unlock: true }, (vault) => listRequests(vault));
  print(io, list, () => (list.length === 0 ? 'No pending requests' : list.map(line).join('\n')));
  return 0;
};

const answer =
  (approve: boolean): Run =>
  async (args, io, self) => {
    expectArguments(args, 1, self);
    const id = args.positional[0]!;
    const r = await withVault(io, args, { unlock: true }, (vault) => answerRequest(vault, id, approve));
    print(io, r, () => `${approve ? 'Approved' : 'Denied'}: ${line(r)}`);
    return 0;
  };

export const approve = answer(true);
export const deny = answer(false);
