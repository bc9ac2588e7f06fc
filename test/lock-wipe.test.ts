// Lock wipes the keys: the buffers that held them are zeros afterwards, not merely dropped
// (docs/SECURITY.md, "Keys"). Driven the way the desktop app drives it: the engine facade
// (src/core/app.ts) that main's IPC calls, locked by the same IdleLock main arms, and by a
// direct lock; and the CLI's way in, which derives the passphrase key before unlocking when
// a location's password is sealed under it (a WebDAV location on a real rclone server here).
// Reading the vault's private fields is the point: they are what must be zeros.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../src/core/app';
import { utf8 } from '../src/core/crypto/bytes';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { Vault } from '../src/core/vault/vault';
import { IdleLock } from '../src/core/idle-lock';
import { startRclone, type RcloneServer } from './servers/rclone';
import { folderInput, webdavInput } from './helpers/location-input';

const PASS = 'wipe me on lock, ünïcödé too';
let root: string;
let dav: RcloneServer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'shardvault-wipe-'));
  dav = await startRclone('webdav');
  // Before rclone lists its folder (it caches listings): one location root per test.
  for (const name of ['cli', 'desktop']) mkdirSync(join(dav.dataDir, name));
});

afterAll(async () => {
  await dav?.stop();
  rmSync(root, { recursive: true, force: true });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

interface Inside {
  vk: Uint8Array | null;
  pk: Uint8Array | null;
  keys: { head: Uint8Array; manifest: Uint8Array; fileWrap: Uint8Array } | null;
  currentHead: { logPrivateKey: Uint8Array; recoveryKey: Uint8Array } | null;
  preKey: { passphrase: Uint8Array; pk: Uint8Array } | null;
}
const inside = (vault: Vault): Inside => vault as unknown as Inside;

/** Every key buffer an unlocked vault holds, by name. */
function keyBuffers(vault: Vault): Record<string, Uint8Array> {
  const v = inside(vault);
  return {
    vk: v.vk!,
    pk: v.pk!,
    head: v.keys!.head,
    manifest: v.keys!.manifest,
    fileWrap: v.keys!.fileWrap,
    logPrivateKey: v.currentHead!.logPrivateKey,
    recoveryKey: v.currentHead!.recoveryKey,
  };
}

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

function expectHeld(buffers: Record<string, Uint8Array>): void {
  for (const [name, b] of Object.entries(buffers)) {
    expect(b, name).toBeInstanceOf(Uint8Array);
    expect(b.length, name).toBe(32);
    expect(isZero(b), `${name} holds a key before lock`).toBe(false);
  }
}

function expectWiped(buffers: Record<string, Uint8Array>): void {
  for (const [name, b] of Object.entries(buffers)) expect(isZero(b), `${name} is zeros after lock`).toBe(true);
}

/** A new profile with a vault over two folders and, when asked, the WebDAV location. */
async function newVault(name: string, withDav: boolean): Promise<string> {
  const dir = join(root, name);
  for (const sub of ['profile', 'a', 'b', 'c']) mkdirSync(join(dir, sub), { recursive: true });
  const u = new URL(dav.url);
  const davInput = webdavInput(`http://${u.host}${u.pathname}${name}`, dav.user, dav.password, 'dav');
  const app = createApp({ profileDir: join(dir, 'profile'), insecureKdf: INSECURE_TEST_KDF, segmentSize: 65536 });
  await app.createVault({
    locations: [
      folderInput(join(dir, 'a'), 'a'),
      folderInput(join(dir, 'b'), 'b'),
      withDav ? davInput : folderInput(join(dir, 'c'), 'c'),
    ],
    survive: 1,
    secretAgainst: 1,
    passphrase: PASS,
  });
  await app.close();
  return join(dir, 'profile');
}

describe('lock wipes the keys, not just the references', () => {
  it('the idle timer main arms locks the engine, and every key buffer is zeros', async () => {
    const profileDir = await newVault('idle', false);
    const load = vi.spyOn(Vault, 'load');
    const app = createApp({ profileDir, insecureKdf: INSECURE_TEST_KDF });
    try {
      await app.unlock({ passphrase: PASS });
      const vault = (await load.mock.results[0]!.value) as Vault;
      expect(vault.unlocked).toBe(true);
      const held = keyBuffers(vault);
      expectHeld(held);

      // src/main/index.ts: new IdleLock(settings.autoLockMinutes, () => void lockAll('idle')),
      // and lockAll calls the engine's lock().
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
      const locks: Promise<void>[] = [];
      const idle = new IdleLock(
        1,
        () => {
          locks.push(app.lock());
        },
        1000,
      );
      vi.advanceTimersByTime(59_000);
      expect(locks).toHaveLength(0); // not idle for a minute yet
      vi.advanceTimersByTime(2_000);
      idle.stop();
      vi.useRealTimers();
      expect(locks).toHaveLength(1);
      await Promise.all(locks);

      expect(vault.unlocked).toBe(false);
      expectWiped(held);
      expect(inside(vault).vk).toBeNull();
      expect(inside(vault).pk).toBeNull();

      // Unlocked again, the keys are fresh buffers, and a lock from the UI wipes those too.
      await app.unlock({ passphrase: PASS });
      const again = keyBuffers(vault);
      expectHeld(again);
      expect(again['vk']).not.toBe(held['vk']);
      await app.lock();
      expectWiped(again);
    } finally {
      await app.close();
    }
  });

  it('a passphrase key derived ahead of the unlock, and the passphrase bytes kept with it, are wiped too', async () => {
    const profileDir = await newVault('cli', true);
    // The CLI loads with the passphrase when a location's password is sealed under it: the
    // key is derived once, kept for the unlock that follows, with the passphrase's bytes.
    const vault = await Vault.load(profileDir, {}, PASS);
    try {
      const ahead = inside(vault).preKey;
      expect(ahead).not.toBeNull();
      expect(ahead!.passphrase).toEqual(utf8(PASS.normalize('NFC')));
      expect(isZero(ahead!.pk)).toBe(false);
      vault.lock(); // locked before ever unlocking: what was derived ahead goes
      expect(isZero(ahead!.passphrase)).toBe(true);
      expect(isZero(ahead!.pk)).toBe(true);
      expect(inside(vault).preKey).toBeNull();

      // The unlock then derives the key again (nothing kept) and works.
      await vault.unlock({ passphrase: PASS });
      const held = keyBuffers(vault);
      expectHeld(held);
      expect(inside(vault).preKey).toBeNull(); // handed on to the unlock, not kept beside it
      vault.lock();
      expectWiped(held);
    } finally {
      await vault.close();
    }
  });

  it('the desktop path (load without the passphrase, unlock later) keeps nothing ahead once unlocked', async () => {
    const profileDir = await newVault('desktop', true);
    const load = vi.spyOn(Vault, 'load');
    const app = createApp({ profileDir, insecureKdf: INSECURE_TEST_KDF });
    try {
      expect((await app.status())?.locked).toBe(true);
      const vault = (await load.mock.results[0]!.value) as Vault;
      // A wrong passphrase opens nothing and leaves nothing derived from it behind.
      await expect(app.unlock({ passphrase: 'not it' })).rejects.toMatchObject({ code: 'auth' });
      expect(inside(vault).preKey).toBeNull();
      await app.unlock({ passphrase: PASS });
      expect(inside(vault).preKey).toBeNull();
      const held = keyBuffers(vault);
      expectHeld(held);
      await app.lock();
      expectWiped(held);
    } finally {
      await app.close();
    }
  });
});
