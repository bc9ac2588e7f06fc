// Policy presets by sensitivity (the seed's "dynamic sharding"). The arithmetic that turns
// "survive losing X" and "secret even if Y collude" into n, k and t is the engine's alone
// (api.policyPreview: core/vault/domains.ts), so the UI, init and policy set agree;
// usePolicyPreview asks for it live.
import { useEffect, useRef, useState } from 'react';
import type { PolicyPreview } from '../../shared/api';
import type { Client } from './bridge/client';

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

/**
 * The engine's numbers for "survive X, secret against Y" over these locations (name and
 * failure domain, '' for none), asked again whenever they change: null until the answer for
 * the current choice is in. A failed call goes to onError.
 */
export function usePolicyPreview(
  client: Client,
  locations: readonly { readonly name: string; readonly domain: string }[],
  survive: number,
  secretAgainst: number,
  onError: (e: unknown) => void,
): PolicyPreview | null {
  const key = JSON.stringify([locations, survive, secretAgainst]);
  const [preview, setPreview] = useState<{ key: string; answer: PolicyPreview } | null>(null);
  // The caller's latest handler, without asking again each time it is a new function.
  const report = useRef(onError);
  report.current = onError;
  useEffect(() => {
    let current = true;
    const [given, x, y] = JSON.parse(key) as [{ name: string; domain: string }[], number, number];
    client.api.policyPreview({ locations: given, survive: x, secretAgainst: y }).then(
      (answer) => {
        if (current) setPreview({ key, answer });
      },
      (e: unknown) => {
        if (current) report.current(e);
      },
    );
    return () => {
      current = false;
    };
  }, [client, key]);
  return preview !== null && preview.key === key ? preview.answer : null;
}
