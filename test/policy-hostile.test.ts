/**
 * A change of policy under a hostile location (issue 14): the job's state is in the sealed
 * head, so a location that serves an older head (one from before the change: no job, the old
 * codings named) or a forged one can't make a device skip re-coding or drop the one coding a
 * file has; and `policy status` answers while a job holds the profile lock.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../src/shared/api';
import { createApp } from '../src/core/app';
import { INSECURE_TEST_KDF } from '../src/core/crypto/kdf';
import { fetchManifest, getFile, putFile } from '../src/core/vault/files';
import { removeLocation } from '../src/core/vault/location-ops';
import { changePolicy, runRecode } from '../src/core/vault/policy-change';
import { Vault } from '../src/core/vault/vault';
import { ensureBuilt, listTree, parseJson, runCli, startCli } from './helpers/cli';
import { folderInput } from './helpers/location-input';

const PASS = 'policy hostile test passphrase, long enough';
let root: string;
const folder = (n: string): string => nodePath.join(root, n);
const profile = (): string => nodePath.join(root, 'profile');
const contents = new Map<string, Uint8Array>();

beforeAll(async () => {
  root = await fs.mkdtemp(nodePath.join(tmpdir(), 'sv-policy-hostile-'));
  for (const n of ['a', 'b', 'c']) await fs.mkdir(folder(n));
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function expectAllReadable(vault: Vault, when: string): Promise<void> {
  for (const [name, bytes] of contents) {
    const out = nodePath.join(root, `out-${name}`);
    await getFile(vault, name, out, { force: true });
    const back = await fs.readFile(out);
    expect(createHash('sha256').update(back).digest('hex'), `${when}: ${name}`).toBe(
      createHash('sha256').update(bytes).digest('hex'),
    );
  }
}

describe('a policy change under a hostile location', () => {
  it('an older or forged head served by one location changes nothing about the job', async () => {
    let before: Uint8Array;
    const { vault } = await Vault.create(profile(), {
      locations: ['a', 'b', 'c'].map((n) => `${folder(n)}#${n}`),
      policy: { survive: 1, secretAgainst: 1 },
      passphrase: PASS,
      kdf: INSECURE_TEST_KDF,
      segmentSize: 4096,
    });
    try {
      for (const [name, size] of [
        ['one', 30_000],
        ['two', 5_000],
        ['three', 12_345],
      ] as const) {
        const bytes = new Uint8Array(randomBytes(size));
        contents.set(name, bytes);
        await putFile(vault, [bytes], name);
      }
      before = new Uint8Array(await fs.readFile(nodePath.join(folder('a'), 'head')));
      // 2 of 3 → 1 of 3, t stays 2: no rotation, so the older head still opens.
      const change = await changePolicy(vault, { data: 1, total: 3, threshold: 2 });
      expect(change).toMatchObject({ rotated: false, files: 3 });
      let done = 0;
      await runRecode(vault, { stop: () => done++ >= 1 });
      expect(vault.head().recode?.pending.length).toBe(2);
    } finally {
      await vault.close();
    }

    // Location a now serves the head from before the change as every head it holds, and b a
    // forged device copy.
    for (const name of await fs.readdir(nodePath.join(folder('a'), 'heads')))
      await fs.writeFile(nodePath.join(folder('a'), 'heads', name), before);
    await fs.writeFile(nodePath.join(folder('a'), 'head'), before);
    await fs.writeFile(
      nodePath.join(folder('b'), 'heads', randomBytes(16).toString('hex')),
      new Uint8Array(randomBytes(400)),
    );

    const again = await Vault.load(profile(), {}, PASS);
    try {
      await again.unlock({ passphrase: PASS });
      // The lie did not end the job or bring the old codings back.
      expect(again.head().recode?.pending.length).toBe(2);
      expect(again.policy).toMatchObject({ data: 1, total: 3, threshold: 2 });
      await expectAllReadable(again, 'with the older head served');
      await runRecode(again);
      expect(again.head().recode).toBeUndefined();
      for (const f of again.head().files) expect((await fetchManifest(again, f)).data, f.name).toBe(1);
      await expectAllReadable(again, 'after the job');
    } finally {
      await again.close();
    }
  });
});

describe('policy status while a job runs', () => {
  it('answers from the job’s progress while the job holds the profile lock', async () => {
    ensureBuilt();
    const base = await fs.mkdtemp(nodePath.join(tmpdir(), 'sv-policy-status-'));
    let job: ReturnType<typeof startCli> | null = null;
    try {
      const env = { SHARDVAULT_HOME: nodePath.join(base, 'home'), SHARDVAULT_PASSPHRASE: PASS };
      const dirs = ['a', 'b', 'c'].map((n) => nodePath.join(base, n));
      for (const d of dirs) await fs.mkdir(d);
      const run = (args: readonly string[]): ReturnType<typeof runCli> => runCli(args, { env, timeoutMs: 60_000 });
      const init = await run([
        'init',
        ...dirs.flatMap((d, i) => ['--location', `${d}#l${i}`]),
        '--survive',
        '1',
        '--secret-against',
        '1',
        '--insecure-kdf-cost',
        '10',
      ]);
      expect(init.code, init.stderr).toBe(0);
      for (let i = 0; i < 3; i++) {
        const path = nodePath.join(base, `f${i}`);
        await fs.writeFile(path, new Uint8Array(randomBytes(2000 + i)));
        const put = await run(['put', path]);
        expect(put.code, put.stderr).toBe(0);
      }
      // The job is stopped (SIGSTOP) after its first file: it holds the lock, frozen.
      const child = startCli(['policy', 'set', '--data', '1', '--total', '3', '--threshold', '2'], { env });
      job = child;
      let stderr = '';
      let frozen = false;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const stopped = await new Promise<boolean>((resolve) => {
        child.stderr!.on('data', (b: Buffer) => {
          stderr += b.toString();
          if (!frozen && /re-coded 1 of 3/.test(stderr)) {
            frozen = true;
            process.kill(child.pid!, 'SIGSTOP');
            resolve(true);
          }
        });
        void exited.then(() => resolve(false));
      });
      expect(stopped, stderr).toBe(true);
      try {
        const status = await run(['policy', 'status', '--json']);
        expect(status.code, status.stderr).toBe(0);
        expect(parseJson(status)).toMatchObject({
          running: true,
          pid: child.pid,
          progress: { files: 3, filesDone: 1 },
        });
        const busy = await run(['ls']);
        expect(busy.code).toBe(5);
      } finally {
        // process.kill: a ChildProcess that was sent one signal may not send another.
        process.kill(child.pid!, 'SIGCONT');
      }
      expect(await exited).toBe(0);
      job = null;
      const after = await run(['policy', 'status', '--json']);
      expect(parseJson(after)).toMatchObject({
        running: false,
        job: null,
        policy: { data: 1, total: 3, threshold: 2 },
      });
    } finally {
      if (job && job.exitCode === null) {
        const gone = new Promise((resolve) => job!.once('exit', resolve));
        job.kill('SIGKILL');
        await gone;
      }
      await fs.rm(base, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the UI engine changes safety (the Change safety dialog’s call)', () => {
  it('changes the policy, re-codes with progress, and the status shows no job left', async () => {
    const base = await fs.mkdtemp(nodePath.join(tmpdir(), 'sv-policy-app-'));
    const app = createApp({
      profileDir: nodePath.join(base, 'profile'),
      insecureKdf: INSECURE_TEST_KDF,
      segmentSize: 4096,
    });
    try {
      for (const n of ['a', 'b', 'c', 'd']) await fs.mkdir(nodePath.join(base, n));
      await app.createVault({
        locations: ['a', 'b', 'c'].map((n) => folderInput(nodePath.join(base, n), n)),
        survive: 1,
        secretAgainst: 1,
        passphrase: PASS,
      });
      const source = nodePath.join(base, 'in.bin');
      const bytes = new Uint8Array(randomBytes(40_000));
      await fs.writeFile(source, bytes);
      await app.putFile({ path: source, name: 'f' });
      await app.addLocation({ location: folderInput(nodePath.join(base, 'd'), 'd') });
      const events: ProgressEvent[] = [];
      const stop = app.onProgress((e) => events.push(e));
      const report = await app.changePolicy({ survive: 2, secretAgainst: 1 });
      stop();
      // 4 locations, survive 2, secret against 1: 2 of 4, t = 2 (not raised: no rotation).
      expect(report).toMatchObject({ data: 2, total: 4, threshold: 2, rotated: false, files: 1, left: 0 });
      const last = events.filter((e) => e.op === 'policy').at(-1);
      expect(last).toMatchObject({ done: 40_000, total: 40_000 });
      const status = await app.status();
      expect(status?.policyJob).toBeNull();
      expect(status?.vault).toMatchObject({ data: 2, total: 4, threshold: 2 });
      const out = nodePath.join(base, 'out.bin');
      await app.getFile({ name: 'f', output: out });
      expect(new Uint8Array(await fs.readFile(out))).toEqual(bytes);
      await expect(app.changePolicy({ survive: 3, secretAgainst: 1 })).rejects.toMatchObject({ code: 'policy' });
    } finally {
      await app.close();
      await fs.rm(base, { recursive: true, force: true });
    }
  });
});

describe('removing a location when every location holds a shard of each file', () => {
  it('re-codes every file to one shard fewer over the rest, surviving as many losses', async () => {
    const base = await fs.mkdtemp(nodePath.join(tmpdir(), 'sv-policy-remove-'));
    for (const n of ['a', 'b', 'c', 'd']) await fs.mkdir(nodePath.join(base, n));
    const { vault } = await Vault.create(nodePath.join(base, 'profile'), {
      locations: ['a', 'b', 'c', 'd'].map((n) => `${nodePath.join(base, n)}#${n}`),
      policy: { survive: 1, secretAgainst: 1 },
      passphrase: PASS,
      kdf: INSECURE_TEST_KDF,
      segmentSize: 4096,
    });
    try {
      expect(vault.policy).toMatchObject({ data: 3, total: 4, threshold: 2 });
      const bytes = new Uint8Array(randomBytes(25_000));
      await putFile(vault, [bytes], 'f');
      const result = await removeLocation(vault, 'd', { untrusted: false });
      expect(result.moved).toBe(0);
      expect(vault.policy).toMatchObject({ data: 2, total: 3, threshold: 2 });
      expect(vault.policySurvives()).toBe(1);
      expect(vault.head().recode).toBeUndefined();
      const m = await fetchManifest(vault, vault.head().files[0]!);
      expect({ data: m.data, total: m.total }).toEqual({ data: 2, total: 3 });
      expect(m.shards.flatMap((s) => s.locations).sort()).toEqual(vault.locations.map((l) => l.id).sort());
      const out = nodePath.join(base, 'out');
      await getFile(vault, 'f', out);
      expect(new Uint8Array(await fs.readFile(out))).toEqual(bytes);
      // The removed folder holds no shard, manifest, key share or head of the vault's any more
      // (its audit log entries stay, as with any removal).
      expect((await listTree(nodePath.join(base, 'd'))).filter((p) => !p.startsWith('log/'))).toEqual([]);
    } finally {
      await vault.close();
      await fs.rm(base, { recursive: true, force: true });
    }
  });
});
