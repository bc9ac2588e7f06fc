// A passphrase change on one device while another holds the vault unlocked (a long-lived app
// session): the other device's PK is the old one, and a re-deal from it (location add,
// repair) would seal the shares under the old passphrase again, undoing the change. It is
// refused instead, and the change stands.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { repair } from '../src/core/vault/repair';
import { Vault } from '../src/core/vault/vault';

const OLD = 'old passphrase of two devices';
const NEW = 'new passphrase of two devices';
let root: string;
let laptop: Vault;
let desktop: Vault;
let folders: string[];

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'sv-pass-session-'));
  folders = ['a', 'b', 'c'].map((n) => path.join(root, n));
  for (const f of folders) await fs.mkdir(f);
  ({ vault: laptop } = await Vault.create(path.join(root, 'laptop'), {
    locations: folders,
    policy: { survive: 1, secretAgainst: 1 },
    passphrase: OLD,
    kdf: INSECURE_TEST_KDF,
    segmentSize: 4096,
  }));
  desktop = await Vault.attach(path.join(root, 'desktop'), folders, { passphrase: OLD }, null);
});

afterAll(async () => {
  await laptop?.close();
  await desktop?.close();
  await fs.rm(root, { recursive: true, force: true });
});

const shares = (): Promise<string[][]> =>
  Promise.all(folders.map(async (f) => (await fs.readdir(path.join(f, 'keys'))).sort()));

it('a session unlocked before the change can not deal under the old passphrase', async () => {
  const change = await laptop.changePassphrase(NEW);
  expect(change).toMatchObject({ retired: true, away: [], recoveryCode: null });
  const after = await shares();
  expect(after).toEqual([['0000000002'], ['0000000002'], ['0000000002']]);

  // The desktop's session still holds the old PK: repair finds its (stale) generation gone
  // and would deal again; it is refused, and the laptop's deal stays.
  await expect(repair(desktop, { deep: false })).rejects.toThrow(/dealt again on another device/);
  await expect(desktop.redeal()).rejects.toThrow(/lock and unlock again/);
  expect(await shares()).toEqual(after);

  // Unlocked again, the desktop takes the new passphrase and not the old one.
  desktop.lock();
  await expect(desktop.unlock({ passphrase: OLD })).rejects.toThrow(/wrong passphrase/);
  await desktop.unlock({ passphrase: NEW });
  expect(desktop.head().generation).toBe(2);
});
