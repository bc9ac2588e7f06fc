/** Creating a vault (init): its locations checked and prepared, the key dealt, the first head committed. */
import { engineConfig } from '../../config';
import { randomBytes } from 'node:crypto';
import { wipe } from '../../crypto/bytes';
import { DEFAULT_KDF, type KdfParams } from '../../crypto/kdf';
import { generateX25519 } from '../../crypto/sealed-box';
import { LocationsError, OfflineError, ShardvaultError, UsageError } from '../../errors';
import { type Head, type Policy } from '../../format/head';
import { encodeVaultRecord, ID_BYTES, MAX_SEGMENT, MIN_SEGMENT, PATHS, type VaultRecord } from '../../format/records';
import { KINDS } from '../../storage/kinds';
import { createNode, type LocationGiven } from '../../storage/open';
import { nameSpecs, pinHostKeys, sealSecrets, askKeyPassphrases } from '../locations';
import { readVaultRecord } from '../checked-node';
import { createRootOf, type LocationHealth } from '../../storage/node';
import { ZERO_HASH } from '../audit';
import { dealShares, deriveVaultKeys, keyPin, newRecoveryCode, newVaultKey, passphraseKey, recoveryKey } from '../keys';
import { checkPolicy, sharesLocations, type PolicyNumbers } from '../policy';
import { domainField, domainWarnings, policyFromDomains, readDomain, shareGroups } from '../domains';
import { loadProfile, newDevice, type Profile } from '../profile';
import {
  closeNodes,
  newState,
  nowIso,
  DEFAULT_SEGMENT,
  type Location,
  type VaultOptions,
  type VaultState,
} from './state';
import { commit } from './head-store';
import { audit } from './access-log';

export interface CreateOptions extends VaultOptions {
  /** SPECs (the CLI) or locations read from a form's fields (storage/open.ts readLocation). */
  readonly locations: readonly LocationGiven[];
  readonly policy: { survive: number; secretAgainst: number } | PolicyNumbers;
  readonly passphrase: string;
  readonly kdf?: KdfParams;
  readonly segmentSize?: number;
  /** Asked before making a missing local folder (its parent exists); without it none is made.
   * A missing SFTP or WebDAV folder is made without asking (StorageNode.createRoot). */
  readonly confirmCreateFolder?: (location: { name: string; display: string }) => Promise<boolean>;
  /** Failure domains by location name (init's --domain NAME=DOMAIN, the first run's picker). */
  readonly domains?: Readonly<Record<string, string>>;
  /** Failure domains by position, as the first run gives them ('' for none): beside `domains`. */
  readonly domainAt?: readonly string[];
}

/** init's domains by location name, each checked, every name one of the new locations. */
function domainsByName(
  given: Readonly<Record<string, string>>,
  locations: readonly { name: string }[],
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, text] of Object.entries(given)) {
    if (!locations.some((l) => l.name === name))
      throw new UsageError(`--domain ${name}=...: no location is named ${name}`);
    const domain = readDomain(text);
    if (domain !== undefined) out.set(name, domain);
  }
  return out;
}

const newId = (): string => randomBytes(ID_BYTES).toString('hex');

export async function createVault(
  dir: string,
  opts: CreateOptions,
): Promise<{ vault: VaultState; recoveryCode: string; warnings: string[]; madeFolders: string[] }> {
  if (await loadProfile(dir)) throw new ShardvaultError('exists', `the profile in ${dir} already has a vault`);
  if (opts.locations.length < 2) {
    throw new ShardvaultError(
      'policy',
      'a vault needs at least two locations: one location alone would hold every key share',
    );
  }
  const parsed = await askKeyPassphrases(
    await pinHostKeys(nameSpecs(opts.locations, 0, [], opts.allowInsecureHttp), opts.confirmHostKey),
    opts.askKeyPassphrase,
    engineConfig().env,
  );
  const m = parsed.length;
  const domains = domainsByName(opts.domains ?? {}, parsed);
  opts.domainAt?.forEach((text, i) => {
    const domain = readDomain(text);
    if (domain !== undefined && parsed[i]) domains.set(parsed[i].name, domain);
  });
  const ids = parsed.map(() => newId());
  const grouped = parsed.map((p, i) => ({ id: ids[i]!, name: p.name, ...domainField(domains.get(p.name)) }));
  const numbers =
    'survive' in opts.policy ? policyFromDomains(grouped, opts.policy.survive, opts.policy.secretAgainst) : opts.policy;
  checkPolicy(numbers, m);
  const segmentSize = opts.segmentSize ?? DEFAULT_SEGMENT;
  if (!Number.isSafeInteger(segmentSize) || segmentSize < MIN_SEGMENT || segmentSize > MAX_SEGMENT) {
    throw new UsageError(`--segment-size must be between ${MIN_SEGMENT} and ${MAX_SEGMENT} bytes`);
  }
  const warnings: string[] = [];
  if (sharesLocations(numbers.total, numbers.replicas, m)) {
    warnings.push(
      `${numbers.total} shards × ${numbers.replicas} copies over ${m} locations: some locations hold more than one shard of a file`,
    );
  }
  warnings.push(...domainWarnings(grouped, numbers));
  const policy: Policy = { ...numbers, segmentSize };
  const locations: Location[] = parsed.map((p, i) => ({
    id: ids[i]!,
    name: p.name,
    kind: p.kind,
    display: p.display,
    node: createNode(p, p.secrets, { env: engineConfig().env }),
  }));
  // A create that fails closes its connections: an open SSH session would keep the process alive.
  try {
    const health = await Promise.all(locations.map((l) => l.node.health()));
    const madeFolders = await makeMissingRoots(locations, health, opts.confirmCreateFolder);
    const down = locations.flatMap((l, i) => (health[i]!.reachable ? [] : [i]));
    if (down.length) {
      throw new LocationsError(
        down,
        new ShardvaultError(
          'unavailable',
          `every location must be reachable to create a vault: ${down
            .map((i) => `${locations[i]!.name} (${health[i]!.error ?? 'unreachable'})`)
            .join(', ')}`,
        ),
      );
    }
    for (const [i, l] of locations.entries()) {
      if (await l.node.stat(PATHS.vault))
        throw new LocationsError([i], new ShardvaultError('exists', `${l.name} (${l.display}) already holds a vault`));
    }

    const vaultId = newId();
    const kdf = opts.kdf ?? DEFAULT_KDF;
    const salt = new Uint8Array(randomBytes(32));
    const recoveryCode = newRecoveryCode();
    const vk = newVaultKey();
    const pk = await passphraseKey(opts.passphrase, salt, kdf);
    const rk = recoveryKey(recoveryCode, vaultId);
    const created = nowIso();
    const logPair = generateX25519();
    const device = newDevice();
    try {
      for (const [i, l] of locations.entries()) {
        // None held a record a moment ago: one there now was written by an earlier location
        // of this loop, so both addresses reach the same storage (a link, a second mount, one
        // bucket twice). Two such "locations" would overwrite each other's key share.
        if (await l.node.stat(PATHS.vault)) {
          const same = await sameStorageAs(l, locations.slice(0, i));
          await Promise.all(locations.slice(0, i).map((w) => w.node.delete(PATHS.vault).catch(() => undefined)));
          throw new LocationsError(
            same === null ? [i] : [same, i],
            new UsageError(
              same === null
                ? `${l.name} (${l.display}) gained a vault record while this vault was being created: is another init running there?`
                : `${locations[same]!.name} (${locations[same]!.display}) and ${l.name} (${l.display}) are the same storage: ` +
                    'give each location a folder, server path or bucket of its own',
            ),
          );
        }
        const record: VaultRecord = {
          vaultId,
          locationId: l.id,
          kdf,
          salt,
          created,
          logPublicKey: logPair.publicKey,
        };
        await l.node.put(PATHS.vault, encodeVaultRecord(record));
      }
      const shares = await dealShares(
        vk,
        {
          vaultId,
          generation: 1,
          threshold: numbers.threshold,
          locationIds: locations.map((l) => l.id),
          groups: shareGroups(grouped, numbers.threshold),
        },
        pk,
        rk,
      );
      await Promise.all(locations.map((l) => l.node.put(PATHS.keyShare(1), shares.records.get(l.id)!)));
      const profile: Profile = {
        vaultId,
        device,
        kdf,
        salt,
        logPublicKey: logPair.publicKey,
        lastHeadCounter: 0,
        locations: locations.map((l, i) => ({
          id: l.id,
          name: l.name,
          kind: l.kind,
          spec: parsed[i]!.spec,
          sealedSecrets: sealSecrets(parsed[i]!.secrets, pk, vaultId, l.id),
          lastSeen: created,
          ...domainField(domains.get(l.name)),
        })),
        logTip: { seq: 0, hash: ZERO_HASH },
        policy,
        keyPin: { key: keyPin(vk, vaultId), generation: 1, threshold: numbers.threshold },
      };
      const vault = newState(dir, profile, locations, opts);
      vault.keys = deriveVaultKeys(vk, vaultId);
      vault.vk = new Uint8Array(vk);
      vault.pk = new Uint8Array(pk);
      const head: Head = {
        vaultId,
        counter: 0,
        generation: 1,
        policy,
        locations: locations.map(({ id, name, kind, display }, i) => ({
          id,
          name,
          kind,
          display,
          spec: parsed[i]!.spec,
          ...domainField(domains.get(name)),
        })),
        files: [],
        tombstones: [],
        logPublicKey: logPair.publicKey,
        logPrivateKey: logPair.privateKey,
        recoveryKey: new Uint8Array(rk),
        logAnchors: [],
        updated: created,
        dealId: shares.dealId,
        kdf: { params: kdf, salt },
      };
      vault.currentHead = head;
      await audit(vault, { action: 'init', file: null, outcome: 'ok', locations: locations.map((l) => l.name) });
      await commit(vault, (h) => h);
      return { vault, recoveryCode, warnings, madeFolders };
    } finally {
      wipe(vk, pk, rk);
    }
  } catch (err) {
    await closeNodes(locations.map((l) => l.node));
    throw err;
  }
}

/**
 * init makes the last folder of a location that is not there (StorageNode.createRoot): a
 * server's without asking, a local one only when `confirm` says yes (a missing folder on a
 * disk may be a disk that is not mounted). `health` is updated for the folders made; a
 * location that can't be reached stays as it was, and the caller reports it.
 */
async function makeMissingRoots(
  locations: readonly Location[],
  health: LocationHealth[],
  confirm: CreateOptions['confirmCreateFolder'],
): Promise<string[]> {
  const made: string[] = [];
  const refused: { index: number; error: ShardvaultError }[] = [];
  for (const [i, l] of locations.entries()) {
    if (health[i]!.reachable) continue;
    const ask =
      KINDS[l.kind].capabilities.createRoot === 'ask'
        ? () => (confirm ? confirm({ name: l.name, display: l.display }) : Promise.resolve(false))
        : undefined;
    try {
      if ((await createRootOf(l.node, ask)) !== 'created') continue;
    } catch (err) {
      if (err instanceof OfflineError) continue;
      if (!(err instanceof ShardvaultError)) throw err;
      // Every folder that can't be made is said at once, each with its location's name.
      refused.push({ index: i, error: err });
      continue;
    }
    made.push(l.display);
    health[i] = await l.node.health();
  }
  if (refused.length > 0) {
    const words = refused.map((r) => `${locations[r.index]!.name}: ${r.error.message}`).join('; ');
    throw new LocationsError(
      refused.map((r) => r.index),
      new ShardvaultError(refused[0]!.error.code, words),
    );
  }
  return made;
}

/** Which of `earlier` wrote the vault record `l` now shows (its index), or null. */
async function sameStorageAs(l: Location, earlier: readonly Location[]): Promise<number | null> {
  try {
    const record = await readVaultRecord(l.node);
    const at = earlier.findIndex((e) => e.id === record.locationId);
    return at === -1 ? null : at;
  } catch {
    return null;
  }
}
