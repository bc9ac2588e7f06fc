/**
 * The facts of the printable recovery kit (src/shared/kit.ts says them in words). Taken
 * from the vault as this device knows it: names, kinds, displays and domains of the
 * locations (never their SPECs or credentials), the policy, the key fingerprint. The
 * recovery code is not kept anywhere (the head holds only the key derived from it), so it
 * is printed only when the user gives it, and then only if it is this vault's.
 */
import type { KitFacts } from '../shared/kit';
import { equalBytes } from './crypto/bytes';
import { AuthError } from './errors';
import { hasSharedDomain } from './vault/domains';
import { normalizeRecoveryCode, recoveryKey } from './vault/keys';
import type { Vault } from './vault/vault';

export function kitFacts(vault: Vault, opts: { recoveryCode?: string } = {}): KitFacts {
  const p = vault.policy;
  const domains = vault.domainLocations();
  const shared = hasSharedDomain(domains);
  let recoveryCode: string | null = null;
  if (opts.recoveryCode !== undefined) {
    const rk = recoveryKey(opts.recoveryCode, vault.vaultId);
    if (!vault.unlocked || !equalBytes(rk, vault.head().recoveryKey))
      throw new AuthError('that is not this vault’s recovery code: the kit was not printed');
    const clean = normalizeRecoveryCode(opts.recoveryCode);
    recoveryCode = clean.match(/.{4}/g)!.join('-');
  }
  return {
    vaultId: vault.vaultId,
    fingerprint: vault.keyFingerprint,
    made: new Date().toISOString(),
    data: p.data,
    total: p.total,
    threshold: p.threshold,
    replicas: p.replicas,
    survives: vault.policySurvives(),
    survivesDomains: shared ? vault.domainsSurvive() : null,
    locations: vault.locations.map((l) => ({
      name: l.name,
      kind: l.kind,
      display: l.display,
      domain: domains.find((d) => d.id === l.id)?.domain ?? null,
    })),
    recoveryCode,
  };
}
