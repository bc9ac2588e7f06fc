// A vault over two folders and a Shardvault node, through the CLI: `location add` with the
// SPEC the node printed enrols this device, `location list` shows it, files go in and come
// back, the node holds no file name or plaintext and its log names this device's requests;
// with the node stopped the vault still unlocks and reads (routed around), and the profile
// keeps the device key and the enrolment code sealed, never in the clear.
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureBuilt,
  filesContaining,
  parseJson,
  runCli,
  sha256File,
  TempRoot,
  writeRandomFile,
  type CliResult,
} from './helpers/cli';
import { startShardNode, type ShardNodeServer } from './servers/shardnode';
import { parseNodeSpec } from '../src/core/storage/shardnode/spec';

const PASS = 'node vault passphrase';
let root: TempRoot;
let home: string;
let node: ShardNodeServer;
let folders: string[];

const cli = (args: string[]): Promise<CliResult> =>
  runCli(args, { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASS }, timeoutMs: 60_000 });

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-node-vault-');
  home = await root.dir('home');
  folders = [await root.dir('folder-a'), await root.dir('folder-b')];
  node = await startShardNode();
  const init = await cli([
    'init',
    '--location',
    `${folders[0]}#a`,
    '--location',
    `${folders[1]}#b`,
    // Three shards a file: once the node is added, each location holds one of every file.
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
});

afterAll(async () => {
  await node?.remove();
  await root?.cleanup();
});

describe('a vault with a node location', () => {
  const file = { path: '', sha: '' };

  it('adds the node with the SPEC it printed, and lists it', async () => {
    const add = await cli(['location', 'add', `${node.spec}#nas`]);
    expect(add.code, add.stderr).toBe(0);
    const list = await cli(['location', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const locations = parseJson<{ name: string; kind: string; display: string }[]>(list);
    const { address } = parseNodeSpec(node.spec);
    expect(locations.find((l) => l.name === 'nas')).toMatchObject({
      kind: 'node',
      display: `node+https://127.0.0.1:${address.port}`,
    });
    // The code and the device key are sealed: neither is in the profile in the clear.
    const code = parseNodeSpec(node.spec).enrol!;
    expect(await filesContaining(home, Buffer.from(code))).toEqual([]);
  });

  it('puts and gets a file; the node holds no name or plaintext, and logs the requests', async () => {
    file.path = nodePath.join(await root.dir('in'), 'report-secret-name.bin');
    file.sha = await writeRandomFile(file.path, 300_000);
    const put = await cli(['put', file.path]);
    expect(put.code, put.stderr).toBe(0);
    const out = nodePath.join(await root.dir('out'), 'back.bin');
    const get = await cli(['get', 'report-secret-name.bin', '--output', out]);
    expect(get.code, get.stderr).toBe(0);
    expect(await sha256File(out)).toBe(file.sha);
    expect(await filesContaining(node.dir, Buffer.from('report-secret-name'))).toEqual([]);
    const shards = await fs.readdir(nodePath.join(node.dir, 'store', 'shards'));
    expect(shards.length).toBeGreaterThan(0);
    const log = await fs.readFile(nodePath.join(node.dir, 'log.jsonl'), 'utf8');
    expect(log).toMatch(/"method":"PUT","target":"\/v1\/objects\/shards\//);
    const status = parseJson<{ locations: { name: string; reachable: boolean; shards: number | null }[] }>(
      await cli(['status', '--json']),
    );
    expect(status.locations.find((l) => l.name === 'nas')).toMatchObject({ reachable: true, shards: shards.length });
  });

  it('enrols a second device with a code from node new-code, by location edit', async () => {
    const second = await root.dir('home2');
    const as2 = (args: string[]): Promise<CliResult> =>
      runCli(args, { env: { SHARDVAULT_HOME: second, SHARDVAULT_PASSPHRASE: PASS }, timeoutMs: 60_000 });
    expect((await as2(['open', '--location', folders[0]!, '--location', folders[1]!])).code).toBe(0);
    expect((await as2(['location', 'list'])).stdout).toMatch(
      /nas +node +- +node\+https:\/\/127\.0\.0\.1:\d+ \(needs sign-in\)/,
    );
    // No password opens a node: login says how a device joins instead of asking one.
    const login = await as2(['location', 'login', 'nas']);
    expect(login.code).toBe(2);
    expect(login.stderr).toMatch(/shardvault node new-code --dir DIR.*shardvault location edit nas SPEC/);
    const issued = await runCli(['node', 'new-code', '--dir', node.dir]);
    expect(issued.code, issued.stderr).toBe(0);
    const edit = await as2(['location', 'edit', 'nas', issued.stdout.trim()]);
    expect(edit.code, edit.stderr).toBe(0);
    const status = parseJson<{ locations: { name: string; reachable: boolean; shards: number | null }[] }>(
      await as2(['status', '--json']),
    );
    expect(status.locations.find((l) => l.name === 'nas')).toMatchObject({ reachable: true });
    const devices = JSON.parse(await fs.readFile(nodePath.join(node.dir, 'devices.json'), 'utf8')) as {
      devices: unknown[];
    };
    expect(devices.devices).toHaveLength(2);
  });

  it('routes around the node when it is stopped', async () => {
    expect(await node.stop()).toBe(0);
    const out = nodePath.join(await root.dir('out2'), 'back.bin');
    const get = await cli(['get', 'report-secret-name.bin', '--output', out]);
    expect(get.code, get.stderr).toBe(0);
    expect(await sha256File(out)).toBe(file.sha);
    const status = parseJson<{ locations: { name: string; kind: string; reachable: boolean }[] }>(
      await cli(['status', '--json']),
    );
    expect(status.locations.map((l) => [l.name, l.kind, l.reachable])).toEqual([
      ['a', 'local', true],
      ['b', 'local', true],
      ['nas', 'node', false],
    ]);
  });
});
