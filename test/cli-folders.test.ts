/**
 * The folder commands through the built CLI (issue 13): `put DIR` (one commit, --replace),
 * `ls PREFIX`, `ls --tree`, `get NAME/` (DEST made, --force), `mv` and `rm -r`, with their
 * exit codes and --json shapes.
 */
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, parseJson, runCli, sha256File, TempRoot, writeRandomFile, type CliResult } from './helpers/cli';

const PASS = 'cli folders passphrase';
let root: TempRoot;
let home: string;
let tree: string;
const sums = new Map<string, string>();

const cli = (args: string[]): Promise<CliResult> =>
  runCli(args, { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASS }, timeoutMs: 60_000 });

async function ok(args: string[]): Promise<CliResult> {
  const r = await cli(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-cli-folders-');
  home = await root.dir('home');
  const [a, b, c] = await root.locations('locs', 3);
  await ok(
    ['init', '--location', a!, '--location', b!, '--location', c!, '--data', '2', '--total', '3'].concat([
      '--threshold',
      '2',
      '--insecure-kdf-cost',
      '10',
    ]),
  );
  tree = nodePath.join(await root.dir('src'), 'photos');
  await fs.mkdir(nodePath.join(tree, '2026', 'summer'), { recursive: true });
  await fs.mkdir(nodePath.join(tree, 'empty'));
  for (const rel of ['cover.jpg', '2026/a.jpg', '2026/summer/b.jpg']) {
    sums.set(rel, await writeRandomFile(nodePath.join(tree, rel), 5000 + rel.length * 1000));
  }
  await fs.symlink('/etc/hostname', nodePath.join(tree, 'link'));
}, 60_000);

afterAll(async () => {
  await root?.cleanup();
});

describe('folders from the CLI', () => {
  it('put DIR stores the tree in one commit; onto an existing name it needs --replace', async () => {
    const r = await ok(['put', tree, '--json']);
    expect(parseJson<{ name: string; files: number; folders: number }>(r)).toMatchObject({
      name: 'photos',
      files: 3,
      folders: 1,
    });
    expect(r.stderr).toMatch(/skipped .*link \(a symbolic link\)/);
    const again = await cli(['put', tree]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/photos is already in the vault \(use --replace/);
    await ok(['put', tree, '--replace']);
    const log = parseJson<{ action: string; file: string | null; outcome: string }[]>(await ok(['log', '--json']));
    expect(log.filter((e) => e.action === 'put' && e.file === 'photos/').map((e) => e.outcome)).toEqual([
      'ok',
      'failed',
      'ok',
    ]);
  });

  it('ls PREFIX lists one folder; ls --tree draws it', async () => {
    const listed = parseJson<{ name: string }[]>(await ok(['ls', 'photos/2026', '--json'])).map((f) => f.name);
    expect(listed.sort()).toEqual(['photos/2026/a.jpg', 'photos/2026/summer/b.jpg']);
    const drawn = (await ok(['ls', '--tree'])).stdout;
    // Folders first, then files, by name; sizes after two spaces.
    expect(
      drawn
        .trimEnd()
        .split('\n')
        .map((l) => l.replace(/ {2}\d.*$/, '')),
    ).toEqual([
      '.',
      '└── photos/',
      '    ├── 2026/',
      '    │   ├── summer/',
      '    │   │   └── b.jpg',
      '    │   └── a.jpg',
      '    ├── empty/',
      '    └── cover.jpg',
    ]);
    const missing = await cli(['ls', 'nothing/']);
    expect(missing.code).toBe(2);
  });

  it('get NAME/ restores under DEST/<last part>, making DEST; an existing target needs --force', async () => {
    const dest = nodePath.join(root.path, 'out', 'new');
    const r = parseJson<{ output: string; files: number }>(await ok(['get', 'photos/', '--output', dest, '--json']));
    expect(r.output).toBe(nodePath.join(dest, 'photos'));
    for (const [rel, sum] of sums) expect(await sha256File(nodePath.join(dest, 'photos', rel))).toBe(sum);
    expect((await fs.stat(nodePath.join(dest, 'photos', 'empty'))).isDirectory()).toBe(true);
    const refused = await cli(['get', 'photos/', '--output', dest]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/exists \(use --force/);
    await ok(['get', 'photos/2026', '--output', dest, '--force']);
    expect(await sha256File(nodePath.join(dest, '2026', 'summer', 'b.jpg'))).toBe(sums.get('2026/summer/b.jpg'));
  });

  it('mv renames a folder in one commit; rm -r removes it', async () => {
    const moved = parseJson<{ from: string; to: string; files: number }>(
      await ok(['mv', 'photos/2026', 'photos/y2026', '--json']),
    );
    expect(moved).toEqual({ from: 'photos/2026/', to: 'photos/y2026/', files: 2 });
    await ok(['mv', 'photos/cover.jpg', 'cover.jpg']);
    const names = parseJson<{ name: string }[]>(await ok(['ls', '--json'])).map((f) => f.name);
    expect(names.sort()).toEqual(['cover.jpg', 'photos/empty/', 'photos/y2026/a.jpg', 'photos/y2026/summer/b.jpg']);
    const out = nodePath.join(root.path, 'single');
    await ok(['get', 'cover.jpg', '--output', out]);
    expect(await sha256File(out)).toBe(sums.get('cover.jpg'));
    expect((await cli(['mv', 'cover.jpg', 'photos/y2026/a.jpg'])).code).toBe(1);
    const removed = parseJson<{ removed: string; files: number }>(await ok(['rm', '-r', 'photos', '--json']));
    expect(removed).toEqual({ removed: 'photos/', files: 3 });
    expect(parseJson<{ name: string }[]>(await ok(['ls', '--json'])).map((f) => f.name)).toEqual(['cover.jpg']);
  });
});
