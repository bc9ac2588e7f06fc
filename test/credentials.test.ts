// The desktop app's keystore copy of the locations' credentials (src/main/credentials.ts).
// Electron's safeStorage can't run here (no Electron binary), so a stand-in with the same
// three calls seals with AES-256-GCM under a key of its own, as an OS keystore would.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CREDENTIALS_FILE, keystoreCredentials, keystoreProblem, type SafeStorageLike } from '../src/main/credentials';

function standIn(backend = 'gnome_libsecret', available = true): SafeStorageLike {
  const key = randomBytes(32);
  return {
    isEncryptionAvailable: () => available,
    getSelectedStorageBackend: () => backend,
    encryptString(text) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(text, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    decryptString(sealed) {
      const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
      d.setAuthTag(sealed.subarray(12, 28));
      return Buffer.concat([d.update(sealed.subarray(28)), d.final()]).toString('utf8');
    },
  };
}

const dirs: string[] = [];
const profile = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'shardvault-keystore-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const ID = 'ab'.repeat(16);

describe('the keystore copy of location credentials', () => {
  it('round-trips, sealed: the file holds no password', async () => {
    const dir = profile();
    const { store } = keystoreCredentials(dir, standIn(), 'linux');
    await store!.save(new Map([[ID, { password: 'horse battery staple' }]]));
    expect(readFileSync(join(dir, CREDENTIALS_FILE)).includes('horse')).toBe(false);
    expect(await store!.load()).toEqual(new Map([[ID, { password: 'horse battery staple' }]]));
  });

  it("refuses Linux's basic_text backend and a missing keystore, with the reason", () => {
    expect(keystoreProblem(standIn('basic_text'), 'linux')).toMatch(/basic_text/);
    expect(keystoreCredentials(profile(), standIn('basic_text'), 'linux')).toMatchObject({ store: null });
    expect(keystoreProblem(standIn('gnome_libsecret', false), 'darwin')).toMatch(/no OS keystore/);
    expect(keystoreProblem(standIn('basic_text'), 'darwin')).toBeNull(); // the backend is a Linux notion
  });

  it('a copy another keystore sealed, a damaged one or a foreign body is dropped, never trusted', async () => {
    const dir = profile();
    await keystoreCredentials(dir, standIn(), 'linux').store!.save(new Map([[ID, { password: 'x' }]]));
    expect(await keystoreCredentials(dir, standIn(), 'linux').store!.load()).toBeNull();
    expect(existsSync(join(dir, CREDENTIALS_FILE))).toBe(false);
    const storage = standIn();
    const { store } = keystoreCredentials(dir, storage, 'linux');
    for (const body of [
      '[]',
      '{"version":2,"locations":{}}',
      `{"version":1,"locations":{"${ID}":{"password":7}}}`,
      `{"version":1,"locations":{"not-an-id":{}}}`,
      `{"version":1,"locations":{"${ID}":{"token":"x"}}}`,
    ]) {
      writeFileSync(join(dir, CREDENTIALS_FILE), storage.encryptString(body));
      expect(await store!.load(), body).toBeNull();
    }
    expect(await store!.load()).toBeNull(); // no file
  });
});
