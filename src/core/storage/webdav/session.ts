/**
 * A connection to one WebDAV root: the URL and its checks, the keep-alive agent (TLS trust,
 * concurrency), the login (auth.ts answers the server's challenge; nothing is sent before
 * it asks), the silence timeout, and the retries of a 423 Locked and of a 401 challenge.
 * Every request of a WebDAV location goes through `request`.
 */
import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { CorruptError, ShardvaultError } from '../../errors';
import { displayWebDav, plainHttpPasswordHost, plainHttpRefusal } from '../url';
import { Authenticator } from './auth';
import { networkError, statusError } from './errors';
import { SourceError } from '../source';
import { drain, pump, PROPFIND_BODY, readText } from './http';
import { type DavEntry, parseMultistatus } from './multistatus';

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
/** Quick retries of a 423 Locked (a concurrent MOVE's lock) before it is an OfflineError. */
const LOCKED_RETRIES = 6;
/** How long a streamed PUT waits for `100 Continue` before it sends anyway. */
const CONTINUE_WAIT_MS = 2000;

export type Body = Uint8Array | AsyncIterable<Uint8Array> | null;

export interface Answer {
  readonly status: number;
  readonly res: http.IncomingMessage;
}

export class DavSession {
  readonly display: string;
  readonly base: URL;
  private readonly lib: typeof http | typeof https;
  private agent: http.Agent | null = null;
  private readonly auth: Authenticator;
  private rootChecked: Promise<void> | null = null;
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

  /** Checks once that the root collection exists (and learns the auth scheme on the way). */
  ready(): Promise<void> {
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

  /** The root is to be looked at again before the next request (made, or found missing). */
  forgetRoot(): void {
    this.rootChecked = null;
  }

  /** For createRoot, which runs before the root exists: the agent, unless closed. */
  async open(): Promise<void> {
    if (this.closed) throw new ShardvaultError('io', `${this.display}: location is closed`);
    await this.makeAgent();
  }

  close(): void {
    this.closed = true;
    this.agent?.destroy();
    this.agent = null;
  }

  /** A PROPFIND answer's entries, read within MAX_XML_BYTES and the answer deadline. */
  async entries(res: http.IncomingMessage): Promise<DavEntry[]> {
    return parseMultistatus(await readText(res, MAX_XML_BYTES, this.display, this.answerDeadlineMs), this.display);
  }

  statusError(method: string, path: string, status: number): ShardvaultError {
    return statusError(this.display, method, path, status);
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
  async propfindOne(path: string): Promise<DavEntry | null> {
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
    const entries = await this.entries(res);
    const first = entries[0];
    if (first === undefined) throw new CorruptError(`${this.display}: ${path}: empty PROPFIND answer`);
    return first;
  }

  url(path: string): URL {
    const encoded = path
      .split('/')
      .map((s) => encodeURIComponent(s))
      .join('/');
    return new URL(encoded, this.base);
  }

  /**
   * One request, authenticated as the server asks. A 401 with a new challenge is answered
   * once more when the body can be sent again (none, bytes, or a stream not yet started).
   */
  async request(
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
        else reject(networkError(this.display, method, url, err));
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
}
