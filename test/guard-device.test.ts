// Removing a device from the guard's nodes (a lost laptop), through the CLI with real node
// processes on loopback: a vault over three folders and three nodes, G = 2, one guarded file,
// three devices enrolled at every node (device 1 the guardian). A device that is no guardian
// cannot remove another without a guardian's approval (exit 7), nor can a guardian's key be
// removed while it is one (exit 2). With g = 1, device 1 removes device 3 once device 2 (the
// second guardian) approves "remove device KEY…"; then every node refuses device 3's key, for
// storage and guard calls alike, and each node's request log records the removal.
import * as nodePath from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, parseJson, runCli, TempRoot, type CliResult } from './helpers/cli';
import { guardedVault } from './helpers/guarded';
import { startShardNode, type ShardNodeServer } from './servers/shardnode';
import { approvedBy } from './helpers/approvals';

const PASS = 'guard device passphrase, long enough';
let root: TempRoot;
const homes: string[] = [];
const folders: string[] = [];
const nodes: ShardNodeServer[] = [];

const as = (device: number) => () => ({ SHARDVAULT_HOME: homes[device - 1]!, SHARDVAULT_PASSPHRASE: PASS });
const cli = (args: string[], device = 1): Promise<CliResult> => runCli(args, { env: as(device)(), timeoutMs: 90_000 });

interface Status {
  nodes: { name: string; reachable: boolean; problem: string | null }[];
  device: string | null;
  guardian: boolean;
  devices: { key: string; nodes: string[]; guardian: boolean }[];
}
const guardStatus = async (device: number): Promise<Status> =>
  parseJson<Status>(await cli(['guard', 'status', '--json'], device));

/** Runs `args` as `device` (it waits for an approval) while device 2 approves its new request. */
const approvedBy2 = (args: string[], what: RegExp, device = 1): Promise<CliResult> =>
  approvedBy(cli, 2, args, what, device);

/** A node's HTTP request log (DIR/log.jsonl): one JSON object a line. */
async function nodeLog(i: number): Promise<{ device: string; method: string; target: string; status: number }[]> {
  const text = await readFile(nodePath.join(nodes[i]!.dir, 'log.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { device: string; method: string; target: string; status: number });
}

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-guard-device-');
  for (let d = 1; d <= 3; d++) homes.push(await root.dir(`home${d}`));
  for (let i = 0; i < 3; i++) nodes.push(await startShardNode());
  const vault = await guardedVault(
    root,
    (args) => cli(args),
    nodes.map((n) => n.spec),
    50_000,
  );
  folders.push(...vault.folders);
  // Devices 2 and 3: the same vault, each signed in to every node with a fresh code (g = 0).
  for (const device of [2, 3]) {
    const opened = await cli(['open', ...folders.flatMap((f) => ['--location', f])], device);
    expect(opened.code, opened.stderr).toBe(0);
    for (let i = 0; i < 3; i++) {
      const issued = await runCli(['node', 'new-code', '--dir', nodes[i]!.dir]);
      expect(issued.code, issued.stderr).toBe(0);
      const edit = await cli(['location', 'edit', `n${i + 1}`, issued.stdout.trim()], device);
      expect(edit.code, edit.stderr).toBe(0);
    }
  }
}, 240_000);

afterAll(async () => {
  for (const n of nodes) await n.stop();
  await root?.cleanup();
});

describe('guard device remove', () => {
  it("needs a guardian's approval from a device that is no guardian; a guardian's key stays", async () => {
    const [one, two, three] = [await guardStatus(1), await guardStatus(2), await guardStatus(3)];
    expect(one.guardian).toBe(true);
    // Every node lists the three devices it enrolled: the keys to remove one by.
    const all = ['n1', 'n2', 'n3'];
    expect(new Map(one.devices.map((d) => [d.key, d]))).toEqual(
      new Map([
        [one.device!, { key: one.device!, nodes: all, guardian: true }],
        [two.device!, { key: two.device!, nodes: all, guardian: false }],
        [three.device!, { key: three.device!, nodes: all, guardian: false }],
      ]),
    );
    const alone = await cli(['guard', 'device', 'remove', two.device!, '--wait', '1'], 3);
    expect(alone.code, alone.stderr).toBe(7);
    expect(alone.stderr).toMatch(/guard device remove .* needs 1 guardian approval: 0 of 1 after 1 s/);
    const guardianKey = await cli(['guard', 'device', 'remove', one.device!], 2);
    expect(guardianKey.code).toBe(2);
    expect(guardianKey.stderr).toMatch(/is a guardian: remove it from the guardians first/);
    // Nothing was removed: device 2 still reaches every node.
    expect((await guardStatus(2)).nodes.every((n) => n.reachable)).toBe(true);
  }, 90_000);

  it('with g = 1, a removal approved by the second guardian makes every node refuse the key', async () => {
    const two = await guardStatus(2);
    expect((await cli(['guard', 'guardian', 'add', two.device!])).code).toBe(0);
    expect((await cli(['guard', 'policy', '--approvals', '1'])).code).toBe(0);
    const three = await guardStatus(3);
    expect(three.nodes.every((n) => n.reachable)).toBe(true);
    const late = await cli(['guard', 'device', 'remove', three.device!, '--wait', '1']);
    expect(late.code).toBe(7);
    const removed = await approvedBy2(
      ['guard', 'device', 'remove', three.device!, '--wait', '60', '--json'],
      /^remove device .{10}… from the guard's nodes/,
    );
    expect(removed.code, removed.stderr).toBe(0);
    expect(parseJson<{ removed: string[]; notEnrolled: string[] }>(removed)).toMatchObject({
      removed: ['n1', 'n2', 'n3'],
      notEnrolled: [],
    });
    expect((await guardStatus(1)).devices.map((d) => d.key).sort()).toEqual(
      [(await guardStatus(1)).device!, two.device!].sort(),
    );
    // Device 3: its guard calls and its storage calls are refused at every node.
    const after = await guardStatus(3);
    expect(after.nodes.map((n) => n.reachable)).toEqual([false, false, false]);
    expect(after.nodes[0]!.problem).toMatch(/not enrolled/);
    const out = nodePath.join(await root.dir('out3'), 'g.bin');
    const get = await cli(['get', 'g.bin', '--output', out], 3);
    expect(get.code).not.toBe(0);
    expect(get.stderr).toMatch(/not-enrolled|not enrolled/);
    // Device 1 still opens it, with device 2's approval.
    const out1 = nodePath.join(await root.dir('out1'), 'g.bin');
    const get1 = await approvedBy2(['get', 'g.bin', '--output', out1, '--wait', '60'], /^g\.bin$/);
    expect(get1.code, get1.stderr).toBe(0);
    // Each node logged the removal and then refused the key (403) for any call.
    for (let i = 0; i < 3; i++) {
      const log = await nodeLog(i);
      const at = log.findIndex((e) => e.target === '/v1/guard/device-remove' && e.status === 200);
      expect(at, `n${i + 1} logged the removal`).toBeGreaterThanOrEqual(0);
      expect(log[at]!.device).toBe((await guardStatus(1)).device);
      // Device 3 was served before; after the removal none of its calls got through (a call
      // from a device not enrolled is refused before anything is read, and not logged).
      expect(log.slice(0, at).some((e) => e.device === three.device && e.status === 200)).toBe(true);
      expect(log.slice(at + 1).filter((e) => e.device === three.device)).toEqual([]);
    }
  }, 180_000);
});
