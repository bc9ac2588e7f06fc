/**
 * A storage location on a WebDAV server (Apache mod_dav, rclone serve webdav, Nextcloud, a
 * NAS), over node:http / node:https directly rather than the `webdav` package: a put must
 * stream with backpressure and end only when the server has answered the request itself
 * (the package's write stream can report done early, FIELD-NOTES), a streamed body must
 * not be spent on a 401 (`Expect: 100-continue`), and errors must keep their status code
 * and cause to map onto the engine's typed errors.
 *
 * Server differences handled here (FIELD-NOTES):
 * - MKCOL on an existing collection: 405 (Apache, nginx) or success (rclone): both fine.
 *   Nested MKCOL is refused everywhere (409), so parents are made one level at a time.
 * - PUT into a missing parent: 404 (rclone) or 409 (Apache): parents are made first.
 * - MOVE of a missing source: 404 (Apache) or 403 (rclone); Apache also answers 404 when
 *   a concurrent MOVE deleted the target under it: the source is looked at to tell.
 * - MOVE onto an existing object deletes the target, then renames (Apache, rclone): for an
 *   instant the object is missing, never partial. get asks twice before NotFoundError;
 *   stat may answer null in that instant.
 * - rclone locks both ends of a MOVE: concurrent MOVEs onto one object get 423 for a few
 *   milliseconds, retried here a few times.
 * - MOVE onto an existing object: `Overwrite: T` is sent explicitly. RFC 4918 makes it the
 *   default, but rclone (golang.org/x/net/webdav) treats a missing header as F and answers 412.
 * - Collections are addressed with a trailing '/' (nginx needs it).
 * - PROPFIND Depth: 1 only (Depth: infinity is optional for servers).
 * - Quota properties are optional: freeBytes is null without them.
 * Auth: Basic or Digest (RFC 7616: MD5, SHA-256, -sess, qop=auth), chosen from the server's
 * challenge; nothing is sent before the server asks.
 */
import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { CorruptError, NotFoundError, OfflineError, ShardvaultError, UsageError } from '../errors';
import {
  assertDeletable,
  assertObjectPath,
  assertRange,
  newTempPath,
  type LocationHealth,
  type ObjectInfo,
  type RootOutcome,
  type StorageNode,
  unreachable,
} from './node';
import { ResponseStream, TLS_TRUST_CODES } from './response';
import { displayWebDav, plainHttpPasswordHost, plainHttpRefusal } from './url';
import { Authenticator } from './webdav/auth';
import { drain, PROPFIND_BODY, pump, QUOTA_BODY, readText, SourceError } from './webdav/http';
import { type DavEntry, childName, parseMultistatus } from './webdav/multistatus';

export interface WebDavOptions {
  /** The collection that is the location's root: `http(s)://host[:port]/path/`. It must exist. */
  readonly url: string;
  readonly username?: string | null;
  readonly password?: string | null;
  /** A PEM file with the CA (or the server's own self-signed certificate) to trust for https. */
  readonly caFile?: string | null;
  /**
   * Lets the password go over plain http:// to a host other than this machine (it crosses
   * the network readable, Basic or Digest alike). Without it such a node is refused.
   */
  readonly allowInsecureHttp?: boolean;
  /** The same as PEM text. */
  readonly ca?: string | null;
  /** A request fails when its connection stays silent this long. Default 30 s. */
  readonly timeoutMs?: number;
  /** Connections (so requests) in flight at once. Default 4. */
  readonly concurrency?: number;
}

/** A PROPFIND answer larger than this is refused (a location may lie). */
const MAX_XML_BYTES = 16 << 20;
/** A whole answer (at most MAX_XML_BYTES) may take this many silence timeouts to arrive. */
const ANSWER_DEADLINE_FACTOR = 4;
/** How long get waits before it asks again about a missing object (see get). */
const REPLACE_WINDOW_MS = 100;
/** Quick retries of a 423 Locked (a concurrent MOVE's lock) before it is an OfflineError. */
const LOCKED_RETRIES = 6;
/** How long a streamed PUT waits for `100 Continue` before it sends anyway. */
const CONTINUE_WAIT_MS = 2000;

type Body = Uint8Array | AsyncIterable<Uint8Array> | null;

interface Answer {
  readonly status: number;
  readonly res: http.IncomingMessage;
}

export class WebDavNode implements StorageNode {
  readonly kind = 'webdav' as const;
  readonly display: string;
  private readonly base: URL;
  private readonly lib: typeof http | typeof https;
  private agent: http.Agent | null = null;
  private readonly auth: Authenticator;
  private rootChecked: Promise<void> | null = null;
  private readonly dirs = new Set<string>();
  private readonly making = new Map<string, Promise<void>>();
  private closed = false;

  /** How long a whole PROPFIND answer may take (ANSWER_DEADLINE_FACTOR × the silence timeout). */
  private get answerDeadlineMs(): number {
    return (this.options.timeoutMs ?? 30_000) * ANSWER_DEADLINE_FACTOR;
  }

  constructor(private readonly options: WebDavOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new RangeError(`bad WebDAV URL ${JSON.stringify(options.url)}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new RangeError(`WebDAV URL must be http or https, got ${base.protocol}`);
    }
    if (base.username || base.password) throw new RangeError('pass WebDAV credentials as options, not in the URL');
    if (base.search || base.hash) throw new RangeError('a WebDAV URL has no query or fragment');
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.base = base;
    this.lib = base.protocol === 'https:' ? https : http;
    this.display = displayWebDav({ url: base.href, username: options.username ?? null });
    const exposed = plainHttpPasswordHost({ url: base.href, password: options.password ?? null });
    if (exposed !== null && !options.allowInsecureHttp) throw plainHttpRefusal(this.display, exposed);
    this.auth = new Authenticator(options.username ?? null, options.password ?? null);
  }

  async put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    assertObjectPath(path);
    await this.ready();
    const temp = newTempPath();
    await this.ensureParents(temp);
    await this.ensureParents(path);
    let sent = 0;
    const counted: Body =
      data instanceof Uint8Array
        ? data
        : (async function* () {
            for await (const chunk of data) {
              if (!(chunk instanceof Uint8Array)) throw new TypeError('put data must yield Uint8Arrays');
              sent += chunk.length;
              yield chunk;
            }
          })();
    try {
      const { status, res } = await this.request('PUT', temp, {
        body: counted,
        headers: data instanceof Uint8Array ? { 'content-length': String(data.length) } : {},
      });
      await drain(res);
      if (status !== 200 && status !== 201 && status !== 204) throw this.statusError('PUT', path, status);
      const written = data instanceof Uint8Array ? data.length : sent;
      const stored = await this.propfindOne(temp);
      if (stored === null || stored.size !== written) {
        throw new OfflineError(
          `${this.display}: ${path}: the server holds ${stored?.size ?? 'none'} of ${written} bytes sent`,
        );
      }
      await this.move(temp, path);
      return written;
    } catch (err) {
      await this.deleteQuietly(temp);
      if (err instanceof SourceError) throw err.source;
      throw err;
    }
  }

  async get(path: string): Promise<AsyncIterable<Uint8Array>> {
    assertObjectPath(path);
    await this.ready();
    const { status, res } = await this.fetch(path);
    if (status !== 200) {
      await drain(res);
      throw this.statusError('GET', path, status);
    }
    const length = res.headers['content-length'];
    return new ResponseStream(res, length === undefined ? null : Number(length), `${this.display}: ${path}`);
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    assertObjectPath(path);
    assertRange(offset, length);
    await this.ready();
    const where = `${this.display}: ${path}`;
    const { status, res } = await this.fetch(path, { range: `bytes=${offset}-${offset + length - 1}` });
    if (status === 416) {
      await drain(res); // the range starts past the end
      return new Uint8Array(0);
    }
    if (status !== 200 && status !== 206) {
      await drain(res);
      throw this.statusError('GET', path, status);
    }
    // 206 is the range asked for (shorter where the object ends); 200 is a server that ignores
    // ranges and sends the whole object, read up to the range's end.
    let skip = 0;
    if (status === 206) {
      const range = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(res.headers['content-range'] ?? '');
      if (!range || Number(range[1]) !== offset) {
        res.destroy();
        throw new CorruptError(`${where}: the server answered another range than the one asked for`);
      }
    } else skip = offset;
    const announced = res.headers['content-length'] === undefined ? null : Number(res.headers['content-length']);
    const out = new Uint8Array(length);
    let got = 0;
    let received = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        received += chunk.length;
        const from = Math.min(skip, chunk.length);
        skip -= from;
        const take = Math.min(chunk.length - from, length - got);
        out.set(chunk.subarray(from, from + take), got);
        got += take;
        if (got === length) break;
      }
    } catch (err) {
      throw new OfflineError(`${where}: connection lost during download`, { cause: err });
    } finally {
      if (!res.readableEnded) res.destroy();
    }
    if (got < length && announced !== null && received < announced) {
      throw new OfflineError(`${where}: download ended after ${received} of ${announced} bytes`);
    }
    return got === length ? out : out.subarray(0, got);
  }

  /** GET, asking twice before a 404 counts (see get). */
  private async fetch(path: string, headers?: Record<string, string>): Promise<Answer> {
    let answer = await this.request('GET', path, headers ? { headers } : {});
    if (answer.status === 404) {
      // Apache and rclone carry out a MOVE onto an existing object as delete-then-rename:
      // a reader can miss a replaced object for an instant. Ask once more before saying so.
      await drain(answer.res);
      await new Promise((resolve) => setTimeout(resolve, REPLACE_WINDOW_MS));
      answer = await this.request('GET', path, headers ? { headers } : {});
    }
    return answer;
  }

  async stat(path: string): Promise<ObjectInfo | null> {
    assertObjectPath(path);
    await this.ready();
    const entry = await this.propfindOne(path);
    return entry === null || entry.isCollection ? null : this.info(path, entry);
  }

  async list(dir: string): Promise<ObjectInfo[]> {
    assertObjectPath(dir, true);
    await this.ready();
    const collection = dir === '' ? '' : `${dir}/`;
    const { status, res } = await this.request('PROPFIND', collection, {
      body: PROPFIND_BODY,
      headers: { depth: '1', 'content-type': 'application/xml; charset=utf-8' },
    });
    if (status === 404) {
      await drain(res);
      return [];
    }
    if (status !== 207) {
      await drain(res);
      throw this.statusError('PROPFIND', dir, status);
    }
    const entries = parseMultistatus(
      await readText(res, MAX_XML_BYTES, this.display, this.answerDeadlineMs),
      this.display,
    );
    const parent = this.url(collection).pathname;
    const out: ObjectInfo[] = [];
    for (const entry of entries) {
      if (entry.isCollection) continue;
      const name = childName(entry.href, this.base, parent, this.display);
      if (name === null) continue;
      const path = dir === '' ? name : `${dir}/${name}`;
      out.push(this.info(path, entry));
    }
    return out;
  }

  async delete(path: string): Promise<void> {
    // No links are visible over WebDAV; the name rule is what keeps a hostile listing from
    // steering a delete (node.ts assertDeletable).
    assertDeletable(path, this.display);
    await this.ready();
    const { status, res } = await this.request('DELETE', path);
    await drain(res);
    if (status === 404 || status === 200 || status === 204) return;
    throw this.statusError('DELETE', path, status);
  }

  async health(): Promise<LocationHealth> {
    try {
      await this.ready();
      const started = performance.now();
      const { status, res } = await this.request('PROPFIND', '', {
        body: QUOTA_BODY,
        headers: { depth: '0', 'content-type': 'application/xml; charset=utf-8' },
      });
      if (status !== 207) {
        await drain(res);
        throw this.statusError('PROPFIND', '', status);
      }
      const entries = parseMultistatus(
        await readText(res, MAX_XML_BYTES, this.display, this.answerDeadlineMs),
        this.display,
      );
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      return { reachable: true, latencyMs, freeBytes: entries[0]?.quotaAvailable ?? null, error: null };
    } catch (err) {
      return unreachable(err);
    }
  }

  close(): Promise<void> {
    this.closed = true;
    this.agent?.destroy();
    this.agent = null;
    return Promise.resolve();
  }

  /** Checks once that the root collection exists (and learns the auth scheme on the way). */
  private ready(): Promise<void> {
    if (this.closed) return Promise.reject(new ShardvaultError('io', `${this.display}: location is closed`));
    this.rootChecked ??= (async () => {
      await this.makeAgent();
      const root = await this.propfindOne('');
      if (root === null) {
        throw new ShardvaultError(
          'io',
          `${this.display}: the folder does not exist on the server (init makes it; otherwise ` +
            `create it there: a location's root is made only by init)`,
        );
      }
      if (!root.isCollection) throw new ShardvaultError('io', `${this.display}: is not a folder (collection)`);
    })().catch((err: unknown) => {
      this.rootChecked = null;
      throw err;
    });
    return this.rootChecked;
  }

  async createRoot(confirm?: () => Promise<boolean>): Promise<RootOutcome> {
    if (this.closed) throw new ShardvaultError('io', `${this.display}: location is closed`);
    await this.makeAgent();
    const root = await this.propfindOne('');
    if (root !== null) {
      if (root.isCollection) return 'present';
      throw new ShardvaultError('io', `${this.display}: is not a folder (collection): nothing made`);
    }
    if (confirm && !(await confirm())) throw new UsageError(`${this.display} does not exist (not created)`);
    // MKCOL makes one level only: a missing parent is 409 everywhere, never made here.
    const { status, res } = await this.request('MKCOL', '');
    await drain(res);
    if (status === 201 || status === 200 || status === 204) {
      this.rootChecked = null;
      return 'created';
    }
    if (status === 409) {
      const parent = new URL('..', this.base).pathname;
      throw new NotFoundError(
        `${this.display}: the folder ${parent} does not exist on the server: is the disk mounted?`,
      );
    }
    if ((await this.propfindOne(''))?.isCollection) return 'present'; // made meanwhile (405)
    throw this.statusError('MKCOL', '', status);
  }

  private async makeAgent(): Promise<void> {
    if (this.agent !== null) return;
    const ca = this.options.ca ?? (this.options.caFile ? await this.readCa(this.options.caFile) : undefined);
    const keepAlive = { keepAlive: true, maxSockets: this.options.concurrency ?? 4, scheduling: 'fifo' as const };
    this.agent ??= this.lib === https ? new https.Agent({ ...keepAlive, ca }) : new http.Agent(keepAlive);
  }

  private async readCa(file: string): Promise<string> {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new ShardvaultError('io', `${this.display}: cannot read the CA file ${file}`, { cause: err });
    }
  }

  /** PROPFIND Depth 0: the entry, or null when it does not exist. */
  private async propfindOne(path: string): Promise<DavEntry | null> {
    const { status, res } = await this.request('PROPFIND', path, {
      body: PROPFIND_BODY,
      headers: { depth: '0', 'content-type': 'application/xml; charset=utf-8' },
    });
    if (status === 404) {
      await drain(res);
      return null;
    }
    if (status === 301 || status === 302 || status === 307 || status === 308) {
      // A collection asked for without its trailing slash: not an object.
      await drain(res);
      return { href: path, isCollection: true, size: null, modifiedMs: null, quotaAvailable: null };
    }
    if (status !== 207) {
      await drain(res);
      throw this.statusError('PROPFIND', path, status);
    }
    const entries = parseMultistatus(
      await readText(res, MAX_XML_BYTES, this.display, this.answerDeadlineMs),
      this.display,
    );
    const first = entries[0];
    if (first === undefined) throw new CorruptError(`${this.display}: ${path}: empty PROPFIND answer`);
    return first;
  }

  private async move(from: string, to: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const { status, res } = await this.request('MOVE', from, {
        headers: { destination: this.url(to).href, overwrite: 'T' },
      });
      await drain(res);
      if (status === 201 || status === 204 || status === 200) return;
      if (status === 409 && attempt === 1) {
        // The parent vanished since we made it (another client cleaned up): make it again.
        this.forgetDirs();
        await this.ensureParents(to);
        continue;
      }
      if (status === 404 || status === 403) {
        // rclone answers 403 for a missing source; Apache answers 404 when a concurrent
        // MOVE deleted the target under it. Look at the source to tell.
        if ((await this.propfindOne(from)) === null) {
          throw new NotFoundError(`${this.display}: ${from} does not exist`);
        }
        if (status === 404 && attempt < 5) continue;
      }
      throw this.statusError('MOVE', from, status);
    }
  }

  private async deleteQuietly(path: string): Promise<void> {
    try {
      const { res } = await this.request('DELETE', path);
      await drain(res);
    } catch {
      // a leftover temporary object is collected later
    }
  }

  private async ensureParents(path: string): Promise<void> {
    const cut = path.lastIndexOf('/');
    if (cut > 0) await this.ensureDir(path.slice(0, cut));
  }

  /** MKCOL each missing level of `dir` below the root, top down (nested MKCOL is refused). */
  private async ensureDir(dir: string): Promise<void> {
    if (this.dirs.has(dir)) return;
    const parts = dir.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const level = parts.slice(0, i).join('/');
      if (this.dirs.has(level)) continue;
      // Concurrent puts into one new folder share one MKCOL per level.
      let making = this.making.get(level);
      if (making === undefined) {
        making = this.makeCollection(level, i === 1).finally(() => this.making.delete(level));
        this.making.set(level, making);
      }
      await making;
    }
  }

  private async makeCollection(level: string, topLevel: boolean): Promise<void> {
    const { status, res } = await this.request('MKCOL', `${level}/`);
    await drain(res);
    // 405: exists already (Apache, nginx); rclone answers 201 either way.
    if (status === 201 || status === 200 || status === 204 || status === 405) {
      this.dirs.add(level);
      return;
    }
    // Another client may have made it meanwhile (Apache then answers 403): look.
    const entry = await this.propfindOne(`${level}/`);
    if (entry?.isCollection) {
      this.dirs.add(level);
      return;
    }
    if (status === 409 && topLevel) {
      this.rootChecked = null;
      throw new ShardvaultError('io', `${this.display}: the folder does not exist on the server`);
    }
    throw this.statusError('MKCOL', level, status);
  }

  private forgetDirs(): void {
    this.dirs.clear();
  }

  private url(path: string): URL {
    const encoded = path
      .split('/')
      .map((s) => encodeURIComponent(s))
      .join('/');
    return new URL(encoded, this.base);
  }

  private info(path: string, entry: DavEntry): ObjectInfo {
    if (entry.size === null) throw new CorruptError(`${this.display}: ${path}: the server gave no size`);
    return entry.modifiedMs === null
      ? { path, size: entry.size }
      : { path, size: entry.size, modifiedMs: entry.modifiedMs };
  }

  private statusError(method: string, path: string, status: number): ShardvaultError {
    const where = path === '' ? this.display : `${this.display}: ${path}`;
    const what = `${method} answered ${status}`;
    if (status === 401 || status === 403) {
      return new ShardvaultError('permission', `${where}: access refused (${what}); check the user and password`);
    }
    if (status === 404) return new NotFoundError(`${where} does not exist`);
    if (status === 507 || status === 413)
      return new ShardvaultError('no-space', `${where}: the location is full (${what})`);
    if (status >= 500 || status === 408 || status === 423 || status === 429) {
      return new OfflineError(`${where}: the server is busy or failing (${what})`);
    }
    return new ShardvaultError('io', `${where}: ${what}`);
  }

  /**
   * One request, authenticated as the server asks. A 401 with a new challenge is answered
   * once more when the body can be sent again (none, bytes, or a stream not yet started).
   */
  private async request(
    method: string,
    path: string,
    options: { body?: Body; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const url = this.url(path);
    const replayable = options.body == null || options.body instanceof Uint8Array;
    let locked = 0;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { ...options.headers };
      const authorization = this.auth.header(method, url.pathname + url.search);
      if (authorization !== null) headers.authorization = authorization;
      const sent = await this.send(method, url, headers, options.body ?? null);
      if (sent.status === 423 && locked < LOCKED_RETRIES && (replayable || !sent.bodyStarted)) {
        // rclone locks both ends of a MOVE for its duration: concurrent writers of one
        // object collide for milliseconds. Wait a little and go again.
        await drain(sent.res);
        await new Promise((resolve) => setTimeout(resolve, (10 << locked) * (1 + Math.random())));
        locked++;
        attempt--;
        continue;
      }
      if (sent.status !== 401) return sent;
      const retry = this.auth.learn(sent.res.headersDistinct['www-authenticate'] ?? [], authorization !== null);
      if (!retry || attempt >= 3 || (sent.bodyStarted && !replayable)) {
        if (!this.auth.hasCredentials) {
          await drain(sent.res);
          throw new ShardvaultError('permission', `${this.display}: the server asks for a login and none was given`);
        }
        return sent;
      }
      await drain(sent.res);
    }
  }

  private send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: Body,
  ): Promise<Answer & { bodyStarted: boolean }> {
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const streamed = body !== null && !(body instanceof Uint8Array);
    if (streamed) {
      headers.expect = '100-continue';
      headers['transfer-encoding'] = 'chunked';
    } else if (body !== null) {
      headers['content-length'] = String(body.length);
    }
    return new Promise((resolve, reject) => {
      let bodyStarted = false;
      let answered = false;
      const req = this.lib.request(url, { method, headers, agent: this.agent ?? undefined, timeout: timeoutMs });
      const fail = (err: unknown): void => {
        if (err instanceof SourceError) reject(err);
        else reject(this.networkError(method, url, err));
      };
      req.on('timeout', () => {
        req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      });
      req.on('error', fail);
      req.on('response', (res) => {
        answered = true;
        // A stream answered before it was all sent (401, 507...): this connection can't be reused.
        if (streamed && !req.writableFinished) res.on('end', () => req.destroy());
        resolve({ status: res.statusCode ?? 0, res, bodyStarted });
      });
      if (body === null) {
        req.end();
      } else if (body instanceof Uint8Array) {
        bodyStarted = true;
        req.end(body);
      } else {
        let started = false;
        const start = (): void => {
          if (started || answered) return;
          started = true;
          bodyStarted = true;
          clearTimeout(fallback);
          pump(req, body, () => answered).catch((err: unknown) => {
            req.destroy();
            if (!answered) fail(err);
          });
        };
        const fallback = setTimeout(start, CONTINUE_WAIT_MS);
        req.on('continue', start);
        req.on('close', () => clearTimeout(fallback));
      }
    });
  }

  private networkError(method: string, url: URL, err: unknown): ShardvaultError {
    if (err instanceof ShardvaultError) return err;
    const e = err as Error & { code?: string };
    const where = `${this.display}: ${method} ${decodeURIComponent(url.pathname)}`;
    if (e.code !== undefined && TLS_TRUST_CODES.has(e.code)) {
      return new ShardvaultError('permission', `${where}: the server's TLS certificate is not trusted (${e.code})`, {
        cause: err,
      });
    }
    // ETIMEDOUT is the request's own silence timeout (see request()): the server took the
    // connection and said nothing.
    return new OfflineError(`${where}: ${e.code ?? e.message}`, { cause: err, unresponsive: e.code === 'ETIMEDOUT' });
  }
}
