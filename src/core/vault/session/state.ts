/**
 * A vault session's state: what one Vault holds between calls (the profile, the locations,
 * the keys while unlocked, the head it last read), and the few things every part of the
 * session does with it (reach every location, save the profile). The other files of this
 * folder are functions over it; vault.ts is the class front ends hold.
 */
import type { AccessAction, ProgressEvent } from '../../../shared/api';
import { utf8 } from '../../crypto/bytes';
import { AuthError } from '../../errors';
import { type Head, type LocationEntry, type Policy } from '../../format/head';
import { type KeyShareRecord } from '../../format/records';
import { type LocationSecrets } from '../../storage/open';
import { type AskKeyPassphrase, type ConfirmHostKey } from '../locations';
import { type StorageNode } from '../../storage/node';
import { type VaultKeys } from '../keys';
import { saveProfile, type Profile, type ProfileLocation } from '../profile';

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

export interface Settled<T> {
  readonly location: Location;
  readonly value?: T;
  readonly error?: Error;
}

export const nowIso = (): string => new Date().toISOString();

/** Why a server named by an older head (without its address) can't be used on this device. */
export const UNKNOWN_ADDRESS =
  'this device does not have its full address yet: give it here with its address, or wait until a device that has it changes the vault';

/**
 * PK derived ahead of the unlock that follows (so scrypt runs once), with the passphrase it
 * came from as NFC UTF-8 bytes, to tell the same passphrase when it comes again. Bytes, not
 * the string: lock() can wipe bytes (docs/SECURITY.md, "Keys").
 */
export interface PreKey {
  readonly passphrase: Uint8Array;
  readonly pk: Uint8Array;
}

export const preKeyFor = (passphrase: string, pk: Uint8Array): PreKey => ({
  passphrase: utf8(passphrase.normalize('NFC')),
  pk,
});

/**
 * Everything a session holds, mutable, in one place: the functions of this folder read and
 * change it; nothing outside src/core/vault/session sees it (the Vault class keeps it private).
 */
export interface VaultState {
  readonly dir: string;
  readonly options: VaultOptions;
  profile: Profile;
  /** The vault's locations as this profile knows them. */
  current: readonly Location[];
  keys: VaultKeys | null;
  /** VK and, when unlocked with the passphrase, PK: kept while unlocked for re-deals. */
  vk: Uint8Array | null;
  pk: Uint8Array | null;
  preKey: PreKey | null;
  /** A key rotation is under way: heads under the old key are expected not to open. */
  rotating: boolean;
  /** Names of the locations whose key shares the last unlock read (for its access request). */
  sharesFrom: readonly string[];
  currentHead: Head | null;
  /** When each location last answered in this session (by id). */
  seen: Map<string, string>;
  /** The access request under way (audited), logged by the commit it causes. */
  pending: {
    action: AccessAction;
    file: string | null;
    detail: string | null;
    used: Set<string>;
    logged: boolean;
  } | null;
  /** Nodes of locations taken off the list (a removed location is emptied after): closed with the vault. */
  retired: StorageNode[];
  /** Credentials opened under an older passphrase (changed on another device): sealed again at unlock. */
  staleSeals: Map<string, LocationSecrets> | null;
  /** What key shares each location that answered held at the last unlock (catchUpKeyShares). */
  heldShares: Map<string, readonly KeyShareRecord[]>;
  /** The generation the last unlock opened, until a writing command finishes a change with it. */
  openedGeneration: number | null;
}

/** A locked session over `current`. */
export function newState(
  dir: string,
  profile: Profile,
  current: readonly Location[],
  options: VaultOptions,
): VaultState {
  return {
    dir,
    options,
    profile,
    current,
    keys: null,
    vk: null,
    pk: null,
    preKey: null,
    rotating: false,
    sharesFrom: [],
    currentHead: null,
    seen: new Map(),
    pending: null,
    retired: [],
    staleSeals: null,
    heldShares: new Map(),
    openedGeneration: null,
  };
}

/** The keys derived from VK; throws when locked. */
export function requireKeys(s: VaultState): VaultKeys {
  if (!s.keys) throw new AuthError('the vault is locked');
  return s.keys;
}

export function headOf(s: VaultState): Head {
  if (!s.currentHead) throw new AuthError('the vault is locked');
  return s.currentHead;
}

export function policyOf(s: VaultState): Policy {
  return s.currentHead?.policy ?? s.profile.policy;
}

export function locationById(s: VaultState, id: string): Location | undefined {
  return s.current.find((l) => l.id === id);
}

/**
 * Runs `work` on every location at once. Never throws. A location counts as seen (its
 * "last seen" time) only when the work succeeded there: a failed handshake, a refused
 * host key or a closed connection is no sign that the location itself was reached.
 */
export async function everywhere<T>(
  s: VaultState,
  work: (l: Location) => Promise<T>,
  locations: readonly Location[] = s.current,
): Promise<Settled<T>[]> {
  return Promise.all(
    locations.map(async (location) => {
      try {
        const value = await work(location);
        s.seen.set(location.id, nowIso());
        return { location, value };
      } catch (err) {
        return { location, error: err instanceof Error ? err : new Error(String(err)) };
      }
    }),
  );
}

export async function storeProfile(s: VaultState): Promise<void> {
  const locations: ProfileLocation[] = s.profile.locations.map((l) => ({
    ...l,
    lastSeen: s.seen.get(l.id) ?? l.lastSeen,
  }));
  s.profile = { ...s.profile, locations };
  await saveProfile(s.dir, s.profile);
}

/** Closes nodes of a vault that failed to come up; a node that fails to close is let go. */
export async function closeNodes(nodes: readonly StorageNode[]): Promise<void> {
  await Promise.allSettled(nodes.map((n) => n.close()));
}
