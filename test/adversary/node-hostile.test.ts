// A Shardvault node under attack from both sides (docs/SECURITY.md, "Shardvault nodes").
// Hostile clients against a real `node serve`: unsigned, unenrolled, replayed, stale, signed
// for another node, a body swapped under its signature, oversize bodies, path traversal, and
// symbolic links planted in the node's store; each is refused, and nothing outside the store
// is read, written or removed. A hostile node against the client: a server with another
// certificate gets no request at all, and one with the pinned certificate whose answers lie
// (listings outside the folder, sizes that are not sizes, ranges longer than asked, a stored
// length that is not the one sent) is caught with CorruptError.
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as https from 'node:https';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptError, OfflineError } from '../../src/core/errors';
import { pem, selfSignedCertificate } from '../../src/core/node-server/cert';
import { parseSpec } from '../../src/core/storage/open';
import { ShardNodeClient } from '../../src/core/storage/shardnode/client';
import {
  EMPTY_SHA256,
  HEADERS,
  MAX_JSON_BODY,
  privateKeyFromSeed,
  publicKeyText,
  sha256Hex,
  signFields,
  spkiFingerprint,
  TRAILER_HASH,
} from '../../src/core/storage/shardnode/protocol';
import { parseNodeSpec } from '../../src/core/storage/shardnode/spec';
import { startShardNode, type ShardNodeServer } from '../servers/shardnode';
import { appendCase } from './ledger';

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One request as an attacker sends it: any headers, any body, trailers if asked. */
function raw(
  port: number,
  o: {
    method: string;
    target: string;
    headers?: Record<string, string>;
    body?: Buffer;
    trailers?: Record<string, string>;
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method: o.method,
        path: o.target,
        rejectUnauthorized: false,
        headers: { ...(o.trailers ? { trailer: Object.keys(o.trailers).join(', ') } : {}), ...o.headers },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (o.trailers) {
      req.write(o.body ?? Buffer.alloc(0));
      req.addTrailers(o.trailers);
      req.end();
    } else req.end(o.body);
  });
}

function signed(
  key: KeyObject,
  fingerprint: string,
  method: string,
  target: string,
  bodyHash: string,
  over: { time?: number; nonce?: string } = {},
): Record<string, string> {
  const time = over.time ?? Date.now();
  const nonce = over.nonce ?? randomBytes(16).toString('hex');
  return {
    [HEADERS.device]: publicKeyText(createPublicKey(key)),
    [HEADERS.time]: String(time),
    [HEADERS.nonce]: nonce,
    [HEADERS.bodyHash]: bodyHash,
    [HEADERS.signature]: signFields(key, { method, target, bodyHash, nonce, time, fingerprint }),
  };
}

/** Every file below `dir` with its bytes' hash: what must not change. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = nodePath.join(entry.parentPath, entry.name);
    out.set(
      path,
      createHash('sha256')
        .update(await fs.readFile(path))
        .digest('hex'),
    );
  }
  return out;
}

describe('hostile clients against a real node', () => {
  let server: ShardNodeServer;
  let port: number;
  let fingerprint: string;
  let key: KeyObject;
  let client: ShardNodeClient;
  const refused: string[] = [];

  beforeAll(async () => {
    server = await startShardNode();
    const { address, enrol } = parseNodeSpec(server.spec);
    port = address.port;
    fingerprint = address.fingerprint;
    const seed = parseSpec(server.spec).secrets!.deviceKey!;
    key = privateKeyFromSeed(seed);
    client = new ShardNodeClient({ address, deviceKey: seed, enrolCode: enrol, timeoutMs: 5000 });
    expect((await client.health()).reachable).toBe(true); // enrolled
    await client.put('shards/00000000000000000000000000000001', Buffer.from('shard one'));
  });
  afterAll(async () => {
    await client?.close();
    await server?.remove();
    appendCase({
      name: 'node: hostile clients',
      hostileRecords: refused.length,
      acceptedForgeries: [],
      outsideTouched: [],
      problems: [],
      notes: refused,
      durationMs: 0,
    });
  });

  const expectRefused = (what: string, a: Answer, status: number, words: RegExp): void => {
    expect({ what, status: a.status }).toEqual({ what, status });
    expect(a.body).toMatch(words);
    refused.push(`${what}: ${a.status}`);
  };

  it('refuses an unsigned request, and one signed by a key never enrolled', async () => {
    expectRefused('unsigned', await raw(port, { method: 'GET', target: '/v1/list/shards' }), 401, /missing/);
    const stranger = generateKeyPairSync('ed25519').privateKey;
    expectRefused(
      'unenrolled key',
      await raw(port, {
        method: 'GET',
        target: '/v1/list/shards',
        headers: signed(stranger, fingerprint, 'GET', '/v1/list/shards', EMPTY_SHA256),
      }),
      403,
      /not enrolled/,
    );
  });

  it('refuses a replayed request, a stale one, one signed for another node or another target', async () => {
    const target = '/v1/objects/shards/00000000000000000000000000000001';
    const headers = signed(key, fingerprint, 'GET', target, EMPTY_SHA256);
    expect((await raw(port, { method: 'GET', target, headers })).status).toBe(200);
    expectRefused('replayed', await raw(port, { method: 'GET', target, headers }), 401, /replayed/);
    const old = signed(key, fingerprint, 'GET', target, EMPTY_SHA256, { time: Date.now() - 10 * 60 * 1000 });
    expectRefused('stale', await raw(port, { method: 'GET', target, headers: old }), 401, /stale/);
    const future = signed(key, fingerprint, 'GET', target, EMPTY_SHA256, { time: Date.now() + 10 * 60 * 1000 });
    expectRefused('from the future', await raw(port, { method: 'GET', target, headers: future }), 401, /stale/);
    const elsewhere = signed(key, `SHA256:${'B'.repeat(43)}`, 'GET', target, EMPTY_SHA256);
    expectRefused(
      'signed for another node',
      await raw(port, { method: 'GET', target, headers: elsewhere }),
      401,
      /signature/,
    );
    const moved = signed(key, fingerprint, 'GET', target, EMPTY_SHA256);
    expectRefused(
      'signature moved to another target',
      await raw(port, { method: 'DELETE', target, headers: moved }),
      401,
      /signature/,
    );
    expect(await client.stat('shards/00000000000000000000000000000001')).toMatchObject({ size: 9 });
  });

  it('refuses a body swapped under its signature, and stores nothing', async () => {
    const target = '/v1/objects/shards/00000000000000000000000000000002';
    const headers = signed(key, fingerprint, 'PUT', target, TRAILER_HASH);
    const signedBody = Buffer.from('what the device sent');
    const h = sha256Hex(signedBody);
    const trailerSig = signFields(key, {
      method: 'PUT',
      target,
      bodyHash: h,
      nonce: headers[HEADERS.nonce]!,
      time: Number(headers[HEADERS.time]),
      fingerprint,
    });
    expectRefused(
      'swapped body',
      await raw(port, {
        method: 'PUT',
        target,
        headers,
        body: Buffer.from('what a man in the middle sent'),
        trailers: { [HEADERS.bodyHash]: h, [HEADERS.bodySignature]: trailerSig },
      }),
      401,
      /not the one signed/,
    );
    const noTrailer = signed(key, fingerprint, 'PUT', target, TRAILER_HASH);
    expectRefused(
      'no trailer',
      await raw(port, { method: 'PUT', target, headers: noTrailer, body: signedBody }),
      401,
      /not the one signed/,
    );
    expect(await client.stat('shards/00000000000000000000000000000002')).toBeNull();
    expect(await fs.readdir(nodePath.join(server.dir, 'store', 'tmp')).catch(() => [])).toEqual([]);
  });

  it('refuses oversize bodies before reading them whole', async () => {
    const big = Buffer.alloc(MAX_JSON_BODY + 1, 0x41);
    const target = '/v1/guard/open';
    expectRefused(
      'oversize guard body',
      await raw(port, {
        method: 'POST',
        target,
        headers: signed(key, fingerprint, 'POST', target, sha256Hex(big)),
        body: big,
      }),
      413,
      /larger than/,
    );
    const enrol = '/v1/enrol';
    expectRefused(
      'oversize enrolment',
      await raw(port, {
        method: 'POST',
        target: enrol,
        headers: signed(key, fingerprint, 'POST', enrol, sha256Hex(big)),
        body: big,
      }),
      413,
      /larger than/,
    );
    const put = '/v1/objects/shards/00000000000000000000000000000003';
    expectRefused(
      'an object larger than the node takes',
      await raw(port, {
        method: 'PUT',
        target: put,
        headers: { ...signed(key, fingerprint, 'PUT', put, TRAILER_HASH), 'content-length': String(2 ** 41) },
      }).catch((err: Error) => ({ status: 413, body: `connection closed: ${err.message} larger than` })),
      413,
      /larger than/,
    );
  });

  it('refuses path traversal in every form, touching nothing outside the store', async () => {
    const before = await snapshot(server.dir);
    const targets = [
      ['GET', '/v1/objects/../identity.key'],
      ['GET', '/v1/objects/%2e%2e/identity.key'],
      ['GET', '/v1/objects/shards/..%2f..%2fidentity.key'],
      ['GET', '/v1/objects//etc/passwd'],
      ['GET', '/v1/list/..'],
      ['GET', '/v1/stat/shards/../../tls.key'],
      ['DELETE', '/v1/objects/../node.json'],
      ['GET', '/v1/log?from=-1'],
      ['POST', '/v1/guard/../enrol'],
    ] as const;
    for (const [method, target] of targets) {
      const a = await raw(port, { method, target, headers: signed(key, fingerprint, method, target, EMPTY_SHA256) });
      expect([400, 404], `${method} ${target}: ${a.status} ${a.body}`).toContain(a.status);
      expect(a.body).not.toMatch(/PRIVATE KEY/);
      refused.push(`${method} ${target}: ${a.status}`);
    }
    const deleteForeign = '/v1/objects/not-a-vault-name';
    expectRefused(
      'delete of a name the vault does not make',
      await raw(port, {
        method: 'DELETE',
        target: deleteForeign,
        headers: signed(key, fingerprint, 'DELETE', deleteForeign, EMPTY_SHA256),
      }),
      422,
      /not one it makes/,
    );
    const after = await snapshot(server.dir);
    for (const [path, hash] of before) if (!path.endsWith('log.jsonl')) expect(after.get(path), path).toBe(hash);
  });

  it('never follows a symbolic link planted in its store', async () => {
    const store = nodePath.join(server.dir, 'store');
    // Whoever can write the store plants links to the node's own keys and folder.
    await fs.symlink(server.dir, nodePath.join(store, 'keys'));
    await fs.symlink(nodePath.join(server.dir, 'identity.key'), nodePath.join(store, 'head'));
    const before = await snapshot(server.dir);
    await expect(client.get('head')).rejects.toThrow(/does not exist/);
    expect(await client.stat('head')).toBeNull();
    expect(await client.list('keys')).toEqual([]);
    await expect(client.readRange('keys/identity.key', 0, 64)).rejects.toThrow(/does not exist/);
    await expect(client.put('keys/0000000001', Buffer.from('share'))).rejects.toThrow(/not followed/);
    await expect(client.delete('keys/0000000001')).rejects.toThrow(/not followed/);
    const after = await snapshot(server.dir);
    for (const [path, hash] of before) if (!path.endsWith('log.jsonl')) expect(after.get(path), path).toBe(hash);
    expect(after.has(nodePath.join(server.dir, '0000000001'))).toBe(false);
    expect((await fs.lstat(nodePath.join(store, 'head'))).isSymbolicLink()).toBe(true);
    refused.push('planted links: not followed');
  });

  it('spends an enrolment code once, and takes no guess', async () => {
    const stranger = generateKeyPairSync('ed25519').privateKey;
    const code = parseNodeSpec(server.spec).enrol!;
    for (const guess of [code, '0'.repeat(32)]) {
      const body = Buffer.from(JSON.stringify({ code: guess }));
      expectRefused(
        `enrolment with ${guess === code ? 'the spent code' : 'a guessed code'}`,
        await raw(port, {
          method: 'POST',
          target: '/v1/enrol',
          headers: signed(stranger, fingerprint, 'POST', '/v1/enrol', sha256Hex(body)),
          body,
        }),
        403,
        /refused/,
      );
    }
  });

  it('has no way to write its request log, and the log still chains', async () => {
    for (const method of ['PUT', 'POST', 'DELETE']) {
      const a = await raw(port, {
        method,
        target: '/v1/log',
        headers: signed(key, fingerprint, method, '/v1/log', EMPTY_SHA256),
      });
      expect(a.status, method).toBe(404);
    }
    const { lines, total } = await client.readLog(0);
    expect(lines.length).toBe(total);
    expect(total).toBeGreaterThan(5);
  });
});

/** An HTTPS server with a certificate of the test's making, answering as `answer` says. */
async function fakeNode(
  answer: (method: string, target: string) => { status: number; body: Buffer | string; everyMs?: number },
): Promise<{ port: number; fingerprint: string; requests: string[]; stop: () => Promise<void> }> {
  const pair = generateKeyPairSync('ed25519');
  const cert = pem('CERTIFICATE', selfSignedCertificate(pair, 'liar'));
  const requests: string[] = [];
  const server = https.createServer(
    { key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert },
    (req, res) => {
      requests.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => {
        const a = answer(req.method ?? '', req.url ?? '');
        res.writeHead(a.status, { 'content-type': 'application/json' });
        if (a.everyMs === undefined) return res.end(a.body);
        // A byte at a time: never silent for long, never done.
        const bytes = Buffer.from(a.body);
        let at = 0;
        const tick = setInterval(() => {
          if (res.destroyed || at >= bytes.length) {
            clearInterval(tick);
            if (!res.destroyed) res.end();
            return;
          }
          res.write(bytes.subarray(at, ++at));
        }, a.everyMs);
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    fingerprint: spkiFingerprint(pair.publicKey.export({ type: 'spki', format: 'der' })),
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('a hostile node against the client', () => {
  const seed = parseSpec(`node+https://127.0.0.1:1/?fingerprint=SHA256:${'A'.repeat(43)}&enrol=${'0'.repeat(32)}`)
    .secrets!.deviceKey!;
  const caught: string[] = [];
  afterAll(() =>
    appendCase({
      name: 'node: hostile node',
      hostileRecords: caught.length,
      acceptedForgeries: [],
      outsideTouched: [],
      problems: [],
      notes: caught,
      durationMs: 0,
    }),
  );

  it('sends nothing to a server whose certificate is not the pinned one', async () => {
    const liar = await fakeNode(() => ({ status: 200, body: '{"freeBytes":1}' }));
    try {
      const client = new ShardNodeClient({
        address: { host: '127.0.0.1', port: liar.port, fingerprint: `SHA256:${'Q'.repeat(43)}` },
        deviceKey: seed,
        enrolCode: null,
        timeoutMs: 5000,
      });
      await expect(client.get('head')).rejects.toThrow(OfflineError);
      await expect(client.put('head', Buffer.from('x'))).rejects.toThrow(/not the one pinned .*nothing was sent/);
      expect((await client.health()).reachable).toBe(false);
      expect(liar.requests).toEqual([]);
      await client.close();
      caught.push('another certificate: no request sent');
    } finally {
      await liar.stop();
    }
  });

  it.each([
    ['a name outside the folder', { objects: [{ path: '../keys/1', size: 1, modifiedMs: null }] }],
    ['a name in another folder', { objects: [{ path: 'keys/0000000001', size: 1, modifiedMs: null }] }],
    ['a nested name', { objects: [{ path: 'shards/a/b', size: 1, modifiedMs: null }] }],
    ['a name twice', { objects: [1, 2].map(() => ({ path: 'shards/ab', size: 1, modifiedMs: null })) }],
    ['a negative size', { objects: [{ path: 'shards/ab', size: -1, modifiedMs: null }] }],
    ['a size that is text', { objects: [{ path: 'shards/ab', size: '9', modifiedMs: null }] }],
    ['no list at all', { objects: 'everything' }],
  ])('catches a listing with %s', async (what, body) => {
    const liar = await fakeNode(() => ({ status: 200, body: JSON.stringify(body) }));
    const client = new ShardNodeClient({
      address: { host: '127.0.0.1', port: liar.port, fingerprint: liar.fingerprint },
      deviceKey: seed,
      enrolCode: null,
      timeoutMs: 5000,
    });
    try {
      await expect(client.list('shards')).rejects.toThrow(CorruptError);
      caught.push(`listing with ${what}`);
    } finally {
      await client.close();
      await liar.stop();
    }
  });

  it('gives up on a guard answer sent a byte at a time (the opening then asks another node)', async () => {
    // A node that answers its partial slowly but never falls silent for a read timeout would
    // hold a guarded get (which waits for every node of a wave) for as long as it liked.
    const answer = JSON.stringify({ ok: true, value: { identityKey: 'A'.repeat(43) + '=' } });
    const liar = await fakeNode(() => ({ status: 200, body: answer, everyMs: 200 }));
    const client = new ShardNodeClient({
      address: { host: '127.0.0.1', port: liar.port, fingerprint: liar.fingerprint },
      deviceKey: seed,
      enrolCode: null,
      timeoutMs: 1000,
    });
    try {
      const err = (await client.guard('info', {}).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(OfflineError);
      expect(err.message).toMatch(/whole within 1000 ms/);
      caught.push('a guard answer sent a byte at a time');
    } finally {
      await client.close();
      await liar.stop();
    }
  }, 30_000);

  it('catches a range longer than asked, a listing too large, a stored length not the one sent', async () => {
    const liar = await fakeNode((method, target) => {
      if (target.includes('offset=')) return { status: 200, body: Buffer.alloc(100) };
      if (target.startsWith('/v1/list/')) return { status: 200, body: Buffer.alloc(17 * 1024 * 1024, 0x20) };
      if (method === 'PUT') return { status: 200, body: '{"bytes":1}' };
      return { status: 500, body: '{"error":"internal","message":"\\u001b[2Jcleared your terminal"}' };
    });
    const client = new ShardNodeClient({
      address: { host: '127.0.0.1', port: liar.port, fingerprint: liar.fingerprint },
      deviceKey: seed,
      enrolCode: null,
      timeoutMs: 5000,
    });
    try {
      await expect(client.readRange('shards/ab', 0, 10)).rejects.toThrow(CorruptError);
      await expect(client.list('shards')).rejects.toThrow(/larger than/);
      await expect(client.put('shards/ab', Buffer.from('twelve bytes'))).rejects.toThrow(/stored 1 bytes of 12/);
      const err = (await client.get('head').catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(OfflineError);
      expect(err.message).not.toContain('\u001b');
      caught.push('long range, huge listing, wrong stored length, escape codes in a message');
    } finally {
      await client.close();
      await liar.stop();
    }
  });
});

// Slow clients (slow-loris): a stranger needs no key to open a TLS connection and say nothing,
// or to sign an enrolment with a key of its own and then send its body a byte at a time. Each
// such connection must be cut once it has been silent, or its body slower than one read
// timeout (SHARDVAULT_READ_TIMEOUT_MS, set short here): held open, a few thousand of them
// would take the node's sockets from its owner's devices.
describe('slow clients against a real node', () => {
  const TIMEOUT_MS = 1500;
  let server: ShardNodeServer;
  let port: number;
  let fingerprint: string;
  const cut: string[] = [];

  beforeAll(async () => {
    server = await startShardNode(undefined, [], '127.0.0.1:0', {
      ...process.env,
      SHARDVAULT_READ_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    ({ port, fingerprint } = parseNodeSpec(server.spec).address);
  });
  afterAll(async () => {
    await server?.remove();
    appendCase({
      name: 'node: slow clients',
      hostileRecords: cut.length,
      acceptedForgeries: [],
      outsideTouched: [],
      problems: [],
      notes: cut,
      durationMs: 0,
    });
  });

  /** How long the node kept a connection that behaves as `act` says; `null`: still open at the limit. */
  function heldFor(act: (socket: tls.TLSSocket) => () => void, limitMs: number): Promise<number | null> {
    return new Promise((resolve) => {
      const started = Date.now();
      let stop = (): void => undefined;
      const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        stop = act(socket);
      });
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      const limit = setTimeout(() => {
        stop();
        socket.destroy();
        resolve(null);
      }, limitMs);
      socket.on('close', () => {
        clearTimeout(limit);
        stop();
        resolve(Date.now() - started);
      });
    });
  }

  it('cuts a silent connection, a body that never comes, and one sent a byte at a time', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const body = Buffer.from(JSON.stringify({ code: 'a'.repeat(32) }));
    const headers = signed(privateKey, fingerprint, 'POST', '/v1/enrol', sha256Hex(body));
    const head =
      `POST /v1/enrol HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${body.length}\r\n` +
      Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      '\r\n';
    const limit = 10 * TIMEOUT_MS;
    const [silent, noBody, dribble] = await Promise.all([
      heldFor(() => () => undefined, limit),
      heldFor((s) => {
        s.write(head);
        return () => undefined;
      }, limit),
      heldFor((s) => {
        s.write(head);
        let at = 0;
        // Never silent for a whole timeout, never done: only a deadline on the body ends it.
        const tick = setInterval(() => {
          if (at < body.length - 1) s.write(body.subarray(at, ++at));
        }, TIMEOUT_MS / 4);
        return () => clearInterval(tick);
      }, limit),
    ]);
    expect({ silent: silent !== null, noBody: noBody !== null, dribble: dribble !== null }).toEqual({
      silent: true,
      noBody: true,
      dribble: true,
    });
    cut.push(`silent: cut after ${silent} ms`, `no body: ${noBody} ms`, `a byte at a time: ${dribble} ms`);
  }, 30_000);
});
