/**
 * A living vault's policy and placement over failure domains (issue 14), in this process over
 * real folders: `policy set --survive X --secret-against Y` counts domains as init and the
 * previews do; a location's new domain moves the files one domain now holds too much of
 * (repair, and location edit), new copies before old; and a re-coding job that finds a
 * location gone pauses, saying what waits, with every file readable on its old coding.
 */
import { createHash, randomBytes } from 'node:crypto';
import { renameSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { domainKeyFor, domainsSurvived, previewPolicy } from '../src/core/vault/domains';
import { fetchManifest, getFile, putFile } from '../src/core/vault/files';
import { editLocation } from '../src/core/vault/location-ops';
import {
  changePolicy,
  jobStatus,
  replaceOverDomains,
  requestedPolicy,
  runRecode,
  type RecodeProgress,
} from '../src/core/vault/policy-change';
import { repair } from '../src/core/vault/repair';
import { Vault } from '../src/core/vault/vault';

const PASS = 'policy domains test passphrase, long enough';
let root: string;

beforeAll(async () => {
  root = await fs.mkdtemp(nodePath.join(tmpdir(), 'sv-policy-domains-'));
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A vault of its own over fresh folders, `domains` by location name. */
async function makeVault(
  tag: string,
  names: readonly string[],
  policy:
    { survive: number; secretAgainst: number } | { data: number; total: number; threshold: number; replicas: number },
  domains: Record<string, string> = {},
  warnings: string[] = [],
): Promise<{ vault: Vault; folder: (n: string) => string }> {
  const base = nodePath.join(root, tag);
  const folder = (n: string): string => nodePath.join(base, n);
  for (const n of names) await fs.mkdir(folder(n), { recursive: true });
  const { vault } = await Vault.create(folder('profile'), {
    locations: names.map((n) => `${folder(n)}#${n}`),
    policy,
    passphrase: PASS,
    kdf: INSECURE_TEST_KDF,
    segmentSize: 4096,
    domains,
    onWarning: (w) => warnings.push(w),
  });
  return { vault, folder };
}

async function putSome(vault: Vault, count: number): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const bytes = new Uint8Array(randomBytes(5_000 + i * 3_001));
    files.set(`f${i}`, sha(bytes));
    await putFile(vault, [bytes], `f${i}`);
  }
  return files;
}

async function expectReadable(vault: Vault, files: Map<string, string>, when: string): Promise<void> {
  for (const [name, want] of files) {
    const out = nodePath.join(root, `out-${name}`);
    await getFile(vault, name, out, { force: true });
    expect(sha(new Uint8Array(await fs.readFile(out))), `${when}: ${name}`).toBe(want);
  }
}

describe('policy set over failure domains', () => {
  it('counts domains in --survive and --secret-against, as init and the preview do', async () => {
    const names = ['usb', 'nas', 'cloud', 'office'];
    const domains = { usb: 'home', nas: 'home' };
    const { vault } = await makeVault('words', names, { survive: 1, secretAgainst: 1 }, domains);
    try {
      // Four locations in three domains, survive 1 domain: home holds two shards, so k = 2.
      expect(vault.policy).toMatchObject({ data: 2, total: 4, threshold: 2 });
      const given = names.map((name) => ({ name, domain: domains[name as keyof typeof domains] ?? '' }));
      for (const [x, y] of [
        [1, 1],
        [0, 1],
        [0, 2],
      ] as const) {
        const preview = previewPolicy(given, x, y);
        expect(preview.problem, `${x}/${y}`).toBeNull();
        expect(requestedPolicy(vault, { survive: x, secretAgainst: y }), `${x}/${y}`).toMatchObject({
          data: preview.data,
          total: preview.total,
          threshold: preview.threshold,
        });
      }
      // The vault's own words give the policy it has (over locations it would be 3 of 4).
      await expect(changePolicy(vault, { survive: 1, secretAgainst: 1 })).rejects.toThrow(/already has this policy/);
      // Surviving 2 of 3 domains leaves one: t = 2 can't be met (over 4 locations it could).
      const refused = previewPolicy(given, 2, 1).problem;
      expect(refused).toMatch(/3 domains can't both survive losing 2/);
      await expect(changePolicy(vault, { survive: 2, secretAgainst: 1 })).rejects.toThrow(refused!);
      expect(vault.policy).toMatchObject({ data: 2, total: 4, threshold: 2 });
    } finally {
      await vault.close();
    }
  });
});

describe('a new failure domain moves what it holds too much of', () => {
  it('repair re-places a file whose two shards a domain now holds, new copies before old', async () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    // 2 of 3 over five locations: a file can lose one shard.
    const { vault, folder } = await makeVault('moves', names, { data: 2, total: 3, threshold: 2, replicas: 1 });
    try {
      const files = await putSome(vault, 3);
      // The two locations holding shards 0 and 1 of f0 become one domain: losing it loses f0.
      const first = vault.head().files.find((f) => f.name === 'f0')!;
      const m = await fetchManifest(vault, first);
      const ids = [m.shards[0]!.locations[0]!, m.shards[1]!.locations[0]!];
      const home = ids.map((id) => vault.locationById(id)!.name);
      for (const n of home) await editLocation(vault, n, { domain: 'home' });
      const keyOf = domainKeyFor(vault.domainLocations());
      const survivals = async (): Promise<Map<string, number>> => {
        const out = new Map<string, number>();
        for (const f of vault.head().files) {
          const man = await fetchManifest(vault, f);
          out.set(
            f.name,
            domainsSurvived(
              man.shards.map((s) => s.locations),
              man.data,
              keyOf,
            ),
          );
        }
        return out;
      };
      expect((await survivals()).get('f0')).toBe(0);
      const oldObjects = m.shards.map((s) => s.object);

      const report = await repair(vault, { deep: false });
      expect(report.pending).toEqual([]);
      expect(report.replaced).toBeGreaterThanOrEqual(1);
      for (const [name, survives] of await survivals()) expect(survives, name).toBe(1);
      expect(jobStatus(vault.head())).toBeNull();
      // The old coding's objects are gone from every location; a second repair moves nothing.
      for (const n of names) {
        const held = await fs.readdir(nodePath.join(folder(n), 'shards'));
        for (const o of oldObjects)
          expect(
            held.some((h) => h.includes(o)),
            `${n} ${o}`,
          ).toBe(false);
      }
      expect((await repair(vault, { deep: false })).replaced).toBe(0);
      await expectReadable(vault, files, 'after the move');
      // What the domain promises, really: with home's folders gone every file still reads.
      for (const n of home) await fs.rename(folder(n), `${folder(n)}.gone`);
      await expectReadable(vault, files, `without ${home.join(' and ')}`);
    } finally {
      await vault.close();
    }
  });
});

describe('location edit --domain', () => {
  it('moves what the new domain holds too much of, and leaves a job it did not add to', async () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const { vault } = await makeVault('edit', names, { data: 2, total: 3, threshold: 2, replicas: 1 });
    try {
      const files = await putSome(vault, 2);
      const m = await fetchManifest(
        vault,
        vault.head().files.find((f) => f.name === 'f1')!,
      );
      const home = [m.shards[0]!.locations[0]!, m.shards[2]!.locations[0]!].map((id) => vault.locationById(id)!.name);
      // What `location edit NAME --domain home` does after the edit (the CLI and the app).
      await editLocation(vault, home[0]!, { domain: 'home' });
      await editLocation(vault, home[1]!, { domain: 'home' });
      const moved = await replaceOverDomains(vault, { onlyWhenQueued: true });
      expect(moved.pending).toEqual([]);
      expect(moved.replaced).toBeGreaterThanOrEqual(1);
      const keyOf = domainKeyFor(vault.domainLocations());
      for (const f of vault.head().files) {
        const man = await fetchManifest(vault, f);
        expect(
          domainsSurvived(
            man.shards.map((s) => s.locations),
            man.data,
            keyOf,
          ),
          f.name,
        ).toBe(1);
      }
      await expectReadable(vault, files, 'after the edit');
      // A policy job left (one file re-coded of two): an edit that moves nothing leaves it.
      await changePolicy(vault, { data: 1, total: 3, threshold: 2 });
      await runRecode(vault, {
        stop: (() => {
          let n = 0;
          return () => n++ >= 1;
        })(),
      });
      expect(vault.head().recode?.pending).toHaveLength(1);
      await editLocation(vault, home[0]!, { domain: 'home' });
      expect(await replaceOverDomains(vault, { onlyWhenQueued: true })).toEqual({ replaced: 0, pending: [] });
      expect(vault.head().recode?.pending).toHaveLength(1);
    } finally {
      await vault.close();
    }
  });
});

describe('a re-coding job with a location gone', () => {
  it('pauses, says what waits, keeps every file readable, and resumes when it is back', async () => {
    const warnings: string[] = [];
    const { vault, folder } = await makeVault('away', ['a', 'b', 'c'], { survive: 1, secretAgainst: 1 }, {}, warnings);
    try {
      const files = await putSome(vault, 4);
      const change = await changePolicy(vault, { data: 1, total: 3, threshold: 2 });
      expect(change.files).toBe(4);
      const seen: RecodeProgress[] = [];
      const away = `${folder('c')}.away`;
      // c goes away right after the first file is re-coded.
      await expect(
        runRecode(vault, {
          onProgress: (p) => {
            seen.push(p);
            if (seen.length === 1) renameSync(folder('c'), away);
          },
          stop: () => false,
        }),
      ).rejects.toThrow(/re-coding paused: c can't be reached; 3 files keep their old coding and wait for it/);
      // One file tried and refused, not each of the three left.
      expect(warnings.filter((w) => w.startsWith('re-coding '))).toHaveLength(1);
      expect(seen.at(-1)).toMatchObject({ filesDone: 1, files: 4, waitingFor: ['c'] });
      expect(vault.head().recode?.pending).toHaveLength(3);
      await expectReadable(vault, files, 'c away, job paused');

      await fs.rename(away, folder('c'));
      const done = await runRecode(vault);
      expect(done).toMatchObject({ filesDone: 4, files: 4, waitingFor: [] });
      expect(jobStatus(vault.head())).toBeNull();
      for (const f of vault.head().files) expect((await fetchManifest(vault, f)).data, f.name).toBe(1);
      await expectReadable(vault, files, 'resumed');
    } finally {
      await vault.close();
    }
  });
});
