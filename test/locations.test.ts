// Changing the locations of a living vault (local folders here; the same code drives SFTP
// and WebDAV): add deals new key shares, remove moves shards first, --untrusted rotates the
// vault key, and a rotation cut short leaves the old vault readable.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { getFile, listFiles, putFile, verify } from '../src/core/vault/files';
import { newVaultKey } from '../src/core/vault/keys';
import { addLocation, editLocation, removeLocation } from '../src/core/vault/location-ops';
import { Vault } from '../src/core/vault/vault';

const PASS = 'locations test';
let root: string;
let profile: string;
let vault: Vault;
const contents = new Map<string, string>();
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const folder = (name: string): string => path.join(root, name);

async function store(name: string, size: number): Promise<void> {
  const bytes = new Uint8Array(randomBytes(size));
  contents.set(name, sha(bytes));
  await putFile(vault, [bytes], name);
}

async function readsBack(v: Vault): Promise<void> {
  for (const [name, want] of contents) {
    const out = path.join(root, `out-${randomBytes(4).toString('hex')}`);
    await getFile(v, name, out);
    expect(sha(await fs.readFile(out))).toBe(want);
    await fs.rm(out);
  }
}

async function reopen(): Promise<void> {
  await vault.close();
  vault = await Vault.load(profile);
  await vault.unlock({ passphrase: PASS });
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'sv-locations-'));
  profile = path.join(root, 'profile');
  for (const n of ['a', 'b', 'c', 'd', 'e']) await fs.mkdir(folder(n));
  ({ vault } = await Vault.create(profile, {
    locations: ['a', 'b', 'c'].map((n) => `${folder(n)}#${n}`),
    policy: { survive: 1, secretAgainst: 1 },
    passphrase: PASS,
    kdf: INSECURE_TEST_KDF,
    segmentSize: 4096,
  }));
  await store('first', 30_000);
});

afterAll(async () => {
  await vault.close();
  await fs.rm(root, { recursive: true, force: true });
});

describe('location add', () => {
  it('deals the key shares again over the new set and keeps every file readable', async () => {
    const added = await addLocation(vault, `${folder('d')}#d`);
    expect(added).toMatchObject({ name: 'd', kind: 'local' });
    for (const n of ['a', 'b', 'c', 'd'])
      expect(await fs.readdir(path.join(folder(n), 'keys'))).toEqual(['0000000002']);
    // The new location holds every manifest too (any t locations list the vault).
    expect(await fs.readdir(path.join(folder('d'), 'manifests'))).toHaveLength(1);
    await reopen();
    expect(vault.locations.map((l) => l.name)).toEqual(['a', 'b', 'c', 'd']);
    await store('second', 20_000);
    await readsBack(vault);
  });

  it('refuses a folder that already holds a vault, or one given twice', async () => {
    await expect(addLocation(vault, folder('a'))).rejects.toThrow(/already a location/);
    await expect(addLocation(vault, `${folder('missing')}#x`)).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('location edit', () => {
  it('renames a location, and moves it to an address that holds its data', async () => {
    await editLocation(vault, 'd', { name: 'disk' });
    await reopen();
    expect(vault.locations.map((l) => l.name)).toEqual(['a', 'b', 'c', 'disk']);
    expect(vault.head().locations.map((l) => l.name)).toEqual(['a', 'b', 'c', 'disk']);
    // The disk is now mounted elsewhere: the same data at a new path.
    await fs.rename(folder('d'), folder('d.moved'));
    await editLocation(vault, 'disk', { spec: folder('d.moved') });
    await reopen();
    expect(vault.locations.find((l) => l.name === 'disk')?.display).toBe(folder('d.moved'));
    const report = await verify(vault, true);
    expect(report.ok, JSON.stringify(report)).toBe(true);
    await readsBack(vault);
    await fs.rename(folder('d.moved'), folder('d'));
    await editLocation(vault, 'disk', { name: 'd', spec: folder('d') });
  });

  it('refuses an address without its data, another location, a taken or malformed name', async () => {
    await fs.mkdir(folder('empty'));
    await expect(editLocation(vault, 'd', { spec: folder('empty') })).rejects.toThrow(/holds no Shardvault location/);
    await expect(editLocation(vault, 'd', { spec: folder('b') })).rejects.toThrow(/already another location/);
    await fs.cp(folder('b'), folder('b.twin'), { recursive: true });
    await expect(editLocation(vault, 'd', { spec: folder('b.twin') })).rejects.toThrow(/another location's data/);
    await expect(editLocation(vault, 'd', { name: 'b' })).rejects.toThrow(/called b already/);
    await expect(editLocation(vault, 'd', { name: '../x' })).rejects.toThrow(/location name/);
    await expect(editLocation(vault, 'nope', { name: 'x' })).rejects.toThrow(/no location named nope/);
    expect(vault.locations.find((l) => l.name === 'd')?.display).toBe(folder('d'));
    await readsBack(vault);
  });
});

describe('location remove', () => {
  it('moves the shards off, re-deals, and the files read without it', async () => {
    const { moved } = await removeLocation(vault, 'a', { untrusted: false });
    expect(moved).toBeGreaterThan(0);
    // What the vault put there is gone (the audit log stays: it is evidence).
    expect(await fs.readdir(path.join(folder('a'), 'shards'))).toEqual([]);
    await expect(fs.stat(path.join(folder('a'), 'shardvault.json'))).rejects.toThrow();
    await fs.rename(folder('a'), folder('a.gone'));
    await reopen();
    expect(vault.locations.map((l) => l.name)).toEqual(['b', 'c', 'd']);
    const report = await verify(vault, true);
    expect(report.ok, JSON.stringify(report)).toBe(true);
    await readsBack(vault);
    expect((await listFiles(vault)).every((f) => f.health === 'healthy')).toBe(true);
  });

  it('refuses a removal the policy could not survive', async () => {
    await expect(removeLocation(vault, 'b', { untrusted: false })).rejects.toMatchObject({ code: 'policy' });
  });

  it('--untrusted rotates the vault key: the old shares open nothing current', async () => {
    await addLocation(vault, `${folder('e')}#e`);
    // The untrusted location keeps a copy of what it held (it can't be made to forget).
    await fs.cp(folder('e'), folder('e.copy'), { recursive: true });
    await fs.cp(folder('b'), folder('b.copy'), { recursive: true });
    const { rotated } = await removeLocation(vault, 'e', { untrusted: true });
    expect(rotated).toBe(true);
    await reopen();
    await readsBack(vault);
    expect((await verify(vault, true)).ok).toBe(true);
    await store('after rotation', 5000);
    // The old shares of e and b still combine to the old key: that opens the old state the
    // copies hold (they had it anyway), but nothing written since.
    const thief = await Vault.attach(
      path.join(root, 'thief'),
      [folder('e.copy'), folder('b.copy'), folder('c')], // c is real: the newest head is there
      { passphrase: PASS },
      null,
    );
    try {
      expect(thief.head().files.map((f) => f.name)).not.toContain('after rotation');
      await expect(getFile(thief, 'after rotation', path.join(root, 'stolen'))).rejects.toMatchObject({
        code: 'not-found',
      });
    } finally {
      await thief.close();
    }
    await reopen();
    await readsBack(vault);
  });
});

describe('a rotation cut short', () => {
  it('leaves the previous vault key and head in force', async () => {
    const before = vault.head().counter;
    await expect(
      vault.rotateTo(newVaultKey(), () => {
        throw new Error('the power went out');
      }),
    ).rejects.toThrow(/power/);
    // New key shares were written, but no head under the new key: unlock falls back.
    await reopen();
    expect(vault.head().counter).toBe(before);
    await readsBack(vault);
  });
});

describe('another device and a key rotation', () => {
  it('follows the rotation through the record the old key signed, and refuses a new key without one', async () => {
    const base = await fs.mkdtemp(path.join(tmpdir(), 'sv-rotation-'));
    const dir = (n: string): string => path.join(base, n);
    for (const n of ['p', 'q', 'r', 's']) await fs.mkdir(dir(n));
    const specs = ['p', 'q', 'r'].map((n) => `${dir(n)}#${n}`);
    const { vault: owner } = await Vault.create(dir('owner'), {
      locations: specs,
      policy: { survive: 1, secretAgainst: 1 },
      passphrase: PASS,
      kdf: INSECURE_TEST_KDF,
      segmentSize: 4096,
    });
    try {
      await putFile(owner, [new Uint8Array(randomBytes(5000))], 'before');
      await addLocation(owner, `${dir('s')}#s`);
      // Two other devices attach while the old key is in force: both pin it.
      for (const d of ['laptop', 'desk']) (await Vault.attach(dir(d), specs, { passphrase: PASS }, null)).lock();
      const oldFingerprint = owner.keyFingerprint;
      const { rotated } = await removeLocation(owner, 's', { untrusted: true });
      expect(rotated).toBe(true);
      expect(owner.keyFingerprint).not.toBe(oldFingerprint);
      await putFile(owner, [new Uint8Array(randomBytes(5000))], 'after');
      const rotations = (await fs.readdir(path.join(dir('p'), 'keys'))).filter((n) => n.startsWith('rotation-'));
      expect(rotations).toHaveLength(1);

      const laptop = await Vault.load(dir('laptop'));
      try {
        await laptop.unlock({ passphrase: PASS });
        expect(laptop.keyFingerprint).toBe(owner.keyFingerprint);
        expect((await listFiles(laptop)).map((f) => f.name).sort()).toEqual(['after', 'before']);
      } finally {
        await laptop.close();
      }

      // Without the signed record, the new key is one this device never trusted: refused,
      // never followed (as a key a hostile location dealt would be).
      for (const n of ['p', 'q', 'r']) {
        for (const r of rotations) await fs.rm(path.join(dir(n), 'keys', r));
      }
      const desk = await Vault.load(dir('desk'));
      try {
        await expect(desk.unlock({ passphrase: PASS })).rejects.toMatchObject({ code: 'corrupt' });
        expect(desk.keyFingerprint).toBe(oldFingerprint);
      } finally {
        await desk.close();
      }
    } finally {
      await owner.close();
      await fs.rm(base, { recursive: true, force: true });
    }
  });
});
