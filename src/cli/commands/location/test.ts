/** `shardvault location test NAME`: reach it, write a probe, read it back, delete it; exit 4 if unreachable. */
import { LOCATION_PROBE_BYTES } from '../../../shared/api';
import { formatBinary, formatBytes } from '../../../shared/format';
import { locationTest } from '../../../shared/ipc';
import { testLocation } from '../../../core/vault/location-ops';
import { expectArguments, type Run } from '../../command';
import { print, withVault } from '../../context';

export const test: Run = async (args, io, self) => {
  expectArguments(args, 1, self);
  const result = await withVault(io, args, { unlock: false }, (vault) => testLocation(vault, args.positional[0]!));
  print(
    io,
    result,
    () =>
      result.reachable
        ? `${result.name}: reachable, ${result.latencyMs} ms latency, ${formatBinary(LOCATION_PROBE_BYTES)} written, read back and deleted in ${result.roundTripMs} ms` +
          (result.freeBytes === null ? '' : `, ${formatBytes(result.freeBytes)} free`)
        : `${result.name}: NOT reachable: ${result.error ?? 'unknown'}`,
    locationTest,
  );
  return result.reachable ? 0 : 4;
};
