/**
 * Failure domains (issue 14): placement never puts more shards of a file in one domain than
 * the file can lose when the locations allow it, "survive X, secret against Y" counts
 * domains, and key shares are dealt one per domain, so one domain's locations together hold
 * a single share. Properties over random location/domain sets and policies (fast-check).
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeKeyShare } from '../src/core/format/records';
import {
  domainKeyFor,
  domainsSurvived,
  domainWarnings,
  placeInDomains,
  policyFromDomains,
  previewPolicy,
  readDomain,
  shareGroups,
  type DomainLocation,
} from '../src/core/vault/domains';
import { dealShares, recoverVaultKey, type ShareFromLocation } from '../src/core/vault/keys';
import { placeShards, policyFromWords, survivesLosses } from '../src/core/vault/policy';
import { ShardvaultError } from '../src/core/errors';
import { widerPolicy } from '../src/shared/words';

/** 2..12 locations, each in one of up to 5 domains or none. */
const locationSets = fc
  .array(fc.option(fc.constantFrom('home', 'office', 'cloud-a', 'cloud-b', 'parents'), { nil: undefined }), {
    minLength: 2,
    maxLength: 12,
  })
  .map((domains): DomainLocation[] =>
    domains.map((domain, i) => ({ id: `id${i}`, name: `loc${i}`, ...(domain === undefined ? {} : { domain }) })),
  );

function perDomain(placement: readonly (readonly string[])[], keyOf: (id: string) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const copies of placement) for (const k of new Set(copies.map(keyOf))) out.set(k, (out.get(k) ?? 0) + 1);
  return out;
}

describe('placement over failure domains', () => {
  it('never puts more shards in a domain than the file can lose, when the domains have room', () => {
    fc.assert(
      fc.property(locationSets, fc.integer({ min: 1, max: 24 }), fc.integer({ min: 0, max: 23 }), (locs, n, lose) => {
        const total = Math.max(n, 1);
        const data = Math.max(1, total - Math.min(lose, total - 1));
        const keyOf = domainKeyFor(locs);
        const ids = locs.map((l) => l.id);
        const placement = placeInDomains(total, 1, ids, keyOf, data);
        expect(placement).toHaveLength(total);
        for (const copies of placement) expect(ids).toContain(copies[0]);
        const cap = total - data;
        const domains = new Set(ids.map(keyOf)).size;
        const counts = [...perDomain(placement, keyOf).values()];
        if (domains * cap >= total) expect(Math.max(...counts)).toBeLessThanOrEqual(cap);
        // Where they can't meet it, the spread is still as even as the domains allow.
        else expect(Math.max(...counts)).toBeLessThanOrEqual(Math.ceil(total / domains));
      }),
      { numRuns: 400 },
    );
  });

  it('is the round robin of old when no two locations share a domain', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 3 }),
        (m, n, r) => {
          const ids = Array.from({ length: m }, (_, i) => `id${i}`);
          const replicas = Math.min(r, m);
          expect(placeInDomains(n, replicas, ids, (id) => id, 1)).toEqual(placeShards(n, replicas, ids));
        },
      ),
    );
  });

  it('"survive X, secret against Y" over domains: any X domains lost leave k shards and t key shares', () => {
    fc.assert(
      fc.property(locationSets, fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 4 }), (locs, x, y) => {
        let policy;
        try {
          policy = policyFromDomains(locs, x, y);
        } catch (err) {
          expect(err).toBeInstanceOf(ShardvaultError);
          return;
        }
        const keyOf = domainKeyFor(locs);
        const ids = locs.map((l) => l.id);
        const domains = new Set(ids.map(keyOf)).size;
        expect(policy.total).toBe(locs.length);
        expect(policy.threshold).toBe(y + 1);
        expect(domains - x).toBeGreaterThanOrEqual(policy.threshold);
        const placement = placeInDomains(policy.total, 1, ids, keyOf, policy.data);
        expect(domainsSurvived(placement, policy.data, keyOf)).toBeGreaterThanOrEqual(x);
        // k is the largest that does: one more and some X domains would take too much.
        if (policy.data < policy.total - x) {
          const tighter = placeInDomains(policy.total, 1, ids, keyOf, policy.data + 1);
          expect(domainsSurvived(tighter, policy.data + 1, keyOf)).toBeLessThan(x);
        }
        // One share per domain, so Y domains together hold Y < t.
        const groups = shareGroups(locs, policy.threshold);
        if (groups) expect(new Set(groups).size).toBe(domains);
      }),
      { numRuns: 300 },
    );
  });

  it('without shared domains the policy is the locations one, and nothing is warned', () => {
    const locs = [0, 1, 2, 3, 4].map((i) => ({ id: `id${i}`, name: `l${i}` }));
    expect(policyFromDomains(locs, 2, 2)).toEqual(policyFromWords(5, 2, 2));
    expect(domainWarnings(locs, policyFromWords(5, 2, 2))).toEqual([]);
  });

  it('warns in words when two locations of one domain hold more than a file can lose', () => {
    const locs: DomainLocation[] = [
      { id: 'a', name: 'usb', domain: 'home' },
      { id: 'b', name: 'nas', domain: 'home' },
      { id: 'c', name: 'cloud' },
    ];
    const policy = policyFromWords(3, 1, 1); // 2 of 3, chosen before the domains were known
    expect(domainWarnings(locs, policy)).toEqual([
      'usb and nas are both in home: losing home loses 2 shards of each file; the vault survives losing 1',
    ]);
    expect(() => policyFromDomains(locs, 1, 1)).toThrow(
      /2 domains can't both survive losing 1 and stay secret against 1/,
    );
    const p = policyFromDomains([...locs, { id: 'd', name: 'office' }], 1, 1);
    expect(p).toEqual({ data: 2, total: 4, threshold: 2, replicas: 1 });
    expect(survivesLosses(placeShards(4, 1, ['a', 'b', 'c', 'd']), 2)).toBe(2);
  });

  it('reads a domain by the one rule', () => {
    expect(readDomain('  home nas ')).toBe('home nas');
    expect(readDomain('')).toBeUndefined();
    expect(() => readDomain('-home')).toThrow(/domain "-home": use letters/);
    expect(() => readDomain('a'.repeat(65))).toThrow(/up to 64/);
  });
});

describe('key shares over failure domains', () => {
  it('one share per domain: a domain alone never unlocks, two domains do', async () => {
    const vaultId = randomBytes(16).toString('hex');
    const locs: DomainLocation[] = [
      { id: randomBytes(16).toString('hex'), name: 'usb', domain: 'home' },
      { id: randomBytes(16).toString('hex'), name: 'nas', domain: 'home' },
      { id: randomBytes(16).toString('hex'), name: 'desk', domain: 'home' },
      { id: randomBytes(16).toString('hex'), name: 'cloud' },
    ];
    const vk = new Uint8Array(randomBytes(32));
    const pk = new Uint8Array(randomBytes(32));
    const rk = new Uint8Array(randomBytes(32));
    const { records } = await dealShares(
      vk,
      { vaultId, generation: 1, threshold: 2, locationIds: locs.map((l) => l.id), groups: shareGroups(locs, 2) },
      pk,
      rk,
    );
    const from = (names: string[]): ShareFromLocation[] =>
      locs
        .filter((l) => names.includes(l.name))
        .map((l) => ({ locationId: l.id, locationName: l.name, record: decodeKeyShare(records.get(l.id)!) }));
    expect(decodeKeyShare(records.get(locs[0]!.id)!).total).toBe(2);
    // Three locations, one domain: one share, not three.
    await expect(
      recoverVaultKey(vaultId, from(['usb', 'nas', 'desk']), { kind: 'passphrase', key: pk }),
    ).rejects.toThrow(/only 1 of the 2 key shares needed/);
    const got = await recoverVaultKey(vaultId, from(['nas', 'cloud']), { kind: 'recovery', key: rk });
    expect(Buffer.from(got.vk).equals(Buffer.from(vk))).toBe(true);
  });

  it('a share each when the domains are fewer than t (one per domain could never unlock)', () => {
    const locs: DomainLocation[] = [
      { id: 'a', name: 'usb', domain: 'home' },
      { id: 'b', name: 'nas', domain: 'home' },
      { id: 'c', name: 'cloud' },
    ];
    expect(shareGroups(locs, 3)).toBeUndefined();
    expect(shareGroups(locs, 2)).toEqual(['domain:home', 'domain:home', 'location:c']);
    expect(domainWarnings(locs, { data: 1, total: 3, threshold: 3, replicas: 1 })[0]).toMatch(
      /in 2 domains but unlocking needs 3 key shares/,
    );
  });
});

describe('widening n after a location is added', () => {
  it('offers n = the locations, keeping k and t, only when n is smaller and there are no copies', () => {
    const p = { data: 2, total: 3, threshold: 2, replicas: 1 };
    expect(widerPolicy(p, 4)).toEqual({
      data: 2,
      total: 4,
      threshold: 2,
      command: 'shardvault policy set --data 2 --total 4 --threshold 2',
    });
    expect(widerPolicy(p, 3)).toBeNull();
    expect(widerPolicy({ ...p, replicas: 2 }, 4)).toBeNull();
  });
});

describe("the first run's preview over domains", () => {
  it('gives k, n, t over the domains, or why not with what counting locations would cost', () => {
    const usbNas = [
      { name: 'usb', domain: 'home' },
      { name: 'nas', domain: 'home' },
      { name: 'cloud', domain: '' },
    ];
    const refused = previewPolicy(usbNas, 1, 1);
    expect(refused.data).toBe(0);
    expect(refused.problem).toMatch(/^2 domains can't both survive losing 1 and stay secret against 1/);
    expect(refused.domainWarnings).toEqual([
      'usb and nas are both in home: losing home loses 2 shards of each file; the vault survives losing 1',
    ]);
    const met = previewPolicy([...usbNas, { name: 'office', domain: ' ' }], 1, 1);
    expect(met).toEqual({ data: 2, total: 4, threshold: 2, problem: null, domainWarnings: [] });
    expect(previewPolicy([{ name: 'a', domain: 'x'.repeat(200) }, ...usbNas], 1, 1).problem).toMatch(/^domain /);
  });
});
