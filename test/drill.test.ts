/**
 * The recovery drill (issue 14) end to end: the built `shardvault drill` over real folders.
 * Its answer is checked against what really happens when the locations are taken away, and
 * the locations are compared file by file (listing, sizes, mtimes) before and after: a drill
 * adds access-log entries and nothing else.
 */
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillReport, PlacementReport } from '../src/shared/api';
import { drillWords } from '../src/shared/words';
import { startSshd, type SshdServer } from './servers/sshd';
import {
  ensureBuilt,
  listTree,
  parseJson,
  runCli,
  sha256File,
  TempRoot,
  unplug,
  writeRandomFile,
  type CliResult,
} from './helpers/cli';

const PASSPHRASE = 'drill test passphrase, long enough';

let root: TempRoot;

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-drill-test-');
});

afterAll(async () => {
  await root?.cleanup();
});

interface DrillVault {
  readonly dirs: Record<string, string>;
  readonly tmp: string;
  run(args: readonly string[]): Promise<CliResult>;
}

/** A vault over folders named `names`, its profile and its own TMPDIR under root/<label>. */
async function makeVault(
  label: string,
  names: readonly string[],
  policy: readonly string[],
  specs: Readonly<Record<string, string>> = {},
): Promise<DrillVault> {
  const base = await root.dir(label);
  const home = nodePath.join(base, 'home');
  const tmp = await root.dir(nodePath.join(label, 'tmp'));
  const dirs: Record<string, string> = {};
  for (const n of names) dirs[n] = await root.dir(`${label}/${n}`);
  const env = { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASSPHRASE, TMPDIR: tmp };
  const run = (args: readonly string[]): Promise<CliResult> => runCli(args, { env, timeoutMs: 120_000 });
  const init = await run([
    'init',
    ...names.flatMap((n) => ['--location', `${specs[n] ?? dirs[n]}#${n}`]),
    ...policy,
    '--insecure-kdf-cost',
    '10',
    '--segment-size',
    '65536',
  ]);
  expect(init.code, init.stderr).toBe(0);
  return { dirs, tmp, run };
}

/** Every file under each location: its size and mtime (what a write, even of the same bytes, changes). */
async function snapshot(dirs: Record<string, string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [name, dir] of Object.entries(dirs)) {
    for (const rel of await listTree(dir)) {
      const st = await fs.stat(nodePath.join(dir, rel));
      out.set(`${name}/${rel}`, `${st.size} ${st.mtimeMs}`);
    }
  }
  return out;
}

/** What changed between two snapshots: every file changed or gone, and every file added. */
function changes(before: Map<string, string>, after: Map<string, string>): { changed: string[]; added: string[] } {
  const changed = [...before].filter(([path, stamp]) => after.get(path) !== stamp).map(([path]) => path);
  const added = [...after.keys()].filter((path) => !before.has(path));
  return { changed, added };
}

/** A log entry of one device's chain (FORMAT.md): the only kind of object a drill may add. */
const LOG_ENTRY = /^[a-z]+\/log\/[0-9a-f]{32}\/\d{12}$/;

async function drillJson(v: DrillVault, args: readonly string[]): Promise<{ code: number; report: DrillReport }> {
  const r = await v.run(['drill', ...args, '--json']);
  return { code: r.code, report: parseJson<DrillReport>(r) };
}

describe('drillWords', () => {
  const unlock = { shares: 1, threshold: 2, heads: 1, unlocks: false };
  it('names the lost files up to maxNames, then counts the rest, and keeps the unlock verdict', () => {
    const report = { lost: ['usb', 'nas', 'cloud'], lostFiles: ['a', 'b', 'c'], unlock };
    expect(drillWords(report)).toBe(
      'If usb, nas and cloud were gone: 3 files would be lost: a, b, c; the vault would not unlock: 1 of the 2 key shares it needs would be left',
    );
    expect(drillWords(report, 1)).toContain('3 files would be lost: a, and 2 more; the vault would not unlock');
    expect(drillWords(report, 0)).toContain('3 files would be lost; the vault would not unlock');
    expect(drillWords({ lost: [], lostFiles: [], unlock: { ...unlock, shares: 2, unlocks: true } })).toBe(
      'With every location there: every file still reads, the vault still unlocks',
    );
  });
});

describe('drill over a 2-of-3 vault', () => {
  let v: DrillVault;
  const sums = new Map<string, string>();

  beforeAll(async () => {
    v = await makeVault('three', ['usb', 'nas', 'cloud'], ['--survive', '1', '--secret-against', '1']);
    const src = await root.dir('three/src');
    for (const [name, size] of [
      ['small.txt', 1000],
      ['big.bin', 300_000],
    ] as const) {
      sums.set(name, await writeRandomFile(nodePath.join(src, name), size));
      const put = await v.run(['put', nodePath.join(src, name)]);
      expect(put.code, put.stderr).toBe(0);
    }
    // One file asks to survive 2 losses (k = 1: a whole copy on every location).
    sums.set('precious.txt', await writeRandomFile(nodePath.join(src, 'precious.txt'), 5000));
    const put = await v.run(['put', nodePath.join(src, 'precious.txt'), '--survive', '2']);
    expect(put.code, put.stderr).toBe(0);
  }, 120_000);

  it('losing one location loses nothing: exit 0, in plain words, and nothing on the locations changes but the log', async () => {
    const before = await snapshot(v.dirs);
    const human = await v.run(['drill', '--lose', 'usb']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('If usb were gone: every file still reads, the vault still unlocks');
    const { code, report } = await drillJson(v, ['--lose', 'nas']);
    expect(code).toBe(0);
    expect(report).toMatchObject({ lost: ['nas'], unreachable: [], lostFiles: [], ok: true, open: null });
    expect(report.unlock).toEqual({ shares: 2, threshold: 2, heads: 2, unlocks: true });
    expect(Object.fromEntries(report.files.map((f) => [f.name, f.survives]))).toEqual({
      'small.txt': 0,
      'big.bin': 0,
      'precious.txt': 1,
    });
    const { changed, added } = changes(before, await snapshot(v.dirs));
    expect(changed).toEqual([]);
    // Each run: its unlock and its drill entry, on each of the 3 locations.
    expect(added.length).toBe(2 * 2 * 3);
    expect(added.filter((p) => !LOG_ENTRY.test(p))).toEqual([]);
  });

  it('losing two: exit 6, the files that would be lost listed, and the vault would not unlock', async () => {
    const human = await v.run(['drill', '--lose', 'usb,cloud']);
    expect(human.code).toBe(6);
    expect(human.stdout).toMatch(
      /If usb and cloud were gone: 2 files would be lost: (small\.txt, big\.bin|big\.bin, small\.txt)/,
    );
    expect(human.stdout).toContain('the vault would not unlock: 1 of the 2 key shares it needs would be left');
    const { code, report } = await drillJson(v, ['--lose', 'usb', '--lose', 'cloud']);
    expect(code).toBe(6);
    expect([...report.lostFiles].sort()).toEqual(['big.bin', 'small.txt']);
    expect(report.files.find((f) => f.name === 'precious.txt')).toEqual({
      name: 'precious.txt',
      health: 'degraded',
      survives: 0,
    });
    expect(report.unlock).toMatchObject({ shares: 1, threshold: 2, unlocks: false });
    expect(report.ok).toBe(false);
  });

  it('an unknown location name is a usage error (exit 2) naming it', async () => {
    const r = await v.run(['drill', '--lose', 'usb,floppy']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no location named floppy.*usb, nas, cloud/);
  });

  it('--open opens afresh from the rest and reads every file back, leaving no temp folder and no change', async () => {
    const before = await snapshot(v.dirs);
    const { code, report } = await drillJson(v, ['--lose', 'cloud', '--open']);
    expect(code).toBe(0);
    expect(report.open).toEqual({ opened: true, read: 3, tried: 3, problems: [] });
    expect(await fs.readdir(v.tmp)).toEqual([]);
    const { changed, added } = changes(before, await snapshot(v.dirs));
    expect(changed).toEqual([]);
    // Only this profile's unlock and drill entries: the fresh open's own head, log entries
    // and reads stayed in memory.
    expect(added.length).toBe(2 * 3);
    expect(added.filter((p) => !LOG_ENTRY.test(p))).toEqual([]);
  });

  it('--open from too few locations really fails to open, as the answer says', async () => {
    const { code, report } = await drillJson(v, ['--lose', 'cloud,nas', '--open']);
    expect(code).toBe(6);
    expect(report.unlock.unlocks).toBe(false);
    expect(report.open?.opened).toBe(false);
    expect(report.open?.problems.join(' ')).toMatch(/key share|unlock|locations/i);
    expect(await fs.readdir(v.tmp)).toEqual([]);
  });

  it('the answer for one location matches taking it away: an unplugged one counts lost, and every file reads', async () => {
    const plugBack = await unplug(v.dirs['usb']!);
    try {
      const { code, report } = await drillJson(v, []);
      expect(code).toBe(0);
      expect(report).toMatchObject({ lost: ['usb'], unreachable: ['usb'], lostFiles: [], ok: true });
      const both = await drillJson(v, ['--lose', 'nas']);
      expect(both.code).toBe(6);
      expect(both.report.lost).toEqual(['usb', 'nas']);
      const out = await root.dir('three/out');
      for (const [name, sum] of sums) {
        const get = await v.run(['get', name, '--output', nodePath.join(out, name)]);
        expect(get.code, get.stderr).toBe(0);
        expect(await sha256File(nodePath.join(out, name))).toBe(sum);
      }
    } finally {
      await plugBack();
    }
  });
});

describe('drill with a location away when a file was stored (staged copies)', () => {
  let v: DrillVault;
  const names = ['usb', 'nas', 'cloud', 'disk'];
  let holder = '';
  let other = '';
  let plugBack: (() => Promise<void>) | null = null;

  beforeAll(async () => {
    // 3 of 4, unlock needs 2.
    v = await makeVault('away', names, ['--data', '3', '--total', '4', '--threshold', '2']);
    const src = await root.dir('away/src');
    await writeRandomFile(nodePath.join(src, 'before.bin'), 200_000);
    await writeRandomFile(nodePath.join(src, 'while-away.bin'), 200_000);
    expect((await v.run(['put', nodePath.join(src, 'before.bin')])).code).toBe(0);
    plugBack = await unplug(v.dirs['usb']!);
    const put = await v.run(['put', nodePath.join(src, 'while-away.bin')]);
    expect(put.code, put.stderr).toBe(0);
    const placed = parseJson<PlacementReport>(await v.run(['placement', 'while-away.bin', '--json']));
    holder = placed.shards.flatMap((s) => s.locations).find((l) => l.stagedFor === 'usb')!.name;
    other = names.find((n) => n !== 'usb' && n !== holder)!;
  }, 120_000);

  afterAll(async () => {
    await plugBack?.();
  });

  it('counts the staged copy where it is: losing another location, the file stored while usb was away still reads', async () => {
    const { code, report } = await drillJson(v, ['--lose', other]);
    expect(code).toBe(6);
    expect(report.lost).toEqual(['usb', other]);
    expect(report.unreachable).toEqual(['usb']);
    expect(report.lostFiles).toEqual(['before.bin']);
    expect(report.files.find((f) => f.name === 'while-away.bin')?.health).not.toBe('lost');
    expect(report.unlock.unlocks).toBe(true);
    // Losing the location that holds the staged copy instead loses both.
    const worse = await drillJson(v, ['--lose', holder]);
    expect([...worse.report.lostFiles].sort()).toEqual(['before.bin', 'while-away.bin']);
  });

  it('for every set of one or two locations, says exactly which files a get can still read once they are really gone', async () => {
    // usb back: the copy staged for it stays where it is (reads never move it), so every set
    // of locations tests the count of own and staged copies.
    await plugBack?.();
    plugBack = null;
    const out = await root.dir('away/every');
    // Sets of one and two (with three gone, one location is left and t = 2: nothing reads).
    const subsets = Array.from({ length: 1 << names.length }, (_, bits) =>
      names.filter((_, i) => bits & (1 << i)),
    ).filter((set) => set.length === 1 || set.length === 2);
    for (const lose of subsets) {
      const { report } = await drillJson(v, lose.length === 0 ? [] : ['--lose', lose.join(',')]);
      const said = report.files
        .filter((f) => f.health !== 'lost' && report.unlock.unlocks)
        .map((f) => f.name)
        .sort();
      const replug = [];
      for (const n of lose) replug.push(await unplug(v.dirs[n]!));
      const read: string[] = [];
      try {
        for (const name of ['before.bin', 'while-away.bin']) {
          const get = await v.run(['get', name, '--output', nodePath.join(out, name), '--force']);
          if (get.code === 0) read.push(name);
        }
      } finally {
        for (const back of replug) await back();
      }
      expect({ lose, read: read.sort() }).toEqual({ lose, read: said });
    }
  }, 240_000);

  it('matches what happens when that location really goes: one file reads, the other does not', async () => {
    plugBack = await unplug(v.dirs['usb']!);
    const gone = await unplug(v.dirs[other]!);
    try {
      const out = await root.dir('away/out');
      const read = await v.run(['get', 'while-away.bin', '--output', nodePath.join(out, 'while-away.bin')]);
      expect(read.code, read.stderr).toBe(0);
      const lost = await v.run(['get', 'before.bin', '--output', nodePath.join(out, 'before.bin')]);
      expect(lost.code).not.toBe(0);
      const { report } = await drillJson(v, ['--open']);
      expect(report.open).toMatchObject({ opened: true, read: 1, tried: 2 });
      expect(report.open?.problems).toEqual([expect.stringMatching(/^before\.bin: /)]);
    } finally {
      await gone();
    }
  });
});

describe('drill over two folders and an OpenSSH server', () => {
  let sshd: SshdServer | null = null;
  let v: DrillVault;
  let skipped: string | null = null;

  beforeAll(async () => {
    try {
      sshd = await startSshd(); // says which Debian package is missing, if one is
    } catch (error) {
      // CI installs OpenSSH first: there, a missing part is a failure, not a reason to skip.
      if (process.env['CI']) throw error;
      skipped = error instanceof Error ? error.message : String(error);
      console.log(`drill over SFTP skipped: ${skipped}`);
      return;
    }
    const vps = `sftp://${sshd.user}@${sshd.host}:${sshd.port}${sshd.dataDir}?identity=${sshd.keyPath}&fingerprint=${sshd.fingerprint}`;
    v = await makeVault('sftp', ['usb', 'vps', 'nas'], ['--survive', '1', '--secret-against', '1'], { vps });
    const src = await root.dir('sftp/src');
    await writeRandomFile(nodePath.join(src, 'ledger.bin'), 150_000);
    const put = await v.run(['put', nodePath.join(src, 'ledger.bin')]);
    expect(put.code, put.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await sshd?.stop();
  });

  it("opens afresh through the server with this profile's connection, and changes nothing there", async (context) => {
    if (skipped !== null) context.skip();
    const dirs = { ...v.dirs, vps: sshd!.dataDir };
    const before = await snapshot(dirs);
    const { code, report } = await drillJson(v, ['--lose', 'usb', '--open']);
    expect(code).toBe(0);
    expect(report.open).toEqual({ opened: true, read: 1, tried: 1, problems: [] });
    const { changed, added } = changes(before, await snapshot(dirs));
    expect(changed).toEqual([]);
    expect(added.filter((p) => !LOG_ENTRY.test(p))).toEqual([]);
  });

  it('a server that is down counts as gone', async (context) => {
    if (skipped !== null) context.skip();
    await sshd!.kill();
    const { code, report } = await drillJson(v, []);
    expect(code).toBe(0);
    expect(report).toMatchObject({ lost: ['vps'], unreachable: ['vps'], lostFiles: [], ok: true });
    const worse = await drillJson(v, ['--lose', 'nas']);
    expect(worse.code).toBe(6);
    expect(worse.report.lostFiles).toEqual(['ledger.bin']);
  });
});
