// A command killed between committing a location change and saving the profile leaves the
// profile's locations apart from the head's; the next unlock makes the profile follow the
// head, and a folder an add was cut short on can be added again.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { encodeVaultRecord, PATHS } from '../src/core/format/records';
import { repair } from '../src/core/vault/repair';
import { addLocation, removeLocation } from '../src/core/vault/location-ops';
import { Vault } from '../src/core/vault/vault';

const PASS = 'follow the head';
let root: string;
const folder = (n: string): string => path.join(root, n);

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'sv-follow-'));
  for (const n of ['a', 'b', 'c', 'd', 'e', 'a2', 'b2', 'c2']) await fs.mkdir(folder(n));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('the profile follows the head', () => {
  it('drops a location whose removal was committed though the profile was not saved', async () => {
    const profile = path.join(root, 'p1');
    const { vault } = await Vault.create(profile, {
      locations: ['a', 'b', 'c', 'd'].map((n) => `${folder(n)}#${n}`),
      // 3 shards over 4 locations: one of them can go.
      policy: { data: 2, total: 3, threshold: 2, replicas: 1 },
      passphrase: PASS,
      kdf: INSECURE_TEST_KDF,
    });
    await vault.close();
    const files = await fs.readdir(profile);
    const saved = new Map<string, Buffer>();
    for (const f of files) {
      const st = await fs.stat(path.join(profile, f));
      if (st.isFile()) saved.set(f, await fs.readFile(path.join(profile, f)));
    }
    const v = await Vault.load(profile);
    await v.unlock({ passphrase: PASS });
    await removeLocation(v, 'd', { untrusted: false });
    await v.close();
    // The profile as it was before the removal: it still lists d.
    for (const [f, bytes] of saved) await fs.writeFile(path.join(profile, f), bytes);
    expect(saved.size).toBeGreaterThan(0);

    const warnings: string[] = [];
    const again = await Vault.load(profile, { onWarning: (m) => warnings.push(m) });
    expect(again.locations.map((l) => l.name)).toEqual(['a', 'b', 'c', 'd']);
    await again.unlock({ passphrase: PASS });
    expect(again.locations.map((l) => l.name)).toEqual(['a', 'b', 'c']);
    expect(warnings.some((w) => /d is no longer a location/.test(w))).toBe(true);
    const report = await repair(again, { deep: false });
    expect(report.ok, JSON.stringify(report)).toBe(true);
    await again.close();
    const reloaded = await Vault.load(profile);
    expect(reloaded.locations.map((l) => l.name)).toEqual(['a', 'b', 'c']);
    await reloaded.close();
  });

  it('adds again a folder an add of this vault was cut short on', async () => {
    const profile = path.join(root, 'p2');
    const { vault } = await Vault.create(profile, {
      locations: ['a2', 'b2', 'c2'].map((n) => `${folder(n)}#${n}`),
      policy: { survive: 1, secretAgainst: 1 },
      passphrase: PASS,
      kdf: INSECURE_TEST_KDF,
    });
    // What a killed add leaves: the record naming this vault and a location id the head lacks.
    await fs.writeFile(path.join(folder('e'), PATHS.vault), encodeVaultRecord(vault.locationRecord('ab'.repeat(16))));
    await expect(addLocation(vault, `${folder('e')}#e`)).resolves.toMatchObject({ name: 'e' });
    expect(vault.locations.map((l) => l.name)).toEqual(['a2', 'b2', 'c2', 'e']);
    // Another vault's folder is still refused.
    await expect(addLocation(vault, `${folder('a')}#x`)).rejects.toMatchObject({ code: 'exists' });
    await vault.close();
  });
});
