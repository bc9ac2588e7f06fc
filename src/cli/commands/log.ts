/** `shardvault log`: the access log. */
import { accessRequest, array } from '../../shared/ipc';
import { UNANCHORED } from '../../shared/words';
import { readAccessLog } from '../../core/vault/files';
import { expectArguments, type Run } from '../command';
import { print, withVault } from '../context';
import { table } from '../format';

export const log: Run = async (args, io, self) => {
  expectArguments(args, 0, self);
  const { requests, problems } = await withVault(io, args, { unlock: true }, (vault) => readAccessLog(vault));
  for (const p of problems) io.err(`shardvault: audit log: ${p}`);
  print(
    io,
    requests,
    () =>
      [
        table(
          ['TIME', 'DEVICE', 'ACTION', 'FILE OR CHANGE', 'OUTCOME', 'LOCATIONS'],
          requests.map((r) => [
            r.time,
            r.device,
            r.action,
            r.file ?? r.detail ?? '-',
            r.outcome + (r.anchored ? '' : ` (${UNANCHORED.word})`),
            r.locations.join(','),
          ]),
        ),
        ...(requests.some((r) => !r.anchored) ? [`${UNANCHORED.word}: ${UNANCHORED.explanation}`] : []),
      ].join('\n'),
    array(accessRequest),
  );
  return 0;
};
