// A head that names a re-sharing some node refuses to commit, repaired by `guard reshare`,
// through the CLI with real node processes on loopback. Four nodes, G = 2, one guarded file put
// over nodes 1 to 3 and node 4 taken in by `location add`. The sealed head then names a
// re-sharing node 3 never staged (as an older version left it, its stage overwritten; written
// here with the vault key): node 3 refuses the commit for good, so it is left out of openings,
// and with nodes 1 and 2 stopped the file does not open. `guard reshare` sees the refusal and
// deals a fresh re-sharing from the members that did commit (1, 2, 4) to all four; afterwards
// the head names no re-sharing, and nodes 3 and 4 alone open the file.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHead, encodeHead } from '../src/core/format/head';
import { PATHS } from '../src/core/format/records';
import { parseNodeSpec } from '../src/core/storage/shardnode/spec';
import { deriveVaultKeys } from '../src/core/vault/keys';
import { pkOf, readRecord, unlockFrom } from './adversary/harness';
import { ensureBuilt, parseJson, runCli, sha256File, TempRoot, type CliResult } from './helpers/cli';
import { guardedVault } from './helpers/guarded';
import { startShardNode, type ShardNodeServer } from './servers/shardnode';

const PASS = 'guard repair passphrase, long enough';
let root: TempRoot;
let home: string;
const folders: string[] = [];
const nodes: (ShardNodeServer | null)[] = [];
const ports: number[] = [];
const dirs: string[] = [];
const file = { path: '', sha: '' };

const cli = (args: string[]): Promise<CliResult> =>
  runCli(args, { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASS }, timeoutMs: 90_000 });

async function opens(): Promise<CliResult> {
  const out = nodePath.join(await root.dir(`out-${randomBytes(4).toString('hex')}`), 'g.bin');
  const r = await cli(['get', 'g.bin', '--output', out]);
  if (r.code === 0) expect(await sha256File(out)).toBe(file.sha);
  return r;
}

/** The sealed head as the folders hold it, and a way to write a changed one back (vault key). */
async function sealedHead() {
  const record = await readRecord(folders[0]!);
  const unlocked = await unlockFrom(folders, record.vaultId, await pkOf(record, PASS));
  if ('error' in unlocked) throw new Error(unlocked.error);
  const key = deriveVaultKeys(unlocked.vk, record.vaultId).head;
  const paths = folders.map((f) => nodePath.join(f, PATHS.head));
  const head = decodeHead(new Uint8Array(await fs.readFile(paths[0]!)), key, record.vaultId);
  return {
    head,
    write: async (next: typeof head): Promise<void> => {
      const bytes = encodeHead(next, key);
      for (const path of paths) await fs.writeFile(path, bytes);
    },
  };
}

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-guard-repair-');
  home = await root.dir('home');
  for (let i = 0; i < 4; i++) {
    const n = await startShardNode();
    nodes.push(n);
    ports.push(parseNodeSpec(n.spec).address.port);
    dirs.push(n.dir);
  }
  const vault = await guardedVault(
    root,
    cli,
    nodes.slice(0, 3).map((n) => n!.spec),
    60_000,
  );
  folders.push(...vault.folders);
  Object.assign(file, vault.file);
  const add4 = await cli(['location', 'add', `${nodes[3]!.spec}#n4`]);
  expect(add4.code, add4.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  for (const n of nodes) await n?.stop();
  await root?.cleanup();
});

async function stop(i: number): Promise<void> {
  expect(await nodes[i]!.stop()).toBe(0);
  nodes[i] = null;
}
async function restart(i: number): Promise<void> {
  nodes[i] = await startShardNode(dirs[i], [], `127.0.0.1:${ports[i]}`);
}

describe('a re-sharing some node refuses to commit', () => {
  it('guard reshare deals that node a fresh share from the members that committed', async () => {
    const { head, write } = await sealedHead();
    const g = head.guard!;
    expect(g.members.length).toBe(4);
    expect(g.reshare).toBeUndefined();
    const pin3 = parseNodeSpec(nodes[2]!.spec).address.fingerprint;
    const n3 = g.members.find((m) => m.pin === pin3)!.location;
    await write({
      ...head,
      counter: head.counter + 1,
      guard: { ...g, reshare: { setupId: randomBytes(16).toString('hex'), commit: [n3], register: [] } },
    });
    // Left out of openings: with nodes 1 and 2 stopped, node 4 alone cannot open it.
    await stop(0);
    await stop(1);
    const before = await opens();
    expect(before.code).not.toBe(0);
    expect(before.stderr).toMatch(/g\.bin is guarded/);
    await restart(0);
    await restart(1);

    const repaired = await cli(['guard', 'reshare', '--json']);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(parseJson<{ nodes: string[] }>(repaired).nodes).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect((await sealedHead()).head.guard!.reshare).toBeUndefined();

    await stop(0);
    await stop(1);
    const after = await opens();
    expect(after.code, after.stderr).toBe(0);
    await restart(0);
    await restart(1);
  }, 180_000);
});
