/**
 * A vault session: the locations of this profile, unlocking, the vault head, and the
 * audit log. File operations (files.ts) stand on it. One Vault per process and profile;
 * callers hold the profile lock (profile.ts) for the life of a command.
 *
 * The class is the front ends' handle and holds the session's state; the work is done by
 * the functions of session/ over that state: load.ts, create.ts and attach.ts bring a
 * session into being, unlock.ts and key-shares.ts keep the vault key, head-store.ts reads
 * and commits heads, access-log.ts logs access requests, credentials.ts seals location
 * credentials, survival.ts says what the policy survives.
 */
import type { AccessAction, ProgressEvent } from '../../shared/api';
import type { Head, Policy } from '../format/head';
import type { KeyShareRecord, VaultRecord } from '../format/records';
import type { LocationGiven, LocationSecrets } from '../storage/open';
import type { LocationHealth } from '../storage/node';
import type { AuditEvent } from './audit';
import type { DomainLocation } from './domains';
import { keyFingerprint, type VaultKeys } from './keys';
import { plainHttpWarning } from './locations';
import type { ProfileLocation } from './profile';
import { audit, audited, useLogKey } from './session/access-log';
import type { AttachOptions } from './session/attach';
import type { CreateOptions } from './session/create';
import { openedCredentials, sealCredentials } from './session/credentials';
import { commit, staleHeads } from './session/head-store';
import {
  changePassphrase,
  finishKeyShareChange,
  keyShareSound,
  redeal,
  rotateTo,
  type PassphraseChange,
  type PassphraseChangeOptions,
  type RedealOutcome,
  type Resealing,
} from './session/key-shares';
import { loadVault } from './session/load';
import {
  everywhere,
  headOf,
  locationById,
  nowIso,
  policyOf,
  requireKeys,
  storeProfile,
  type Location,
  type Secret,
  type Settled,
  type VaultOptions,
  type VaultState,
} from './session/state';
import { domainLocations, domainsSurvive, domainWarningsOf, policySurvives } from './session/survival';
import { lock, unlock } from './session/unlock';

export type { AttachOptions } from './session/attach';
export type { CreateOptions } from './session/create';
export type { PassphraseChange, PassphraseChangeOptions, RedealOutcome } from './session/key-shares';
export { DEFAULT_SEGMENT, type Location, type Secret, type Settled, type VaultOptions } from './session/state';

export class Vault {
  declare readonly dir: string;
  declare readonly options: VaultOptions;
  /** This object, seen as the session's state: session/ reads and changes it through this. */
  private readonly s: VaultState;

  /**
   * The session's state becomes this object's own fields, private to front ends as they
   * always were (test/lock-wipe.test.ts reads the key buffers there); `init` is not used after.
   */
  private constructor(init: VaultState) {
    this.s = Object.assign(this, init);
  }

  // ------------------------------------------------------------------ opening

  /** The vault of the profile in `dir`, locked. NotFoundError when the profile has none. */
  static async load(dir: string, options: VaultOptions = {}, passphrase?: string): Promise<Vault> {
    return new Vault(await loadVault(dir, options, passphrase));
  }

  static async create(
    dir: string,
    opts: CreateOptions,
  ): Promise<{ vault: Vault; recoveryCode: string; warnings: string[]; madeFolders: string[] }> {
    // Making or attaching a vault is rare: its code is loaded only then, not by every command.
    const { createVault } = await import('./session/create');
    const made = await createVault(dir, opts);
    return { ...made, vault: new Vault(made.vault) };
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
    const { attachVault } = await import('./session/attach');
    return new Vault(await attachVault(dir, specs, secret, newPassphrase, options));
  }

  // ------------------------------------------------------------------ state

  get vaultId(): string {
    return this.s.profile.vaultId;
  }

  get policy(): Policy {
    return policyOf(this.s);
  }

  /** The vault's locations as this profile knows them. */
  get locations(): readonly Location[] {
    return this.s.current;
  }

  /** What a new location's record must say (session/create.ts writes it at creation, location add later). */
  locationRecord(locationId: string): VaultRecord {
    const { profile, currentHead } = this.s;
    return {
      vaultId: profile.vaultId,
      locationId,
      kdf: profile.kdf,
      salt: profile.salt,
      created: nowIso(),
      logPublicKey: currentHead?.logPublicKey ?? profile.logPublicKey,
    };
  }

  /** Seals credentials for the profile; needs the vault unlocked with its passphrase. */
  sealCredentials(secrets: LocationSecrets | null, locationId: string): string | null {
    return sealCredentials(this.s, secrets, locationId);
  }

  /** The credentials the profile seals, opened (for a front end's own keystore copy). Unlocked with the passphrase only. */
  openedCredentials(): Map<string, LocationSecrets> {
    return openedCredentials(this.s);
  }

  /** Replaces the location list (location add / remove); the caller commits the head. */
  async setLocations(locations: readonly Location[], entries: readonly ProfileLocation[]): Promise<void> {
    const s = this.s;
    s.retired.push(...s.current.filter((l) => !locations.some((n) => n.node === l.node)).map((l) => l.node));
    s.current = locations;
    s.profile = { ...s.profile, locations: entries };
    await storeProfile(s);
  }

  /** Why a location deserves a warning (a password over plain http), or null. */
  locationWarning(id: string): string | null {
    const entry = this.s.profile.locations.find((l) => l.id === id);
    return entry ? (plainHttpWarning(entry)?.message ?? null) : null;
  }

  /** Whether this device has yet to sign in to the location (learned from the head). */
  needsSignIn(locationId: string): boolean {
    return this.s.profile.locations.find((l) => l.id === locationId)?.needsSignIn === true;
  }

  profileLocations(): readonly ProfileLocation[] {
    return this.s.profile.locations;
  }

  /** This device's setting for how many locations a new file needs shards on; null: the default. */
  get happy(): number | null {
    return this.s.profile.happy ?? null;
  }

  async setHappy(happy: number | null): Promise<void> {
    this.s.profile = { ...this.s.profile, happy };
    await storeProfile(this.s);
  }

  get deviceId(): string {
    return this.s.profile.device.id;
  }

  get deviceName(): string {
    return this.s.profile.device.name;
  }

  get unlocked(): boolean {
    return this.s.keys !== null;
  }

  lastSeen(locationId: string): string | null {
    return this.s.seen.get(locationId) ?? this.s.profile.locations.find((l) => l.id === locationId)?.lastSeen ?? null;
  }

  /** The keys derived from VK; throws when locked. */
  requireKeys(): VaultKeys {
    return requireKeys(this.s);
  }

  head(): Head {
    return headOf(this.s);
  }

  locationById(id: string): Location | undefined {
    return locationById(this.s, id);
  }

  /** Whether a location's key share of the current generation is whole (repair). */
  keyShareSound(record: KeyShareRecord, locationId: string): boolean {
    return keyShareSound(this.s, record, locationId);
  }

  /** Locations whose shared vault head is missing, damaged, older than the current one, or lacks another device's change. */
  async staleHeads(): Promise<Location[]> {
    return staleHeads(this.s);
  }

  /**
   * The vault's locations with their failure domains: the head's word once unlocked, else
   * what this profile last read from a head.
   */
  domainLocations(): DomainLocation[] {
    return domainLocations(this.s);
  }

  /** What the domains cost the policy, in words (domains.ts domainWarnings); empty when nothing. */
  domainWarnings(): string[] {
    return domainWarningsOf(this.s);
  }

  /** How many failure domains (a location without one is its own) every file survives losing. */
  domainsSurvive(): number {
    return domainsSurvive(this.s);
  }

  /** How many locations the vault's placement survives losing (the policy's X). */
  policySurvives(): number {
    return policySurvives(this.s);
  }

  // ------------------------------------------------------------------ unlocking

  /**
   * `oldPassphrase`: the passphrase this profile's credentials were sealed under before a
   * change on another device (a front end asked for it); without it, options.askOldPassphrase.
   */
  async unlock(secret: Secret, opts: { oldPassphrase?: string } = {}): Promise<void> {
    return unlock(this.s, secret, opts);
  }

  /** The log key a probe of a new machine seals its failed open to (logFailedOpen). */
  useLogKey(key: Uint8Array): void {
    useLogKey(this.s, key);
  }

  /** The fingerprint of the vault key (the recovery kit prints it; `open --expect-fingerprint` checks it). */
  get keyFingerprint(): string | null {
    return this.s.profile.keyPin ? keyFingerprint(this.s.profile.keyPin.key) : null;
  }

  /** The locations whose key shares the last unlock read. */
  get unlockedFrom(): readonly string[] {
    return this.s.sharesFrom;
  }

  /** Wipes every key this vault holds (unlock.ts lock): on lock, the idle timer, screen lock, suspend, close. */
  lock(): void {
    lock(this.s);
  }

  /**
   * Finishes what the last unlock found of a key-share change left behind (key-shares.ts).
   * Writing commands call it (put, rm, repair, and the app after unlock); readers never do.
   */
  async finishKeyShareChange(): Promise<void> {
    return finishKeyShareChange(this.s);
  }

  /** Seals the vault key's shares under a new passphrase (key-shares.ts changePassphrase). */
  async changePassphrase(newPassphrase: string, opts: PassphraseChangeOptions = {}): Promise<PassphraseChange> {
    return changePassphrase(this.s, newPassphrase, opts);
  }

  /** Deals a new generation of the vault key's shares and commits the head that names it (key-shares.ts redeal). */
  async redeal(change: (head: Head) => Head = (h) => h, sealing: Resealing | null = null): Promise<RedealOutcome> {
    return redeal(this.s, change, sealing);
  }

  /** Replaces the vault key with `next` (key-shares.ts rotateTo). */
  async rotateTo(next: Uint8Array, change: (head: Head) => Head): Promise<void> {
    return rotateTo(this.s, next, change);
  }

  // ------------------------------------------------------------------ the vault head

  /** Commits a change as the next head (head-store.ts commit). */
  async commit(change: (head: Head) => Head): Promise<Head> {
    return commit(this.s, change);
  }

  // ------------------------------------------------------------------ audit

  /** Appends an access request to this device's chain on every reachable location (access-log.ts). */
  async audit(event: AuditEvent, opts: { persist?: boolean } = {}): Promise<void> {
    return audit(this.s, event, opts);
  }

  /** Runs an access request and logs its outcome (access-log.ts audited). */
  async audited<T>(
    action: AccessAction,
    subject: string | null | { readonly file?: string; readonly detail: string },
    run: (used: Set<string>) => Promise<T>,
  ): Promise<T> {
    return audited(this.s, action, subject, run);
  }

  // ------------------------------------------------------------------ locations

  /** Runs `work` on every location at once; never throws (state.ts everywhere). */
  async everywhere<T>(
    work: (l: Location) => Promise<T>,
    locations: readonly Location[] = this.s.current,
  ): Promise<Settled<T>[]> {
    return everywhere(this.s, work, locations);
  }

  async health(): Promise<Map<string, LocationHealth>> {
    const out = new Map<string, LocationHealth>();
    await Promise.all(
      this.s.current.map(async (l) => {
        const h = await l.node.health();
        if (h.reachable) this.s.seen.set(l.id, nowIso());
        out.set(l.id, h);
      }),
    );
    return out;
  }

  async saveProfile(): Promise<void> {
    return storeProfile(this.s);
  }

  async close(): Promise<void> {
    lock(this.s);
    const nodes = [...this.s.current.map((l) => l.node), ...this.s.retired];
    this.s.retired = [];
    await Promise.all(nodes.map((n) => n.close().catch(() => undefined)));
  }

  emitProgress(event: ProgressEvent): void {
    this.s.options.onProgress?.(event);
  }
}
