/** A SPEC's `#NAME` suffix, checked by the one name rule (src/shared/location-kinds.ts). */
import { UsageError } from '../../errors';
import { isLocationName, LOCATION_NAME_RULE } from '../../../shared/location-kinds';

export function splitName(spec: string): { body: string; name: string | null } {
  const hash = spec.lastIndexOf('#');
  if (hash < 0) return { body: spec, name: null };
  const name = spec.slice(hash + 1);
  if (!isLocationName(name)) throw new UsageError(`location name ${JSON.stringify(name)}: use ${LOCATION_NAME_RULE}`);
  return { body: spec.slice(0, hash), name };
}
