/**
 * `shardvault requests`, `approve ID`, `deny ID`: openings of guarded files that wait for
 * guardian approvals (docs/GUARD.md); a guardian's device lists and answers them.
 */
import { answerRequest, listRequests, type PendingRequest } from '../../core/vault/guard-requests';
import { expectArguments, type Command } from '../command';
import { print, withVault } from '../context';

const line = (r: PendingRequest): string =>
  `${r.id}  ${r.file}  from ${r.device} (${r.deviceKey.slice(0, 10)}…)  ${r.time}  ` +
  (r.denied ? 'denied' : `${r.approvals} of ${r.needed} approvals`);

export const requests: Command = {
  name: 'requests',
  usage: '',
  summary: 'pending openings of guarded files that wait for guardian approvals (last 15 minutes)',
  async run(args, io) {
    expectArguments(args, 0, requests);
    const list = await withVault(io, args, { unlock: true }, (vault) => listRequests(vault));
    print(io, list, () => (list.length === 0 ? 'No pending requests' : list.map(line).join('\n')));
    return 0;
  },
};

const answer = (approve: boolean): Command => {
  const command: Command = {
    name: approve ? 'approve' : 'deny',
    usage: 'ID',
    summary: approve
      ? 'as a guardian, approve the pending request ID (for 14 minutes)'
      : 'as a guardian, deny the pending request ID (the requester stops waiting, exit 7)',
    async run(args, io) {
      expectArguments(args, 1, command);
      const id = args.positional[0]!;
      const r = await withVault(io, args, { unlock: true }, (vault) => answerRequest(vault, id, approve));
      print(io, r, () => `${approve ? 'Approved' : 'Denied'}: ${line(r)}`);
      return 0;
    },
  };
  return command;
};

export const approve = answer(true);
export const deny = answer(false);
