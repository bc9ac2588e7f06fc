// A re-coding cut short before its commit leaves a sealed manifest of its own behind (same
// name, size and hash as the file's; its shards become garbage). When the next attempt wrote
// the same version (v + 1) and one location missed that write, the location kept serving the
// first attempt's manifest: it passes every check a reader makes, so a reader (and repair,
// which then collected the real coding's shards as garbage) followed it. Real vault over real
// folders; the cut (a commit that fails) and the missed write are made by wrapping calls.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import type { Head } from '../src/core/format/head';
import { getFile, putFile } from '../src/core/vault/files';
import { changePolicy, runRecode } from '../src/core/vault/policy-change';
import { GARBAGE_AGE_MS, repair } from '../src/core/vault/repair';
import { Vault } from '../src/core/vault/vault';

const PASS = 'recode version test passphrase, long enough';
let root: string;
let vault: Vault;
const folder = (n: string): string => path.join(root, n);

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'sv-recode-version-'));
  for (const n of ['a', 'b', 'c', 'd']) await fs.mkdir(folder(n));
  ({ vault } = await Vault.create(path.join(root, 'profile'), {
    locations: ['a', 'b', 'c', 'd'].map((n) => `${folder(n)}#${n}`),
    policy: { survive: 2, secretAgainst: 1 },
    passphrase: PASS,
    kdf: INSECURE_TEST_KDF,
    segmentSize: 4096,
  }));
});

afterAll(async () => {
  await vault?.close();
  await fs.rm(root, { recursive: true, force: true });
});

describe('the re-coding job after a cut-short attempt', () => {
  it('writes a version no earlier attempt used, so a stale manifest is never followed', async () => {
    const bytes = new Uint8Array(randomBytes(30_000));
    await putFile(vault, [bytes], 'doc');
    const id = vault.head().files[0]!.id;
    expect(vault.locations.map((l) => l.name)).toEqual(['a', 'b', 'c', 'd']);
    await changePolicy(vault, { survive: 1, secretAgainst: 1 });
    expect(vault.head().recode?.pending).toEqual([id]);

    // Attempt 1: everything written, then the commit fails (as a kill would cut it).
    const commit = vault.commit.bind(vault);
    vault.commit = (_change: (h: Head) => Head): Promise<Head> => Promise.reject(new Error('cut short'));
    await expect(runRecode(vault)).rejects.toThrow(/could not be re-coded/);
    vault.commit = commit;

    // Attempt 2: location a misses the new manifest (a dropped connection), the rest take it.
    const a = vault.locations[0]!.node;
    const put = a.put.bind(a);
    a.put = (p, data) => (p.startsWith(`manifests/${id}-`) ? Promise.reject(new Error('dropped')) : put(p, data));
    try {
      await runRecode(vault);
    } finally {
      a.put = put;
    }
    expect(vault.head().recode).toBeUndefined();

    // Garbage collection an hour and more later, then a read with a away.
    await repair(vault, { deep: false, now: Date.now() + 2 * GARBAGE_AGE_MS });
    const out = path.join(root, 'out');
    await getFile(vault, 'doc', out, { force: true });
    expect(Buffer.from(await fs.readFile(out)).equals(bytes)).toBe(true);
    await fs.rename(folder('a'), `${folder('a')}.away`);
    try {
      await getFile(vault, 'doc', out, { force: true });
      expect(Buffer.from(await fs.readFile(out)).equals(bytes)).toBe(true);
    } finally {
      await fs.rename(`${folder('a')}.away`, folder('a'));
    }
  });
});
