/**
 * Ready for the field (issue 10), through the built CLI over real folders: a vault takes new
 * files while one of its locations is away (a USB disk in a drawer) and makes them whole when
 * it is back; what get and a deep check find damaged is remembered until a plain repair
 * rebuilds it; the access log's word for entries no head vouches for is explained.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileEntry, StatusReport, VerifyReport } from '../src/shared/api';
import { UNANCHORED } from '../src/shared/words';
import {
  ensureBuilt,
  flipByte,
  listTree,
  parseJson,
  runCli,
  sha256File,
  TempRoot,
  unplug,
  writeRandomFile,
  type CliResult,
} from './helpers/cli';

const PASSPHRASE = 'field test passphrase';
const SEGMENT = 65536;
/** The bytes before a shard's first frame; byte 41 of them is the shard's index. */
const SHARD_HEADER = 49;

let root: TempRoot;

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-field-');
});

afterAll(async () => {
  await root?.cleanup();
});

interface FieldVault {
  readonly folders: Record<string, string>;
  run(args: readonly string[], env?: Record<string, string | undefined>): Promise<CliResult>;
  /** Writes `size` random bytes to a source file and stores it; returns the result and the file's hash. */
  put(name: string, size: number, extra?: string[]): Promise<CliResult & { hash: string }>;
  /** Gets a file and returns its hash (the run must succeed). */
  hashOf(name: string): Promise<string>;
  ls(): Promise<Map<string, FileEntry>>;
  status(): Promise<StatusReport>;
}

async function fieldVault(name: string, locations: readonly string[], policy: readonly string[]): Promise<FieldVault> {
  const base = await root.dir(name);
  const folders: Record<string, string> = {};
  for (const l of locations) folders[l] = await root.dir(nodePath.join(name, l));
  const env = { SHARDVAULT_HOME: nodePath.join(base, 'home'), SHARDVAULT_PASSPHRASE: PASSPHRASE };
  const run: FieldVault['run'] = (args, extra = {}) => runCli(args, { env: { ...env, ...extra } });
  const init = await run([
    'init',
    ...locations.flatMap((l) => ['--location', `${folders[l]}#${l}`]),
    ...policy,
    '--insecure-kdf-cost',
    '10',
    '--segment-size',
    String(SEGMENT),
  ]);
  expect(init.code, init.stderr).toBe(0);
  const files = await root.dir(nodePath.join(name, 'files'));
  return {
    folders,
    run,
    async put(file, size, extra = []) {
      const path = nodePath.join(files, file);
      const hash = await writeRandomFile(path, size);
      return { ...(await run(['put', path, ...extra])), hash };
    },
    async hashOf(file) {
      const target = nodePath.join(files, `out-${randomBytes(4).toString('hex')}`);
      const r = await run(['get', file, '--output', target]);
      expect(r.code, r.stderr).toBe(0);
      const hash = await sha256File(target);
      await fs.rm(target);
      return hash;
    },
    async ls() {
      const r = await run(['ls', '--json']);
      expect(r.code, r.stderr).toBe(0);
      return new Map(parseJson<FileEntry[]>(r).map((f) => [f.name, f]));
    },
    async status() {
      const r = await run(['status', '--json']);
      expect(r.code, r.stderr).toBe(0);
      return parseJson<StatusReport>(r);
    },
  };
}

/** Every object path under `dir` (relative), in the given top-level folder. */
async function objectsIn(folder: string, dir: string): Promise<string[]> {
  return (await listTree(folder).catch(() => [] as string[])).filter((p) => p.startsWith(`${dir}/`));
}

async function staged(v: FieldVault): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const [name, folder] of Object.entries(v.folders)) out.set(name, await objectsIn(folder, 'staged'));
  return out;
}

async function stagedCount(v: FieldVault): Promise<number> {
  return [...(await staged(v)).values()].reduce((n, list) => n + list.length, 0);
}

// ====================================================================== away locations

describe('a vault over usb, nas and cloud (2 of 3) with usb away', () => {
  let v: FieldVault;
  const hashes = new Map<string, string>();

  beforeAll(async () => {
    v = await fieldVault('away', ['usb', 'nas', 'cloud'], ['--survive', '1', '--secret-against', '1']);
    const first = await v.put('before.bin', 3 * SEGMENT + 17);
    expect(first.code, first.stderr).toBe(0);
    hashes.set('before.bin', first.hash);
  });

  it('takes a new file with usb unplugged, and says what that costs', async () => {
    const plugBack = await unplug(v.folders['usb']!);
    try {
      const r = await v.put('while-away.bin', 5 * SEGMENT + 3, ['--json']);
      expect(r.code, r.stderr).toBe(0);
      hashes.set('while-away.bin', r.hash);
      expect(r.stderr).toMatch(/warning: .*while-away\.bin survives no more losses until usb returns/);
      expect(parseJson<FileEntry>(r)).toMatchObject({ health: 'degraded', survives: 0, awaiting: ['usb'] });
      // The shard meant for usb waits, still sealed, on one of the others.
      expect(await stagedCount(v)).toBe(1);

      const ls = await v.ls();
      expect(ls.get('while-away.bin')).toMatchObject({ health: 'degraded', survives: 0, awaiting: ['usb'] });
      expect(ls.get('before.bin')).toMatchObject({ health: 'degraded', survives: 0, awaiting: ['usb'] });
      const human = await v.run(['ls']);
      expect(human.stdout).toMatch(/while-away\.bin .*degraded .*0 until usb returns/);

      const status = await v.status();
      expect(status.locations.find((l) => l.name === 'usb')).toMatchObject({ reachable: false, staged: 1 });
      expect((await v.run(['status'])).stdout).toMatch(/usb: 1 shard copy waits for it on the other locations/);

      // Read with usb still gone, and the other location's own shard gone too: the staged copy is read.
      const host = [...(await staged(v)).entries()].find(([, list]) => list.length > 0)![0];
      const other = ['nas', 'cloud'].find((n) => n !== host)!;
      const own = (await objectsIn(v.folders[other]!, 'shards')).map((p) => nodePath.join(v.folders[other]!, p));
      const saved = await Promise.all(own.map(async (p) => [p, await fs.readFile(p)] as const));
      for (const [p] of saved) await fs.rm(p);
      try {
        expect(await v.hashOf('while-away.bin')).toBe(hashes.get('while-away.bin'));
      } finally {
        for (const [p, bytes] of saved) await fs.writeFile(p, bytes);
      }
    } finally {
      await plugBack();
    }
  });

  it('ls with usb back writes nothing: the file stays degraded until a writing command', async () => {
    const before = await objectsIn(v.folders['usb']!, 'shards');
    const ls = await v.ls();
    expect(ls.get('while-away.bin')).toMatchObject({ health: 'degraded', awaiting: [] });
    expect(await objectsIn(v.folders['usb']!, 'shards')).toEqual(before);
    expect(await stagedCount(v)).toBe(1);
  });

  it('the next put completes it: every file healthy, nothing staged, verify --deep clean', async () => {
    const r = await v.put('after.bin', 2 * SEGMENT);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
    hashes.set('after.bin', r.hash);
    expect(await stagedCount(v)).toBe(0);
    for (const f of (await v.ls()).values()) expect(f, f.name).toMatchObject({ health: 'healthy', survives: 1 });
    const deep = await v.run(['verify', '--deep', '--json']);
    expect(deep.code, deep.stdout).toBe(0);
    expect(parseJson<VerifyReport>(deep).ok).toBe(true);
    for (const [name, hash] of hashes) expect(await v.hashOf(name)).toBe(hash);
  });

  it('or repair completes it', async () => {
    const plugBack = await unplug(v.folders['usb']!);
    try {
      const r = await v.put('second-away.bin', SEGMENT + 5);
      expect(r.code, r.stderr).toBe(0);
      hashes.set('second-away.bin', r.hash);
    } finally {
      await plugBack();
    }
    expect(await stagedCount(v)).toBe(1);
    const repaired = await v.run(['repair']);
    expect(repaired.code, repaired.stdout).toBe(0);
    expect(await stagedCount(v)).toBe(0);
    for (const f of (await v.ls()).values()) expect(f, f.name).toMatchObject({ health: 'healthy', survives: 1 });
    expect((await v.run(['verify', '--deep'])).code).toBe(0);
    expect(await v.hashOf('second-away.bin')).toBe(hashes.get('second-away.bin'));
  });

  it('--happy asks for more locations: refused, nothing stored; the setting keeps it', async () => {
    const plugBack = await unplug(v.folders['usb']!);
    try {
      const before = await Promise.all(Object.values(v.folders).map((f) => listTree(f).catch(() => [])));
      const refused = await v.put('picky.bin', 1000, ['--happy', '3']);
      expect(refused.code).toBe(4);
      expect(refused.stderr).toMatch(/only 2 of 3 locations are reachable.*--happy 3/);
      await v.run(['settings', '--happy', '3']);
      const settings = await v.run(['settings', '--json']);
      expect(parseJson<{ happy: number | null }>(settings)).toMatchObject({ happy: 3 });
      expect((await v.put('picky.bin', 1000)).code).toBe(4);
      const after = await Promise.all(Object.values(v.folders).map((f) => listTree(f).catch(() => [])));
      const withoutLog = (trees: string[][]): string[][] => trees.map((t) => t.filter((p) => !p.startsWith('log/')));
      expect(withoutLog(after)).toEqual(withoutLog(before));
      expect((await v.run(['settings', '--happy', 'default'])).code).toBe(0);
      const ok = await v.put('picky.bin', 1000, ['--happy', '2']);
      expect(ok.code, ok.stderr).toBe(0);
      expect((await v.run(['settings', '--happy', '4'])).code).toBe(2);
    } finally {
      await plugBack();
    }
    expect((await v.run(['repair'])).code).toBe(0);
  });
});

describe('a vault over five folders (3 of 5, unlock with 2) with usb away', () => {
  it('the staged copy keeps the file readable with usb never back and two others gone', async () => {
    const v = await fieldVault(
      'away5',
      ['usb', 'a', 'b', 'c', 'd'],
      ['--data', '3', '--total', '5', '--threshold', '2'],
    );
    const plugUsb = await unplug(v.folders['usb']!);
    const r = await v.put('f.bin', 4 * SEGMENT + 1);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/f\.bin survives 1 more loss until usb returns/);
    const host = [...(await staged(v)).entries()].find(([, list]) => list.length > 0)![0];
    const others = ['a', 'b', 'c', 'd'].filter((n) => n !== host).slice(0, 2);
    const plugged = await Promise.all(others.map((n) => unplug(v.folders[n]!)));
    try {
      expect(await v.hashOf('f.bin')).toBe(r.hash);
    } finally {
      for (const p of plugged) await p();
      await plugUsb();
    }
  });
});

// ====================================================================== remembered damage

describe('damage that get or a deep check found', () => {
  let v: FieldVault;
  let hash: string;

  beforeAll(async () => {
    v = await fieldVault('damage', ['usb', 'nas', 'cloud'], ['--survive', '1', '--secret-against', '1']);
    const r = await v.put('doc.bin', 4 * SEGMENT + 11);
    expect(r.code, r.stderr).toBe(0);
    hash = r.hash;
  });

  /** The shard object of doc.bin holding shard `index` (the header says which it is). */
  async function shardWithIndex(index: number): Promise<string> {
    for (const folder of Object.values(v.folders)) {
      for (const p of await objectsIn(folder, 'shards')) {
        const path = nodePath.join(folder, p);
        const header = (await fs.readFile(path)).subarray(0, SHARD_HEADER);
        if (header[41] === index) return path;
      }
    }
    throw new Error(`no shard ${index}`);
  }

  it('a flipped byte found by verify --deep is damaged in ls and status until a plain repair', async () => {
    const shard = await shardWithIndex(2);
    await flipByte(shard, SHARD_HEADER + 100);
    expect((await v.ls()).get('doc.bin')).toMatchObject({ health: 'healthy' }); // same size: unseen yet
    expect((await v.run(['verify', '--deep'])).code).toBe(6);

    expect((await v.ls()).get('doc.bin')).toMatchObject({ health: 'degraded', survives: 0 });
    expect((await v.status()).damaged).toBe(1);
    expect((await v.run(['status'])).stdout).toMatch(/1 damaged shard copy .*repair/);

    const repaired = await v.run(['repair', '--json']);
    expect(repaired.code, repaired.stdout).toBe(0);
    expect(parseJson<{ files: { name: string; rebuilt: number }[] }>(repaired).files).toEqual([
      expect.objectContaining({ name: 'doc.bin', rebuilt: 1, after: 'healthy' }),
    ]);
    expect((await v.run(['verify', '--deep'])).code).toBe(0);
    expect((await v.ls()).get('doc.bin')).toMatchObject({ health: 'healthy', survives: 1 });
    expect((await v.status()).damaged).toBe(0);
  });

  it('a damaged shard a get read around is remembered the same way', async () => {
    const shard = await shardWithIndex(0);
    await flipByte(shard, SHARD_HEADER + 7);
    const got = await v.run(['get', 'doc.bin', '--output', nodePath.join(v.folders['usb']!, '..', 'doc.out')]);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stderr).toMatch(/shard 0 on .*: corrupt/);
    expect(await sha256File(nodePath.join(v.folders['usb']!, '..', 'doc.out'))).toBe(hash);
    expect((await v.ls()).get('doc.bin')).toMatchObject({ health: 'degraded' });
    expect((await v.status()).damaged).toBe(1);
    expect((await v.run(['repair'])).code).toBe(0);
    expect((await v.ls()).get('doc.bin')).toMatchObject({ health: 'healthy' });
    expect((await v.status()).damaged).toBe(0);
    expect((await v.run(['verify', '--deep'])).code).toBe(0);
  });

  it('the README line runs repair when verify finds a problem', async () => {
    const readme = await fs.readFile(nodePath.join(__dirname, '..', 'README.md'), 'utf8');
    expect(readme).toContain('npx shardvault verify --deep || npx shardvault repair');
    expect(readme).not.toContain('verify --deep && npx shardvault repair');
  });
});

// ====================================================================== the log's word

describe('entries no vault head vouches for yet', () => {
  it('are called by one word, explained in the help and under the log', async () => {
    const help = await runCli(['--help']);
    expect(help.stdout).toContain(UNANCHORED.word);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(UNANCHORED.explanation);
    const v = await fieldVault('log-word', ['a', 'b', 'c'], ['--survive', '1', '--secret-against', '1']);
    expect((await v.run(['ls'], { SHARDVAULT_PASSPHRASE: 'wrong' })).code).toBe(3);
    const log = await v.run(['log']);
    expect(log.stdout).toMatch(new RegExp(`denied \\(${UNANCHORED.word}\\)`));
    expect(log.stdout.replace(/\s+/g, ' ')).toContain(UNANCHORED.explanation);
    expect(log.stdout).not.toContain('pending');
  });
});
