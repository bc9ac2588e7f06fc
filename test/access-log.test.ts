// The access log says what happened (issue 10, item 10): a get names only the locations it
// read from, an open names the vault's locations as the vault calls them, and a location
// change says which location and what changed.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../src/shared/api';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { getFile, putFile, readAccessLog } from '../src/core/vault/files';
import { addLocation, editLocation, removeLocation } from '../src/core/vault/location-ops';
import { Vault } from '../src/core/vault/vault';

const PASS = 'access log test';
let root: string;
let vault: Vault;
const folder = (name: string): string => path.join(root, name);

async function lastOf(v: Vault, action: AccessRequest['action']): Promise<AccessRequest> {
  const { requests } = await readAccessLog(v);
  const found = requests.filter((r) => r.action === action);
  expect(found.length, `no ${action} in the log`).toBeGreaterThan(0);
  return found[found.length - 1]!;
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'sv-access-log-'));
  for (const n of ['usb', 'nas', 'cloud', 'spare']) await fs.mkdir(folder(n));
  ({ vault } = await Vault.create(path.join(root, 'profile'), {
    locations: ['usb', 'nas', 'cloud'].map((n) => `${folder(n)}#${n}`),
    policy: { survive: 1, secretAgainst: 1 },
    passphrase: PASS,
    kdf: INSECURE_TEST_KDF,
    segmentSize: 4096,
  }));
  await putFile(vault, [new Uint8Array(randomBytes(20_000))], 'notes');
});

afterAll(async () => {
  await vault.close();
  await fs.rm(root, { recursive: true, force: true });
});

describe('the access log', () => {
  it('a get made while a location is down does not list it among the locations used', async () => {
    await fs.rename(folder('usb'), `${folder('usb')}.away`);
    try {
      await getFile(vault, 'notes', path.join(root, 'out-1'));
      const get = await lastOf(vault, 'get');
      expect(get.outcome).toBe('ok');
      expect(get.locations).not.toContain('usb');
      expect([...get.locations].sort()).toEqual(['cloud', 'nas']);
    } finally {
      await fs.rename(`${folder('usb')}.away`, folder('usb'));
    }
  });

  it('open names the locations as the vault calls them, not loc1, loc2', async () => {
    const fresh = await Vault.attach(
      path.join(root, 'laptop'),
      [folder('usb'), folder('nas')],
      { passphrase: PASS },
      null,
    );
    try {
      const open = await lastOf(fresh, 'open');
      expect([...open.locations].sort()).toEqual(['nas', 'usb']);
    } finally {
      await fresh.close();
    }
  });

  it('a location change says which location and what: add, edit, remove', async () => {
    await addLocation(vault, `${folder('spare')}#spare`);
    const added = await lastOf(vault, 'location');
    expect(added.detail).toBe(`added spare (${folder('spare')})`);

    await editLocation(vault, 'spare', { name: 'drawer' });
    expect((await lastOf(vault, 'location')).detail).toBe('renamed spare to drawer');

    await fs.rename(folder('spare'), folder('spare-moved'));
    await editLocation(vault, 'drawer', { spec: folder('spare-moved') });
    expect((await lastOf(vault, 'location')).detail).toBe(`moved drawer to ${folder('spare-moved')}`);

    await removeLocation(vault, 'drawer', { untrusted: false });
    expect((await lastOf(vault, 'location')).detail).toBe('removed drawer');
    // Every other entry carries no detail, or a file.
    const { requests } = await readAccessLog(vault);
    for (const r of requests.filter((x) => x.action !== 'location')) expect(r.detail).toBeNull();
  });
});
