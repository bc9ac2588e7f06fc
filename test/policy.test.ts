// Policy in the user's words, placement over locations, and how many losses a placement
// survives (checked against brute force over every set of lost locations).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { combinations } from '../src/core/crypto/shamir';
import { ShardvaultError } from '../src/core/errors';
import { checkPolicy, placeShards, policyFromWords, sharesLocations, survivesLosses } from '../src/core/vault/policy';

describe('policy from words', () => {
  it('derives n = locations, k = n - X, t = Y + 1', () => {
    expect(policyFromWords(5, 2, 2)).toEqual({ data: 3, total: 5, threshold: 3, replicas: 1 });
    expect(policyFromWords(3, 1, 1)).toEqual({ data: 2, total: 3, threshold: 2, replicas: 1 });
  });

  it('refuses Y = 0, a single location, and promises that contradict each other', () => {
    expect(() => policyFromWords(5, 2, 0)).toThrow(/secret-against must be 1 or more/);
    expect(() => policyFromWords(1, 0, 1)).toThrow(ShardvaultError);
    expect(() => policyFromWords(5, 5, 1)).toThrow(/at most 4/);
    expect(() => policyFromWords(5, 3, 3)).toThrow(/can't both survive losing 3 and stay secret against 3/);
  });

  it('checks explicit numbers', () => {
    expect(() => checkPolicy({ data: 3, total: 5, threshold: 1, replicas: 1 }, 5)).toThrow(/at least 2/);
    expect(() => checkPolicy({ data: 3, total: 2, threshold: 2, replicas: 1 }, 5)).toThrow(/not a valid code/);
    expect(() => checkPolicy({ data: 2, total: 3, threshold: 4, replicas: 1 }, 3)).toThrow(/more locations/);
    expect(() => checkPolicy({ data: 2, total: 3, threshold: 2, replicas: 4 }, 3)).toThrow(/distinct locations/);
    expect(() => checkPolicy({ data: 2, total: 3, threshold: 2, replicas: 1 }, 3)).not.toThrow();
  });
});

describe('placement', () => {
  const ids = ['a', 'b', 'c', 'd', 'e'];

  it('puts every shard on its own location when it can', () => {
    expect(placeShards(5, 1, ids)).toEqual([['a'], ['b'], ['c'], ['d'], ['e']]);
    expect(sharesLocations(5, 1, 5)).toBe(false);
  });

  it('puts copies of one shard on distinct locations, and says when shards must share', () => {
    const p = placeShards(3, 2, ids);
    for (const copies of p) expect(new Set(copies).size).toBe(2);
    expect(sharesLocations(3, 2, 5)).toBe(true);
    expect(() => placeShards(2, 6, ids)).toThrow(/6 reachable locations/);
  });
});

/** Brute force: the largest X such that losing any X locations leaves k shards with a copy. */
function bruteSurvives(placement: string[][], k: number): number {
  const all = [...new Set(placement.flat())];
  const ok = (lost: Set<string>): boolean => placement.filter((c) => c.some((l) => !lost.has(l))).length >= k;
  if (!ok(new Set())) return -1;
  let best = 0;
  for (let x = 1; x <= all.length; x++) {
    let every = true;
    for (const s of combinations(all.length, x)) if (!ok(new Set(s.map((i) => all[i]!)))) every = false;
    if (!every) break;
    best = x;
  }
  return best;
}

describe('survivesLosses', () => {
  it('is n - k for one shard per location, and counts copies', () => {
    expect(survivesLosses(placeShards(5, 1, ['a', 'b', 'c', 'd', 'e']), 3)).toBe(2);
    expect(survivesLosses(placeShards(1, 3, ['a', 'b', 'c']), 1)).toBe(2);
    expect(survivesLosses([['a'], ['a'], ['b']], 2)).toBe(0);
    expect(survivesLosses([['a'], []], 2)).toBe(-1);
  });

  it('agrees with brute force on random placements', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 3 }), {
          minLength: 1,
          maxLength: 7,
        }),
        (k, placement) => {
          const dedup = placement.map((c) => [...new Set(c)]);
          expect(survivesLosses(dedup, k)).toBe(bruteSurvives(dedup, k));
        },
      ),
      { numRuns: 300 },
    );
  });
});
