/**
 * `status`: what the vault's locations hold and how they answer (app.ts's statusReport, and
 * the CLI's). A file of its own so that `shardvault status` loads neither app.ts nor the
 * guard's code: a vault with no node location and no guard, or a locked one, never needs it.
 */
import type { StatusReport, VaultSummary } from '../../shared/api';
import { stagedCopyOf } from '../format/records';
import { happyOf, holdings } from './files';
import type { guardHealth } from './guard-status';
import { signInOf } from './locations';
import type { Vault } from './vault';

/** What the vault's locations hold and how they answer; needs no key (works locked). */
export async function statusReport(vault: Vault, options = { save: true }): Promise<StatusReport> {
  const [health, known] = await Promise.all([vault.health(), holdings(vault)]);
  const guarding = await guardHealthOf(vault, (id) => health.get(id)?.reachable === true);
  if (options.save) await vault.saveProfile().catch(() => undefined);
  const paths = [...known.held.values()].flatMap((listing) => [...(listing?.keys() ?? [])]);
  const domains = vault.domainLocations();
  return {
    vault: summary(vault),
    locked: !vault.unlocked,
    locations: vault.locations.map((l) => {
      const h = health.get(l.id)!;
      const listing = known.held.get(l.id);
      return {
        name: l.name,
        kind: l.kind,
        display: l.display,
        reachable: h.reachable,
        latencyMs: h.latencyMs,
        freeBytes: h.freeBytes,
        shards: listing ? [...listing.keys()].filter((p) => p.startsWith('shards/')).length : null,
        staged: paths.filter((p) => stagedCopyOf(p)?.location === l.id).length,
        lastSeen: vault.lastSeen(l.id),
        error: h.error,
        warning: vault.locationWarning(l.id),
        signIn: signInOf(vault.profileLocations().find((e) => e.id === l.id)),
        domain: domains.find((d) => d.id === l.id)?.domain ?? null,
        node: guarding.nodes.get(l.id) ?? null,
      };
    }),
    damaged: known.damaged.size,
    happy: happyOf(vault),
    policyJob: vault.unlocked ? (await import('./policy-change')).jobStatus(vault.head()) : null,
    domainWarnings: vault.domainWarnings(),
    guard: guarding.guard,
  };
}

/** The vault's id and policy numbers (init prints them; summary adds the key fingerprint). */
export function policySummary(vault: Vault): Omit<VaultSummary, 'fingerprint'> {
  const p = vault.policy;
  return {
    id: vault.vaultId,
    data: p.data,
    total: p.total,
    threshold: p.threshold,
    replicas: p.replicas,
    segmentSize: p.segmentSize,
  };
}

/** The vault's policy and key fingerprint, as the front ends show it. */
export function summary(vault: Vault): VaultSummary {
  return { ...policySummary(vault), fingerprint: vault.keyFingerprint };
}

/**
 * Whether the guard has anything to say of `vault`: it is unlocked and has a guard or a node
 * location. guardHealth answers empty otherwise, and status then does not even load it.
 */
export function guardHasNews(vault: Vault): boolean {
  return (
    vault.unlocked && (vault.head().guard !== undefined || vault.profileLocations().some((l) => l.kind === 'node'))
  );
}

/** guardHealth (guard-status.ts), loaded only when it has something to ask (guardHasNews). */
async function guardHealthOf(vault: Vault, reachable: (locationId: string) => boolean): ReturnType<typeof guardHealth> {
  if (!guardHasNews(vault)) return { nodes: new Map(), guard: null };
  return (await import('./guard-status')).guardHealth(vault, reachable);
}
