// The engine behind the UIs (src/core/app.ts) across a restart: a UI process loads the
// profile without the passphrase and unlocks later, so a location whose credentials are
// sealed under the passphrase (a WebDAV password here, on a real rclone server) must be
// opened at unlock, not left unreachable.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type CredentialStore } from '../src/core/app';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import type { LocationSecrets } from '../src/core/storage/open';
import { startRclone, type RcloneServer } from './servers/rclone';
import { folderInput, webdavInput } from './helpers/location-input';

const PASS = 'app restart passphrase';
let root: string;
let dav: RcloneServer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'shardvault-app-'));
  for (const dir of ['profile', 'a', 'b']) mkdirSync(join(root, dir));
  dav = await startRclone('webdav');
});

afterAll(async () => {
  await dav?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('a UI engine restarted over a location with a sealed password', () => {
  it('reaches it again once unlocked, and not before', async () => {
    const u = new URL(dav.url);
    const davInput = webdavInput(`http://${u.host}${u.pathname}`, dav.user, dav.password, 'dav');
    const options = { profileDir: join(root, 'profile'), insecureKdf: INSECURE_TEST_KDF, segmentSize: 65536 };
    const first = createApp(options);
    await first.createVault({
      locations: [folderInput(join(root, 'a'), 'a'), davInput, folderInput(join(root, 'b'), 'b')],
      survive: 1,
      secretAgainst: 1,
      passphrase: PASS,
    });
    const source = join(root, 'in.bin');
    writeFileSync(source, randomBytes(300_000));
    await first.putFile({ path: source, name: 'f' });
    await first.close();

    const second = createApp(options);
    try {
      const locked = await second.status();
      expect(locked?.locked).toBe(true);
      expect(locked?.locations.find((l) => l.name === 'dav')).toMatchObject({ reachable: false });
      await expect(second.unlock({ passphrase: 'not it' })).rejects.toMatchObject({ code: 'auth' });
      await second.unlock({ passphrase: PASS });
      const status = await second.status();
      expect(status?.locations.find((l) => l.name === 'dav')).toMatchObject({ reachable: true, shards: 1 });
      expect(await second.listFiles()).toEqual([expect.objectContaining({ name: 'f', health: 'healthy' })]);
    } finally {
      await second.close();
    }
  });

  it("with the desktop app's keystore copy, the locked app reaches it too", async () => {
    const kept = new Map<string, LocationSecrets>();
    const credentials: CredentialStore = {
      load: () => Promise.resolve(kept.size > 0 ? new Map(kept) : null),
      save: (c) => {
        kept.clear();
        c.forEach((v, k) => kept.set(k, v));
        return Promise.resolve();
      },
    };
    const options = { profileDir: join(root, 'profile'), insecureKdf: INSECURE_TEST_KDF, credentials };
    const first = createApp(options);
    await first.unlock({ passphrase: PASS });
    await first.close();
    expect([...kept.values()]).toEqual([{ password: dav.password }]);

    const second = createApp(options);
    try {
      const locked = await second.status();
      expect(locked?.locked).toBe(true);
      expect(locked?.locations.find((l) => l.name === 'dav')).toMatchObject({ reachable: true, shards: 1 });
    } finally {
      await second.close();
    }
  });

  it("stores a dropped folder (the desktop app's putTree, by path) in one put; a link is refused", async () => {
    const app = createApp({ profileDir: join(root, 'profile'), insecureKdf: INSECURE_TEST_KDF });
    try {
      await app.unlock({ passphrase: PASS });
      const source = join(root, 'in.bin');
      writeFileSync(join(root, 'b.txt'), 'bee');
      symlinkSync(source, join(root, 'link'));
      const dropped = [
        { name: 'in.bin', path: source },
        { name: 'sub/b.txt', path: join(root, 'b.txt') },
        { name: 'empty/' },
      ];
      expect(await app.putTree({ name: 'dropped', files: dropped })).toMatchObject({
        name: 'dropped',
        files: 2,
        folders: 1,
        bytes: 300_003,
      });
      await expect(
        app.putTree({ name: 'linked', files: [{ name: 'l', path: join(root, 'link') }] }),
      ).rejects.toMatchObject({ code: 'usage' });
      await expect(app.putTree({ name: 'dropped', files: dropped })).rejects.toMatchObject({ code: 'exists' });
      const puts = (await app.accessLog()).filter((r) => r.action === 'put' && r.outcome === 'ok');
      expect(puts.map((r) => r.file)).toEqual(['f', 'dropped/']);
      expect((await app.listFiles()).map((f) => f.name).sort()).toEqual([
        'dropped/empty/',
        'dropped/in.bin',
        'dropped/sub/b.txt',
        'f',
      ]);
    } finally {
      await app.close();
    }
  });
});
