// Repair brings locations back to what the head says: lost and damaged shard copies are
// rebuilt byte for byte, missing manifests rewritten, a location that missed a re-deal gets
// the current key shares, and old garbage (only old garbage) is collected.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { PATHS } from '../src/core/format/records';
import { fetchManifest, getFile, putFile, verify } from '../src/core/vault/files';
import { GARBAGE_AGE_MS, repair } from '../src/core/vault/repair';
import { Vault } from '../src/core/vault/vault';

let root: string;
let vault: Vault;
const folders: string[] = [];
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function* chunks(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += 7000) yield bytes.subarray(at, at + 7000);
}

async function objectFiles(name: string): Promise<string[]> {
  const file = vault.head().files.find((f) => f.name === name)!;
  const m = await fetchManifest(vault, file);
  return m.shards.map((s) =>
    path.join(folders[vault.locations.findIndex((l) => l.id === s.locations[0])]!, PATHS.shard(s.object)),
  );
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'sv-repair-'));
  for (let i = 0; i < 5; i++) {
    folders.push(path.join(root, `loc${i}`));
    await fs.mkdir(folders[i]!);
  }
  ({ vault } = await Vault.create(path.join(root, 'profile'), {
    locations: folders,
    policy: { survive: 2, secretAgainst: 2 },
    passphrase: 'repair test',
    kdf: INSECURE_TEST_KDF,
    segmentSize: 8192,
  }));
  await vault.close();
  vault = await Vault.load(path.join(root, 'profile'));
  await vault.unlock({ passphrase: 'repair test' });
});

afterAll(async () => {
  await vault.close();
  await fs.rm(root, { recursive: true, force: true });
});

describe('repair', () => {
  it('rebuilds deleted and damaged shard copies byte for byte', async () => {
    const bytes = new Uint8Array(randomBytes(50_000));
    await putFile(vault, chunks(bytes), 'doc');
    const files = await objectFiles('doc');
    const originals = await Promise.all(files.map((f) => fs.readFile(f)));
    await fs.rm(files[0]!); // a data shard lost
    const parity = Buffer.from(originals[4]!);
    parity[49 + 3 * 2747 + 100]! ^= 1; // in frame 3 of 7 (frames of 8192 / 3 bytes and a tag)
    // A parity shard damaged in a middle frame: same size, and quick verify authenticates the
    // first and last frames only, so only --deep sees it.
    await fs.writeFile(files[4]!, parity);

    const quick = await verify(vault, false);
    expect(quick.problems.map((p) => `${p.shard}:${p.kind}`)).toEqual(['0:missing']);
    const report = await repair(vault, { deep: true });
    expect(report.files).toEqual([{ name: 'doc', before: 'degraded', after: 'healthy', survives: 2, rebuilt: 2 }]);
    expect(report.ok).toBe(true);
    for (const [i, f] of files.entries()) expect(sha(await fs.readFile(f))).toBe(sha(originals[i]!));
    expect((await verify(vault, true)).ok).toBe(true);
    // idempotent
    const again = await repair(vault, { deep: true });
    expect(again.files[0]!.rebuilt).toBe(0);
    const out = path.join(root, 'doc.out');
    await getFile(vault, 'doc', out);
    expect(sha(await fs.readFile(out))).toBe(sha(bytes));
  });

  it('rewrites a missing manifest and reports an unreachable location as pending', async () => {
    const file = vault.head().files.find((f) => f.name === 'doc')!;
    await fs.rm(path.join(folders[2]!, PATHS.manifest(file.id, file.version)));
    await fs.rename(folders[3]!, `${folders[3]}.away`);
    try {
      const report = await repair(vault, { deep: false });
      expect(report.manifestsWritten).toBe(1);
      expect(report.ok).toBe(false);
      expect(report.pending.join('\n')).toMatch(/loc4 is unreachable/);
      await fs.stat(path.join(folders[2]!, PATHS.manifest(file.id, file.version)));
    } finally {
      await fs.rename(`${folders[3]}.away`, folders[3]!);
    }
  });

  it('gives a location that lost its key share the current generation', async () => {
    const before = vault.head().generation;
    await fs.rm(path.join(folders[1]!, 'keys'), { recursive: true });
    const report = await repair(vault, { deep: false });
    expect(report.keyShares).toBe('redealt');
    expect(vault.head().generation).toBe(before + 1);
    for (const f of folders)
      expect(await fs.readdir(path.join(f, 'keys'))).toEqual([PATHS.keyShare(before + 1).split('/')[1]]);
    const fresh = await Vault.load(path.join(root, 'profile'));
    await vault.close();
    await fresh.unlock({ passphrase: 'repair test' });
    vault = fresh;
  });

  it('collects old orphans and temporary objects, and nothing referenced, young or not its own', async () => {
    const orphan = path.join(folders[0]!, 'shards', 'ab'.repeat(16));
    const young = path.join(folders[0]!, 'shards', 'cd'.repeat(16));
    const temp = path.join(folders[0]!, PATHS.temp('ef'.repeat(12)));
    // Old too, but no name the vault makes: a location's listing does not make it garbage.
    const foreign = [path.join(folders[0]!, 'tmp', 'leftover.part'), path.join(folders[0]!, 'shards', 'notes.txt')];
    await fs.mkdir(path.dirname(temp), { recursive: true });
    for (const f of [orphan, young, temp, ...foreign]) await fs.writeFile(f, 'x');
    const past = new Date(Date.now() - GARBAGE_AGE_MS - 60_000);
    for (const f of [orphan, temp, ...foreign]) await fs.utimes(f, past, past);
    const report = await repair(vault, { deep: false });
    expect(report.collected).toBe(2);
    await expect(fs.stat(orphan)).rejects.toThrow();
    await expect(fs.stat(temp)).rejects.toThrow();
    await fs.stat(young);
    for (const f of foreign) await fs.rm(f);
    expect((await verify(vault, true)).ok).toBe(true);
  });
});

describe('repair looks inside key shares and heads', () => {
  it('re-deals when a key share is damaged inside its sealed box', async () => {
    const before = vault.head().generation;
    const share = path.join(folders[2]!, PATHS.keyShare(before));
    const bytes = await fs.readFile(share);
    bytes[100]! ^= 1; // inside the passphrase box: the record still parses
    await fs.writeFile(share, bytes);
    const report = await repair(vault, { deep: false });
    expect(report.keyShares).toBe('redealt');
    expect(vault.head().generation).toBe(before + 1);
    await expect(fs.stat(share)).rejects.toThrow(); // the damaged generation is gone
  });

  it('writes the head again where it is damaged', async () => {
    for (const f of [folders[0]!, folders[1]!]) {
      const head = path.join(f, PATHS.head);
      const bytes = await fs.readFile(head);
      bytes[bytes.length - 5]! ^= 1;
      await fs.writeFile(head, bytes);
    }
    expect(await vault.staleHeads()).toHaveLength(2);
    await repair(vault, { deep: false });
    expect(await vault.staleHeads()).toHaveLength(0);
  });
});
