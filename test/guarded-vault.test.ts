// Guarded files end to end through the CLI, with real node processes on loopback: a vault
// over two folders and three nodes, `guard setup --threshold 2`; `put --guarded` before the
// setup exits 2; a guarded file opens with nodes {1,2}, {2,3} (node 1 stopped: routed around)
// and {1,3}, and not with one node (a plain error naming the guard); with every node stopped
// the passphrase and both folders do not open it, while an ordinary file still opens. The
// sealed head and the manifest carry what FORMAT.md says (read back with the vault key).
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import {
  ensureBuilt,
  parseJson,
  runCli,
  sha256File,
  startCli,
  TempRoot,
  writeRandomFile,
  type CliResult,
} from './helpers/cli';
import { startShardNode, type ShardNodeServer } from './servers/shardnode';
import { parseNodeSpec } from '../src/core/storage/shardnode/spec';
import { decodeHead, encodeHead, type HeadGuard } from '../src/core/format/head';
import { PATHS } from '../src/core/format/records';
import { encodePoint, evalCommitments, mulBase, randomScalar } from '../src/core/guard/group';
import { deriveVaultKeys } from '../src/core/vault/keys';
import { sealWithNonce } from '../src/core/crypto/aead';
import { toHex } from '../src/core/crypto/bytes';
import { ed25519Sign } from '../src/core/crypto/signing';
import { denialDigest } from '../src/core/guard/request';
import { answerAad } from '../src/core/vault/guard-requests';
import { pkOf, readRecord, unlockFrom } from './adversary/harness';

const PASS = 'guarded vault passphrase';
let root: TempRoot;
let home: string;
const nodes: (ShardNodeServer | null)[] = [null, null, null];
const ports: number[] = [];
const dirs: string[] = [];
let folders: string[] = [];

const cli = (args: string[]): Promise<CliResult> =>
  runCli(args, { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASS }, timeoutMs: 60_000 });
let home2 = '';
/** A second device of the owner's (its own profile), which the approval tests ask from. */
const as2 = (args: string[]): Promise<CliResult> =>
  runCli(args, { env: { SHARDVAULT_HOME: home2, SHARDVAULT_PASSPHRASE: PASS }, timeoutMs: 60_000 });

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
    home2 = await root.dir('home2');
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

  it('a policy change re-codes a guarded file, which still opens with its nodes', async () => {
    const change = await cli(['policy', 'set', '--data', '3', '--total', '5', '--threshold', '2']);
    expect(change.code, change.stderr).toBe(0);
    const { r, out } = await getBack('guarded.bin');
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(out)).toBe(guarded.sha);
    const placement = await cli(['placement', 'guarded.bin', '--json']);
    expect(placement.code, placement.stderr).toBe(0);
    // Re-coded to the new policy: five shards where there were three.
    expect(parseJson<{ shards: unknown[] }>(placement).shards).toHaveLength(5);
  }, 90_000);

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

  it('the drive opens a guarded file by asking its nodes, a Range from its middle too', async () => {
    for (const i of [0, 1, 2]) if (!nodes[i]) await restart(i);
    const bytes = await fs.readFile(guarded.path);
    const whole = await viaDrive('/guarded.bin');
    expect(whole.status).toBe(200);
    expect(createHash('sha256').update(whole.body).digest('hex')).toBe(guarded.sha);
    const from = 150_000;
    const part = await viaDrive('/guarded.bin', `bytes=${from}-`);
    expect(part.status).toBe(206);
    expect(part.body.equals(bytes.subarray(from))).toBe(true);
  }, 60_000);

  it('with approvals: the second device waits, the guardian approves, it opens', async () => {
    for (const i of [0, 1, 2]) if (!nodes[i]) await restart(i);
    const policy = await cli(['guard', 'policy', '--approvals', '1']);
    expect(policy.code, policy.stderr).toBe(0);
    const out = nodePath.join(await root.dir('out-approved'), 'guarded.bin');
    const waiting = as2(['get', 'guarded.bin', '--output', out, '--wait', '40']);
    const id = await pendingRequest();
    const approve = await cli(['approve', id]);
    expect(approve.code, approve.stderr).toBe(0);
    const got = await waiting;
    expect(got.code, got.stderr).toBe(0);
    expect(got.stderr).toMatch(/0 of 1 approvals/);
    expect(got.stderr).toMatch(/1 of 1 approvals/);
    expect(await sha256File(out)).toBe(guarded.sha);
  }, 90_000);

  it('without an approval the get exits 7 after --wait; a denial ends the wait with 7', async () => {
    const late = await getBackAs((a) => as2([...a, '--wait', '1']), 'guarded.bin');
    expect(late.r.code).toBe(7);
    expect(late.r.stderr).toMatch(/guarded\.bin needs 1 guardian approval: 0 of 1 after 1 s/);
    const out = nodePath.join(await root.dir('out-denied'), 'guarded.bin');
    const waiting = as2(['get', 'guarded.bin', '--output', out, '--wait', '40']);
    const id = await pendingRequest(late.r.stderr);
    expect((await cli(['deny', id])).code).toBe(0);
    const got = await waiting;
    expect(got.code).toBe(7);
    expect(got.stderr).toMatch(new RegExp(`request ${id} was denied`));
    // The guardian's own request: its own approval never counts.
    const own = await getBackAs((a) => cli([...a, '--wait', '1']), 'guarded.bin');
    expect(own.r.code).toBe(7);
  }, 90_000);

  it('a denial its guardian did not sign is ignored with a warning, old unsigned ones too', async () => {
    // The record is sealed under the vault key, which the passphrase gives: any device of the
    // vault can write one in a guardian's name. Only the guardian's signature makes it a denial.
    const record = await readRecord(folders[0]!);
    const unlocked = await unlockFrom(folders, record.vaultId, await pkOf(record, PASS));
    if ('error' in unlocked) throw new Error(unlocked.error);
    const key = deriveVaultKeys(unlocked.vk, record.vaultId).manifest;
    const guardian = new Uint8Array(
      Buffer.from(parseJson<{ device: string }>(await cli(['guard', 'status', '--json'])).device, 'base64url'),
    );
    const deny = async (id: string, value: object): Promise<void> => {
      const sealed = sealWithNonce(key, Buffer.from(JSON.stringify(value)), answerAad(record.vaultId, id, guardian));
      for (const f of folders) await fs.writeFile(nodePath.join(f, PATHS.approval(id, toHex(guardian))), sealed);
    };
    const requester = new Uint8Array(
      Buffer.from(parseJson<{ device: string }>(await as2(['guard', 'status', '--json'])).device, 'base64url'),
    );
    const ids = async (): Promise<{ id: string; denied: boolean; deviceKey: string }[]> =>
      parseJson<{ id: string; denied: boolean; deviceKey: string }[]>(await cli(['requests', '--json']));
    const byRequester = (await ids()).filter((r) => r.deviceKey === Buffer.from(requester).toString('base64url'));
    const before = new Set((await ids()).map((r) => r.id));
    const out = nodePath.join(await root.dir('out-forged-denial'), 'guarded.bin');
    const waiting = as2(['get', 'guarded.bin', '--output', out, '--wait', '15']);
    let id: string | undefined;
    for (let tries = 0; tries < 60 && id === undefined; tries++) {
      id = (await ids()).find((r) => !before.has(r.id))?.id;
      if (id === undefined) await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(id, 'the second device published its request').toBeDefined();
    // The right digest, signed by another key than the guardian's.
    const other = new Uint8Array(randomBytes(32));
    const signature = Buffer.from(ed25519Sign(other, denialDigest(record.vaultId, id!, requester))).toString('base64');
    await deny(id!, { denied: true, signature });
    // An older request gets a denial as versions before signed denials wrote it.
    const older = byRequester[0]!.id;
    await deny(older, { denied: true });
    const got = await waiting;
    expect(got.code).toBe(7);
    expect(got.stderr).toMatch(/guarded\.bin needs 1 guardian approval: 0 of 1 after 15 s/);
    expect(got.stderr).not.toMatch(/was denied/);
    expect(got.stderr).toMatch(
      new RegExp(`warning: a denial of request ${id} in guardian [0-9a-f]{12}'s name is not signed`),
    );
    const listed = await ids();
    expect(listed.find((r) => r.id === id)?.denied).toBe(false);
    expect(listed.find((r) => r.id === older)?.denied).toBe(false);
  }, 90_000);

  it('under an approvals policy the drive answers 403 and publishes no request', async () => {
    const before = parseJson<unknown[]>(await cli(['requests', '--json'])).length;
    const answer = await viaDrive('/guarded.bin');
    expect(answer.status).toBe(403);
    expect(answer.body.toString()).toMatch(/needs 1 guardian approval/);
    expect(parseJson<unknown[]>(await cli(['requests', '--json'])).length).toBe(before);
    // An ordinary file still reads.
    expect((await viaDrive('/plain.bin')).status).toBe(200);
  }, 60_000);

  it('puts no guarded file under a guard key a forged head names (a thief with the passphrase)', async () => {
    // The passphrase gives the vault key, which seals heads: a thief who can write the folders
    // can name a guard key P' = s'·B it knows. A guarded file put under P' would open with the
    // vault key and s', no node asked. The put must check the key with the nodes first.
    const record = await readRecord(folders[0]!);
    const unlocked = await unlockFrom(folders, record.vaultId, await pkOf(record, PASS));
    if ('error' in unlocked) throw new Error(unlocked.error);
    const key = deriveVaultKeys(unlocked.vk, record.vaultId).head;
    const paths = folders.map((f) => nodePath.join(f, PATHS.head));
    const head = decodeHead(new Uint8Array(await fs.readFile(paths[0]!)), key, record.vaultId);
    const g = head.guard!;
    const forge = async (counter: number, guard: HeadGuard): Promise<void> => {
      const bytes = encodeHead({ ...head, counter, guard }, key);
      for (const path of paths) await fs.writeFile(path, bytes);
    };
    const s = randomScalar();
    const input = nodePath.join(await root.dir('forged-in'), 'after.bin');
    await writeRandomFile(input, 10_000);
    // P' alone, the commitments left as they were.
    await forge(head.counter + 1, { ...g, groupKey: encodePoint(mulBase(s)) });
    const lone = await cli(['put', input, '--guarded']);
    expect(lone.code, lone.stdout).not.toBe(0);
    expect(lone.stderr).toMatch(/guard key/);
    // P' with commitments and public shares made to fit it: the nodes' own shares do not.
    const commitments = [mulBase(s), ...g.commitments.slice(1).map(() => mulBase(randomScalar()))];
    await forge(head.counter + 2, {
      ...g,
      groupKey: encodePoint(commitments[0]!),
      commitments: commitments.map(encodePoint),
      members: g.members.map((m) => ({ ...m, publicShare: encodePoint(evalCommitments(commitments, m.index)) })),
    });
    const fitted = await cli(['put', input, '--guarded']);
    expect(fitted.code, fitted.stdout).not.toBe(0);
    expect(fitted.stderr).toMatch(/guard key/);
    const listed = parseJson<{ name: string }[]>(await cli(['ls', '--json']));
    expect(listed.map((f) => f.name)).not.toContain('after.bin');
  }, 60_000);
});

/** One GET through `shardvault mount` on the owner's profile, which is stopped afterwards. */
async function viaDrive(path: string, range?: string): Promise<{ status: number; body: Buffer }> {
  const mount = startCli(['mount'], { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASS } });
  const exited = new Promise((resolve) => mount.on('exit', resolve));
  try {
    const url = await new Promise<URL>((resolve, reject) => {
      let out = '';
      mount.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('\n')) resolve(new URL(out.slice(0, out.indexOf('\n'))));
      });
      mount.on('exit', (code) => reject(new Error(`mount ended (${code})`)));
    });
    const auth = `Basic ${Buffer.from(`${url.username}:${url.password}`).toString('base64')}`;
    return await new Promise((resolve, reject) => {
      const headers: Record<string, string> = { authorization: auth, ...(range ? { range } : {}) };
      const req = httpRequest({ host: url.hostname, port: url.port, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  } finally {
    mount.kill('SIGTERM');
    await exited;
  }
}

/** The id of the newest pending request the guardian sees, other than one named in `not`. */
async function pendingRequest(not = ''): Promise<string> {
  for (let tries = 0; tries < 60; tries++) {
    const list = await cli(['requests', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const pending = parseJson<{ id: string; approvals: number; denied: boolean; file: string }[]>(list).filter(
      (r) => !not.includes(r.id) && !r.denied && r.approvals === 0,
    );
    if (pending.length > 0) {
      expect(pending.at(-1)!.file).toBe('guarded.bin');
      return pending.at(-1)!.id;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error('no pending request appeared');
}
