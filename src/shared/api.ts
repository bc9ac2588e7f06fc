/**
 * The typed contract between every front end (Electron renderer over IPC, the browser over
 * the web bridge, the CLI's --json output) and the engine. Plain data only: no keys, no
 * passphrases in any response, no plaintext. Byte counts are integers, times ISO-8601 UTC.
 *
 * The JSON shapes here are also the CLI's `--json` output (README, "CLI").
 */

import type { KitFacts } from './kit';
import type { LocationInput, LocationKindName } from './location-kinds';

export type { LocationInput, LocationKindName };
/** `unreachable`: not readable from here now, but nothing is known gone: enough of its shards
 * are on locations that are away or that this device has not signed in to. */
export type Health = 'healthy' | 'degraded' | 'unreachable' | 'lost';

/** api.policyPreview's answer: the numbers (data 0 when `problem`), and what the domains cost. */
export interface PolicyPreview {
  readonly data: number;
  readonly total: number;
  readonly threshold: number;
  /** Why these locations can't have this policy, or null. */
  readonly problem: string | null;
  readonly domainWarnings: readonly string[];
}

export interface VaultSummary {
  readonly id: string;
  /** k: shards needed to read a file. */
  readonly data: number;
  /** n: shards written per file. */
  readonly total: number;
  /** t: locations needed to unlock the vault. */
  readonly threshold: number;
  /** r: copies of each shard. */
  readonly replicas: number;
  readonly segmentSize: number;
  /** The vault key's fingerprint (not secret): the recovery kit prints it, a new machine can check it. Null before the first unlock here. */
  readonly fingerprint: string | null;
}

/**
 * A location this device knows the address of (from the vault head) but was never given
 * the credentials for, split for a sign-in form: nothing secret.
 */
export interface SignIn {
  /** The user to log in as (null: a WebDAV server without one). */
  readonly user: string | null;
  readonly host: string;
  /** null: the scheme's default. */
  readonly port: number | null;
  /** The folder on the server. */
  readonly path: string;
  /** The key file the address names (SFTP `identity=`, a path on the device that added it), or null. */
  readonly keyFile: string | null;
  /** The host key the server must show (SFTP), `SHA256:...`, or null. */
  readonly hostKey: string | null;
}

export interface LocationStatus {
  readonly name: string;
  readonly kind: LocationKindName;
  /** Where it is, without credentials. */
  readonly display: string;
  readonly reachable: boolean;
  readonly latencyMs: number | null;
  readonly freeBytes: number | null;
  /** Shard objects the location holds, null when unreachable. */
  readonly shards: number | null;
  /** Shard copies that belong here, held on other locations until this one is back
   * (stored while it was away); they move here at the next change to the vault. */
  readonly staged: number;
  /** Last time this profile reached it, or null. */
  readonly lastSeen: string | null;
  readonly error: string | null;
  /** Something the user should know although it works (a password over plain http), or null. */
  readonly warning: string | null;
  /** Not used on this device until someone signs in to it here (a new machine), or null. */
  readonly signIn: SignIn | null;
  /** Its failure domain (locations that fail together), or null. */
  readonly domain: string | null;
  /** A Shardvault node's part in the guard of guarded files (docs/GUARD.md); null for the
   * other kinds, and for a node while the vault is locked. */
  readonly node: NodeHealth | null;
}

/** What a node location says of its key share, checked against the sealed head. */
export interface NodeHealth {
  /** Its index in the guard; null when it is not one of the guard's nodes (added after the
   * setup, or no setup yet). */
  readonly index: number | null;
  /** The public share the node answers with equals P_i computed from the guard's published
   * commitments for its index (and the sealed head's record of it); null when not asked (no
   * guard, not in it, unreachable, not enrolled on this device). */
  readonly shareVerified: boolean | null;
  /** Entries in its hash-chained request log; null when it did not answer. */
  readonly logLength: number | null;
  /** Why it could not be asked, or what did not match, in words; null when all is well. */
  readonly problem: string | null;
}

/** The guard of guarded files (docs/GUARD.md), from the sealed head and the nodes now. */
export interface GuardStatus {
  /** G: nodes that must answer to open a guarded file. */
  readonly threshold: number;
  /** The guard's nodes. */
  readonly nodes: number;
  /** Of them, those this device is enrolled with (a new machine: none until it enrols). */
  readonly enrolled: number;
  /** Of those, the ones that answered with a share that matches the commitments. */
  readonly ready: number;
  /** g: guardian approvals each opening needs (0: any enrolled device). */
  readonly approvals: number;
  readonly guardians: number;
  /** This device is one of the guardians (it may approve others' requests). */
  readonly guardian: boolean;
  /** This device's guard key (base64url, as `guard status` shows it); null when enrolled with no node. */
  readonly device: string | null;
  /** The guardians' keys (base64url), in the head's order. */
  readonly guardianKeys: readonly string[];
  /** The guard's nodes are not the vault's node locations (one added, or removed), or a
   * re-sharing waits for nodes to confirm: "Re-share now" brings them together. */
  readonly reshare: boolean;
}

/** The `name` of the progress events (op 'approval') of a change of the guard waiting for approvals. */
export const GUARD_CHANGE = 'guard change';

/** What a re-sharing of the guard did (reshareGuard). */
export interface GuardReshareReport {
  /** False when the guard already held its key on every node location. */
  readonly changed: boolean;
  /** The guard's nodes afterwards, by location name. */
  readonly nodes: readonly string[];
  readonly warnings: readonly string[];
}

export interface StatusReport {
  readonly vault: VaultSummary;
  readonly locked: boolean;
  readonly locations: readonly LocationStatus[];
  /** Shard copies a get or a deep check on this device found damaged, not yet repaired. */
  readonly damaged: number;
  /** How many locations a new file needs shards on by default on this device (--happy). */
  readonly happy: number;
  /** What the locations' failure domains cost the policy, in words; empty when nothing. */
  readonly domainWarnings: readonly string[];
  /** A change of policy still re-coding files (from the sealed head: null when locked or none). */
  readonly policyJob: PolicyJobStatus | null;
  /** The guard of guarded files: null when locked or before `guard setup`. */
  readonly guard: GuardStatus | null;
}

/** How far the re-coding of a policy change is (the head's job). */
export interface PolicyJobStatus {
  readonly started: string;
  readonly files: number;
  readonly filesDone: number;
  readonly bytes: number;
  readonly bytesDone: number;
  /** The policy the files are re-coded to. */
  readonly data: number;
  readonly total: number;
  readonly threshold: number;
}

export interface FileEntry {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly created: string;
  readonly health: Health;
  /** How many more locations the file can lose and still be read. -1 when lost. */
  readonly survives: number;
  /** Locations away now that hold (or are to hold) some of its shards: `survives` counts
   * them lost until they are back. */
  readonly awaiting: readonly string[];
  /** Those of `awaiting` that this device has not signed in to (LocationStatus.signIn). */
  readonly signIn: readonly string[];
  /** Opening it also needs G of the vault's nodes (StatusReport.guard). */
  readonly guarded: boolean;
}

/**
 * An opening of a guarded file that waits for guardian approvals (docs/GUARD.md, "Access
 * requests"): published sealed on the locations by the requesting device, each approval's
 * signature checked on this device.
 */
export interface GuardRequest {
  /** 32 hex digits. */
  readonly id: string;
  readonly file: string;
  /** The requesting device's name, as it wrote it (the signature is over its key). */
  readonly device: string;
  readonly time: string;
  /** Valid approvals found so far, of `needed`. */
  readonly approvals: number;
  readonly needed: number;
  readonly denied: boolean;
  /** The nodes the request goes to (the guard's, by location name). */
  readonly nodes: readonly string[];
  /** This device made it (it cannot approve its own). */
  readonly mine: boolean;
  /** The requesting device's guard key (base64url): a device one may make a guardian. */
  readonly deviceKey: string;
}

export type ShardState = 'ok' | 'missing' | 'corrupt' | 'offline';

export interface PlacementReport {
  readonly name: string;
  readonly shards: ReadonlyArray<{
    readonly index: number;
    readonly locations: ReadonlyArray<{
      readonly name: string;
      readonly state: ShardState;
      /** A copy staged here for that location, which was away when it was stored. */
      readonly stagedFor?: string;
    }>;
  }>;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly files: ReadonlyArray<{ readonly name: string; readonly health: Health; readonly survives: number }>;
  readonly problems: ReadonlyArray<{
    readonly file: string;
    readonly shard: number | null;
    readonly location: string;
    readonly kind: ShardState | 'manifest';
  }>;
}

export type AccessAction =
  | 'init'
  | 'open'
  | 'unlock'
  | 'put'
  | 'get'
  | 'rm'
  | 'mv'
  | 'repair'
  | 'policy'
  | 'location'
  | 'drill'
  | 'passphrase'
  | 'guard';
export type AccessOutcome = 'ok' | 'denied' | 'failed';

export interface AccessRequest {
  readonly time: string;
  readonly device: string;
  readonly action: AccessAction;
  readonly file: string | null;
  /** What the request changed, in words, where action and file don't say it: for a location
   * change, which location and how ("added usb (/media/usb)", "renamed usb to drawer"). */
  readonly detail: string | null;
  readonly outcome: AccessOutcome;
  readonly locations: readonly string[];
  /** False for entries no vault head vouches for yet (shown as UNANCHORED.word: a failed
   * unlock, a read since the last change); the next change anchors them. */
  readonly anchored: boolean;
}

/** What a folder's put stored, in one commit (put DIR, the UI's folder upload). */
export interface FolderReport {
  /** The folder's name, without its trailing `/`. */
  readonly name: string;
  readonly files: number;
  /** Empty folders kept (as markers). */
  readonly folders: number;
  readonly bytes: number;
  /** The least any of its files survives. */
  readonly survives: number;
  /** Locations whose shards wait on others until they are back (FileEntry.awaiting). */
  readonly awaiting: readonly string[];
  readonly signIn: readonly string[];
}

/** A file of a folder a front end sends (putTreeStream): its name below the folder
 * (`2026/a.pdf`; `empty/` a folder with nothing in it) and its size. */
export interface TreeFileSize {
  readonly name: string;
  readonly size: number;
}

/** What a rename or move did: the names it went from and to (a folder's end in `/`). */
export interface MoveReport {
  readonly from: string;
  readonly to: string;
  readonly files: number;
}

export interface ProgressEvent {
  /** policy: re-coding after a change of policy (name '', done and total in bytes);
   * approval: an opening of the guarded file `name` waits for guardian approvals (done of
   * total approvals so far). */
  readonly op: 'put' | 'get' | 'verify' | 'policy' | 'approval';
  readonly name: string;
  /** Bytes (put, get), files (verify) or approvals done and in all. */
  readonly done: number;
  readonly total: number;
  /** For a folder's put or get: its files done and in all. */
  readonly files?: { readonly done: number; readonly total: number };
}

export interface LocationProbe {
  readonly kind: LocationKindName;
  readonly display: string;
  /** For an SFTP server whose host key is not pinned in the SPEC: the key it presents now,
   * `SHA256:...`, for the user to confirm before addLocation. */
  readonly hostKey: string | null;
}

/**
 * A folder location as a form checks it at once (checkFolder). `missing`: not there, but its
 * parent is, so it can be made (createRoot: the last folder only); `unreachable`: not there
 * and can't be made here (a parent missing: a disk not mounted; a link; not a folder): `error`
 * says why. `server`: an SFTP or WebDAV address, not checked here (init makes its folder).
 */
export interface FolderCheck {
  readonly display: string;
  readonly state: 'present' | 'missing' | 'created' | 'unreachable' | 'server';
  readonly error: string | null;
}

/**
 * What `location test` writes, reads back and deletes: past the few MiB a server may buffer, so
 * one that can't take a large object (or can't seek in it, sftp/write.ts writeAll) shows it.
 */
export const LOCATION_PROBE_BYTES = 8 * 1024 * 1024;

export interface LocationTest {
  readonly name: string;
  readonly reachable: boolean;
  readonly latencyMs: number | null;
  readonly freeBytes: number | null;
  /** Time to write, read back and delete a probe of LOCATION_PROBE_BYTES. */
  readonly roundTripMs: number | null;
  readonly error: string | null;
}

/** What the recovery kit shows: the code, once written down never shown again. */
export interface RecoveryKit {
  readonly vault: VaultSummary;
  readonly recoveryCode: string;
  /** Where the vault lives, without credentials. */
  readonly locations: readonly string[];
}

export interface RepairReport {
  readonly ok: boolean;
  readonly files: ReadonlyArray<{
    readonly name: string;
    readonly before: Health;
    readonly after: Health;
    readonly survives: number;
    readonly rebuilt: number;
  }>;
  readonly keyShares: 'current' | 'redealt' | 'partial';
  /** Shard copies stored while their location was away, moved to it now that it is back. */
  readonly moved: number;
  /** Files moved over the failure domains (a location's domain changed): re-placed by the re-coding job. */
  readonly replaced: number;
  readonly manifestsWritten: number;
  readonly collected: number;
  /** What could not be done now, in words (an offline location, a lost file). */
  readonly pending: readonly string[];
}

/**
 * The recovery drill's answer: what would still work if some locations were gone, counted
 * from where every shard copy and key share really is. Nothing is changed to find out.
 */
export interface DrillReport {
  /** The locations supposed gone: those named, and those unreachable now. */
  readonly lost: readonly string[];
  /** Of those, the ones unreachable now (counted lost whether named or not). */
  readonly unreachable: readonly string[];
  /** Files as they would be without the lost locations. */
  readonly files: ReadonlyArray<{ readonly name: string; readonly health: Health; readonly survives: number }>;
  /** The files that would no longer read. */
  readonly lostFiles: readonly string[];
  /** Whole key shares of the current generation on the remaining locations, against t, and
   * how many of them hold a vault head; it unlocks with t shares and a head. */
  readonly unlock: {
    readonly shares: number;
    readonly threshold: number;
    readonly heads: number;
    readonly unlocks: boolean;
  };
  /** Every file reads and the vault unlocks (and, with the open, it really did). */
  readonly ok: boolean;
  /** A real open from a fresh profile over the remaining locations, when asked for. */
  readonly open: DrillOpen | null;
}

export interface DrillOpen {
  readonly opened: boolean;
  /** Files read back and found byte for byte as their manifests say. */
  readonly read: number;
  /** Files tried: min(10, all). */
  readonly tried: number;
  /** Why the open failed, or what each failed read said ("NAME: message"). */
  readonly problems: readonly string[];
}

/** What a passphrase change did (the new recovery code, if any, waits in recoveryKit()). */
export interface PolicyChangeReport {
  /** The vault's policy now. */
  readonly data: number;
  readonly total: number;
  readonly threshold: number;
  /** The vault key was replaced (t rose): key shares kept from before open nothing. */
  readonly rotated: boolean;
  /** Files re-coded to it, and their bytes; `left` are those still to do (a location away). */
  readonly files: number;
  readonly bytes: number;
  readonly left: number;
}

export interface PassphraseChangeReport {
  /** Locations whose key shares are now sealed under the new passphrase. */
  readonly reached: readonly string[];
  /** Locations away now: caught up at the next unlock that reaches them. */
  readonly away: readonly string[];
  /** Whether the old passphrase (and a replaced recovery code) no longer unlocks. */
  readonly retired: boolean;
  readonly newRecoveryCode: boolean;
}

/** The vault served as a WebDAV drive on this machine (core/drive/): where, and how to sign in. */
export interface DriveInfo {
  /** http://shardvault:PASSWORD@127.0.0.1:PORT/ */
  readonly url: string;
  /** The address without the credentials, for a file manager's "connect to server". */
  readonly address: string;
  readonly user: string;
  /** Made for this drive (32 characters of [A-Za-z0-9]); gone when it stops or the vault locks. */
  readonly password: string;
  readonly port: number;
}

/** What a front end may ask of the engine. Implemented once (src/core/app.ts), called by
 * Electron's IPC handlers and by the web bridge; the renderer reaches it only through them. */
export interface ShardvaultApi {
  /** null when this profile has no vault yet (first run). */
  status(): Promise<StatusReport | null>;
  /** Creates a vault over the locations (their fields and secrets, never a SPEC), unlocked. Its
   * recovery code waits in recoveryKit() until the user confirms it is written down. A
   * passphrase that is easy to guess is refused (error code 'weak-passphrase', its message
   * says why) unless `allowWeakPassphrase`, the CLI's --weak-passphrase. */
  createVault(req: {
    locations: readonly LocationInput[];
    survive: number;
    secretAgainst: number;
    passphrase: string;
    allowWeakPassphrase?: boolean;
    /** Lets a WebDAV password go over plain http to another machine (refused otherwise). */
    allowInsecureHttp?: boolean;
    /** Each location's failure domain, by position ('' or absent: none). */
    domains?: readonly string[];
  }): Promise<VaultSummary>;
  /** What "survive X, secret against Y" makes of these locations and their failure domains,
   * before any vault exists (the first run, live): k, n, t over the domains, why it can't be,
   * and the same domain warnings status gives. Needs no vault and touches no location. */
  policyPreview(req: {
    locations: readonly { name: string; domain: string }[];
    survive: number;
    secretAgainst: number;
  }): Promise<PolicyPreview>;
  /** The kit of the vault this engine created, until confirmRecoveryKit() or a lock; null
   * otherwise. Held in the engine's memory only (never on disk), so a reloaded page shows
   * the kit again instead of skipping the step that shows the code. */
  recoveryKit(): Promise<RecoveryKit | null>;
  /** The user has written the code down: the engine forgets it. */
  confirmRecoveryKit(): Promise<void>;
  /** Attaches this profile to an existing vault found on the locations. With a recovery code,
   * `passphrase` is the new one, held to createVault's strength rule. */
  openVault(req: {
    locations: readonly LocationInput[];
    passphrase?: string;
    recoveryCode?: string;
    /** The recovery kit's vault key fingerprint: the key found must have it. */
    expectFingerprint?: string;
    allowWeakPassphrase?: boolean;
    allowInsecureHttp?: boolean;
  }): Promise<VaultSummary>;
  /** `oldPassphrase`: the one this device knew, when the passphrase was changed on another
   * device (the location credentials its profile seals open with it once, then are sealed
   * under the new one). */
  unlock(req: { passphrase: string; oldPassphrase?: string }): Promise<void>;
  /** Wipes the keys from memory. */
  lock(): Promise<void>;
  listFiles(): Promise<FileEntry[]>;
  /** Stores a file from the machine that runs the engine. */
  /** `survive`: this file survives losing that many locations (at least the vault's X; more
   * costs more parity): the sensitivity presets. */
  putFile(req: {
    path: string;
    name?: string;
    replace?: boolean;
    survive?: number;
    happy?: number;
    /** Opening it will also need G of the vault's nodes (after guard setup; refused before). */
    guarded?: boolean;
  }): Promise<FileEntry>;
  /** Stores bytes streamed by a front end (the web bridge's upload). */
  putStream(req: {
    name: string;
    replace?: boolean;
    data: AsyncIterable<Uint8Array>;
    /** The size the sender announced (for progress: done of total); not trusted beyond that. */
    expectedSize?: number;
    survive?: number;
    /** At least this many locations must take shards (default: StatusReport.happy). */
    happy?: number;
    guarded?: boolean;
  }): Promise<FileEntry>;
  /** Stores files of the machine that runs the engine as the folder `name` (`NAME`, its files
   * under `NAME/`) in one commit, as `put DIR` does: `files` gives each one's name below the
   * folder and its path (the desktop app: paths the user dropped); a name ending in `/` is an
   * empty folder, without a path. A folder onto an existing name needs `replace`, which
   * replaces the old tree whole. */
  putTree(req: {
    name: string;
    replace?: boolean;
    files: readonly { name: string; path?: string | undefined }[];
    survive?: number;
    happy?: number;
  }): Promise<FolderReport>;
  /** Stores a folder streamed by a front end (the web bridge's folder upload) in one commit,
   * as putTree: `files` lists it, `data` carries their bytes one after the other. */
  putTreeStream(req: {
    name: string;
    replace?: boolean;
    files: readonly TreeFileSize[];
    data: AsyncIterable<Uint8Array>;
    survive?: number;
    happy?: number;
  }): Promise<FolderReport>;
  /** Writes a verified file to `output` on the machine that runs the engine, or nothing. A
   * guarded file whose policy asks for approvals waits for them (progress: op 'approval'),
   * up to 5 minutes, then fails with code 'approval'. */
  getFile(req: { name: string; output: string; force?: boolean }): Promise<void>;
  removeFile(req: { name: string }): Promise<void>;
  /** Removes a folder (`NAME/`) and everything in it, in one commit. */
  removeFolder(req: { name: string }): Promise<void>;
  /** Renames or moves a file or folder in one commit; no shard is written again. Into an
   * existing folder it keeps its own name. */
  moveName(req: { from: string; to: string }): Promise<MoveReport>;
  placement(req: { name: string }): Promise<PlacementReport>;
  verify(req: { deep: boolean }): Promise<VerifyReport>;
  accessLog(): Promise<AccessRequest[]>;
  /** Openings of guarded files waiting for guardian approvals (the last 15 minutes). */
  guardRequests(): Promise<GuardRequest[]>;
  /** As a guardian, approves (for 14 minutes) or denies the pending request `id`. */
  answerGuardRequest(req: { id: string; approve: boolean }): Promise<GuardRequest>;
  /** Re-shares the guard's key to the vault's node locations as they are (or finishes a
   * re-sharing): waits for the policy's approvals (progress: op 'approval', GUARD_CHANGE). */
  reshareGuard(): Promise<GuardReshareReport>;
  /** Makes the device with guard key `device` a guardian, or no longer one; waits for the
   * policy's approvals like reshareGuard. */
  changeGuardian(req: { op: 'add' | 'remove'; device: string }): Promise<{ guardians: number; approvals: number }>;
  /** Rebuilds lost or damaged shards, rewrites manifests, re-deals key shares, collects garbage. */
  repair(req: { deep: boolean }): Promise<RepairReport>;
  /** Reads a location's fields (secrets need not be given) and, for SFTP without a pinned key,
   * fetches the host key to confirm. */
  probeLocation(req: { location: LocationInput }): Promise<LocationProbe>;
  /** Adds a location (deals the key shares again). `hostKey` is the fingerprint the user
   * confirmed after probeLocation; a server presenting another key is refused. */
  addLocation(req: {
    location: LocationInput;
    hostKey?: string;
    allowInsecureHttp?: boolean;
    /** Its failure domain (locations that fail together); absent or '': none. */
    domain?: string;
  }): Promise<void>;
  /** Renames a location and/or gives it a new address or credentials (`location`): the new address
   * must already hold this location's data. `hostKey` as for addLocation. */
  editLocation(req: {
    name: string;
    newName?: string;
    location?: LocationInput;
    hostKey?: string;
    allowInsecureHttp?: boolean;
    /** A new failure domain ('' takes it away): the key shares are dealt again over the domains. */
    domain?: string;
  }): Promise<void>;
  /** The facts of the printable recovery kit (src/shared/kit.ts words them); never a credential
   * nor the recovery code. Needs the vault unlocked. */
  kitFacts(): Promise<KitFacts>;
  /** Moves the location's shards to the others, then removes it; `untrusted` also rotates the vault key. */
  removeLocation(req: { name: string; untrusted: boolean }): Promise<void>;
  testLocation(req: { name: string }): Promise<LocationTest>;
  /** Checks a folder location at once, before a vault is made over it; `create`: makes its
   * last folder now (the user asked: init --create), never a missing parent or through a link. */
  checkFolder(req: { location: LocationInput; create?: boolean }): Promise<FolderCheck>;
  /** Gives this device a location's password (or an SFTP key's passphrase; neither: the
   * ssh-agent and ~/.ssh keys) at the address it has: a location learned on a new machine
   * (LocationStatus.signIn). An SFTP server must show the pinned host key; the server must
   * hold this location's data. */
  signInLocation(req: { name: string; password?: string; keyPassphrase?: string }): Promise<void>;
  /** The recovery drill: what would be lost without the `lose` locations (names); with
   * `passphrase`, also a real open from a fresh profile over the others, reading files back. */
  drill(req: { lose: readonly string[]; passphrase?: string }): Promise<DrillReport>;
  /** Seals the key shares under `newPassphrase` (held to createVault's strength rule);
   * `passphrase` must be the current one. With `newRecoveryCode` a new code replaces the old
   * one and waits in recoveryKit() until confirmed. */
  changePassphrase(req: {
    passphrase: string;
    newPassphrase: string;
    newRecoveryCode?: boolean;
    allowWeakPassphrase?: boolean;
  }): Promise<PassphraseChangeReport>;
  /** Serves the unlocked vault as a WebDAV drive on 127.0.0.1 (one at a time: a second call
   * answers the running one); it stops when the vault locks. */
  startDrive(): Promise<DriveInfo>;
  stopDrive(): Promise<void>;
  /** The running drive, or null. */
  driveStatus(): Promise<DriveInfo | null>;
  /** Changes the policy over the vault's locations (n = their number) in the first run's words,
   * deals the key shares for the new t (a new vault key when it rises) and re-codes every file
   * (progress: op 'policy'). Given the policy the vault has, it resumes an unfinished job. */
  changePolicy(req: { survive: number; secretAgainst: number }): Promise<PolicyChangeReport>;
  /** Subscribes to progress of long work; returns the unsubscribe function. */
  onProgress(listener: (event: ProgressEvent) => void): () => void;
}
