// A WebDAV location whose password goes over plain http to another machine: refused when
// added unless the user allows it (test/url.test.ts, test/cli.test.ts), but one already in a
// profile (added before that rule) keeps working, with a warning on every load (the CLI
// prints it) and in status (the app shows it). One the user allowed warns in status only.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusReport } from '../src/core/app';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { Vault } from '../src/core/vault/vault';

const PASS = 'plain http test';
const PW = 'legacy-dav-password';
let root: string;
let profile: string;
const ids = { legacy: randomBytes(16).toString('hex'), allowed: randomBytes(16).toString('hex') };

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'sv-plain-http-'));
  profile = path.join(root, 'profile');
  const folders = ['a', 'b', 'c'].map((n) => path.join(root, n));
  for (const f of folders) await fs.mkdir(f);
  const { vault } = await Vault.create(profile, {
    locations: folders.map((f, i) => `${f}#loc${i + 1}`),
    policy: { survive: 1, secretAgainst: 1 },
    passphrase: PASS,
    kdf: INSECURE_TEST_KDF,
  });
  // Two WebDAV locations as a profile holds them: one from before the rule, one the user allowed.
  const entry = (id: string, name: string, spec: string) => ({
    id,
    name,
    kind: 'webdav' as const,
    spec,
    sealedSecrets: vault.sealCredentials({ password: PW }, id),
    lastSeen: null,
  });
  await vault.setLocations(vault.locations, [
    ...vault.profileLocations(),
    entry(ids.legacy, 'old-nas', 'webdav+http://alice@dav.example.test/dav/'),
    entry(ids.allowed, 'lan-nas', 'webdav+http://alice@lan.example.test/dav/?insecure-http=1'),
  ]);
  await vault.close();
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('a WebDAV location over plain http already in the profile', () => {
  it('keeps working (its node is not refused), with a warning on load and in status', async () => {
    const warnings: string[] = [];
    const vault = await Vault.load(profile, { onWarning: (m) => warnings.push(m) }, PASS);
    try {
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^old-nas: its WebDAV password goes to dav\.example\.test over plain http/);
      expect(warnings[0]).toMatch(/--allow-insecure-http/);
      const report = await statusReport(vault, { save: false });
      for (const name of ['old-nas', 'lan-nas']) {
        const l = report.locations.find((x) => x.name === name)!;
        // Unreachable only because the host does not exist: the node was built and tried.
        expect(l.reachable).toBe(false);
        expect(l.error).not.toMatch(/in the clear/);
        expect(l.error).not.toContain(PW);
        expect(l.warning).toMatch(/over plain http/);
      }
      expect(report.locations.find((x) => x.name === 'lan-nas')!.warning).toMatch(/allowed with --allow-insecure-http/);
      expect(report.locations.find((x) => x.name === 'loc1')!.warning).toBeNull();
      expect(JSON.stringify(report)).not.toContain(PW);
    } finally {
      await vault.close();
    }
  });
});
