/**
 * A storage location in a bucket of an S3-compatible object store (AWS S3, MinIO, Backblaze
 * B2, Cloudflare R2, Wasabi, Garage, s3rver...), over the AWS SDK for JavaScript v3 (SigV4).
 *
 * The SDK is loaded on the first call that needs it (a dynamic import), so a vault without
 * an S3 location never loads it. It is configured wholly from the address: explicit
 * credentials, region, endpoint and every setting the SDK would otherwise look up in the
 * environment, ~/.aws files or the instance-metadata service (the location's credentials
 * are its own; a machine's AWS setup must not change where or as whom it writes). Checksums
 * are sent and checked only where an operation requires them (servers that predate the
 * SDK's default checksums refuse them). The SDK does not retry: withRetry does.
 *
 * How the contract (../node.ts) is kept:
 * - put is atomic because S3 makes a PutObject, and a multipart upload at its completion,
 *   visible whole or not at all (AWS, MinIO; s3rver writes in place and does not). An object
 *   up to one part (8 MiB) is one PutObject; a larger one, or a stream still going after
 *   one part, a multipart upload of 8 MiB parts (the part size doubles every 1000 parts, to
 *   stay within S3's 10,000), one part uploading while the next is read. A failed upload is
 *   aborted (best effort: where that fails too, the parts stay invisible until the bucket's
 *   lifecycle rule for incomplete uploads removes them). No temporary object is written.
 * - There are no folders: a key's parents exist by its name alone, put needs none, and list
 *   asks with the delimiter '/' and returns the direct children only, page by page.
 * - rename is a copy then a delete: S3 has no atomic rename, so for an instant both names
 *   hold the object, and a crash between leaves both. The engine never calls rename (it
 *   writes every object under its final name with put). CopyObject copies up to 5 GiB.
 * - AWS S3 reads after writes consistently (since December 2020); other providers may not:
 *   a list or get just after a put may not see it yet. The engine treats a missing object
 *   as missing and repairs from the other locations, so such a lag costs time, not data.
 * - The bucket is checked once to exist; it is never created (like a folder location's root).
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import type * as S3 from '@aws-sdk/client-s3';
import { CorruptError, OfflineError, ShardvaultError } from '../../errors';
import {
  assertDeletable,
  assertObjectPath,
  assertRange,
  isObjectSegment,
  type LocationHealth,
  type ObjectInfo,
  type StorageNode,
  unreachable,
} from '../node';
import { checkS3Address, displayS3, requireS3Transport, s3Endpoint, type S3Address } from './address';
import { hasS3Code, s3Error, s3Status } from './errors';
import { SourceError } from '../source';
import { parseContentRange, readRangeBody, ResponseStream } from '../response';
import { boundedAnswer, MAX_ANSWER_BYTES, PartReader } from './transfer';

export interface S3NodeOptions {
  /**
   * A request fails when its connection stays silent this long (and connecting, at most 10 s
   * of it), and an answer read whole (all but an object's body) when it has not ended this
   * long after it began. Default 30 s.
   */
  readonly timeoutMs?: number;
  /** Connections (so requests) in flight at once. Default 8. */
  readonly concurrency?: number;
  /** Bytes of a multipart upload's part (and the most a put sends in one PutObject). Default 8 MiB, at least 5 MiB. */
  readonly partSize?: number;
  /** Keys a list asks for per page (1-1000). Default 1000. */
  readonly pageSize?: number;
  /**
   * Resolves host names instead of the system's resolver, like curl's --resolve: for a
   * virtual-host endpoint whose bucket names the system can't resolve (tests use it).
   */
  readonly lookup?: LookupFunction;
}

const MiB = 1 << 20;
/** S3's smallest part (all but the last) and most parts of one upload. */
const MIN_PART = 5 * MiB;
const MAX_PARTS = 10_000;
/** A listing that goes on longer than this is a server that loops. */
const MAX_PAGES = 100_000;
/**
 * The most names one listing keeps (about 200 MB of them): a server may list without end,
 * and a location that can't be listed is one location lost, where memory run out is the
 * whole app.
 */
const MAX_LISTED = 1_000_000;
/**
 * Answers S3 starts at once and ends only when its work is done, sending spaces meanwhile so
 * the connection does not fall silent (AWS: "could take several minutes"): joining the parts
 * of an upload, copying an object. They get this long to end; every other answer, the timeout.
 */
const SLOW_ANSWERS: ReadonlySet<string> = new Set(['CompleteMultipartUploadCommand', 'CopyObjectCommand']);
const SLOW_ANSWER_MS = 15 * 60_000;

type Sdk = typeof S3;
type AnswerMiddleware = Parameters<S3.S3Client['middlewareStack']['addRelativeTo']>[0];
/** The rest of the SDK's chain below a deserialize-step middleware: the raw HTTP answer. */
type AnswerHandler = (args: unknown) => Promise<{ readonly output: unknown; readonly response: unknown }>;

interface Connection {
  readonly sdk: Sdk;
  readonly client: S3.S3Client;
}

export class S3Node implements StorageNode {
  readonly kind = 's3';
  readonly display: string;
  private readonly address: S3Address;
  private readonly partSize: number;
  private readonly pageSize: number;
  /** The key prefix every object's key starts with: '' or `prefix/`. */
  private readonly root: string;
  private connection: Promise<Connection> | null = null;
  private checked: Promise<void> | null = null;
  private agent: http.Agent | null = null;
  private closed = false;

  constructor(
    address: S3Address,
    private readonly options: S3NodeOptions = {},
  ) {
    this.address = checkS3Address(address);
    this.display = displayS3(this.address);
    requireS3Transport(this.address, this.display);
    this.partSize = options.partSize ?? 8 * MiB;
    if (!Number.isSafeInteger(this.partSize) || this.partSize < MIN_PART || this.partSize > 512 * MiB) {
      throw new RangeError(`partSize must be ${MIN_PART}..${512 * MiB} bytes`);
    }
    this.pageSize = options.pageSize ?? 1000;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > 1000) {
      throw new RangeError('pageSize must be 1..1000');
    }
    this.root = this.address.prefix ? `${this.address.prefix}/` : '';
  }

  async put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    assertObjectPath(path);
    const { sdk, client } = await this.ready();
    const where = this.where(path);
    const key = this.key(path);
    const reader = new PartReader(data);
    let uploadId: string | null = null;
    try {
      const first = await reader.read(this.partOf(1));
      const second = first !== null && first.length === this.partOf(1) ? await reader.read(this.partOf(2)) : null;
      if (second === null) {
        await client.send(
          new sdk.PutObjectCommand({
            ...this.bucket(),
            Key: key,
            Body: first ?? Buffer.alloc(0),
            ContentLength: first?.length ?? 0,
          }),
        );
        return reader.total;
      }
      const created = await client.send(new sdk.CreateMultipartUploadCommand({ ...this.bucket(), Key: key }));
      uploadId = created.UploadId ?? null;
      if (!uploadId) throw new CorruptError(`${where}: the server started an upload without an upload ID`);
      const id = uploadId;
      const parts: S3.CompletedPart[] = [];
      let part: Buffer = first as Buffer;
      let following: Buffer | null | undefined = second;
      for (let n = 1; ; n++) {
        if (n > MAX_PARTS)
          throw new ShardvaultError('io', `${where}: the object is larger than S3 takes in one upload`);
        // Upload this part while the next is read (the first time it was read already).
        const [uploaded, read] = await Promise.allSettled([
          client.send(
            new sdk.UploadPartCommand({
              ...this.bucket(),
              Key: key,
              UploadId: id,
              PartNumber: n,
              Body: part,
              ContentLength: part.length,
            }),
          ),
          following === undefined ? reader.read(this.partOf(n + 1)) : Promise.resolve(following),
        ]);
        if (uploaded.status === 'rejected') throw uploaded.reason;
        if (read.status === 'rejected') throw read.reason;
        const etag = uploaded.value.ETag;
        if (!etag) throw new CorruptError(`${where}: the server stored part ${n} without an ETag`);
        parts.push({ PartNumber: n, ETag: etag });
        if (read.value === null) break;
        part = read.value;
        following = undefined;
      }
      await client.send(
        new sdk.CompleteMultipartUploadCommand({
          ...this.bucket(),
          Key: key,
          UploadId: id,
          MultipartUpload: { Parts: parts },
        }),
      );
      return reader.total;
    } catch (err) {
      await reader.release();
      if (uploadId !== null) await this.abortQuietly(client, sdk, key, uploadId);
      const mapped = s3Error(err, where, this.unshown());
      if (mapped instanceof SourceError) throw mapped.source;
      throw mapped;
    }
  }

  async get(path: string): Promise<AsyncIterable<Uint8Array>> {
    assertObjectPath(path);
    const { sdk, client } = await this.ready();
    const where = this.where(path);
    try {
      const answer = await client.send(new sdk.GetObjectCommand({ ...this.bucket(), Key: this.key(path) }));
      const length = answer.ContentLength;
      return new ResponseStream(this.body(answer.Body, where), typeof length === 'number' ? length : null, where);
    } catch (err) {
      throw this.failed(err, where);
    }
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    assertObjectPath(path);
    assertRange(offset, length);
    const { sdk, client } = await this.ready();
    const where = this.where(path);
    let answer: S3.GetObjectCommandOutput;
    try {
      answer = await client.send(
        new sdk.GetObjectCommand({
          ...this.bucket(),
          Key: this.key(path),
          Range: `bytes=${offset}-${offset + length - 1}`,
        }),
      );
    } catch (err) {
      // 416: the range starts at or past the object's end.
      if (s3Status(err) === 416 || hasS3Code(err, 'InvalidRange')) return new Uint8Array(0);
      throw this.failed(err, where);
    }
    const body = this.body(answer.Body, where);
    // 206 is the range asked for, shorter where the object ends; 200 is a server that ignores
    // ranges and sends the whole object, read here up to the range's end.
    if (answer.$metadata.httpStatusCode === 206) {
      const range = parseContentRange(answer.ContentRange);
      if (!range || range.first !== offset) {
        body.destroy();
        throw new CorruptError(`${where}: the server answered another range than the one asked for`);
      }
      // s3rver answers a range of an empty object with `bytes 0-0/0`: the total says what is there.
      const { last, total } = range;
      const expected = Math.min(length, last - offset + 1, total === null ? length : total - offset);
      const { bytes: got } = await readRangeBody(body, 0, Math.max(0, expected), where);
      if (got.length < expected)
        throw new OfflineError(`${where}: download ended after ${got.length} of ${expected} bytes`);
      return got;
    }
    const size = answer.ContentLength;
    const expected = typeof size === 'number' ? Math.max(0, Math.min(length, size - offset)) : null;
    const { bytes: got } = await readRangeBody(body, offset, length, where);
    if (expected !== null && got.length < expected) {
      throw new OfflineError(`${where}: download ended after ${got.length} of ${expected} bytes`);
    }
    return got;
  }

  async stat(path: string): Promise<ObjectInfo | null> {
    assertObjectPath(path);
    const { sdk, client } = await this.ready();
    const where = this.where(path);
    try {
      const head = await client.send(new sdk.HeadObjectCommand({ ...this.bucket(), Key: this.key(path) }));
      return this.info(path, head.ContentLength, head.LastModified, where);
    } catch (err) {
      // A HEAD answer has no body: 404 can't tell a missing key from a missing bucket, and the
      // bucket was checked when the node first reached it.
      if (s3Status(err) === 404) return null;
      throw this.failed(err, where);
    }
  }

  async list(dir: string): Promise<ObjectInfo[]> {
    assertObjectPath(dir, true);
    const { sdk, client } = await this.ready();
    const prefix = dir === '' ? this.root : `${this.root}${dir}/`;
    const out: ObjectInfo[] = [];
    const seen = new Set<string>();
    /** Every token given so far (hashed: a token is as long as the server likes). */
    const tokens = new Set<string>();
    const endless = (): CorruptError =>
      new CorruptError(`${this.display}: a listing of ${dir || 'the root'} does not end`);
    let token: string | undefined;
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES) throw endless();
      let answer: S3.ListObjectsV2CommandOutput;
      try {
        answer = await client.send(
          new sdk.ListObjectsV2Command({
            ...this.bucket(),
            Prefix: prefix,
            Delimiter: '/',
            MaxKeys: this.pageSize,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
      } catch (err) {
        throw this.failed(err, this.where(dir));
      }
      // Keys past MaxKeys are a server that lists what it likes (S3 counts common prefixes
      // against MaxKeys too, s3rver does not: those are not kept, and the answer is bounded).
      const count = answer.Contents?.length ?? 0;
      if (count > this.pageSize) {
        throw new CorruptError(`${this.display}: the server listed ${count} keys when asked for ${this.pageSize}`);
      }
      for (const entry of answer.Contents ?? []) {
        const key = entry.Key;
        // Only direct children with a name a put could have made; a server may list anything.
        if (typeof key !== 'string' || !key.startsWith(prefix)) continue;
        const name = key.slice(prefix.length);
        if (!isObjectSegment(name) || seen.has(name)) continue;
        seen.add(name);
        if (seen.size > MAX_LISTED) {
          throw new CorruptError(
            `${this.display}: a listing of ${dir || 'the root'} holds more than ${MAX_LISTED} names`,
          );
        }
        const path = dir === '' ? name : `${dir}/${name}`;
        out.push(this.info(path, entry.Size, entry.LastModified, this.where(path)));
      }
      if (!answer.IsTruncated) return out;
      const next = answer.NextContinuationToken;
      if (!next) throw new CorruptError(`${this.display}: the server cut a listing short without a way to go on`);
      // A token given before leads round the same pages again.
      const hashed = createHash('sha256').update(next).digest('base64');
      if (tokens.has(hashed)) throw endless();
      tokens.add(hashed);
      token = next;
    }
  }

  async delete(path: string): Promise<void> {
    // The name rule is what keeps a hostile listing from steering a delete (node.ts).
    assertDeletable(path, this.display);
    const { sdk, client } = await this.ready();
    try {
      await client.send(new sdk.DeleteObjectCommand({ ...this.bucket(), Key: this.key(path) }));
    } catch (err) {
      // S3 answers 204 for a missing key; some compatible servers answer 404.
      if (s3Status(err) === 404 && !hasS3Code(err, 'NoSuchBucket')) return;
      throw this.failed(err, this.where(path));
    }
  }

  async health(): Promise<LocationHealth> {
    try {
      const { sdk, client } = await this.connect();
      const started = performance.now();
      await this.probe(sdk, client);
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      // S3 has no free space to tell: a bucket grows until a quota or the bill stops it.
      return { reachable: true, latencyMs, freeBytes: null, error: null };
    } catch (err) {
      return unreachable(err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = null;
    this.checked = null;
    if (connection !== null) {
      try {
        (await connection).client.destroy();
      } catch {
        // it never connected
      }
    }
    this.agent?.destroy();
    this.agent = null;
  }

  /** The client, and once the bucket is known to exist (a listing of the root, one key). */
  private async ready(): Promise<Connection> {
    const connection = await this.connect();
    this.checked ??= this.probe(connection.sdk, connection.client).catch((err: unknown) => {
      this.checked = null;
      throw err;
    });
    await this.checked;
    return connection;
  }

  private async probe(sdk: Sdk, client: S3.S3Client): Promise<void> {
    try {
      await client.send(
        new sdk.ListObjectsV2Command({ ...this.bucket(), Prefix: this.root, Delimiter: '/', MaxKeys: 1 }),
      );
    } catch (err) {
      throw this.failed(err, this.display);
    }
  }

  private connect(): Promise<Connection> {
    if (this.closed) return Promise.reject(new ShardvaultError('io', `${this.display}: location is closed`));
    this.connection ??= this.open().catch((err: unknown) => {
      this.connection = null;
      throw err;
    });
    return this.connection;
  }

  private async open(): Promise<Connection> {
    const sdk = await import('@aws-sdk/client-s3');
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const agentOptions = {
      keepAlive: true,
      maxSockets: this.options.concurrency ?? 8,
      scheduling: 'fifo' as const,
      ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
    };
    this.agent = this.address.secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    const { accessKeyId, secretAccessKey, region } = this.address;
    const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
    const config: S3.S3ClientConfig = {
      endpoint: s3Endpoint(this.address),
      forcePathStyle: this.address.style === 'path',
      region,
      credentials: { accessKeyId, secretAccessKey },
      // Everything below the SDK would otherwise look up in the environment, ~/.aws/config or
      // the instance-metadata service: given here, none of them is consulted.
      credentialDefaultProvider: () => () =>
        Promise.reject(new ShardvaultError('auth', `${this.display}: no S3 credentials were given`)),
      defaultsMode: 'standard',
      maxAttempts: 1,
      retryMode: 'standard',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      useFipsEndpoint: false,
      useDualstackEndpoint: false,
      useArnRegion: false,
      disableS3ExpressSessionAuth: true,
      disableMultiregionAccessPoints: true,
      followRegionRedirects: false,
      authSchemePreference: ['sigv4'],
      sigv4aSigningRegionSet: [region],
      userAgentAppId: 'shardvault',
      defaultUserAgentProvider: () => Promise.resolve([['shardvault']]),
      // Parts go as they are, without first asking `Expect: 100-continue`.
      expectContinueHeader: false,
      logger: silent,
      requestHandler: {
        httpAgent: this.address.secure ? undefined : this.agent,
        httpsAgent: this.address.secure ? this.agent : undefined,
        connectionTimeout: Math.min(timeoutMs, 10_000),
        socketTimeout: timeoutMs,
        logger: silent,
      },
    };
    const client = newClient(sdk, config);
    // Just inside the SDK's reader of answers: it reads every answer whole into memory but a
    // GetObject's body (the object, streamed to the caller, who bounds it); such an answer
    // must end within the timeout, not only never fall silent that long.
    const bound = (next: AnswerHandler, context: { readonly commandName?: string }) => async (args: unknown) => {
      const out = await next(args);
      const response = out.response as { statusCode?: number; headers?: Record<string, string>; body?: unknown };
      const status = response.statusCode ?? 0;
      const object = context.commandName === 'GetObjectCommand' && status >= 200 && status < 300;
      const body = response.body as Readable | undefined;
      // A HEAD answer announces the object's length and has no body.
      const head = (args as { request?: { method?: string } }).request?.method === 'HEAD';
      if (!object && !head && body && typeof body.pipe === 'function') {
        const length = Number(response.headers?.['content-length'] ?? NaN);
        response.body = boundedAnswer(
          body,
          Number.isFinite(length) ? length : null,
          {
            max: MAX_ANSWER_BYTES,
            deadlineMs: SLOW_ANSWERS.has(context.commandName ?? '') ? Math.max(timeoutMs, SLOW_ANSWER_MS) : timeoutMs,
          },
          this.display,
        );
      }
      return out;
    };
    // The SDK types a middleware as a union of its steps' kinds; this is a deserialize one.
    client.middlewareStack.addRelativeTo(bound as unknown as AnswerMiddleware, {
      relation: 'after',
      toMiddleware: 'deserializerMiddleware',
      name: 'shardvaultBoundedAnswers',
    });
    return { sdk, client };
  }

  private bucket(): { Bucket: string } {
    return { Bucket: this.address.bucket };
  }

  private key(path: string): string {
    return `${this.root}${path}`;
  }

  /** Size of part `n` (1-based): the part size, doubled every 1000 parts. */
  private partOf(n: number): number {
    return this.partSize * 2 ** Math.floor((n - 1) / 1000);
  }

  private where(path: string): string {
    return path === '' ? this.display : `${this.display}: ${path}`;
  }

  /** What no message quotes, whatever the server answers. */
  private unshown(): string[] {
    return [this.address.accessKeyId, this.address.secretAccessKey];
  }

  private failed(err: unknown, where: string): ShardvaultError {
    const mapped = s3Error(err, where, this.unshown());
    if (hasS3Code(err, 'NoSuchBucket')) this.checked = null;
    return mapped instanceof SourceError ? new ShardvaultError('io', `${where}: ${mapped.message}`) : mapped;
  }

  private body(body: unknown, where: string): Readable {
    if (body === undefined || body === null || typeof (body as Readable).destroy !== 'function') {
      throw new CorruptError(`${where}: the server answered without a body`);
    }
    return body as Readable;
  }

  private info(path: string, size: number | undefined, modified: Date | undefined, where: string): ObjectInfo {
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new CorruptError(`${where}: the server gave no size or a bad one`);
    }
    const ms = modified instanceof Date ? modified.getTime() : NaN;
    return Number.isFinite(ms) ? { path, size, modifiedMs: ms } : { path, size };
  }

  private async abortQuietly(client: S3.S3Client, sdk: Sdk, key: string, uploadId: string): Promise<void> {
    try {
      await client.send(new sdk.AbortMultipartUploadCommand({ ...this.bucket(), Key: key, UploadId: uploadId }));
    } catch {
      // The parts stay invisible; the bucket's lifecycle rule for incomplete uploads removes them.
    }
  }
}

/**
 * The SDK warns once per process, on stderr, when Node is older than it will need in
 * future releases. That is the SDK's to tell its developers, not ours to tell a user of the
 * CLI: the warning is dropped while the client is made (the SDK emits it synchronously
 * there), and every other warning goes through.
 */
function newClient(sdk: Sdk, config: S3.S3ClientConfig): S3.S3Client {
  // Kept as it is (unbound) to be put back as it was.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const emit = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (text.startsWith('NodeVersionSupportWarning')) return;
    Reflect.apply(emit, this, [warning, ...rest]);
  };
  try {
    return new sdk.S3Client(config);
  } finally {
    process.emitWarning = emit;
  }
}
