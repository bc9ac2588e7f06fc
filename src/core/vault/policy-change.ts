/**
 * Changing the policy of a living vault (issue 14): the key shares are dealt again for the
 * new threshold (and, when it rises, under a new vault key, so shares kept from the old
 * deal open nothing), then every file is re-coded to the new k of n by a resumable job whose
 * state is in the sealed head (head.recode), so any device can see it and resume it.
 *
 * Safety of the job, at any moment (a kill, a reboot, a location lost):
 *   - a file keeps its old coding, whole, until the manifest of its new coding is written
 *     and a head naming it is committed; only then are the old shards deleted, and only the
 *     names the old (sealed) manifest gives;
 *   - whether a file is re-coded is what its sealed manifest says, never a location's claim:
 *     the job's list is only the order of work.
 * A new coding written but not committed is garbage that repair collects.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { PolicyJobStatus } from '../../shared/api';
import { plural } from '../../shared/format';
import { andList } from '../../shared/words';
import { wipe } from '../crypto/bytes';
import { ShardvaultError, UsageError } from '../errors';
import type { FileRef, Head, Policy, RecodeJob } from '../format/head';
import { encodeManifest, type Manifest } from '../format/manifest';
import { PATHS, shardHeader } from '../format/records';
import { Channel } from './channel';
import {
  fetchManifest,
  freshManifestVersion,
  openFileKeys,
  placeFile,
  readSpecOf,
  removeObjects,
  rewrap,
} from './files';
import { domainKeyFor, domainsSurvived, hasSharedDomain, placeInDomains, policyFromDomains } from './domains';
import { fileKeyAad, shardKeyAad, wrapKey } from './keys';
import { rotateVaultKey } from './location-ops';
import { readShards, segmentBytes } from './pipeline/read';
import { writeShards, type ShardTarget } from './pipeline/write';
import { checkPolicy, survivesLosses } from './policy';
import type { Location, Vault } from './vault';
import { storedFiles } from './packs';

export type PolicyRequest =
  | { readonly survive: number; readonly secretAgainst: number }
  | { readonly data: number; readonly total: number; readonly threshold: number; readonly replicas?: number };

export interface PolicyChange {
  readonly from: Policy;
  readonly to: Policy;
  /** The vault key was replaced (the threshold rose). */
  readonly rotated: boolean;
  /** Files the job re-codes. */
  readonly files: number;
  readonly bytes: number;
}

/**
 * The new policy a request asks for over the vault's current locations (n = their number).
 * In words, X and Y count failure domains when locations share one, by the rule init and the
 * previews use (domains.ts policyFromDomains).
 */
export function requestedPolicy(vault: Vault, req: PolicyRequest): Policy {
  const m = vault.locations.length;
  const numbers =
    'survive' in req
      ? policyFromDomains(vault.domainLocations(), req.survive, req.secretAgainst)
      : { data: req.data, total: req.total, threshold: req.threshold, replicas: req.replicas ?? 1 };
  checkPolicy(numbers, m);
  return { ...numbers, segmentSize: vault.policy.segmentSize };
}

/**
 * The coding a file gets under `policy`: the vault's, with more parity when the file asked
 * for more (put --survive, kept in its manifest; a file written before that was kept is
 * judged by its parity against the vault's before the change, `from`). Never less parity than
 * it asked for, never fewer than one data shard.
 */
export function recodeTarget(
  policy: Policy,
  from: RecodeJob['from'],
  m: Pick<Manifest, 'data' | 'total' | 'survive'>,
): { data: number; total: number; survive?: number } {
  const asked = m.survive ?? (m.total - m.data > from.total - from.data ? m.total - m.data : undefined);
  const parity = Math.max(policy.total - policy.data, asked ?? 0);
  const data = Math.max(1, policy.total - parity);
  // What it asked for stays with it, even while the vault's own parity covers it.
  return { data, total: policy.total, ...(asked !== undefined ? { survive: asked } : {}) };
}

/**
 * Whether a file's shards sit so that a failure domain holds more of them than placement over
 * the domains now would (a location's domain changed since it was stored, or it was stored
 * while locations were away): the file survives losing fewer domains than placeFile's
 * placement of the same coding would. Only the sealed manifest is read, never a listing.
 */
export function misplaced(
  vault: Vault,
  m: Pick<Manifest, 'data' | 'total' | 'shards'>,
  over: readonly Location[],
): boolean {
  const located = vault.domainLocations();
  if (!hasSharedDomain(located)) return false;
  const keyOf = domainKeyFor(located);
  const ids = over.map((l) => l.id);
  const now = m.shards.map((s) => s.locations);
  const best = placeInDomains(m.total, Math.min(vault.policy.replicas, ids.length), ids, keyOf, m.data);
  return domainsSurvived(now, m.data, keyOf) < domainsSurvived(best, m.data, keyOf);
}

/** Whether the re-coding job has work on this file: its coding changes, or its placement does (misplaced). */
function needsRecode(
  vault: Vault,
  to: Policy,
  from: RecodeJob['from'],
  m: Manifest,
  over: readonly Location[],
): boolean {
  const target = recodeTarget(to, from, m);
  return m.data !== target.data || m.total !== target.total || misplaced(vault, m, over);
}

/**
 * After a location's failure domain changed (location edit --domain) or at a repair: the
 * files placed so that one domain holds more of them than placement over the domains would
 * join the head's re-coding job (a new one, at the vault's policy, when there is none), so
 * runRecode moves them the way it re-codes: the new copies committed before the old ones are
 * deleted, only the names the old manifest gives. Returns how many files joined.
 */
export async function queueReplacement(vault: Vault): Promise<number> {
  const head = vault.head();
  if (!hasSharedDomain(vault.domainLocations())) return 0;
  const queued = new Set(head.recode?.pending ?? []);
  const from = head.recode?.from ?? { data: vault.policy.data, total: vault.policy.total };
  const joining: FileRef[] = [];
  for (const file of storedFiles(head)) {
    if (queued.has(file.id)) continue;
    const m = await fetchManifest(vault, file);
    if (misplaced(vault, m, vault.locations)) joining.push(file);
  }
  if (joining.length === 0) return 0;
  const bytes = joining.reduce((sum, f) => sum + f.size, 0);
  await vault.commit((h) => {
    const known = new Set(h.files.map((f) => f.id));
    const ids = joining.filter((f) => known.has(f.id) && !(h.recode?.pending ?? []).includes(f.id)).map((f) => f.id);
    if (ids.length === 0) return h;
    const job: RecodeJob = h.recode
      ? {
          ...h.recode,
          files: h.recode.files + ids.length,
          bytes: h.recode.bytes + bytes,
          pending: [...h.recode.pending, ...ids],
        }
      : { started: new Date().toISOString(), from, files: ids.length, bytes, pending: ids };
    return { ...h, recode: job };
  });
  return joining.length;
}

/**
 * Moves the files misplaced over the failure domains (queueReplacement) and runs the head's
 * job to its end: repair, and a domain change (`onlyWhenQueued`: a job it did not add to is
 * left for policy resume or repair). A location away pauses the job: the files keep their
 * old, valid placement and the words say what waits. `replaced`: files re-coded by this run.
 */
export async function replaceOverDomains(
  vault: Vault,
  opts: { readonly onlyWhenQueued?: boolean } = {},
): Promise<{ replaced: number; pending: string[] }> {
  const queued = await queueReplacement(vault);
  const before = vault.head().recode?.pending.length ?? 0;
  if (before === 0 || (queued === 0 && opts.onlyWhenQueued)) return { replaced: 0, pending: [] };
  try {
    await runRecode(vault);
    return { replaced: before, pending: [] };
  } catch (err) {
    if (!(err instanceof ShardvaultError && err.code === 'unavailable')) throw err;
    return { replaced: before - (vault.head().recode?.pending.length ?? 0), pending: [err.message] };
  }
}

/**
 * Sets a new policy: key shares dealt for the new t (under a new vault key when t rises;
 * docs/SECURITY.md, "Changing the policy"), and the head records the re-coding job. The job
 * itself is runRecode's. Every manifest is read first, so the job lists only files whose
 * coding changes.
 */
export async function changePolicy(vault: Vault, req: PolicyRequest): Promise<PolicyChange> {
  // A writing command: it first finishes what the unlock found of a key-share change.
  await vault.finishKeyShareChange();
  const from = vault.policy;
  const to = requestedPolicy(vault, req);
  const detail = `k ${from.data} of n ${from.total}, t ${from.threshold} -> k ${to.data} of n ${to.total}, t ${to.threshold}`;
  return vault.audited('policy', { detail }, async (used) => {
    for (const l of vault.locations) used.add(l.name);
    return setPolicy(vault, to);
  });
}

/**
 * Commits `to` as the vault's policy with the re-coding job it needs (keys dealt again or
 * rotated for its t), inside the caller's access request: changePolicy, or a location's
 * removal that re-codes files over the locations that stay (location-ops.ts).
 */
export async function setPolicy(vault: Vault, to: Policy): Promise<PolicyChange> {
  const from = vault.policy;
  const head = vault.head();
  if (head.locations.length !== vault.locations.length)
    throw new ShardvaultError('policy', 'this device does not know every location of the vault: unlock again');
  const same =
    to.data === from.data &&
    to.total === from.total &&
    to.threshold === from.threshold &&
    to.replicas === from.replicas;
  if (same && !head.recode)
    throw new UsageError(`the vault already has this policy (k ${to.data} of n ${to.total}, t ${to.threshold})`);
  const jobFrom = head.recode?.from ?? { data: from.data, total: from.total };
  const pending: FileRef[] = [];
  for (const file of storedFiles(head)) {
    const m = await fetchManifest(vault, file);
    if (needsRecode(vault, to, jobFrom, m, vault.locations)) pending.push(file);
  }
  const job: RecodeJob = {
    started: new Date().toISOString(),
    from: jobFrom,
    files: pending.length,
    bytes: pending.reduce((sum, f) => sum + f.size, 0),
    pending: pending.map((f) => f.id),
  };
  const change = (h: Head): Head => {
    const { recode: _, ...rest } = h;
    return { ...rest, policy: to, ...(job.pending.length > 0 ? { recode: job } : {}) };
  };
  const rotated = to.threshold > from.threshold;
  // Old shares of a lower threshold must stop opening anything: a new vault key, every
  // manifest wrapped again under it (no shard is touched), dealt for the new t.
  if (rotated) await rotateVaultKey(vault, change);
  else if (to.threshold !== from.threshold) await vault.redeal(change);
  else await vault.commit(change);
  return { from, to, rotated, files: job.files, bytes: job.bytes };
}

export interface RecodeProgress {
  readonly files: number;
  readonly filesDone: number;
  readonly bytes: number;
  readonly bytesDone: number;
  /** Estimated from this run's pace; null until a file is done. */
  readonly secondsLeft: number | null;
  /** Locations the job found away: the files left wait for them (their old coding stays). */
  readonly waitingFor: readonly string[];
}

/** How far the head's job is (null when none). */
export function jobStatus(head: Head): PolicyJobStatus | null {
  const job = head.recode;
  if (!job) return null;
  const left = new Set(job.pending);
  const bytesLeft = head.files.filter((f) => left.has(f.id)).reduce((sum, f) => sum + f.size, 0);
  const filesLeft = head.files.filter((f) => left.has(f.id)).length;
  return {
    started: job.started,
    files: job.files,
    filesDone: Math.max(0, job.files - filesLeft),
    bytes: job.bytes,
    bytesDone: Math.max(0, job.bytes - bytesLeft),
    data: head.policy.data,
    total: head.policy.total,
    threshold: head.policy.threshold,
  };
}

/**
 * Works through the head's re-coding job to its end (or until `stop()` says so between
 * files). A file that fails stays on its old coding and in the job. When a location the new
 * codings go to is away (found so before a file, or a write to it failed), the job pauses:
 * the files left are not tried (each would fail the same way), the last progress names the
 * locations they wait for, and the job ends with an error saying so, to be resumed later.
 */
export async function runRecode(
  vault: Vault,
  opts: {
    onProgress?: (p: RecodeProgress) => void;
    stop?: () => boolean;
    /** The locations new codings go to (default: every location; a removal: those that stay). */
    over?: readonly Location[];
  } = {},
): Promise<RecodeProgress> {
  const started = performance.now();
  const over = opts.over ?? vault.locations;
  let doneThisRun = 0;
  let waitingFor: string[] = [];
  const failed: string[] = [];
  // The job's totals as it started: once it ends, the head no longer carries them.
  const atStart = jobStatus(vault.head());
  const progress = (): RecodeProgress => {
    const s = jobStatus(vault.head());
    const files = s?.files ?? atStart?.files ?? 0;
    const bytes = s?.bytes ?? atStart?.bytes ?? 0;
    const bytesDone = s?.bytesDone ?? bytes;
    const elapsed = (performance.now() - started) / 1000;
    const secondsLeft = doneThisRun > 0 ? Math.round(((bytes - bytesDone) * elapsed) / doneThisRun) : null;
    return { files, filesDone: s?.filesDone ?? files, bytes, bytesDone, secondsLeft, waitingFor };
  };
  for (;;) {
    const head = vault.head();
    const job = head.recode;
    if (!job) break;
    const next = job.pending.find((id) => !failed.includes(id));
    if (next === undefined) break;
    if (opts.stop?.()) return progress();
    const file = head.files.find((f) => f.id === next);
    try {
      if (file) doneThisRun += await recodeFile(vault, file, job, over);
      else await vault.commit((h) => dropPending(h, next));
    } catch (err) {
      failed.push(next);
      vault.options.onWarning?.(`re-coding ${file?.name ?? next}: ${(err as Error).message}; it keeps its old coding`);
      const health = await vault.health();
      waitingFor = over.filter((l) => !health.get(l.id)?.reachable).map((l) => l.name);
    }
    opts.onProgress?.(progress());
    if (waitingFor.length > 0) break;
  }
  const left = vault.head().recode?.pending.length ?? 0;
  if (waitingFor.length > 0) {
    throw new ShardvaultError(
      'unavailable',
      `re-coding paused: ${andList(waitingFor)} can't be reached; ${plural(left, 'file')} ${left === 1 ? 'keeps its' : 'keep their'} ` +
        'old coding and wait for it (policy resume once it is back)',
    );
  }
  if (failed.length > 0) {
    throw new ShardvaultError(
      'unavailable',
      `${plural(failed.length, 'file')} could not be re-coded now and keep their old coding; resume the job later (policy resume)`,
    );
  }
  // Done: the head no longer carries the job.
  if (vault.head().recode) await vault.commit((h) => (h.recode && h.recode.pending.length === 0 ? withoutJob(h) : h));
  return progress();
}

function withoutJob(h: Head): Head {
  const { recode: _, ...rest } = h;
  return rest;
}

function dropPending(h: Head, id: string): Head {
  if (!h.recode) return h;
  const pending = h.recode.pending.filter((p) => p !== id);
  return pending.length === 0 ? withoutJob(h) : { ...h, recode: { ...h.recode, pending } };
}

/**
 * Re-codes one file: reads it (checked whole against its hash) into a new coding of the
 * target k of n, under a new file key and new shard keys and objects, on every location of
 * the vault; writes the new manifest (next version); commits the head that names it and
 * drops it from the job; only then deletes the old version's objects. Returns the bytes
 * re-coded (0 when the manifest says it was done already).
 */
async function recodeFile(vault: Vault, file: FileRef, job: RecodeJob, over: readonly Location[]): Promise<number> {
  const policy = vault.policy;
  const m = await fetchManifest(vault, file);
  const target = recodeTarget(policy, job.from, m);
  if (!needsRecode(vault, policy, job.from, m, over)) {
    await vault.commit((h) => dropPending(h, file.id));
    return 0;
  }
  const health = await vault.health();
  const away = over.filter((l) => !health.get(l.id)?.reachable);
  if (away.length > 0)
    throw new ShardvaultError(
      'unavailable',
      `${away.map((l) => l.name).join(', ')} away: a new coding goes to every location`,
    );
  const keys = vault.requireKeys();
  // A version no earlier attempt used: a run cut short before its commit left a sealed
  // manifest of its own (same name, size and hash, shards since collected) that a location
  // could keep and serve in place of this one; at a fresh version it names nothing.
  const version = freshManifestVersion(file.version);
  // Placed as a new file is (files.ts placeFile): over failure domains first.
  const { homes } = placeFile(vault, over, [], { ...target, replicas: policy.replicas });
  const geometry = { ...target, segmentSize: m.segmentSize };
  // A guarded file keeps its file key (bound to its KEK by the inner wrap): its nodes are asked
  // once for it, and its new shard keys are wrapped for the version the KEK is bound to.
  const old = await openFileKeys(vault, m);
  const fileKey = m.guard ? new Uint8Array(old.fileKey) : new Uint8Array(randomBytes(32));
  const shardKeyVersion = m.guard?.keyVersion ?? version;
  const shardKeys = Array.from({ length: target.total }, () => new Uint8Array(randomBytes(32)));
  const objects = Array.from({ length: target.total }, () => randomBytes(16).toString('hex'));
  const headers = objects.map((_, index) =>
    shardHeader({ vaultId: vault.vaultId, fileId: file.id, version, index, ...geometry }),
  );
  const targets: ShardTarget[] = homes.flatMap((copies, index) =>
    copies.map((id) => ({ index, node: vault.locationById(id)!.node, path: PATHS.shard(objects[index]!) })),
  );
  let committing = false;
  try {
    // The old coding is read (and its hash checked) while the new one is written.
    const plain = new Channel(4);
    const reading = readShards(readSpecOf(vault, m, old.shardKeys), async (segment) => {
      // Copied: the channel holds what it is given until the writer takes it, and the reader
      // reads its next frames into these very buffers once this resolves.
      for (const piece of segmentBytes(segment)) await plain.push(piece.slice());
    }).then(
      () => plain.close(),
      (err: unknown) => {
        plain.abort(err instanceof Error ? err : new Error(String(err)));
        throw err;
      },
    );
    // A write that fails stops the read too (its next push throws), so neither is left waiting.
    const writing = writeShards({ source: plain, geometry, headers, keys: shardKeys, targets }).finally(() =>
      plain.fail(new Error('the new coding stopped')),
    );
    const [w, r] = await Promise.allSettled([writing, reading]);
    if (w.status === 'rejected') throw w.reason;
    if (r.status === 'rejected') throw r.reason;
    const written = w.value;
    if (written.sha256 !== m.sha256 || written.size !== m.size)
      throw new ShardvaultError('corrupt', `${file.name} read back differently from its manifest`);
    const manifest: Manifest = {
      ...m,
      version,
      data: target.data,
      total: target.total,
      shardsVersion: version,
      fileKey: m.guard
        ? rewrap(vault, m, { ...m, version }).fileKey
        : wrapKey(keys.fileWrap, fileKey, fileKeyAad(vault.vaultId, file.id, version)),
      shards: written.shards.map((s) => ({
        index: s.index,
        object: objects[s.index]!,
        key: wrapKey(fileKey, shardKeys[s.index]!, shardKeyAad(file.id, shardKeyVersion, s.index)),
        digest: s.digest,
        size: s.size,
        locations: homes[s.index]!,
      })),
    };
    const { survive: _, ...plainManifest } = manifest;
    const bytes = encodeManifest(
      target.survive === undefined ? plainManifest : { ...plainManifest, survive: target.survive },
      keys.manifest,
    );
    const stored = await vault.everywhere((l) => l.node.put(PATHS.manifest(file.id, version), bytes));
    const needed = Math.min(vault.locations.length, Math.max(0, survivesLosses(homes, target.data)) + 1);
    if (stored.filter((s) => s.value !== undefined).length < needed)
      throw new ShardvaultError(
        'unavailable',
        `the new manifest of ${file.name} reached fewer than ${needed} locations`,
      );
    // From here a head naming the new coding may reach some locations even if the commit
    // fails: its objects must stay.
    committing = true;
    await vault.commit((h) => {
      const current = h.files.find((f) => f.id === file.id);
      // Replaced or removed meanwhile (another device): this coding is left to garbage collection.
      if (!current || current.version !== file.version) return dropPending(h, file.id);
      return dropPending(
        {
          ...h,
          files: h.files.map((f) => (f.id === file.id ? { ...f, version } : f)),
          tombstones: [...h.tombstones, { id: file.id, version: file.version }],
        },
        file.id,
      );
    });
  } catch (err) {
    if (committing) throw err;
    // Nothing names the new coding: it goes now (or to garbage collection if this fails).
    await Promise.allSettled(targets.map((t) => t.node.delete(t.path)));
    await vault.everywhere((l) => l.node.delete(PATHS.manifest(file.id, version)));
    throw err;
  } finally {
    wipe(fileKey, ...shardKeys, old.fileKey, ...old.shardKeys.filter((k): k is Uint8Array => k !== null));
  }
  if (vault.head().files.some((f) => f.id === file.id && f.version === version)) await removeObjects(vault, file);
  return file.size;
}

// ------------------------------------------------------------------ progress beside the lock

const PROGRESS_FILE = 'policy-job.json';

/**
 * A running job holds the profile lock for its life, so `policy status` from another process
 * can't open the vault; the job leaves its progress here instead (counts only, nothing
 * secret), for status to read without the lock.
 */
export async function writeJobProgress(dir: string, p: RecodeProgress & { pid: number }): Promise<void> {
  const target = nodePath.join(dir, PROGRESS_FILE);
  const temp = `${target}.${randomBytes(4).toString('hex')}.part`;
  await fs.writeFile(temp, JSON.stringify({ ...p, updated: new Date().toISOString() }), { mode: 0o600 });
  await fs.rename(temp, target);
}

export async function clearJobProgress(dir: string): Promise<void> {
  await fs.rm(nodePath.join(dir, PROGRESS_FILE), { force: true });
}

/** What a running job last wrote, or null. Bounded and checked: it is only a local file, but still read strictly. */
export async function readJobProgress(
  dir: string,
): Promise<(RecodeProgress & { pid: number; updated: string }) | null> {
  let text: string;
  try {
    const handle = await fs.open(nodePath.join(dir, PROGRESS_FILE), 'r');
    try {
      const buf = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    const n = (k: string): number => {
      const v = o[k];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(k);
      return v;
    };
    const left = o['secondsLeft'];
    const waiting = o['waitingFor'];
    return {
      waitingFor: Array.isArray(waiting)
        ? waiting.slice(0, 255).filter((w): w is string => typeof w === 'string' && w.length <= 64)
        : [],
      pid: n('pid'),
      files: n('files'),
      filesDone: n('filesDone'),
      bytes: n('bytes'),
      bytesDone: n('bytesDone'),
      secondsLeft: typeof left === 'number' && Number.isSafeInteger(left) && left >= 0 ? left : null,
      updated: typeof o['updated'] === 'string' ? o['updated'] : '',
    };
  } catch {
    return null;
  }
}
