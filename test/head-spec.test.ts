// What a device takes from a head's location `spec` (head version 3): only an address that
// agrees with the entry's kind and display and holds no name and no secret; a server that
// needs credentials is kept for sign-in and never reached before, a folder is used at once.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import type { LocationEntry } from '../src/core/format/head';
import { encodeVaultRecord, PATHS } from '../src/core/format/records';
import { KINDS } from '../src/core/storage/kinds';
import { headSpec, locationFromHead, SIGN_IN_NEEDED, signInOf } from '../src/core/vault/locations';

const FP = 'SHA256:eF8+x+sy8wuQzQ/PNlfTiLX/Qpfy+XFv9m6bacBd3Qk';
const ID = 'ab'.repeat(16);
const VAULT = 'cd'.repeat(16);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sv-head-spec-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sftp: LocationEntry = {
  id: ID,
  name: 'nas',
  kind: 'sftp',
  display: 'sftp://backup@nas.example:2222/srv/vault',
  spec: `sftp://backup@nas.example:2222/srv/vault?identity=%2Fhome%2Fme%2F.ssh%2Fid_ed25519&fingerprint=${FP}`,
};

describe('headSpec', () => {
  it('takes an address that agrees with the entry', () => {
    expect(headSpec(sftp)).toBe(sftp.spec);
    const dav = { ...sftp, kind: 'webdav' as const, display: 'webdav+https://alice@dav.example/v/' };
    expect(headSpec({ ...dav, spec: 'webdav+https://alice@dav.example/v/' })).toBe(
      'webdav+https://alice@dav.example/v/',
    );
    expect(headSpec({ ...sftp, kind: 'local', display: '/media/usb/vault', spec: '/media/usb/vault' })).toBe(
      '/media/usb/vault',
    );
  });

  it('ignores one that points elsewhere, names itself, holds a secret, or is of another kind', () => {
    expect(headSpec({ ...sftp, spec: undefined })).toBeNull();
    expect(headSpec({ ...sftp, spec: sftp.spec!.replace('nas.example', 'evil.example') })).toBeNull();
    expect(headSpec({ ...sftp, spec: `${sftp.spec!}#other` })).toBeNull();
    expect(headSpec({ ...sftp, spec: sftp.spec!.replace('backup@', 'backup:hunter2@') })).toBeNull();
    expect(headSpec({ ...sftp, kind: 'webdav' })).toBeNull();
    expect(headSpec({ ...sftp, spec: 'not a spec at all ://' })).toBeNull();
  });
});

describe('a location learned from the head', () => {
  it('needs credentials when a server asks for them: SFTP always, WebDAV with a user', () => {
    expect(KINDS.sftp.needsCredentials(sftp.spec!)).toBe(true);
    expect(KINDS.webdav.needsCredentials('webdav+https://alice@dav.example/v/')).toBe(true);
    expect(KINDS.webdav.needsCredentials('webdav+https://dav.example/v/')).toBe(false);
    expect(KINDS.local.needsCredentials('/media/usb/vault')).toBe(false);
  });

  it('a server is kept for sign-in, with its address split for the form, and not reached', async () => {
    const { profile, node } = locationFromHead(sftp, VAULT, 'unused');
    expect(profile).toMatchObject({ id: ID, name: 'nas', spec: sftp.spec, needsSignIn: true, sealedSecrets: null });
    expect(await node.health()).toMatchObject({ reachable: false, error: `${sftp.display}: ${SIGN_IN_NEEDED}` });
    await expect(node.list('')).rejects.toMatchObject({ code: 'offline' });
    expect(signInOf(profile)).toEqual({
      user: 'backup',
      host: 'nas.example',
      port: 2222,
      path: '/srv/vault',
      keyFile: '/home/me/.ssh/id_ed25519',
      hostKey: FP,
    });
    expect(signInOf({ ...profile, needsSignIn: undefined })).toBeNull();
  });

  it('a folder is used at once at the recorded path', async () => {
    const entry: LocationEntry = { id: ID, name: 'usb', kind: 'local', display: dir, spec: dir };
    const { profile, node } = locationFromHead(entry, VAULT, 'unused');
    expect(profile.needsSignIn).toBeUndefined();
    expect(profile.spec).toBe(dir);
    // Reached at once, and checked to be this vault's location before it counts.
    expect((await node.health()).error).toContain('holds no readable vault record');
    const record = { vaultId: VAULT, locationId: ID, kdf: INSECURE_TEST_KDF, created: new Date().toISOString() };
    await writeFile(
      path.join(dir, PATHS.vault),
      encodeVaultRecord({ ...record, salt: new Uint8Array(32), logPublicKey: new Uint8Array(32) }),
    );
    expect(await node.health()).toMatchObject({ reachable: true, error: null });
    await node.close();
  });

  it('without a spec (an older head) a server is not reached, and says so without command-line words', async () => {
    const { profile, node } = locationFromHead({ ...sftp, spec: undefined }, VAULT, 'no address here');
    expect(profile.spec).toBe(sftp.display);
    expect(profile.needsSignIn).toBeUndefined();
    const health = await node.health();
    expect(health.reachable).toBe(false);
    expect(health.error).toContain('no address here');
  });
});
