/**
 * Scenario: `kill -9` of a policy change (issue 14), with the built CLI over real folders: a
 * vault over 3 locations, 2-of-3, gets two more, is changed to --survive 2 --secret-against 2
 * (3 of 5, t = 3), then to --survive 1 --secret-against 1 (4 of 5, t = 2), while `policy set`
 * and `policy resume` are killed (SIGKILL) at seeded moments: anywhere from the start (the
 * key shares, the rotation) or just after a file is re-coded. After every kill every file
 * reads back byte for byte. Key shares kept from before t rose open nothing current, and a
 * file that asked for more parity keeps it. SHARDVAULT_FAULT_LONG=1 kills more often.
 */
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FileEntry, PolicyJobStatus } from '../../src/shared/api';
import { scrypt } from '../../src/core/crypto/kdf';
import { decodeHead } from '../../src/core/format/head';
import { decodeManifest } from '../../src/core/format/manifest';
import { decodeKeyShare, decodeVaultRecord } from '../../src/core/format/records';
import { getFile } from '../../src/core/vault/files';
import { deriveVaultKeys, recoverVaultKey } from '../../src/core/vault/keys';
import { Vault } from '../../src/core/vault/vault';
import { ensureBuilt, parseJson, runCli, sha256File, TempRoot, writeRandomFile, type CliResult } from '../helpers/cli';
import { Rng } from './rng';
import { LONG, Stats } from './stats';
import { runCli as runKillable } from './vault';

const PASSPHRASE = 'policy change test passphrase, long enough';
const KILLS_PER_CHANGE = Number(process.env['SHARDVAULT_FAULT_POLICY_KILLS'] ?? (LONG ? 12 : 3));
const stats = new Stats('policy kill -9');

let root: TempRoot;
let home: string;
let env: Record<string, string>;
const dirs: Record<string, string> = {};
const files = new Map<string, { sha: string; size: number }>();
// From the suite's seed (SHARDVAULT_FAULT_SEED replays it).
let rng: Rng;

const run = (args: readonly string[]): Promise<CliResult> => runCli(args, { env, timeoutMs: 120_000 });

beforeAll(async () => {
  ensureBuilt();
  rng = Rng.for('policy kill');
  root = await TempRoot.create('shardvault-policy-test-');
  home = await root.dir('home');
  env = { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASSPHRASE, TMPDIR: await root.dir('tmp') };
  for (const n of ['a', 'b', 'c', 'd', 'e']) dirs[n] = await root.dir(n);
});

afterAll(async () => {
  stats.save(inject('faultStatsDir'));
  await root?.cleanup();
});

/**
 * Every file reads back with the bytes it was stored with: read in this process through the
 * engine, as a command would (a CLI process per file costs seconds on a busy machine). A file
 * that fails to read counts as bytes lost, one that reads other bytes as wrong bytes.
 */
async function expectAllReadable(when: string): Promise<void> {
  const out = await root.dir('out');
  const vault = await Vault.load(home, {}, PASSPHRASE);
  try {
    await vault.unlock({ passphrase: PASSPHRASE });
    expect(new Set(vault.head().files.map((f) => f.name)), when).toEqual(new Set(files.keys()));
    for (const [name, { sha, size }] of files) {
      const target = nodePath.join(out, name);
      stats.filesChecked++;
      try {
        await getFile(vault, name, target, { force: true });
      } catch (err) {
        stats.bytesLost += size;
        console.log(`[policy kill] PROBLEM ${when}: ${name} does not read: ${(err as Error).message}`);
        continue;
      }
      const got = await sha256File(target);
      if (got !== sha) stats.wrongBytes += size;
      expect(got, `${when}: ${name}`).toBe(sha);
    }
  } finally {
    await vault.close();
  }
  expect(stats.bytesLost, when).toBe(0);
}

async function policyStatus(): Promise<{
  job: PolicyJobStatus | null;
  policy: { data: number; total: number; threshold: number };
}> {
  const r = await run(['policy', 'status', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return parseJson(r);
}

/**
 * Runs the change with SIGKILLs at seeded moments (set again while the policy is not yet the
 * new one, else resume), checking every file after each, then runs it to its end.
 */
async function changeWithKills(
  words: readonly string[],
  want: { data: number; total: number; threshold: number },
): Promise<string[]> {
  const log: string[] = [];
  for (let i = 0; i < KILLS_PER_CHANGE; i++) {
    const s = await policyStatus();
    const reached =
      s.policy.data === want.data && s.policy.total === want.total && s.policy.threshold === want.threshold;
    if (reached && !s.job) break;
    const args = reached ? ['policy', 'resume'] : ['policy', 'set', ...words];
    // Half the kills land anywhere from the start (the key shares, the rotation), half while
    // files are re-coded: after the n-th line the job writes (one when the change is
    // committed, one per file), plus a little.
    const anywhere = rng.next() < 0.5;
    const lines = rng.int(1, 3);
    const delay = anywhere ? rng.int(150, 1650) : rng.int(0, 200);
    let seen = 0;
    const r = await runKillable(args, {
      env,
      timeoutMs: 120_000,
      ...(anywhere ? { killAfterMs: delay } : {}),
      onStart: (child) => {
        if (anywhere) return;
        child.stderr!.on('data', (b: Buffer) => {
          seen += (b.toString().match(/^shardvault: (policy now|re-coded)/gm) ?? []).length;
          if (seen >= lines) setTimeout(() => child.kill('SIGKILL'), delay);
        });
      },
    });
    const killed = r.killed || r.signal === 'SIGKILL';
    stats.trials++;
    if (killed) stats.faults++;
    const how = anywhere ? `${delay} ms after start` : `${delay} ms after line ${lines}`;
    log.push(`${args.join(' ')}: ${killed ? `killed ${how}` : `exit ${r.code}`}`);
    if (!killed) expect(r.code, r.stderr).toBe(0);
    await expectAllReadable(`after ${args.join(' ')} ${killed ? `killed ${how}` : 'ran'}`);
  }
  const s = await policyStatus();
  const reached = s.policy.data === want.data && s.policy.total === want.total && s.policy.threshold === want.threshold;
  const last = await run(reached ? ['policy', 'resume', '--json'] : ['policy', 'set', ...words, '--json']);
  expect(last.code, last.stderr).toBe(0);
  const done = await policyStatus();
  expect(done.policy).toMatchObject(want);
  expect(done.job).toBeNull();
  return log;
}

/** The manifest object names the vault's head names now (`<file id>-<version>`). */
async function currentManifests(): Promise<string[]> {
  const vault = await Vault.load(home, {}, PASSPHRASE);
  try {
    await vault.unlock({ passphrase: PASSPHRASE });
    return vault.head().files.map((f) => `${f.id}-${f.version}`);
  } finally {
    await vault.close();
  }
}

/** Key shares as a location holds them now (name -> bytes). */
async function keySharesOf(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const name of await fs.readdir(nodePath.join(dir, 'keys'))) {
    if (/^\d{10}$/.test(name)) out.set(name, new Uint8Array(await fs.readFile(nodePath.join(dir, 'keys', name))));
  }
  return out;
}

describe('policy set on a living vault, killed', () => {
  it('2-of-3 → 3-of-5 (t 3) → 4-of-5 (t 2), killed at random moments, loses nothing', async () => {
    const init = await run([
      'init',
      ...['a', 'b', 'c'].flatMap((n) => ['--location', `${dirs[n]}#${n}`]),
      '--survive',
      '1',
      '--secret-against',
      '1',
      '--insecure-kdf-cost',
      '10',
      '--segment-size',
      '65536',
    ]);
    expect(init.code, init.stderr).toBe(0);
    const src = await root.dir('src');
    for (const [name, size] of [
      ['big', 600_000],
      ['small', 1000],
    ] as const) {
      const path = nodePath.join(src, name);
      files.set(name, { sha: await writeRandomFile(path, size), size });
      const put = await run(['put', path]);
      expect(put.code, put.stderr).toBe(0);
    }
    const keepPath = nodePath.join(src, 'keep');
    files.set('keep', { sha: await writeRandomFile(keepPath, 50_000), size: 50_000 });
    const keep = await run(['put', keepPath, '--survive', '2']);
    expect(keep.code, keep.stderr).toBe(0);

    for (const n of ['d', 'e']) {
      const add = await run(['location', 'add', `${dirs[n]}#${n}`]);
      expect(add.code, add.stderr).toBe(0);
    }
    // The deal of t = 2 over the five locations, as a location could keep it.
    const oldShares = await Promise.all(['a', 'b'].map((n) => keySharesOf(dirs[n]!)));
    const oldHead = new Uint8Array(await fs.readFile(nodePath.join(dirs['a']!, 'head')));

    const first = await changeWithKills(['--survive', '2', '--secret-against', '2'], {
      data: 3,
      total: 5,
      threshold: 3,
    });
    stats.note(`to 3 of 5: ${first.join('; ')}`);
    await expectAllReadable('3 of 5');
    const ls1 = parseJson<FileEntry[]>(await run(['ls', '--json']));
    // 3 of 5, one shard per location: every file survives losing 2.
    for (const f of ls1) expect(f.survives, f.name).toBe(2);

    // Shares kept from the deal before t rose still combine (Shamir can't forget), but to the
    // old vault key, which opens neither the head nor any manifest now.
    const record = decodeVaultRecord(new Uint8Array(await fs.readFile(nodePath.join(dirs['a']!, 'shardvault.json'))));
    const pk = await scrypt(PASSPHRASE, record.salt, record.kdf);
    const shares = ['a', 'b'].map((n, i) => {
      const [name, bytes] = [...oldShares[i]!].sort()[oldShares[i]!.size - 1]!;
      expect(name).toMatch(/^\d{10}$/);
      return { locationId: decodeKeyShare(bytes).locationId, record: decodeKeyShare(bytes) };
    });
    const old = await recoverVaultKey(record.vaultId, shares, { kind: 'passphrase', key: pk });
    const oldKeys = deriveVaultKeys(old.vk, record.vaultId);
    expect(decodeHead(oldHead, oldKeys.head, record.vaultId).files.length).toBe(files.size); // the key is real
    const headNow = new Uint8Array(await fs.readFile(nodePath.join(dirs['a']!, 'head')));
    expect(() => decodeHead(headNow, oldKeys.head, record.vaultId)).toThrow();
    // The manifests the head names now (a kill may leave older versions behind as garbage
    // for repair to collect: those are what the old key could read anyway).
    const current = await currentManifests();
    expect(current.length).toBe(files.size);
    for (const name of current) {
      const [fileId, version] = name.split('-');
      const bytes = new Uint8Array(await fs.readFile(nodePath.join(dirs['a']!, 'manifests', name)));
      expect(() =>
        decodeManifest(bytes, oldKeys.manifest, {
          vaultId: record.vaultId,
          fileId: fileId!,
          version: Number(version),
        }),
      ).toThrow();
    }

    const second = await changeWithKills(['--survive', '1', '--secret-against', '1'], {
      data: 4,
      total: 5,
      threshold: 2,
    });
    stats.note(`to 4 of 5: ${second.join('; ')}`);
    await expectAllReadable('4 of 5');
    const ls2 = parseJson<FileEntry[]>(await run(['ls', '--json']));
    for (const f of ls2) expect(f.survives, f.name).toBe(f.name === 'keep' ? 2 : 1);

    // Nothing is left behind: repair finds the old codings gone and verify passes.
    const verify = await run(['verify', '--deep']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    for (const n of ['a', 'b', 'c', 'd', 'e']) {
      const shards = await fs.readdir(nodePath.join(dirs[n]!, 'shards'));
      // One shard per file per location, plus at most what a kill left for garbage collection.
      expect(shards.length, n).toBeGreaterThanOrEqual(files.size);
    }
  });
});
