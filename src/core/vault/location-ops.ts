/**
 * Changing the set of locations of a living vault. Adding one deals a new generation of
 * key shares over the new set (no file is re-encrypted). Removing one first moves its
 * shards to the others (same bytes, rebuilt from any k), or, when every location holds one
 * shard of each file, re-codes every file to one shard fewer over the rest (policy-change.ts);
 * then re-deals over the rest, so its old share stops counting once t + X locations hold the
 * new generation.
 */
import { engineConfig } from '../config';
import { randomBytes } from 'node:crypto';
import { LOCATION_PROBE_BYTES, type FolderCheck } from '../../shared/api';
import type { LocationInput } from '../../shared/location-kinds';
import { plural } from '../../shared/format';
import { NotFoundError, ShardvaultError, UsageError } from '../errors';
import type { Head } from '../format/head';
import { encodeManifest, type Manifest } from '../format/manifest';
import { encodeVaultRecord, isFormatObjectName, PATHS } from '../format/records';
import { createRootOf, readObject, type LocationHealth, type StorageNode } from '../storage/node';
import {
  createNode,
  readGiven,
  readLocation,
  requirePrivateTransport,
  splitName,
  type LocationGiven,
  type LocationSecrets,
} from '../storage/open';
import { CheckedNode, readVaultRecord } from './checked-node';
import { fetchManifest, freshManifestVersion, openFileKeys, readSpecOf, rewrap } from './files';
import { askKeyPassphrases, nameSpecs, pinHostKeys, type NamedSpec } from './locations';
import { rebuildShards } from './pipeline/rebuild';
import { domainField, domainKeyFor, placeInDomains, readDomain } from './domains';
import { survivesLosses } from './policy';
import { runRecode, setPolicy } from './policy-change';
import type { Location, Vault } from './vault';
import { equalBytes, wipe } from '../crypto/bytes';
import { deviceSigner } from '../guard/coordinator';
import { deviceKeyText } from './guard';
import { enrolAtNode } from './guard-enrol';
import { logReshare, nodeLocationIds, reshareGuard, type ReshareResult } from './guard-reshare';
import type { ApprovalWait } from './guard';
import { deriveVaultKeys, newVaultKey, wipeVaultKeys } from './keys';
import { storedFiles } from './packs';

export interface LocationInfo {
  /** What the command should say besides (a node that could not join the guard). */
  readonly warnings?: readonly string[];
  readonly name: string;
  readonly kind: Location['kind'];
  readonly display: string;
  /** Its failure domain; absent: none (a domain of its own). */
  readonly domain?: string;
}

export async function addLocation(
  vault: Vault,
  spec: LocationGiven,
  confirmHostKey = vault.options.confirmHostKey,
  allowInsecureHttp = vault.options.allowInsecureHttp ?? false,
  opts: { readonly domain?: string; readonly guard?: ApprovalWait } = {},
): Promise<LocationInfo> {
  const domain = opts.domain === undefined ? undefined : readDomain(opts.domain);
  const [named] = nameSpecs(
    [spec],
    0,
    vault.locations.map((l) => l.name),
    allowInsecureHttp,
  );
  const detail = changeWords(`added ${named!.name} (${named!.display})`);
  return vault.audited('location', { detail }, async (used) => {
    if (vault.locations.some((l) => l.display === named!.display))
      throw new UsageError(`${named!.display} is already a location of this vault`);
    const [parsed] = await askKeyPassphrases(
      await pinHostKeys([named!], confirmHostKey),
      vault.options.askKeyPassphrase,
      engineConfig().env,
    );
    const p = sharedDeviceKey(vault, parsed!);
    used.add(p.name);
    const id = randomBytes(16).toString('hex');
    const raw = createNode(p, p.secrets, { env: engineConfig().env });
    try {
      const health = await raw.health();
      if (!health.reachable)
        throw new ShardvaultError(
          'unavailable',
          `${p.name} (${p.display}) is not reachable: ${health.error ?? 'offline'}`,
        );
      if ((await raw.stat(PATHS.vault)) && !(await halfAdded(vault, raw)))
        throw new ShardvaultError('exists', `${p.name} (${p.display}) already holds a vault`);
      await raw.put(PATHS.vault, encodeVaultRecord(vault.locationRecord(id)));
    } catch (err) {
      // Not the vault's yet: an open SSH session would keep the command from exiting.
      await raw.close().catch(() => undefined);
      throw err;
    }
    const location: Location = {
      id,
      name: p.name,
      kind: p.kind,
      display: p.display,
      node: new CheckedNode(raw, vault.vaultId, id),
    };
    await vault.setLocations(
      [...vault.locations, location],
      [
        ...vault.profileLocations(),
        {
          id,
          name: p.name,
          kind: p.kind,
          spec: p.spec,
          sealedSecrets: vault.sealCredentials(p.secrets, id),
          lastSeen: new Date().toISOString(),
          ...domainField(domain),
        },
      ],
    );
    await vault.commit((h) => ({
      ...h,
      locations: [
        ...h.locations,
        { id, name: p.name, kind: p.kind, display: p.display, spec: p.spec, ...domainField(domain) },
      ],
    }));
    await vault.redeal();
    // Every location holds every manifest, so any t of them can list and read the vault.
    for (const file of storedFiles(vault.head())) {
      const m = await fetchManifest(vault, file);
      await location.node.put(PATHS.manifest(file.id, file.version), encodeManifest(m, vault.requireKeys().manifest));
    }
    // A node added to a guarded vault joins the guard: its key is re-shared to include it.
    const warnings: string[] = [];
    if (p.kind === 'node' && vault.head().guard !== undefined) {
      try {
        const joined = await reshareGuard(vault, nodeLocationIds(vault), opts.guard);
        warnings.push(...(joined?.warnings ?? []));
        await logReshare(vault, joined);
      } catch (err) {
        warnings.push(
          `${p.name} is a location but not a node of the guard yet: ${(err as Error).message} ` +
            '(then: shardvault guard reshare)',
        );
      }
    }
    return {
      name: p.name,
      kind: p.kind,
      display: p.display,
      ...domainField(domain),
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  });
}

/**
 * Renames a location, or gives it a new address or new credentials (a NAS with a new IP,
 * a rotated password). Nothing moves: the new address must already hold this location's
 * data (its shardvault.json names this vault and this location), else it is refused,
 * so pointing a location at the wrong disk or server can't hide its shards.
 */
export async function editLocation(
  vault: Vault,
  name: string,
  change: {
    readonly name?: string;
    readonly spec?: LocationGiven;
    readonly allowInsecureHttp?: boolean;
    /** A new failure domain; '' takes it away. The key shares are dealt again over the new domains. */
    readonly domain?: string;
    /** Waiting for the guardians when a node of the guard wants them to approve this device's enrolment. */
    readonly guard?: ApprovalWait;
  },
  confirmHostKey = vault.options.confirmHostKey,
): Promise<LocationInfo> {
  const existing = vault.locations.find((l) => l.name === name);
  if (!existing) throw new UsageError(`no location named ${name}`);
  const newName = change.name ?? existing.name;
  splitName(`#${newName}`); // the same rule as a SPEC's #NAME
  if (newName !== name && vault.locations.some((l) => l.name === newName))
    throw new UsageError(`a location is called ${newName} already`);
  const given = change.spec === undefined ? null : readGiven(change.spec);
  const moved = given === null ? null : given.display;
  const before = vault.domainLocations().find((l) => l.id === existing.id)?.domain;
  const domain = change.domain === undefined ? before : readDomain(change.domain);
  const words = [
    ...(newName !== name ? [`renamed ${name} to ${newName}`] : []),
    ...(domain !== before ? [domain === undefined ? `${newName} has no domain` : `${newName} is in ${domain}`] : []),
    ...(moved === null
      ? []
      : [moved === existing.display ? `new credentials for ${newName}` : `moved ${newName} to ${moved}`]),
  ];
  return vault.audited('location', { detail: changeWords(words.join('; ')) }, async (used) => {
    used.add(newName);
    let location: Location = { ...existing, name: newName };
    const entry = vault.profileLocations().find((e) => e.id === existing.id)!;
    let stored = { ...entry, name: newName };
    if (given !== null) {
      const checked = requirePrivateTransport(
        given,
        change.allowInsecureHttp ?? vault.options.allowInsecureHttp ?? false,
      );
      const [p] = await askKeyPassphrases(
        await pinHostKeys([{ ...checked, name: newName }], confirmHostKey),
        vault.options.askKeyPassphrase,
        engineConfig().env,
      );
      const parsed = sharedDeviceKey(vault, p!, existing.id);
      if (vault.locations.some((l) => l.id !== existing.id && l.display === parsed.display))
        throw new UsageError(`${parsed.display} is already another location of this vault`);
      if (parsed.kind === 'node') await enrolGuarded(vault, parsed.spec, parsed.secrets, newName, change.guard);
      const raw = createNode(parsed, parsed.secrets, { env: engineConfig().env });
      try {
        await proveSameLocation(vault, raw, existing.id, parsed.display);
      } catch (err) {
        await raw.close().catch(() => undefined);
        throw err;
      }
      location = {
        id: existing.id,
        name: newName,
        kind: parsed.kind,
        display: parsed.display,
        node: new CheckedNode(raw, vault.vaultId, existing.id),
      };
      // A new address with its credentials is a sign-in too (needsSignIn is dropped).
      const { needsSignIn: _signedIn, ...known } = stored;
      stored = {
        ...known,
        kind: parsed.kind,
        spec: parsed.spec,
        sealedSecrets: vault.sealCredentials(parsed.secrets, existing.id),
      };
    }
    await vault.setLocations(
      vault.locations.map((l) => (l.id === existing.id ? location : l)),
      vault.profileLocations().map((e) => (e.id === existing.id ? stored : e)),
    );
    const edit = (h: Head): Head => ({
      ...h,
      locations: h.locations.map((l) => {
        if (l.id !== existing.id) return l;
        const { domain: _old, ...entry } =
          change.spec === undefined
            ? { ...l, name: newName }
            : { id: l.id, name: newName, kind: location.kind, display: location.display, spec: stored.spec };
        return { ...entry, ...domainField(domain) };
      }),
    });
    // A new domain changes which locations share a key share: the head names it with the deal.
    if (domain !== before) await vault.redeal(edit);
    else await vault.commit(edit);
    if (location.node !== existing.node) await existing.node.close().catch(() => undefined);
    return { name: newName, kind: location.kind, display: location.display, ...domainField(domain) };
  });
}

/**
 * A node enrolment that may need the guardians' approval (guard-enrol.ts), recorded in the
 * access log when it did: who approved is the nodes' business, that it happened the vault's.
 */
async function enrolGuarded(
  vault: Vault,
  spec: string,
  secrets: LocationSecrets | null | undefined,
  name: string,
  waiting: ApprovalWait | undefined,
): Promise<void> {
  const device = secrets?.deviceKey
    ? deviceKeyText(deviceSigner(new Uint8Array(Buffer.from(secrets.deviceKey, 'base64url'))).publicKey)
    : '?';
  const detail = `enrol device ${device.slice(0, 10)}… at ${name}`;
  try {
    const done = await enrolAtNode(vault, spec, secrets, name, waiting);
    if (done.approvals > 0)
      await vault.audit({
        action: 'guard',
        file: null,
        detail: `${detail} with ${done.approvals} guardian approvals`,
        outcome: 'ok',
        locations: [name],
      });
  } catch (err) {
    if (err instanceof ShardvaultError && err.code === 'approval')
      await vault
        .audit({
          action: 'guard',
          file: null,
          detail: `${detail}: ${err.message}`.slice(0, 1024),
          outcome: 'denied',
          locations: [name],
        })
        .catch(() => undefined);
    throw err;
  }
}

/**
 * Gives this device a location's credentials (a password, a key's passphrase, or none, to log
 * in with the ssh-agent or ~/.ssh keys) at the address it already has: one learned from the
 * vault head on a new machine (needsSignIn), or one whose password changed. An SFTP server
 * must show the host key the address pins (a changed key is refused, as everywhere), and the
 * server must hold this location's data. Nothing on any location changes, so nothing is
 * committed; the credentials are sealed in the profile like any others.
 */
export async function signInLocation(
  vault: Vault,
  name: string,
  secrets: LocationSecrets | null,
): Promise<LocationInfo> {
  const existing = vault.locations.find((l) => l.name === name);
  if (!existing) throw new UsageError(`no location named ${name}`);
  const entry = vault.profileLocations().find((e) => e.id === existing.id)!;
  if (entry.kind === 'local') throw new UsageError(`${name} is a folder on this machine: it needs no sign-in`);
  const given = secrets && (secrets.password || secrets.keyPassphrase) ? secrets : null;
  const sealed = vault.sealCredentials(given, existing.id); // refused before any connection when locked
  const raw = createNode({ kind: entry.kind, spec: entry.spec }, given, { env: engineConfig().env });
  try {
    await proveSameLocation(vault, raw, existing.id, existing.display);
  } catch (err) {
    await raw.close().catch(() => undefined);
    throw err;
  }
  const { needsSignIn: _signedIn, ...known } = entry;
  await vault.setLocations(
    vault.locations.map((l) =>
      l.id === existing.id ? { ...existing, node: new CheckedNode(raw, vault.vaultId, existing.id) } : l,
    ),
    vault
      .profileLocations()
      .map((e) => (e.id === existing.id ? { ...known, sealedSecrets: sealed, lastSeen: new Date().toISOString() } : e)),
  );
  return { name, kind: existing.kind, display: existing.display };
}

/**
 * A folder location checked at once, before a vault is made over it (the first-run form):
 * there, missing but makeable (its parent is a real folder), or not makeable and why. With
 * `create` it makes the last folder (createRoot, as init --create: never a missing parent,
 * never through a link). A server's address is not checked here: init makes its folder.
 */
export async function checkFolder(location: LocationInput, create: boolean): Promise<FolderCheck> {
  const parsed = readLocation(location);
  if (parsed.kind !== 'local') return { display: parsed.display, state: 'server', error: null };
  const node = createNode(parsed, null);
  try {
    const health = await node.health();
    if (health.reachable) return { display: parsed.display, state: 'present', error: null };
    let asked = false;
    const outcome = await createRootOf(node, () => {
      asked = true;
      return Promise.resolve(create);
    }).catch((err: unknown) => {
      if (asked && !create) return 'missing' as const;
      if (err instanceof ShardvaultError) return err;
      throw err;
    });
    if (outcome instanceof ShardvaultError)
      return { display: parsed.display, state: 'unreachable', error: outcome.message };
    if (outcome === 'present') return { display: parsed.display, state: 'unreachable', error: health.error };
    return { display: parsed.display, state: outcome, error: null };
  } finally {
    await node.close();
  }
}

/** A folder an add of this vault was cut short on: its record names this vault and a location the head never took in. */
async function halfAdded(vault: Vault, node: StorageNode): Promise<boolean> {
  try {
    const record = await readVaultRecord(node);
    return record.vaultId === vault.vaultId && !vault.head().locations.some((l) => l.id === record.locationId);
  } catch {
    return false;
  }
}

/** Refuses an address that does not hold this location's record (or is not reachable). */
async function proveSameLocation(vault: Vault, node: StorageNode, id: string, display: string): Promise<void> {
  let record;
  try {
    record = await readVaultRecord(node);
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new UsageError(
        `${display} holds no Shardvault location: to move a location, copy its folder there first, then change its address`,
      );
    }
    if (err instanceof ShardvaultError && err.code !== 'corrupt') throw err;
    throw new UsageError(`${display} holds no readable Shardvault location record (${(err as Error).message})`);
  }
  if (record.vaultId !== vault.vaultId || record.locationId !== id) {
    throw new UsageError(`${display} holds another vault's or another location's data, not this location's`);
  }
}

/**
 * Moves every shard copy off `leaving` onto locations that hold no shard of that file (or,
 * failing that, not the same shard), as a new manifest version per file.
 */
async function moveShardsOff(
  vault: Vault,
  leaving: Location,
  stay: readonly Location[],
  health: Map<string, LocationHealth>,
): Promise<number> {
  let moved = 0;
  const usable = stay.filter((l) => health.get(l.id)?.reachable);
  for (const file of storedFiles(vault.head())) {
    const m = await fetchManifest(vault, file);
    const affected = m.shards.filter((s) => s.locations.includes(leaving.id));
    if (affected.length === 0) continue;
    const taken = new Map<string, number>();
    for (const s of m.shards)
      for (const id of s.locations) if (id !== leaving.id) taken.set(id, (taken.get(id) ?? 0) + 1);
    // The least loaded domain first (a failure domain takes no more of a file than it must),
    // then its least loaded location.
    const keyOf = domainKeyFor(vault.domainLocations());
    const inDomain = (id: string): number =>
      [...taken].filter(([other]) => keyOf(other) === keyOf(id)).reduce((sum, [, n]) => sum + n, 0);
    const targets = affected.map((s) => {
      const candidates = usable
        .filter((l) => !s.locations.includes(l.id))
        .sort((a, b) => inDomain(a.id) - inDomain(b.id) || (taken.get(a.id) ?? 0) - (taken.get(b.id) ?? 0));
      const target = candidates[0];
      if (!target)
        throw new ShardvaultError('policy', `no reachable location can take shard ${s.index} of ${file.name}`);
      taken.set(target.id, (taken.get(target.id) ?? 0) + 1);
      return { index: s.index, location: target };
    });
    const { fileKey, shardKeys } = await openFileKeys(vault, m);
    try {
      await rebuildShards(
        readSpecOf(vault, m, shardKeys),
        targets.map((t) => ({ index: t.index, node: t.location.node, path: PATHS.shard(m.shards[t.index]!.object) })),
      );
    } finally {
      wipe(fileKey, ...shardKeys);
    }
    // A version no earlier attempt used (freshManifestVersion): a move cut short before its
    // commit leaves no manifest a location could serve in place of this one.
    const version = freshManifestVersion(file.version);
    const next: Manifest = {
      ...m,
      version,
      shards: m.shards.map((s) => {
        const t = targets.find((x) => x.index === s.index);
        return t ? { ...s, locations: [...s.locations.filter((id) => id !== leaving.id), t.location.id] } : s;
      }),
    };
    // The file key and shard keys are bound to the version they were wrapped for.
    const rewrapped = rewrap(vault, m, next);
    const bytes = encodeManifest(rewrapped, vault.requireKeys().manifest);
    await vault.everywhere((l) => l.node.put(PATHS.manifest(file.id, version), bytes), usable);
    await vault.commit((h) => ({
      ...h,
      files: h.files.map((f) => (f.id === file.id ? { ...f, version } : f)),
      tombstones: [...h.tombstones, { id: file.id, version: file.version }],
    }));
    await vault.everywhere((l) => l.node.delete(PATHS.manifest(file.id, file.version)));
    moved += targets.length;
  }
  return moved;
}

/**
 * A new vault key (`also`: a change committed with it, such as a new policy): every manifest
 * is written again (next version) under the new key's
 * manifest key with its file key wrapped under the new wrapping key (no shard is touched),
 * then the new key is dealt and the head committed under it (vault.rotateTo).
 */
export async function rotateVaultKey(vault: Vault, also: (head: Head) => Head = (h) => h): Promise<void> {
  const next = newVaultKey();
  const keys = deriveVaultKeys(next, vault.vaultId);
  const bumped = new Map<string, number>();
  try {
    // Packed files have no manifest: their extents name their packs by id, whatever version.
    for (const file of storedFiles(vault.head())) {
      const m = await fetchManifest(vault, file);
      const version = file.version + 1;
      const rewrapped = rewrap(vault, m, { ...m, version }, keys.fileWrap);
      const bytes = encodeManifest(rewrapped, keys.manifest);
      const stored = await vault.everywhere((l) => l.node.put(PATHS.manifest(file.id, version), bytes));
      if (!stored.some((r) => r.value !== undefined))
        throw new ShardvaultError('unavailable', `no location took the new manifest of ${file.name}`);
      bumped.set(file.id, version);
    }
    const old = storedFiles(vault.head());
    await vault.rotateTo(next, (h) => ({
      ...also(h),
      files: h.files.map((f) => ({ ...f, version: bumped.get(f.id) ?? f.version })),
      tombstones: [...h.tombstones, ...old.map((f) => ({ id: f.id, version: f.version }))],
    }));
    await vault.everywhere(async (l) => {
      for (const f of old) await l.node.delete(PATHS.manifest(f.id, f.version));
    });
  } finally {
    wipeVaultKeys(keys);
  }
}

export async function removeLocation(
  vault: Vault,
  name: string,
  opts: { untrusted: boolean; guard?: ApprovalWait },
): Promise<{ moved: number; rotated: boolean; guard?: ReshareResult }> {
  const detail = changeWords(`removed ${name}${opts.untrusted ? ' as untrusted (the vault key was changed)' : ''}`);
  return vault.audited('location', { detail }, async (used) => {
    const leaving = vault.locations.find((l) => l.name === name);
    if (!leaving) throw new UsageError(`no location named ${name}`);
    const stay = vault.locations.filter((l) => l.id !== leaving.id);
    const policy = vault.policy;
    const survivesNow = vault.policySurvives();
    const after = Math.max(
      0,
      survivesLosses(
        placeInDomains(
          policy.total,
          Math.min(policy.replicas, stay.length),
          stay.map((l) => l.id),
          domainKeyFor(vault.domainLocations()),
          policy.data,
        ),
        policy.data,
      ),
    );
    if (stay.length < policy.threshold) {
      throw new ShardvaultError(
        'policy',
        `removing ${name} would leave ${stay.length} locations; unlocking needs ${policy.threshold}`,
      );
    }
    // One shard per location and one location fewer: the files are re-coded over the rest
    // (one shard fewer each, the same losses survived) rather than doubling up shards.
    const recodeTo =
      after < survivesNow && policy.replicas === 1 && policy.total === vault.locations.length
        ? { ...policy, data: stay.length - survivesNow, total: stay.length }
        : null;
    const recodes = recodeTo !== null && recodeTo.data >= 1 && policy.threshold <= recodeTo.data;
    if (!recodes && (after < survivesNow || policy.threshold > stay.length - after)) {
      throw new ShardvaultError(
        'policy',
        `removing ${name} would leave ${stay.length} locations for ${policy.total} shards per file: the vault would survive losing ` +
          `${plural(after, 'location')} instead of ${survivesNow}; add a location first`,
      );
    }
    stay.forEach((l) => used.add(l.name));
    // A node of the guard leaving: the key is re-shared among the other nodes first (refused
    // when fewer than G would be left), so guarded files keep opening and nothing has moved yet
    // if that fails.
    const guard = vault.head().guard?.members.some((m) => m.location === leaving.id)
      ? await reshareGuard(
          vault,
          nodeLocationIds(vault).filter((id) => id !== leaving.id),
          opts.guard,
        )
      : null;
    await logReshare(vault, guard);
    if (recodes) {
      // A kill here leaves the job in the head: `policy resume` finishes it over every
      // location (the one leaving included), and the removal can then be asked again.
      await setPolicy(vault, recodeTo);
      await runRecode(vault, { over: stay });
    }
    const health = await vault.health();
    const moved = await moveShardsOff(vault, leaving, stay, health);
    await vault.commit((h) => ({ ...h, locations: h.locations.filter((l) => l.id !== leaving.id) }));
    await vault.setLocations(
      stay,
      vault.profileLocations().filter((l) => l.id !== leaving.id),
    );
    // Its old share still combines with other old shares: an untrusted location's share must
    // stop opening anything new, so the vault key itself changes (manifests only).
    if (opts.untrusted) await rotateVaultKey(vault);
    else await vault.redeal();
    // Best effort: what the vault put on a location that is still reachable is removed (an
    // untrusted one may keep copies anyway: that is why its key was rotated).
    await emptyLocation(leaving).catch(() => undefined);
    return { moved, rotated: opts.untrusted, ...(guard ? { guard } : {}) };
  });
}

/** A location change for the access log: at most what a log entry's detail holds. */
function changeWords(words: string): string {
  return words.length <= 1024 ? words : `${words.slice(0, 1023)}…`;
}

async function emptyLocation(l: Location): Promise<void> {
  for (const dir of [PATHS.keysDir, PATHS.headsDir, PATHS.shardsDir, PATHS.manifestsDir, PATHS.tempDir]) {
    // What a location lists is only its claim: only names the vault makes are removed.
    for (const o of await l.node.list(dir)) if (isFormatObjectName(o.path)) await l.node.delete(o.path);
  }
  await l.node.delete(PATHS.head);
  // The record goes last: until then the location still proves which vault it belonged to.
  await l.node.delete(PATHS.vault);
}

export async function testLocation(
  vault: Vault,
  name: string,
): Promise<{
  name: string;
  reachable: boolean;
  latencyMs: number | null;
  freeBytes: number | null;
  roundTripMs: number | null;
  error: string | null;
}> {
  const l = vault.locations.find((x) => x.name === name);
  if (!l) throw new UsageError(`no location named ${name}`);
  const health = await l.node.health();
  if (!health.reachable) return { name, ...health, roundTripMs: null };
  const probe = PATHS.probe(randomBytes(8).toString('hex'));
  const data = new Uint8Array(randomBytes(LOCATION_PROBE_BYTES));
  const started = performance.now();
  try {
    // Streamed in 1 MiB chunks, as a put's shards are.
    await l.node.put(probe, chunksOf(data, 1 << 20));
    // Read back no more than was written: a server sending an endless body is refused.
    const back = await readObject(l.node, probe, LOCATION_PROBE_BYTES);
    const ok = equalBytes(back, data);
    await l.node.delete(probe);
    if (!ok)
      return { name, ...health, roundTripMs: null, error: 'the location returned different bytes than were written' };
    return { name, ...health, roundTripMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { name, ...health, reachable: false, roundTripMs: null, error: (err as Error).message };
  }
}

// eslint-disable-next-line @typescript-eslint/require-await -- a put takes an async stream
async function* chunksOf(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

/**
 * A node location added (or signed in to with a new code) takes the device key this device
 * enrolled at its other node locations: one key signs the guard's requests, and every node
 * must know it (docs/GUARD.md).
 */
function sharedDeviceKey(vault: Vault, p: NamedSpec, except: string | null = null): NamedSpec {
  if (p.kind !== 'node' || !p.secrets?.deviceKey) return p;
  const others = vault.profileLocations().filter((l) => l.kind === 'node' && l.sealedSecrets && l.id !== except);
  if (others.length === 0) return p;
  const credentials = vault.openedCredentials();
  const key = others.map((l) => credentials.get(l.id)?.deviceKey).find((k) => k !== undefined);
  return key === undefined ? p : { ...p, secrets: { ...p.secrets, deviceKey: key } };
}
