/**
 * The CLI end to end (issue 2, "CLI" and "Tests"): the built `shardvault` as a child process
 * over temporary local folders, no mocks. Each describe block owns its vault; tests inside a
 * block run in order and share it where that is honest (independent files, state restored).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AccessRequest,
  FileEntry,
  LocationStatus,
  PlacementReport,
  StatusReport,
  VerifyReport,
} from '../src/shared/api';
import {
  ensureBuilt,
  exists,
  filesContaining,
  flipByte,
  listTree,
  parseJson,
  runCli,
  sha256File,
  shardObjects,
  snapshotTree,
  startCli,
  TempRoot,
  unplug,
  writeRandomFile,
  type CliResult,
} from './helpers/cli';

const PASSPHRASE = 'correct horse battery staple';
const SEGMENT = 65536;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const HEX64 = /^[0-9a-f]{64}$/;
const HEALTH = ['healthy', 'degraded', 'unreachable', 'lost'];

let root: TempRoot;

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create();
});

afterAll(async () => {
  await root?.cleanup();
});

interface TestVault {
  readonly home: string;
  readonly locations: string[];
  readonly env: Record<string, string>;
  readonly recoveryCode: string;
  readonly init: CliResult;
  run(args: readonly string[], extra?: { env?: Record<string, string | undefined>; cwd?: string }): Promise<CliResult>;
}

/** A profile and `count` location folders under root/<name>, with a vault made by `init`. */
async function makeVault(
  name: string,
  opts: { count?: number; policy?: string[]; segment?: number } = {},
): Promise<TestVault> {
  const base = await root.dir(name);
  const home = nodePath.join(base, 'home');
  const locations = await root.locations(name, opts.count ?? 5);
  const env = { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASSPHRASE };
  const run: TestVault['run'] = (args, extra = {}) =>
    runCli(args, { env: { ...env, ...extra.env }, ...(extra.cwd ? { cwd: extra.cwd } : {}) });
  const init = await run([
    'init',
    ...locations.flatMap((l) => ['--location', l]),
    ...(opts.policy ?? ['--survive', '2', '--secret-against', '2']),
    '--insecure-kdf-cost',
    '10',
    '--segment-size',
    String(opts.segment ?? SEGMENT),
    '--json',
  ]);
  expect(init.code, init.stderr).toBe(0);
  const recoveryCode = parseJson<{ recoveryCode: string }>(init).recoveryCode;
  return { home, locations, env, recoveryCode, init, run };
}

function expectError(r: CliResult, code: number, message: RegExp): void {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code, stderr: expect.stringMatching(message) as unknown });
}

/** The shard objects `work` added to the location folders. */
async function newShards(locations: readonly string[], work: () => Promise<void>): Promise<string[]> {
  const before = await shardObjects(locations);
  await work();
  return [...(await shardObjects(locations))].filter((p) => !before.has(p));
}

function locArgs(locations: readonly string[]): string[] {
  return locations.flatMap((l) => ['--location', l]);
}

// ====================================================================== usage

describe('usage errors', () => {
  it.each([
    ['an unknown command', ['frobnicate'], /unknown command "frobnicate"/],
    ['an unknown flag', ['ls', '--bogus'], /unknown option --bogus/],
    ['a missing value', ['put', 'x', '--name'], /--name needs a value/],
    ['a missing location value', ['init', '--location'], /--location needs a value/],
    ['a value on a flag', ['ls', '--force=yes'], /--force takes no value/],
    ['a missing NAME', ['get'], /usage: shardvault get NAME/],
    ['a stray argument', ['ls', 'photos', 'extra'], /usage: shardvault ls/],
    ['a malformed number', ['init', '--location', '/nowhere', '--data', 'two'], /--data must be a whole number/],
  ])('%s exits 2 with a clear line', async (_what, args, message) => {
    const home = await root.dir(`usage-${randomBytes(4).toString('hex')}`);
    const r = await runCli(args, { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASSPHRASE } });
    expectError(r, 2, message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await listTree(home)).toEqual([]);
  });

  it('no command prints help and exits 2; --help exits 0', async () => {
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/usage: shardvault <command>/);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes/);
  });

  it('under --json a usage error is {"error":{"code","message"}} on stdout', async () => {
    const r = await runCli(['frobnicate', '--json']);
    expect(r.code).toBe(2);
    const body = parseJson<{ error: { code: string; message: string } }>(r);
    expect(body).toEqual({ error: { code: 'usage', message: expect.stringMatching(/unknown command/) as unknown } });
  });
});

// ====================================================================== init

describe('demo', () => {
  it('runs end to end and ends with the next commands: init over your own places, then serve', async () => {
    const r = await runCli(['demo', '--size', '100000']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('5. Read it back from the 3 remaining locations');
    const next = r.stdout.slice(r.stdout.indexOf('\nNext: '));
    expect(next).toMatch(/\n {2}npx shardvault init --location \S+ --location \S+ /);
    expect(next).toMatch(/--survive 1 --secret-against 1\n/);
    expect(next).toMatch(/\n {2}npx shardvault serve /);
    const json = await runCli(['demo', '--size', '1000', '--json']);
    expect(parseJson<{ ok: boolean }>(json).ok).toBe(true);
  });
});

describe('init', () => {
  it('--survive 2 --secret-against 2 over five folders prints k=3, n=5, t=3 and a recovery code', async () => {
    const home = await root.dir('init-words/home');
    const locations = await root.locations('init-words', 5);
    const r = await runCli(
      ['init', ...locArgs(locations), '--survive', '2', '--secret-against', '2', '--insecure-kdf-cost', '10'],
      { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASSPHRASE } },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/k = 3\b/);
    expect(r.stdout).toMatch(/n = 5\b/);
    expect(r.stdout).toMatch(/t = 3\b/);
    expect(r.stdout).toMatch(/survives losing 2 location/);
    expect(r.stdout).toMatch(/Recovery code[^\n]*\n\s+[0-9A-Z]{4}(-[0-9A-Z]{4}){7}\n/);
    expect(r.stdout).toMatch(/Vault key fingerprint[^\n]*\n\s+[0-9A-Z]{4}(-[0-9A-Z]{4}){7}\s*$/);
    for (const l of locations) {
      const files = await listTree(l);
      expect(files).toContain('shardvault.json');
      expect(files).toContain('head');
      expect(files).toContain('keys/0000000001');
    }
    expect(await exists(nodePath.join(home, 'profile.json'))).toBe(true);
    expect(await exists(nodePath.join(home, 'profile.lock'))).toBe(false);
  });

  it('--json prints the vault, the locations and the recovery code', async () => {
    const v = await makeVault('init-json');
    const body = parseJson<Record<string, unknown>>(v.init);
    expect(body).toEqual({
      vault: {
        id: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown,
        data: 3,
        total: 5,
        threshold: 3,
        replicas: 1,
        segmentSize: SEGMENT,
      },
      survives: 2,
      // No failure domains given: none, and X counts locations.
      survivesDomains: null,
      locations: v.locations.map((l, i) => ({ name: `loc${i + 1}`, kind: 'local', display: l, domain: null })),
      madeFolders: [],
      recoveryCode: expect.stringMatching(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){7}$/) as unknown,
      fingerprint: expect.stringMatching(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){7}$/) as unknown,
    });
    // Shown once: neither the profile nor any location holds it, or the passphrase, in the clear.
    for (const dir of [v.home, ...v.locations]) {
      expect(await filesContaining(dir, Buffer.from(v.recoveryCode)), dir).toEqual([]);
      expect(await filesContaining(dir, Buffer.from(v.recoveryCode.replaceAll('-', ''))), dir).toEqual([]);
      expect(await filesContaining(dir, Buffer.from(PASSPHRASE)), dir).toEqual([]);
    }
    const status = await v.run(['status']);
    expect(status.code).toBe(0);
    expect(status.stdout + status.stderr).not.toContain(v.recoveryCode);
  });

  it('--data/--total/--threshold with named locations', async () => {
    const home = await root.dir('init-numbers/home');
    const locations = await root.locations('init-numbers', 4);
    const names = ['usb', 'nas', 'cloud', 'laptop'];
    const env = { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASSPHRASE };
    const specs = locations.flatMap((l, i) => ['--location', `${l}#${names[i]}`]);
    const r = await runCli(
      ['--json', 'init', ...specs, '--data', '2', '--total', '4', '--threshold', '3', '--insecure-kdf-cost', '10'],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const body = parseJson<{ vault: Record<string, number>; survives: number; locations: { name: string }[] }>(r);
    expect(body.vault).toMatchObject({ data: 2, total: 4, threshold: 3, replicas: 1 });
    expect(body.survives).toBe(2);
    expect(body.locations.map((l) => l.name)).toEqual(names);
    const status = parseJson<StatusReport>(await runCli(['status', '--json'], { env }));
    expect(status.vault).toMatchObject({ data: 2, total: 4, threshold: 3 });
    expect(status.locations.map((l) => l.name)).toEqual(names);
  });

  describe('refuses a policy the locations cannot honour, and writes nothing', () => {
    const cases: [string, number, string[], number[], RegExp][] = [
      ['--secret-against 0', 5, ['--survive', '2', '--secret-against', '0'], [2], /secret-against/],
      ['one location (words)', 1, ['--survive', '0', '--secret-against', '1'], [1, 2], /at least two locations/],
      [
        'one location (numbers)',
        1,
        ['--data', '1', '--total', '1', '--threshold', '2'],
        [1, 2],
        /at least two locations/,
      ],
      ['--survive as large as the locations', 5, ['--survive', '5', '--secret-against', '1'], [1, 2], /at most 4/],
      [
        '--survive leaving too few to unlock',
        5,
        ['--survive', '3', '--secret-against', '2'],
        [1, 2],
        /can't both survive/,
      ],
      ['--threshold 1', 3, ['--data', '2', '--total', '3', '--threshold', '1'], [1, 2], /threshold must be at least 2/],
      [
        '--threshold above the locations',
        3,
        ['--data', '2', '--total', '3', '--threshold', '4'],
        [1, 2],
        /threshold 4/,
      ],
      [
        'both policy forms',
        5,
        ['--survive', '2', '--secret-against', '2', '--data', '3', '--total', '5', '--threshold', '3'],
        [2],
        /either/,
      ],
      ['half a policy', 5, ['--survive', '2'], [2], /go together/],
      ['no policy', 5, [], [2], /init needs/],
    ];
    it.each(cases)('%s', async (what, count, policy, codes, message) => {
      const dir = `refuse-${what.replace(/[^a-z0-9]+/gi, '-')}`;
      const home = nodePath.join(root.path, dir, 'home');
      const locations = await root.locations(dir, count);
      const r = await runCli(['init', ...locArgs(locations), ...policy, '--insecure-kdf-cost', '10'], {
        env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASSPHRASE },
      });
      expect(codes, `exit ${r.code}: ${r.stderr}`).toContain(r.code);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      expect(await exists(nodePath.join(home, 'profile.json'))).toBe(false);
      for (const l of locations) expect(await listTree(l)).toEqual([]);
    });
  });

  it('refuses a location folder that is not there, and does not create it', async () => {
    const home = nodePath.join(root.path, 'init-missing', 'home');
    const locations = await root.locations('init-missing', 5);
    const missing = nodePath.join(root.path, 'init-missing', 'not-plugged-in');
    const r = await runCli(
      [
        'init',
        ...locArgs([...locations.slice(0, 4), missing]),
        '--survive',
        '2',
        '--secret-against',
        '2',
        '--insecure-kdf-cost',
        '10',
      ],
      { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASSPHRASE } },
    );
    // Its parent is there: init would make it, asked first; a script is told --create.
    expectError(r, 2, /loc5: the folder \S*not-plugged-in does not exist: give --create/);
    expect(await exists(missing)).toBe(false);
    expect(await exists(nodePath.join(home, 'profile.json'))).toBe(false);
    for (const l of locations.slice(0, 4)) expect(await listTree(l)).toEqual([]);
  });

  it('says which folders are missing and why', async () => {
    const home = nodePath.join(root.path, 'init-missing-2', 'home');
    const locations = await root.locations('init-missing-2', 5);
    const gone = [
      nodePath.join(root.path, 'init-missing-2', 'gone-a'),
      nodePath.join(root.path, 'init-missing-2', 'gone-b'),
    ];
    const specs = [locations[0]!, gone[0]!, locations[2]!, gone[1]!, locations[4]!];
    const r = await runCli(
      ['init', ...locArgs(specs), '--survive', '2', '--secret-against', '2', '--insecure-kdf-cost', '10'],
      {
        env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASSPHRASE },
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/loc2: the folder \S*gone-a does not exist/);
    expect(r.stderr).toMatch(/loc4: the folder \S*gone-b does not exist/);
  });

  it('refuses a second vault on the same profile or on folders that hold one', async () => {
    const v = await makeVault('init-twice');
    const others = await root.locations('init-twice-others', 5);
    const again = await v.run([
      'init',
      ...locArgs(others),
      '--survive',
      '2',
      '--secret-against',
      '2',
      '--insecure-kdf-cost',
      '10',
    ]);
    expectError(again, 1, /already has a vault/);
    const otherHome = nodePath.join(root.path, 'init-twice-others', 'home');
    const over = await runCli(
      ['init', ...locArgs(v.locations), '--survive', '2', '--secret-against', '2', '--insecure-kdf-cost', '10'],
      {
        env: { SHARDVAULT_HOME: otherHome, SHARDVAULT_PASSPHRASE: PASSPHRASE },
      },
    );
    expectError(over, 1, /already holds a vault/);
    expect(await exists(nodePath.join(otherHome, 'profile.json'))).toBe(false);
  });
});

// ====================================================================== weak settings

describe('weak settings are refused, unless asked for by name', () => {
  async function init(name: string, passphrase: string, extra: string[]): Promise<CliResult & { written: string[] }> {
    const home = nodePath.join(root.path, name, 'home');
    const locations = await root.locations(name, 3);
    const r = await runCli(['init', ...locArgs(locations), '--survive', '1', '--secret-against', '1', ...extra], {
      env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: passphrase },
    });
    const written = (await Promise.all(locations.map((l) => listTree(l)))).flat();
    if (await exists(nodePath.join(home, 'profile.json'))) written.push('profile.json');
    return { ...r, written };
  }

  it.each([
    ['a one-character passphrase', 'x', /too easy to guess \(strength 0 of 4, 3 needed\)/],
    ['password123', 'password123', /This is a commonly used password/],
  ])('init refuses %s (exit 2), says why, writes nothing; --weak-passphrase takes it', async (_what, weak, why) => {
    const slug = weak.replace(/[^a-z0-9]/gi, '') || 'x';
    const refused = await init(`weak-${slug}`, weak, ['--insecure-kdf-cost', '10']);
    expectError(refused, 2, why);
    expect(refused.stderr).toMatch(/--weak-passphrase/);
    expect(refused.written).toEqual([]);
    const taken = await init(`weak-${slug}-taken`, weak, ['--insecure-kdf-cost', '10', '--weak-passphrase']);
    expect(taken.code, taken.stderr).toBe(0);
  });

  it('--kdf-cost below 17 (or above 20) is refused, naming --insecure-kdf-cost; 17 is taken', async () => {
    for (const cost of ['10', '16', '21']) {
      const r = await init(`kdf-${cost}`, PASSPHRASE, ['--kdf-cost', cost]);
      expectError(r, 2, /--kdf-cost must be between 17 and 20.*--insecure-kdf-cost/);
      expect(r.written).toEqual([]);
    }
    const floor = await init('kdf-17', PASSPHRASE, ['--kdf-cost', '17', '--json']);
    expect(floor.code, floor.stderr).toBe(0);
    const record = JSON.parse(
      await fs.readFile(nodePath.join(root.path, 'kdf-17', 'l1', 'shardvault.json'), 'utf8'),
    ) as { kdf: { logN: number } };
    expect(record.kdf.logN).toBe(17);
  });

  it('--insecure-kdf-cost takes 10..20 and says it is for tests only', async () => {
    const r = await init('kdf-insecure', PASSPHRASE, ['--insecure-kdf-cost', '10']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: --insecure-kdf-cost 10 is for tests only: each guess .* 128 times less/);
    expectError(await init('kdf-insecure-9', PASSPHRASE, ['--insecure-kdf-cost', '9']), 2, /between 10 and 20/);
    expectError(await init('kdf-both', PASSPHRASE, ['--insecure-kdf-cost', '10', '--kdf-cost', '17']), 2, /not both/);
  });
});

// ====================================================================== one vault, five folders

describe('a vault over five folders (survive 2, secret against 2)', () => {
  let v: TestVault;
  let files: string;
  let out: string;
  const hashes = new Map<string, string>();

  beforeAll(async () => {
    v = await makeVault('main');
    files = await root.dir('main/files');
    out = await root.dir('main/out');
  });

  async function putRandom(name: string, size: number, extra: string[] = []): Promise<string> {
    const path = nodePath.join(files, name);
    const hash = await writeRandomFile(path, size);
    const r = await v.run(['put', path, ...extra]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(''); // progress only on a terminal
    hashes.set(extra.includes('--name') ? extra[extra.indexOf('--name') + 1]! : name, hash);
    return hash;
  }

  async function getHash(name: string, env?: Record<string, string>): Promise<string> {
    const target = nodePath.join(out, `${randomBytes(4).toString('hex')}-${name}`);
    const r = await v.run(['get', name, '--output', target], env ? { env } : {});
    expect(r.code, r.stderr).toBe(0);
    const hash = await sha256File(target);
    await fs.rm(target);
    return hash;
  }

  it.each([0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1])('put/get round trip of %i bytes', async (size) => {
    const name = `size-${size}.bin`;
    const hash = await putRandom(name, size);
    expect(await getHash(name)).toBe(hash);
    const ls = parseJson<FileEntry[]>(await v.run(['ls', '--json']));
    expect(ls.find((f) => f.name === name)).toMatchObject({ name, size, sha256: hash, health: 'healthy', survives: 2 });
  });

  it('put/get round trip of 50 MiB, streamed from disk', async () => {
    const size = 50 * 1024 * 1024;
    const hash = await putRandom('big.bin', size);
    expect(await getHash('big.bin')).toBe(hash);
  });

  it('put --name stores the file under that name', async () => {
    const path = nodePath.join(files, 'original-name.txt');
    const hash = await writeRandomFile(path, 1000);
    const r = await v.run(['put', path, '--name', 'renamed.txt', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const entry = parseJson<FileEntry>(r);
    expect(entry).toMatchObject({ name: 'renamed.txt', size: 1000, sha256: hash, health: 'healthy', survives: 2 });
    hashes.set('renamed.txt', hash);
    const names = parseJson<FileEntry[]>(await v.run(['ls', '--json'])).map((f) => f.name);
    expect(names).toContain('renamed.txt');
    expect(names).not.toContain('original-name.txt');
    expect(await getHash('renamed.txt')).toBe(hash);
  });

  it('an existing NAME is refused without --replace and replaced with it (old content and shards gone)', async () => {
    const first = nodePath.join(files, 'dup-a');
    const second = nodePath.join(files, 'dup-b');
    const hashA = await writeRandomFile(first, 3000);
    const hashB = await writeRandomFile(second, 5000);
    const oldShards = await newShards(v.locations, async () => {
      expect((await v.run(['put', first, '--name', 'dup'])).code).toBe(0);
    });
    expect(oldShards).toHaveLength(5);

    const before = await shardObjects(v.locations);
    const refused = await v.run(['put', second, '--name', 'dup']);
    expectError(refused, 1, /already in the vault.*--replace/);
    expect(await shardObjects(v.locations)).toEqual(before);
    expect(await getHash('dup')).toBe(hashA);

    const replaced = await v.run(['put', second, '--name', 'dup', '--replace']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(await getHash('dup')).toBe(hashB);
    const ls = parseJson<FileEntry[]>(await v.run(['ls', '--json'])).filter((f) => f.name === 'dup');
    expect(ls).toEqual([expect.objectContaining({ size: 5000, sha256: hashB }) as unknown]);
    const after = await shardObjects(v.locations);
    for (const s of oldShards) expect(after.has(s), s).toBe(false);
    expect(after.size).toBe(before.size);
    hashes.set('dup', hashB);
  });

  it('get to an existing file is refused without --force, and overwrites it with', async () => {
    const target = nodePath.join(out, 'existing-output');
    await fs.writeFile(target, 'keep me');
    const refused = await v.run(['get', 'size-1.bin', '--output', target]);
    expectError(refused, 1, /exists.*--force/);
    expect(await fs.readFile(target, 'utf8')).toBe('keep me');
    const forced = await v.run(['get', 'size-1.bin', '--output', target, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await sha256File(target)).toBe(hashes.get('size-1.bin'));
    await fs.rm(target);
  });

  it('get writes ./NAME by default (in the working folder)', async () => {
    const cwd = await root.dir('main/cwd');
    const r = await v.run(['get', 'renamed.txt'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(await fs.readdir(cwd)).toEqual(['renamed.txt']);
    expect(await sha256File(nodePath.join(cwd, 'renamed.txt'))).toBe(hashes.get('renamed.txt'));
    expect(r.stdout).toContain(nodePath.join(cwd, 'renamed.txt'));
  });

  it('get --output FOLDER or FOLDER/ writes FOLDER/NAME, and creates no folder', async () => {
    const folder = await root.dir('main/into');
    const written = nodePath.join(folder, 'renamed.txt');
    const r = await v.run(['get', 'renamed.txt', '--output', folder]);
    expect(r.code, r.stderr).toBe(0);
    expect(await fs.readdir(folder)).toEqual(['renamed.txt']);
    expect(await sha256File(written)).toBe(hashes.get('renamed.txt'));
    expect(r.stdout).toContain(written);
    await fs.rm(written);

    const slash = await v.run(['get', 'renamed.txt', '--output', `${folder}/`, '--json']);
    expect(parseJson<{ output: string }>(slash).output).toBe(written);
    expect(await sha256File(written)).toBe(hashes.get('renamed.txt'));
    await fs.rm(written);

    const missing = nodePath.join(out, 'no-such-folder');
    const refused = await v.run(['get', 'renamed.txt', '--output', `${missing}/`]);
    expectError(refused, 2, /no-such-folder is not a folder here/);
    expect(await exists(missing)).toBe(false);
  });

  it('get of a name not in the vault fails (exit 1) and writes nothing', async () => {
    const cwd = await root.dir('main/cwd-missing');
    const r = await v.run(['get', 'no-such-file'], { cwd });
    expectError(r, 1, /no file named "no-such-file"/);
    expect(await fs.readdir(cwd)).toEqual([]);
    const j = await v.run(['get', 'no-such-file', '--json'], { cwd });
    expect(j.code).toBe(1);
    expect(parseJson(j)).toEqual({
      error: { code: 'not-found', message: expect.stringMatching(/no-such-file/) as unknown },
    });
  });

  it('put of a file that is not there is refused (exit 2) and stores nothing', async () => {
    const before = await shardObjects(v.locations);
    const r = await v.run(['put', nodePath.join(files, 'nope')]);
    expectError(r, 2, /not a readable file/);
    expect(await shardObjects(v.locations)).toEqual(before);
  });

  it('no location holds the file name or any plaintext', async () => {
    const name = 'tax-return-ACME-2024-confidential.pdf';
    const path = nodePath.join(files, name);
    hashes.set(name, await writeRandomFile(path, 3 * SEGMENT + 12345));
    expect((await v.run(['put', path])).code).toBe(0);
    const plain = await fs.readFile(path);
    const needles: [string, Uint8Array][] = [
      ['the file name', Buffer.from(name, 'utf8')],
      ['the file name in UTF-16', Buffer.from(name, 'utf16le')],
      ['the first 32 bytes', plain.subarray(0, 32)],
      ['32 bytes from the middle', plain.subarray(100_000, 100_032)],
      ['the last 32 bytes', plain.subarray(plain.length - 32)],
    ];
    // Every earlier file too: their names and a slice of their bytes.
    for (const other of ['size-65537.bin', 'big.bin', 'renamed.txt']) {
      needles.push([other, Buffer.from(other, 'utf8')]);
    }
    const big = await fs.readFile(nodePath.join(files, 'big.bin'));
    needles.push(['32 bytes of big.bin', big.subarray(30_000_000, 30_000_032)]);
    for (const l of v.locations) {
      for (const [what, needle] of needles) expect(await filesContaining(l, needle), `${what} on ${l}`).toEqual([]);
    }
  });

  it('--json output shapes: ls, placement, verify, log, status', async () => {
    const ls = await v.run(['--json', 'ls']);
    expect(ls.code).toBe(0);
    const entries = parseJson<FileEntry[]>(ls);
    expect(entries.length).toBeGreaterThanOrEqual(8);
    for (const f of entries) {
      expect(Object.keys(f).sort()).toEqual([
        'awaiting',
        'created',
        'guarded',
        'health',
        'name',
        'sha256',
        'signIn',
        'size',
        'survives',
      ]);
      expect(typeof f.name).toBe('string');
      expect(Number.isInteger(f.size)).toBe(true);
      expect(f.sha256).toMatch(HEX64);
      expect(f.created).toMatch(ISO_UTC);
      expect(HEALTH).toContain(f.health);
      expect(Number.isInteger(f.survives)).toBe(true);
      expect(f.guarded).toBe(false); // no guard in this vault
    }
    expect(entries.find((f) => f.name === 'big.bin')).toMatchObject({
      size: 50 * 1024 * 1024,
      sha256: hashes.get('big.bin'),
    });

    const placement = parseJson<PlacementReport>(await v.run(['placement', 'big.bin', '--json']));
    expect(Object.keys(placement).sort()).toEqual(['name', 'shards']);
    expect(placement.name).toBe('big.bin');
    expect(placement.shards.map((s) => s.index)).toEqual([0, 1, 2, 3, 4]);
    for (const s of placement.shards) {
      expect(Object.keys(s).sort()).toEqual(['index', 'locations']);
      expect(s.locations).toHaveLength(1);
      expect(Object.keys(s.locations[0]!).sort()).toEqual(['name', 'state']);
      expect(s.locations[0]!.state).toBe('ok');
    }
    // Shards on distinct locations.
    expect(new Set(placement.shards.map((s) => s.locations[0]!.name)).size).toBe(5);

    const verify = await v.run(['verify', '--json']);
    expect(verify.code, verify.stdout).toBe(0);
    const report = parseJson<VerifyReport>(verify);
    expect(Object.keys(report).sort()).toEqual(['files', 'ok', 'problems']);
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.files.map((f) => f.name).sort()).toEqual(entries.map((f) => f.name).sort());
    for (const f of report.files) {
      expect(Object.keys(f).sort()).toEqual(['health', 'name', 'survives']);
      expect(f).toMatchObject({ health: 'healthy', survives: 2 });
    }
    const deep = await v.run(['verify', '--deep', '--json']);
    expect(deep.code, deep.stdout).toBe(0);
    expect(parseJson<VerifyReport>(deep).ok).toBe(true);

    const log = parseJson<AccessRequest[]>(await v.run(['log', '--json']));
    expect(log.length).toBeGreaterThan(10);
    for (const e of log) {
      expect(Object.keys(e)).toEqual(
        expect.arrayContaining(['time', 'device', 'action', 'file', 'outcome', 'locations']),
      );
      expect(e.time).toMatch(ISO_UTC);
      expect(typeof e.device).toBe('string');
      expect(['init', 'open', 'unlock', 'put', 'get', 'rm', 'policy', 'location']).toContain(e.action);
      expect(e.file === null || typeof e.file === 'string').toBe(true);
      expect(['ok', 'denied', 'failed']).toContain(e.outcome);
      expect(Array.isArray(e.locations) && e.locations.every((l) => typeof l === 'string')).toBe(true);
    }
    expect(log[0]).toMatchObject({ action: 'init', outcome: 'ok', file: null });
    expect(log.some((e) => e.action === 'put' && e.file === 'big.bin' && e.outcome === 'ok')).toBe(true);
    expect(log.some((e) => e.action === 'get' && e.file === 'big.bin' && e.outcome === 'ok')).toBe(true);
    expect(log.some((e) => e.action === 'get' && e.file === 'no-such-file' && e.outcome === 'failed')).toBe(true);
    const times = log.map((e) => e.time);
    expect([...times].sort()).toEqual(times);

    const status = parseJson<StatusReport>(await v.run(['status', '--json']));
    expect(status.vault).toMatchObject({ data: 3, total: 5, threshold: 3 });
    expect(status.vault.id).toMatch(/^[0-9a-f]{32}$/);
    expect(status.locations.map((l) => l.name)).toEqual(['loc1', 'loc2', 'loc3', 'loc4', 'loc5']);
    for (const l of status.locations) expectLocationShape(l, true);
  });

  it('--json may stand anywhere on the line', async () => {
    const a = await v.run(['--json', 'placement', 'dup']);
    const b = await v.run(['placement', '--json', 'dup']);
    const c = await v.run(['placement', 'dup', '--json']);
    expect(parseJson(a)).toEqual(parseJson(b));
    expect(parseJson(b)).toEqual(parseJson(c));
  });

  it('with two of five folders unplugged: get still works, status and ls say so', async () => {
    const plugBack = [await unplug(v.locations[1]!), await unplug(v.locations[3]!)];
    try {
      expect(await getHash(`size-${SEGMENT + 1}.bin`)).toBe(hashes.get(`size-${SEGMENT + 1}.bin`));
      expect(await getHash('big.bin')).toBe(hashes.get('big.bin'));
      const status = await v.run(['status', '--json']);
      expect(status.code).toBe(0);
      const report = parseJson<StatusReport>(status);
      expect(report.locations.map((l) => [l.name, l.reachable])).toEqual([
        ['loc1', true],
        ['loc2', false],
        ['loc3', true],
        ['loc4', false],
        ['loc5', true],
      ]);
      for (const l of report.locations) expectLocationShape(l, l.reachable);
      const ls = parseJson<FileEntry[]>(await v.run(['ls', '--json']));
      expect(ls.find((f) => f.name === 'big.bin')).toMatchObject({ health: 'degraded', survives: 0 });
      const placement = parseJson<PlacementReport>(await v.run(['placement', 'big.bin', '--json']));
      const states = new Map(placement.shards.map((s) => [s.locations[0]!.name, s.locations[0]!.state]));
      expect([1, 2, 3, 4, 5].map((i) => states.get(`loc${i}`))).toEqual(['ok', 'offline', 'ok', 'offline', 'ok']);
      // A put that asks for four locations (--happy 4) is refused, and nothing is left behind.
      const before = await Promise.all([0, 2, 4].map((i) => listTree(v.locations[i]!)));
      const source = nodePath.join(files, 'size-1.bin');
      const refused = await v.run(['put', source, '--name', 'while-unplugged', '--happy', '4']);
      expectError(refused, 4, /reachable/);
      expect(await Promise.all([0, 2, 4].map((i) => listTree(v.locations[i]!).then(withoutLog)))).toEqual(
        before.map(withoutLog),
      );
      // By default (--happy k = 3) it goes ahead, and says what it survives until they return:
      // the two shards meant for them wait on two of the three present, so any one may go.
      const put = await v.run(['put', source, '--name', 'while-unplugged']);
      expect(put.code, put.stderr).toBe(0);
      expect(put.stderr).toMatch(/while-unplugged survives 1 more loss until loc2 and loc4 return/);
      hashes.set('while-unplugged', hashes.get('size-1.bin')!);
      // The unplugged folders were not re-created behind the disk's back.
      expect(await exists(v.locations[1]!)).toBe(false);
      expect(await exists(v.locations[3]!)).toBe(false);
    } finally {
      for (const plug of plugBack) await plug();
    }
    const status = parseJson<StatusReport>(await v.run(['status', '--json']));
    expect(status.locations.every((l) => l.reachable)).toBe(true);
    expect(status.locations.map((l) => l.staged).reduce((a, b) => a + b)).toBe(2);
    // Back: repair moves the two waiting shard copies to them; every file is whole again.
    expect((await v.run(['repair'])).code).toBe(0);
    const ls = parseJson<FileEntry[]>(await v.run(['ls', '--json']));
    for (const f of ls) expect(f, f.name).toMatchObject({ health: 'healthy', survives: 2, awaiting: [] });
    expect(await getHash('while-unplugged')).toBe(hashes.get('while-unplugged'));
  });

  it('with three of five folders unplugged: get fails with exit 4 and leaves no output', async () => {
    const target = await root.dir('main/out-three-gone');
    const plugBack = [await unplug(v.locations[0]!), await unplug(v.locations[2]!), await unplug(v.locations[4]!)];
    try {
      const r = await v.run(['get', 'size-1.bin', '--output', nodePath.join(target, 'x')]);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(/^shardvault: .+/);
      expect(await fs.readdir(target)).toEqual([]);
      const j = await v.run(['get', 'size-1.bin', '--output', nodePath.join(target, 'x'), '--json']);
      expect(j.code).toBe(4);
      expect(parseJson<{ error: { code: string } }>(j).error.code).toBe('unavailable');
      expect(await fs.readdir(target)).toEqual([]);
    } finally {
      for (const plug of plugBack) await plug();
    }
  });

  it('a wrong passphrase exits 3 and changes nothing but the audit log', async () => {
    const before = await Promise.all(v.locations.map((l) => snapshotTree(l, ['log'])));
    const target = await root.dir('main/out-wrong-pass');
    const wrong = { SHARDVAULT_PASSPHRASE: 'not the passphrase' };
    expectError(await v.run(['ls'], { env: wrong }), 3, /wrong passphrase/);
    expectError(
      await v.run(['get', 'size-1.bin', '--output', nodePath.join(target, 'x')], { env: wrong }),
      3,
      /passphrase/,
    );
    expectError(
      await v.run(['put', nodePath.join(files, 'dup-a'), '--name', 'intruder'], { env: wrong }),
      3,
      /passphrase/,
    );
    expectError(await v.run(['rm', 'size-1.bin'], { env: wrong }), 3, /passphrase/);
    const j = await v.run(['ls', '--json'], { env: wrong });
    expect(j.code).toBe(3);
    expect(parseJson<{ error: { code: string } }>(j).error.code).toBe('auth');
    expect(await fs.readdir(target)).toEqual([]);
    const after = await Promise.all(v.locations.map((l) => snapshotTree(l, ['log'])));
    expect(after).toEqual(before);
    const names = parseJson<FileEntry[]>(await v.run(['ls', '--json'])).map((f) => f.name);
    expect(names).toContain('size-1.bin');
    expect(names).not.toContain('intruder');
  });

  it('no passphrase and no terminal exits 3', async () => {
    expectError(await v.run(['ls'], { env: { SHARDVAULT_PASSPHRASE: undefined } }), 3, /SHARDVAULT_PASSPHRASE/);
    expectError(await v.run(['ls'], { env: { SHARDVAULT_PASSPHRASE: '' } }), 3, /SHARDVAULT_PASSPHRASE/);
  });

  it('log --json shows the denied unlocks', async () => {
    const log = parseJson<AccessRequest[]>(await v.run(['log', '--json']));
    const denied = log.filter((e) => e.action === 'unlock' && e.outcome === 'denied');
    expect(denied.length).toBeGreaterThanOrEqual(1);
    expect(denied[0]!.file).toBeNull();
    expect(denied[0]!.locations.length).toBeGreaterThanOrEqual(3);
  });

  it('rm removes a file: ls no longer shows it, its shards and manifest are gone', async () => {
    const path = nodePath.join(files, 'to-remove.bin');
    await writeRandomFile(path, 2 * SEGMENT);
    const manifestsBefore = new Set(
      (await Promise.all(v.locations.map(listTree))).flat().filter((p) => p.startsWith('manifests/')),
    );
    const added = await newShards(v.locations, async () => {
      expect((await v.run(['put', path])).code).toBe(0);
    });
    expect(added).toHaveLength(5);
    const r = await v.run(['rm', 'to-remove.bin']);
    expect(r.code, r.stderr).toBe(0);
    const names = parseJson<FileEntry[]>(await v.run(['ls', '--json'])).map((f) => f.name);
    expect(names).not.toContain('to-remove.bin');
    const shards = await shardObjects(v.locations);
    for (const s of added) expect(shards.has(s), s).toBe(false);
    const manifestsAfter = new Set(
      (await Promise.all(v.locations.map(listTree))).flat().filter((p) => p.startsWith('manifests/')),
    );
    expect(manifestsAfter).toEqual(manifestsBefore);
    expectError(await v.run(['get', 'to-remove.bin', '--output', nodePath.join(out, 'removed')]), 1, /no file named/);
    expectError(await v.run(['rm', 'to-remove.bin']), 1, /no file named/);
    const log = parseJson<AccessRequest[]>(await v.run(['log', '--json']));
    expect(log.some((e) => e.action === 'rm' && e.file === 'to-remove.bin' && e.outcome === 'ok')).toBe(true);
  });

  it('a profile held by a live process is busy (exit 5); a stale lock is taken over', async () => {
    const lock = nodePath.join(v.home, 'profile.lock');
    await fs.writeFile(lock, `${process.pid}\n`);
    try {
      expectError(await v.run(['ls']), 5, /another Shardvault process/);
      expectError(await v.run(['status']), 5, /another Shardvault process/);
      const j = await v.run(['ls', '--json']);
      expect(j.code).toBe(5);
      expect(parseJson<{ error: { code: string } }>(j).error.code).toBe('busy');
      expect(await fs.readFile(lock, 'utf8')).toBe(`${process.pid}\n`);
    } finally {
      await fs.rm(lock, { force: true });
    }
    // A lock left by a process that is gone.
    const dead = startCli(['--help']);
    const deadPid = dead.pid!;
    await new Promise((resolve) => dead.on('close', resolve));
    await fs.writeFile(lock, `${deadPid}\n`);
    const r = await v.run(['ls']);
    expect(r.code, r.stderr).toBe(0);
    expect(await exists(lock)).toBe(false);
  });

  it('two processes on one profile: a command during a running put exits 5', async () => {
    const lock = nodePath.join(v.home, 'profile.lock');
    const put = startCli(['put', nodePath.join(files, 'big.bin'), '--name', 'big-again.bin'], { env: v.env });
    const putDone = exitOf(put);
    try {
      await waitFor(() => exists(lock));
      put.kill('SIGSTOP'); // hold it mid-put, so the race is not a race
      const r = await v.run(['ls']);
      expectError(r, 5, new RegExp(`pid ${put.pid}`));
    } finally {
      put.kill('SIGCONT');
    }
    expect(await putDone).toBe(0);
    hashes.set('big-again.bin', hashes.get('big.bin')!);
    expect(await getHash('big-again.bin')).toBe(hashes.get('big.bin'));
  });

  it('an interrupted put (Ctrl-C) leaves nothing visible and the name free', async () => {
    const lock = nodePath.join(v.home, 'profile.lock');
    const put = startCli(['put', nodePath.join(files, 'big.bin'), '--name', 'interrupted.bin'], { env: v.env });
    const putDone = exitOf(put);
    await waitFor(() => exists(lock));
    await new Promise((r) => setTimeout(r, 300));
    put.kill('SIGINT');
    expect(await putDone).not.toBe(0);
    const names = parseJson<FileEntry[]>(await v.run(['ls', '--json'])).map((f) => f.name);
    expect(names).not.toContain('interrupted.bin');
    const again = await v.run(['put', nodePath.join(files, 'size-1.bin'), '--name', 'interrupted.bin']);
    expect(again.code, again.stderr).toBe(0);
    expect(await getHash('interrupted.bin')).toBe(hashes.get('size-1.bin'));
    expect((await v.run(['rm', 'interrupted.bin'])).code).toBe(0);
  });

  it('an interrupted get (Ctrl-C) leaves no output and no temp file', async () => {
    const dir = await root.dir('main/out-interrupted');
    const get = startCli(['get', 'big.bin', '--output', nodePath.join(dir, 'big.bin')], { env: v.env });
    const getDone = exitOf(get);
    await waitFor(async () => (await fs.readdir(dir)).length > 0);
    get.kill('SIGINT');
    expect(await getDone).not.toBe(0);
    expect(await fs.readdir(dir)).toEqual([]);
  });

  describe('a fresh profile (another machine)', () => {
    it('opens the vault from exactly t = 3 folders (the others unplugged) and gets the files', async () => {
      const home = nodePath.join(root.path, 'main', 'home-t');
      const env = { SHARDVAULT_HOME: home };
      const plugBack = [await unplug(v.locations[0]!), await unplug(v.locations[2]!)];
      try {
        const given = [v.locations[1]!, v.locations[3]!, v.locations[4]!];
        const r = await v.run(['open', ...locArgs(given), '--json'], { env });
        expect(r.code, r.stderr).toBe(0);
        const body = parseJson<{ vault: Record<string, unknown>; files: number }>(r);
        expect(body.vault).toMatchObject({ data: 3, total: 5, threshold: 3 });
        expect(body.files).toBe(hashes.size);
        for (const name of ['size-0.bin', `size-${SEGMENT - 1}.bin`, 'big.bin', 'dup']) {
          expect(await getHash(name, env)).toBe(hashes.get(name));
        }
      } finally {
        for (const plug of plugBack) await plug();
      }
      const status = parseJson<StatusReport>(await v.run(['status', '--json'], { env }));
      expect(status.locations.map((l) => [l.name, l.reachable])).toEqual(
        ['loc1', 'loc2', 'loc3', 'loc4', 'loc5'].map((n) => [n, true]),
      );
      // The first machine still works after the second one committed.
      const ls = await v.run(['ls', '--json']);
      expect(ls.code, ls.stderr).toBe(0);
    });

    it('fails from t - 1 = 2 folders with exit 4 and attaches nothing', async () => {
      const home = nodePath.join(root.path, 'main', 'home-t-1');
      const plugBack = [await unplug(v.locations[0]!), await unplug(v.locations[2]!), await unplug(v.locations[4]!)];
      try {
        const r = await v.run(['open', ...locArgs([v.locations[1]!, v.locations[3]!])], {
          env: { SHARDVAULT_HOME: home },
        });
        expect(r.code, r.stderr).toBe(4);
        expect(r.stderr).toMatch(/^shardvault: .+/);
      } finally {
        for (const plug of plugBack) await plug();
      }
      expect(await exists(nodePath.join(home, 'profile.json'))).toBe(false);
    });

    it('fails from 2 folders given even when the others exist but are not named', async () => {
      const home = nodePath.join(root.path, 'main', 'home-t-1b');
      const r = await v.run(['open', ...locArgs([v.locations[0]!, v.locations[1]!])], {
        env: { SHARDVAULT_HOME: home },
      });
      expect(r.code, r.stderr).toBe(4);
      expect(await exists(nodePath.join(home, 'profile.json'))).toBe(false);
    });

    it('with a wrong passphrase exits 3 and attaches nothing', async () => {
      const home = nodePath.join(root.path, 'main', 'home-wrong');
      const r = await v.run(['open', ...locArgs(v.locations)], {
        env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: 'nope nope' },
      });
      expectError(r, 3, /wrong passphrase/);
      expect(await exists(nodePath.join(home, 'profile.json'))).toBe(false);
    });
  });
});

function expectLocationShape(l: LocationStatus, reachable: boolean): void {
  expect(Object.keys(l)).toEqual(
    expect.arrayContaining([
      'name',
      'kind',
      'reachable',
      'latencyMs',
      'freeBytes',
      'shards',
      'staged',
      'lastSeen',
      'error',
    ]),
  );
  expect(l.kind).toBe('local');
  expect(l.reachable).toBe(reachable);
  expect(l.lastSeen === null || ISO_UTC.test(l.lastSeen)).toBe(true);
  expect(l.signIn).toBeNull();
  if (reachable) {
    expect(typeof l.latencyMs).toBe('number');
    expect(Number.isInteger(l.freeBytes)).toBe(true);
    expect(Number.isInteger(l.shards)).toBe(true);
    expect(l.error).toBeNull();
  } else {
    expect(l.shards).toBeNull();
    expect(typeof l.error).toBe('string');
  }
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function withoutLog(paths: string[]): string[] {
  return paths.filter((p) => !p.startsWith('log/'));
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('close', (code) => resolve(code)));
}

// ====================================================================== recovery

describe('open --recovery on a new machine', () => {
  let v: TestVault;
  let hash: string;
  const NEW = 'a brand new passphrase';

  beforeAll(async () => {
    v = await makeVault('recovery');
    const path = nodePath.join(await root.dir('recovery/files'), 'doc.bin');
    hash = await writeRandomFile(path, 2 * SEGMENT + 7);
    expect((await v.run(['put', path])).code).toBe(0);
  });

  async function getWith(env: Record<string, string>): Promise<CliResult & { hash: string | null }> {
    const target = nodePath.join(root.path, 'recovery', `out-${randomBytes(4).toString('hex')}`);
    const r = await v.run(['get', 'doc.bin', '--output', target], { env });
    const got = (await exists(target)) ? await sha256File(target) : null;
    return { ...r, hash: got };
  }

  it('refuses a wrong recovery code (exit 3) or none (exit 3)', async () => {
    const home = nodePath.join(root.path, 'recovery', 'home-bad');
    const wrong = await v.run(['open', ...locArgs(v.locations), '--recovery'], {
      env: {
        SHARDVAULT_HOME: home,
        SHARDVAULT_PASSPHRASE: NEW,
        SHARDVAULT_RECOVERY_CODE: 'AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA',
      },
    });
    expectError(wrong, 3, /recovery code/);
    const none = await v.run(['open', ...locArgs(v.locations), '--recovery'], {
      env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: NEW },
    });
    expectError(none, 3, /SHARDVAULT_RECOVERY_CODE/);
    expect(await exists(nodePath.join(home, 'profile.json'))).toBe(false);
  });

  it('refuses a weak new passphrase (exit 2) and writes nothing', async () => {
    const home = nodePath.join(root.path, 'recovery', 'home-weak');
    const r = await v.run(['open', ...locArgs(v.locations), '--recovery'], {
      env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: 'password123', SHARDVAULT_RECOVERY_CODE: v.recoveryCode },
    });
    expectError(r, 2, /too easy to guess.*--weak-passphrase/);
    expect(await exists(nodePath.join(home, 'profile.json'))).toBe(false);
    for (const l of v.locations)
      expect((await listTree(l)).filter((p) => p.startsWith('keys/'))).toEqual(['keys/0000000001']);
  });

  it('with the recovery code and a new passphrase opens the vault; the old passphrase is then refused', async () => {
    const home = nodePath.join(root.path, 'recovery', 'home-new');
    const env = { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: NEW };
    const r = await v.run(['open', ...locArgs(v.locations), '--recovery'], {
      env: { ...env, SHARDVAULT_RECOVERY_CODE: v.recoveryCode },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 file/);

    const got = await getWith(env);
    expect(got.code, got.stderr).toBe(0);
    expect(got.hash).toBe(hash);

    // The old passphrase no longer opens the vault, on either machine.
    const oldHere = await getWith({ SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASSPHRASE });
    expect(oldHere.code, oldHere.stderr).toBe(3);
    expect(oldHere.hash).toBeNull();
    const oldThere = await getWith({ SHARDVAULT_PASSPHRASE: PASSPHRASE });
    expect(oldThere.code, oldThere.stderr).toBe(3);
    expect(oldThere.hash).toBeNull();
    // The new one does, on both.
    const newThere = await getWith({ SHARDVAULT_PASSPHRASE: NEW });
    expect(newThere.code, newThere.stderr).toBe(0);
    expect(newThere.hash).toBe(hash);
    // One generation of key shares remains on each location.
    for (const l of v.locations)
      expect((await listTree(l)).filter((p) => p.startsWith('keys/'))).toEqual(['keys/0000000002']);
  });

  it('takes a weak new passphrase with --weak-passphrase', async () => {
    const home = nodePath.join(root.path, 'recovery', 'home-weak-taken');
    const r = await v.run(['open', ...locArgs(v.locations), '--recovery', '--weak-passphrase'], {
      env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: 'x', SHARDVAULT_RECOVERY_CODE: v.recoveryCode },
    });
    expect(r.code, r.stderr).toBe(0);
    const got = await getWith({ SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: 'x' });
    expect(got.hash).toBe(hash);
  });
});

// ====================================================================== tampering

describe('tampered shards', () => {
  let v: TestVault;
  let files: string;
  const hashes = new Map<string, string>();
  /** file name -> its shard object on loc1..loc5, and which shard index each one holds. */
  const objects = new Map<string, string[]>();
  const shardOn = new Map<string, number[]>();

  beforeAll(async () => {
    v = await makeVault('tamper');
    files = await root.dir('tamper/files');
    for (const [name, size] of [
      ['one.bin', 5 * SEGMENT + 999],
      ['two.bin', 2 * SEGMENT + 3],
    ] as const) {
      const path = nodePath.join(files, name);
      hashes.set(name, await writeRandomFile(path, size));
      const added = await newShards(v.locations, async () => {
        expect((await v.run(['put', path])).code).toBe(0);
      });
      const byLocation = v.locations.map((l) => added.filter((p) => p.startsWith(`${l}${nodePath.sep}`)));
      expect(byLocation.map((a) => a.length)).toEqual([1, 1, 1, 1, 1]);
      objects.set(
        name,
        byLocation.map((a) => a[0]!),
      );
    }
    for (const name of ['one.bin', 'two.bin']) {
      // One shard per location; which one is where depends on the file (placement rotates).
      const placement = parseJson<PlacementReport>(await v.run(['placement', name, '--json']));
      expect(placement.shards.map((s) => s.locations.length)).toEqual([1, 1, 1, 1, 1]);
      const names = placement.shards.map((s) => s.locations[0]!.name);
      expect([...names].sort()).toEqual(['loc1', 'loc2', 'loc3', 'loc4', 'loc5']);
      shardOn.set(
        name,
        v.locations.map((_, i) => names.indexOf(`loc${i + 1}`)),
      );
    }
  });

  async function get(name: string): Promise<CliResult & { dir: string; hash: string | null }> {
    const dir = await root.dir(`tamper/out-${randomBytes(4).toString('hex')}`);
    const target = nodePath.join(dir, name);
    const r = await v.run(['get', name, '--output', target]);
    return { ...r, dir, hash: (await exists(target)) ? await sha256File(target) : null };
  }

  it('one flipped byte in one shard: get still returns the right bytes; verify --deep finds it (exit 6)', async () => {
    const shard = objects.get('one.bin')![0]!;
    const size = (await fs.stat(shard)).size;
    await flipByte(shard, Math.floor(size / 2));

    const got = await get('one.bin');
    expect(got.code, got.stderr).toBe(0);
    expect(got.hash).toBe(hashes.get('one.bin'));

    const quick = await v.run(['verify', '--json']);
    expect([0, 6]).toContain(quick.code); // same size: a quick verify need not see it

    const deep = await v.run(['verify', '--deep', '--json']);
    expect(deep.code).toBe(6);
    const report = parseJson<VerifyReport>(deep);
    expect(report.ok).toBe(false);
    const index = shardOn.get('one.bin')![0]!;
    expect(report.problems).toContainEqual({ file: 'one.bin', shard: index, location: 'loc1', kind: 'corrupt' });
    expect(report.problems.filter((p) => p.file === 'two.bin')).toEqual([]);
    expect(report.files.find((f) => f.name === 'one.bin')).toEqual({
      name: 'one.bin',
      health: 'degraded',
      survives: 1,
    });
    expect(report.files.find((f) => f.name === 'two.bin')).toEqual({ name: 'two.bin', health: 'healthy', survives: 2 });

    const human = await v.run(['verify', '--deep']);
    expect(human.code).toBe(6);
    expect(human.stdout).toMatch(new RegExp(`one\\.bin shard ${index} on loc1: corrupt`));
  });

  it('flipped bytes in three of five shards (k = 3): get fails and leaves no output', async () => {
    for (const shard of objects.get('one.bin')!.slice(1, 3)) {
      await flipByte(shard, 200);
    }
    const got = await get('one.bin');
    expect(got.code).not.toBe(0);
    expect(got.stderr).toMatch(/^shardvault: .+/);
    expect(got.hash).toBeNull();
    expect(await fs.readdir(got.dir)).toEqual([]);
    // The other file is untouched.
    const two = await get('two.bin');
    expect(two.code, two.stderr).toBe(0);
    expect(two.hash).toBe(hashes.get('two.bin'));
  });

  it('a truncated shard: quick verify reports it corrupt (exit 6); get still works', async () => {
    const shard = objects.get('two.bin')![3]!;
    const size = (await fs.stat(shard)).size;
    await fs.truncate(shard, size - 10);
    const r = await v.run(['verify', '--json']);
    expect(r.code).toBe(6);
    const report = parseJson<VerifyReport>(r);
    expect(report.ok).toBe(false);
    const index = shardOn.get('two.bin')![3]!;
    expect(report.problems).toContainEqual({ file: 'two.bin', shard: index, location: 'loc4', kind: 'corrupt' });
    const human = await v.run(['verify']);
    expect(human.code).toBe(6);
    expect(human.stdout).toMatch(new RegExp(`two\\.bin shard ${index} on loc4: corrupt`));
    const placement = parseJson<PlacementReport>(await v.run(['placement', 'two.bin', '--json']));
    expect(placement.shards[index]!.locations).toEqual([{ name: 'loc4', state: 'corrupt' }]);
    const two = await get('two.bin');
    expect(two.code, two.stderr).toBe(0);
    expect(two.hash).toBe(hashes.get('two.bin'));
  });

  it('a corrupt manifest copy: get still works; verify --deep reports it (exit 6)', async () => {
    const path = nodePath.join(files, 'three.bin');
    const hash = await writeRandomFile(path, 4321);
    const manifests = async (): Promise<string[]> =>
      (await listTree(v.locations[0]!)).filter((p) => p.startsWith('manifests/'));
    const before = new Set(await manifests());
    expect((await v.run(['put', path])).code).toBe(0);
    const added = (await manifests()).filter((p) => !before.has(p));
    expect(added).toHaveLength(1);
    await flipByte(nodePath.join(v.locations[0]!, added[0]!), 100);
    const got = await get('three.bin');
    expect(got.code, got.stderr).toBe(0);
    expect(got.hash).toBe(hash);
    const deep = await v.run(['verify', '--deep', '--json']);
    expect(deep.code).toBe(6);
    expect(parseJson<VerifyReport>(deep).problems).toContainEqual({
      file: 'three.bin',
      shard: null,
      location: 'loc1',
      kind: 'manifest',
    });
  });

  it('a missing shard: verify reports it missing (exit 6)', async () => {
    await fs.rm(objects.get('two.bin')![4]!);
    const r = await v.run(['verify', '--json']);
    expect(r.code).toBe(6);
    expect(parseJson<VerifyReport>(r).problems).toContainEqual({
      file: 'two.bin',
      shard: shardOn.get('two.bin')![4]!,
      location: 'loc5',
      kind: 'missing',
    });
  });
});

// ====================================================================== rollback

describe('a rolled-back vault head', () => {
  it('restoring an old head on every location is refused with a rollback error (exit 1)', async () => {
    const v = await makeVault('rollback');
    const files = await root.dir('rollback/files');
    const first = nodePath.join(files, 'first.bin');
    const second = nodePath.join(files, 'second.bin');
    await writeRandomFile(first, 1000);
    await writeRandomFile(second, 2000);
    expect((await v.run(['put', first])).code).toBe(0);
    const oldHead = await fs.readFile(nodePath.join(v.locations[0]!, 'head'));
    expect((await v.run(['put', second])).code).toBe(0);
    // Only the shared head rolled back: each device's own copy still holds the newest state.
    for (const l of v.locations) await fs.writeFile(nodePath.join(l, 'head'), oldHead);
    const both = await v.run(['ls']);
    expect(both.code, both.stderr).toBe(0);
    expect(both.stdout).toMatch(/second\.bin/);
    // Every head rolled back, the devices' copies too: refused.
    for (const l of v.locations) {
      await fs.writeFile(nodePath.join(l, 'head'), oldHead);
      for (const copy of await fs.readdir(nodePath.join(l, 'heads'))) {
        await fs.writeFile(nodePath.join(l, 'heads', copy), oldHead);
      }
    }

    const ls = await v.run(['ls']);
    expectError(ls, 1, /older/);
    expect(ls.stdout).not.toMatch(/first\.bin/);
    const j = await v.run(['ls', '--json']);
    expect(j.code).toBe(1);
    expect(parseJson(j)).toEqual({ error: { code: 'rollback', message: expect.stringMatching(/older/) as unknown } });
    const out = await root.dir('rollback/out');
    expectError(await v.run(['get', 'first.bin', '--output', nodePath.join(out, 'f')]), 1, /older/);
    expect(await fs.readdir(out)).toEqual([]);
  });
});

// ====================================================================== location edit

describe('location edit', () => {
  it('renames a location and moves it to the new place of its folder; refuses one without its data', async () => {
    const v = await makeVault('edit');
    const renamed = await v.run(['location', 'edit', 'loc1', '--name', 'usb', '--json']);
    expect(renamed.code, renamed.stderr).toBe(0);
    expect(parseJson(renamed)).toMatchObject({ name: 'usb', kind: 'local' });
    const moved = `${v.locations[0]!}.moved`;
    await fs.rename(v.locations[0]!, moved);
    const empty = await root.dir('edit/empty');
    expectError(await v.run(['location', 'edit', 'usb', empty]), 2, /holds no Shardvault location/);
    const edited = await v.run(['location', 'edit', 'usb', moved, '--json']);
    expect(edited.code, edited.stderr).toBe(0);
    const list = parseJson<Array<{ name: string; display: string }>>(await v.run(['location', 'list', '--json']));
    expect(list.find((l) => l.name === 'usb')?.display).toBe(moved);
    expect((await v.run(['verify'])).code).toBe(0);
    expectError(await v.run(['location', 'edit', 'usb']), 2, /usage/);
  });
});

// ====================================================================== credentials

describe('a WebDAV password over plain http, and passwords in errors', () => {
  const PW = 'pl41n-t3xt-pw';
  const remote = (host: string, pw = PW): string => `webdav+http://alice:${pw}@${host}/dav#dav`;

  /** init over two folders and one WebDAV SPEC, in a fresh profile. */
  async function initWith(name: string, spec: string, flags: string[] = []): Promise<CliResult> {
    const home = nodePath.join(root.path, name, 'home');
    const folders = await root.locations(name, 2);
    return runCli(
      [
        'init',
        ...locArgs([...folders, spec]),
        '--survive',
        '1',
        '--secret-against',
        '1',
        '--insecure-kdf-cost',
        '10',
        ...flags,
      ],
      { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASSPHRASE } },
    );
  }

  it('init refuses a password over http:// to another machine (exit 2), naming the flag, not the password', async () => {
    const r = await initWith('http-refused', remote('dav.example.test'));
    expectError(r, 2, /in the clear \(plain http:\/\/\).*--allow-insecure-http/);
    expect(r.stderr + r.stdout).not.toContain(PW);
    expect(await exists(nodePath.join(root.path, 'http-refused', 'home', 'profile.json'))).toBe(false);
  });

  it('init goes on to reach it with --allow-insecure-http, and to 127.0.0.1 without (unreachable here: exit 4)', async () => {
    for (const [name, spec, flags] of [
      ['http-allowed', remote('dav.example.test'), ['--allow-insecure-http']],
      ['http-loopback', remote('127.0.0.1:9'), []],
      ['http-localhost', remote('localhost:9'), []],
    ] as const) {
      const r = await initWith(name, spec, [...flags]);
      expectError(r, 4, /every location must be reachable/);
      expect(r.stderr + r.stdout, name).not.toContain(PW);
    }
  });

  it('location add refuses it too, and takes it with the flag', async () => {
    const v = await makeVault('http-add', { count: 3, policy: ['--survive', '1', '--secret-against', '1'] });
    const refused = await v.run(['location', 'add', remote('dav.example.test')]);
    expectError(refused, 2, /--allow-insecure-http/);
    expect(refused.stderr).not.toContain(PW);
    const allowed = await v.run(['location', 'add', remote('dav.example.test'), '--allow-insecure-http']);
    expect(allowed.code).not.toBe(2);
    expect(allowed.stderr).toMatch(/not reachable/);
    expect(allowed.stderr).not.toContain(PW);
  });

  it.each([
    ['a "/"', 'pa/ss-w0rd-xyz'],
    ['a "#"', 'pa#ss-w0rd-xyz'],
    ['a "?"', 'pa?ss-w0rd-xyz'],
    ['an "@" and a "/"', 'p@ss/w0rd-xyz'],
    ['a space', 'pa ss-w0rd-xyz'],
    ['a "%"', 'pa%zzss-w0rd-xyz'],
  ])('a SPEC whose password holds %s is refused without a piece of it, in words and in --json', async (_, pw) => {
    for (const json of [[], ['--json']]) {
      const name = `http-bad-${randomBytes(3).toString('hex')}`;
      const r = await initWith(name, `webdav+https://alice:${pw}@dav.example.test/dav#x`, json);
      expect(r.code).toBe(2);
      const said = r.stdout + r.stderr;
      for (const piece of [pw, encodeURIComponent(pw), 'w0rd-xyz']) expect(said).not.toContain(piece);
    }
  });
});

// ====================================================================== sensitivity

describe('put --survive: a file more sensitive than the vault', () => {
  it('takes more parity and reads with more locations gone; asking for less, or for the impossible, is refused', async () => {
    // n = 5, k = 3 (survive 2), t = 2: after losing 3 locations the vault still unlocks.
    const v = await makeVault('sensitive', { policy: ['--survive', '2', '--secret-against', '1'] });
    const files = await root.dir('sensitive/files');
    const critical = nodePath.join(files, 'seed-phrase.txt');
    const plain = nodePath.join(files, 'receipts.pdf');
    const hash = await writeRandomFile(critical, 50_000);
    await writeRandomFile(plain, 50_000);
    const stored = await v.run(['put', critical, '--survive', '3', '--json']);
    expect(stored.code, stored.stderr).toBe(0);
    expect(parseJson(stored)).toMatchObject({ survives: 3, health: 'healthy' });
    expect((await v.run(['put', plain])).code).toBe(0);
    expectError(await v.run(['put', plain, '--name', 'less', '--survive', '1']), 2, /can ask for more, not fewer/);
    expectError(await v.run(['put', plain, '--name', 'more', '--survive', '5']), 2, /at most 4/);
    expectError(await v.run(['put', plain, '--name', 'word', '--survive', 'two']), 2, /whole number/);

    for (const l of v.locations.slice(0, 3)) await fs.rename(l, `${l}.unplugged`);
    try {
      const out = nodePath.join(await root.dir('sensitive/out'), 'seed-phrase.txt');
      const got = await v.run(['get', 'seed-phrase.txt', '--output', out]);
      expect(got.code, got.stderr).toBe(0);
      expect(await sha256File(out)).toBe(hash);
      expect((await v.run(['get', 'receipts.pdf', '--output', `${out}.2`])).code).toBe(4);
    } finally {
      for (const l of v.locations.slice(0, 3)) await fs.rename(`${l}.unplugged`, l);
    }
  });
});
