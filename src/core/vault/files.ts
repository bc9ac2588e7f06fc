/**
 * File operations over an unlocked vault: put, get, rm, ls, placement, verify, and reading
 * the audit log. Each is an access request, audited on the locations.
 */
import { randomBytes, randomInt } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { AccessRequest, FileEntry, Health, PlacementReport, ShardState, VerifyReport } from '../../shared/api';
import { fileBaseName, fileNameProblem } from '../../shared/file-name';
import { plural } from '../../shared/format';
import { survivesWords } from '../../shared/words';
import { equalBytes, wipe } from '../crypto/bytes';
import { openFrame } from '../crypto/stream';
import { TAG_BYTES } from '../crypto/aead';
import { registerTemporary, unregisterTemporary } from '../cleanup';
import { CorruptError, NotFoundError, ShardvaultError, UsageError } from '../errors';
import type { FileRef, Head, Policy } from '../format/head';
import { decodeManifest, encodeManifest, type Manifest } from '../format/manifest';
import { MAX_LOG_ENTRY_BYTES, MAX_MANIFEST_BYTES, PATHS, SHARD_HEADER_BYTES, shardHeader } from '../format/records';
import type { DurableBatch } from '../storage/durable-batch';
import { readObject } from '../storage/node';
import { WriteBehind, writeAll } from '../storage/write-behind';
import { checkChain, decodeLogEntry, type DecodedEntry } from './audit';
import type { ApprovalWait } from './guard';
import { fileKeyAad, shardKeyAad, unwrapKey, wrapKey } from './keys';
import { ShardDigest } from './pipeline/digest';
import { pieceLength, segmentCount } from './pipeline/geometry';
import { readShards, segmentBytes, type ReadSpec, type ShardProblem } from './pipeline/read';
import { warmOpener } from './open-pool';
import { rebuildShards } from './pipeline/rebuild';
import { writeShards, type ShardTarget } from './pipeline/write';
import { domainKeyFor, placeInDomains } from './domains';
import { survivesLosses } from './policy';
import { DamageRegister, type CopyRef } from './damage';
import { completeStaged, replaceFailed, stageAway, type Completion, type PlacedCopy, type Rerouted } from './staged';
import type { Location, Vault } from './vault';
import {
  collectingPacks,
  extentOf,
  isPack,
  isPacked,
  packOf,
  PackReader,
  readPack,
  shownName,
  storedFiles,
  userFiles,
} from './packs';

const newId = (): string => randomBytes(16).toString('hex');
/** Files up to this size are sealed on the calling thread (seal-pool.ts). */
const INLINE_SEAL_BYTES = 256 * 1024;
/** Device markers read at most per location (a location could list any number). */
const MAX_LOG_DEVICES = 1024;

/** The one rule for a file's name (src/shared/file-name.ts), as a usage error. */
/**
 * Commits `change`, which is applied to the heads as the locations hold them and may refuse
 * (throw) when another device changed them since this device planned. A refusal comes
 * before any head is written, so nothing will name what was stored for the change:
 * `discard` removes it, and the refusal is thrown on. Any other failure of the commit keeps
 * what was stored (a head naming it may have reached some locations; garbage collection
 * takes it if none did).
 */
export async function commitOrDiscard(
  vault: Vault,
  change: (head: Head) => Head,
  discard: () => Promise<unknown>,
): Promise<Head> {
  let refused = false;
  try {
    return await vault.commit((h) => {
      try {
        return change(h);
      } catch (err) {
        refused = true;
        throw err;
      }
    });
  } catch (err) {
    if (refused) await discard();
    throw err;
  }
}

export function checkFileName(name: string): void {
  const problem = fileNameProblem(name);
  if (problem !== null) throw new UsageError(problem);
}

export function findFile(head: Head, name: string): FileRef {
  const file = head.files.find((f) => f.name === name && !isPack(f));
  if (!file) throw new NotFoundError(`no file named ${JSON.stringify(name)} in the vault`);
  return file;
}

// ------------------------------------------------------------------ put

export interface PutOptions {
  replace?: boolean;
  expectedSize?: number;
  /** This file survives losing that many locations (more than the vault's own X costs
   * more parity: k = n − X). The seed's "dynamic sharding" by sensitivity. */
  survive?: number;
  /** At least this many distinct locations must take shards (servers of happiness);
   * default the profile's setting, else k. */
  happy?: number;
  /** A guarded file: its key also needs G of the vault's nodes (docs/GUARD.md). */
  guarded?: boolean;
}

/** Where the shards of one request's files go: worked out once per request (put, put DIR). */
export interface PutPlan {
  readonly policy: Policy;
  readonly happy: number;
  readonly askedHappy: boolean;
  readonly reachable: readonly Location[];
  readonly away: readonly Location[];
  /** Losses the request's files are to survive: the manifest goes to one location more. */
  readonly wanted: number;
  /** What the put asked for when it is more than the vault's parity (kept in the manifest:
   * a change of policy keeps at least this). */
  readonly survive?: number;
}

/** Finishes what waited for locations that are back, then plans where shards go. */
export async function planPut(vault: Vault, opts: PutOptions): Promise<PutPlan> {
  const head = vault.head();
  const policy = filePolicy(head.policy, vault.policySurvives(), opts.survive);
  const happy = opts.happy ?? happyOf(vault);
  checkHappy(vault, happy);
  // Locations that are back first get what waited for them.
  warnLeft(vault, await completeAway(vault));
  const health = await vault.health();
  const reachable = vault.locations.filter((l) => health.get(l.id)?.reachable);
  const away = vault.locations.filter((l) => !health.get(l.id)?.reachable);
  const wanted = vault.policySurvives() + (head.policy.data - policy.data);
  const survive = policy.data < head.policy.data ? opts.survive : undefined;
  return {
    policy,
    happy,
    askedHappy: opts.happy !== undefined,
    reachable,
    away,
    wanted,
    ...(survive !== undefined ? { survive } : {}),
  };
}

/** One file stored (shards and manifest) but not yet in any head. */
export interface StoredFile {
  readonly ref: FileRef;
  readonly entry: FileEntry;
  /** Deletes what was stored: for a request that fails before its commit. */
  discard(): Promise<void>;
}

export async function putFile(
  vault: Vault,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  name: string,
  opts: PutOptions = {},
): Promise<FileEntry> {
  checkFileName(name);
  // A writing command: it first finishes what the unlock found of a key-share change.
  await vault.finishKeyShareChange();
  return vault.audited('put', name, async (used) => {
    const existing = vault.head().files.find((f) => f.name === name && !isPack(f));
    if (existing && !opts.replace)
      throw new ShardvaultError('exists', `${name} is already in the vault (use --replace to replace it)`);
    const plan = await planPut(vault, opts);
    const stored = await storeFile(vault, plan, source, name, {
      used,
      guarded: opts.guarded ?? false,
      onProgress: (done) => vault.emitProgress({ op: 'put', name, done, total: opts.expectedSize ?? done }),
    });
    // From here a head naming the file may reach some locations even if the commit then
    // fails: its objects must stay (garbage collection takes them if nothing refers to them).
    // A packed file replaced leaves its pack to the others in it; the last one out takes it.
    // What the committed change replaced: the entry under this name in the merged head, not
    // the one this device listed (another device may have moved that one away since; its
    // shards are the moved file's, and a location may still serve its old manifest).
    let replaced: FileRef[] = [];
    const commit = collectingPacks((h) => {
      // Checked again on the heads as the locations hold them: another device may have
      // stored this name since this device read its head. Taken over silently, that file
      // would be dropped from the list (and tombstoned by the next merge).
      if (!opts.replace && h.files.some((f) => f.name === name && f.id !== stored.ref.id))
        throw new ShardvaultError(
          'exists',
          `${name} is already in the vault (stored since; use --replace to replace it)`,
        );
      replaced = h.files.filter((f) => f.name === name);
      return {
        ...h,
        files: [...h.files.filter((f) => f.name !== name), stored.ref],
        tombstones: [...h.tombstones, ...replaced.map((f) => ({ id: f.id, version: f.version }))],
      };
    });
    await commitOrDiscard(vault, commit.change, () => stored.discard());
    await removeObjectsOf(vault, [...replaced, ...commit.dropped()]);
    return stored.entry;
  });
}

/**
 * Where one file's shards go (a new file, or a re-coding): the location order starts at a
 * random present location, so files spread over all locations when there are more than n,
 * with away locations last, so they are a shard's home only when the present ones don't
 * suffice (that shard then waits on a present location: staged.ts); shards go over failure
 * domains first, never more in one domain than the file can lose (domains.ts).
 */
export function placeFile(
  vault: Vault,
  present: readonly Location[],
  away: readonly Location[],
  geometry: { readonly total: number; readonly data: number; readonly replicas: number },
): { order: string[]; homes: string[][] } {
  const start = randomBytes(1)[0]! % Math.max(1, present.length);
  const order = [...present.slice(start), ...present.slice(0, start), ...away].map((l) => l.id);
  const homes = placeInDomains(
    geometry.total,
    Math.min(geometry.replicas, order.length),
    order,
    domainKeyFor(vault.domainLocations()),
    geometry.data,
  );
  return { order, homes };
}

/**
 * Stores one file's shards and manifest as `plan` says; no head names it yet. On failure
 * nothing it stored is left behind.
 */
export async function storeFile(
  vault: Vault,
  plan: PutPlan,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  name: string,
  opts: {
    used: Set<string>;
    onProgress?: (done: number) => void;
    expectedSize?: number;
    guarded?: boolean;
    /** The file id (a pack's, which its packed files name before it is stored); default a new one. */
    fileId?: string;
  },
): Promise<StoredFile> {
  const keys = vault.requireKeys();
  const { policy, happy, reachable, away, wanted } = plan;
  const used = opts.used;
  const { order, homes } = placeFile(vault, reachable, away, policy);
  const placed = stageAway(homes, new Set(reachable.map((l) => l.id)), order);
  let survives = survivesLosses(
    placed.map((copies) => copies.map((c) => c.host)),
    policy.data,
  );
  const receivers = new Set(placed.flat().map((c) => c.host)).size;
  if (survives < 0 || receivers < happy) {
    const need =
      survives < 0
        ? `a file needs ${policy.data} of its shards on locations it can read them back from`
        : `this put asks for shards on at least ${happy} (${plan.askedHappy ? '' : 'settings '}--happy ${happy})`;
    throw new ShardvaultError(
      'unavailable',
      `only ${reachable.length} of ${vault.locations.length} locations are reachable: ${need}; bring the others back first`,
    );
  }
  const fileId = opts.fileId ?? newId();
  const version = 1;
  const fileKey = new Uint8Array(randomBytes(32));
  // A guarded file: R registered with every node first (a failure stores nothing), the file
  // key wrapped under its KEK; that inner wrap is what the vault's wrapping key wraps.
  // The guard's code (its curve, its node client) is loaded only for a guarded file.
  const guarded = opts.guarded ? await (await import('./guard')).guardFileKey(vault, fileId, version, fileKey) : null;
  if (guarded && guarded.missed.length > 0)
    vault.options.onWarning?.(
      `${guarded.missed.join(', ')} did not register ${name}'s point: ${guarded.missed.length === 1 ? 'it' : 'they'} cannot help open it`,
    );
  const shardKeys = Array.from({ length: policy.total }, () => new Uint8Array(randomBytes(32)));
  const objects = Array.from({ length: policy.total }, () => newId());
  const headers = objects.map((_, index) =>
    shardHeader({
      vaultId: vault.vaultId,
      fileId,
      version,
      index,
      data: policy.data,
      total: policy.total,
      segmentSize: policy.segmentSize,
    }),
  );
  const targetOf = (index: number, c: PlacedCopy): ShardTarget & { copy: PlacedCopy } => ({
    index,
    copy: c,
    node: vault.locationById(c.host)!.node,
    path: c.host === c.home ? PATHS.shard(objects[index]!) : PATHS.staged(c.home, objects[index]!),
  });
  const targets = placed.flatMap((copies, index) => copies.map((c) => targetOf(index, c)));
  const stored: ShardTarget[] = [...targets];
  for (const c of placed.flat()) used.add(vault.locationById(c.host)!.name);
  const discard = async (): Promise<void> => {
    await vault.everywhere((l) => l.node.delete(PATHS.manifest(fileId, version)), reachable);
    await Promise.allSettled(stored.map((t) => t.node.delete(t.path)));
  };
  try {
    const written = await writeShards({
      source,
      geometry: policy,
      headers,
      keys: shardKeys,
      targets,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      sealInline: opts.expectedSize !== undefined && opts.expectedSize <= INLINE_SEAL_BYTES,
      ...(opts.expectedSize !== undefined ? { expectedSize: opts.expectedSize } : {}),
      // A location failing mid-put (full, read-only, gone) costs its shard copies, placed
      // again below, as long as k shards are still being written.
      tolerate: { shards: policy.data },
    });
    const created = new Date().toISOString();
    const manifestFor = (where: readonly (readonly string[])[]): Manifest => ({
      vaultId: vault.vaultId,
      fileId,
      version,
      name,
      size: written.size,
      sha256: written.sha256,
      created,
      data: policy.data,
      total: policy.total,
      segmentSize: policy.segmentSize,
      shardsVersion: version,
      fileKey: wrapKey(keys.fileWrap, guarded?.inner ?? fileKey, fileKeyAad(vault.vaultId, fileId, version)),
      ...(guarded ? { guard: guarded.guard } : {}),
      shards: written.shards.map((s) => ({
        index: s.index,
        object: objects[s.index]!,
        key: wrapKey(fileKey, shardKeys[s.index]!, shardKeyAad(fileId, version, s.index)),
        digest: s.digest,
        size: s.size,
        // Where the shard belongs, away locations included: the manifest is the one record
        // of placement; a staged copy is found by its name.
        locations: where[s.index]!,
      })),
      // Asked for more than the vault's parity: a change of policy keeps at least this.
      ...(plan.survive !== undefined ? { survive: plan.survive } : {}),
    });
    const failures = written.failed.map((f) => ({ target: targets[f.target]!, error: f.error }));
    if (failures.length > 0) {
      const { rerouted, why } = await placeFailed({
        placed,
        homes,
        failures,
        order,
        reachable,
        spec: readSpecOf(vault, manifestFor(homes), shardKeys, (index, id, path) =>
          failures.some((f) => f.target.index === index && f.target.copy.host === id && f.target.path === path),
        ),
        targetOf,
        stored,
      });
      for (const r of rerouted) if (r.to) used.add(vault.locationById(r.to.host)!.name);
      const hosts = placed.map((copies) => copies.map((c) => c.host));
      const after = survivesLosses(hosts, policy.data);
      const takers = new Set(hosts.flat()).size;
      const costs = failureWords(vault, name, why, rerouted);
      if (after < 0 || takers < happy) {
        throw new ShardvaultError(
          'unavailable',
          `${costs}; ${
            after < 0
              ? `fewer than ${policy.data} of its shards could be stored`
              : `only ${takers} locations took shards, and this put asks for ${happy} (--happy)`
          }: nothing was stored`,
        );
      }
      survives = after;
      vault.options.onWarning?.(`${costs}; ${name} ${survivesWords({ survives, awaiting: [] })}`);
    }
    const manifest = manifestFor(homes);
    const bytes = encodeManifest(manifest, keys.manifest);
    const manifests = await vault.everywhere((l) => l.node.put(PATHS.manifest(fileId, version), bytes), reachable);
    const needed = Math.min(reachable.length, wanted + 1);
    if (manifests.filter((s) => s.value !== undefined).length < needed) {
      throw new ShardvaultError('unavailable', `the manifest reached fewer than ${needed} locations`);
    }
    const ref: FileRef = { id: fileId, version, name, size: written.size, sha256: written.sha256, created };
    const whole = placed.every(
      (copies, i) => copies.length === homes[i]!.length && copies.every((c) => c.host === c.home),
    );
    const awaiting = away.filter((l) => homes.some((h) => h.includes(l.id))).map((l) => l.name);
    return {
      ref,
      discard,
      entry: {
        name,
        size: written.size,
        sha256: written.sha256,
        created,
        health: whole ? 'healthy' : 'degraded',
        survives,
        awaiting,
        signIn: away.filter((l) => vault.needsSignIn(l.id) && awaiting.includes(l.name)).map((l) => l.name),
        guarded: guarded !== null,
      },
    };
  } catch (err) {
    // Nothing references what was stored: collect it now.
    await discard();
    throw err;
  } finally {
    wipe(fileKey, ...shardKeys);
  }
}

interface FailedCopy {
  readonly target: ShardTarget & { readonly copy: PlacedCopy };
  readonly error: Error;
}

/**
 * Places again the shard copies whose location failed mid-put (replaceFailed: a spare, else
 * held on a present location), each rebuilt from the k shards that were written (the same
 * bytes: rebuildShards). A spare becomes the shard's home in `homes`, the manifest's record.
 * A location that fails a replacement too is tried no more; a copy no location takes is left
 * out. Targets written are added to `stored`; every location that failed is in `why`.
 */
async function placeFailed(job: {
  placed: PlacedCopy[][];
  homes: string[][];
  failures: readonly FailedCopy[];
  order: readonly string[];
  reachable: readonly Location[];
  spec: ReadSpec;
  targetOf: (index: number, c: PlacedCopy) => ShardTarget;
  stored: ShardTarget[];
}): Promise<{ rerouted: Rerouted[]; why: Map<string, string> }> {
  const why = new Map<string, string>();
  for (const f of job.failures) if (!why.has(f.target.copy.host)) why.set(f.target.copy.host, f.error.message);
  const usable = new Set(job.reachable.map((l) => l.id).filter((id) => !why.has(id)));
  const rerouted: Rerouted[] = [];
  for (const f of job.failures) {
    for (;;) {
      const [r] = replaceFailed(job.placed, [{ index: f.target.index, copy: f.target.copy }], usable, job.order);
      if (r!.to === null) {
        rerouted.push(r!);
        break;
      }
      const to = r!.to;
      const target = job.targetOf(r!.index, to);
      job.stored.push(target);
      try {
        await rebuildShards(job.spec, [target]);
      } catch (err) {
        job.placed[r!.index] = job.placed[r!.index]!.filter((c) => c !== to);
        usable.delete(to.host);
        why.set(to.host, (err as Error).message);
        continue;
      }
      const homes = job.homes[r!.index]!;
      if (to.host === to.home && homes.includes(r!.failed.home)) homes[homes.indexOf(r!.failed.home)] = to.home;
      rerouted.push(r!);
      break;
    }
  }
  return { rerouted, why };
}

/** What the failed locations cost a put, in words: why each failed, where its shards went. */
function failureWords(
  vault: Vault,
  name: string,
  why: ReadonlyMap<string, string>,
  rerouted: readonly Rerouted[],
): string {
  const nameOf = (id: string): string => vault.locationById(id)?.name ?? id;
  const failed = [...why].map(([id, message]) => `${nameOf(id)} failed during the put (${message})`).join('; ');
  const went = rerouted.map((r) =>
    r.to === null
      ? `shard ${r.index} has no copy for ${nameOf(r.failed.home)} now (repair makes it)`
      : r.to.host === r.to.home
        ? `shard ${r.index} went to ${nameOf(r.to.host)}, a spare that held none of ${name}'s shards`
        : `shard ${r.index} waits on ${nameOf(r.to.host)} for ${nameOf(r.to.home)} and moves there at the next put, rm or repair that can write to it`,
  );
  return `${failed}: ${went.join('; ')}`;
}

/**
 * How many locations a put needs shards on by default: the profile's setting, else k; never
 * more than the vault has (a policy may put several shards on one location, and a setting
 * may predate a location's removal).
 */
export function happyOf(vault: Vault): number {
  return Math.min(vault.happy ?? vault.policy.data, vault.locations.length);
}

function checkHappy(vault: Vault, happy: number): void {
  const m = vault.locations.length;
  if (!Number.isSafeInteger(happy) || happy < 1 || happy > m)
    throw new UsageError(`--happy must be between 1 and the vault's ${m} locations`);
}

/** Sets (or, with null, clears) this profile's default for --happy. */
export async function setHappy(vault: Vault, happy: number | null): Promise<void> {
  if (happy !== null) checkHappy(vault, happy);
  await vault.setHappy(happy);
}

/** What a command that is not repair says about staged copies it could not move home. */
export function warnLeft(vault: Vault, done: Completion): void {
  for (const w of [...done.left, ...done.conflicts]) vault.options.onWarning?.(`${w}; repair settles it`);
}

/**
 * Brings locations that are back up to date, before a command changes the vault: shard
 * copies staged for them are moved there (no key needed, staged.ts), and, when unlocked, the
 * manifests of files stored while they were away are written to them.
 */
export async function completeAway(vault: Vault): Promise<Completion & { manifests: number }> {
  const done = await completeStaged(vault);
  if (!vault.unlocked) return { ...done, manifests: 0 };
  let manifests = 0;
  const wanted = storedFiles(vault.head()).map((f) => ({ file: f, path: PATHS.manifest(f.id, f.version) }));
  const listed = await vault.everywhere(async (l) => new Set((await l.node.list('manifests')).map((o) => o.path)));
  const left = [...done.left];
  for (const { file, path } of wanted) {
    const lacking = listed.filter((r) => r.value && !r.value.has(path)).map((r) => r.location);
    if (lacking.length === 0) continue;
    try {
      const bytes = encodeManifest(await fetchManifest(vault, file), vault.requireKeys().manifest);
      const put = await vault.everywhere((l) => l.node.put(path, bytes), lacking);
      manifests += put.filter((r) => !r.error).length;
      for (const r of put) if (r.error) left.push(`${r.location.name}: manifest of ${file.name}: ${r.error.message}`);
    } catch (err) {
      left.push(`${file.name}: ${(err as Error).message}`);
    }
  }
  return { ...done, manifests, left };
}

// ------------------------------------------------------------------ manifests

/** The file's manifest from the first location that gives a valid one. */
export async function fetchManifest(vault: Vault, file: FileRef): Promise<Manifest> {
  const keys = vault.requireKeys();
  const errors: string[] = [];
  const order = [...vault.locations];
  for (const l of order) {
    try {
      const bytes = await readObject(l.node, PATHS.manifest(file.id, file.version), MAX_MANIFEST_BYTES);
      const m = decodeManifest(bytes, keys.manifest, {
        vaultId: vault.vaultId,
        fileId: file.id,
        version: file.version,
      });
      if (m.name !== file.name || m.size !== file.size || m.sha256 !== file.sha256) {
        throw new CorruptError('manifest disagrees with the vault head');
      }
      return m;
    } catch (err) {
      errors.push(`${l.name}: ${(err as Error).message}`);
    }
  }
  throw new ShardvaultError(
    'unavailable',
    `no location gives a valid manifest for ${file.name} (${errors.join('; ')})`,
  );
}

/**
 * The version a manifest's shard keys are wrapped for: its own, or for a guarded file the one
 * its KEK is bound to (a new manifest version rewraps only the outer file key, without the nodes).
 */
export const shardKeyVersion = (m: Manifest): number => m.guard?.keyVersion ?? m.version;

function shardKeysUnder(m: Manifest, fileKey: Uint8Array): (Uint8Array | null)[] {
  return m.shards.map((s) => {
    try {
      return unwrapKey(fileKey, s.key, shardKeyAad(m.fileId, shardKeyVersion(m), s.index), `shard ${s.index} key`);
    } catch {
      return null;
    }
  });
}

/** The keys of an ordinary file; a guarded one needs its nodes (`openFileKeys`). */
export function unwrapShardKeys(vault: Vault, m: Manifest): { fileKey: Uint8Array; shardKeys: (Uint8Array | null)[] } {
  if (m.guard)
    throw new ShardvaultError(
      'permission',
      `${m.name} is guarded: reading its shards needs its nodes, and this operation does not ask them yet`,
    );
  const keys = vault.requireKeys();
  const fileKey = unwrapKey(keys.fileWrap, m.fileKey, fileKeyAad(vault.vaultId, m.fileId, m.version), 'file key');
  return { fileKey, shardKeys: shardKeysUnder(m, fileKey) };
}

/** The keys of any file: a guarded one asks G of its nodes (guard.ts), naming any that lied. */
export async function openFileKeys(
  vault: Vault,
  m: Manifest,
  waiting: ApprovalWait = {},
): Promise<{ fileKey: Uint8Array; shardKeys: (Uint8Array | null)[] }> {
  if (!m.guard) return unwrapShardKeys(vault, m);
  const keys = vault.requireKeys();
  const inner = unwrapKey(keys.fileWrap, m.fileKey, fileKeyAad(vault.vaultId, m.fileId, m.version), 'file key');
  try {
    const { openGuardedKey } = await import('./guard');
    const opened = await openGuardedKey(vault, m, inner, waiting);
    if (opened.liars.length > 0)
      vault.options.onWarning?.(
        `${opened.liars.join(', ')} answered for ${m.name} with a partial whose proof failed: ` +
          `${opened.liars.length === 1 ? 'it lies' : 'they lie'}; opened with ${opened.used.join(', ')}`,
      );
    return { fileKey: opened.fileKey, shardKeys: shardKeysUnder(m, opened.fileKey) };
  } finally {
    wipe(inner);
  }
}

export function headersOf(vault: Vault, m: Manifest): Uint8Array[] {
  return m.shards.map((s) =>
    shardHeader({
      vaultId: vault.vaultId,
      fileId: m.fileId,
      version: m.shardsVersion,
      index: s.index,
      data: m.data,
      total: m.total,
      segmentSize: m.segmentSize,
    }),
  );
}

// ------------------------------------------------------------------ get

/**
 * What readShards needs to read a file: its geometry, headers, keys and where its copies are:
 * on the locations the manifest names, then (optional, tried last) staged on any other
 * location for one of them that was away (staged.ts).
 */
export function readSpecOf(
  vault: Vault,
  m: Manifest,
  shardKeys: readonly (Uint8Array | null)[],
  skip: (index: number, locationId: string, path: string) => boolean = () => false,
): ReadSpec {
  return {
    geometry: m,
    size: m.size,
    sha256: m.sha256,
    headers: headersOf(vault, m),
    keys: shardKeys,
    shardDigests: m.shards.map((s) => s.digest),
    copies: m.shards.map((s) => {
      const own = s.locations.flatMap((id) => {
        const l = vault.locationById(id);
        const path = PATHS.shard(s.object);
        return l && !skip(s.index, id, path) ? [{ node: l.node, path, location: l.name }] : [];
      });
      const staged = s.locations.flatMap((home) =>
        vault.locations
          .filter((l) => !s.locations.includes(l.id) && !skip(s.index, l.id, PATHS.staged(home, s.object)))
          .map((l) => ({ node: l.node, path: PATHS.staged(home, s.object), location: l.name, optional: true })),
      );
      return [...own, ...staged];
    }),
  };
}

/**
 * Where a get writes: `output` itself, or, when it is an existing folder or ends in a slash,
 * the file's own name inside it. No folder is created.
 */
async function outputPath(output: string, name: string): Promise<string> {
  const resolved = nodePath.resolve(output);
  const folder = await fs.stat(resolved).catch(() => null);
  if (folder?.isDirectory()) return nodePath.join(resolved, fileBaseName(name));
  if (/[/\\]$/.test(output)) {
    throw new UsageError(`${resolved} is not a folder here (a path ending in / names a folder; none is created)`);
  }
  return resolved;
}

/** Writes the verified file to `output` (a file path, or a folder for NAME inside it), or nothing. */
export async function getFile(
  vault: Vault,
  name: string,
  output: string,
  opts: { force?: boolean } & ApprovalWait = {},
): Promise<{ output: string; problems: ShardProblem[] }> {
  return vault.audited('get', name, async (used) => {
    const file = findFile(vault.head(), name);
    const target = await outputPath(output, name);
    const existing = await fs.stat(target).catch(() => null);
    if (existing?.isDirectory()) throw new UsageError(`${target} is a folder; give a file path`);
    if (existing && !opts.force) throw new ShardvaultError('exists', `${target} exists (use --force to overwrite it)`);
    return { output: target, problems: await readFileTo(vault, file, target, used, undefined, opts) };
  });
}

/**
 * Reads `file`, verified, into `target` (an exact path): a new temporary file beside it
 * (created exclusively: never through a link), renamed over it once whole and synced; with
 * `durable` (a restore of many files), renamed unsynced and recorded there, for the caller to
 * flush once at the end.
 */
export async function readFileTo(
  vault: Vault,
  file: FileRef,
  target: string,
  used: Set<string>,
  onProgress?: (done: number) => void,
  opts: ApprovalWait & { durable?: DurableBatch } = {},
  packs?: PackReader,
): Promise<ShardProblem[]> {
  const name = file.name;
  if (file.pack) {
    // A packed file: its extent of the pack, checked against its own SHA-256 (packs.ts).
    const read = await (packs ?? new PackReader(vault, used)).read(file);
    await writeOutput(target, opts.durable, async (handle) => {
      await writeAll(handle, [read.bytes]);
    });
    onProgress?.(file.size);
    return read.problems;
  }
  warmOpener(file.size, vault.policy.segmentSize);
  const m = await fetchManifest(vault, file);
  const { fileKey, shardKeys } = await openFileKeys(vault, m, opts);
  try {
    return await writeOutput(target, opts.durable, async (handle) => {
      // The access request names the locations the read took bytes from, not every one the
      // manifest lists (one that was down gave nothing).
      const spec = readSpecOf(vault, m, shardKeys);
      // The output goes to disk while the read goes on; the fsync below still comes
      // before the rename (write-behind.ts).
      const behind = new WriteBehind(handle);
      const problems = await readShards(
        spec,
        async (segment) => {
          await writeAll(handle, segmentBytes(segment), behind);
        },
        {
          onProgress: onProgress ?? ((done) => vault.emitProgress({ op: 'get', name, done, total: m.size })),
          onRead: (copy) => used.add(copy.location),
        },
      );
      await behind.settle();
      await rememberDamage(vault, spec, problems);
      return problems;
    });
  } finally {
    wipe(fileKey, ...shardKeys);
  }
}

/**
 * Writes `target` through `fill`: a new temporary file beside it (created exclusively: never
 * through a link), synced and renamed over it once `fill` is done, or removed. With a
 * `durable` batch (a restore of a tree) the fsync is left to the batch's one flush at the end.
 */
async function writeOutput<T>(
  target: string,
  durable: DurableBatch | undefined,
  fill: (handle: fs.FileHandle) => Promise<T>,
): Promise<T> {
  const temp = nodePath.join(
    nodePath.dirname(target),
    `.${nodePath.basename(target)}.${randomBytes(6).toString('hex')}.part`,
  );
  const handle = await fs.open(temp, 'wx', 0o600).catch((err: unknown) => {
    throw new ShardvaultError('io', `cannot write to ${nodePath.dirname(target)}: ${(err as Error).message}`);
  });
  registerTemporary(temp);
  let renamed = false;
  try {
    const result = await fill(handle);
    if (!durable) await handle.sync();
    await handle.close();
    await fs.rename(temp, target);
    renamed = true;
    durable?.record(nodePath.dirname(target), target);
    return result;
  } finally {
    if (!renamed) {
      await handle.close().catch(() => undefined);
      await fs.rm(temp, { force: true });
    }
    unregisterTemporary(temp);
  }
}

/** Remembers the copies a read found damaged (damage.ts), so ls and status show them until repaired. */
async function rememberDamage(vault: Vault, spec: ReadSpec, problems: readonly ShardProblem[]): Promise<void> {
  const damaged = problems.flatMap((p) => {
    if (p.kind !== 'corrupt') return [];
    const copy = spec.copies[p.index]?.find((c) => c.location === p.location);
    const location = vault.locations.find((l) => l.name === p.location);
    return copy && location ? [{ location: location.id, path: copy.path }] : [];
  });
  if (damaged.length > 0) await (await damageRegister(vault)).record(damaged);
}

function damageRegister(vault: Vault): Promise<DamageRegister> {
  return DamageRegister.load(vault.dir, vault.vaultId, vault.options.onWarning);
}

/**
 * The shards of one file: the vault's n, with k lowered so that the file survives `survive`
 * losses when asked for more than the vault's X. Never fewer than the vault's: every file
 * keeps the vault's promise.
 */
function filePolicy(vaultPolicy: Policy, vaultSurvives: number, survive: number | undefined): Policy {
  if (survive === undefined) return vaultPolicy;
  if (!Number.isSafeInteger(survive) || survive < 0) throw new UsageError('--survive must be a whole number ≥ 0');
  const extra = survive - vaultSurvives;
  if (extra < 0) {
    throw new UsageError(
      `this vault's files survive losing ${plural(vaultSurvives, 'location')}; a file can ask for more, not fewer`,
    );
  }
  const data = vaultPolicy.data - extra;
  if (data < 1) {
    throw new UsageError(
      `a file can survive losing at most ${vaultSurvives + vaultPolicy.data - 1} of this vault's locations (one copy left)`,
    );
  }
  return { ...vaultPolicy, data };
}

/**
 * Wraps the file key and shard keys of `m` again for `next` (their associated data binds
 * the version), under `wrapping` (the current vault's file-key wrapping key, or a new
 * vault key's during rotation).
 */
export function rewrap(
  vault: Vault,
  m: Manifest,
  next: Manifest,
  wrapping: Uint8Array = vault.requireKeys().fileWrap,
): Manifest {
  const keys = vault.requireKeys();
  const fileKey = unwrapKey(keys.fileWrap, m.fileKey, fileKeyAad(vault.vaultId, m.fileId, m.version), 'file key');
  // A guarded file: only the outer wrap (of its inner wrap) follows the version; its shard keys
  // stay bound to the version its KEK is bound to, so no node is asked.
  if (m.guard) {
    try {
      return { ...next, fileKey: wrapKey(wrapping, fileKey, fileKeyAad(vault.vaultId, next.fileId, next.version)) };
    } finally {
      wipe(fileKey);
    }
  }
  try {
    return {
      ...next,
      fileKey: wrapKey(wrapping, fileKey, fileKeyAad(vault.vaultId, next.fileId, next.version)),
      shards: next.shards.map((s) => {
        const shardKey = unwrapKey(fileKey, s.key, shardKeyAad(m.fileId, m.version, s.index), `shard ${s.index} key`);
        try {
          return { ...s, key: wrapKey(fileKey, shardKey, shardKeyAad(next.fileId, next.version, s.index)) };
        } finally {
          wipe(shardKey);
        }
      }),
    };
  } finally {
    wipe(fileKey);
  }
}

// ------------------------------------------------------------------ rm

/** How far past v + 1 a fresh manifest version may land (chosen at random). */
const FRESH_VERSION_SPREAD = 1 << 20;

/**
 * The version of a manifest that replaces version `current` of a file with a new placement or
 * coding (a re-coding, shards moved off a leaving location): one no earlier attempt used. A
 * run cut short before its commit leaves a sealed manifest of its own (same name, size and
 * hash, its shards since collected) that a location could keep and serve in place of the
 * committed one; at a version chosen at random above `current` it names nothing the head
 * refers to. Versions need not be consecutive (docs/FORMAT.md).
 */
export function freshManifestVersion(current: number): number {
  return Math.min(0xffffffff, current + 1 + randomInt(FRESH_VERSION_SPREAD));
}

/** Deletes a file version's shard copies and manifest (only the names its manifest makes). */
export async function removeObjects(vault: Vault, file: FileRef): Promise<void> {
  await removeObjectsOf(vault, [file]);
}

/**
 * Deletes the manifests and shard copies of files no head names any more (what each location
 * holds is listed once for all of them). Without a manifest a file's shards become orphans
 * for garbage collection.
 */
export async function removeObjectsOf(vault: Vault, entries: readonly FileRef[]): Promise<void> {
  // A packed file has no objects of its own: its pack goes once no entry names it (packs.ts).
  const files = entries.filter((f) => !isPacked(f));
  if (files.length === 0) return;
  const known = await holdings(vault);
  const copies: CopyState[] = [];
  for (const file of files) {
    const m = await fetchManifest(vault, file).catch(() => null);
    if (m) copies.push(...copyStates(vault, m, known));
  }
  await vault.everywhere(async (l) => {
    for (const c of copies) if (c.locationId === l.id) await l.node.delete(c.path);
    for (const file of files) await l.node.delete(PATHS.manifest(file.id, file.version));
  });
  await known.damaged.forget(copies.map((c) => ({ location: c.locationId, path: c.path })));
}

export async function removeFile(vault: Vault, name: string): Promise<void> {
  await vault.finishKeyShareChange();
  await vault.audited('rm', name, async (used) => {
    const file = findFile(vault.head(), name);
    warnLeft(vault, await completeAway(vault));
    vault.locations.forEach((l) => used.add(l.name));
    // Only the version this device listed: one another device moved or replaced since is
    // not this device's to remove (taken out of the merged head but tombstoned only at the
    // old version, it would come back from that device's head copy while its shards, or
    // its pack, were deleted here).
    const listed = (f: FileRef): boolean => f.id === file.id && f.version === file.version;
    const commit = collectingPacks((h) => {
      if (!h.files.some(listed))
        throw new NotFoundError(
          `${name} was changed (moved, replaced, re-coded) or removed by another device since this one read the vault: nothing removed`,
        );
      return {
        ...h,
        files: h.files.filter((f) => !listed(f)),
        tombstones: [...h.tombstones, { id: file.id, version: file.version }],
      };
    });
    await vault.commit(commit.change);
    await removeObjectsOf(vault, [file, ...commit.dropped()]);
  });
}

// ------------------------------------------------------------------ health, placement, verify

/**
 * What is known of the shard copies: what each location holds under shards/ and staged/
 * (path -> size; null when unreachable), and the copies this device found damaged.
 */
export interface Holdings {
  readonly held: ReadonlyMap<string, ReadonlyMap<string, number> | null>;
  readonly damaged: DamageRegister;
}

export async function holdings(vault: Vault): Promise<Holdings> {
  const [listed, damaged] = await Promise.all([
    vault.everywhere(async (l) => {
      const [shards, staged] = await Promise.all([l.node.list('shards'), l.node.list(PATHS.stagedDir)]);
      return new Map([...shards, ...staged].map((o) => [o.path, o.size]));
    }),
    damageRegister(vault),
  ]);
  return { held: new Map(listed.map((r) => [r.location.id, r.value ?? null])), damaged };
}

export interface CopyState {
  readonly index: number;
  /** Where the copy is (for a staged copy, the location holding it for another). */
  readonly location: Location | null;
  readonly locationId: string;
  readonly path: string;
  /** For a staged copy, the location it belongs to; null for a copy on its own location. */
  readonly stagedFor: string | null;
  state: ShardState;
}

/**
 * Every copy of the file's shards: on the locations the manifest names (offline, missing,
 * damaged or ok), and staged on others for one of them (only those that are there).
 */
export function copyStates(vault: Vault, m: Manifest, known: Holdings): CopyState[] {
  const stateOf = (locationId: string, path: string, size: number): ShardState => {
    const listing = known.held.get(locationId);
    const stored = listing?.get(path);
    if (listing === null || listing === undefined) return 'offline';
    if (stored === undefined) return 'missing';
    if (stored !== size || known.damaged.has({ location: locationId, path })) return 'corrupt';
    return 'ok';
  };
  return m.shards.flatMap((s) => {
    const own = s.locations.map((id) => {
      const path = PATHS.shard(s.object);
      const location = vault.locationById(id) ?? null;
      return { index: s.index, location, locationId: id, path, stagedFor: null, state: stateOf(id, path, s.size) };
    });
    const staged = s.locations.flatMap((home) =>
      [...known.held].flatMap(([id, listing]) => {
        const path = PATHS.staged(home, s.object);
        if (id === home || !listing?.has(path)) return [];
        const location = vault.locationById(id) ?? null;
        return [{ index: s.index, location, locationId: id, path, stagedFor: home, state: stateOf(id, path, s.size) }];
      }),
    );
    return [...own, ...staged];
  });
}

export interface FileHealth {
  readonly health: Health;
  readonly survives: number;
  /** Locations away now that hold (or will hold) some of the file's shards, by name. */
  readonly awaiting: string[];
  /** Those of `awaiting` this device has not signed in to (a new machine). */
  readonly signIn: string[];
}

/**
 * A file is healthy when every copy is on its own location and whole; it survives as many
 * more losses as the copies that are good now (staged ones included) allow.
 */
export function healthOf(vault: Vault, m: Manifest, copies: readonly CopyState[]): FileHealth {
  const good = m.shards.map((s) =>
    copies.filter((c) => c.index === s.index && c.state === 'ok').map((c) => c.locationId),
  );
  const survives = survivesLosses(good, m.data);
  const away = [
    ...new Set(copies.filter((c) => c.stagedFor === null && c.state === 'offline').map((c) => c.locationId)),
  ];
  const awaiting = away.map((id) => vault.locationById(id)?.name ?? id);
  const signIn = away.filter((id) => vault.needsSignIn(id)).map((id) => vault.locationById(id)?.name ?? id);
  if (survives < 0) {
    // Unreadable now; lost only if the copies on locations merely out of reach would not do.
    const reachable = m.shards.map((s) =>
      copies.filter((c) => c.index === s.index && (c.state === 'ok' || c.state === 'offline')).map((c) => c.locationId),
    );
    const health = survivesLosses(reachable, m.data) >= 0 ? 'unreachable' : 'lost';
    return { health, survives: -1, awaiting, signIn };
  }
  const whole = copies.every((c) => c.stagedFor === null && c.state === 'ok');
  return { health: whole ? 'healthy' : 'degraded', survives, awaiting, signIn };
}

export async function listFiles(vault: Vault): Promise<FileEntry[]> {
  const head = vault.head();
  const known = await holdings(vault);
  // One manifest per file stored alone and per pack (a packed file's health is its pack's),
  // each fetched once.
  const states = new Map<string, Promise<{ state: FileHealth; guarded: boolean }>>();
  const stateOf = (f: FileRef): Promise<{ state: FileHealth; guarded: boolean }> => {
    const key = f.pack ? f.pack.id : f.id;
    let state = states.get(key);
    if (state === undefined) {
      state = (async () => {
        try {
          const m = await fetchManifest(vault, f.pack ? packOf(head, f) : f);
          return { state: healthOf(vault, m, copyStates(vault, m, known)), guarded: m.guard !== undefined };
        } catch {
          // no manifest anywhere (or no pack): lost
          return { state: { health: 'lost', survives: -1, awaiting: [], signIn: [] }, guarded: false };
        }
      })();
      states.set(key, state);
    }
    return state;
  };
  return Promise.all(
    userFiles(head).map(async (f) => {
      const { state, guarded } = await stateOf(f);
      return { name: f.name, size: f.size, sha256: f.sha256, created: f.created, ...state, guarded };
    }),
  );
}

export async function placement(vault: Vault, name: string): Promise<PlacementReport & FileHealth> {
  const found = findFile(vault.head(), name);
  // A packed file is where its pack is.
  const file = found.pack ? packOf(vault.head(), found) : found;
  const m = await fetchManifest(vault, file);
  const copies = copyStates(vault, m, await holdings(vault));
  return {
    name,
    shards: m.shards.map((s) => ({
      index: s.index,
      locations: copies
        .filter((c) => c.index === s.index)
        .map((c) => ({
          name: c.location?.name ?? c.locationId,
          state: c.state,
          ...(c.stagedFor === null ? {} : { stagedFor: vault.locationById(c.stagedFor)?.name ?? c.stagedFor }),
        })),
    })),
    ...healthOf(vault, m, copies),
  };
}

/**
 * Quick check of one copy (verify without --deep): the listing already gave the right size;
 * this reads the shard's header and its first and last frames (ranged reads, not the whole
 * shard) and authenticates both frames under the shard's own key, with the header as
 * associated data. A header is public and can be copied from another shard, but a frame
 * opens only under its own shard's key, index and position: a shard of another file, another
 * index of this one or another version, even of the same size and with this header pasted
 * on, fails here. Damage inside the middle frames is left to --deep.
 */
export async function checkCopyQuick(
  vault: Vault,
  m: Manifest,
  copy: CopyState,
  key: Uint8Array | null,
): Promise<ShardState> {
  if (!key || !copy.location) return 'corrupt';
  const location = copy.location;
  const s = m.shards[copy.index]!;
  const path = copy.path;
  const header = headersOf(vault, m)[copy.index]!;
  const segments = segmentCount(m.size, m.segmentSize);
  const frameBytes = (seg: number): number => pieceLength(m.size, seg, m) + TAG_BYTES;
  try {
    const first = frameBytes(0);
    const start = await location.node.readRange(path, 0, SHARD_HEADER_BYTES + first);
    if (start.length !== SHARD_HEADER_BYTES + first) return 'corrupt';
    if (!equalBytes(start.subarray(0, SHARD_HEADER_BYTES), header)) return 'corrupt';
    openFrame(key, 0, segments === 1, start.subarray(SHARD_HEADER_BYTES), header).fill(0);
    if (segments > 1) {
      const last = frameBytes(segments - 1);
      const end = await location.node.readRange(path, s.size - last, last);
      if (end.length !== last) return 'corrupt';
      openFrame(key, segments - 1, true, end, header).fill(0);
    }
    return 'ok';
  } catch (err) {
    if (err instanceof NotFoundError) return 'missing';
    if (err instanceof ShardvaultError && err.code === 'offline') return 'offline';
    return 'corrupt';
  }
}

/** Downloads one copy and checks every frame and the stored-bytes hash. */
export async function checkCopyDeep(
  vault: Vault,
  m: Manifest,
  copy: CopyState,
  key: Uint8Array | null,
): Promise<ShardState> {
  if (!key || !copy.location) return 'corrupt';
  const s = m.shards[copy.index]!;
  const header = headersOf(vault, m)[copy.index]!;
  try {
    const bytes = await readObject(copy.location.node, copy.path, s.size);
    if (bytes.length !== s.size) return 'corrupt';
    if (!Buffer.from(bytes.subarray(0, SHARD_HEADER_BYTES)).equals(Buffer.from(header))) return 'corrupt';
    const digest = new ShardDigest(header);
    let at = SHARD_HEADER_BYTES;
    const segments = segmentCount(m.size, m.segmentSize);
    for (let seg = 0; seg < segments; seg++) {
      const length = pieceLength(m.size, seg, m) + TAG_BYTES;
      const frame = bytes.subarray(at, at + length);
      openFrame(key, seg, seg === segments - 1, frame, header);
      digest.frame(frame);
      at += length;
    }
    if (digest.hex() !== s.digest) return 'corrupt';
    return at === bytes.length ? 'ok' : 'corrupt';
  } catch (err) {
    if (err instanceof NotFoundError) return 'missing';
    if (err instanceof ShardvaultError && err.code === 'offline') return 'offline';
    return 'corrupt';
  }
}

/**
 * Looks inside the copies: every copy the listing found the right size (`ok`) gets the quick
 * look (checkCopyQuick: header, first and last frames), and is opened whole (checkCopyDeep)
 * when `deep`, when `also` picks it, or when a get or a deep check on this device remembered
 * it as damaged. Remembers what it finds: damaged copies until repaired, copies opened whole
 * and found good forgotten. Quick looks run on every location at once; whole ones one at a
 * time (each holds a whole shard).
 */
export async function checkCopies(
  vault: Vault,
  m: Manifest,
  copies: readonly CopyState[],
  known: Holdings,
  deep: boolean,
  also: (copy: CopyState) => boolean = () => false,
): Promise<void> {
  const remembered = (c: CopyState): boolean => known.damaged.has({ location: c.locationId, path: c.path });
  const whole = (c: CopyState): boolean => deep || remembered(c) || also(c);
  const worth = copies.filter((c) => c.location && (remembered(c) || c.state === 'ok'));
  if (worth.length === 0) return;
  // A guarded file's shards open with its key: verify asks its nodes like any opening.
  const { fileKey, shardKeys } = await openFileKeys(vault, m);
  try {
    const queues = new Map<string, CopyState[]>();
    for (const c of worth) {
      const queue = whole(c) ? 'whole' : c.locationId;
      queues.set(queue, [...(queues.get(queue) ?? []), c]);
    }
    await Promise.all(
      [...queues.values()].map(async (queue) => {
        for (const c of queue)
          c.state = await (whole(c) ? checkCopyDeep : checkCopyQuick)(vault, m, c, shardKeys[c.index] ?? null);
      }),
    );
  } finally {
    wipe(fileKey, ...shardKeys);
  }
  const ref = (c: CopyState): CopyRef => ({ location: c.locationId, path: c.path });
  await known.damaged.record(worth.filter((c) => c.state === 'corrupt').map(ref));
  await known.damaged.forget(worth.filter((c) => c.state === 'ok' && whole(c)).map(ref));
}

export async function verify(vault: Vault, deep: boolean): Promise<VerifyReport> {
  const head = vault.head();
  const known = await holdings(vault);
  const files: VerifyReport['files'][number][] = [];
  const problems: VerifyReport['problems'][number][] = [];
  let done = 0;
  const stored = storedFiles(head);
  for (const f of stored) {
    const name = shownName(f);
    let m: Manifest;
    try {
      m = await fetchManifest(vault, f);
    } catch {
      files.push({ name, health: 'lost', survives: -1 });
      problems.push({ file: name, shard: null, location: '*', kind: 'manifest' });
      continue;
    }
    // A reachable location without the manifest (or, deep, with one that doesn't open) is a
    // problem repair fixes.
    const keys = vault.requireKeys();
    const manifests = await vault.everywhere(async (l) => {
      if (!deep) return (await l.node.stat(PATHS.manifest(f.id, f.version))) !== null;
      try {
        const bytes = await readObject(l.node, PATHS.manifest(f.id, f.version), MAX_MANIFEST_BYTES);
        decodeManifest(bytes, keys.manifest, { vaultId: vault.vaultId, fileId: f.id, version: f.version });
        return true;
      } catch (err) {
        if (err instanceof ShardvaultError && err.code === 'offline') throw err;
        return false;
      }
    });
    for (const r of manifests) {
      if (r.value === false) problems.push({ file: name, shard: null, location: r.location.name, kind: 'manifest' });
    }
    const copies = copyStates(vault, m, known);
    await checkCopies(vault, m, copies, known, deep);
    for (const c of copies) {
      if (c.state !== 'ok')
        problems.push({ file: name, shard: c.index, location: c.location?.name ?? c.locationId, kind: c.state });
    }
    const { health, survives } = healthOf(vault, m, copies);
    files.push({ name, health, survives });
    // Deep, a readable pack is read whole and every packed file's extent checked against its
    // own SHA-256, as a get would (a file that fails is named, as a whole-file problem).
    if (deep && isPack(f) && survives >= 0) problems.push(...(await checkExtents(vault, head, f)));
    vault.emitProgress({ op: 'verify', name, done: ++done, total: stored.length });
  }
  // A packed file whose pack the head does not hold (or whose extent ends past it) has no
  // stored object to visit above: a head merged from two commits at once can name one.
  for (const f of head.files) {
    if (!f.pack) continue;
    try {
      packOf(head, f);
    } catch {
      files.push({ name: f.name, health: 'lost', survives: -1 });
      problems.push({ file: f.name, shard: null, location: '*', kind: 'manifest' });
    }
  }
  return { ok: problems.length === 0, files, problems };
}

/** The packed files of `pack` whose extent does not read back as their SHA-256 says. */
async function checkExtents(vault: Vault, head: Head, pack: FileRef): Promise<VerifyReport['problems'][number][]> {
  const entries = head.files.filter((e) => e.pack?.id === pack.id);
  let bytes: Uint8Array;
  try {
    bytes = (await readPack(vault, pack, new Set())).bytes;
  } catch (err) {
    if (err instanceof ShardvaultError && err.code === 'offline') throw err;
    return entries.map((e) => ({ file: e.name, shard: null, location: '*', kind: 'corrupt' as const }));
  }
  return entries.flatMap((e) => {
    try {
      extentOf(e, pack, bytes);
      return [];
    } catch {
      return [{ file: e.name, shard: null, location: '*', kind: 'corrupt' as const }];
    }
  });
}

// ------------------------------------------------------------------ the audit log

export async function readAccessLog(vault: Vault): Promise<{ requests: AccessRequest[]; problems: string[] }> {
  const head = vault.head();
  const pair = { publicKey: head.logPublicKey, privateKey: head.logPrivateKey };
  // Devices the head vouches for, this one (its failed unlocks may not be anchored yet), and
  // any other that left its marker (a failed open from a new machine is anchored nowhere).
  const devices = new Set([...head.logAnchors.map((a) => a.device), vault.deviceId]);
  const markers = await vault.everywhere((l) => l.node.list(PATHS.logRoot));
  for (const m of markers) {
    for (const o of (m.value ?? []).slice(0, MAX_LOG_DEVICES)) {
      const device = /^log\/([0-9a-f]{32})\.device$/.exec(o.path)?.[1];
      if (device) devices.add(device);
    }
  }
  const listings = await vault.everywhere(async (l) => {
    const out: { device: string; path: string }[] = [];
    for (const device of devices)
      for (const o of await l.node.list(PATHS.logDir(device))) out.push({ device, path: o.path });
    return out;
  });
  const requests: AccessRequest[] = [];
  const problems: string[] = [];
  for (const device of devices) {
    const paths = new Set(
      listings.flatMap((r) => (r.value ?? []).filter((e) => e.device === device).map((e) => e.path)),
    );
    const entries: DecodedEntry[] = [];
    for (const path of paths) {
      const seq = Number.parseInt(path.split('/').pop() ?? '', 10);
      if (!Number.isSafeInteger(seq) || seq < 1) continue;
      let entry: DecodedEntry | null = null;
      for (const r of listings) {
        if (!r.value?.some((e) => e.path === path)) continue;
        try {
          entry = decodeLogEntry(await readObject(r.location.node, path, MAX_LOG_ENTRY_BYTES), pair, {
            vaultId: vault.vaultId,
            deviceId: device,
            seq,
          });
          break;
        } catch (err) {
          problems.push(`${r.location.name}: ${path}: ${(err as Error).message}`);
        }
      }
      if (entry) entries.push(entry);
    }
    const anchor = head.logAnchors.find((a) => a.device === device) ?? null;
    const chain = checkChain(entries, anchor);
    requests.push(...chain.requests);
    problems.push(...chain.problems.map((p) => `device ${device.slice(0, 8)}: ${p}`));
  }
  requests.sort((a, b) => a.time.localeCompare(b.time));
  return { requests, problems };
}
