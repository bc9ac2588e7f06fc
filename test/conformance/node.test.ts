// The node kind over a real `shardvault node serve` on loopback: the conformance suite through
// the kind's own open (pinning, enrolment, signed requests, retry and breaker), the SPEC line
// the node prints, its refusal of a second vault, its exit on SIGTERM, and its request log.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeVaultRecord, PATHS } from '../../src/core/format/records';
import { KINDS } from '../../src/core/storage/kinds';
import { parseSpec } from '../../src/core/storage/open';
import { ShardNodeClient } from '../../src/core/storage/shardnode/client';
import { readEntry } from '../../src/core/storage/shardnode/log-chain';
import { publicKeyText } from '../../src/core/storage/shardnode/protocol';
import { parseNodeSpec } from '../../src/core/storage/shardnode/spec';
import { runCli } from '../helpers/cli';
import { startShardNode, type ShardNodeServer } from '../servers/shardnode';
import { runConformance } from './suite';

const SPEC_LINE =
  /^node\+https:\/\/127\.0\.0\.1:([1-9][0-9]*)\/\?fingerprint=SHA256:[A-Za-z0-9+/]{43}&enrol=[0-9a-f]{32}$/;

runConformance('shardvault node (node serve on loopback)', async () => {
  const server = await startShardNode();
  const parsed = parseSpec(server.spec);
  return { node: KINDS.node.open(parsed.spec, parsed.secrets, {}), stop: () => server.remove() };
});

function record(vaultId: string): Uint8Array {
  return encodeVaultRecord({
    vaultId,
    locationId: 'b'.repeat(32),
    kdf: { logN: 15, r: 8, p: 1 },
    salt: new Uint8Array(32),
    created: new Date().toISOString(),
    logPublicKey: null,
  });
}

describe('node serve', () => {
  let server: ShardNodeServer;
  let client: ShardNodeClient;
  beforeAll(async () => {
    server = await startShardNode();
    const { address, enrol } = parseNodeSpec(server.spec);
    const { secrets } = parseSpec(server.spec);
    client = new ShardNodeClient({ address, deviceKey: secrets!.deviceKey!, enrolCode: enrol, timeoutMs: 5000 });
  });
  afterAll(async () => {
    await client?.close();
    await server?.remove();
  });

  it('prints its SPEC first, with nothing before it, and keeps its keys in 0600 files', async () => {
    expect(server.before).toBe('');
    expect(server.spec).toMatch(SPEC_LINE);
    for (const name of ['identity.key', 'tls.key', 'tls.crt', 'node.json', 'enrol.json']) {
      expect((await stat(nodePath.join(server.dir, name))).mode & 0o777, name).toBe(0o600);
    }
    // The code itself is never kept, only its hash.
    const code = parseNodeSpec(server.spec).enrol!;
    expect(await readFile(nodePath.join(server.dir, 'enrol.json'), 'utf8')).not.toContain(code);
  });

  it('enrols on first use, then serves one vault and refuses another by its id', async () => {
    const a = 'a'.repeat(32);
    await client.put(PATHS.vault, record(a));
    await expect(client.put(PATHS.vault, record('c'.repeat(32)))).rejects.toThrow(
      new RegExp(`serves vault ${a}, not c{32}: a second vault needs a second node`),
    );
    await client.put(PATHS.vault, record(a)); // the same vault again is fine
  });

  it('keeps an append-only, hash-chained log of every authenticated request, readable by the device', async () => {
    await client.stat('head');
    const { lines, total } = await client.readLog(0);
    expect(total).toBe(lines.length);
    const entries = lines.map((l) => readEntry(l)!);
    expect(entries[0]!.target).toBe('/v1/enrol');
    expect(
      entries.some((e) => e.method === 'PUT' && e.target === '/v1/objects/shardvault.json' && e.status === 409),
    ).toBe(true);
    expect(entries.every((e) => e.device === client.deviceText)).toBe(true);
    // A later page chains to the one before.
    const tail = await client.readLog(2, null);
    expect(tail.lines[0]).toBe(lines[2]);
  });

  it('enrols one more device with a code from node new-code, once', async () => {
    const issued = await runCli(['node', 'new-code', '--dir', server.dir]);
    expect(issued.code, issued.stderr).toBe(0);
    const spec = issued.stdout.trim();
    expect(spec).toMatch(
      /^node\+https:\/\/127\.0\.0\.1:[0-9]+\/\?fingerprint=SHA256:[A-Za-z0-9+/]{43}&enrol=[0-9a-f]{32}$/,
    );
    const second = new ShardNodeClient({
      address: parseNodeSpec(spec).address,
      deviceKey: parseSpec(spec).secrets!.deviceKey!,
      enrolCode: parseNodeSpec(spec).enrol,
      timeoutMs: 5000,
    });
    const third = new ShardNodeClient({
      address: parseNodeSpec(spec).address,
      deviceKey: parseSpec(spec).secrets!.deviceKey!,
      enrolCode: parseNodeSpec(spec).enrol,
      timeoutMs: 5000,
    });
    try {
      expect(await second.stat(PATHS.vault)).toMatchObject({ path: PATHS.vault });
      await expect(third.stat(PATHS.vault)).rejects.toThrow(/refused this device \(enrolment refused/);
    } finally {
      await second.close();
      await third.close();
    }
    const nowhere = await runCli(['node', 'new-code', '--dir', nodePath.join(server.dir, 'nothing')]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/not a node's folder/);
  });

  it("hosts the guard Custodian: its info names the node's identity key", async () => {
    const answer = (await client.guard('info', {})) as { ok: boolean; value: { identityKey: string; epoch: unknown } };
    expect(answer.ok).toBe(true);
    const identity = createPublicKey(
      createPrivateKey(await readFile(nodePath.join(server.dir, 'identity.key'), 'utf8')),
    );
    expect(Buffer.from(answer.value.identityKey, 'base64').toString('base64url')).toBe(publicKeyText(identity));
    expect(answer.value.epoch).toBeNull(); // no setup yet
    const refused = (await client.guard('partial', {})) as { ok: boolean; reason: string };
    expect(refused).toMatchObject({ ok: false, reason: 'malformed' });
    expect((await stat(nodePath.join(server.dir, 'seal.key'))).mode & 0o777).toBe(0o600);
  });

  it('prints its SPEC without a code once enrolled, and exits 0 on SIGTERM', async () => {
    const enrolled = await startShardNode(server.dir).catch((err: unknown) => err);
    // The folder is in use by the running node only through files: a second process over it
    // is the operator's mistake, but it must still print an enrolled SPEC.
    expect(enrolled).not.toBeInstanceOf(Error);
    const again = enrolled as ShardNodeServer;
    expect(again.spec).toMatch(/^node\+https:\/\/127\.0\.0\.1:[0-9]+\/\?fingerprint=SHA256:[A-Za-z0-9+/]{43}$/);
    expect(parseNodeSpec(again.spec).address.fingerprint).toBe(parseNodeSpec(server.spec).address.fingerprint);
    expect(await again.stop()).toBe(0);
  });
});
