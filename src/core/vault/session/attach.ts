/** Attaching a new machine's profile to a vault found on the given locations (open). */
import { engineConfig } from '../../config';
import { wipe } from '../../crypto/bytes';
import { AuthError, ShardvaultError, UsageError } from '../../errors';
import { type VaultKdf } from '../../format/head';
import { type VaultRecord } from '../../format/records';
import { createNode, type LocationGiven } from '../../storage/open';
import { nameSpecs, locationFromHead, pinHostKeys, sealSecrets, askKeyPassphrases } from '../locations';
import { readVaultRecord } from '../checked-node';
import { type StorageNode } from '../../storage/node';
import { ZERO_HASH } from '../audit';
import { deriveVaultKeys, passphraseKey, type RecoveredKey } from '../keys';
import { loadProfile, newDevice, type Profile, type ProfileLocation } from '../profile';
import {
  closeNodes,
  newState,
  nowIso,
  UNKNOWN_ADDRESS,
  DEFAULT_SEGMENT,
  type Location,
  type Secret,
  type VaultOptions,
  type VaultState,
} from './state';
import { commit, loadHead } from './head-store';
import { audit, useLogKey } from './access-log';
import { recover } from './unlock';
import { redeal, sameVaultKdf } from './key-shares';

export interface AttachOptions extends VaultOptions {
  /** The vault key fingerprint from the recovery kit: the key recovered must have it. */
  readonly expectFingerprint?: string;
  /** What the opened vault reaches each location through: a given one (by its name) or one
   * the head records (null). The recovery drill's open (drill.ts) reads through it and keeps
   * every write in memory. */
  readonly wrapNode?: (node: StorageNode, given: string | null) => StorageNode;
}

/**
 * Attaches a fresh profile to a vault found on the given locations (a new machine). With
 * a recovery code, `newPassphrase` replaces the forgotten one: a new generation of key
 * shares is dealt under it.
 */
export async function attachVault(
  dir: string,
  specs: readonly LocationGiven[],
  secret: Secret,
  newPassphrase: string | null,
  options: AttachOptions = {},
): Promise<VaultState> {
  if (await loadProfile(dir)) throw new ShardvaultError('exists', `the profile in ${dir} already has a vault`);
  const parsed = await askKeyPassphrases(
    await pinHostKeys(nameSpecs(specs, 0, [], options.allowInsecureHttp), options.confirmHostKey),
    options.askKeyPassphrase,
    engineConfig().env,
  );
  const wrap = options.wrapNode ?? ((node: StorageNode) => node);
  const given = parsed.map((p) => ({
    parsed: p,
    node: wrap(createNode(p, p.secrets, { env: engineConfig().env }), p.name),
  }));
  const opened: StorageNode[] = given.map((g) => g.node);
  try {
    const records = await Promise.all(
      given.map(async (g) => {
        try {
          return await readVaultRecord(g.node);
        } catch (err) {
          options.onWarning?.(`${g.parsed.name}: ${(err as Error).message}`);
          return null;
        }
      }),
    );
    // Locations that name different vaults: a folder of another vault given by mistake, or
    // locations lying about whose they are. A majority proves nothing (t − 1 hostile ones
    // with the passphrase can deal a vault of their own), so a new machine picks only by
    // the fingerprint the user gives, and otherwise asks which.
    const counts = new Map<string, number>();
    for (const r of records) if (r) counts.set(r.vaultId, (counts.get(r.vaultId) ?? 0) + 1);
    const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([id]) => id);
    const vaultId = ranked[0];
    if (!vaultId) throw new ShardvaultError('unavailable', 'none of the locations holds a readable vault');
    if (ranked.length > 1) {
      const naming = (id: string): string =>
        given.flatMap((g, i) => (records[i]?.vaultId === id ? [g.parsed.name] : [])).join(', ');
      if (!options.expectFingerprint) {
        throw new UsageError(
          `the locations name ${ranked.length} different vaults (${ranked
            .map((id) => `${naming(id)}: vault ${id.slice(0, 8)}…`)
            .join('; ')}): leave out the ones that are not this vault's, or give the vault key ` +
            'fingerprint from the recovery kit (--expect-fingerprint) to pick it',
        );
      }
      await closeNodes(opened);
      let last: unknown = null;
      for (const id of ranked) {
        try {
          return await attachVault(
            dir,
            specs.filter((_, i) => records[i]?.vaultId === id),
            secret,
            newPassphrase,
            options,
          );
        } catch (err) {
          last = err;
          if (!(err instanceof ShardvaultError) || !['corrupt', 'unavailable', 'auth'].includes(err.code)) throw err;
        }
      }
      throw last instanceof Error ? last : new ShardvaultError('unavailable', 'no vault with that fingerprint');
    }
    // The KDF cost and salt in a location's record are public and unprotected: a location could
    // lie about them (a downgrade, or a salt of its choosing). So they are only candidates for
    // opening the key shares, most common first; the sealed head then says which are the
    // vault's, and only those seal anything new.
    const kdfCandidates = kdfChoices(records.filter((r): r is VaultRecord => r?.vaultId === vaultId));
    const matched = given.flatMap((g, i) =>
      records[i]?.vaultId === vaultId ? [{ ...g, id: records[i].locationId }] : [],
    );
    // Two locations claiming one id: one is a copy, or lying about who it is (its record is
    // public and unprotected). Which is which can't be told from here. Reading key shares
    // and heads from both is safe (a location id counts once, and heads are sealed), but
    // the profile would send that location's writes to the wrong one: once the vault is
    // open, that location is reached at the address the sealed head records instead.
    const twinIds = new Set(matched.filter((g) => matched.some((o) => o !== g && o.id === g.id)).map((g) => g.id));
    for (const g of matched.filter((m) => twinIds.has(m.id))) {
      options.onWarning?.(
        `${g.parsed.name} (${g.parsed.display}) says it is a location another one given also says it is: ` +
          'one is a copy or is not what it says; the address the vault records is used instead',
      );
    }
    const locations: Location[] = matched.map((g) => ({
      id: g.id,
      name: g.parsed.name,
      kind: g.parsed.kind,
      display: g.parsed.display,
      node: g.node,
    }));
    const device = newDevice();
    const probeProfile = (kdf: VaultKdf): Profile => ({
      vaultId,
      device,
      kdf: kdf.params,
      salt: kdf.salt,
      logPublicKey: new Uint8Array(32),
      lastHeadCounter: 0,
      locations: [],
      logTip: { seq: 0, hash: ZERO_HASH },
      policy: { data: 1, total: 1, threshold: 2, replicas: 1, segmentSize: DEFAULT_SEGMENT },
      keyPin: null,
    });
    let probe: VaultState | null = null;
    let recovered: (RecoveredKey & { pk: Uint8Array | null }) | null = null;
    let used = kdfCandidates[0]!;
    for (const candidate of kdfCandidates) {
      probe = newState(dir, probeProfile(candidate), locations, options);
      try {
        recovered = await recover(probe, secret, false, { expectFingerprint: options.expectFingerprint });
        used = candidate;
        break;
      } catch (err) {
        // A wrong passphrase under one location's (possibly forged) parameters: try the next.
        if (err instanceof AuthError && candidate !== kdfCandidates[kdfCandidates.length - 1]) continue;
        await logFailedOpen(probe, records, vaultId, err);
        throw err;
      }
    }
    const { vk, pk } = recovered!;
    const profile = probe!.profile;
    try {
      const keys = deriveVaultKeys(vk, vaultId);
      probe!.keys = keys;
      const head = await loadHead(probe!);
      const vaultKdf = head.kdf ?? used;
      // The head knows every location of the vault; ones not given here are reached at the
      // address the head records: a folder at once, a server that needs credentials once
      // someone signs in to it on this device (locations.ts locationFromHead).
      const fromHead = new Map<string, ProfileLocation>();
      const all: Location[] = head.locations.map((entry) => {
        const mine = twinIds.has(entry.id) ? undefined : locations.find((l) => l.id === entry.id);
        if (mine) return { ...mine, name: entry.name };
        // The drill's open wraps every node (wrapNode): one learned from the head too, so a
        // location supposed lost is never reached through the head's address.
        const learned = locationFromHead(entry, vaultId, UNKNOWN_ADDRESS);
        const node = wrap(learned.node, null);
        opened.push(node);
        fromHead.set(entry.id, learned.profile);
        return { id: entry.id, name: entry.name, kind: entry.kind, display: entry.display, node };
      });
      // Credentials given on the command line are sealed under the passphrase the vault
      // will be unlocked with from now on.
      // A new passphrase is stretched with the vault's own parameters, never a location's word.
      const sameKdf = sameVaultKdf(vaultKdf, used);
      if (pk && !sameKdf) {
        options.onWarning?.('the key derivation parameters of a location record differ from the vault head’s');
      }
      const sealingKey =
        newPassphrase !== null
          ? await passphraseKey(newPassphrase, vaultKdf.salt, vaultKdf.params)
          : pk && !sameKdf && 'passphrase' in secret
            ? await passphraseKey(secret.passphrase, vaultKdf.salt, vaultKdf.params)
            : pk;
      const fresh: Profile = {
        ...profile,
        kdf: vaultKdf.params,
        salt: vaultKdf.salt,
        keyPin: { key: recovered!.pin, generation: head.generation, threshold: head.policy.threshold },
        logPublicKey: head.logPublicKey,
        lastHeadCounter: head.counter,
        policy: head.policy,
        locations: all.map((l) => {
          const learned = fromHead.get(l.id);
          if (learned) return learned;
          const given = twinIds.has(l.id) ? undefined : matched.find((g) => g.id === l.id);
          return {
            id: l.id,
            name: l.name,
            kind: l.kind,
            spec: given?.parsed.spec ?? l.display,
            sealedSecrets: given && sealingKey ? sealSecrets(given.parsed.secrets, sealingKey, vaultId, l.id) : null,
            lastSeen: given ? nowIso() : null,
          };
        }),
      };
      const vault = newState(dir, fresh, all, options);
      // Given locations the vault does not use from here (twins, unreadable records) are
      // closed: an open SSH session would keep the process alive.
      await closeNodes(given.filter((g) => !all.some((l) => l.node === g.node)).map((g) => g.node));
      vault.keys = keys;
      vault.currentHead = head;
      vault.vk = new Uint8Array(vk);
      vault.pk = sealingKey;
      if (sealingKey !== pk) wipe(pk);
      // Named as the head names them: a SPEC without #NAME was called loc1, loc2, ... above.
      const reached = all.filter((l) => matched.some((g) => g.id === l.id)).map((l) => l.name);
      await audit(vault, { action: 'open', file: null, outcome: 'ok', locations: reached });
      if (newPassphrase !== null) {
        await redeal(vault);
      } else {
        await commit(vault, (h) => h);
      }
      return vault;
    } finally {
      wipe(vk);
    }
  } catch (err) {
    await closeNodes(opened);
    throw err;
  }
}

/**
 * A failed open from a new machine is an access request too. The machine knows no vault key
 * yet, so the entry is sealed to the log key the location records name (most common first);
 * the profile stays unwritten, so nothing is attached.
 */
async function logFailedOpen(
  probe: VaultState,
  records: readonly (VaultRecord | null)[],
  vaultId: string,
  err: unknown,
): Promise<void> {
  const keys = new Map<string, { key: Uint8Array; count: number }>();
  for (const r of records) {
    if (r?.vaultId !== vaultId || !r.logPublicKey) continue;
    const id = Buffer.from(r.logPublicKey).toString('hex');
    keys.set(id, { key: r.logPublicKey, count: (keys.get(id)?.count ?? 0) + 1 });
  }
  const logKey = [...keys.values()].sort((a, b) => b.count - a.count)[0]?.key;
  if (!logKey) return;
  useLogKey(probe, logKey);
  await audit(
    probe,
    {
      action: 'open',
      file: null,
      outcome: err instanceof ShardvaultError && err.code === 'auth' ? 'denied' : 'failed',
      locations: probe.current.map((l) => l.name),
    },
    { persist: false },
  ).catch(() => undefined);
}

/** KDF parameter sets that location records offer, most common first; at most three are tried. */
function kdfChoices(records: readonly VaultRecord[]): VaultKdf[] {
  const seen = new Map<string, { kdf: VaultKdf; count: number }>();
  for (const r of records) {
    const id = `${r.kdf.logN}/${r.kdf.r}/${r.kdf.p}/${Buffer.from(r.salt).toString('hex')}`;
    const entry = seen.get(id) ?? { kdf: { params: r.kdf, salt: r.salt }, count: 0 };
    entry.count++;
    seen.set(id, entry);
  }
  return [...seen.values()]
    .sort((a, b) => b.count - a.count)
    .slice(0, 3)
    .map((e) => e.kdf);
}
