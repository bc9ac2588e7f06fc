// The node's generic guard endpoint (POST /v1/guard/<method>) and its request log, on a real
// HTTPS node started in this process with a test handler: the handler sees the method, the
// body and the enrolled device's key; its 4xx refusals reach the client with their status; a
// node without a handler says so; every call lands in the log, whose chain a device checks,
// and a log rewritten on disk stops the node from starting.
import { readFile, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShardvaultError } from '../src/core/errors';
import { startNodeServer, type GuardHandler, type RunningNode } from '../src/core/node-server/server';
import { parseSpec } from '../src/core/storage/open';
import { ShardNodeClient } from '../src/core/storage/shardnode/client';
import { readEntry } from '../src/core/storage/shardnode/log-chain';
import { parseNodeSpec } from '../src/core/storage/shardnode/spec';

class Refused extends Error {
  readonly status = 422;
}

const calls: { method: string; body: unknown; device: string }[] = [];
const handler: GuardHandler = {
  handle(method, body, device) {
    calls.push({ method, body, device });
    if (method === 'refuse') return Promise.reject(new Refused('no such file is registered'));
    return Promise.resolve({ echoed: body, method });
  },
};

let dir: string;
let node: RunningNode;
let client: ShardNodeClient;

function clientFor(spec: string): ShardNodeClient {
  const { address, enrol } = parseNodeSpec(spec);
  return new ShardNodeClient({
    address,
    deviceKey: parseSpec(spec).secrets!.deviceKey!,
    enrolCode: enrol,
    timeoutMs: 5000,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(nodePath.join(tmpdir(), 'shardvault-guard-node-'));
  node = await startNodeServer({ dir: nodePath.join(dir, 'n'), host: '127.0.0.1', port: 0, guard: handler });
  client = clientFor(node.spec);
});
afterAll(async () => {
  await client?.close();
  await node?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the guard endpoint', () => {
  it("hands the handler the method, the body and the device's key, and answers its JSON", async () => {
    const answer = await client.guard('partial', { fileId: 'f1', r: 'AAAA' });
    expect(answer).toEqual({ echoed: { fileId: 'f1', r: 'AAAA' }, method: 'partial' });
    expect(calls.at(-1)).toEqual({ method: 'partial', body: { fileId: 'f1', r: 'AAAA' }, device: client.deviceText });
  });

  it("passes a handler's refusal on with its status, and refuses a bad method name before the handler", async () => {
    const n = calls.length;
    await expect(client.guard('refuse', {})).rejects.toThrow(
      /guard refuse refused \(422\): no such file is registered/,
    );
    await expect(client.guard('Bad_Name', {})).rejects.toThrow(/bad guard method name/);
    expect(calls.length).toBe(n + 1);
  });

  it('says so when the node hosts no guard', async () => {
    const bare = await startNodeServer({ dir: nodePath.join(dir, 'bare'), host: '127.0.0.1', port: 0 });
    const c = clientFor(bare.spec);
    try {
      await expect(c.guard('partial', {})).rejects.toThrow(/hosts no guard/);
    } finally {
      await c.close();
      await bare.close();
    }
  });

  it("clients of one node share its pinned connections until the last closes; the node's pin still holds", async () => {
    const shared = await startNodeServer({
      dir: nodePath.join(dir, 'shared'),
      host: '127.0.0.1',
      port: 0,
      guard: handler,
    });
    // Every TCP connection to the node goes through this relay, which counts them.
    let connections = 0;
    const relay = net.createServer((down) => {
      connections++;
      const up = net.connect(shared.port, '127.0.0.1');
      down.pipe(up).pipe(down);
      down.on('error', () => up.destroy());
      up.on('error', () => down.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const port = (relay.address() as net.AddressInfo).port;
    const { address, enrol } = parseNodeSpec(shared.spec);
    const deviceKey = parseSpec(shared.spec).secrets!.deviceKey!;
    const at = (enrolCode: string | null, fingerprint = address.fingerprint): ShardNodeClient =>
      new ShardNodeClient({ address: { ...address, port, fingerprint }, deviceKey, enrolCode, timeoutMs: 5000 });
    const first = at(enrol);
    const second = at(null);
    try {
      await first.guard('info', {}); // enrols first: the probe, then requests on kept-alive connections
      const opened = connections;
      await second.guard('partial', { n: 1 });
      expect(connections).toBe(opened);
      await first.close();
      await second.guard('partial', { n: 2 });
      expect(connections).toBe(opened);
      await second.close();
      const third = at(null);
      await third.guard('partial', { n: 3 });
      await third.close();
      expect(connections).toBe(opened + 2); // the last close destroyed the agent: a probe and a connection again
      // Another pin at the same address shares nothing, and is refused before a request.
      const n = calls.length;
      const other = at(null, 'SHA256:' + Buffer.alloc(32, 7).toString('base64').replace(/=+$/, ''));
      await expect(other.guard('partial', { n: 4 })).rejects.toThrow(/not the one pinned/);
      await other.close();
      expect(calls.length).toBe(n);
    } finally {
      await Promise.all([first.close(), second.close()]);
      relay.close();
      await shared.close();
    }
  });

  it('logs every call in a chain the device checks, and a log rewritten on disk stops the node', async () => {
    const { lines } = await client.readLog(0);
    const guardCalls = lines.map((l) => readEntry(l)!).filter((e) => e.target.startsWith('/v1/guard/'));
    expect(guardCalls.map((e) => [e.target, e.status])).toEqual([
      ['/v1/guard/partial', 200],
      ['/v1/guard/refuse', 422],
      ['/v1/guard/Bad_Name', 400],
    ]);
    await client.close();
    await node.close();
    const path = nodePath.join(dir, 'n', 'log.jsonl');
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('"status":422', '"status":200'));
    const err = (await startNodeServer({ dir: nodePath.join(dir, 'n'), host: '127.0.0.1', port: 0 }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toMatch(/request log is broken at entry \d+: it was rewritten/);
    expect(err).not.toBeInstanceOf(ShardvaultError);
  });
});
