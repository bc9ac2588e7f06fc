// An S3 endpoint that lies (docs/SECURITY.md, "A location that lies"): a real loopback HTTP
// server written here answers the S3 node's requests with well-formed XML and headers of its
// choosing. It plays the provider, or whoever holds the bucket: names outside the prefix,
// path tricks, pages larger than asked for, bodies that never end, continuation tokens that
// go round, wrong lengths, redirects to another host. The node must answer each with the
// engine's typed errors or a listing of the names a put could have made, hold a bounded
// amount in memory, never ask another host, and never put its keys in a message.
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CorruptError, OfflineError, ShardvaultError } from '../../src/core/errors';
import { readObject } from '../../src/core/storage/node';
import { S3Node, type S3NodeOptions } from '../../src/core/storage/s3/node';
import { appendCase } from './ledger';

const ACCESS_KEY = 'AKIAHOSTILETEST0001';
const SECRET = 'hostile/secret+key=never-shown-0123456789';
const BUCKET = 'vault-bucket';
const MiB = 1 << 20;

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void;

interface Hostile {
  readonly port: number;
  /** Requests received, as METHOD path?query. */
  readonly requests: string[];
  handle: Handler;
  stop(): Promise<void>;
}

async function hostileServer(): Promise<Hostile> {
  const requests: string[] = [];
  const server: Hostile & { srv?: http.Server } = {
    port: 0,
    requests,
    handle: (_req, res) => {
      res.statusCode = 500;
      res.end();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  };
  const srv = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    req.resume();
    res.on('error', () => undefined);
    // The bucket check every node starts with: a listing of one key.
    if (req.method === 'GET' && url.searchParams.get('max-keys') === '1') {
      res.setHeader('content-type', 'application/xml');
      res.end(listPage([], { truncated: false }));
      return;
    }
    server.handle(req, res, url);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return Object.assign(server, { port: (srv.address() as { port: number }).port });
}

const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function listPage(keys: readonly string[], page: { truncated: boolean; next?: string; size?: number }): string {
  const contents = keys
    .map(
      (k) =>
        `<Contents><Key>${xmlText(k)}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>` +
        `<ETag>"d41d8cd98f00b204e9800998ecf8427e"</ETag><Size>${page.size ?? 3}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
    )
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<Name>${BUCKET}</Name><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys>` +
    `<IsTruncated>${page.truncated}</IsTruncated>` +
    (page.next === undefined ? '' : `<NextContinuationToken>${xmlText(page.next)}</NextContinuationToken>`) +
    `${contents}</ListBucketResult>`
  );
}

/** Writes `total` bytes of `fill` in 1 MiB writes, waiting for the socket to drain; stops when the client leaves. */
function stream(res: http.ServerResponse, head: string, fill: string, total: number, tail = ''): void {
  const chunk = Buffer.alloc(MiB, fill);
  let sent = 0;
  res.write(head);
  const more = (): void => {
    while (sent < total && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', more);
        return;
      }
    }
    if (!res.destroyed) res.end(tail);
  };
  more();
}

/** Everything the node's errors could show: message, cause chain, and their inspection. */
function shown(err: unknown): string {
  return `${(err as Error).message}\n${inspect(err, { depth: 6 })}`;
}

describe('an S3 endpoint that lies', () => {
  let hostile: Hostile;
  let other: Hostile;
  const open: S3Node[] = [];
  const names: string[] = [];
  const make = (options: S3NodeOptions = {}, prefix?: string): S3Node => {
    const node = new S3Node(
      {
        host: '127.0.0.1',
        port: hostile.port,
        bucket: BUCKET,
        ...(prefix === undefined ? {} : { prefix }),
        region: 'us-east-1',
        style: 'path',
        accessKeyId: ACCESS_KEY,
        secretAccessKey: SECRET,
        secure: false,
      },
      { timeoutMs: 10_000, ...options },
    );
    open.push(node);
    return node;
  };

  beforeAll(async () => {
    hostile = await hostileServer();
    other = await hostileServer();
  });
  afterEach(async (ctx) => {
    await Promise.all(open.splice(0).map((n) => n.close()));
    names.push(ctx.task.name);
  });
  afterAll(async () => {
    await hostile?.stop();
    await other?.stop();
    appendCase({
      name: 's3 hostile endpoint',
      hostileRecords: names.length,
      acceptedForgeries: [],
      outsideTouched: [],
      problems: [],
      notes: names,
      durationMs: 0,
    });
  });

  it('lists only direct children below its prefix with names a put makes', async () => {
    hostile.handle = (_req, res, url) => {
      const prefix = url.searchParams.get('prefix') ?? '';
      res.setHeader('content-type', 'application/xml');
      res.end(
        listPage(
          [
            `${prefix}0123456789abcdef0123456789abcdef`,
            `${prefix}0123456789abcdef0123456789abcdef`, // twice
            `${prefix}../head`,
            `${prefix}..`,
            `${prefix}.`,
            `${prefix}a%2Fb`,
            `${prefix}a/b`,
            `${prefix}`,
            `${prefix}${'x'.repeat(5000)}`,
            `${prefix}name\u0000nul`,
            `${prefix}ünïcode`,
            'other/shards/0123456789abcdef0123456789abcdef',
            'head',
            `/${prefix}abs`,
            prefix.slice(0, -1),
          ],
          { truncated: false },
        ),
      );
    };
    const s3 = make({}, 'vaults/alice');
    const listed = await s3.list('shards');
    expect(listed.map((o) => o.path)).toEqual(['shards/0123456789abcdef0123456789abcdef']);
    expect(hostile.requests.at(-1)).toContain('prefix=vaults%2Falice%2Fshards%2F');
  });

  it('refuses a page with more keys than it asked for', async () => {
    hostile.handle = (_req, res, url) => {
      const prefix = url.searchParams.get('prefix') ?? '';
      res.setHeader('content-type', 'application/xml');
      const keys = Array.from({ length: 50 }, (_, i) => `${prefix}k${i}`);
      res.end(listPage(keys, { truncated: false }));
    };
    const s3 = make({ pageSize: 10 });
    await expect(s3.list('shards')).rejects.toBeInstanceOf(CorruptError);
  });

  it('refuses a listing body past its bound instead of holding it in memory', async () => {
    // 48 MiB of whitespace inside a well-formed page, sent chunked (no length announced).
    hostile.handle = (_req, res, url) => {
      const prefix = url.searchParams.get('prefix') ?? '';
      res.setHeader('content-type', 'application/xml');
      const page = listPage([`${prefix}k1`], { truncated: false });
      const cut = page.indexOf('</ListBucketResult>');
      stream(res, page.slice(0, cut), ' ', 48 * MiB, page.slice(cut));
    };
    const s3 = make();
    const err = await s3.list('shards').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptError);
    expect((err as Error).message).toMatch(/larger than/);
  });

  it('refuses an error answer past its bound (the SDK reads error bodies whole)', async () => {
    hostile.handle = (_req, res) => {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/xml');
      stream(res, '<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>', 'm', 48 * MiB, '</Message></Error>');
    };
    const s3 = make();
    const err = await s3.get('shards/0123456789abcdef0123456789abcdef').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptError);
    expect((err as Error).message).toMatch(/larger than/);
  });

  it('gives up on an answer that trickles in, never silent long enough to time out', async () => {
    hostile.handle = (_req, res, url) => {
      const prefix = url.searchParams.get('prefix') ?? '';
      res.setHeader('content-type', 'application/xml');
      const page = Buffer.from(listPage([`${prefix}k1`], { truncated: false }));
      let at = 0;
      const drip = setInterval(() => {
        if (res.destroyed || at >= page.length) {
          clearInterval(drip);
          if (!res.destroyed) res.end();
          return;
        }
        res.write(page.subarray(at, ++at));
      }, 100);
    };
    const s3 = make({ timeoutMs: 1000 });
    const started = Date.now();
    const err = await s3.list('shards').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OfflineError);
    expect((err as OfflineError).unresponsive).toBe(true);
    // The page is some 400 bytes: a byte each 100 ms would take 40 s.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('gives up on a put, a stat and a delete whose answers trickle in', async () => {
    hostile.handle = (req, res) => {
      res.setHeader('etag', '"d41d8cd98f00b204e9800998ecf8427e"');
      res.setHeader('content-type', 'application/xml');
      if (req.method === 'HEAD') {
        res.setHeader('content-length', '3');
        res.end();
        return;
      }
      res.write(' ');
      const drip = setInterval(() => (res.destroyed ? clearInterval(drip) : res.write(' ')), 100);
    };
    const s3 = make({ timeoutMs: 1000 });
    for (const call of [
      () => s3.put('shards/0123456789abcdef0123456789abcdef', new Uint8Array(3)),
      () => s3.delete('shards/0123456789abcdef0123456789abcdef'),
    ]) {
      const started = Date.now();
      await expect(call()).rejects.toBeInstanceOf(OfflineError);
      expect(Date.now() - started).toBeLessThan(5000);
    }
    expect((await s3.stat('shards/0123456789abcdef0123456789abcdef'))?.size).toBe(3);
  });

  it('stops a listing whose continuation tokens go round', async () => {
    let served = 0;
    hostile.handle = (_req, res, url) => {
      served++;
      const prefix = url.searchParams.get('prefix') ?? '';
      const token = url.searchParams.get('continuation-token');
      res.setHeader('content-type', 'application/xml');
      // A, B, A, B...: never the token just given, never an end.
      res.end(listPage([`${prefix}k${served}`], { truncated: true, next: token === 'A' ? 'B' : 'A' }));
    };
    const s3 = make();
    const err = await s3.list('shards').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptError);
    expect(served).toBeLessThan(5);
  });

  it('bounds a body that never ends, and a body shorter or longer than announced', async () => {
    const path = 'shards/0123456789abcdef0123456789abcdef';
    hostile.handle = (_req, res) => {
      res.setHeader('content-type', 'application/octet-stream');
      stream(res, '', 'z', 2 ** 40); // a terabyte, chunked
    };
    const s3 = make();
    await expect(readObject(s3, path, 4 * MiB)).rejects.toBeInstanceOf(CorruptError);
    hostile.handle = (_req, res) => {
      res.setHeader('content-length', '1000');
      res.write(Buffer.alloc(10, 1));
      setTimeout(() => res.destroy(), 50);
    };
    await expect(readObject(s3, path, 4 * MiB)).rejects.toBeInstanceOf(OfflineError);
  });

  it('follows no redirect to another host', async () => {
    for (const status of [301, 302, 303, 307, 308]) {
      hostile.handle = (req, res) => {
        res.statusCode = status;
        res.setHeader('location', `http://127.0.0.1:${other.port}${req.url}`);
        res.end();
      };
      const s3 = make();
      for (const call of [
        () => s3.get('shards/0123456789abcdef0123456789abcdef'),
        () => s3.list('shards'),
        () => s3.put('shards/0123456789abcdef0123456789abcdef', new Uint8Array(10)),
      ]) {
        const err = await call().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, String(status)).toBeInstanceOf(ShardvaultError);
      }
    }
    expect(other.requests).toEqual([]);
  });

  it('never shows its keys in an error, whatever the server answers', async () => {
    const answers: Array<[number, string]> = [
      [403, `<Error><Code>AccessDenied</Code><Message>SERVER-WORDS \u001b[2J ${ACCESS_KEY}</Message></Error>`],
      [400, `<Error><Code>${ACCESS_KEY}</Code><Message>x</Message></Error>`],
      [500, 'not xml at all'],
      [200, '<ListBucketResult><Contents><Key>'],
    ];
    for (const [status, body] of answers) {
      hostile.handle = (_req, res) => {
        res.statusCode = status;
        res.setHeader('content-type', 'application/xml');
        res.end(body);
      };
      const s3 = make();
      const calls = [() => s3.list('shards'), () => s3.stat('head'), () => s3.put('head', new Uint8Array(3))];
      // A 200 is a put's success and a stat's answer whatever its body: only a listing reads it.
      for (const call of status === 200 ? calls.slice(0, 1) : calls) {
        const err = await call().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, `${status} ${body}`).toBeInstanceOf(ShardvaultError);
        expect((err as Error).message).not.toContain(ACCESS_KEY);
        expect((err as Error).message).not.toContain('SERVER-WORDS');
        expect((err as Error).message).not.toContain('\u001b');
        // The secret is never sent: nothing an error carries (request, answer, cause) holds it.
        expect(shown(err)).not.toContain(SECRET);
      }
    }
    // Nor did a request carry it (SigV4 sends a signature).
    const digest = createHash('sha256').update(SECRET).digest('hex');
    expect(hostile.requests.join('\n')).not.toContain(SECRET);
    expect(hostile.requests.join('\n')).not.toContain(digest);
  });
});
