// Issue 9, "a hostile location changes nothing": a location may hold anything well-formed,
// symbolic links included. `keys -> ~/Documents` plus `repair` used to delete the documents
// (a re-deal deletes every key share name it lists but the current one). Here one location
// of a vault gets every folder the vault uses swapped for a link to a folder outside (its
// real contents moved there, plus bait named exactly like vault objects, old enough for
// garbage collection), and its head becomes a link to a file outside. Then the vault is
// used hard: unlock, verify, repair, put, rm, garbage collection, location add and remove,
// a key rotation. Not one byte outside the location roots may change, and every file must
// still read back byte for byte. The same over SFTP (OpenSSH; the links made on the
// server's disk, which is this machine's).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../../src/core/crypto/kdf';
import { ForeignObjectError, NotFoundError } from '../../src/core/errors';
import { isFormatObjectName, PATHS } from '../../src/core/format/records';
import { LocalFolderNode } from '../../src/core/storage/local';
import { readObject, type StorageNode } from '../../src/core/storage/node';
import { SftpNode } from '../../src/core/storage/sftp/node';
import { getFile, putFile, removeFile, verify } from '../../src/core/vault/files';
import { addLocation, removeLocation } from '../../src/core/vault/location-ops';
import { repair } from '../../src/core/vault/repair';
import { Vault } from '../../src/core/vault/vault';
import { startSshd, type SshdServer } from '../servers/sshd';

const PASS = 'hostile location passphrase';
const DAY = 24 * 60 * 60 * 1000;
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Every entry under `dir` (links not followed): path -> what it is and, for files, its SHA-256. */
async function fingerprint(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (at: string): Promise<void> => {
    for (const name of (await fs.readdir(at)).sort()) {
      const full = nodePath.join(at, name);
      const rel = nodePath.relative(dir, full);
      const st = await fs.lstat(full);
      if (st.isSymbolicLink()) out.set(rel, `link ${await fs.readlink(full)}`);
      else if (st.isDirectory()) {
        out.set(rel, 'dir');
        await walk(full);
      } else out.set(rel, `file ${st.size} ${sha(await fs.readFile(full))} ${st.mode.toString(8)}`);
    }
  };
  await walk(dir);
  return out;
}

/** Files shaped like every kind of vault object, and some that are not, all made old. */
async function bait(dir: string, names: readonly string[]): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const name of [...names, 'notes.txt', 'tax-2025.pdf']) {
    await fs.writeFile(nodePath.join(dir, name), `precious ${name} ${hex(8)}`);
  }
  await age(dir);
}

/** Sets every file under `dir` two days into the past (garbage collection takes old ones). */
async function age(dir: string): Promise<void> {
  const past = new Date(Date.now() - 2 * DAY);
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const full = nodePath.join(entry.parentPath, entry.name);
    if (entry.isSymbolicLink()) await fs.lutimes(full, past, past);
    else await fs.utimes(full, past, past);
  }
}

/**
 * Turns location folder `loc` hostile: each folder the vault uses moves to `outside/<name>`
 * (real objects and all) with bait beside, and is replaced by a link to it; `head` becomes
 * a link to a file outside; a real `keys/` is not left behind.
 */
async function plantLinks(loc: string, outside: string, deviceId: string): Promise<void> {
  const baitNames: Record<string, string[]> = {
    keys: ['0000000001', '0000000002', '0000000003', '0000000099'],
    shards: [hex(16), hex(16)],
    manifests: [`${hex(16)}-1`, `${hex(16)}-7`],
    heads: [hex(16), deviceId],
    tmp: [`${hex(12)}.part`, `probe-${hex(8)}`],
  };
  for (const [dir, names] of Object.entries(baitNames)) {
    const away = nodePath.join(outside, dir);
    const here = nodePath.join(loc, dir);
    await fs.rename(here, away).catch(() => fs.mkdir(away));
    await bait(away, names);
    await fs.symlink(away, here);
  }
  const logAway = nodePath.join(outside, 'log-device');
  await fs.rename(nodePath.join(loc, PATHS.logDir(deviceId)), logAway);
  await bait(logAway, ['000000000001', '000000000999']);
  await fs.symlink(logAway, nodePath.join(loc, PATHS.logDir(deviceId)));
  // A foreign device's log folder too, and the head.
  const otherLog = nodePath.join(outside, 'log-other');
  await bait(otherLog, ['000000000001']);
  await fs.symlink(otherLog, nodePath.join(loc, 'log', hex(16)));
  await fs.rename(nodePath.join(loc, PATHS.head), nodePath.join(outside, 'head-file'));
  await fs.symlink(nodePath.join(outside, 'head-file'), nodePath.join(loc, PATHS.head));
}

/** Links to single files outside, named like vault objects, inside real folders of `loc`. */
async function plantFileLinks(loc: string, outside: string): Promise<void> {
  const target = nodePath.join(outside, 'single');
  await bait(target, ['key', 'shard', 'temp', 'head']);
  const links: [string, string][] = [
    [PATHS.keyShare(0), 'key'],
    [PATHS.shard(hex(16)), 'shard'],
    [`tmp/${hex(12)}.part`, 'temp'],
    [PATHS.deviceHead(hex(16)), 'head'],
  ];
  for (const [name, to] of links) {
    await fs.mkdir(nodePath.dirname(nodePath.join(loc, name)), { recursive: true });
    await fs.symlink(nodePath.join(target, to), nodePath.join(loc, name));
  }
  // A real file with a name the vault does not make, old: not the vault's to collect.
  await fs.writeFile(nodePath.join(loc, 'keys', 'notes.txt'), 'mine, not the vault');
  await fs.mkdir(nodePath.join(loc, 'tmp'), { recursive: true });
  await fs.writeFile(nodePath.join(loc, 'tmp', 'draft.part'), 'mine, not the vault');
  await age(loc);
}

async function attempt(what: string, log: string[], run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
    log.push(`${what}: ok`);
  } catch (err) {
    log.push(`${what}: ${(err as Error).message}`);
  }
}

function* chunks(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += 7000) yield bytes.subarray(at, at + 7000);
}

async function readsBack(vault: Vault, files: Map<string, Uint8Array>, scratch: string): Promise<void> {
  for (const [name, bytes] of files) {
    const out = nodePath.join(scratch, `${name}.out`);
    await getFile(vault, name, out, { force: true });
    expect(sha(await fs.readFile(out)), name).toBe(sha(bytes));
  }
}

describe('a folder location full of links changes nothing outside its root', () => {
  let root: string;
  let outside: string;
  const folders: string[] = [];

  beforeAll(async () => {
    root = await fs.mkdtemp(nodePath.join(tmpdir(), 'sv-symlink-'));
    outside = nodePath.join(root, 'outside');
    await fs.mkdir(outside);
    for (const name of ['l1', 'l2', 'l3', 'l4', 'l5']) {
      folders.push(nodePath.join(root, name));
      await fs.mkdir(nodePath.join(root, name));
    }
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('through unlock, verify, repair, put, rm, garbage collection, location add/remove and a key rotation', async () => {
    const profile = nodePath.join(root, 'profile');
    const warnings: string[] = [];
    const created = await Vault.create(profile, {
      locations: folders.slice(0, 3).map((f, i) => `${f}#loc${i + 1}`),
      policy: { survive: 1, secretAgainst: 1 },
      passphrase: PASS,
      kdf: INSECURE_TEST_KDF,
      segmentSize: 8192,
    });
    const files = new Map<string, Uint8Array>([
      ['a.bin', new Uint8Array(randomBytes(50_000))],
      ['b.bin', new Uint8Array(randomBytes(20_000))],
    ]);
    for (const [name, bytes] of files) await putFile(created.vault, chunks(bytes), name);
    const deviceId = created.vault.deviceId;
    await created.vault.close();

    await plantLinks(folders[2]!, outside, deviceId);
    await plantFileLinks(folders[1]!, outside);
    const before = await fingerprint(outside);
    const l2Before = await fingerprint(folders[1]!);

    const vault = await Vault.load(profile, { onWarning: (m) => warnings.push(m) });
    const log: string[] = [];
    try {
      await vault.unlock({ passphrase: PASS });
      await attempt('verify', log, () => verify(vault, true));
      await attempt('repair', log, () => repair(vault, { deep: true }));
      const c = new Uint8Array(randomBytes(30_000));
      await attempt('put', log, async () => {
        await putFile(vault, chunks(c), 'c.bin');
        files.set('c.bin', c);
      });
      await attempt('rm', log, async () => {
        await removeFile(vault, 'b.bin');
        files.delete('b.bin');
      });
      // Everything unreferenced counts as old garbage three hours from now.
      await attempt('gc', log, () => repair(vault, { deep: false, now: Date.now() + 3 * 60 * 60 * 1000 }));
      await attempt('add loc4', log, () => addLocation(vault, `${folders[3]}#loc4`));
      // A rotation with the hostile location still in the vault: heads of others are deleted.
      await attempt('remove loc4 untrusted', log, () => removeLocation(vault, 'loc4', { untrusted: true }));
      await attempt('add loc5', log, () => addLocation(vault, `${folders[4]}#loc5`));
      // Removing the hostile location empties it: every folder it lists.
      await attempt('remove loc3 untrusted', log, () => removeLocation(vault, 'loc3', { untrusted: true }));
      await attempt('final repair', log, () => repair(vault, { deep: true }));

      expect(await fingerprint(outside), log.join('\n')).toEqual(before);
      await readsBack(vault, files, root);
      expect(files.has('b.bin')).toBe(false);
      // The planted file links and the files the vault never made are all still there.
      const l2After = await fingerprint(folders[1]!);
      for (const [rel, what] of l2Before) {
        if (what.startsWith('link') || rel.endsWith('notes.txt') || rel.endsWith('draft.part'))
          expect(l2After.get(rel), rel).toBe(what);
      }
    } finally {
      await vault.close();
    }
    // A fresh load reads every file too (nothing the hostile location said stuck).
    const again = await Vault.load(profile);
    try {
      await again.unlock({ passphrase: PASS });
      await readsBack(again, files, root);
    } finally {
      await again.close();
    }
    expect(await fingerprint(outside)).toEqual(before);
  });
});

describe('StorageNode below a root never follows a link', () => {
  /** The node checks run over a local folder and over OpenSSH (its folder is on this disk). */
  interface Subject {
    readonly node: StorageNode;
    /** The location root on this machine's disk. */
    readonly dir: string;
  }
  let tmp: string;
  let sshd: SshdServer;
  const subjects: Record<'local' | 'sftp', Subject | null> = { local: null, sftp: null };

  beforeAll(async () => {
    tmp = await fs.mkdtemp(nodePath.join(tmpdir(), 'sv-symlink-node-'));
    await fs.mkdir(nodePath.join(tmp, 'local'));
    subjects.local = { node: new LocalFolderNode(nodePath.join(tmp, 'local')), dir: nodePath.join(tmp, 'local') };
    sshd = await startSshd();
    subjects.sftp = {
      node: new SftpNode({
        host: sshd.host,
        port: sshd.port,
        username: sshd.user,
        root: sshd.dataDir,
        privateKeyPath: sshd.keyPath,
        fingerprint: sshd.fingerprint,
      }),
      dir: sshd.dataDir,
    };
  });
  afterAll(async () => {
    await subjects.sftp?.node.close();
    await sshd?.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  describe.each(['local', 'sftp'] as const)('%s', (kind) => {
    let s: Subject;
    let outside: string;
    let before: Map<string, string>;
    const shardName = hex(16);
    beforeAll(async () => {
      s = subjects[kind]!;
      outside = nodePath.join(tmp, `outside-${kind}`);
      await bait(nodePath.join(outside, 'dir'), ['0000000001', shardName, `${hex(12)}.part`]);
      await fs.writeFile(nodePath.join(outside, 'file'), 'precious file');
      await fs.symlink(nodePath.join(outside, 'dir'), nodePath.join(s.dir, 'keys'));
      await fs.symlink(nodePath.join(outside, 'dir'), nodePath.join(s.dir, 'shards'));
      await fs.symlink(nodePath.join(outside, 'dir'), nodePath.join(s.dir, 'tmp'));
      await fs.symlink(nodePath.join(outside, 'file'), nodePath.join(s.dir, 'head'));
      await fs.mkdir(nodePath.join(s.dir, 'heads'));
      await fs.symlink(nodePath.join(outside, 'file'), nodePath.join(s.dir, 'heads', deviceA));
      before = await fingerprint(outside);
    });
    const deviceA = 'a'.repeat(32);

    it('lists no linked folder and no linked object', async () => {
      expect(await s.node.list('keys')).toEqual([]);
      expect(await s.node.list('shards')).toEqual([]);
      expect(await s.node.list('heads')).toEqual([]);
      expect((await s.node.list('')).map((o) => o.path)).not.toContain('head');
    });

    it('reads nothing through a link: stat answers null, get NotFoundError', async () => {
      for (const path of [PATHS.keyShare(1), PATHS.shard(shardName), PATHS.head, PATHS.deviceHead(deviceA)]) {
        expect(await s.node.stat(path), path).toBeNull();
        await expect(s.node.get(path), path).rejects.toBeInstanceOf(NotFoundError);
      }
    });

    it('refuses to write through a linked folder, and writes nothing outside', async () => {
      await expect(s.node.put(PATHS.keyShare(2), new Uint8Array(10))).rejects.toBeInstanceOf(ForeignObjectError);
      await expect(s.node.put(PATHS.shard(hex(16)), new Uint8Array(10))).rejects.toBeInstanceOf(ForeignObjectError);
      expect(await fingerprint(outside)).toEqual(before);
    });

    it('refuses to delete through a linked folder, a link, or a name the format does not make', async () => {
      for (const path of [PATHS.keyShare(1), PATHS.shard(shardName), PATHS.head, PATHS.deviceHead(deviceA)]) {
        await expect(s.node.delete(path), path).rejects.toBeInstanceOf(ForeignObjectError);
      }
      await fs.writeFile(nodePath.join(s.dir, 'notes.txt'), 'mine');
      await expect(s.node.delete('notes.txt')).rejects.toBeInstanceOf(ForeignObjectError);
      expect(await fs.readFile(nodePath.join(s.dir, 'notes.txt'), 'utf8')).toBe('mine');
      expect(await fingerprint(outside)).toEqual(before);
    });

    it('replaces a linked object on put without touching its target', async () => {
      // Every put writes under tmp/ first: a linked tmp/ refuses them all.
      await expect(s.node.put(PATHS.head, new Uint8Array(3))).rejects.toBeInstanceOf(ForeignObjectError);
      await fs.unlink(nodePath.join(s.dir, 'tmp'));
      await s.node.put(PATHS.head, new Uint8Array([1, 2, 3]));
      expect((await fs.lstat(nodePath.join(s.dir, 'head'))).isFile()).toBe(true);
      expect(Array.from(await readObject(s.node, PATHS.head, 10))).toEqual([1, 2, 3]);
      await s.node.delete(PATHS.head);
      expect(await fingerprint(outside)).toEqual(before);
    });

    it('sees a FIFO as no object, at once (no hang)', async () => {
      const { execFileSync } = await import('node:child_process');
      await fs.mkdir(nodePath.join(s.dir, 'manifests'), { recursive: true });
      const fifo = nodePath.join(s.dir, PATHS.manifest(hex(16), 1));
      execFileSync('mkfifo', [fifo]);
      const rel = nodePath.relative(s.dir, fifo);
      expect(await s.node.stat(rel)).toBeNull();
      await expect(s.node.get(rel)).rejects.toBeInstanceOf(NotFoundError);
      await expect(s.node.delete(rel)).rejects.toBeInstanceOf(ForeignObjectError);
      expect(await s.node.list('manifests')).toEqual([]);
    });
  });

  it('a root the user configured as a link is resolved once and used', async () => {
    const real = nodePath.join(tmp, 'real-root');
    await fs.mkdir(real);
    await fs.symlink(real, nodePath.join(tmp, 'root-link'));
    const node = new LocalFolderNode(nodePath.join(tmp, 'root-link'));
    await node.put(PATHS.head, new Uint8Array([7]));
    expect(await fs.readFile(nodePath.join(real, 'head'))).toEqual(Buffer.from([7]));
    expect((await node.list('')).map((o) => o.path)).toEqual(['head']);
    await node.delete(PATHS.head);
    expect(await fs.readdir(real)).toEqual(['tmp']);
  });
});

describe('the names the format makes', () => {
  it('are exactly what PATHS makes', () => {
    const id = hex(16);
    for (const name of [
      PATHS.vault,
      PATHS.head,
      PATHS.deviceHead(id),
      PATHS.keyShare(1),
      PATHS.keyShare(4_294_967_295),
      PATHS.manifest(id, 1),
      PATHS.manifest(id, 4_294_967_295),
      PATHS.shard(id),
      PATHS.logEntry(id, 1),
      PATHS.temp(hex(12)),
      PATHS.probe(hex(8)),
    ]) {
      expect(isFormatObjectName(name), name).toBe(true);
    }
    for (const name of [
      '',
      'keys',
      'shards',
      'notes.txt',
      'keys/1',
      'keys/00000000001',
      `heads/${id.toUpperCase()}`,
      `shards/${id}/x`,
      `shards/${id}.bak`,
      `manifests/${id}`,
      `manifests/${id}-01`,
      `log/${id}`,
      `log/${id}/1`,
      'tmp/leftover.part',
      `tmp/${hex(12)}`,
      `../${PATHS.head}`,
      `x/${PATHS.head}`,
    ]) {
      expect(isFormatObjectName(name), name).toBe(false);
    }
  });
});

describe('a keys folder linked outside an SFTP location, then repair', () => {
  let sshd: SshdServer;
  let root: string;

  beforeAll(async () => {
    root = await fs.mkdtemp(nodePath.join(tmpdir(), 'sv-symlink-sftp-'));
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('deletes nothing outside, and the vault reads every file', async () => {
    const sftpRoot = nodePath.join(sshd.dataDir, 'l3');
    await fs.mkdir(sftpRoot);
    const folders = [nodePath.join(root, 'l1'), nodePath.join(root, 'l2')];
    for (const f of folders) await fs.mkdir(f);
    const sftp =
      `sftp://${sshd.user}@${sshd.host}:${sshd.port}${sftpRoot}?identity=${sshd.keyPath}` +
      `&fingerprint=${sshd.fingerprint}#loc3`;
    const profile = nodePath.join(root, 'profile');
    const created = await Vault.create(profile, {
      locations: [`${folders[0]}#loc1`, `${folders[1]}#loc2`, sftp],
      policy: { survive: 1, secretAgainst: 1 },
      passphrase: PASS,
      kdf: INSECURE_TEST_KDF,
      segmentSize: 8192,
    });
    const bytes = new Uint8Array(randomBytes(40_000));
    await putFile(created.vault, chunks(bytes), 'doc');
    await created.vault.close();

    // The server's keys folder becomes a link to the user's documents on that server (files
    // named like key shares among them). loc3's share is then unreadable: repair re-deals, and
    // a re-deal that reached every location deletes every other generation's name it lists.
    const documents = nodePath.join(root, 'documents');
    await fs.rm(nodePath.join(sftpRoot, 'keys'), { recursive: true });
    await bait(documents, ['0000000001', '0000000002', '0000000003', '0000000042']);
    await fs.symlink(documents, nodePath.join(sftpRoot, 'keys'));
    const before = await fingerprint(documents);

    const vault = await Vault.load(profile);
    try {
      await vault.unlock({ passphrase: PASS });
      const report = await repair(vault, { deep: true });
      expect(report.keyShares).not.toBe('current'); // loc3's share is not readable: re-dealt
      await repair(vault, { deep: false, now: Date.now() + 3 * 60 * 60 * 1000 });
      expect(await fingerprint(documents)).toEqual(before);
      await readsBack(vault, new Map([['doc', bytes]]), root);
    } finally {
      await vault.close();
    }
    expect(await fingerprint(documents)).toEqual(before);
  });
});
