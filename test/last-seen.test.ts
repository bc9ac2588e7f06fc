// "Last seen" means last reached: a location whose work failed (a handshake that broke off, a
// host key refused, a closed connection) keeps the time it last answered, and the UI says
// how long ago in words that do not read like "online" ("just now" beside "Offline" did).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { ShardvaultError } from '../src/core/errors';
import { Vault } from '../src/core/vault/vault';
import { formatRelative } from '../src/shared/format';

describe('a location’s last seen time', () => {
  let root: string;
  let vault: Vault;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shardvault-seen-'));
    for (const dir of ['a', 'b', 'c']) mkdirSync(join(root, dir));
    ({ vault } = await Vault.create(join(root, 'profile'), {
      locations: ['a', 'b', 'c'].map((d) => `${join(root, d)}#${d}`),
      policy: { survive: 1, secretAgainst: 1 },
      passphrase: 'last seen passphrase',
      kdf: INSECURE_TEST_KDF,
    }));
  });

  afterAll(async () => {
    await vault?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it.each([
    ['an SSH handshake that broke off', new ShardvaultError('io', 'sftp://x: SSH handshake failed (reset)')],
    ['a refused host key', new ShardvaultError('permission', 'sftp://x: host key SHA256:abc was not trusted')],
    ['an offline location', new ShardvaultError('offline', 'sftp://x: cannot connect (ECONNREFUSED)')],
  ])('does not move on %s', async (_what, error) => {
    const c = vault.locations.find((l) => l.name === 'c')!;
    const before = vault.lastSeen(c.id);
    expect(before).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const results = await vault.everywhere((l) => (l.id === c.id ? Promise.reject(error) : Promise.resolve(l.name)));
    expect(results.find((r) => r.location.id === c.id)?.error).toBe(error);
    expect(vault.lastSeen(c.id)).toBe(before);
    // The others answered: they were seen now.
    const a = vault.locations.find((l) => l.name === 'a')!;
    expect(Date.parse(vault.lastSeen(a.id)!)).toBeGreaterThan(Date.parse(before!));
  });
});

describe('formatRelative', () => {
  const now = Date.parse('2026-12-06T12:00:00Z');
  it.each([
    [null, 'never'],
    ['2026-12-06T11:59:58Z', '2 s ago'],
    ['2026-12-06T11:59:20Z', '40 s ago'],
    ['2026-12-06T11:57:00Z', '3 min ago'],
    ['2026-12-06T09:00:00Z', '3 h ago'],
    ['2026-12-05T10:00:00Z', 'yesterday'],
    ['2026-12-01T12:00:00Z', '5 days ago'],
  ])('%s is "%s"', (iso, words) => {
    expect(formatRelative(iso, now)).toBe(words);
  });
});
