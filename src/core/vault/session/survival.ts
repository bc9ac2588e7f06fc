/** What the vault's policy and failure domains survive losing, read from the session's head or profile. */
import { survivesLosses } from '../policy';
import {
  domainField,
  domainKeyFor,
  domainsSurvived,
  domainWarnings,
  placeInDomains,
  type DomainLocation,
} from '../domains';
import { policyOf, type VaultState } from './state';

/**
 * The vault's locations with their failure domains: the head's word once unlocked, else
 * what this profile last read from a head.
 */
export function domainLocations(s: VaultState): DomainLocation[] {
  const head = s.currentHead;
  return s.current.map((l) => {
    const known = head ? head.locations.find((e) => e.id === l.id) : s.profile.locations.find((e) => e.id === l.id);
    return { id: l.id, name: l.name, ...domainField(known?.domain) };
  });
}

/** What the domains cost the policy, in words (domains.ts domainWarnings); empty when nothing. */
export function domainWarningsOf(s: VaultState): string[] {
  return domainWarnings(domainLocations(s), policyOf(s));
}

/** How many failure domains (a location without one is its own) every file survives losing. */
export function domainsSurvive(s: VaultState): number {
  const p = policyOf(s);
  const located = domainLocations(s);
  const keyOf = domainKeyFor(located);
  const ids = located.map((l) => l.id);
  return Math.max(
    0,
    domainsSurvived(placeInDomains(p.total, Math.min(p.replicas, ids.length), ids, keyOf, p.data), p.data, keyOf),
  );
}

/** How many locations the vault's placement survives losing (the policy's X). */
export function policySurvives(s: VaultState): number {
  const p = policyOf(s);
  const located = domainLocations(s);
  const ids = located.map((l) => l.id);
  const placed = placeInDomains(p.total, Math.min(p.replicas, ids.length), ids, domainKeyFor(located), p.data);
  return Math.max(0, survivesLosses(placed, p.data));
}
