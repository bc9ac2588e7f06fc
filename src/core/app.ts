/**
 * The engine behind every front end: implements the typed API of src/shared/api.ts over a
 * profile folder. Electron's IPC handlers and the web bridge call it; it answers with
 * status objects only, never keys.
 */
import { engineConfig } from './config';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { kitFacts } from './kit';
import type { DriveInfo, FileEntry, FolderReport, ProgressEvent, RecoveryKit, ShardvaultApi } from '../shared/api';
import { GUARD_CHANGE } from '../shared/api';
import { DEFAULT_KDF, type KdfParams } from './crypto/kdf';
import { requireStrongPassphrase } from './crypto/passphrase-strength';
import { folderPrefix } from '../shared/file-name';
import { NotFoundError, ShardvaultError, UsageError } from './errors';
import { getFile, listFiles, placement, putFile, readAccessLog, removeFile, completeAway, verify } from './vault/files';
import { previewPolicy } from './vault/domains';
import { type FolderPut, moveName, removeFolder, storeTree } from './vault/folders';
import { treeFromPaths, treeFromStream } from './vault/tree-upload';
import { normalizeFingerprint } from './vault/keys';
import { loadProfile, lockProfile } from './vault/profile';
import { Vault } from './vault/vault';
import { statusReport, summary } from './vault/status';
import {
  addLocation,
  checkFolder,
  editLocation,
  removeLocation,
  signInLocation,
  testLocation,
} from './vault/location-ops';
import { repair } from './vault/repair';
import { readLocation, sftpTarget, type LocationSecrets } from './storage/open';
import { drill } from './vault/drill';
import { startDrive, type Drive } from './drive/server';
import { vaultStore } from './drive/store';
import { changePolicy, jobStatus, replaceOverDomains, requestedPolicy, runRecode } from './vault/policy-change';
import { answerGuardRequest, guardRequests } from './vault/guard-status';
import { guardGuardians, readDeviceKey } from './vault/guard';
import { waitForChangeApprovals } from './vault/guard-requests';
import { reshareNow } from './vault/guard-reshare';

/** `status` lives in vault/status.ts (so the CLI's loads no app.ts); the front ends import it here. */
export { statusReport };

/**
 * A front end's own store for the locations' credentials (the desktop app's OS keystore,
 * src/main/credentials.ts). It only lets a locked app reach password-protected locations
 * (their health, before the passphrase is typed); the profile's copy, sealed under the
 * passphrase, stays the one everything else needs, so losing the store loses nothing.
 */
export interface CredentialStore {
  /** What the last unlock saved, by location id; null when there is nothing usable. */
  load(): Promise<ReadonlyMap<string, LocationSecrets> | null>;
  save(credentials: ReadonlyMap<string, LocationSecrets>): Promise<void>;
}

export interface AppOptions {
  readonly profileDir: string;
  readonly credentials?: CredentialStore;
  /**
   * For tests only: the scrypt cost of new vaults, below the floor (MIN_NEW_KDF_LOGN) if it
   * likes. The desktop app and `serve` never set it: their vaults get DEFAULT_KDF.
   */
  readonly insecureKdf?: KdfParams;
  readonly segmentSize?: number;
  /** Each request to the drive (startDrive) calls it: use of the vault, which the front end's
   * auto-lock counts as activity. */
  readonly onDriveActivity?: () => void;
  /** How often shard copies staged for a location that was away are moved to it once it is
   * back (milliseconds; default a minute). The dashboard's status calls also start it. */
  readonly completeEveryMs?: number;
}

/**
 * One long-lived engine for a UI process. Holds the profile lock while it lives, so a CLI
 * command on the same profile gets a clear "busy" instead of interleaving writes.
 */
export function createApp(options: AppOptions): ShardvaultApi & { close(): Promise<void> } {
  const listeners = new Set<(e: ProgressEvent) => void>();
  const emit = (e: ProgressEvent): void => listeners.forEach((l) => l(e));
  let vault: Vault | null = null;
  let release: (() => Promise<void>) | null = null;
  // The recovery kit of a vault created here, until the user confirms it or the vault locks:
  // in this process's memory only, never on disk.
  let kit: RecoveryKit | null = null;
  // One operation at a time: the engine's writes to the vault head, the audit log and the
  // profile must not interleave.
  let queue: Promise<unknown> = Promise.resolve();
  let queued = 0;
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    queued++;
    const run = (): Promise<T> => work().finally(() => queued--);
    const next = queue.then(run, run);
    queue = next.catch(() => undefined);
    return next;
  };
  // Reads that write nothing (no location, no profile, no audit entry) run beside the queue:
  // the dashboard and the file list must answer while a long put, export or repair holds it.
  const beside = <T>(work: () => Promise<T>): Promise<T> => work();

  const vaultOptions = {
    onProgress: emit,
    // The front end says where (../config.ts): the CLI's stderr, the desktop app's log.
    onWarning: (m: string) => engineConfig().warn(m),
  };

  // One load at a time, shared by the queue and the reads beside it.
  let loading: Promise<Vault | null> | null = null;
  const load = (): Promise<Vault | null> => {
    if (vault) return Promise.resolve(vault);
    loading ??= (async () => {
      release ??= await lockProfile(options.profileDir);
      if (!(await loadProfile(options.profileDir))) return null;
      const kept = (await options.credentials?.load().catch(() => null)) ?? undefined;
      vault = await Vault.load(options.profileDir, kept ? { ...vaultOptions, keptCredentials: kept } : vaultOptions);
      return vault;
    })().finally(() => (loading = null));
    return loading;
  };
  // Best effort: without its copy the locked app just can't show those locations' health.
  const keepCredentials = async (v: Vault): Promise<void> => {
    if (!options.credentials) return;
    await options.credentials
      .save(v.openedCredentials())
      .catch((err: unknown) => vaultOptions.onWarning(`the credentials were not kept in the keystore: ${String(err)}`));
  };
  const unlocked = async (): Promise<Vault> => {
    const v = await load();
    if (!v) throw new NotFoundError('there is no vault yet: create or open one');
    v.requireKeys();
    return v;
  };

  // Shard copies stored while their location was away move to it once it is back, in the
  // background and in the queue, whenever nothing else waits there; locked too (moving sealed
  // bytes needs no key; the manifests of files stored meanwhile follow once unlocked).
  let completing: Promise<void> | null = null;
  const completeInBackground = (): void => {
    if (!vault || completing || queued > 0) return;
    completing = serial(async () => {
      if (!vault) return;
      const done = await completeAway(vault);
      for (const w of [...done.left, ...done.conflicts]) vaultOptions.onWarning(w);
    })
      .catch((err: unknown) => {
        vaultOptions.onWarning(`moving staged shard copies: ${(err as Error).message}`);
      })
      .finally(() => {
        completing = null;
      });
  };
  const completer = setInterval(completeInBackground, options.completeEveryMs ?? 60_000);
  completer.unref();

  // The vault as a drive (drive/): its requests take their turn in the queue like the UI's.
  let drive: Drive | null = null;
  const driveInfo = (d: Drive): DriveInfo => ({
    url: d.url,
    address: `http://127.0.0.1:${d.port}/`,
    user: d.user,
    password: d.password,
    port: d.port,
  });
  const stopDrive = async (): Promise<void> => {
    const running = drive;
    drive = null;
    await running?.close();
  };

  return {
    // The profile keeps when each location was last seen; it is saved only while nothing in
    // the queue may be saving it too.
    status: () =>
      beside(async () => {
        if (!(await load())) return null;
        const report = await statusReport(vault!, { save: queued === 0 });
        if (report.locations.some((l) => l.reachable && l.staged > 0)) completeInBackground();
        return report;
      }),
    createVault: (req) =>
      serial(async () => {
        if (await load()) throw new UsageError('this profile already has a vault');
        await requireStrongPassphrase(req.passphrase, { allowWeak: req.allowWeakPassphrase ?? false });
        const created = await Vault.create(options.profileDir, {
          locations: req.locations.map(readLocation),
          policy: { survive: req.survive, secretAgainst: req.secretAgainst },
          passphrase: req.passphrase,
          kdf: options.insecureKdf ?? DEFAULT_KDF,
          segmentSize: options.segmentSize,
          ...vaultOptions,
          allowInsecureHttp: req.allowInsecureHttp ?? false,
          ...(req.domains ? { domainAt: req.domains } : {}),
        });
        vault = created.vault;
        await keepCredentials(vault);
        kit = {
          vault: summary(vault),
          recoveryCode: created.recoveryCode,
          locations: vault.locations.map((l) => l.display),
        };
        return summary(vault);
      }),
    policyPreview: (req) => Promise.resolve(previewPolicy(req.locations, req.survive, req.secretAgainst)),
    recoveryKit: () => beside(() => Promise.resolve(vault?.unlocked ? kit : null)),
    confirmRecoveryKit: () =>
      beside(() => {
        kit = null;
        return Promise.resolve();
      }),
    openVault: (req) =>
      serial(async () => {
        if (await load()) throw new UsageError('this profile already has a vault');
        // With a recovery code, the passphrase given is a new one.
        if (req.recoveryCode && req.passphrase !== undefined)
          await requireStrongPassphrase(req.passphrase, { allowWeak: req.allowWeakPassphrase ?? false });
        const secret = req.recoveryCode ? { recoveryCode: req.recoveryCode } : { passphrase: req.passphrase ?? '' };
        vault = await Vault.attach(
          options.profileDir,
          req.locations.map(readLocation),
          secret,
          req.recoveryCode ? (req.passphrase ?? null) : null,
          {
            ...vaultOptions,
            allowInsecureHttp: req.allowInsecureHttp ?? false,
            ...(req.expectFingerprint ? { expectFingerprint: normalizeFingerprint(req.expectFingerprint) } : {}),
          },
        );
        await keepCredentials(vault);
        return summary(vault);
      }),
    unlock: (req) =>
      serial(async () => {
        const v = await load();
        if (!v) throw new NotFoundError('there is no vault yet: create or open one');
        // The unlock logs itself (vault/session/unlock.ts), as every front end's does.
        await v.unlock(
          { passphrase: req.passphrase },
          req.oldPassphrase !== undefined ? { oldPassphrase: req.oldPassphrase } : {},
        );
        // The app is a writer: it finishes a key-share change the unlock found (the CLI
        // leaves that to its writing commands, so that ls and get never write).
        await v.finishKeyShareChange();
        await keepCredentials(v);
      }),
    lock: async () => {
      // The drive goes first: its requests wait in the queue, and must find no keys after it.
      await stopDrive();
      return serial(() => {
        kit = null;
        vault?.lock();
        return Promise.resolve();
      });
    },
    listFiles: () => beside(async () => listFiles(await unlocked())),
    putFile: (req) =>
      serial(async () => {
        const st = await fs.stat(req.path).catch(() => null);
        if (!st?.isFile()) throw new UsageError(`${req.path} is not a readable file`);
        const name = req.name ?? req.path.split(/[\\/]/).pop()!;
        return putFile(await unlocked(), createReadStream(req.path, { highWaterMark: 1 << 20 }), name, {
          replace: req.replace ?? false,
          expectedSize: st.size,
          ...storeOptions(req),
        });
      }),
    putStream: (req): Promise<FileEntry> =>
      serial(async () =>
        putFile(await unlocked(), req.data, req.name, {
          replace: req.replace ?? false,
          ...(req.expectedSize !== undefined ? { expectedSize: req.expectedSize } : {}),
          ...storeOptions(req),
        }),
      ),
    putTree: (req) =>
      serial(async () => {
        const prefix = folderPrefix(req.name);
        return folderReport(
          await storeTree(await unlocked(), prefix, () => treeFromPaths(prefix, req.files), {
            replace: req.replace ?? false,
            ...storeOptions(req),
          }),
        );
      }),
    putTreeStream: (req) =>
      serial(async () => {
        const prefix = folderPrefix(req.name);
        return folderReport(
          await storeTree(
            await unlocked(),
            prefix,
            () => Promise.resolve(treeFromStream(prefix, req.files, req.data)),
            {
              replace: req.replace ?? false,
              ...storeOptions(req),
            },
          ),
        );
      }),
    getFile: (req) =>
      serial(async () => {
        await getFile(await unlocked(), req.name, req.output, {
          force: req.force ?? false,
          // A guarded file whose policy asks for approvals: "n of g" as progress while it waits.
          counted: (done, total) => emit({ op: 'approval', name: req.name, done, total }),
        });
      }),
    removeFile: (req) => serial(async () => removeFile(await unlocked(), req.name)),
    removeFolder: (req) =>
      serial(async () => {
        await removeFolder(await unlocked(), req.name);
      }),
    moveName: (req) => serial(async () => moveName(await unlocked(), req.from, req.to)),
    placement: (req) =>
      beside(async () => {
        const r = await placement(await unlocked(), req.name);
        return { name: r.name, shards: r.shards };
      }),
    verify: (req) => serial(async () => verify(await unlocked(), req.deep)),
    accessLog: () => beside(async () => (await readAccessLog(await unlocked())).requests),
    // Reads and one sealed record of its own on the locations (no head, no audit entry): beside
    // the queue, so a guardian answers while its own device is busy, and a requester's open
    // that waits in the queue does not keep its own list from showing.
    guardRequests: () => beside(async () => guardRequests(await unlocked())),
    answerGuardRequest: (req) => beside(async () => answerGuardRequest(await unlocked(), req.id, req.approve)),
    // Changes of the guard wait for the policy's approvals: "n of g" as progress meanwhile.
    reshareGuard: () =>
      serial(async () => {
        const done = await reshareNow(await unlocked(), {
          counted: (n, total) => emit({ op: 'approval', name: GUARD_CHANGE, done: n, total }),
        });
        return { changed: done !== null, nodes: done?.nodes ?? [], warnings: done?.warnings ?? [] };
      }),
    changeGuardian: (req) =>
      serial(async () => {
        const v = await unlocked();
        const device = readDeviceKey(req.device);
        const waiting = {
          counted: (n: number, total: number) => emit({ op: 'approval', name: GUARD_CHANGE, done: n, total }),
        };
        return guardGuardians(v, req.op, device, (change) =>
          waitForChangeApprovals(
            v,
            { kind: 'policy', change },
            `guard guardian ${req.op} ${req.device.slice(0, 10)}…`,
            waiting,
          ),
        );
      }),
    repair: (req) => serial(async () => repair(await unlocked(), { deep: req.deep })),
    probeLocation: (req) =>
      serial(async () => {
        const parsed = readLocation(req.location);
        const target = sftpTarget(parsed);
        const hostKey =
          target && !target.fingerprint
            ? await (await import('./storage/sftp/host-key')).fetchHostFingerprint(target.host, target.port)
            : null;
        return { kind: parsed.kind, display: parsed.display, hostKey };
      }),
    addLocation: (req) =>
      serial(async () => {
        const v = await unlocked();
        const confirm = (_display: string, fingerprint: string): Promise<boolean> =>
          Promise.resolve(fingerprint === req.hostKey);
        await addLocation(
          v,
          readLocation(req.location),
          confirm,
          req.allowInsecureHttp ?? false,
          req.domain === undefined ? {} : { domain: req.domain },
        );
      }),
    editLocation: (req) =>
      serial(async () => {
        const confirm = (_display: string, fingerprint: string): Promise<boolean> =>
          Promise.resolve(fingerprint === req.hostKey);
        const change = {
          ...(req.newName !== undefined ? { name: req.newName } : {}),
          ...(req.location !== undefined ? { spec: readLocation(req.location) } : {}),
          ...(req.domain !== undefined ? { domain: req.domain } : {}),
          allowInsecureHttp: req.allowInsecureHttp ?? false,
          // Enrolling at a node of a guard that asks for approvals: "n of g" while it waits.
          guard: {
            counted: (done: number, total: number) => emit({ op: 'approval', name: GUARD_CHANGE, done, total }),
          },
        };
        const v = await unlocked();
        await editLocation(v, req.name, change, confirm);
        // Files a domain now holds too much of move (what waits for a location away, repair finishes).
        if (req.domain !== undefined) await replaceOverDomains(v, { onlyWhenQueued: true });
      }),
    kitFacts: () => beside(async () => kitFacts(await unlocked())),
    removeLocation: (req) =>
      serial(async () => {
        await removeLocation(await unlocked(), req.name, { untrusted: req.untrusted });
      }),
    checkFolder: (req) => serial(() => checkFolder(req.location, req.create ?? false)),
    signInLocation: (req) =>
      serial(async () => {
        const secrets = {
          ...(req.password ? { password: req.password } : {}),
          ...(req.keyPassphrase ? { keyPassphrase: req.keyPassphrase } : {}),
        };
        const v = await unlocked();
        await signInLocation(v, req.name, secrets);
        await keepCredentials(v);
      }),
    testLocation: (req) => serial(async () => testLocation((await load()) ?? (await unlocked()), req.name)),
    drill: (req) =>
      serial(async () =>
        drill(await unlocked(), req.lose, {
          ...(req.passphrase === undefined ? {} : { passphrase: req.passphrase, tempRoot: tmpdir() }),
        }),
      ),
    changePassphrase: (req) =>
      serial(async () => {
        const v = await unlocked();
        await requireStrongPassphrase(req.newPassphrase, { allowWeak: req.allowWeakPassphrase ?? false });
        const change = await v.changePassphrase(req.newPassphrase, {
          current: req.passphrase,
          newRecoveryCode: req.newRecoveryCode ?? false,
          // Held like a new vault's kit: shown once, until confirmed or locked.
          onRecoveryCode: (code) => {
            kit = { vault: summary(v), recoveryCode: code, locations: v.locations.map((l) => l.display) };
          },
        });
        await keepCredentials(v);
        return {
          reached: change.reached,
          away: change.away,
          retired: change.retired,
          newRecoveryCode: change.recoveryCode !== null,
        };
      }),
    startDrive: () =>
      serial(async () => {
        const v = await unlocked();
        drive ??= await startDrive(
          vaultStore(
            (work) => serial(async () => work(await unlocked())),
            () => v,
          ),
          {
            onError: (m) => vaultOptions.onWarning(`drive: ${m}`),
            ...(options.onDriveActivity ? { onActivity: options.onDriveActivity } : {}),
          },
        );
        return driveInfo(drive);
      }),
    stopDrive: () => beside(stopDrive),
    driveStatus: () => beside(() => Promise.resolve(drive && vault?.unlocked ? driveInfo(drive) : null)),
    changePolicy: (req) =>
      serial(async () => {
        const v = await unlocked();
        const p = v.policy;
        // The request's numbers by the one rule (over domains when locations share one).
        const want = requestedPolicy(v, req);
        const same = want.data === p.data && want.total === p.total && want.threshold === p.threshold;
        // The policy it has, with a job left: resume it; else change it.
        const changed = same && v.head().recode ? null : await changePolicy(v, req);
        const started = jobStatus(v.head());
        try {
          await runRecode(v, {
            onProgress: (r) => emit({ op: 'policy', name: '', done: r.bytesDone, total: r.bytes }),
          });
        } catch (err) {
          // Files that could not be re-coded now keep their old coding; the report says how many.
          if (!(err instanceof ShardvaultError && err.code === 'unavailable')) throw err;
        }
        const after = jobStatus(v.head());
        const left = after ? after.files - after.filesDone : 0;
        const now = v.policy;
        return {
          data: now.data,
          total: now.total,
          threshold: now.threshold,
          rotated: changed?.rotated ?? false,
          files: started?.files ?? 0,
          bytes: started?.bytes ?? 0,
          left,
        };
      }),
    onProgress: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: async () => {
      kit = null;
      await stopDrive();
      clearInterval(completer);
      await completing;
      await vault?.close();
      vault = null;
      await release?.();
      release = null;
    },
  };
}

/** The optional choices of a store request, as putFile takes them. */
/** A folder's put as the bridges answer it (what it skipped stays with the CLI's put DIR). */
function folderReport({ skipped: _skipped, ...report }: FolderPut): FolderReport {
  return report;
}

function storeOptions(req: { survive?: number; happy?: number; guarded?: boolean }): {
  survive?: number;
  happy?: number;
  guarded?: boolean;
} {
  return {
    ...(req.survive !== undefined ? { survive: req.survive } : {}),
    ...(req.happy !== undefined ? { happy: req.happy } : {}),
    ...(req.guarded ? { guarded: true } : {}),
  };
}
