/** `shardvault location list`. */
import { KINDS } from '../../../core/storage/kinds';
import { expectArguments, type Run } from '../../command';
import { print, withVault } from '../../context';
import { table } from '../../format';

export const list: Run = async (args, io, self) => {
  expectArguments(args, 0, self);
  const locations = await withVault(io, args, { unlock: false }, (vault) =>
    Promise.resolve(
      vault.locations.map((l) => ({
        name: l.name,
        kind: l.kind,
        display: l.display,
        domain: vault.domainLocations().find((d) => d.id === l.id)?.domain ?? null,
        // A location this device learned from the vault and has no credentials for yet.
        needsSignIn: vault.needsSignIn(l.id),
      })),
    ),
  );
  print(io, locations, () =>
    [
      table(
        ['NAME', 'KIND', 'DOMAIN', 'WHERE'],
        locations.map((l) => [
          l.name,
          l.kind,
          l.domain ?? '-',
          l.needsSignIn ? `${l.display} (needs sign-in)` : l.display,
        ]),
      ),
      ...locations
        .filter((l) => l.needsSignIn)
        .map(
          (l) =>
            `${l.name} needs sign-in on this device: ${KINDS[l.kind].signInBy?.(l.name) ?? `shardvault location login ${l.name}`}`,
        ),
    ].join('\n'),
  );
  return 0;
};
