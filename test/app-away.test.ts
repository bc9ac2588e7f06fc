// The engine behind the UIs (src/core/app.ts) with a location away: a store goes ahead and
// says what it costs, and once the location is back its shard copies move to it in the
// background, with the vault locked (moving sealed bytes needs no key).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/core/app';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { folderInput } from './helpers/location-input';

const PASS = 'app away passphrase';
let root: string;

const listed = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'shardvault-app-away-'));
  for (const dir of ['profile', 'usb', 'nas', 'cloud']) mkdirSync(join(root, dir));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('a UI engine with the usb disk away', () => {
  it('stores, then moves the waiting shard copy to usb in the background once it is back, while locked', async () => {
    const app = createApp({
      profileDir: join(root, 'profile'),
      insecureKdf: INSECURE_TEST_KDF,
      segmentSize: 65536,
      completeEveryMs: 100,
    });
    try {
      await app.createVault({
        locations: ['usb', 'nas', 'cloud'].map((n) => folderInput(join(root, n), n)),
        survive: 1,
        secretAgainst: 1,
        passphrase: PASS,
      });
      renameSync(join(root, 'usb'), join(root, 'usb.away'));
      const source = join(root, 'in.bin');
      writeFileSync(source, randomBytes(200_000));
      const entry = await app.putFile({ path: source, name: 'f' });
      expect(entry).toMatchObject({ health: 'degraded', survives: 0, awaiting: ['usb'] });
      await expect(app.putFile({ path: source, name: 'g', happy: 3 })).rejects.toMatchObject({
        code: 'unavailable',
        message: expect.stringMatching(/at least 3 \(--happy 3\); bring the others back first/) as unknown,
      });
      const placed = await app.placement({ name: 'f' });
      expect(placed.shards.flatMap((s) => s.locations).filter((l) => l.stagedFor === 'usb')).toHaveLength(1);
      expect(placed.shards.flatMap((s) => s.locations).filter((l) => l.name === 'usb')).toEqual([
        { name: 'usb', state: 'offline' },
      ]);
      const away = await app.status();
      expect(away?.locations.find((l) => l.name === 'usb')).toMatchObject({ reachable: false, staged: 1 });
      expect(away?.happy).toBe(2);

      await app.lock();
      renameSync(join(root, 'usb.away'), join(root, 'usb'));
      await expect
        .poll(() => ['nas', 'cloud'].flatMap((n) => listed(join(root, n, 'staged'))).length, { timeout: 10_000 })
        .toBe(0);
      expect(listed(join(root, 'usb', 'shards'))).toHaveLength(1);
      expect((await app.status())?.locations.find((l) => l.name === 'usb')).toMatchObject({ staged: 0, shards: 1 });

      await app.unlock({ passphrase: PASS });
      // Unlocked, the manifest of the file stored meanwhile follows; then the file is whole.
      await expect
        .poll(async () => (await app.listFiles()).find((f) => f.name === 'f'), { timeout: 10_000 })
        .toMatchObject({ health: 'healthy', survives: 1, awaiting: [] });
      await expect.poll(async () => (await app.verify({ deep: true })).ok, { timeout: 10_000 }).toBe(true);
    } finally {
      await app.close();
    }
  });
});
