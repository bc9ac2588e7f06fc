/** The access requests of a session: each appended to this device's chain on every location (audit.ts holds the format). */
import type { AccessAction, AccessOutcome } from '../../../shared/api';
import { fromHex } from '../../crypto/bytes';
import { ShardvaultError } from '../../errors';
import { ID_BYTES, PATHS } from '../../format/records';
import { encodeLogEntry, type AuditEvent } from '../audit';
import { everywhere, storeProfile, type VaultState } from './state';

/** The log key a probe of a new machine seals its failed open to (logFailedOpen). */
export function useLogKey(s: VaultState, key: Uint8Array): void {
  s.profile = { ...s.profile, logPublicKey: key };
}

/**
 * Appends an access request to this device's chain on every reachable location. A device's
 * first entry also leaves a marker beside the chains (log/<device>.device), so the owner's
 * devices find the chain of one the head does not vouch for yet (a failed open from a new
 * machine). `persist: false` keeps the profile unwritten (an attach that failed leaves none).
 */
export async function audit(
  s: VaultState,
  event: AuditEvent,
  { persist = true }: { persist?: boolean } = {},
): Promise<void> {
  const seq = s.profile.logTip.seq + 1;
  const entry = encodeLogEntry({
    vaultId: s.profile.vaultId,
    deviceId: s.profile.device.id,
    deviceName: s.profile.device.name,
    seq,
    prevHash: s.profile.logTip.hash,
    logPublicKey: s.currentHead?.logPublicKey ?? s.profile.logPublicKey,
    event,
    time: new Date(),
  });
  const deviceId = s.profile.device.id;
  const results = await everywhere(s, async (l) => {
    await l.node.put(PATHS.logEntry(deviceId, seq), entry.bytes);
    if (seq === 1) await l.node.put(PATHS.logDevice(deviceId), fromHex(deviceId, 'deviceId', ID_BYTES));
    return true;
  });
  if (!results.some((r) => r.value === true)) {
    s.options.onWarning?.('the access request could not be logged: no location is reachable');
    return;
  }
  s.profile = { ...s.profile, logTip: { seq, hash: entry.hash } };
  if (persist) await storeProfile(s);
}

/**
 * Runs an access request and logs its outcome. A request that commits a change is logged
 * just before its head is written (commit), so the head vouches for it; a failure after
 * that is logged as a second, failed entry. The subject is the file's name, or (a location
 * change) the change in words: which location, and how.
 */
export async function audited<T>(
  s: VaultState,
  action: AccessAction,
  subject: string | null | { readonly file?: string; readonly detail: string },
  run: (used: Set<string>) => Promise<T>,
): Promise<T> {
  const file = typeof subject === 'string' ? subject : (subject?.file ?? null);
  const detail = subject !== null && typeof subject === 'object' ? subject.detail : null;
  const pending = { action, file, detail, used: new Set<string>(), logged: false };
  s.pending = pending;
  let outcome: AccessOutcome = 'ok';
  try {
    return await run(pending.used);
  } catch (err) {
    // A wrong secret, or guardians who did not approve (or denied): refused, not broken.
    outcome = err instanceof ShardvaultError && (err.code === 'auth' || err.code === 'approval') ? 'denied' : 'failed';
    throw err;
  } finally {
    s.pending = null;
    const tip = s.profile.logTip;
    if (!pending.logged || outcome !== 'ok') {
      // The profile is stored once, below, with the new log tip (it was written twice).
      await audit(s, { action, file, detail, outcome, locations: [...pending.used] }, { persist: false }).catch(
        (e: unknown) => s.options.onWarning?.(`the access request could not be logged: ${(e as Error).message}`),
      );
    }
    await storeProfile(s).catch((e: unknown) => {
      if (s.profile.logTip !== tip)
        s.options.onWarning?.(`the access log's new entry could not be recorded here: ${(e as Error).message}`);
    });
  }
}
