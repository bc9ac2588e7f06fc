// Policy presets by sensitivity (the seed's "dynamic sharding"). The arithmetic that turns
// "survive losing X" and "secret even if Y collude" into n, k and t is the engine's alone
// (api.policyPreview: core/vault/domains.ts), so the UI, init and policy set agree.

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
