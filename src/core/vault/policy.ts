/**
 * Redundancy policy in the user's words ("survive losing X locations", "stay secret even
 * if Y collude") and in the engine's (k data of n shards, threshold t, r copies), shard
 * placement, and how many more losses a placement survives.
 */
import { combinations } from '../crypto/shamir';
import { locationsNeeded } from '../../shared/words';
import { ShardvaultError, UsageError } from '../errors';

export interface PolicyNumbers {
  readonly data: number;
  readonly total: number;
  readonly threshold: number;
  readonly replicas: number;
}

function policyError(message: string): never {
  throw new ShardvaultError('policy', message);
}

/** n = number of locations, k = n − X, t = Y + 1. */
export function policyFromWords(locations: number, survive: number, secretAgainst: number): PolicyNumbers {
  if (!Number.isSafeInteger(survive) || survive < 0)
    throw new UsageError('--survive must be a whole number, 0 or more');
  if (!Number.isSafeInteger(secretAgainst) || secretAgainst < 1) {
    throw new UsageError('--secret-against must be 1 or more: with 0, any one location could unlock the vault');
  }
  if (locations < 2) policyError('a vault needs at least two locations: one location alone would hold every key share');
  const data = locations - survive;
  const threshold = secretAgainst + 1;
  if (data < 1) policyError(`with ${locations} locations the vault can survive losing at most ${locations - 1}`);
  if (locations < locationsNeeded(survive, secretAgainst)) {
    policyError(
      `${locations} locations can't both survive losing ${survive} and stay secret against ${secretAgainst}: ` +
        `unlocking needs ${threshold} locations but only ${locations - survive} would be left; add locations or lower one of them`,
    );
  }
  return { data, total: locations, threshold, replicas: 1 };
}

export function checkPolicy(p: PolicyNumbers, locations: number): void {
  if (locations < 2) policyError('a vault needs at least two locations');
  if (p.data < 1 || p.total < p.data || p.total > 255)
    policyError(`--data ${p.data} --total ${p.total} is not a valid code (1 <= k <= n <= 255)`);
  if (p.threshold < 2) policyError('--threshold must be at least 2: with 1, any one location could unlock the vault');
  if (p.threshold > locations)
    policyError(`--threshold ${p.threshold} needs more locations than the ${locations} given`);
  if (p.replicas < 1 || p.replicas > locations)
    policyError(`--replicas ${p.replicas} needs ${p.replicas} distinct locations; ${locations} given`);
}

/**
 * Places shard i's copies on distinct locations, round robin: copy j of shard i goes to
 * location (i·r + j) mod m. Distinct per shard because r <= m; shards share a location
 * only when n·r > m (sharesLocations says so).
 */
export function placeShards(total: number, replicas: number, locationIds: readonly string[]): string[][] {
  const m = locationIds.length;
  if (replicas > m)
    policyError(`${replicas} copies of each shard need ${replicas} reachable locations; ${m} are reachable`);
  return Array.from({ length: total }, (_, i) =>
    Array.from({ length: replicas }, (_, j) => locationIds[(i * replicas + j) % m]!),
  );
}

export function sharesLocations(total: number, replicas: number, locations: number): boolean {
  return total * replicas > locations;
}

/**
 * How many locations (any of them) can be lost while at least `data` distinct shards keep
 * a copy: the largest X such that every set of X lost locations leaves k shards. -1 when
 * fewer than k shards have a copy now. Exact for up to 20 locations (enumerates sets).
 */
export function survivesLosses(placement: readonly (readonly string[])[], data: number): number {
  const locations = [...new Set(placement.flat())];
  const readable = (lost: ReadonlySet<string>): boolean =>
    placement.filter((copies) => copies.some((l) => !lost.has(l))).length >= data;
  if (!readable(new Set())) return -1;
  for (let x = 1; x <= locations.length; x++) {
    if (locations.length > 20) break;
    for (const subset of combinations(locations.length, x)) {
      if (!readable(new Set(subset.map((i) => locations[i]!)))) return x - 1;
    }
  }
  return locations.length > 20 ? 0 : locations.length;
}
