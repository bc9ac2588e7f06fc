// The guard when its node set changes, through the CLI with real node processes on loopback: a
// vault over three folders and three nodes, G = 2, one guarded file. `location add` of a fourth
// node while a node is down cannot re-share (every node of the new set must take part): the
// node is added as a location with a warning, and the old set still opens the file. A second
// device becomes a guardian (g = 0: no approval needed), then the policy asks for one approval.
// `guard reshare` then waits for the guardian's approval of the re-sharing and takes the fourth
// node in: with nodes 1 and 2 stopped, nodes 3 and 4 open the file put before. Lowering the
// policy needs the guardian's approval too. `location remove` of node 3 re-shares among 1, 2
// and 4; `guard status` says plainly when fewer than G nodes answer.
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, parseJson, runCli, sha256File, TempRoot, type CliResult } from './helpers/cli';
import { startShardNode, type ShardNodeServer } from './servers/shardnode';
import { approvedBy } from './helpers/approvals';
import { guardedVault } from './helpers/guarded';
import { parseNodeSpec } from '../src/core/storage/shardnode/spec';
import { readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { openWithNonce, sealWithNonce } from '../src/core/crypto/aead';
import { ed25519PublicKey, ed25519Sign } from '../src/core/crypto/signing';
import { encodePoint, mulBase, randomScalar } from '../src/core/guard/group';
import { requestMessage } from '../src/core/guard/request';
import { readRequest, requestToJson, WireReader } from '../src/core/guard/wire';
import { deriveVaultKeys } from '../src/core/vault/keys';
import { requestAad } from '../src/core/vault/guard-requests';
import { pkOf, readRecord, unlockFrom } from './adversary/harness';

const PASS = 'guard nodes passphrase, long enough';
let root: TempRoot;
let home: string;
let home2: string;
let home3: string;
const folders: string[] = [];
const nodes: (ShardNodeServer | null)[] = [null, null, null, null];
const ports: number[] = [];
const dirs: string[] = [];
const file = { path: '', sha: '' };

const env = (h: () => string) => () => ({ SHARDVAULT_HOME: h(), SHARDVAULT_PASSPHRASE: PASS });
const d1 = env(() => home);
const d2 = env(() => home2);
const d3 = env(() => home3);
const cli = (args: string[], as = d1): Promise<CliResult> => runCli(args, { env: as(), timeoutMs: 90_000 });

async function stop(i: number): Promise<void> {
  expect(await nodes[i]!.stop()).toBe(0);
  nodes[i] = null;
}
async function restart(i: number): Promise<void> {
  nodes[i] = await startShardNode(dirs[i], [], `127.0.0.1:${ports[i]}`);
}
async function opens(): Promise<CliResult> {
  const out = nodePath.join(await root.dir(`out-${Math.random().toString(36).slice(2)}`), 'g.bin');
  const r = await cli(['get', 'g.bin', '--output', out]);
  if (r.code === 0) expect(await sha256File(out)).toBe(file.sha);
  return r;
}
interface Status {
  threshold: number;
  nodes: { name: string; reachable: boolean }[];
  canOpen: boolean;
  words: string[];
  device: string;
  guardian: boolean;
  guardians: number;
}
const guardStatus = async (as = d1): Promise<Status> => parseJson<Status>(await cli(['guard', 'status', '--json'], as));

/** Runs `args` as device 1 (or `as`; it waits for an approval) while device 2 approves its new request. */
const approvedBy2 = (args: string[], what: RegExp, as = d1): Promise<CliResult> => approvedBy(cli, d2, args, what, as);

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-guard-nodes-');
  home = await root.dir('home');
  home2 = await root.dir('home2');
  home3 = await root.dir('home3');
  for (let i = 0; i < 4; i++) {
    const n = await startShardNode();
    nodes[i] = n;
    ports.push(parseNodeSpec(n.spec).address.port);
    dirs.push(n.dir);
  }
  const vault = await guardedVault(
    root,
    (args) => cli(args),
    nodes.slice(0, 3).map((n) => n!.spec),
    150_000,
  );
  folders.push(...vault.folders);
  Object.assign(file, vault.file);
  // The second device: the same vault, signed in to each node with a fresh code.
  const opened = await cli(['open', ...folders.flatMap((f) => ['--location', f])], d2);
  expect(opened.code, opened.stderr).toBe(0);
  for (let i = 0; i < 3; i++) {
    const issued = await runCli(['node', 'new-code', '--dir', dirs[i]!]);
    expect(issued.code, issued.stderr).toBe(0);
    const edit = await cli(['location', 'edit', `n${i + 1}`, issued.stdout.trim()], d2);
    expect(edit.code, edit.stderr).toBe(0);
  }
}, 180_000);

afterAll(async () => {
  for (const n of nodes) await n?.stop();
  await root?.cleanup();
});

describe('the guard when its nodes change', () => {
  it('location add of a node while another is down: added, not yet in the guard; the old set opens', async () => {
    await stop(0);
    const add = await cli(['location', 'add', `${nodes[3]!.spec}#n4`]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toMatch(/n4 is a location but not a node of the guard yet: n1 did not answer/);
    const status = await guardStatus();
    expect(status.nodes.map((n) => n.name)).toEqual(['n1', 'n2', 'n3']);
    const r = await opens();
    expect(r.code, r.stderr).toBe(0);
    await restart(0);
  }, 60_000);

  it('a second device becomes a guardian; then the policy asks for one approval', async () => {
    const second = await guardStatus(d2);
    expect(second.guardian).toBe(false);
    const add = await cli(['guard', 'guardian', 'add', second.device]);
    expect(add.code, add.stderr).toBe(0);
    expect((await guardStatus(d2)).guardian).toBe(true);
    expect((await cli(['guard', 'guardian', 'add', second.device])).code).toBe(2);
    expect((await cli(['guard', 'guardian', 'add', 'not-a-key'])).code).toBe(2);
    const policy = await cli(['guard', 'policy', '--approvals', '1']);
    expect(policy.code, policy.stderr).toBe(0);
  }, 60_000);

  it('a guardian sees the file a request opens, not the name its requester wrote', async () => {
    // The requester (device 2, whose laptop and passphrase a thief may hold) writes the
    // request record, name and all: it may call the file it asks for something harmless, or
    // ask for a point no manifest holds (a blinded k·R of another file's point registered
    // by itself). The guardian must describe and approve only what the vault's head and
    // manifests say the request opens.
    const record = await readRecord(folders[0]!);
    const unlocked = await unlockFrom(folders, record.vaultId, await pkOf(record, PASS));
    if ('error' in unlocked) throw new Error(unlocked.error);
    const key = deriveVaultKeys(unlocked.vk, record.vaultId).manifest;
    const at = (id: string): string[] => folders.map((f) => nodePath.join(f, 'requests', id));
    const rewrite = async (id: string, change: (o: Record<string, unknown>) => Record<string, unknown>) => {
      const aad = requestAad(record.vaultId, id);
      const plain = openWithNonce(key, new Uint8Array(await readFile(at(id)[0]!)), aad);
      const o = change(JSON.parse(Buffer.from(plain).toString('utf8')) as Record<string, unknown>);
      const sealed = sealWithNonce(key, Buffer.from(JSON.stringify(o)), aad);
      for (const path of at(id)) await writeFile(path, sealed);
      return o;
    };
    const pending = async (): Promise<{ id: string; file: string }[]> =>
      parseJson<{ id: string; file: string }[]>(await cli(['requests', '--json']));

    // Device 2's get publishes its request and gives up waiting (exit 7); the record stays.
    const out = nodePath.join(await root.dir('out-named'), 'g.bin');
    expect((await cli(['get', 'g.bin', '--output', out, '--wait', '1'], d2)).code).toBe(7);
    const id = (await pending()).find((r) => r.file === 'g.bin')?.id;
    expect(id, 'the request of device 2 is listed').toBeDefined();
    const genuine = await rewrite(id!, (o) => ({ ...o, name: 'holiday.jpg' }));
    expect((await pending()).find((r) => r.id === id)?.file).toBe('g.bin');

    // A request of its own for g.bin's file id and version, but another point.
    const request = readRequest(new WireReader('test'), genuine.request, 'request');
    const seed = new Uint8Array(randomBytes(32));
    const fields = {
      ...request,
      requestId: randomBytes(16).toString('hex'),
      point: encodePoint(mulBase(randomScalar())),
      nonce: new Uint8Array(randomBytes(16)),
      time: Date.now(),
      deviceKey: ed25519PublicKey(seed),
    };
    const forged = { ...fields, signature: ed25519Sign(seed, requestMessage(fields)) };
    const aad = requestAad(record.vaultId, forged.requestId);
    const sealed = sealWithNonce(
      key,
      Buffer.from(JSON.stringify({ request: requestToJson(forged), name: 'g.bin', device: 'laptop' })),
      aad,
    );
    for (const path of at(forged.requestId)) await writeFile(path, sealed);
    const listed = (await pending()).find((r) => r.id === forged.requestId);
    expect(listed?.file).toMatch(/not a file of this vault/);
    const refused = await cli(['approve', forged.requestId]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not a file of this vault/);

    // The genuine request, under its true name, is approved as before.
    const approve = await cli(['approve', id!]);
    expect(approve.code, approve.stderr).toBe(0);
  }, 90_000);

  it("a new machine with the passphrase and a node's code enrols only with a guardian's approval", async () => {
    const opened = await cli(['open', ...folders.flatMap((f) => ['--location', f])], d3);
    expect(opened.code, opened.stderr).toBe(0);
    const issued = await runCli(['node', 'new-code', '--dir', dirs[0]!]);
    expect(issued.code, issued.stderr).toBe(0);
    const line = issued.stdout.trim();
    const alone = await cli(['location', 'edit', 'n1', line, '--wait', '1'], d3);
    expect(alone.code, alone.stderr).toBe(7);
    expect(alone.stderr).toMatch(/enrolment of this device at n1 needs 1 guardian approval: 0 of 1 after 1 s/);
    // Still not enrolled (the node refused the key), and the code is still good for the retry.
    expect((await guardStatus(d3)).device).toBeNull();
    const approved = await approvedBy2(['location', 'edit', 'n1', line, '--wait', '60'], /enrol device/, d3);
    expect(approved.code, approved.stderr).toBe(0);
    const status = await guardStatus(d3);
    expect(status.device).not.toBeNull();
    expect(status.nodes.find((n) => n.name === 'n1')?.reachable).toBe(true);
    // The vault's access log records the enrolment, its refusal, the approval and the guard's changes.
    interface Entry {
      device: string;
      action: string;
      detail: string | null;
      outcome: string;
    }
    const log = parseJson<Entry[]>(await cli(['log', '--json'], d3)).filter((e) => e.action === 'guard');
    const said = log.map((e) => `${e.outcome} ${e.detail ?? ''}`);
    expect(said).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ok guard setup: G = 2 of 3 nodes$/),
        expect.stringMatching(/^ok guard guardian add /),
        expect.stringMatching(/^ok guard policy: 0 -> 1 approvals per opening$/),
        expect.stringMatching(/^denied enrol device .* at n1: .*0 of 1/),
        expect.stringMatching(/^ok approved request [0-9a-f]{32} of .*: enrol device /),
        expect.stringMatching(/^ok enrol device .* at n1 with 1 guardian approvals$/),
      ]),
    );
  }, 120_000);

  it("guard reshare waits for the guardian's approval, then nodes 3 and 4 open the file put before", async () => {
    const late = await cli(['guard', 'reshare', '--wait', '1']);
    expect(late.code).toBe(7);
    expect(late.stderr).toMatch(/guard re-sharing needs 1 guardian approval: 0 of 1 after 1 s/);
    const reshare = await approvedBy2(
      ['guard', 'reshare', '--wait', '60', '--json'],
      /re-sharing to 4 nodes: n1, n2, n3, new node/,
    );
    expect(reshare.code, reshare.stderr).toBe(0);
    expect(parseJson<{ nodes: string[]; joined: string[] }>(reshare)).toMatchObject({
      nodes: ['n1', 'n2', 'n3', 'n4'],
      joined: ['n4'],
    });
    // Lowering the policy needs the guardian too; then openings need no approval.
    const lower = await approvedBy2(
      ['guard', 'policy', '--approvals', '0', '--wait', '60'],
      /guard policy: 2 guardians, 0 approvals/,
    );
    expect(lower.code, lower.stderr).toBe(0);
    await stop(0);
    await stop(1);
    const r = await opens();
    expect(r.code, r.stderr).toBe(0);
    await restart(0);
    await restart(1);
  }, 120_000);

  it('location remove of node 3 re-shares among 1, 2 and 4; fewer than G answering is said plainly', async () => {
    const remove = await cli(['location', 'remove', 'n3']);
    expect(remove.code, remove.stderr).toBe(0);
    expect(remove.stdout).toMatch(/The guard was re-shared: guarded files open with 2 of n1, n2, n4/);
    // Both re-sharings are guard entries of the access log: guard reshare's, and this one's.
    const log = parseJson<{ action: string; detail: string | null; outcome: string }[]>(await cli(['log', '--json']));
    expect(log.filter((e) => e.action === 'guard' && e.outcome === 'ok').map((e) => e.detail)).toEqual(
      expect.arrayContaining(['guard re-sharing to n1, n2, n3, n4', 'guard re-sharing to n1, n2, n4']),
    );
    await stop(3);
    const r = await opens();
    expect(r.code, r.stderr).toBe(0);
    await stop(0);
    const status = await guardStatus();
    expect(status.nodes.map((n) => [n.name, n.reachable])).toEqual([
      ['n1', false],
      ['n2', true],
      ['n4', false],
    ]);
    expect(status.canOpen).toBe(false);
    const human = await cli(['guard', 'status']);
    expect(human.stdout).toMatch(/WARNING: guarded files cannot be opened now: only 1 of the 3 nodes answer/);
    expect((await opens()).code).not.toBe(0);
    await restart(0);
    await restart(3);
  }, 120_000);
});
