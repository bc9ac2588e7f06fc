// A node that lies about a guarded file's partial decryption, through the CLI (issue 15): three
// real node processes on loopback, G = 2; node 1 is reached through a proxy that terminates
// TLS with node 1's own certificate and key (what its owner, or anyone who took its folder,
// holds: the client's pin is satisfied) and passes every byte on, except that once told to lie
// it swaps the partial Z_1 in each guard answer for another valid point of the same length,
// keeping the proof. Nothing in production can be told to lie: the liar is outside the node.
// `get` must still open the file with nodes 2 and 3, and name node 1 as the liar; every lie is
// caught (one per get), and with a second node down the file does not open at all.
import { readFile } from 'node:fs/promises';
import type * as net from 'node:net';
import * as nodePath from 'node:path';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePoint, mulBase } from '../../src/core/guard/group';
import { parseNodeSpec } from '../../src/core/storage/shardnode/spec';
import { ensureBuilt, runCli, sha256File, TempRoot, writeRandomFile, type CliResult } from '../helpers/cli';
import { startShardNode, type ShardNodeServer } from '../servers/shardnode';
import { initFlags, PASSPHRASE } from './harness';
import { appendCase } from './ledger';

/** A TLS proxy in front of a node, with the node's own key; `lie` swaps the partial it returns. */
class LyingProxy {
  lie = false;
  lies = 0;
  private server!: tls.Server;
  private readonly sockets = new Set<net.Socket>();
  // Another valid ristretto255 point (7·B): decodes, so only the DLEQ proof can catch it.
  private readonly fake = Buffer.from(encodePoint(mulBase(7n))).toString('base64');

  async start(nodeDir: string, nodePort: number): Promise<number> {
    const [key, cert] = await Promise.all([
      readFile(nodePath.join(nodeDir, 'tls.key'), 'utf8'),
      readFile(nodePath.join(nodeDir, 'tls.crt'), 'utf8'),
    ]);
    this.server = tls.createServer({ key, cert }, (client) => {
      const upstream = tls.connect({ host: '127.0.0.1', port: nodePort, rejectUnauthorized: false });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      let held = '';
      upstream.on('data', (chunk: Buffer) => {
        // latin1 keeps every byte as one character, so the length (and Content-Length) holds.
        held += chunk.toString('latin1');
        const at = held.lastIndexOf('"partial":"');
        // A partial cut between two chunks waits for the rest (44 characters and a quote).
        const cut = at >= 0 && held.length < at + 11 + 45 ? at : held.length;
        let out = held.slice(0, cut);
        held = held.slice(cut);
        if (this.lie)
          out = out.replace(/"partial":"[A-Za-z0-9+/]{43}="/g, () => {
            this.lies++;
            return `"partial":"${this.fake}"`;
          });
        client.write(Buffer.from(out, 'latin1'));
      });
      upstream.on('end', () => {
        if (held.length > 0) client.write(Buffer.from(held, 'latin1'));
        client.end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

let root: TempRoot;
let home: string;
const nodes: ShardNodeServer[] = [];
const proxy = new LyingProxy();
const file = { path: '', sha: '' };
const notes: string[] = [];
const cli = (args: string[]): Promise<CliResult> =>
  runCli(args, { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASSPHRASE }, timeoutMs: 90_000 });

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-node-liar-');
  home = await root.dir('home');
  for (let i = 0; i < 3; i++) nodes.push(await startShardNode());
  const first = parseNodeSpec(nodes[0]!.spec).address.port;
  const port = await proxy.start(nodes[0]!.dir, first);
  // Node 1's SPEC with the proxy's port: same pin, same enrolment code.
  const specs = nodes.map((n, i) => (i === 0 ? n.spec.replace(`:${first}/`, `:${port}/`) : n.spec));
  expect(specs[0]).not.toBe(nodes[0]!.spec);
  const folders = [await root.dir('a'), await root.dir('b')];
  const init = await cli([
    'init',
    ...folders.flatMap((f, i) => ['--location', `${f}#${'ab'[i]}`]),
    '--data',
    '2',
    '--total',
    '3',
    '--threshold',
    '2',
    ...initFlags(),
  ]);
  expect(init.code, init.stderr).toBe(0);
  for (let i = 0; i < 3; i++) {
    const add = await cli(['location', 'add', `${specs[i]}#n${i + 1}`]);
    expect(add.code, add.stderr).toBe(0);
  }
  const setup = await cli(['guard', 'setup', '--threshold', '2']);
  expect(setup.code, setup.stderr).toBe(0);
  file.path = nodePath.join(await root.dir('in'), 'secret.bin');
  file.sha = await writeRandomFile(file.path, 120_000);
  const put = await cli(['put', file.path, '--guarded']);
  expect(put.code, put.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await proxy.close();
  for (const n of nodes) await n.stop();
  await root?.cleanup();
  appendCase({
    name: 'node: a node lying about its partial, through the CLI',
    hostileRecords: proxy.lies,
    acceptedForgeries: [],
    outsideTouched: [],
    problems: [],
    notes,
    durationMs: 0,
  });
});

async function getBack(): Promise<{ r: CliResult; out: string }> {
  const out = nodePath.join(await root.dir(`out-${Math.random().toString(36).slice(2)}`), 'secret.bin');
  return { r: await cli(['get', 'secret.bin', '--output', out]), out };
}

describe('a node returning a wrong partial', () => {
  it('opens honestly through the proxy first (the proxy itself changes nothing)', async () => {
    const { r, out } = await getBack();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/lies/);
    expect(await sha256File(out)).toBe(file.sha);
  }, 60_000);

  it('is caught by its proof every time, named, and routed around', async () => {
    proxy.lie = true;
    for (let round = 1; round <= 3; round++) {
      const { r, out } = await getBack();
      expect(r.code, r.stderr).toBe(0);
      expect(await sha256File(out)).toBe(file.sha);
      expect(r.stderr).toMatch(
        /n1 answered for secret\.bin with a partial whose proof failed: it lies; opened with n(2, n3|3, n2)/,
      );
      expect(proxy.lies).toBe(round);
      notes.push(`get ${round}: n1's false partial caught and named`);
    }
  }, 90_000);

  it('with one honest node left, a lie does not open the file: it is named, not believed', async () => {
    await nodes[2]!.stop();
    const { r } = await getBack();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/only 1 of 2 nodes answered \(lying: n1; unreachable: n3\)/);
  }, 60_000);
});
