/**
 * Failure domains: locations that fail together (one building, one provider) count as one
 * for the policy. Placement spreads a file's shards over domains first, and never puts more
 * of them in one domain than the file can lose when the locations allow it; key shares are
 * dealt one per domain (keys.ts dealShares); policyFromDomains turns "survive X, secret
 * against Y" into k, n, t over domains; domainWarnings says, in words, what a domain's loss
 * costs when the locations can't meet the policy across domains.
 */
import { plural } from '../../shared/format';
import { isLocationDomain, LOCATION_DOMAIN_RULE } from '../../shared/location-kinds';
import { andList } from '../../shared/words';
import { ShardvaultError, UsageError } from '../errors';
import { placeShards, policyFromWords, survivesLosses, type PolicyNumbers } from './policy';

export interface DomainLocation {
  readonly id: string;
  readonly name: string;
  /** Absent: the location is a domain of its own. */
  readonly domain?: string;
}

/** `{ domain }` when there is one, else nothing: entries without a domain carry no field. */
export function domainField(domain: string | undefined): { domain?: string } {
  return domain === undefined ? {} : { domain };
}

/** A domain as given (--domain, a form), trimmed and checked by the one rule; '' clears it. */
export function readDomain(text: string): string | undefined {
  const domain = text.trim();
  if (domain === '') return undefined;
  if (!isLocationDomain(domain)) throw new UsageError(`domain ${JSON.stringify(domain)}: use ${LOCATION_DOMAIN_RULE}`);
  return domain;
}

/** The key that groups locations: the domain's name, or the location's own id when it has none. */
export function domainKeyOf(l: DomainLocation): string {
  return l.domain === undefined ? `location:${l.id}` : `domain:${l.domain}`;
}

/** Whether any two locations share a domain (else domains change nothing). */
export function hasSharedDomain(locations: readonly DomainLocation[]): boolean {
  return new Set(locations.map(domainKeyOf)).size < locations.length;
}

/**
 * The location ids in an order that visits every domain before any domain twice (domains
 * in the order they first appear, their locations in the order given), so round-robin
 * placement over it spreads shards over domains first.
 */
export function interleaveByDomain(ids: readonly string[], keyOf: (id: string) => string): string[] {
  const groups = new Map<string, string[]>();
  for (const id of ids) groups.set(keyOf(id), [...(groups.get(keyOf(id)) ?? []), id]);
  const out: string[] = [];
  for (let round = 0; out.length < ids.length; round++)
    for (const members of groups.values()) if (round < members.length) out.push(members[round]!);
  return out;
}

/** How many shards of a placement each domain alone would take with it (copies all inside it). */
function lossPerDomain(placement: readonly (readonly string[])[], keyOf: (id: string) => string): Map<string, number> {
  const lost = new Map<string, number>();
  for (const copies of placement) {
    const keys = new Set(copies.map(keyOf));
    if (keys.size === 1) {
      const [key] = keys;
      lost.set(key!, (lost.get(key!) ?? 0) + 1);
    }
  }
  return lost;
}

/**
 * Places `total` shards of a file whose reading needs `data` of them: round robin over the
 * locations interleaved by domain (placeShards), then, with one copy per shard, shards move
 * from a domain holding more than the file can lose (total − data) to the least loaded
 * domain that has room, onto its least loaded location. Where the domains can't hold the
 * file that way the locations can't meet the policy across domains, and the placement is
 * the even spread (domainWarnings says so). Without shared domains it is placeShards itself.
 */
export function placeInDomains(
  total: number,
  replicas: number,
  ids: readonly string[],
  keyOf: (id: string) => string,
  data: number,
): string[][] {
  const sharing = new Set(ids.map(keyOf)).size < ids.length;
  if (!sharing) return placeShards(total, replicas, ids);
  const placement = placeShards(total, replicas, interleaveByDomain(ids, keyOf));
  if (replicas !== 1) return placement;
  const domains = [...new Set(ids.map(keyOf))];
  // Where the domains can't meet total − data each, the even spread is the best there is.
  const cap = Math.max(total - data, Math.ceil(total / domains.length));
  const count = (key: string): number => placement.filter((c) => keyOf(c[0]!) === key).length;
  const load = (id: string): number => placement.filter((c) => c[0] === id).length;
  for (;;) {
    const over = domains.filter((d) => count(d) > cap).sort((a, b) => count(b) - count(a))[0];
    if (over === undefined) return placement;
    const room = domains.filter((d) => count(d) < cap).sort((a, b) => count(a) - count(b))[0];
    if (room === undefined) return placement;
    // The busiest location of the crowded domain gives up its last shard.
    const from = ids.filter((id) => keyOf(id) === over).sort((a, b) => load(b) - load(a))[0]!;
    const to = ids.filter((id) => keyOf(id) === room).sort((a, b) => load(a) - load(b))[0]!;
    const index = placement.map((c) => c[0]).lastIndexOf(from);
    placement[index] = [to];
  }
}

/** How many domains (any of them) a placement survives losing; -1 when fewer than `data` shards have a copy. */
export function domainsSurvived(
  placement: readonly (readonly string[])[],
  data: number,
  keyOf: (id: string) => string,
): number {
  return survivesLosses(
    placement.map((copies) => [...new Set(copies.map(keyOf))]),
    data,
  );
}

/**
 * "Survive losing X, stay secret against Y" over domains: n is the number of locations, k
 * the largest for which the placement survives losing any X domains, t = Y + 1 with the
 * key dealt one share per domain, so any X domains lost still leave t. Without shared
 * domains, exactly policyFromWords.
 */
export function policyFromDomains(
  locations: readonly DomainLocation[],
  survive: number,
  secretAgainst: number,
): PolicyNumbers {
  const words = policyFromWords(locations.length, survive, secretAgainst);
  if (!hasSharedDomain(locations)) return words;
  const keyOf = domainKeyFor(locations);
  const ids = locations.map((l) => l.id);
  const domains = new Set(ids.map(keyOf)).size;
  const n = locations.length;
  if (survive >= domains)
    fail(`the ${plural(domains, 'domain')} of these locations can survive losing at most ${domains - 1}`);
  if (words.threshold > domains - survive) {
    fail(
      `${plural(domains, 'domain')} can't both survive losing ${survive} and stay secret against ${secretAgainst}: ` +
        `unlocking needs key shares from ${words.threshold} domains but only ${domains - survive} would be left; ` +
        'add locations in other domains or lower one of them',
    );
  }
  for (let k = n - survive; k >= 1; k--) {
    if (domainsSurvived(placeInDomains(n, 1, ids, keyOf, k), k, keyOf) >= survive)
      return { data: k, total: n, threshold: words.threshold, replicas: 1 };
  }
  return fail(`these locations can't survive losing ${plural(survive, 'domain')}`);
}

function fail(message: string): never {
  throw new ShardvaultError('policy', message);
}

/**
 * What the locations' domains cost the policy, in words, for status, the dashboard and
 * the first run: a domain whose loss alone loses a file, or leaves fewer key shares than
 * unlocking needs ("usb and nas are both at home: losing home loses 2 shards of each file;
 * the vault survives losing 1"). Empty when the domains meet the policy, or there are none.
 */
export function domainWarnings(
  locations: readonly DomainLocation[],
  policy: { readonly data: number; readonly total: number; readonly threshold: number; readonly replicas: number },
): string[] {
  if (!hasSharedDomain(locations) || locations.length === 0) return [];
  const keyOf = domainKeyFor(locations);
  const ids = locations.map((l) => l.id);
  const placement = placeInDomains(policy.total, Math.min(policy.replicas, ids.length), ids, keyOf, policy.data);
  const lost = lossPerDomain(placement, keyOf);
  const canLose = Math.max(0, survivesLosses(placement, policy.data));
  const domains = [...new Set(ids.map(keyOf))];
  const out: string[] = [];
  if (domains.length < policy.threshold)
    out.push(
      `the locations are in ${plural(domains.length, 'domain')} but unlocking needs ${policy.threshold} key shares: ` +
        'each location keeps a share of its own, so one domain may hold enough of them to unlock',
    );
  // A vault that survives no loss at all is not made worse by sharing a domain.
  if (canLose === 0) return out;
  for (const key of domains) {
    const members = locations.filter((l) => domainKeyOf(l) === key);
    if (members.length < 2) continue;
    const domain = members[0]!.domain!;
    const names = `${andList(members.map((l) => l.name))} are ${members.length === 2 ? 'both' : 'all'} in ${domain}`;
    const shards = lost.get(key) ?? 0;
    if (shards > policy.total - policy.data)
      out.push(
        `${names}: losing ${domain} loses ${plural(shards, 'shard')} of each file; the vault survives losing ${canLose}`,
      );
    else if (domains.length - 1 < policy.threshold)
      out.push(
        `${names}: losing ${domain} leaves key shares in ${plural(domains.length - 1, 'place')}; unlocking needs ${policy.threshold}`,
      );
  }
  return out;
}

/**
 * The key-share groups of a deal (keys.ts Dealing.groups): one share per domain, so Y
 * colluding domains hold at most Y shares. When the domains are fewer than t, one share per
 * domain could never unlock: then a share each, and domainWarnings says the domains can't
 * keep the secret.
 */
export function shareGroups(locations: readonly DomainLocation[], threshold: number): string[] | undefined {
  if (!hasSharedDomain(locations)) return undefined;
  if (new Set(locations.map(domainKeyOf)).size < threshold) return undefined;
  return locations.map(domainKeyOf);
}

/** The domain key of each of these locations' ids (domainKeyOf), for the placement functions. */
export function domainKeyFor(locations: readonly DomainLocation[]): (id: string) => string {
  const byId = new Map(locations.map((l) => [l.id, domainKeyOf(l)]));
  return (id) => byId.get(id) ?? `location:${id}`;
}
