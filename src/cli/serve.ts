/**
 * `shardvault serve`: the desktop UI in a browser, for headless machines and for the tests.
 *
 * A small HTTP bridge over the same call table as Electron's IPC (src/shared/ipc.ts):
 *   GET  /, /assets/*      the built renderer (out/renderer), no token needed (it is code)
 *   POST /api/<call>       JSON request → JSON Envelope, validated both ways
 *   PUT  /api/upload       a file's bytes streamed into api.putStream (?name=…&replace=1&survive=X&happy=N&guarded=1)
 *   PUT  /api/upload-folder a folder: its head (the list of its files) then their bytes,
 *                          streamed into api.putTreeStream: one commit (web.uploadFolder)
 *   POST /api/export       {name}: the verified file, ready for a one-time download: {url}
 *   GET  /api/download/T   that download (ticket T, no token header: a browser download sends none)
 *   GET  /api/events       Server-Sent Events: progress, locked
 *
 * Who may talk to it: it listens on 127.0.0.1 only, answers only requests whose Host is
 * this loopback address (a page on another name that rebinds to 127.0.0.1 is refused), and
 * only same-origin browser requests (Origin and Sec-Fetch-Site checked; no CORS headers, so
 * no other page can read an answer). Every API request carries a random 256-bit token,
 * handed out once in the URL's fragment (never sent to a server, never in a log) and kept
 * by the page for its session; without it: 401, with a wrong one: 403.
 *
 * Exports are browser downloads that carry verified bytes only. The engine releases a file
 * only after the whole of it has verified (api.getFile writes a temporary file and renames it
 * after the whole-file hash check), so the export first asks the engine for the file in a
 * private temporary folder (mode 0700), and only once it is complete hands the page a
 * one-time ticket to download it; the file is deleted as soon as it has been served, when
 * the ticket expires unused (a minute), when the vault locks, when the server stops, or on a
 * signal. That copy is
 * the requested output on its way to the browser: plaintext on this machine's disk for as
 * long as the download takes, as any export is.
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerTemporary, unregisterTemporary } from '../core/cleanup';
import type { ProgressEvent, ShardvaultApi } from '../shared/api';
import { fileBaseName } from '../shared/file-name';
import {
  type BridgeError,
  type BridgeSettings,
  type CallName,
  type CallRequest,
  DEFAULT_AUTO_LOCK_MINUTES,
  type Envelope,
  SchemaError,
  callByRoute,
  calls,
  downloadTicket,
  events,
  exportRequest,
  passiveCalls,
  toBridgeError,
  uploadRequest,
  folderUploadRequest,
  web,
} from '../shared/ipc';
import { engineHandlers } from '../shared/dispatch';
import { IdleLock } from '../core/idle-lock';
import { type ErrorCode, httpStatusFor } from '../shared/errors';
import { redactCredentials } from '../shared/redact';
import { foreignPageProblem } from '../shared/browser-origin';

export interface ServeOptions {
  /** 0 or absent: any free port. */
  port?: number;
  /** Loopback only, on purpose: the type admits nothing else. */
  host?: '127.0.0.1';
  /** The built renderer; found next to the CLI bundle (out/renderer) when absent. */
  rendererDir?: string;
  autoLockMinutes?: number;
  /** Where diagnostics go (stderr by default; stdout's first line belongs to the URL). */
  log?: (line: string) => void;
}

export interface RunningServer {
  /** Open this: it holds the token in its fragment. */
  readonly url: string;
  /** Use of the vault from elsewhere (its drive): postpones the auto-lock. */
  touch(): void;
  close(): Promise<void>;
}

/** The page may load its own scripts and styles and talk to its own origin: nothing else. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=()',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function findRendererDir(explicit: string | undefined): string | null {
  const candidates = explicit
    ? [explicit]
    : [
        fileURLToPath(new URL('../renderer/', import.meta.url)), // bundled: out/cli → out/renderer
        fileURLToPath(new URL('../../out/renderer/', import.meta.url)), // from source: src/cli
      ];
  return candidates.map((dir) => resolve(dir)).find((dir) => existsSync(join(dir, 'index.html'))) ?? null;
}

/** How long a download waits to be fetched before its file is deleted. */
const DOWNLOAD_TTL_MS = 60_000;

/** A verified file waiting in its private folder for its one download. */
interface PendingDownload {
  readonly folder: string;
  readonly file: string;
  readonly name: string;
  readonly expiry: ReturnType<typeof setTimeout>;
}

/** `attachment` with the name as ASCII (for old clients) and as UTF-8 (RFC 6266, RFC 8187). */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const utf8 = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export async function startServer(api: ShardvaultApi, options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new TypeError('serve listens on 127.0.0.1 only');
  const log = options.log ?? ((line: string) => process.stderr.write(`shardvault serve: ${line}\n`));
  const rendererDir = findRendererDir(options.rendererDir);
  if (!rendererDir) log('the web UI is not built (run `npm run build`); the API is served alone');

  const token = randomBytes(32).toString('base64url');
  const tokenDigest = digest(token);
  let settings: BridgeSettings = { autoLockMinutes: options.autoLockMinutes ?? DEFAULT_AUTO_LOCK_MINUTES };
  const downloads = new Map<string, PendingDownload>();
  const discard = async (download: PendingDownload): Promise<void> => {
    clearTimeout(download.expiry);
    await rm(download.folder, { recursive: true, force: true });
    unregisterTemporary(download.folder);
  };

  const streams = new Set<ServerResponse>();
  const push = (name: string, data: unknown): void => {
    const frame = `event: ${name}\ndata: ${JSON.stringify(data ?? null)}\n\n`;
    for (const res of streams) res.write(frame);
  };
  /** A lock ends what the unlocked vault gave out: the exports not downloaded yet too. */
  const forgetDownloads = async (): Promise<void> => {
    const waiting = [...downloads.values()];
    downloads.clear();
    await Promise.all(waiting.map(discard));
  };
  const lockNow = async (why: string): Promise<void> => {
    try {
      await api.lock();
      log(`vault locked (${why})`);
    } catch (error) {
      log(`lock failed: ${redactCredentials(String(error))}`);
    }
    await forgetDownloads();
    push(events.locked.name, null);
  };
  const idle = new IdleLock(settings.autoLockMinutes, () => void lockNow('idle'));
  const unsubscribe = api.onProgress((event: ProgressEvent) => push(events.progress.name, event));

  let allowedHosts: ReadonlySet<string> = new Set();
  let allowedOrigins: ReadonlySet<string> = new Set();

  /** Host, Origin and fetch metadata: is this request from our own page (or a local tool)? */
  function checkOrigin(req: IncomingMessage): void {
    if (!allowedHosts.has(req.headers.host ?? '')) throw new HttpError(403, 'forbidden', 'wrong Host');
    const foreign = foreignPageProblem(req.headers.origin, req.headers['sec-fetch-site'], allowedOrigins);
    if (foreign) throw new HttpError(403, 'forbidden', foreign);
  }

  function checkToken(req: IncomingMessage): void {
    const given = req.headers[web.tokenHeader];
    if (typeof given !== 'string' || given === '') throw new HttpError(401, 'forbidden', 'missing token');
    if (!timingSafeEqual(digest(given), tokenDigest)) throw new HttpError(403, 'forbidden', 'wrong token');
  }

  function send(res: ServerResponse, status: number, body: Envelope<unknown>): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    res.end(text);
  }

  function sendError(res: ServerResponse, status: number, error: BridgeError): void {
    send(res, status, { ok: false, error });
  }

  async function readJson(req: IncomingMessage): Promise<unknown> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > web.maxJsonBytes) throw new HttpError(413, 'bad-request', 'request body too large');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > web.maxJsonBytes) throw new HttpError(413, 'bad-request', 'request body too large');
      chunks.push(chunk);
    }
    if (size === 0) return undefined;
    if (type !== 'application/json') throw new HttpError(415, 'bad-request', 'request body must be application/json');
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    } catch {
      throw new HttpError(400, 'bad-request', 'request body is not valid JSON');
    }
  }

  // Every engine call from the call table; the rest are this bridge's own.
  const handlers: { readonly [N in CallName]: (request: CallRequest<N>) => Promise<unknown> } = {
    ...engineHandlers(api, (_name, work) => work(), ['lock']),
    lock: async () => {
      await api.lock();
      await forgetDownloads();
      push(events.locked.name, null);
    },
    getSettings: () => Promise.resolve(settings),
    setSettings: (change) => {
      settings = { ...settings, ...change };
      idle.setMinutes(settings.autoLockMinutes);
      return Promise.resolve(settings);
    },
    activity: () => {
      idle.touch();
      return Promise.resolve();
    },
    chooseFolder: desktopOnly('chooseFolder'),
    printToPdf: desktopOnly('printToPdf'),
    chooseSavePath: desktopOnly('chooseSavePath'),
    chooseFiles: desktopOnly('chooseFiles'),
    openFile: desktopOnly('openFile'),
  };

  function desktopOnly(name: CallName): () => Promise<never> {
    return () => Promise.reject(new HttpError(404, 'unknown-call', `${name} exists in the desktop app only`));
  }

  /** Runs a call on a request its schema has parsed. */
  function runCall<N extends CallName>(name: N, request: CallRequest<N>): Promise<unknown> {
    return (handlers[name] as (request: CallRequest<N>) => Promise<unknown>)(request);
  }

  async function handleCall(req: IncomingMessage, res: ServerResponse, name: CallName): Promise<void> {
    if (req.method !== 'POST') throw new HttpError(405, 'bad-request', 'use POST');
    const body = await readJson(req);
    const spec = calls[name];
    const request = spec.request.parse(body); // every call, including those without a payload
    let value: unknown;
    try {
      value = await idle.around(() => runCall(name, request), !passiveCalls.has(name));
    } catch (error) {
      if (error instanceof HttpError || error instanceof SchemaError) throw error;
      const info = toBridgeError(error);
      if (info.code === 'internal')
        log(
          `${name} failed: ${redactCredentials(error instanceof Error ? (error.stack ?? error.message) : String(error))}`,
        );
      sendError(res, httpStatusFor(info.code), info);
      return;
    }
    let checked: unknown;
    try {
      checked = spec.response.parse(value);
    } catch (error) {
      log(`${name} answered outside the contract: ${redactCredentials(String(error))}`);
      throw new HttpError(500, 'internal', 'The engine answered something the UI cannot read.');
    }
    send(res, 200, { ok: true, value: checked });
  }

  async function handleUpload(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    if (req.method !== 'PUT') throw new HttpError(405, 'bad-request', 'use PUT');
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/octet-stream') {
      throw new HttpError(415, 'bad-request', 'an upload must be application/octet-stream');
    }
    const flag = (key: string): { [key: string]: boolean } => {
      const text = query.get(key);
      if (text === null) return {};
      if (!['0', '1', 'true', 'false'].includes(text))
        throw new HttpError(400, 'bad-request', `${key}: expected '1' or '0'`);
      return { [key]: text === '1' || text === 'true' };
    };
    const wholeNumber = (key: string): { [key: string]: number } => {
      const text = query.get(key);
      if (text === null) return {};
      if (!/^\d{1,3}$/.test(text)) throw new HttpError(400, 'bad-request', `${key}: expected a whole number`);
      return { [key]: Number(text) };
    };
    const meta = uploadRequest.parse({
      name: query.get('name') ?? undefined,
      ...flag('replace'),
      ...flag('guarded'),
      ...wholeNumber('survive'),
      ...wholeNumber('happy'),
    });
    // The announced size only scales the progress bar; the stored size is what arrives.
    const length = Number(req.headers['content-length']);
    const expectedSize = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
    await answerUpload(req, res, async () =>
      calls.putFile.response.parse(
        await api.putStream({ ...meta, data: bodyOf(req), ...(expectedSize !== undefined ? { expectedSize } : {}) }),
      ),
    );
  }

  /** A folder in one body (web.uploadFolder): its head, then its files' bytes, stored in one commit. */
  async function handleUploadFolder(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'PUT') throw new HttpError(405, 'bad-request', 'use PUT');
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/octet-stream') {
      throw new HttpError(415, 'bad-request', 'an upload must be application/octet-stream');
    }
    await answerUpload(req, res, async () => {
      const body = bodyOf(req)[Symbol.asyncIterator]();
      // The head: its length, then that many bytes of JSON; what came with them is the data's start.
      let held: Uint8Array = new Uint8Array(0);
      const fill = async (want: number): Promise<void> => {
        const parts = [held];
        let size = held.byteLength;
        while (size < want) {
          const r = await body.next();
          if (r.done) throw new HttpError(400, 'bad-request', 'the folder upload ended inside its head');
          parts.push(r.value);
          size += r.value.byteLength;
        }
        held = parts.length === 1 ? held : Buffer.concat(parts);
      };
      await fill(4);
      const headLength = new DataView(held.buffer, held.byteOffset, 4).getUint32(0);
      if (headLength > web.maxFolderHeadBytes)
        throw new HttpError(413, 'bad-request', 'the folder upload head is too large');
      await fill(4 + headLength);
      let head: unknown;
      try {
        head = JSON.parse(Buffer.from(held.subarray(4, 4 + headLength)).toString('utf8'));
      } catch {
        throw new HttpError(400, 'bad-request', 'the folder upload head is not valid JSON');
      }
      const meta = folderUploadRequest.parse(head);
      const first = held.subarray(4 + headLength);
      async function* data(): AsyncGenerator<Uint8Array> {
        if (first.byteLength > 0) yield first;
        for (;;) {
          const r = await body.next();
          if (r.done) return;
          yield r.value;
        }
      }
      return calls.putTree.response.parse(await api.putTreeStream({ ...meta, data: data() }));
    });
  }

  /** Runs an upload and answers it; a failure before the body was read closes the connection. */
  async function answerUpload(req: IncomingMessage, res: ServerResponse, work: () => Promise<unknown>): Promise<void> {
    try {
      const value = await idle.around(work, true);
      send(res, 200, { ok: true, value });
    } catch (error) {
      if (error instanceof HttpError || error instanceof SchemaError) {
        if (!req.readableEnded) {
          res.setHeader('connection', 'close');
          req.resume();
        }
        throw error;
      }
      const info = toBridgeError(error);
      if (info.code === 'internal') log(`upload failed: ${redactCredentials(String(error))}`);
      if (!req.readableEnded) {
        res.setHeader('connection', 'close');
        req.resume();
      }
      sendError(res, httpStatusFor(info.code), info);
    }
  }

  async function handleExport(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') throw new HttpError(405, 'bad-request', 'use POST');
    const { name } = exportRequest.parse(await readJson(req));
    const folder = await mkdtemp(join(tmpdir(), 'shardvault-download-'));
    registerTemporary(folder);
    const file = join(folder, fileBaseName(name));
    try {
      // Verified or nothing: getFile renames its temporary file to `file` after the hash check.
      await idle.around(() => api.getFile({ name, output: file }), true);
    } catch (error) {
      await rm(folder, { recursive: true, force: true });
      unregisterTemporary(folder);
      const info = toBridgeError(error);
      if (info.code === 'internal') log(`export failed: ${redactCredentials(String(error))}`);
      sendError(res, httpStatusFor(info.code), info);
      return;
    }
    const ticket = randomBytes(32).toString('base64url');
    const expiry = setTimeout(() => {
      const waiting = downloads.get(ticket);
      downloads.delete(ticket);
      if (waiting) void discard(waiting);
    }, DOWNLOAD_TTL_MS);
    expiry.unref();
    downloads.set(ticket, { folder, file, name: fileBaseName(name), expiry });
    send(res, 200, { ok: true, value: downloadTicket.parse({ url: `${web.download}${ticket}` }) });
  }

  async function handleDownload(req: IncomingMessage, res: ServerResponse, ticket: string): Promise<void> {
    if (req.method !== 'GET') throw new HttpError(405, 'bad-request', 'use GET');
    const download = downloads.get(ticket);
    if (!download) throw new HttpError(404, 'not-found', 'no such download (each is good once, for a minute)');
    downloads.delete(ticket);
    clearTimeout(download.expiry);
    const done = (): void => void discard(download);
    try {
      const info = await stat(download.file);
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'application/octet-stream',
        'content-length': info.size,
        'content-disposition': contentDisposition(download.name),
        'cache-control': 'no-store',
      });
    } catch (error) {
      done();
      throw error;
    }
    res.on('close', done);
    const stream = createReadStream(download.file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  function handleEvents(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET') throw new HttpError(405, 'bad-request', 'use GET');
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    streams.add(res);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 20_000);
    const drop = (): void => {
      clearInterval(keepAlive);
      streams.delete(res);
    };
    req.on('close', drop);
    res.on('close', drop);
  }

  async function handleStatic(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'bad-request', 'use GET');
    if (!rendererDir) throw new HttpError(404, 'not-found', 'the web UI is not built');
    let relative: string;
    try {
      relative = decodeURIComponent(pathname === '/' ? '/index.html' : pathname);
    } catch {
      throw new HttpError(400, 'bad-request', 'malformed path');
    }
    const file = resolve(join(rendererDir, relative));
    if (!file.startsWith(rendererDir + sep) || relative.includes('\0'))
      throw new HttpError(404, 'not-found', 'no such page');
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) throw new HttpError(404, 'not-found', 'no such page');
    const hashed = relative.startsWith('/assets/');
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-store',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    checkOrigin(req);
    if (url.pathname.startsWith(web.download)) {
      // The ticket stands in for the token: a browser download cannot send a header.
      return handleDownload(req, res, url.pathname.slice(web.download.length));
    }
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      checkToken(req);
      if (url.pathname === web.upload) return handleUpload(req, res, url.searchParams);
      if (url.pathname === web.uploadFolder) return handleUploadFolder(req, res);
      if (url.pathname === web.exportFile) return handleExport(req, res);
      if (url.pathname === web.events) return handleEvents(req, res);
      const name = callByRoute(url.pathname);
      if (name === undefined || calls[name].desktopOnly) {
        throw new HttpError(404, 'unknown-call', `no such call: ${url.pathname.slice(0, 80)}`);
      }
      return handleCall(req, res, name);
    }
    return handleStatic(req, res, url.pathname);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : error instanceof SchemaError ? 400 : 500;
      const info: BridgeError =
        error instanceof HttpError ? { code: error.code, message: error.message } : toBridgeError(error);
      if (status === 500) log(`${req.method} ${req.url?.split('?')[0]}: ${redactCredentials(String(error))}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (!req.readableEnded) {
        res.setHeader('connection', 'close');
        req.resume();
      }
      sendError(res, status, info);
    });
  });
  server.requestTimeout = 0; // uploads of big files take as long as they take
  server.headersTimeout = 30_000;

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  allowedOrigins = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  return {
    url: `http://127.0.0.1:${port}/#token=${token}`,
    touch: () => idle.touch(),
    async close() {
      idle.stop();
      unsubscribe();
      for (const res of streams) res.end();
      streams.clear();
      await forgetDownloads();
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    },
  };
}

/** A request's body as the engine reads bytes. */
async function* bodyOf(req: IncomingMessage): AsyncGenerator<Uint8Array> {
  for await (const chunk of req as AsyncIterable<Buffer>) {
    yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}
