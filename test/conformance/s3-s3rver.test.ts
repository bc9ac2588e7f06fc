import { readdir } from 'node:fs/promises';
import * as http from 'node:http';
import type { LookupFunction } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, OfflineError, ShardvaultError } from '../../src/core/errors';
import { PATHS } from '../../src/core/format/records';
import { readObject, type StorageNode } from '../../src/core/storage/node';
import type { S3Address } from '../../src/core/storage/s3/address';
import { S3Node, type S3NodeOptions } from '../../src/core/storage/s3/node';
import { startS3rver, type S3rverServer } from '../servers/s3rver';
import {
  chunked,
  equalBytes,
  failing,
  generate,
  getWhileServerDies,
  pattern,
  putWhileServerDies,
  runConformance,
} from './suite';
import { KINDS } from '../../src/core/storage/kinds';

const MiB = 1 << 20;
const WRITES_IN_PLACE =
  's3rver writes an object into its file as it arrives (S3 and MinIO make it visible whole); ' +
  'run SHARDVAULT_TEST_S3_ENDPOINT against a real server for it';

let server: S3rverServer;
beforeAll(async () => {
  server = await startS3rver();
});
afterAll(async () => {
  await server?.stop();
});

function address(on: S3rverServer, extra: Partial<S3Address> = {}): S3Address {
  return {
    host: on.host,
    port: on.port,
    bucket: on.bucket,
    region: 'us-east-1',
    style: 'path',
    accessKeyId: on.accessKeyId,
    secretAccessKey: on.secretAccessKey,
    secure: false,
    ...extra,
  };
}

function node(extra: Partial<S3Address> = {}, options: S3NodeOptions = {}): S3Node {
  return new S3Node(address(server, extra), options);
}

runConformance('S3 (s3rver)', () => Promise.resolve({ node: KINDS.s3.compose(node()) }), {
  writesInPlace: WRITES_IN_PLACE,
});

runConformance(
  'S3 (s3rver) below a prefix',
  () => Promise.resolve({ node: KINDS.s3.compose(node({ prefix: 'vaults/alice' })) }),
  {
    writesInPlace: WRITES_IN_PLACE,
  },
);

describe('S3 (s3rver): server specifics', () => {
  const open: StorageNode[] = [];
  const make = (extra: Partial<S3Address> = {}, options: S3NodeOptions = {}): S3Node => {
    const made = node(extra, options);
    open.push(made);
    return made;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((n) => n.close()));
  });

  it('uploads in parts at and around the part size, as bytes and as streams of odd chunks', async () => {
    const s3 = make({}, { partSize: 5 * MiB });
    for (const size of [5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 10 * MiB, 12 * MiB + 3]) {
      const data = pattern(`parts-${size}`, size);
      expect(await s3.put(`parts/${size}/bytes`, data)).toBe(size);
      expect(await s3.put(`parts/${size}/stream`, chunked(data, 777_777))).toBe(size);
      for (const p of [`parts/${size}/bytes`, `parts/${size}/stream`]) {
        expect((await s3.stat(p))?.size).toBe(size);
        expect(equalBytes(await readObject(s3, p, size), data)).toBe(true);
      }
    }
  });

  it('a source that fails after two parts leaves nothing visible; its upload is aborted (s3rver: 405, kept)', async () => {
    const s3 = make({}, { partSize: 5 * MiB });
    const boom = new Error('source broke after two parts');
    const uploadsBefore = await multipartUploads(server);
    await expect(s3.put('aborted/obj', failing(pattern('a', 16 * MiB), 11 * MiB, boom))).rejects.toThrow(boom.message);
    expect(await s3.stat('aborted/obj')).toBeNull();
    expect(await s3.list('aborted')).toEqual([]);
    // The parts went to an upload (s3rver keeps one folder per upload): this was a multipart put.
    expect((await multipartUploads(server)).length).toBe(uploadsBefore.length + 1);
  });

  it('lists page by page, direct children only, each once', async () => {
    const s3 = make({}, { pageSize: 2 });
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const name of names) await s3.put(`paged/${name}`, pattern(name, 10));
    for (const sub of ['x/1', 'y/2', 'y/z/3']) await s3.put(`paged/${sub}`, pattern(sub, 5));
    const listed = (await s3.list('paged')).map((e) => e.path).sort();
    expect(listed).toEqual(names.map((n) => `paged/${n}`));
  });

  it('keeps a prefixed location inside its prefix, and sees nothing outside it', async () => {
    const whole = make();
    const inside = make({ prefix: 'tenants/bob' });
    const head = PATHS.head;
    await inside.put(head, pattern('inside', 11));
    await whole.put('outside', pattern('outside', 3));
    expect((await whole.stat(`tenants/bob/${head}`))?.size).toBe(11);
    expect(await inside.stat('outside')).toBeNull();
    expect((await inside.list('')).map((e) => e.path)).toEqual([head]);
    expect((await whole.list('tenants')).map((e) => e.path)).toEqual([]);
    await inside.delete(head);
    expect(await whole.stat(`tenants/bob/${head}`)).toBeNull();
  });

  it('addresses the bucket by host name in virtual-host style', async () => {
    const asked: string[] = [];
    const lookup: LookupFunction = (hostname, options, callback) => {
      asked.push(hostname);
      if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    };
    const s3 = make({ host: `s3.${server.vhostDomain}`, style: 'virtual', allowInsecureHttp: true }, { lookup });
    await s3.put('vhost/obj', pattern('vhost', 1000));
    expect(equalBytes(await readObject(s3, 'vhost/obj', 1000), pattern('vhost', 1000))).toBe(true);
    expect((await s3.list('vhost')).map((e) => e.path)).toEqual(['vhost/obj']);
    expect(new Set(asked)).toEqual(new Set([`${server.bucket}.s3.${server.vhostDomain}`]));
    // The same object, through path style.
    expect((await make().stat('vhost/obj'))?.size).toBe(1000);
  });

  it('refuses an unknown access key as a permission error, in words, without the secret', async () => {
    const secret = 'correct-horse-battery-staple-9f2c';
    const s3 = make({ accessKeyId: 'NOBODY', secretAccessKey: secret });
    const errors: unknown[] = [];
    for (const call of [() => s3.stat('x'), () => s3.list(''), () => s3.put('x', pattern('x', 3))]) {
      errors.push(await call().catch((e: unknown) => e));
    }
    for (const err of errors) {
      expect(err).toBeInstanceOf(ShardvaultError);
      expect((err as ShardvaultError).code).toBe('permission');
      expect((err as Error).message).toMatch(/check the access key ID and secret key/);
      expect(inspect(err, { depth: 12 })).not.toContain(secret);
    }
    const health = await s3.health();
    expect(health.reachable).toBe(false);
    expect(health.error).toMatch(/refused the access key/);
  });

  it('says when the bucket does not exist, and does not create it', async () => {
    const s3 = make({ bucket: 'no-such-bucket' });
    const err = await s3.stat('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShardvaultError);
    expect(err).not.toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toMatch(/the bucket does not exist/);
    await expect(s3.put('x', pattern('x', 3))).rejects.toThrow(/the bucket does not exist/);
    expect((await s3.health()).error).toMatch(/the bucket does not exist/);
  });

  it('takes its settings from its address alone: no AWS environment, file or metadata service', async () => {
    // Everything here would change where, how or as whom the node writes, or fail it, if read.
    const metadata = await recorder();
    const proxy = await recordingProxy(server);
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      AWS_REGION: 'eu-west-3',
      AWS_ENDPOINT_URL: metadata.url,
      AWS_ENDPOINT_URL_S3: metadata.url,
      AWS_USE_FIPS_ENDPOINT: 'true',
      AWS_USE_DUALSTACK_ENDPOINT: 'true',
      AWS_S3_USE_ARN_REGION: 'true',
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_SUPPORTED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_SUPPORTED',
      AWS_MAX_ATTEMPTS: '7',
      AWS_RETRY_MODE: 'adaptive',
      AWS_DEFAULTS_MODE: 'auto',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: metadata.url,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${metadata.url}/creds`,
      AWS_PROFILE: 'nonexistent-profile',
    });
    try {
      const good = make({ port: proxy.port }, { partSize: 5 * MiB });
      const data = pattern('env', 6 * MiB);
      await good.put('env/obj', data); // two parts
      await good.put('env/small', pattern('small', 10));
      expect(equalBytes(await readObject(good, 'env/obj', 6 * MiB), data)).toBe(true);
      expect((await good.list('env')).map((e) => e.path).sort()).toEqual(['env/obj', 'env/small']);
      // No checksum went with any request (only where an operation requires one).
      const sent = proxy.requests.map((r) => r.method);
      expect(sent).toEqual(expect.arrayContaining(['PUT', 'POST', 'GET']));
      for (const r of proxy.requests) {
        expect(
          Object.keys(r.headers).filter((h) => h.startsWith('x-amz-checksum') || h === 'x-amz-sdk-checksum-algorithm'),
        ).toEqual([]);
        expect(r.headers['x-amz-content-sha256'] ?? '').not.toMatch(/TRAILER/);
      }
      // The SDK does not retry (the engine's withRetry does): one request for one failing call.
      proxy.failNext(503);
      const before = proxy.requests.length;
      await expect(good.stat('env/obj')).rejects.toBeInstanceOf(OfflineError);
      expect(proxy.requests.length - before).toBe(1);
      // The environment holds the right key; the node's own wrong one is what it uses.
      const wrong = make({ accessKeyId: 'NOBODY' });
      await expect(wrong.stat('env/obj')).rejects.toMatchObject({ code: 'permission' });
      expect(metadata.requests).toEqual([]);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
      await metadata.stop();
      await proxy.stop();
    }
  });

  it('is OfflineError when the server dies mid-transfer', { timeout: 60_000 }, async () => {
    for (const direction of ['get', 'put'] as const) {
      const dying = await startS3rver();
      const s3 = new S3Node(address(dying), { timeoutMs: 5000 });
      try {
        await s3.put('obj', generate('old', 48 * MiB, MiB));
        const err =
          direction === 'get'
            ? await getWhileServerDies(s3, 'obj', () => dying.kill())
            : await putWhileServerDies(s3, 'obj', () => dying.kill());
        expect(err, direction).toBeInstanceOf(OfflineError);
        expect((await s3.health()).reachable).toBe(false);
        await expect(s3.stat('obj')).rejects.toBeInstanceOf(OfflineError);
      } finally {
        await s3.close();
        await dying.stop();
      }
    }
  });
});

/** The multipart uploads s3rver keeps (one folder each, until completed). */
async function multipartUploads(on: S3rverServer): Promise<string[]> {
  const entries = await readdir(on.dataDir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && /uploads$/.test(e.parentPath)).map((e) => e.name);
}

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

/** A loopback HTTP proxy in front of s3rver that records each request and can fail the next one. */
async function recordingProxy(
  to: S3rverServer,
): Promise<{ port: number; requests: Recorded[]; failNext: (status: number) => void; stop: () => Promise<void> }> {
  const requests: Recorded[] = [];
  let failing: number | null = null;
  const agent = new http.Agent({ keepAlive: true });
  const srv = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (failing !== null) {
      res.statusCode = failing;
      failing = null;
      req.resume();
      res.end();
      return;
    }
    const upstream = http.request(
      { host: to.host, port: to.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: (srv.address() as { port: number }).port,
    requests,
    failNext: (status) => {
      failing = status;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        srv.closeAllConnections();
        agent.destroy();
        srv.close(() => resolve());
      }),
  };
}

/** An HTTP server that records every request it gets and answers 500. */
async function recorder(): Promise<{ url: string; requests: string[]; stop: () => Promise<void> }> {
  const requests: string[] = [];
  const srv = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.headers.host}${req.url}`);
    res.statusCode = 500;
    res.end();
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((resolve) => srv.close(() => resolve())),
  };
}
