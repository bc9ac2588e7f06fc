/**
 * Failure domains and the recovery kit through the built CLI (issue 14), over real folders
 * and an s3rver bucket whose secret key is in the SPEC: `init --domain NAME=DOMAIN`,
 * `location add/edit --domain`, the warnings of status, placement over domains, `drill
 * --lose-domain`, and `kit`, which must never print a credential.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillReport, StatusReport } from '../src/shared/api';
import type { KitFacts } from '../src/shared/kit';
import { startS3rver, type S3rverServer } from './servers/s3rver';
import { ensureBuilt, parseJson, runCli, TempRoot, writeRandomFile, type CliResult } from './helpers/cli';

const PASS = 'domains cli passphrase, long enough';
const SECRET = `wJal/rXU+tn${randomBytes(6).toString('hex')}`;
let root: TempRoot;
let home: string;
let s3: S3rverServer;
let dirs: Record<string, string>;
let recoveryCode: string;

const cli = (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
  runCli(args, { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASS, ...env }, timeoutMs: 60_000 });

function ok(r: CliResult): CliResult {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-domains-cli-');
  home = await root.dir('home');
  s3 = await startS3rver();
  dirs = {};
  for (const n of ['usb', 'nas', 'office']) dirs[n] = await root.dir(n);
  const cloud = `s3+http://${s3.accessKeyId}:${encodeURIComponent(SECRET)}@${s3.host}:${s3.port}/${s3.bucket}/vault#cloud`;
  const init = ok(
    await cli([
      'init',
      '--location',
      `${dirs['usb']!}#usb`,
      '--location',
      `${dirs['nas']!}#nas`,
      '--location',
      cloud,
      '--location',
      `${dirs['office']!}#office`,
      '--domain',
      'usb=home',
      '--domain',
      'nas=home',
      '--survive',
      '1',
      '--secret-against',
      '1',
      '--insecure-kdf-cost',
      '10',
      '--segment-size',
      '65536',
      '--json',
    ]),
  );
  const made = parseJson<{
    vault: { data: number; total: number; threshold: number };
    survives: number;
    survivesDomains: number | null;
    recoveryCode: string;
    locations: { name: string; domain: string | null }[];
  }>(init);
  // Four locations in three domains, survive 1 domain: home holds two shards, so k = 2.
  expect(made.vault).toMatchObject({ data: 2, total: 4, threshold: 2 });
  expect(made.survivesDomains).toBe(1);
  expect(made.locations.map((l) => l.domain)).toEqual(['home', 'home', null, null]);
  recoveryCode = made.recoveryCode;
}, 120_000);

afterAll(async () => {
  await s3?.stop();
  await root?.cleanup();
});

describe('failure domains in the CLI', () => {
  it('refuses a --domain without NAME=, for a name no location has, and out of the rule', async () => {
    const bad = async (domain: string, message: RegExp): Promise<void> => {
      const r = await cli(
        [
          'init',
          '--location',
          `${await root.dir(`x-${randomBytes(3).toString('hex')}`)}#a`,
          '--location',
          `${await root.dir(`y-${randomBytes(3).toString('hex')}`)}#b`,
          '--domain',
          domain,
          '--survive',
          '0',
          '--secret-against',
          '1',
        ],
        { SHARDVAULT_HOME: await root.dir(`h-${randomBytes(3).toString('hex')}`) },
      );
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    };
    await bad('home', /give NAME=DOMAIN/);
    await bad('c=home', /no location is named c/);
    await bad('a=-x', /domain "-x": use letters/);
  });

  it('lists domains, warns in words when they break the policy, and deals the key shares again', async () => {
    const listed = parseJson<{ name: string; domain: string | null }[]>(ok(await cli(['location', 'list', '--json'])));
    expect(listed.map((l) => [l.name, l.domain])).toEqual([
      ['usb', 'home'],
      ['nas', 'home'],
      ['cloud', null],
      ['office', null],
    ]);
    const before = parseJson<StatusReport>(ok(await cli(['status', '--json'])));
    expect(before.domainWarnings).toEqual([]);
    expect(before.locations.map((l) => l.domain)).toEqual(['home', 'home', null, null]);

    // office moves home: three of four locations in one domain.
    const edited = ok(await cli(['location', 'edit', 'office', '--domain', 'home']));
    expect(edited.stdout).toMatch(/office is now office .*in home.*dealt again/);
    // No file is stored yet: nothing to move over the domains (policy-domains.test.ts moves some).
    expect(
      parseJson<{ replaced: number; pending: string[] }>(
        ok(await cli(['location', 'edit', 'office', '--domain', 'home', '--json'])),
      ),
    ).toMatchObject({ replaced: 0, pending: [] });
    expect(edited.stderr).toMatch(
      /usb, nas and office are all in home: losing home leaves key shares in 1 place; unlocking needs 2/,
    );
    const after = parseJson<StatusReport>(ok(await cli(['status', '--json'])));
    expect(after.domainWarnings.join('\n')).toMatch(/all in home/);
    expect(ok(await cli(['status'])).stdout).toMatch(
      /Failure domains:\n {2}warning: usb, nas and office are all in home/,
    );

    // Losing home: one key share left of the two needed, whatever the shards.
    const drill = await cli(['drill', '--lose-domain', 'home', '--json']);
    expect(drill.code).toBe(6);
    expect(parseJson<DrillReport>(drill).unlock).toMatchObject({ shares: 1, threshold: 2, unlocks: false });
    expect((await cli(['drill', '--lose-domain', 'attic'])).code).toBe(2);

    // A new location in another domain: two domains can lose one and still unlock.
    const parents = await root.dir('parents');
    const added = ok(await cli(['location', 'add', `${parents}#parents`, '--domain', 'parents house']));
    expect(added.stdout).toMatch(/Added parents .*in parents house/);
    // 2 of 4 over five locations: the exact command that would use the fifth (never a prompt).
    expect(added.stdout).toContain(
      'Files are written as 4 shards over 5 locations now; to use them all (re-codes every file): ' +
        'shardvault policy set --data 2 --total 5 --threshold 2',
    );
    ok(await cli(['location', 'edit', 'office', '--domain', '']));
    const last = parseJson<StatusReport>(ok(await cli(['status', '--json'])));
    expect(last.locations.map((l) => l.domain)).toEqual(['home', 'home', null, null, 'parents house']);
  });

  it('places a new file over domains: home never holds more shards than the file can lose', async () => {
    const file = nodePath.join(root.path, 'photo.bin');
    await writeRandomFile(file, 300_000);
    ok(await cli(['put', file, '--name', 'photo.bin']));
    const placed = parseJson<{ shards: { index: number; locations: { name: string }[] }[] }>(
      ok(await cli(['placement', 'photo.bin', '--json'])),
    );
    // 2 of 4 shards over 5 locations (the policy is kept): a file can lose 2 shards.
    const inHome = placed.shards.filter((s) => ['usb', 'nas'].includes(s.locations[0]!.name)).length;
    expect(placed.shards).toHaveLength(4);
    expect(inHome).toBeLessThanOrEqual(2);
    const lose = parseJson<DrillReport>(ok(await cli(['drill', '--lose-domain', 'home', '--json'])));
    expect(lose.files.find((f) => f.name === 'photo.bin')!.health).not.toBe('lost');
    const out = nodePath.join(root.path, 'back.bin');
    ok(await cli(['get', 'photo.bin', '--output', out]));
    expect(Buffer.compare(await fs.readFile(out), await fs.readFile(file))).toBe(0);
  });

  it('refuses a domain change whose new key shares reach only one domain, and changes nothing', async () => {
    // office and parents unplugged: usb, nas (home) and cloud answer. Putting cloud in home
    // would leave every share reached in one domain: one share, t = 2.
    const parents = nodePath.join(root.path, 'parents');
    await fs.rename(dirs['office']!, `${dirs['office']!}.away`);
    await fs.rename(parents, `${parents}.away`);
    try {
      const r = await cli(['location', 'edit', 'cloud', '--domain', 'home']);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(/the new key shares reached 1 failure domain; 2 are needed to unlock with them/);
    } finally {
      await fs.rename(`${dirs['office']!}.away`, dirs['office']!);
      await fs.rename(`${parents}.away`, parents);
    }
    const listed = parseJson<{ name: string; domain: string | null }[]>(ok(await cli(['location', 'list', '--json'])));
    expect(listed.find((l) => l.name === 'cloud')!.domain).toBeNull();
    ok(await cli(['ls']));
  });
});

describe('re-coding over failure domains', () => {
  it('a re-code places the new coding over domains, as a new file is placed', async () => {
    // a, b, c at home, d alone; 2 of 3, then 2 of 4. Round robin over the four would put
    // three shards at home, one more than a file can lose; over domains home keeps two.
    const own = await root.dir('recode-home');
    const run = (args: string[]): Promise<CliResult> =>
      runCli(args, { env: { SHARDVAULT_HOME: own, SHARDVAULT_PASSPHRASE: PASS }, timeoutMs: 60_000 });
    const locs: string[] = [];
    for (const n of ['a', 'b', 'c', 'd']) locs.push('--location', `${await root.dir(`recode-${n}`)}#${n}`);
    const domains = ['--domain', 'a=home', '--domain', 'b=home', '--domain', 'c=home'];
    const numbers = ['--data', '2', '--total', '3', '--threshold', '2'];
    ok(await run(['init', ...locs, ...domains, ...numbers, '--insecure-kdf-cost', '10', '--segment-size', '65536']));
    const file = nodePath.join(root.path, 'recode.bin');
    await writeRandomFile(file, 200_000);
    ok(await run(['put', file, '--name', 'recode.bin']));
    ok(await run(['policy', 'set', '--data', '2', '--total', '4', '--threshold', '2']));
    const placed = parseJson<{ shards: { locations: { name: string }[] }[] }>(
      ok(await run(['placement', 'recode.bin', '--json'])),
    );
    expect(placed.shards).toHaveLength(4);
    const inHome = placed.shards.filter((s) => ['a', 'b', 'c'].includes(s.locations[0]!.name)).length;
    expect(inHome).toBe(2);
    const out = nodePath.join(root.path, 'recode-back.bin');
    ok(await run(['get', 'recode.bin', '--output', out]));
    expect(Buffer.compare(await fs.readFile(out), await fs.readFile(file))).toBe(0);
  });
});

describe('the recovery kit', () => {
  it('prints the vault, its locations and domains, the policy and the steps, and no credential', async () => {
    const text = ok(await cli(['kit'])).stdout;
    const facts = parseJson<KitFacts>(ok(await cli(['kit', '--json'])));
    expect(text).toContain(facts.vaultId);
    expect(text).toContain(facts.fingerprint!);
    expect(text).toMatch(/usb +local +\S+ +\[domain: home\]/);
    expect(text).toMatch(/cloud +s3 +s3\+http:\/\/127\.0\.0\.1:\d+\/shardvault-test\/vault/);
    expect(text).toMatch(/any 2 of them give the file back/);
    expect(text).toMatch(/1\. Install Shardvault/);
    expect(text).toContain('____-____-____-____-____-____-____-____');
    expect(facts.recoveryCode).toBeNull();
    for (const printed of [text, JSON.stringify(facts)]) {
      for (const secret of [
        PASS,
        SECRET,
        encodeURIComponent(SECRET),
        s3.accessKeyId,
        recoveryCode,
        recoveryCode.replace(/-/g, ''),
      ])
        expect(printed).not.toContain(secret);
      expect(printed).not.toMatch(/sealedSecrets|"spec"/);
    }
  });

  it('prints the recovery code only when asked, and only this vault’s', async () => {
    const wrong = await cli(['kit', '--with-recovery-code'], {
      SHARDVAULT_RECOVERY_CODE: '0000-0000-0000-0000-0000-0000-0000-0000',
    });
    expect(wrong.code).toBe(3);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toMatch(/not this vault’s recovery code/);
    const right = ok(
      await cli(['kit', '--with-recovery-code'], { SHARDVAULT_RECOVERY_CODE: recoveryCode.toLowerCase() }),
    );
    expect(right.stdout).toContain(recoveryCode);
    expect(right.stdout).not.toContain('____-____');
  });
});
