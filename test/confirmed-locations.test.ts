// The desktop app's own question before a key share goes somewhere new
// (src/main/confirmed-locations.ts), over the real engine: a no leaves the vault (or its
// absence) as it was, a yes does what the page asked, and the question names every place the
// request names, in main's words. The native dialog is the one stand-in (it needs a person).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebContents } from 'electron';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/core/app';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { confirmedLocationHandlers, describeLocation, type Question } from '../src/main/confirmed-locations';
import { folderInput, webdavInput } from './helpers/location-input';

const root = mkdtempSync(join(tmpdir(), 'shardvault-confirmed-'));
const app = createApp({ profileDir: join(root, 'profile'), insecureKdf: INSECURE_TEST_KDF });
const sender = {} as WebContents;
const asked: Question[] = [];
let answer = false;
const handlers = confirmedLocationHandlers(app, (from, question) => {
  expect(from).toBe(sender);
  asked.push(question);
  return Promise.resolve(answer);
});
const folder = (name: string): string => {
  const path = join(root, name);
  mkdirSync(path, { recursive: true });
  return path;
};

afterAll(async () => {
  await app.close();
  rmSync(root, { recursive: true, force: true });
});

describe("main's question before a new location", () => {
  const three = ['a', 'b', 'c'].map((d) => folderInput(folder(d)));
  const create = {
    locations: three,
    survive: 1,
    secretAgainst: 1,
    passphrase: 'confirmed locations test passphrase 7',
  };

  it('names every location of a new vault, and a no creates nothing anywhere', async () => {
    answer = false;
    await expect(handlers.createVault(create, sender)).rejects.toMatchObject({ code: 'forbidden' });
    expect(asked).toHaveLength(1);
    for (const d of ['a', 'b', 'c']) expect(asked[0]!.detail).toContain(`Folder: ${join(root, d)}`);
    for (const d of ['a', 'b', 'c']) expect(readdirSync(join(root, d))).toEqual([]);
    expect(await app.status()).toBeNull();
  });

  it('a yes creates the vault the page asked for', async () => {
    answer = true;
    const made = await handlers.createVault(create, sender);
    expect(made.total).toBe(3);
    expect(asked).toHaveLength(2);
    expect(readdirSync(join(root, 'a')).length).toBeGreaterThan(0);
  });

  it('a no to an added location stores nothing there; a rename alone asks nothing', async () => {
    answer = false;
    const d = folder('d');
    await expect(handlers.addLocation({ location: folderInput(d, 'evil') }, sender)).rejects.toMatchObject({
      code: 'forbidden',
    });
    expect(asked.at(-1)!.detail).toContain(`evil, Folder: ${d}`);
    expect(readdirSync(d)).toEqual([]);
    expect((await app.status())!.locations.map((l) => l.name)).not.toContain('evil');

    const first = (await app.status())!.locations[0]!.name;
    const before = asked.length;
    await expect(
      handlers.editLocation({ name: first, location: folderInput(folder('e')) }, sender),
    ).rejects.toMatchObject({ code: 'forbidden' });
    expect(asked).toHaveLength(before + 1);
    expect(existsSync(join(root, 'e')) && readdirSync(join(root, 'e'))).toEqual([]);
    await handlers.editLocation({ name: first, newName: 'renamed' }, sender);
    expect(asked).toHaveLength(before + 1);
    expect((await app.status())!.locations.map((l) => l.name)).toContain('renamed');
  });

  it('never puts a secret in the question', () => {
    const described = describeLocation(webdavInput('https://dav.example.test/v', 'alice', 'hunter2-secret', 'dav'));
    expect(described).toBe('dav, WebDAV (Address: https://dav.example.test/v, User: alice)');
    expect(described).not.toContain('hunter2');
  });
});
