/**
 * File operations over an unlocked vault: put, get, rm, ls, placement, verify, and reading
 * the audit log. Each is an access request, audited on the locations.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { AccessRequest, FileEntry, Health, PlacementReport, ShardState, VerifyReport } from '../../shared/api';
import { wipe } from '../crypto/bytes';
import { openFrame } from '../crypto/stream';
import { TAG_BYTES } from '../crypto/aead';
import { registerTemporary, unregisterTemporary } from '../cleanup';
import { CorruptError, NotFoundError, ShardvaultError, UsageError } from '../errors';
import type { FileRef, Head, Policy } from '../format/head';
import { decodeManifest, encodeManifest, type Manifest } from '../format/manifest';
import { MAX_LOG_ENTRY_BYTES, MAX_MANIFEST_BYTES, PATHS, SHARD_HEADER_BYTES, shardHeader } from '../format/records';
import { readObject } from '../storage/node';
import { checkChain, decodeLogEntry, type DecodedEntry } from './audit';
import { fileKeyAad, shardKeyAad, unwrapKey, wrapKey } from './keys';
import {
  pieceLength,
  readShards,
  segmentBytes,
  segmentCount,
  ShardDigest,
  writeShards,
  type ReadSpec,
  type ShardProblem,
} from './pipeline';
import { placeShards, survivesLosses } from './policy';
import type { Location, Vault } from './vault';

const newId = (): string => randomBytes(16).toString('hex');
/** Device markers read at most per location (a location could list any number). */
const MAX_LOG_DEVICES = 1024;

export function checkFileName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new UsageError('a file name may not be empty');
  if (name.length > 1024) throw new UsageError('a file name may be at most 1024 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new UsageError('a file name may not hold control characters');
}

function findFile(head: Head, name: string): FileRef {
  const file = head.files.find((f) => f.name === name);
  if (!file) throw new NotFoundError(`no file named ${JSON.stringify(name)} in the vault`);
  return file;
}

// ------------------------------------------------------------------ put

export async function putFile(
  vault: Vault,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  name: string,
  opts: {
    replace?: boolean;
    expectedSize?: number;
    /** This file survives losing that many locations (more than the vault's own X costs
     * more parity: k = n − X). The seed's "dynamic sharding" by sensitivity. */
    survive?: number;
  } = {},
): Promise<FileEntry> {
  checkFileName(name);
  return vault.audited('put', name, async (used) => {
    const keys = vault.requireKeys();
    const head = vault.head();
    const existing = head.files.find((f) => f.name === name);
    if (existing && !opts.replace)
      throw new ShardvaultError('exists', `${name} is already in the vault (use --replace to replace it)`);
    const policy = filePolicy(head.policy, vault.policySurvives(), opts.survive);

    const health = await vault.health();
    const reachable = vault.locations.filter((l) => health.get(l.id)?.reachable);
    // A random starting point spreads files over all locations when there are more than n.
    const start = randomBytes(1)[0]! % Math.max(1, reachable.length);
    const order = [...reachable.slice(start), ...reachable.slice(0, start)];
    const placement = placeShards(
      policy.total,
      Math.min(policy.replicas, order.length),
      order.map((l) => l.id),
    );
    const survives = survivesLosses(placement, policy.data);
    const wanted = vault.policySurvives() + (head.policy.data - policy.data);
    if (survives < wanted) {
      throw new ShardvaultError(
        'unavailable',
        `only ${reachable.length} of ${vault.locations.length} locations are reachable: the file would survive losing ${Math.max(0, survives)} ` +
          `location(s) instead of ${wanted}; bring the others back first`,
      );
    }

    const fileId = newId();
    const version = 1;
    let committing = false;
    const fileKey = new Uint8Array(randomBytes(32));
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
    const targets = placement.flatMap((ids, index) =>
      ids.map((id) => ({ index, node: vault.locationById(id)!.node, path: PATHS.shard(objects[index]!) })),
    );
    for (const id of new Set(placement.flat())) used.add(vault.locationById(id)!.name);
    try {
      const written = await writeShards({
        source,
        geometry: policy,
        headers,
        keys: shardKeys,
        targets,
        onProgress: (done) => vault.emitProgress({ op: 'put', name, done, total: opts.expectedSize ?? done }),
      });
      const created = new Date().toISOString();
      const manifest: Manifest = {
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
        fileKey: wrapKey(keys.fileWrap, fileKey, fileKeyAad(vault.vaultId, fileId, version)),
        shards: written.shards.map((s) => ({
          index: s.index,
          object: objects[s.index]!,
          key: wrapKey(fileKey, shardKeys[s.index]!, shardKeyAad(fileId, version, s.index)),
          digest: s.digest,
          size: s.size,
          locations: placement[s.index]!,
        })),
      };
      const bytes = encodeManifest(manifest, keys.manifest);
      const stored = await vault.everywhere((l) => l.node.put(PATHS.manifest(fileId, version), bytes), reachable);
      const needed = Math.min(reachable.length, wanted + 1);
      if (stored.filter((s) => s.value !== undefined).length < needed) {
        throw new ShardvaultError('unavailable', `the manifest reached fewer than ${needed} locations`);
      }
      const ref: FileRef = { id: fileId, version, name, size: written.size, sha256: written.sha256, created };
      // From here a head naming the file may reach some locations even if the commit then
      // fails: its objects must stay (garbage collection takes them if nothing refers to them).
      committing = true;
      await vault.commit((h) => ({
        ...h,
        files: [...h.files.filter((f) => f.name !== name), ref],
        tombstones: existing ? [...h.tombstones, { id: existing.id, version: existing.version }] : h.tombstones,
      }));
      if (existing) await removeObjects(vault, existing);
      return {
        name,
        size: written.size,
        sha256: written.sha256,
        created,
        health: survives >= wanted ? 'healthy' : 'degraded',
        survives,
      };
    } catch (err) {
      if (committing) throw err;
      // Nothing references what was stored: collect it now.
      await vault.everywhere((l) => l.node.delete(PATHS.manifest(fileId, version)), reachable);
      await vault.everywhere(async (l) => {
        for (const o of objects) await l.node.delete(PATHS.shard(o));
      }, reachable);
      throw err;
    } finally {
      wipe(fileKey, ...shardKeys);
    }
  });
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

export function unwrapShardKeys(vault: Vault, m: Manifest): { fileKey: Uint8Array; shardKeys: (Uint8Array | null)[] } {
  const keys = vault.requireKeys();
  const fileKey = unwrapKey(keys.fileWrap, m.fileKey, fileKeyAad(vault.vaultId, m.fileId, m.version), 'file key');
  const shardKeys = m.shards.map((s) => {
    try {
      return unwrapKey(fileKey, s.key, shardKeyAad(m.fileId, m.version, s.index), `shard ${s.index} key`);
    } catch {
      return null;
    }
  });
  return { fileKey, shardKeys };
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

/** What readShards needs to read a file: its geometry, headers, keys and where its copies are. */
export function readSpecOf(
  vault: Vault,
  m: Manifest,
  shardKeys: readonly (Uint8Array | null)[],
  skip: (index: number, locationId: string) => boolean = () => false,
): ReadSpec {
  return {
    geometry: m,
    size: m.size,
    sha256: m.sha256,
    headers: headersOf(vault, m),
    keys: shardKeys,
    shardDigests: m.shards.map((s) => s.digest),
    copies: m.shards.map((s) =>
      s.locations.flatMap((id) => {
        const l = vault.locationById(id);
        return l && !skip(s.index, id) ? [{ node: l.node, path: PATHS.shard(s.object), location: l.name }] : [];
      }),
    ),
  };
}

export async function getFile(
  vault: Vault,
  name: string,
  output: string,
  opts: { force?: boolean } = {},
): Promise<{ problems: ShardProblem[] }> {
  return vault.audited('get', name, async (used) => {
    const file = findFile(vault.head(), name);
    const target = nodePath.resolve(output);
    const existing = await fs.stat(target).catch(() => null);
    if (existing?.isDirectory()) throw new UsageError(`${target} is a folder; give a file path`);
    if (existing && !opts.force) throw new ShardvaultError('exists', `${target} exists (use --force to overwrite it)`);
    const m = await fetchManifest(vault, file);
    const { fileKey, shardKeys } = unwrapShardKeys(vault, m);
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
      // The access request names the locations the read took bytes from, not every one the
      // manifest lists (one that was down gave nothing).
      const problems = await readShards(
        readSpecOf(vault, m, shardKeys),
        async (segment) => {
          for (const part of segmentBytes(segment)) await handle.write(part);
        },
        {
          onProgress: (done) => vault.emitProgress({ op: 'get', name, done, total: m.size }),
          onRead: (copy) => used.add(copy.location),
        },
      );
      await handle.sync();
      await handle.close();
      await fs.rename(temp, target);
      renamed = true;
      return { problems };
    } finally {
      wipe(fileKey, ...shardKeys);
      if (!renamed) {
        await handle.close().catch(() => undefined);
        await fs.rm(temp, { force: true });
      }
      unregisterTemporary(temp);
    }
  });
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
      `this vault's files survive losing ${vaultSurvives} location(s); a file can ask for more, not fewer`,
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

// ------------------------------------------------------------------ rm

async function removeObjects(vault: Vault, file: FileRef): Promise<void> {
  let m: Manifest | null = null;
  try {
    m = await fetchManifest(vault, file);
  } catch {
    m = null; // its shards become orphans for garbage collection
  }
  await vault.everywhere(async (l) => {
    if (m) for (const s of m.shards) if (s.locations.includes(l.id)) await l.node.delete(PATHS.shard(s.object));
    await l.node.delete(PATHS.manifest(file.id, file.version));
  });
}

export async function removeFile(vault: Vault, name: string): Promise<void> {
  await vault.audited('rm', name, async (used) => {
    const file = findFile(vault.head(), name);
    vault.locations.forEach((l) => used.add(l.name));
    await vault.commit((h) => ({
      ...h,
      files: h.files.filter((f) => f.id !== file.id),
      tombstones: [...h.tombstones, { id: file.id, version: file.version }],
    }));
    await removeObjects(vault, file);
  });
}

// ------------------------------------------------------------------ health, placement, verify

/** What each reachable location holds under shards/: object path -> size; null when unreachable. */
export async function shardListings(vault: Vault): Promise<Map<string, Map<string, number> | null>> {
  const listed = await vault.everywhere(
    async (l) => new Map((await l.node.list('shards')).map((o) => [o.path, o.size])),
  );
  return new Map(listed.map((r) => [r.location.id, r.value ?? null]));
}

export interface CopyState {
  readonly index: number;
  readonly location: Location | null;
  readonly locationId: string;
  state: ShardState;
}

export function copyStates(vault: Vault, m: Manifest, listings: Map<string, Map<string, number> | null>): CopyState[] {
  return m.shards.flatMap((s) =>
    s.locations.map((id) => {
      const listing = listings.get(id);
      const size = listing?.get(PATHS.shard(s.object));
      const state: ShardState =
        listing === null || listing === undefined
          ? 'offline'
          : size === undefined
            ? 'missing'
            : size !== s.size
              ? 'corrupt'
              : 'ok';
      return { index: s.index, location: vault.locationById(id) ?? null, locationId: id, state };
    }),
  );
}

export function healthOf(m: Manifest, copies: readonly CopyState[]): { health: Health; survives: number } {
  const good = m.shards.map((s) =>
    copies.filter((c) => c.index === s.index && c.state === 'ok').map((c) => c.locationId),
  );
  const survives = survivesLosses(good, m.data);
  if (survives < 0) return { health: 'lost', survives: -1 };
  const allGood = copies.every((c) => c.state === 'ok');
  return { health: allGood ? 'healthy' : 'degraded', survives };
}

export async function listFiles(vault: Vault): Promise<FileEntry[]> {
  const head = vault.head();
  const listings = await shardListings(vault);
  return Promise.all(
    head.files.map(async (f) => {
      let health: Health = 'lost';
      let survives = -1;
      try {
        const m = await fetchManifest(vault, f);
        ({ health, survives } = healthOf(m, copyStates(vault, m, listings)));
      } catch {
        // no manifest anywhere: lost
      }
      return { name: f.name, size: f.size, sha256: f.sha256, created: f.created, health, survives };
    }),
  );
}

export async function placement(
  vault: Vault,
  name: string,
): Promise<PlacementReport & { health: Health; survives: number }> {
  const file = findFile(vault.head(), name);
  const m = await fetchManifest(vault, file);
  const copies = copyStates(vault, m, await shardListings(vault));
  return {
    name,
    shards: m.shards.map((s) => ({
      index: s.index,
      locations: copies
        .filter((c) => c.index === s.index)
        .map((c) => ({ name: c.location?.name ?? c.locationId, state: c.state })),
    })),
    ...healthOf(m, copies),
  };
}

/** Downloads one copy and checks every frame and the stored-bytes hash. */
export async function checkCopyDeep(
  vault: Vault,
  m: Manifest,
  index: number,
  location: Location,
  key: Uint8Array | null,
): Promise<ShardState> {
  if (!key) return 'corrupt';
  const s = m.shards[index]!;
  const header = headersOf(vault, m)[index]!;
  try {
    const bytes = await readObject(location.node, PATHS.shard(s.object), s.size);
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

export async function verify(vault: Vault, deep: boolean): Promise<VerifyReport> {
  const head = vault.head();
  const listings = await shardListings(vault);
  const files: VerifyReport['files'][number][] = [];
  const problems: VerifyReport['problems'][number][] = [];
  let done = 0;
  for (const f of head.files) {
    let m: Manifest;
    try {
      m = await fetchManifest(vault, f);
    } catch {
      files.push({ name: f.name, health: 'lost', survives: -1 });
      problems.push({ file: f.name, shard: null, location: '*', kind: 'manifest' });
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
      if (r.value === false) problems.push({ file: f.name, shard: null, location: r.location.name, kind: 'manifest' });
    }
    const copies = copyStates(vault, m, listings);
    if (deep) {
      const { fileKey, shardKeys } = unwrapShardKeys(vault, m);
      try {
        for (const c of copies) {
          if (c.state === 'ok' && c.location)
            c.state = await checkCopyDeep(vault, m, c.index, c.location, shardKeys[c.index] ?? null);
        }
      } finally {
        wipe(fileKey, ...shardKeys.map((k) => k ?? undefined));
      }
    }
    for (const c of copies) {
      if (c.state !== 'ok')
        problems.push({ file: f.name, shard: c.index, location: c.location?.name ?? c.locationId, kind: c.state });
    }
    files.push({ name: f.name, ...healthOf(m, copies) });
    vault.emitProgress({ op: 'verify', name: f.name, done: ++done, total: head.files.length });
  }
  return { ok: problems.length === 0, files, problems };
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
