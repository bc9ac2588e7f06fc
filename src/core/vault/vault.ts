/**
 * A vault session: the locations of this profile, unlocking, the vault head, and the
 * audit log. File operations (files.ts) stand on it. One Vault per process and profile;
 * callers hold the profile lock (profile.ts) for the life of a command.
 */
import { engineConfig } from '../config';
import { randomBytes } from 'node:crypto';
import type { AccessAction, AccessOutcome, ProgressEvent } from '../../shared/api';
import { plural } from '../../shared/format';
import { equalBytes, fromHex, utf8, wipe } from '../crypto/bytes';
import { DEFAULT_KDF, type KdfParams } from '../crypto/kdf';
import { generateX25519 } from '../crypto/sealed-box';
import { AuthError, LocationsError, NotFoundError, OfflineError, ShardvaultError, UsageError } from '../errors';
import { decodeHead, encodeHead, type Head, type LocationEntry, type Policy, type VaultKdf } from '../format/head';
import {
  decodeKeyRotation,
  decodeKeyShare,
  encodeVaultRecord,
  ID_BYTES,
  KEY_ROTATION_BYTES,
  isFormatObjectName,
  KEY_SHARE_BYTES,
  KEY_SHARE_BYTES_V1,
  isDeviceHeadName,
  keyRotationGeneration,
  keyShareGeneration,
  MAX_HEAD_BYTES,
  MAX_SEGMENT,
  MIN_SEGMENT,
  PATHS,
  type KeyShareRecord,
  type VaultRecord,
} from '../format/records';
import { KINDS } from '../storage/kinds';
import { createNode, displaySpec, sftpTarget, type LocationGiven, type LocationSecrets } from '../storage/open';
import {
  nameSpecs,
  headSpec,
  locationFromHead,
  nodeFor,
  plainHttpWarning,
  openSecrets,
  pinHostKeys,
  sealSecrets,
  UnavailableNode,
  askKeyPassphrases,
  type AskKeyPassphrase,
  type ConfirmHostKey,
} from './locations';
import { readVaultRecord } from './checked-node';
import { createRootOf, readObject, type LocationHealth, type StorageNode } from '../storage/node';
import { encodeLogEntry, ZERO_HASH, type AuditEvent } from './audit';
import {
  dealShares,
  deriveVaultKeys,
  keyFingerprint,
  keyPin,
  keyShareIsSound,
  newRecoveryCode,
  newVaultKey,
  passphraseKey,
  recoverVaultKey,
  recoveryKey,
  signRotation,
  wipeVaultKeys,
  type KeyTrust,
  type RecoveredKey,
  type ShareFromLocation,
  type UnlockSecret,
  type VaultKeys,
} from './keys';
import { checkPolicy, sharesLocations, survivesLosses, type PolicyNumbers } from './policy';
import { mergeHeads, sameContent } from './merge';
import {
  domainField,
  domainKeyFor,
  domainsSurvived,
  domainWarnings,
  placeInDomains,
  policyFromDomains,
  readDomain,
  shareGroups,
  type DomainLocation,
} from './domains';
import { loadProfile, newDevice, saveProfile, type Profile, type ProfileLocation } from './profile';

export const DEFAULT_SEGMENT = 4 * 1024 * 1024;

export interface Location {
  readonly id: string;
  readonly name: string;
  readonly kind: LocationEntry['kind'];
  readonly display: string;
  readonly node: StorageNode;
}

export type Secret = { passphrase: string } | { recoveryCode: string };

export interface VaultOptions {
  onProgress?: (event: ProgressEvent) => void;
  onWarning?: (message: string) => void;
  /** Asked before trusting an SSH host key seen for the first time (init, open, location add). */
  confirmHostKey?: ConfirmHostKey;
  /** Asked for the passphrase of a new SFTP location's encrypted key (sealed like a password). */
  askKeyPassphrase?: AskKeyPassphrase;
  /** New locations (init, open, location add) may send a WebDAV password over plain http to
   * another machine (--allow-insecure-http); refused otherwise. */
  allowInsecureHttp?: boolean;
  /** Credentials a front end kept from an earlier unlock (by location id), so a locked vault
   * can still reach locations whose credentials the profile seals under the passphrase. */
  keptCredentials?: ReadonlyMap<string, LocationSecrets>;
  /**
   * Asked once when the profile's sealed credentials do not open under the passphrase given
   * (it was changed on another device): the passphrase they were sealed under, or null to
   * refuse. Once the vault unlocks with the new one, they are sealed again under it.
   */
  askOldPassphrase?: () => Promise<string | null>;
}

/** What a re-deal seals the new shares under when not the vault's current secrets (a passphrase change). */
interface Resealing {
  readonly pk: Uint8Array;
  readonly rk: Uint8Array;
  /** Older shares go as soon as every location that answered holds the new deal. */
  readonly retireWhenReachable: boolean;
  /** Runs once the new shares are written, before the head that names them is committed. */
  /** Called once the new shares are written, before the head names them: `reached` holds them. */
  readonly beforeCommit?: (reached: readonly string[]) => Promise<void> | void;
}

export interface RedealOutcome {
  /** Locations that took the new deal. */
  readonly reached: readonly string[];
  /** Locations that could not be reached: they get the deal when they are back. */
  readonly away: readonly string[];
  /** Whether the older deals were deleted (from the locations that took the new one). */
  readonly retired: boolean;
}

export interface PassphraseChange extends RedealOutcome {
  /** The new recovery code (with newRecoveryCode), else null: the old one keeps working. */
  readonly recoveryCode: string | null;
}

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
}

export interface AttachOptions extends VaultOptions {
  /** The vault key fingerprint from the recovery kit: the key recovered must have it. */
  readonly expectFingerprint?: string;
  /** What the opened vault reaches each location through: a given one (by its name) or one
   * the head records (null). The recovery drill's open (drill.ts) reads through it and keeps
   * every write in memory. */
  readonly wrapNode?: (node: StorageNode, given: string | null) => StorageNode;
}

export interface Settled<T> {
  readonly location: Location;
  readonly value?: T;
  readonly error?: Error;
}

const nowIso = (): string => new Date().toISOString();

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

/** The profile's locations with the domains a head gives them (status reads them while locked). */
function domainsFromHead(locations: readonly ProfileLocation[], head: Head): ProfileLocation[] {
  return locations.map((l) => {
    const { domain: _old, ...rest } = l;
    return { ...rest, ...domainField(head.locations.find((e) => e.id === l.id)?.domain) };
  });
}

/** Why a server named by an older head (without its address) can't be used on this device. */
const UNKNOWN_ADDRESS =
  'this device does not have its full address yet: give it here with its address, or wait until a device that has it changes the vault';

/** A location may list at most this many device heads; more is a lie, and the rest are left unread. */
const MAX_DEVICE_HEADS = 1024;
/** Objects under keys/ read at most per location (shares of live generations and rotation records). */
const MAX_KEY_OBJECTS = 4096;

/** No reachable location holds a head that opens under the recovered vault key. */
class NoHeadError extends ShardvaultError {
  constructor() {
    super('unavailable', 'no location holds a readable vault head');
  }
}
const newId = (): string => randomBytes(ID_BYTES).toString('hex');

/**
 * PK derived ahead of the unlock that follows (so scrypt runs once), with the passphrase it
 * came from as NFC UTF-8 bytes, to tell the same passphrase when it comes again. Bytes, not
 * the string: lock() can wipe bytes (docs/SECURITY.md, "Keys").
 */
interface PreKey {
  readonly passphrase: Uint8Array;
  readonly pk: Uint8Array;
}

const preKeyFor = (passphrase: string, pk: Uint8Array): PreKey => ({
  passphrase: utf8(passphrase.normalize('NFC')),
  pk,
});

export interface PassphraseChangeOptions {
  readonly newRecoveryCode?: boolean;
  readonly onRecoveryCode?: (code: string) => Promise<void> | void;
  /** The passphrase the user typed to confirm the change: it must be the current one. */
  readonly current?: string;
}

export class Vault {
  private keys: VaultKeys | null = null;
  /** VK and, when unlocked with the passphrase, PK: kept while unlocked for re-deals. */
  private vk: Uint8Array | null = null;
  private pk: Uint8Array | null = null;
  private preKey: PreKey | null = null;
  private rotating = false;
  /** Names of the locations whose key shares the last unlock read (for its access request). */
  private sharesFrom: readonly string[] = [];
  private currentHead: Head | null = null;
  private seen = new Map<string, string>();
  private pending: {
    action: AccessAction;
    file: string | null;
    detail: string | null;
    used: Set<string>;
    logged: boolean;
  } | null = null;
  /** Nodes of locations taken off the list (a removed location is emptied after): closed with the vault. */
  private retired: StorageNode[] = [];
  /** Credentials opened under an older passphrase (changed on another device): sealed again at unlock. */
  private staleSeals: Map<string, LocationSecrets> | null = null;
  /** What key shares each location that answered held at the last unlock (catchUpKeyShares). */
  private heldShares = new Map<string, readonly KeyShareRecord[]>();
  /** The generation the last unlock opened, until a writing command finishes a change with it. */
  private openedGeneration: number | null = null;

  private constructor(
    readonly dir: string,
    private profile: Profile,
    private current: readonly Location[],
    readonly options: VaultOptions,
  ) {}

  // ------------------------------------------------------------------ opening

  /** The vault of the profile in `dir`, locked. NotFoundError when the profile has none. */
  static async load(dir: string, options: VaultOptions = {}, passphrase?: string): Promise<Vault> {
    const profile = await loadProfile(dir);
    if (!profile) {
      throw new NotFoundError(
        `no vault in ${dir}: create one with \`shardvault init\` or attach one with \`shardvault open\``,
      );
    }
    // Sealed location credentials need the passphrase before anything can be fetched; the
    // key is kept for the unlock that follows, so scrypt runs once.
    const pk =
      passphrase && profile.locations.some((l) => l.sealedSecrets)
        ? await passphraseKey(passphrase, profile.salt, profile.kdf)
        : null;
    let locations: Location[];
    let stale: Map<string, LocationSecrets> | null = null;
    try {
      stale = pk ? await openStaleSeals(profile, pk, options.askOldPassphrase, options.keptCredentials) : null;
      locations = profile.locations.map((l) => ({
        id: l.id,
        name: l.name,
        kind: l.kind,
        display: displaySpec(l),
        node: nodeFor(
          l,
          profile.vaultId,
          stale?.has(l.id) ? null : pk,
          stale?.get(l.id) ?? options.keptCredentials?.get(l.id) ?? null,
        ),
      }));
    } catch (err) {
      wipe(pk);
      throw err;
    }
    const vault = new Vault(dir, profile, locations, options);
    vault.staleSeals = stale;
    if (pk && passphrase) vault.preKey = preKeyFor(passphrase, pk);
    for (const l of profile.locations) {
      const warning = plainHttpWarning(l);
      if (warning?.legacy) options.onWarning?.(warning.message);
    }
    return vault;
  }

  static async create(
    dir: string,
    opts: CreateOptions,
  ): Promise<{ vault: Vault; recoveryCode: string; warnings: string[]; madeFolders: string[] }> {
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
    const ids = parsed.map(() => newId());
    const grouped = parsed.map((p, i) => ({ id: ids[i]!, name: p.name, ...domainField(domains.get(p.name)) }));
    const numbers =
      'survive' in opts.policy
        ? policyFromDomains(grouped, opts.policy.survive, opts.policy.secretAgainst)
        : opts.policy;
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
          throw new LocationsError(
            [i],
            new ShardvaultError('exists', `${l.name} (${l.display}) already holds a vault`),
          );
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
        const vault = new Vault(dir, profile, locations, opts);
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
        await vault.audit({ action: 'init', file: null, outcome: 'ok', locations: locations.map((l) => l.name) });
        await vault.commit((h) => h);
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
   * Attaches a fresh profile to a vault found on the given locations (a new machine). With
   * a recovery code, `newPassphrase` replaces the forgotten one: a new generation of key
   * shares is dealt under it.
   */
  static async attach(
    dir: string,
    specs: readonly LocationGiven[],
    secret: Secret,
    newPassphrase: string | null,
    options: AttachOptions = {},
  ): Promise<Vault> {
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
            return await Vault.attach(
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
      let probe: Vault | null = null;
      let recovered: (RecoveredKey & { pk: Uint8Array | null }) | null = null;
      let used = kdfCandidates[0]!;
      for (const candidate of kdfCandidates) {
        probe = new Vault(dir, probeProfile(candidate), locations, options);
        try {
          recovered = await probe.recover(secret, false, { expectFingerprint: options.expectFingerprint });
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
        const head = await probe!.loadHead();
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
        const vault = new Vault(dir, fresh, all, options);
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
        await vault.audit({ action: 'open', file: null, outcome: 'ok', locations: reached });
        if (newPassphrase !== null) {
          await vault.redeal();
        } else {
          await vault.commit((h) => h);
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

  // ------------------------------------------------------------------ state

  get vaultId(): string {
    return this.profile.vaultId;
  }

  get policy(): Policy {
    return this.currentHead?.policy ?? this.profile.policy;
  }

  /** The vault's locations as this profile knows them. */
  get locations(): readonly Location[] {
    return this.current;
  }

  /** What a new location's record must say (vault.ts writes it at creation, location add later). */
  locationRecord(locationId: string): VaultRecord {
    return {
      vaultId: this.profile.vaultId,
      locationId,
      kdf: this.profile.kdf,
      salt: this.profile.salt,
      created: nowIso(),
      logPublicKey: this.currentHead?.logPublicKey ?? this.profile.logPublicKey,
    };
  }

  /** Seals credentials for the profile; needs the vault unlocked with its passphrase. */
  sealCredentials(secrets: LocationSecrets | null, locationId: string): string | null {
    if (!secrets) return null;
    if (!this.pk) throw new AuthError('storing credentials needs the vault unlocked with its passphrase');
    return sealSecrets(secrets, this.pk, this.profile.vaultId, locationId);
  }

  /** The credentials the profile seals, opened (for a front end's own keystore copy). Unlocked with the passphrase only. */
  openedCredentials(): Map<string, LocationSecrets> {
    if (!this.pk) throw new AuthError('the credentials open with the passphrase only');
    const out = new Map<string, LocationSecrets>();
    for (const l of this.profile.locations) {
      if (l.sealedSecrets) out.set(l.id, openSecrets(l.sealedSecrets, this.pk, this.profile.vaultId, l.id));
    }
    return out;
  }

  /** Replaces the location list (location add / remove); the caller commits the head. */
  async setLocations(locations: readonly Location[], entries: readonly ProfileLocation[]): Promise<void> {
    this.retired.push(...this.current.filter((l) => !locations.some((n) => n.node === l.node)).map((l) => l.node));
    this.current = locations;
    this.profile = { ...this.profile, locations: entries };
    await this.saveProfile();
  }

  /** Why a location deserves a warning (a password over plain http), or null. */
  locationWarning(id: string): string | null {
    const entry = this.profile.locations.find((l) => l.id === id);
    return entry ? (plainHttpWarning(entry)?.message ?? null) : null;
  }

  /** Whether this device has yet to sign in to the location (learned from the head). */
  needsSignIn(locationId: string): boolean {
    return this.profile.locations.find((l) => l.id === locationId)?.needsSignIn === true;
  }

  profileLocations(): readonly ProfileLocation[] {
    return this.profile.locations;
  }

  /** This device's setting for how many locations a new file needs shards on; null: the default. */
  get happy(): number | null {
    return this.profile.happy ?? null;
  }

  async setHappy(happy: number | null): Promise<void> {
    this.profile = { ...this.profile, happy };
    await this.saveProfile();
  }

  get deviceId(): string {
    return this.profile.device.id;
  }

  get deviceName(): string {
    return this.profile.device.name;
  }

  get unlocked(): boolean {
    return this.keys !== null;
  }

  lastSeen(locationId: string): string | null {
    return this.seen.get(locationId) ?? this.profile.locations.find((l) => l.id === locationId)?.lastSeen ?? null;
  }

  /** The keys derived from VK; throws when locked. */
  requireKeys(): VaultKeys {
    if (!this.keys) throw new AuthError('the vault is locked');
    return this.keys;
  }

  head(): Head {
    if (!this.currentHead) throw new AuthError('the vault is locked');
    return this.currentHead;
  }

  locationById(id: string): Location | undefined {
    return this.locations.find((l) => l.id === id);
  }

  /** Whether a location's key share of the current generation is whole (repair). */
  keyShareSound(record: KeyShareRecord, locationId: string): boolean {
    if (!this.vk) throw new AuthError('the vault is locked');
    return keyShareIsSound(record, {
      vaultId: this.profile.vaultId,
      locationId,
      vk: this.vk,
      pk: this.pk,
      rk: this.head().recoveryKey,
      dealId: this.head().dealId,
    });
  }

  /** Locations whose shared vault head is missing, damaged, older than the current one, or lacks another device's change. */
  async staleHeads(): Promise<Location[]> {
    const current = this.head();
    const stale = (shared: Head | null): boolean =>
      !shared || shared.counter < current.counter || !sameContent(shared, current);
    return (await this.readHeads()).filter((r) => stale(r.shared)).map((r) => r.location);
  }

  /**
   * The vault's locations with their failure domains: the head's word once unlocked, else
   * what this profile last read from a head.
   */
  domainLocations(): DomainLocation[] {
    const head = this.currentHead;
    return this.locations.map((l) => {
      const known = head
        ? head.locations.find((e) => e.id === l.id)
        : this.profile.locations.find((e) => e.id === l.id);
      return { id: l.id, name: l.name, ...domainField(known?.domain) };
    });
  }

  /** What the domains cost the policy, in words (domains.ts domainWarnings); empty when nothing. */
  domainWarnings(): string[] {
    return domainWarnings(this.domainLocations(), this.policy);
  }

  /** How many failure domains (a location without one is its own) every file survives losing. */
  domainsSurvive(): number {
    const p = this.policy;
    const located = this.domainLocations();
    const keyOf = domainKeyFor(located);
    const ids = located.map((l) => l.id);
    return Math.max(
      0,
      domainsSurvived(placeInDomains(p.total, Math.min(p.replicas, ids.length), ids, keyOf, p.data), p.data, keyOf),
    );
  }

  /** How many locations the vault's placement survives losing (the policy's X). */
  policySurvives(): number {
    const p = this.policy;
    const located = this.domainLocations();
    const ids = located.map((l) => l.id);
    const placed = placeInDomains(p.total, Math.min(p.replicas, ids.length), ids, domainKeyFor(located), p.data);
    return Math.max(0, survivesLosses(placed, p.data));
  }

  // ------------------------------------------------------------------ unlocking

  /**
   * `oldPassphrase`: the passphrase this profile's credentials were sealed under before a
   * change on another device (a front end asked for it); without it, options.askOldPassphrase.
   */
  async unlock(secret: Secret, opts: { oldPassphrase?: string } = {}): Promise<void> {
    if (this.keys) return;
    if ('passphrase' in secret) await this.openSealedLocations(secret.passphrase, opts.oldPassphrase);
    // A key rotation cut short can leave a newest generation whose head was never written:
    // then the generation below, whose head is intact, is the vault.
    let below: number | undefined;
    for (;;) {
      const { vk, pk, generation, pin } = await this.recover(secret, true, { below });
      this.vk = vk;
      this.pk = pk;
      try {
        this.keys = deriveVaultKeys(vk, this.profile.vaultId);
        this.currentHead = await this.loadHead();
        // Only a head sealed under the key moves the pin: a rotation is followed once its
        // head is read, never on the word of key shares alone.
        this.pinKey(pin);
        await this.followHeadLocations();
        // Every unlock is an access request, whatever the front end (failed ones are logged in recover).
        await this.audit({ action: 'unlock', file: null, outcome: 'ok', locations: this.sharesFrom });
        await this.resealStale();
        // Finished by the next writing command (finishKeyShareChange), never by a reader:
        // ls, get, status, verify and log write nothing.
        this.openedGeneration = generation;
        return;
      } catch (err) {
        const retry = err instanceof NoHeadError && generation > 1;
        // lock() wipes every key; PK is kept (copied) for the retry one generation down.
        const keep =
          retry && 'passphrase' in secret && this.pk ? preKeyFor(secret.passphrase, new Uint8Array(this.pk)) : null;
        this.lock();
        this.preKey = keep;
        if (!retry) throw err;
        below = generation;
      }
    }
  }

  /**
   * Locations whose credentials are sealed under the passphrase could not be reached by a
   * vault loaded without it (a UI process loads first, unlocks later): with the passphrase
   * they are opened now, before the key shares are read from them. The passphrase key is
   * kept for recover(), so scrypt runs once; a wrong passphrase opens nothing here and is
   * refused by recover().
   */
  private async openSealedLocations(passphrase: string, oldPassphrase?: string): Promise<void> {
    const sealed = (l: Location): ProfileLocation | null => {
      const entry = this.profile.locations.find((e) => e.id === l.id);
      return l.node instanceof UnavailableNode && entry?.sealedSecrets ? entry : null;
    };
    // Reached through a front end's kept credentials, but sealed under another passphrase
    // (changed on another device): sealed again once unlocked (resealStale).
    const keptOnly = this.options.keptCredentials !== undefined && this.profile.locations.some((l) => l.sealedSecrets);
    if (!this.current.some((l) => sealed(l)) && !keptOnly) return;
    const reuse = this.preKeyMatches(passphrase) ? this.preKey!.pk : null;
    const pk = reuse ?? (await passphraseKey(passphrase, this.profile.salt, this.profile.kdf));
    this.dropPreKey(reuse);
    this.preKey = preKeyFor(passphrase, pk);
    const ask =
      oldPassphrase !== undefined ? () => Promise.resolve<string | null>(oldPassphrase) : this.options.askOldPassphrase;
    const stale = await openStaleSeals(this.profile, pk, ask, this.options.keptCredentials);
    if (stale) this.staleSeals = stale;
    this.current = this.current.map((l) => {
      const entry = sealed(l);
      if (!entry) return l;
      try {
        const old = stale?.get(l.id);
        return {
          ...l,
          node: old ? nodeFor(entry, this.profile.vaultId, null, old) : nodeFor(entry, this.profile.vaultId, pk),
        };
      } catch {
        return l; // not this passphrase's seal: recover() says so
      }
    });
  }

  /**
   * The head is the vault's word on which locations it has. A command killed between
   * committing a location change and saving the profile leaves the two apart, and key shares
   * dealt over the head's list would then miss a location of the profile's, or the other way
   * round. So the profile follows the head: a location the head no longer names is dropped
   * (its removal was committed, here or on another device); one the head names that this
   * profile lacks is reached at the address the head records, as `open` does.
   */
  private async followHeadLocations(): Promise<void> {
    const head = this.head();
    const ids = new Set(head.locations.map((l) => l.id));
    const extra = this.current.filter((l) => !ids.has(l.id));
    const missing = head.locations.filter((e) => !this.current.some((l) => l.id === e.id));
    await this.learnAddresses(head);
    if (extra.length === 0 && missing.length === 0) return;
    for (const l of extra) {
      this.options.onWarning?.(`${l.name} is no longer a location of this vault; dropped from this profile`);
      await l.node.close().catch(() => undefined);
    }
    const vaultId = this.profile.vaultId;
    const learned = missing.map((entry) => ({ entry, ...locationFromHead(entry, vaultId, UNKNOWN_ADDRESS) }));
    const added: Location[] = learned.map(({ entry, node }) => ({
      id: entry.id,
      name: entry.name,
      kind: entry.kind,
      display: entry.display,
      node,
    }));
    this.current = [...this.current.filter((l) => ids.has(l.id)), ...added];
    this.profile = {
      ...this.profile,
      locations: [...this.profile.locations.filter((e) => ids.has(e.id)), ...learned.map((l) => l.profile)],
    };
    await this.saveProfile();
  }

  /**
   * A server this profile knows only by the display of an older head (no host key, no
   * credentials: never usable) takes the address the head now carries, and needs sign-in
   * like one learned on a new machine.
   */
  private async learnAddresses(head: Head): Promise<void> {
    const vaultId = this.profile.vaultId;
    const learned = new Map<string, ReturnType<typeof locationFromHead>>();
    for (const entry of head.locations) {
      const mine = this.profile.locations.find((l) => l.id === entry.id);
      const spec = headSpec(entry);
      if (!mine || spec === null || mine.kind === 'local' || mine.sealedSecrets || mine.needsSignIn) continue;
      if (mine.spec !== entry.display || spec === mine.spec) continue;
      learned.set(entry.id, locationFromHead(entry, vaultId, UNKNOWN_ADDRESS));
    }
    if (learned.size === 0) return;
    for (const l of this.current) if (learned.has(l.id)) await l.node.close().catch(() => undefined);
    this.current = this.current.map((l) => {
      const now = learned.get(l.id);
      return now ? { ...l, node: now.node } : l;
    });
    this.profile = {
      ...this.profile,
      locations: this.profile.locations.map((l) => {
        const now = learned.get(l.id);
        return now ? { ...now.profile, lastSeen: l.lastSeen } : l;
      }),
    };
    await this.saveProfile();
  }

  /** The log key a probe of a new machine seals its failed open to (logFailedOpen). */
  useLogKey(key: Uint8Array): void {
    this.profile = { ...this.profile, logPublicKey: key };
  }

  /** Pins the key this device now trusts, with the head's generation and threshold. */
  private pinKey(pin: Uint8Array = keyPin(this.vk!, this.profile.vaultId)): void {
    const head = this.head();
    this.profile = {
      ...this.profile,
      keyPin: { key: pin, generation: head.generation, threshold: head.policy.threshold },
    };
  }

  /** The fingerprint of the vault key (the recovery kit prints it; `open --expect-fingerprint` checks it). */
  get keyFingerprint(): string | null {
    return this.profile.keyPin ? keyFingerprint(this.profile.keyPin.key) : null;
  }

  /** The locations whose key shares the last unlock read. */
  get unlockedFrom(): readonly string[] {
    return this.sharesFrom;
  }

  /**
   * Wipes every key this vault holds (VK, PK, the keys derived from VK, the head's log and
   * recovery keys, a PK derived ahead and the passphrase bytes kept with it): the buffers are
   * zeroed, not just dropped. Main calls it on lock, on the idle timer, on screen lock and
   * suspend; close() calls it too.
   */
  lock(): void {
    if (this.keys) wipeVaultKeys(this.keys);
    if (this.currentHead) wipe(this.currentHead.logPrivateKey, this.currentHead.recoveryKey);
    wipe(this.vk, this.pk);
    this.dropPreKey(null);
    this.vk = null;
    this.pk = null;
    this.keys = null;
    this.currentHead = null;
    this.staleSeals = null;
  }

  private preKeyMatches(passphrase: string): boolean {
    if (!this.preKey) return false;
    const bytes = utf8(passphrase.normalize('NFC'));
    try {
      return equalBytes(bytes, this.preKey.passphrase);
    } finally {
      wipe(bytes);
    }
  }

  /** Wipes and forgets the PK derived ahead, except `handedOn` (a caller took it over). */
  private dropPreKey(handedOn: Uint8Array | null): void {
    if (!this.preKey) return;
    wipe(this.preKey.passphrase);
    if (this.preKey.pk !== handedOn) wipe(this.preKey.pk);
    this.preKey = null;
  }

  /** Reads every reachable location's key shares and recovers VK, logging a refusal. */
  private async recover(
    secret: Secret,
    logFailure: boolean,
    extra: Pick<KeyTrust, 'below' | 'expectFingerprint'> = {},
  ): Promise<RecoveredKey & { pk: Uint8Array | null }> {
    // One share per location and generation, read under its expected name only; rotation
    // records beside them are checked against the pin in recoverVaultKey, never trusted as read.
    const found = await this.everywhere(async (l) => {
      const listing = await l.node.list(PATHS.keysDir);
      const shares: ShareFromLocation[] = [];
      const rotations: ReturnType<typeof decodeKeyRotation>[] = [];
      for (const object of listing.slice(0, MAX_KEY_OBJECTS)) {
        const generation = keyShareGeneration(object.path);
        try {
          if (generation !== null && object.path === PATHS.keyShare(generation)) {
            if (object.size !== KEY_SHARE_BYTES && object.size !== KEY_SHARE_BYTES_V1) continue;
            const record = decodeKeyShare(await readObject(l.node, object.path, KEY_SHARE_BYTES));
            if (record.generation !== generation) {
              this.options.onWarning?.(
                `${l.name}: ${object.path} holds a key share of generation ${record.generation}`,
              );
              continue;
            }
            shares.push({ locationId: l.id, locationName: l.name, record });
          } else if (keyRotationGeneration(object.path) !== null && object.size === KEY_ROTATION_BYTES) {
            rotations.push(decodeKeyRotation(await readObject(l.node, object.path, KEY_ROTATION_BYTES)));
          }
        } catch (err) {
          this.options.onWarning?.(`${l.name}: ${(err as Error).message}`);
        }
      }
      return { shares, rotations };
    });
    const shares = found.flatMap((f) => f.value?.shares ?? []);
    const rotations = found.flatMap((f) => f.value?.rotations ?? []);
    this.heldShares = new Map(
      found.flatMap((f) => (f.value ? [[f.location.id, f.value.shares.map((x) => x.record)] as const] : [])),
    );
    const reached = found.filter((f) => f.value).map((f) => f.location.name);
    let unlockSecret: UnlockSecret;
    if ('passphrase' in secret) {
      const reuse = this.preKeyMatches(secret.passphrase) ? this.preKey!.pk : null;
      this.dropPreKey(reuse); // a reused PK is handed on: kept as PK below, or wiped
      unlockSecret = {
        kind: 'passphrase',
        key: reuse ?? (await passphraseKey(secret.passphrase, this.profile.salt, this.profile.kdf)),
      };
    } else {
      unlockSecret = { kind: 'recovery', key: recoveryKey(secret.recoveryCode, this.profile.vaultId) };
    }
    let keep = false;
    try {
      const recovered = await recoverVaultKey(this.profile.vaultId, shares, unlockSecret, {
        pin: this.profile.keyPin,
        rotations,
        ...extra,
      });
      for (const r of recovered.refused) {
        this.options.onWarning?.(
          `the key shares at ${r.locations.join(', ')} (generation ${r.generation}) combine to a vault key this device ` +
            'does not trust: a location may be forging key shares; they were not used',
        );
      }
      keep = unlockSecret.kind === 'passphrase';
      this.sharesFrom = recovered.locationIds.map((id) => this.locationById(id)?.name ?? id);
      return { ...recovered, pk: keep ? unlockSecret.key : null };
    } catch (err) {
      if (logFailure && err instanceof ShardvaultError) {
        await this.audit({
          action: 'unlock',
          file: null,
          outcome: err.code === 'auth' ? 'denied' : 'failed',
          locations: reached,
        }).catch(() => undefined);
        await this.saveProfile().catch(() => undefined);
      }
      if (err instanceof ShardvaultError && err.code === 'unavailable') {
        const down = found.filter((f) => f.error).map((f) => `${f.location.name}: ${f.error!.message}`);
        if (down.length) throw new ShardvaultError('unavailable', `${err.message}; unreachable: ${down.join('; ')}`);
      }
      throw err;
    } finally {
      if (!keep) wipe(unlockSecret.key);
    }
  }

  /**
   * Credentials opened under the passphrase this device knew before another device changed
   * it are sealed again under the one the vault just unlocked with (which the key shares
   * proved right), so the old passphrase is asked for once.
   */
  private async resealStale(): Promise<void> {
    const stale = this.staleSeals;
    this.staleSeals = null;
    if (!stale || !this.pk) return;
    const pk = this.pk;
    this.profile = {
      ...this.profile,
      locations: this.profile.locations.map((l) =>
        stale.has(l.id) ? { ...l, sealedSecrets: sealSecrets(stale.get(l.id)!, pk, this.profile.vaultId, l.id) } : l,
      ),
    };
    await this.saveProfile();
    this.options.onWarning?.(
      `the passphrase was changed on another device: the credentials of ${plural(stale.size, 'location')} on this device are now sealed under the new one`,
    );
  }

  /**
   * Finishes what a re-deal left undone, once the vault is unlocked with the passphrase:
   *   - a location away at the last re-deal (a passphrase change) still holds an older deal,
   *     sealed under the old secrets: once it answers again the shares are dealt again over
   *     every location (shares of one deal can't be made for one location alone);
   *   - the shares that opened are of a generation above the head's (a change cut short
   *     before its commit, unlocked with the new passphrase): dealt again and committed;
   *   - the head's deal is on every location and the shares that opened are of it, but older
   *     shares are left (a change cut short while deleting them): they are deleted.
   * Never when the shares that opened are older than the head's deal: that passphrase is the
   * one a change replaced. A failure is a warning; the next unlock or repair tries again.
   */
  /**
   * Finishes what the last unlock found of a key-share change left behind: a location back
   * with an older deal is dealt again, a change cut short before its commit is dealt again,
   * old shares a cut-short change left are retired. Writing commands call it (put, rm,
   * repair, and the app after unlock); readers never do.
   */
  async finishKeyShareChange(): Promise<void> {
    const opened = this.openedGeneration;
    this.openedGeneration = null;
    if (opened !== null && this.keys) await this.catchUpKeyShares(opened);
  }

  private async catchUpKeyShares(opened: number): Promise<void> {
    const head = this.head();
    // Shares of an older deal that opened are under an older passphrase (a change cut short
    // after its commit): dealing under it would undo the change.
    if (!this.pk || opened < head.generation) return;
    const holds = (id: string): boolean | null => {
      const held = this.heldShares.get(id);
      if (held === undefined) return null;
      return held.some((r) => r.generation === head.generation && r.dealId === head.dealId);
    };
    const behind = head.locations.filter((e) => holds(e.id) === false && this.heldShares.get(e.id)!.length > 0);
    try {
      if (behind.length > 0 || opened > head.generation) {
        await this.redeal((h) => h, { pk: this.pk, rk: head.recoveryKey, retireWhenReachable: true });
        this.options.onWarning?.(
          behind.length > 0
            ? `${behind.map((e) => e.name).join(', ')} held an older deal of the key shares (away at the last change): dealt again`
            : 'the last change of the key shares was cut short: dealt again under this passphrase',
        );
        return;
      }
      const older = [...this.heldShares.values()].some((held) => held.some((r) => r.generation < head.generation));
      if (opened === head.generation && older && head.locations.every((e) => holds(e.id) === true)) {
        await this.retireSharesBelow(head.generation);
      }
    } catch (err) {
      this.options.onWarning?.(`finishing the last change of the key shares: ${(err as Error).message}`);
    }
  }

  /**
   * Seals the vault key's shares under a new passphrase (docs/FORMAT.md, "Changing the
   * passphrase"): the same vault key is dealt again at the next generation, sealed under the
   * new PK and under RK (the current recovery code's, or a new one's), written beside the old
   * shares; the head that names the new deal is committed; then the old shares are deleted
   * from every location that took the new one, provided every location that answered did.
   * A change cut short leaves the old shares whole (before the commit) or t new ones (after),
   * so one of the two passphrases always unlocks. `onRecoveryCode` gets a new recovery code
   * once the shares it opens are written, before the commit retires the old code.
   */
  async changePassphrase(newPassphrase: string, opts: PassphraseChangeOptions = {}): Promise<PassphraseChange> {
    const detail = opts.newRecoveryCode ? 'new passphrase and recovery code' : 'new passphrase';
    return this.audited('passphrase', { detail }, async (used) => {
      // Named before the commit, which writes the log entry with the head.
      return this.sealUnderNewPassphrase(newPassphrase, opts, (reached) => {
        for (const name of reached) used.add(name);
      });
    });
  }

  private async sealUnderNewPassphrase(
    newPassphrase: string,
    opts: PassphraseChangeOptions,
    onReached: (reached: readonly string[]) => void,
  ): Promise<PassphraseChange> {
    const head = this.head();
    if (!this.vk || !this.pk)
      throw new AuthError('changing the passphrase needs the vault unlocked with its passphrase');
    if (opts.current !== undefined) {
      const typed = await passphraseKey(opts.current, this.profile.salt, this.profile.kdf);
      const same = equalBytes(typed, this.pk);
      wipe(typed);
      if (!same) throw new AuthError('wrong passphrase');
    }
    const credentials = this.openedCredentials();
    const newPk = await passphraseKey(newPassphrase, this.profile.salt, this.profile.kdf);
    if (equalBytes(newPk, this.pk) && !opts.newRecoveryCode) {
      wipe(newPk);
      throw new UsageError('the new passphrase is the one the vault has');
    }
    const code = opts.newRecoveryCode ? newRecoveryCode() : null;
    const rk = code ? recoveryKey(code, this.profile.vaultId) : new Uint8Array(head.recoveryKey);
    let outcome: RedealOutcome;
    try {
      outcome = await this.redeal((h) => (code ? { ...h, recoveryKey: new Uint8Array(rk) } : h), {
        pk: newPk,
        rk,
        retireWhenReachable: true,
        beforeCommit: (reached) => {
          onReached(reached);
          return code ? opts.onRecoveryCode?.(code) : undefined;
        },
      });
    } catch (err) {
      wipe(newPk);
      throw err;
    } finally {
      wipe(rk);
    }
    const old = this.pk;
    this.dropPreKey(old);
    this.pk = newPk;
    wipe(old);
    const vaultId = this.profile.vaultId;
    this.profile = {
      ...this.profile,
      locations: this.profile.locations.map((l) => {
        const secrets = credentials.get(l.id);
        return secrets ? { ...l, sealedSecrets: sealSecrets(secrets, newPk, vaultId, l.id) } : l;
      }),
    };
    await this.saveProfile();
    return { ...outcome, recoveryCode: code };
  }

  /**
   * Deals a new generation of VK's shares over every location of the vault (after a new
   * passphrase, or over a new set of locations), sealed under PK and under RK (kept in the
   * head), and commits the head that names it (with `change` applied). Old generations are
   * deleted only after that commit, and only once t + X locations hold the new one, so a
   * re-deal cut short at any point never locks the vault out.
   */
  async redeal(change: (head: Head) => Head = (h) => h, sealing: Resealing | null = null): Promise<RedealOutcome> {
    const head = this.head();
    if (!this.vk || !this.pk)
      throw new AuthError('re-dealing the key shares needs the vault unlocked with its passphrase');
    // A session unlocked before another device dealt again (a passphrase change there) holds
    // the old PK: dealing under it would write over the newer deal and undo the change.
    const latest = await this.loadHead().catch(() => null);
    if (latest && latest.generation > head.generation) {
      throw new AuthError(
        'the key shares were dealt again on another device since this one unlocked (the passphrase may have changed): ' +
          'lock and unlock again',
      );
    }
    const generation = head.generation + 1;
    // A change of policy deals for its new threshold: the head it commits names it.
    const threshold = change(head).policy.threshold;
    const dealt = change(head).locations;
    const groups = shareGroups(dealt, threshold);
    const shares = await dealShares(
      this.vk,
      {
        vaultId: this.profile.vaultId,
        generation,
        threshold,
        locationIds: head.locations.map((l) => l.id),
        // Over the domains the change leaves (a location's new domain is dealt with it).
        groups,
      },
      sealing?.pk ?? this.pk,
      sealing?.rk ?? head.recoveryKey,
    );
    const written = await this.everywhere((l) => l.node.put(PATHS.keyShare(generation), shares.records.get(l.id)!));
    const ok = written.filter((w) => w.value !== undefined).length;
    // Locations of one failure domain hold one share between them: what counts towards t is
    // the distinct shares reached, not the locations.
    const groupOf = (id: string): string => groups?.[dealt.findIndex((e) => e.id === id)] ?? id;
    const sharesReached = new Set(written.filter((w) => w.value !== undefined).map((w) => groupOf(w.location.id))).size;
    const away = written.filter((w) => w.error instanceof ShardvaultError && w.error.code === 'offline');
    const outcome: RedealOutcome = {
      reached: written.filter((w) => w.value !== undefined).map((w) => w.location.name),
      away: away.map((w) => w.location.name),
      retired: false,
    };
    if (sharesReached < threshold) {
      throw new ShardvaultError(
        'unavailable',
        groups === undefined
          ? `the new key shares reached ${plural(ok, 'location')}; ${threshold} are needed to unlock with them`
          : `the new key shares reached ${plural(sharesReached, 'failure domain')}; ${threshold} are needed to unlock with them`,
      );
    }
    await sealing?.beforeCommit?.(outcome.reached);
    await this.commit((h) => ({ ...change(h), generation, dealId: shares.dealId }));
    await this.rewriteLocationRecords();
    const safe = Math.min(this.current.length, threshold + this.policySurvives());
    // A new secret retires the old one as soon as every location that answered holds the new
    // deal: a location away now keeps its old share (fewer than t) until it is caught up.
    const everyReachable = ok + away.length === written.length;
    if (sealing?.retireWhenReachable && everyReachable) {
      await this.retireSharesBelow(
        generation,
        written.filter((w) => w.value !== undefined).map((w) => w.location),
      );
      return { ...outcome, retired: true };
    }
    const safeShares = groups === undefined ? 0 : Math.min(new Set(groups).size, threshold + this.domainsSurvive());
    if (ok < safe || sharesReached < safeShares) {
      // Old generations stay: until t + X locations hold the new one, losing some of them
      // must not lock the vault out.
      this.options.onWarning?.(
        `the new key shares reached ${ok} of ${this.current.length} locations; the rest get them when they are back (repair)`,
      );
      return outcome;
    }
    await this.retireSharesBelow(generation);
    return { ...outcome, retired: true };
  }

  /**
   * Deletes key shares of generations below `generation`. Only older key shares go: rotation
   * records stay (a device that missed a rotation follows the chain), and nothing else under
   * keys/ is a name this program made.
   */
  private async retireSharesBelow(generation: number, locations: readonly Location[] = this.locations): Promise<void> {
    await this.everywhere(async (l) => {
      for (const o of await l.node.list(PATHS.keysDir)) {
        const g = keyShareGeneration(o.path);
        if (g !== null && g < generation && o.path === PATHS.keyShare(g)) await l.node.delete(o.path);
      }
    }, locations);
  }

  /**
   * A location's record (shardvault.json) is public and unprotected: one that says other KDF
   * parameters than the sealed head (edited, or older than a change) is written again from
   * the head, so a new machine meets the vault's own parameters first.
   */
  private async rewriteLocationRecords(): Promise<void> {
    const { kdf, logPublicKey } = this.head();
    if (!kdf) return;
    await this.everywhere(async (l) => {
      const record = await readVaultRecord(l.node);
      const same =
        sameVaultKdf({ params: record.kdf, salt: record.salt }, kdf) &&
        record.logPublicKey !== null &&
        Buffer.from(record.logPublicKey).equals(Buffer.from(logPublicKey));
      if (same) return;
      await l.node.put(PATHS.vault, encodeVaultRecord({ ...record, kdf: kdf.params, salt: kdf.salt, logPublicKey }));
    });
  }

  /**
   * Replaces VK with `next` (a location is no longer trusted: its old share must stop
   * counting). The caller has already written every manifest again under `next`'s keys;
   * `change` points the head at them. The new head is committed under the new key before
   * old key shares go, and unlock falls back to an older generation whose head it can read,
   * so a rotation cut short leaves the old vault readable.
   */
  async rotateTo(next: Uint8Array, change: (head: Head) => Head): Promise<void> {
    const old = { vk: this.vk, keys: this.keys };
    if (!old.vk) throw new AuthError('the vault is locked');
    // Devices pinned to the old key follow the new one only on a record signed by the old
    // key. It goes first, to enough locations that any t of them hold it.
    const head = this.head();
    const threshold = change(head).policy.threshold;
    const rotation = signRotation(old.vk, next, this.profile.vaultId, {
      generation: head.generation + 1,
      threshold,
    });
    const signed = await this.everywhere((l) => l.node.put(PATHS.keyRotation(head.generation + 1), rotation));
    const reached = signed.filter((w) => w.value !== undefined).length;
    // Any t locations, under the old threshold or the new one, must hold the record.
    const needed = this.locations.length - Math.min(head.policy.threshold, threshold) + 1;
    if (reached < needed) {
      throw new ShardvaultError(
        'unavailable',
        `the key rotation record reached ${plural(reached, 'location')}; ${needed} are needed before the vault key can change`,
      );
    }
    // Heads under the old key don't open under the new one: expected here, not worth a warning.
    this.rotating = true;
    this.vk = next;
    this.keys = deriveVaultKeys(next, this.profile.vaultId);
    try {
      await this.redeal(change);
    } catch (err) {
      this.rotating = false;
      if (this.keys) wipeVaultKeys(this.keys);
      this.vk = old.vk;
      this.keys = old.keys;
      throw err;
    }
    this.rotating = false;
    wipe(old.vk);
    if (old.keys) wipeVaultKeys(old.keys);
    // Other devices' copies of their heads are under the old key: they no longer open, and
    // what they held is in the head just committed.
    const mine = PATHS.deviceHead(this.profile.device.id);
    await this.everywhere(async (l) => {
      for (const o of await l.node.list(PATHS.headsDir))
        if (o.path !== mine && isFormatObjectName(o.path)) await l.node.delete(o.path);
    });
  }

  // ------------------------------------------------------------------ the vault head

  /**
   * The vault as the reachable locations hold it: the shared head merged with every device's
   * own copy (vault/merge.ts), so a commit another device made at the same moment is not
   * lost. Refuses a vault older than this profile saw.
   */
  private async loadHead(): Promise<Head> {
    const heads = (await this.readHeads()).flatMap((r) => r.heads);
    if (heads.length === 0) throw new NoHeadError();
    const { head, shadowed } = mergeHeads(heads);
    for (const f of shadowed) {
      this.options.onWarning?.(
        `${f.name}: two devices stored this name at the same time; the later one is kept, the other ` +
          `(${f.size} bytes, stored ${f.created}) is no longer listed`,
      );
    }
    if (head.counter < this.profile.lastHeadCounter) {
      throw new ShardvaultError(
        'rollback',
        `the locations offer vault head ${head.counter}, older than ${this.profile.lastHeadCounter} which this device has seen: ` +
          'a location may be serving old data, or the newest heads are on unreachable locations',
      );
    }
    this.profile = {
      ...this.profile,
      lastHeadCounter: head.counter,
      policy: head.policy,
      locations: domainsFromHead(this.profile.locations, head),
    };
    return head;
  }

  /**
   * Every valid head on each reachable location: the shared one and each device's copy.
   * Damaged ones are warned about (except under a key rotation, where heads under the old
   * key are expected not to open) and left out.
   */
  private async readHeads(): Promise<{ location: Location; shared: Head | null; heads: Head[] }[]> {
    const keys = this.requireKeys();
    const vaultId = this.profile.vaultId;
    const warn = (l: Location, what: string, err: unknown): void => {
      if (err instanceof NotFoundError) return;
      if (err instanceof ShardvaultError && err.code === 'offline') return;
      if (this.rotating && err instanceof ShardvaultError && err.code === 'corrupt') return;
      this.options.onWarning?.(`${l.name}: ${what}: ${(err as Error).message}`);
    };
    /** A head and the bytes it took, or null (warned about) when it is missing or does not open. */
    const read = async (
      l: Location,
      path: string,
      maxBytes = MAX_HEAD_BYTES,
    ): Promise<{ head: Head; size: number } | null> => {
      try {
        const bytes = await readObject(l.node, path, maxBytes);
        return { head: decodeHead(bytes, keys.head, vaultId), size: bytes.length };
      } catch (err) {
        warn(l, path === PATHS.head ? 'vault head' : `device head ${path}`, err);
        if (err instanceof ShardvaultError && err.code === 'offline') throw err;
        return null;
      }
    };
    const found = await this.everywhere(async (l) => {
      const shared = await read(l, PATHS.head);
      // A device head is a copy of some head of this vault, so it is about the size of the
      // shared one: a location that lists many huge (or sparse) ones gets them skipped, not
      // read, and they are read one after another within a budget per location.
      const perHead = shared ? Math.min(MAX_HEAD_BYTES, Math.max(4 * shared.size, 4 << 20)) : MAX_HEAD_BYTES;
      let budget = 2 * MAX_HEAD_BYTES;
      const heads = shared ? [shared.head] : [];
      const listed = (await l.node.list(PATHS.headsDir))
        .filter((o) => isDeviceHeadName(o.path) && o.size <= perHead)
        .slice(0, MAX_DEVICE_HEADS);
      for (const o of listed) {
        if (o.size > budget) break;
        budget -= o.size;
        const copy = await read(l, o.path, perHead);
        if (copy) heads.push(copy.head);
      }
      return { location: l, shared: shared?.head ?? null, heads };
    });
    return found.flatMap((f) => (f.value ? [f.value] : []));
  }

  /**
   * Commits a change: the next head, anchoring this device's audit chain, written to every
   * reachable location. Committed once on at least X + 1 of them (X: losses the policy
   * survives), so any set of locations that can still unlock the vault sees it.
   */
  async commit(change: (head: Head) => Head): Promise<Head> {
    const keys = this.requireKeys();
    // The access request that causes this change is logged first, so the head anchors it.
    const pending = this.pending;
    if (pending && !pending.logged) {
      await this.audit({
        action: pending.action,
        file: pending.file,
        detail: pending.detail,
        outcome: 'ok',
        locations: [...pending.used],
      });
      pending.logged = true;
    }
    // Another device may have committed since this one read the head (passive storage has
    // no lock across machines): the change is applied to the vault as the locations hold it
    // now. One that commits at the very same moment is not lost either: its own copy of its
    // head is merged by every reader (vault/merge.ts).
    let base = this.head();
    try {
      base = mergeHeads([base, await this.loadHead()]).head;
    } catch (err) {
      if (!(err instanceof NoHeadError)) throw err;
    }
    const next = await this.writeHead(this.withKnownAddresses(change(base)), base.counter + 1, keys);
    this.currentHead = next;
    this.profile = {
      ...this.profile,
      lastHeadCounter: next.counter,
      locations: domainsFromHead(this.profile.locations, next),
    };
    if (this.vk) this.pinKey();
    await this.saveProfile();
    return next;
  }

  /**
   * Fills in the address (`spec`) of head locations that have none yet (heads written before
   * version 3) from this profile, where it names the same place as the head and is usable: for
   * SFTP with its host key pinned. A location this profile learned from an older head's
   * display (a folder) adds only what that display says. So a vault made by an older version
   * tells new machines where its locations are after one commit.
   */
  private withKnownAddresses(head: Head): Head {
    if (head.locations.every((l) => l.spec !== undefined)) return head;
    return {
      ...head,
      locations: head.locations.map((entry) => {
        const mine = this.profile.locations.find((l) => l.id === entry.id);
        if (entry.spec !== undefined || !mine || mine.needsSignIn) return entry;
        const known = headSpec({ ...entry, spec: mine.spec });
        if (known === null || (entry.kind === 'sftp' && !sftpTarget({ kind: 'sftp', spec: known })?.fingerprint))
          return entry;
        return { ...entry, spec: known };
      }),
    };
  }

  /** Writes `base` as head number `counter` (anchoring this device's audit chain) to every
   * reachable location, as the shared head and as this device's copy; committed once on at
   * least X + 1 of them. */
  private async writeHead(base: Head, counter: number, keys: VaultKeys): Promise<Head> {
    const anchors = base.logAnchors.filter((a) => a.device !== this.profile.device.id);
    if (this.profile.logTip.seq > 0) anchors.push({ device: this.profile.device.id, ...this.profile.logTip });
    const next: Head = {
      ...base,
      counter,
      logAnchors: anchors,
      updated: nowIso(),
      // A version 1 head gains the vault KDF this profile has used all along.
      kdf: base.kdf ?? { params: this.profile.kdf, salt: this.profile.salt },
    };
    const bytes = encodeHead(next, keys.head);
    // This device's own copy first: no other device writes it, so a rival commit landing on
    // the shared head a moment later can't erase this change.
    const results = await this.everywhere(async (l) => {
      await l.node.put(PATHS.deviceHead(this.profile.device.id), bytes);
      return l.node.put(PATHS.head, bytes);
    });
    const ok = results.filter((r) => r.value !== undefined).length;
    const needed = Math.min(this.locations.length, this.policySurvives() + 1);
    if (ok < needed) {
      throw new ShardvaultError(
        'unavailable',
        `the change reached ${plural(ok, 'location')}; ${needed} are needed to commit it (${results
          .filter((r) => r.error)
          .map((r) => `${r.location.name}: ${r.error!.message}`)
          .join('; ')})`,
      );
    }
    return next;
  }

  // ------------------------------------------------------------------ audit

  /**
   * Appends an access request to this device's chain on every reachable location. A device's
   * first entry also leaves a marker beside the chains (log/<device>.device), so the owner's
   * devices find the chain of one the head does not vouch for yet (a failed open from a new
   * machine). `persist: false` keeps the profile unwritten (an attach that failed leaves none).
   */
  async audit(event: AuditEvent, { persist = true }: { persist?: boolean } = {}): Promise<void> {
    const seq = this.profile.logTip.seq + 1;
    const entry = encodeLogEntry({
      vaultId: this.profile.vaultId,
      deviceId: this.profile.device.id,
      deviceName: this.profile.device.name,
      seq,
      prevHash: this.profile.logTip.hash,
      logPublicKey: this.currentHead?.logPublicKey ?? this.profile.logPublicKey,
      event,
      time: new Date(),
    });
    const deviceId = this.profile.device.id;
    const results = await this.everywhere(async (l) => {
      await l.node.put(PATHS.logEntry(deviceId, seq), entry.bytes);
      if (seq === 1) await l.node.put(PATHS.logDevice(deviceId), fromHex(deviceId, 'deviceId', ID_BYTES));
      return true;
    });
    if (!results.some((r) => r.value === true)) {
      this.options.onWarning?.('the access request could not be logged: no location is reachable');
      return;
    }
    this.profile = { ...this.profile, logTip: { seq, hash: entry.hash } };
    if (persist) await this.saveProfile();
  }

  /**
   * Runs an access request and logs its outcome. A request that commits a change is logged
   * just before its head is written (commit), so the head vouches for it; a failure after
   * that is logged as a second, failed entry. The subject is the file's name, or (a location
   * change) the change in words: which location, and how.
   */
  async audited<T>(
    action: AccessAction,
    subject: string | null | { readonly file?: string; readonly detail: string },
    run: (used: Set<string>) => Promise<T>,
  ): Promise<T> {
    const file = typeof subject === 'string' ? subject : (subject?.file ?? null);
    const detail = subject !== null && typeof subject === 'object' ? subject.detail : null;
    const pending = { action, file, detail, used: new Set<string>(), logged: false };
    this.pending = pending;
    let outcome: AccessOutcome = 'ok';
    try {
      return await run(pending.used);
    } catch (err) {
      outcome = err instanceof ShardvaultError && err.code === 'auth' ? 'denied' : 'failed';
      throw err;
    } finally {
      this.pending = null;
      if (!pending.logged || outcome !== 'ok') {
        await this.audit({ action, file, detail, outcome, locations: [...pending.used] }).catch((e: unknown) =>
          this.options.onWarning?.(`the access request could not be logged: ${(e as Error).message}`),
        );
      }
      await this.saveProfile().catch(() => undefined);
    }
  }

  // ------------------------------------------------------------------ locations

  /**
   * Runs `work` on every location at once. Never throws. A location counts as seen (its
   * "last seen" time) only when the work succeeded there: a failed handshake, a refused
   * host key or a closed connection is no sign that the location itself was reached.
   */
  async everywhere<T>(
    work: (l: Location) => Promise<T>,
    locations: readonly Location[] = this.locations,
  ): Promise<Settled<T>[]> {
    return Promise.all(
      locations.map(async (location) => {
        try {
          const value = await work(location);
          this.seen.set(location.id, nowIso());
          return { location, value };
        } catch (err) {
          return { location, error: err instanceof Error ? err : new Error(String(err)) };
        }
      }),
    );
  }

  async health(): Promise<Map<string, LocationHealth>> {
    const out = new Map<string, LocationHealth>();
    await Promise.all(
      this.locations.map(async (l) => {
        const h = await l.node.health();
        if (h.reachable) this.seen.set(l.id, nowIso());
        out.set(l.id, h);
      }),
    );
    return out;
  }

  async saveProfile(): Promise<void> {
    const locations: ProfileLocation[] = this.profile.locations.map((l) => ({
      ...l,
      lastSeen: this.seen.get(l.id) ?? l.lastSeen,
    }));
    this.profile = { ...this.profile, locations };
    await saveProfile(this.dir, this.profile);
  }

  async close(): Promise<void> {
    this.lock();
    const nodes = [...this.locations.map((l) => l.node), ...this.retired];
    this.retired = [];
    await Promise.all(nodes.map((n) => n.close().catch(() => undefined)));
  }

  emitProgress(event: ProgressEvent): void {
    this.options.onProgress?.(event);
  }
}

/**
 * A failed open from a new machine is an access request too. The machine knows no vault key
 * yet, so the entry is sealed to the log key the location records name (most common first);
 * the profile stays unwritten, so nothing is attached.
 */
async function logFailedOpen(
  probe: Vault,
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
  probe.useLogKey(logKey);
  await probe
    .audit(
      {
        action: 'open',
        file: null,
        outcome: err instanceof ShardvaultError && err.code === 'auth' ? 'denied' : 'failed',
        locations: probe.locations.map((l) => l.name),
      },
      { persist: false },
    )
    .catch(() => undefined);
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

function sameVaultKdf(a: VaultKdf, b: VaultKdf): boolean {
  return (
    a.params.logN === b.params.logN &&
    a.params.r === b.params.r &&
    a.params.p === b.params.p &&
    Buffer.from(a.salt).equals(Buffer.from(b.salt))
  );
}

/** Closes nodes of a vault that failed to come up; a node that fails to close is let go. */
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

async function closeNodes(nodes: readonly StorageNode[]): Promise<void> {
  await Promise.allSettled(nodes.map((n) => n.close()));
}

/**
 * The profile's sealed credentials that do not open under `pk` (the passphrase was changed
 * on another device), opened under the older passphrase `ask` gives; null when all open or
 * no one can be asked (nodeFor then refuses as before). A wrong older passphrase is an AuthError.
 */
async function openStaleSeals(
  profile: Profile,
  pk: Uint8Array,
  ask: VaultOptions['askOldPassphrase'],
  kept?: ReadonlyMap<string, LocationSecrets>,
): Promise<Map<string, LocationSecrets> | null> {
  const failing = profile.locations.filter((l) => {
    if (!l.sealedSecrets) return false;
    try {
      openSecrets(l.sealedSecrets, pk, profile.vaultId, l.id);
      return false;
    } catch {
      return true;
    }
  });
  if (failing.length === 0) return null;
  // A front end's keystore copy (kept from an earlier unlock) stands in for the old passphrase.
  if (kept && failing.every((l) => kept.has(l.id))) return new Map(failing.map((l) => [l.id, kept.get(l.id)!]));
  if (!ask) return null;
  const older = await ask();
  if (older === null) return null;
  const oldPk = await passphraseKey(older, profile.salt, profile.kdf);
  try {
    return new Map(failing.map((l) => [l.id, openSecrets(l.sealedSecrets!, oldPk, profile.vaultId, l.id)]));
  } finally {
    wipe(oldPk);
  }
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
