// The passphrase changed in one app, then another device's app (its own profile, which seals
// a WebDAV password under the old passphrase) unlocks with the new one: given the previous
// passphrase once at unlock, it reaches the WebDAV location again and seals the password
// under the new passphrase. Over a real rclone WebDAV server and two folders.
import { join } from 'node:path';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApp } from '../src/core/app';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { folderInput, webdavInput } from './helpers/location-input';
import { startRclone, type RcloneServer } from './servers/rclone';

const OLD = 'lantern orchard before winter rain';
const NEW = 'copper kettle hums at seven';
let root: string;
let dav: RcloneServer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sv-pass-app-'));
  for (const d of ['a', 'b']) mkdirSync(join(root, d));
  dav = await startRclone('webdav');
});

afterAll(async () => {
  await dav?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

it('another device gives the previous passphrase once and seals its WebDAV password again', async () => {
  const u = new URL(dav.url);
  const locations = [
    folderInput(join(root, 'a'), 'a'),
    webdavInput(`http://${u.host}${u.pathname}`, dav.user, dav.password, 'dav'),
    folderInput(join(root, 'b'), 'b'),
  ];
  const laptopOptions = { profileDir: join(root, 'laptop'), insecureKdf: INSECURE_TEST_KDF, segmentSize: 65536 };
  const desktopOptions = { ...laptopOptions, profileDir: join(root, 'desktop') };

  const laptop = createApp(laptopOptions);
  await laptop.createVault({ locations, survive: 1, secretAgainst: 1, passphrase: OLD });
  await laptop.confirmRecoveryKit();
  const desktop = createApp(desktopOptions);
  await desktop.openVault({ locations, passphrase: OLD });
  await desktop.close();
  const sealedBefore = readFileSync(join(root, 'desktop', 'profile.json'), 'utf8');
  expect(sealedBefore).not.toContain(dav.password);

  // A wrong current passphrase is refused; the right one changes it on all three.
  await expect(laptop.changePassphrase({ passphrase: 'not it at all', newPassphrase: NEW })).rejects.toMatchObject({
    code: 'auth',
  });
  expect(await laptop.changePassphrase({ passphrase: OLD, newPassphrase: NEW })).toEqual({
    reached: ['a', 'dav', 'b'],
    away: [],
    retired: true,
    newRecoveryCode: false,
  });
  await laptop.close();

  const dav_ = async (app: ReturnType<typeof createApp>): Promise<boolean | undefined> =>
    (await app.status())?.locations.find((l) => l.name === 'dav')?.reachable;

  // The new passphrase alone unlocks (the two folders hold t shares) but can't open the
  // WebDAV password sealed under the old one.
  const second = createApp(desktopOptions);
  try {
    await second.unlock({ passphrase: NEW });
    expect(await dav_(second)).toBe(false);
    await second.lock();
    // A wrong previous passphrase opens nothing.
    await expect(second.unlock({ passphrase: NEW, oldPassphrase: 'not the old one' })).rejects.toMatchObject({
      code: 'auth',
    });
    await second.unlock({ passphrase: NEW, oldPassphrase: OLD });
    expect(await dav_(second)).toBe(true);
  } finally {
    await second.close();
  }
  expect(readFileSync(join(root, 'desktop', 'profile.json'), 'utf8')).not.toBe(sealedBefore);

  // Once is enough: from now on the new passphrase reaches the WebDAV location by itself.
  const third = createApp(desktopOptions);
  try {
    await third.unlock({ passphrase: NEW });
    expect(await dav_(third)).toBe(true);
    await third.lock();
    await expect(third.unlock({ passphrase: OLD })).rejects.toMatchObject({ code: 'auth' });
  } finally {
    await third.close();
  }
});
