// The guard's custodian hosted by `node serve`, with real node processes on loopback: a
// device enrolled at three nodes runs the DKG through the node endpoint (G = 2), registers a
// file's point and opens it with any 2 of the 3; a stopped node is routed around and with one
// node left the opening fails; the custodian's files are 0600 and hold no share in the clear;
// a restarted node answers from its sealed store.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Coordinator, deviceSigner, type GuardGroup } from '../src/core/guard/coordinator';
import { seedOf } from '../src/core/storage/shardnode/protocol';
import { ShardNodeClient } from '../src/core/storage/shardnode/client';
import { parseNodeSpec } from '../src/core/storage/shardnode/spec';
import { nodeGuardTransport } from '../src/core/vault/guard-transport';
import { startShardNode, type ShardNodeServer } from './servers/shardnode';

const seed = seedOf(generateKeyPairSync('ed25519').privateKey);
const vaultId = randomBytes(16).toString('hex');
const ids = ['n1', 'n2', 'n3'];
let nodes: ShardNodeServer[] = [];
const clients = new Map<string, ShardNodeClient>();
let coordinator: Coordinator;
let group: GuardGroup;

function connect(id: string, spec: string): void {
  const { address, enrol } = parseNodeSpec(spec);
  clients.set(id, new ShardNodeClient({ address, deviceKey: seed, enrolCode: enrol, timeoutMs: 5000 }));
}

beforeAll(async () => {
  nodes = await Promise.all(ids.map(() => startShardNode()));
  nodes.forEach((n, i) => connect(ids[i]!, n.spec));
  coordinator = new Coordinator(
    nodeGuardTransport((id) => clients.get(id)),
    deviceSigner(new Uint8Array(Buffer.from(seed, 'base64url'))),
    vaultId,
  );
}, 60_000);

afterAll(async () => {
  for (const c of clients.values()) await c.close();
  for (const n of nodes) await n.remove();
});

describe('a custodian in node serve', () => {
  const file: { fileId: string; version: number; point: Uint8Array; kek: Uint8Array } = {
    fileId: randomBytes(16).toString('hex'),
    version: 1,
    point: new Uint8Array(),
    kek: new Uint8Array(),
  };

  it('runs a DKG over three nodes and registers a file with each', async () => {
    const members = await Promise.all(
      ids.map(async (nodeId) => ({ nodeId, identityKey: await coordinator.identityOf(nodeId) })),
    );
    group = await coordinator.run(coordinator.planSetup(members, 2), members);
    expect(group.threshold).toBe(2);
    expect(group.members.map((m) => m.nodeId)).toEqual(ids);
    const registered = await coordinator.register(group, file.fileId, file.version);
    expect(registered.missed).toEqual([]);
    file.point = registered.point;
    file.kek = registered.kek;
  }, 60_000);

  it('keeps its files 0600 and no share in the clear', async () => {
    for (const n of nodes) {
      const dir = nodePath.join(n.dir, 'guard');
      const names = await fs.readdir(dir);
      expect(names.length).toBeGreaterThan(0);
      for (const name of [...names.map((x) => nodePath.join(dir, x)), nodePath.join(n.dir, 'seal.key')]) {
        expect((await fs.stat(name)).mode & 0o777).toBe(0o600);
      }
      // The group key is public; its base64 must show nowhere but a share is sealed: the files
      // are not JSON in the clear.
      for (const name of names) {
        const text = await fs.readFile(nodePath.join(dir, name), 'utf8');
        expect(text).not.toMatch(/"share"/);
      }
    }
  });

  it('opens with any 2 of the 3 nodes, to the KEK the put drew', async () => {
    for (const pair of [
      [0, 1],
      [1, 2],
      [0, 2],
    ]) {
      const subset: GuardGroup = { ...group, members: pair.map((i) => group.members[i]!) };
      const opened = await coordinator.open(subset, coordinator.newRequest(file));
      expect(Buffer.from(opened.kek).equals(Buffer.from(file.kek))).toBe(true);
      expect([...opened.used].sort()).toEqual(pair.map((i) => ids[i]));
    }
  }, 60_000);

  it('routes around a stopped node, and fails plainly with one left', async () => {
    expect(await nodes[0]!.stop()).toBe(0);
    const opened = await coordinator.open(group, coordinator.newRequest(file));
    expect(Buffer.from(opened.kek).equals(Buffer.from(file.kek))).toBe(true);
    expect(opened.unreachable).toEqual(['n1']);
    expect([...opened.used].sort()).toEqual(['n2', 'n3']);
    expect(await nodes[1]!.stop()).toBe(0);
    await expect(coordinator.open(group, coordinator.newRequest(file))).rejects.toThrow(
      /only 1 of 2 nodes answered .*unreachable: n1, n2/,
    );
  }, 60_000);

  it('answers from its sealed store once restarted', async () => {
    const again = await startShardNode(nodes[0]!.dir);
    nodes.push(again);
    await clients.get('n1')!.close();
    connect('n1', again.spec);
    const opened = await coordinator.open(group, coordinator.newRequest(file));
    expect(Buffer.from(opened.kek).equals(Buffer.from(file.kek))).toBe(true);
    expect([...opened.used].sort()).toEqual(['n1', 'n3']);
  }, 60_000);
});
