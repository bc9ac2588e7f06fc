// A node's connection limits, against a real `node serve --max-connections 16` on loopback
// (so one peer address holds at most 4): idle TCP connections that never start TLS, from
// other loopback addresses (127.0.0.2 and up), stand for a flood. A connection over a peer's
// share, or over the node's cap, is closed as soon as the node accepts it, while the ones it
// holds stay open; an enrolled device (from 127.0.0.1) is served while one peer floods; and
// once the node has cut the idle ones (its handshake timeout, SHARDVAULT_READ_TIMEOUT_MS set
// short here), the device is served again after a flood that filled the whole cap.
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CONNECTIONS, peerConnectionCap } from '../src/core/storage/shardnode/protocol';
import { parseNodeSpec } from '../src/core/storage/shardnode/spec';
import type { StatusReport } from '../src/shared/api';
import { ensureBuilt, parseJson, runCli, TempRoot } from './helpers/cli';
import { startShardNode, type ShardNodeServer } from './servers/shardnode';

const PASS = 'node connections passphrase, long enough';
const CAP = 16;
const PER_PEER = peerConnectionCap(CAP);
let root: TempRoot;
let home: string;
let node: ShardNodeServer;
let port: number;

const cli = (args: string[]) =>
  runCli(args, { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASS }, timeoutMs: 60_000 });

interface Idle {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  isClosed(): boolean;
}

/** A TCP connection from loopback address `from` that sends nothing; resolves once connected. */
function idle(from: string): Promise<Idle> {
  return new Promise((resolve, reject) => {
    let closed = false;
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
    socket.on('error', () => undefined);
    const done = new Promise<void>((r) =>
      socket.once('close', () => {
        closed = true;
        r();
      }),
    );
    socket.once('connect', () => resolve({ socket, closed: done, isClosed: () => closed }));
    socket.once('close', () => reject(new Error(`${from}: closed before it connected`)));
  });
}

/** `count` idle connections from `from`, one after the other (the node accepts them in that order). */
async function flood(from: string, count: number): Promise<Idle[]> {
  const out: Idle[] = [];
  for (let i = 0; i < count; i++) out.push(await idle(from));
  return out;
}

async function nodeReachable(): Promise<boolean | undefined> {
  const status = parseJson<StatusReport>(await cli(['status', '--json']));
  return status.locations.find((l) => l.name === 'n1')?.reachable;
}

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-node-connections-');
  home = await root.dir('home');
  node = await startShardNode(undefined, ['--max-connections', String(CAP)], '127.0.0.1:0', {
    ...process.env,
    SHARDVAULT_READ_TIMEOUT_MS: '4000',
  });
  port = parseNodeSpec(node.spec).address.port;
  const a = await root.dir('a');
  const b = await root.dir('b');
  const init = await cli([
    'init',
    '--location',
    `${a}#a`,
    '--location',
    `${b}#b`,
    '--data',
    '1',
    '--total',
    '2',
    '--threshold',
    '2',
    '--insecure-kdf-cost',
    '10',
  ]);
  expect(init.code, init.stderr).toBe(0);
  const add = await cli(['location', 'add', `${node.spec}#n1`]);
  expect(add.code, add.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await node?.remove();
  await root?.cleanup();
});

describe('node serve --max-connections', () => {
  it('defaults to a cap one peer gets a quarter of', () => {
    expect(PER_PEER).toBe(4);
    expect(peerConnectionCap(MAX_CONNECTIONS)).toBe(MAX_CONNECTIONS / 4);
  });

  it('one address holds at most its share; the device is served meanwhile', async () => {
    const held = await flood('127.0.0.2', PER_PEER);
    const extra = await idle('127.0.0.2');
    await extra.closed;
    expect(held.map((c) => c.isClosed())).toEqual(held.map(() => false));
    expect(await nodeReachable()).toBe(true);
    expect(held.map((c) => c.isClosed())).toEqual(held.map(() => false));
    // The node cuts them itself at its handshake timeout (and counts them gone before they close here).
    await Promise.all(held.map((c) => c.closed));
  }, 60_000);

  it('over the cap a connection is closed at once; once the node cuts the idle ones, the device is served', async () => {
    const peers = Array.from({ length: CAP / PER_PEER }, (_, i) => `127.0.0.${i + 3}`);
    const held = (await Promise.all(peers.map((p) => flood(p, PER_PEER)))).flat();
    expect(held.length).toBe(CAP);
    const extra = await idle('127.0.0.20');
    await extra.closed;
    expect(held.filter((c) => c.isClosed())).toEqual([]);
    // The node cuts each silent connection at its handshake timeout; nothing here closes them.
    await Promise.all(held.map((c) => c.closed));
    expect(await nodeReachable()).toBe(true);
  }, 60_000);
});
