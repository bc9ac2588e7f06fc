// A new passphrase must be hard to guess (issue 9, item 8): one check
// (src/core/crypto/passphrase-strength.ts) that the CLI and the app both call, refused with
// the estimator's reasons unless the caller asks for a weak one by name; never at unlock.
// The KDF floor for new vaults lives beside it (src/core/crypto/kdf.ts).
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/core/app';
import { INSECURE_TEST_KDF, MIN_NEW_KDF_LOGN, newVaultKdf } from '../src/core/crypto/kdf';
import {
  MIN_PASSPHRASE_SCORE,
  ratePassphrase,
  requireStrongPassphrase,
  WeakPassphraseError,
} from '../src/core/crypto/passphrase-strength';
import { exitCodeFor } from '../src/core/errors';
import { ensureBuilt, ROOT } from './helpers/cli';
import { folderInput } from './helpers/location-input';

describe('passphrase strength', () => {
  it.each(['x', 'password123', 'hunter2', 'qwertyuiop', 'shardvault2024', 'summer2026'])(
    'refuses %j with the estimator’s reasons',
    async (weak) => {
      const verdict = await ratePassphrase(weak);
      expect(verdict.score).toBeLessThan(MIN_PASSPHRASE_SCORE);
      const refusal = await requireStrongPassphrase(weak).then(
        () => null,
        (err: unknown) => err,
      );
      expect(refusal).toBeInstanceOf(WeakPassphraseError);
      const err = refusal as WeakPassphraseError;
      expect(err.code).toBe('weak-passphrase');
      expect(exitCodeFor(err.code)).toBe(2);
      expect(err.message).toMatch(/^this passphrase is too easy to guess \(strength \d of 4, 3 needed\)/);
      for (const advice of [verdict.warning, ...verdict.suggestions]) if (advice) expect(err.message).toContain(advice);
      if (weak.length > 3) expect(err.message).not.toContain(weak); // never echoed into logs
    },
  );

  it.each(['correct horse battery staple', 'quiet harbour lantern 42', 'granite window seventy 3'])(
    'takes %j',
    async (strong) => {
      expect((await ratePassphrase(strong)).strong).toBe(true);
      await requireStrongPassphrase(strong);
    },
  );

  it('takes a weak one when the caller allows it by name', async () => {
    await requireStrongPassphrase('x', { allowWeak: true });
  });

  it('the CLI bundle loads the estimator lazily, not at start-up', async () => {
    ensureBuilt();
    // The bundle is split into chunks (build:cli --splitting): read them all.
    const dir = join(ROOT, 'out', 'cli');
    const names = (await readdir(dir)).filter((n) => n.endsWith('.mjs'));
    expect(names).toContain('shardvault.mjs');
    const bundle = (await Promise.all(names.map((n) => readFile(join(dir, n), 'utf8')))).join('\n');
    expect(bundle).toMatch(/import\("@zxcvbn-ts\/core"\)/);
    expect(bundle).not.toMatch(/from\s*"@zxcvbn-ts\//);
  });
});

describe('the scrypt floor for new vaults', () => {
  it(`is N = 2^${MIN_NEW_KDF_LOGN}; below it only when asked for as insecure`, () => {
    expect(newVaultKdf()).toEqual({ logN: 17, r: 8, p: 1 });
    expect(newVaultKdf(20).logN).toBe(20);
    expect(() => newVaultKdf(16)).toThrow(/below the floor of 2\^17.*2 times cheaper/);
    expect(() => newVaultKdf(10)).toThrow(/128 times cheaper/);
    expect(newVaultKdf(10, { insecure: true })).toEqual(INSECURE_TEST_KDF);
    expect(() => newVaultKdf(9, { insecure: true })).toThrow(/out of bounds/);
  });
});

describe('the app refuses a weak new passphrase unless told allowWeakPassphrase', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sv-strength-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('at createVault and at openVault with a recovery code; never at unlock', async () => {
    const folders = ['a', 'b', 'c'].map((d) => join(root, d));
    for (const l of folders) await mkdir(l);
    const locations = folders.map((f) => folderInput(f));
    const first = createApp({ profileDir: join(root, 'p1'), insecureKdf: INSECURE_TEST_KDF });
    let recoveryCode: string;
    try {
      const create = { locations, survive: 1, secretAgainst: 1, passphrase: 'x' };
      await expect(first.createVault(create)).rejects.toMatchObject({ code: 'weak-passphrase' });
      expect(await first.status()).toBeNull();
      await first.createVault({ ...create, allowWeakPassphrase: true });
      recoveryCode = (await first.recoveryKit())!.recoveryCode;
      await first.lock();
      await first.unlock({ passphrase: 'x' }); // an existing weak passphrase still unlocks
    } finally {
      await first.close();
    }
    const second = createApp({ profileDir: join(root, 'p2'), insecureKdf: INSECURE_TEST_KDF });
    try {
      const open = { locations, recoveryCode, passphrase: 'password123' };
      await expect(second.openVault(open)).rejects.toMatchObject({ code: 'weak-passphrase' });
      await second.openVault({ ...open, allowWeakPassphrase: true });
      // Opening with the passphrase itself (no recovery) chooses nothing: no check.
    } finally {
      await second.close();
    }
    const third = createApp({ profileDir: join(root, 'p3') });
    try {
      await third.openVault({ locations, passphrase: 'password123' });
    } finally {
      await third.close();
    }
  });
});
