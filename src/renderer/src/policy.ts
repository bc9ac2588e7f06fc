// Policy presets by sensitivity (the seed's "dynamic sharding"), and the arithmetic that
// turns "survive losing X" and "secret even if Y collude" into n, k and t.

export interface Preset {
  readonly id: 'everyday' | 'sensitive' | 'critical';
  readonly title: string;
  readonly survive: number;
  readonly secretAgainst: number;
  readonly text: string;
}

export const PRESETS: readonly Preset[] = [
  {
    id: 'everyday',
    title: 'Everyday',
    survive: 1,
    secretAgainst: 1,
    text: 'Household papers, scans, photos of documents. Any one location can be lost, and any one location on its own learns nothing.',
  },
  {
    id: 'sensitive',
    title: 'Sensitive',
    survive: 1,
    secretAgainst: 2,
    text: 'Medical, legal and financial records. Still readable after losing one location; two locations working together learn nothing.',
  },
  {
    id: 'critical',
    title: 'Critical',
    survive: 2,
    secretAgainst: 2,
    text: 'Keys, seed phrases, things that can never be replaced. Survives losing two locations; two colluding learn nothing.',
  },
];

/** Locations a policy needs: t = Y + 1 must still be reachable after losing X. */
export function locationsNeeded(survive: number, secretAgainst: number): number {
  return Math.max(2, survive + secretAgainst + 1);
}

export interface Derived {
  readonly n: number;
  readonly k: number;
  readonly t: number;
  /** Why this policy cannot work with these locations, or null. */
  readonly problem: string | null;
}

export function derive(locations: number, survive: number, secretAgainst: number): Derived {
  const n = locations;
  const k = n - survive;
  const t = secretAgainst + 1;
  let problem: string | null = null;
  if (n < 2) problem = 'Add at least two locations: one place alone could read or lose everything.';
  else if (secretAgainst < 1) problem = 'Choose at least 1: no single location may be able to read the vault.';
  else if (k < 1) problem = `With ${n} locations you cannot survive losing ${survive}.`;
  else if (t > k)
    problem = `Unlocking needs ${t} locations, but after losing ${survive} only ${k} would be left. Add ${t - k} more ${t - k === 1 ? 'location' : 'locations'}, or lower one of the two numbers.`;
  return { n, k, t, problem };
}
