/**
 * The vault as a drive: a WebDAV server (RFC 4918, class 1 and 2) over a DriveStore, on
 * 127.0.0.1 only, behind Basic and Digest sign-in with a password made for the mount.
 *
 * Reads stream: a segment goes out once its frames authenticate; a Range starts at the
 * segment holding its first byte; the last segment waits for the whole-file hash, and a
 * mismatch destroys the connection, so the client sees a broken transfer, never a short file
 * that looks whole. Writes stream into a new version. Names with `/` are folders (tree.ts).
 * Every request is bounded: header size (Node's), path length, XML bodies, and locks.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { foreignPageProblem } from '../../shared/browser-origin';
import { httpStatusFor } from '../../shared/errors';
import { ShardvaultError } from '../errors';
import { parseXml, type XmlElement } from '../storage/webdav/xml';
import { DriveAuth, DRIVE_USER, newDrivePassword } from './auth';
import { LockTable, lockSeconds, parseIf, submittedTokens, within, type DriveLock, type IfList } from './locks';
import { ReadEnough, type DriveFile, type DriveStore } from './store';
import { hrefOf, markerOf, nameOfPath, parentOf, Tree, type Resource } from './tree';
import { DAV, emptyElement, escapeXml, multistatus, propstat, writeElement } from './xml';

/** The largest XML body read (PROPFIND, PROPPATCH, LOCK). */
const MAX_XML_BYTES = 64 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;
const IDLE_TIMEOUT_MS = 120_000;
/** Dead properties kept per resource, and their total size per resource. */
const MAX_DEAD_PROPS = 64;
const MAX_DEAD_BYTES = 64 * 1024;
/** A LOCK's owner (a client's name or href, repeated in every lockdiscovery that lists it). */
const MAX_OWNER_CHARS = 1024;

export interface Drive {
  /** http://shardvault:PASSWORD@127.0.0.1:PORT/ */
  readonly url: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message = http.STATUS_CODES[status] ?? 'error',
    readonly body?: string,
  ) {
    super(message);
  }
}

const DAV_ERROR = (condition: string): string =>
  `<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:${condition}/></D:error>`;

export interface DriveOptions {
  /** 0 or absent: a free port. */
  readonly port?: number;
  /** Called for each request that signed in: use of the vault (the app's auto-lock waits). */
  readonly onActivity?: () => void;
  /** A request the vault failed (not a client's mistake): its method, path and why. */
  readonly onError?: (message: string) => void;
}

export async function startDrive(store: DriveStore, options: DriveOptions = {}): Promise<Drive> {
  const password = newDrivePassword();
  const auth = new DriveAuth(password);
  const locks = new LockTable();
  // Dead properties (PROPPATCH) live with the mount, in memory: the vault keeps file bytes only.
  const dead = new Map<string, Map<string, { ns: string; name: string; xml: string }>>();
  const sockets = new Set<Socket>();
  /** The Host values this drive answers (set once the port is known). */
  const hosts = new Set<string>();
  /** The origins of this drive's own pages (its folder listings). */
  const origins = new Set<string>();

  const server = http.createServer(
    { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 5_000 },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        // A client that went away (res destroyed) is no failure of the vault's.
        if (!(err instanceof HttpError) && !res.destroyed)
          options.onError?.(
            `${req.method ?? ''} ${req.url ?? ''}: ${err instanceof Error ? err.message : String(err)}`,
          );
        fail(res, err);
      });
    },
  );
  // A client that stops reading or sending holds the vault's queue: after two idle minutes
  // its connection is dropped (a read then stops, an upload stores nothing).
  server.setTimeout(IDLE_TIMEOUT_MS);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const fail = (res: http.ServerResponse, err: unknown): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Headers a GET set for the content it meant to send.
    for (const h of ['Content-Range', 'ETag', 'Last-Modified', 'Accept-Ranges']) res.removeHeader(h);
    let status = 500;
    let body: string | undefined;
    if (err instanceof HttpError) {
      status = err.status;
      body = err.body;
    } else if (err instanceof ShardvaultError) {
      // The engine's codes answer with the HTTP status the error table gives them, and its
      // words (a file manager may show them: "needs 1 guardian approval").
      status = httpStatusFor(err.code);
      send(res, status, `${err.message}\n`, 'text/plain; charset=utf-8');
      return;
    }
    send(res, status, body);
  };

  const send = (
    res: http.ServerResponse,
    status: number,
    body?: string,
    type = 'application/xml; charset=utf-8',
  ): void => {
    if (body !== undefined) {
      res.setHeader('Content-Type', type);
      res.setHeader('Content-Length', Buffer.byteLength(body));
    } else res.setHeader('Content-Length', 0);
    res.writeHead(status);
    res.end(body);
  };

  const readXml = async (req: http.IncomingMessage): Promise<XmlElement | null> => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > MAX_XML_BYTES) throw new HttpError(413);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_XML_BYTES) throw new HttpError(413);
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') return null;
    // A prefix bound to no namespace (xmlns:p="") is not XML with namespaces (section 2.2 of
    // that spec); the parser, made for servers' answers, lets it pass.
    if (/\sxmlns:[^\s=]+\s*=\s*(""|'')/.test(text)) throw new HttpError(400, 'malformed XML');
    try {
      return parseXml(text, 'the request');
    } catch {
      throw new HttpError(400, 'malformed XML');
    }
  };

  /** The body of a request that takes none: any body is refused (MKCOL's 415). */
  const noBody = async (req: http.IncomingMessage, status: number): Promise<void> => {
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_XML_BYTES) throw new HttpError(413);
    }
    if (size > 0) throw new HttpError(status);
  };

  const tree = (): Tree => new Tree(store.files());

  const etagOf = (f: DriveFile): string => `"${f.sha256.slice(0, 32)}"`;

  /** The request path as a name; 400 for one no name can be. */
  const target = (req: http.IncomingMessage): { name: string; slash: boolean } => {
    const url = req.url ?? '';
    const path = url.split('?')[0]!;
    const parsed = nameOfPath(path);
    if (!parsed) throw new HttpError(400, 'not a path this drive serves');
    return parsed;
  };

  /** A Destination header as a name: this server's own URL or an absolute path. */
  const destination = (req: http.IncomingMessage): string => {
    const value = req.headers['destination'];
    if (typeof value !== 'string' || value === '') throw new HttpError(400, 'Destination missing');
    let path: string;
    try {
      path = value.startsWith('/') ? value : new URL(value).pathname;
    } catch {
      throw new HttpError(400, 'bad Destination');
    }
    if (!value.startsWith('/')) {
      const host = new URL(value).host;
      if (host !== req.headers.host) throw new HttpError(502, 'Destination on another server');
    }
    const parsed = nameOfPath(path.split('?')[0]!);
    if (!parsed || parsed.name === '') throw new HttpError(403, 'bad Destination');
    return parsed.name;
  };

  // ------------------------------------------------------------------ If and locks

  /** Evaluates the If header (RFC 4918 section 10.4); 412 when no list holds. */
  const checkIf = (req: http.IncomingMessage, name: string, t: Tree): IfList[] | null => {
    const header = one(req, 'if');
    if (header === undefined) return null;
    const lists = parseIf(header);
    if (!lists) throw new HttpError(400, 'malformed If header');
    const holds = lists.some((list) => {
      let resource = name;
      if (list.resource !== null) {
        let path = list.resource;
        try {
          path = path.startsWith('/') ? path : new URL(path).pathname;
        } catch {
          return false;
        }
        const parsed = nameOfPath(path);
        if (!parsed) return false;
        resource = parsed.name;
      }
      const file = t.file(resource);
      const tokens = new Set(locks.covering(resource).map((l) => l.token));
      return list.conditions.every((c) => {
        const match = c.token !== undefined ? tokens.has(c.token) : file !== undefined && etagOf(file) === c.etag;
        return match !== c.not;
      });
    });
    if (!holds) throw new HttpError(412);
    return lists;
  };

  /** Refuses (423) a change to `name` that a lock covers unless its token is submitted. */
  const checkLocks = (lists: IfList[] | null, name: string, deep: boolean): void => {
    const submitted = submittedTokens(lists);
    const held = deep ? locks.affecting(name) : locks.covering(name);
    // A shared lock is satisfied by any one of its holders' tokens; an exclusive one by its own.
    if (
      held.some((l) => !submitted.has(l.token)) &&
      !(held.every((l) => l.scope === 'shared') && held.some((l) => submitted.has(l.token)))
    )
      throw new HttpError(423, 'locked', DAV_ERROR('lock-token-submitted'));
  };

  // ------------------------------------------------------------------ properties

  const liveProps = (name: string, r: Resource): Map<string, string> => {
    const props = new Map<string, string>();
    const folder = r.kind === 'folder';
    props.set('resourcetype', folder ? '<D:resourcetype><D:collection/></D:resourcetype>' : '<D:resourcetype/>');
    const display = name === '' ? '' : name.slice(name.lastIndexOf('/') + 1);
    props.set('displayname', `<D:displayname>${escapeXml(display)}</D:displayname>`);
    if (r.kind === 'file') {
      const f = r.file;
      const created = new Date(f.created);
      props.set('getcontentlength', `<D:getcontentlength>${f.size}</D:getcontentlength>`);
      props.set('getcontenttype', '<D:getcontenttype>application/octet-stream</D:getcontenttype>');
      props.set('getetag', `<D:getetag>${escapeXml(etagOf(f))}</D:getetag>`);
      if (!Number.isNaN(created.getTime())) {
        props.set('getlastmodified', `<D:getlastmodified>${created.toUTCString()}</D:getlastmodified>`);
        props.set('creationdate', `<D:creationdate>${created.toISOString()}</D:creationdate>`);
      }
    }
    props.set(
      'supportedlock',
      '<D:supportedlock>' +
        ['exclusive', 'shared']
          .map(
            (s) => `<D:lockentry><D:lockscope><D:${s}/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>`,
          )
          .join('') +
        '</D:supportedlock>',
    );
    props.set('lockdiscovery', `<D:lockdiscovery>${locks.covering(name).map(activeLock).join('')}</D:lockdiscovery>`);
    return props;
  };

  const activeLock = (l: DriveLock): string =>
    `<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:${l.scope}/></D:lockscope>` +
    `<D:depth>${l.infinite ? 'infinity' : '0'}</D:depth>${l.owner ? `<D:owner>${l.owner}</D:owner>` : ''}` +
    `<D:timeout>Second-${l.seconds}</D:timeout><D:locktoken><D:href>${escapeXml(l.token)}</D:href></D:locktoken>` +
    `<D:lockroot><D:href>${escapeXml(hrefOf(l.root, false))}</D:href></D:lockroot></D:activelock>`;

  const propKey = (ns: string, name: string): string => `${ns}\u0000${name}`;

  /** One resource's <response> for a PROPFIND. */
  const propResponse = (name: string, r: Resource, body: XmlElement | null): string => {
    const live = liveProps(name, r);
    const deadProps = dead.get(name) ?? new Map<string, { ns: string; name: string; xml: string }>();
    const href = `<D:href>${escapeXml(hrefOf(name, r.kind === 'folder'))}</D:href>`;
    const mode = body?.children.find((c) => c.ns === DAV && ['allprop', 'propname', 'prop'].includes(c.name));
    if (!body || mode?.name === 'allprop') {
      const all = [...live.values()];
      return `<D:response>${href}${propstat([...all, ...[...deadProps.values()].map((p) => p.xml)], '200 OK')}</D:response>`;
    }
    if (mode?.name === 'propname') {
      const names = [...live.keys()].map((k) => `<D:${k}/>`);
      const deadNames = [...deadProps.values()].map((p) => emptyElement(p.ns, p.name));
      return `<D:response>${href}${propstat([...names, ...deadNames], '200 OK')}</D:response>`;
    }
    const found: string[] = [];
    const missing: string[] = [];
    for (const p of mode!.children) {
      const value = p.ns === DAV ? live.get(p.name) : undefined;
      const deadValue = deadProps.get(propKey(p.ns, p.name));
      if (value) found.push(value);
      else if (deadValue) found.push(deadValue.xml);
      else missing.push(p.ns === DAV ? `<D:${p.name}/>` : emptyElement(p.ns, p.name));
    }
    const stats = [
      ...(found.length ? [propstat(found, '200 OK')] : []),
      ...(missing.length ? [propstat(missing, '404 Not Found')] : []),
    ];
    return `<D:response>${href}${stats.join('')}</D:response>`;
  };

  // ------------------------------------------------------------------ methods

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const method = req.method ?? '';
    // Only this machine's names for the drive: a page whose name was rebound to 127.0.0.1
    // (DNS rebinding) sends its own name as Host and is refused before it can ask for a password.
    if (!hosts.has((req.headers.host ?? '').toLowerCase())) {
      res.setHeader('Connection', 'close');
      send(res, 421);
      return;
    }
    // Another site's page in a browser that signed in here (the browser sends the sign-in it
    // keeps with any page's request): refused before sign-in (src/shared/browser-origin.ts).
    if (foreignPageProblem(req.headers.origin, req.headers['sec-fetch-site'], origins)) {
      res.setHeader('Connection', 'close');
      send(res, 403);
      return;
    }
    const verdict = auth.check(method, req.url ?? '', req.headers.authorization);
    if (verdict !== 'ok') {
      // The body, if any, is not read: the connection closes after the answer.
      res.setHeader('WWW-Authenticate', auth.challenges(verdict === 'stale'));
      res.setHeader('Connection', 'close');
      send(res, 401);
      return;
    }
    options.onActivity?.();
    // Nothing the drive sends is a page that runs here, at the origin where the browser's
    // sign-in reads every file: never sniffed into HTML, and sandboxed should it be shown.
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "sandbox; default-src 'none'; frame-ancestors 'none'");
    const { name, slash } = target(req);
    switch (method) {
      case 'OPTIONS':
        await noBody(req, 415);
        res.setHeader('DAV', '1, 2');
        res.setHeader('MS-Author-Via', 'DAV');
        res.setHeader('Allow', 'OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK');
        send(res, 200);
        return;
      case 'GET':
      case 'HEAD':
        return get(req, res, name, method === 'HEAD');
      case 'PUT':
        return put(req, res, name, slash);
      case 'DELETE':
        return remove(req, res, name);
      case 'MKCOL':
        return mkcol(req, res, name);
      case 'COPY':
      case 'MOVE':
        return copyOrMove(req, res, name, method === 'MOVE');
      case 'PROPFIND':
        return propfind(req, res, name);
      case 'PROPPATCH':
        return proppatch(req, res, name);
      case 'LOCK':
        return lock(req, res, name);
      case 'UNLOCK':
        return unlock(req, res, name);
      default:
        send(res, 405);
    }
  };

  const get = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    name: string,
    headOnly: boolean,
  ): Promise<void> => {
    const t = tree();
    const r = t.resolve(name);
    if (!r) throw new HttpError(404);
    if (r.kind === 'folder') {
      const items = t
        .children(name)
        .map((c) => {
          const leaf = c.name.slice(c.name.lastIndexOf('/') + 1);
          return `<li><a href="${escapeXml(hrefOf(c.name, c.resource.kind === 'folder'))}">${escapeXml(leaf)}${c.resource.kind === 'folder' ? '/' : ''}</a></li>`;
        })
        .join('');
      const html = `<!doctype html><meta charset="utf-8"><title>${escapeXml(name || '/')}</title><ul>${items}</ul>`;
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.setHeader('Content-Length', Buffer.byteLength(html));
      res.writeHead(200);
      res.end(headOnly ? undefined : html);
      return;
    }
    const f = r.file;
    res.setHeader('ETag', etagOf(f));
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Content-Type', 'application/octet-stream');
    const modified = new Date(f.created);
    if (!Number.isNaN(modified.getTime())) res.setHeader('Last-Modified', modified.toUTCString());
    let start = 0;
    let end = f.size - 1; // inclusive
    let partial = false;
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    if (range && (ifRange === undefined || ifRange === etagOf(f))) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (m && (m[1] !== '' || m[2] !== '')) {
        if (m[1] === '') {
          start = Math.max(0, f.size - Number(m[2]));
        } else {
          start = Number(m[1]);
          if (m[2] !== '') end = Math.min(end, Number(m[2]));
        }
        if (start >= f.size || start > end || !Number.isSafeInteger(start)) {
          res.setHeader('Content-Range', `bytes */${f.size}`);
          send(res, 416);
          return;
        }
        partial = true;
      }
    }
    const length = end - start + 1;
    res.setHeader('Content-Length', Math.max(0, length));
    if (partial) res.setHeader('Content-Range', `bytes ${start}-${end}/${f.size}`);
    if (headOnly || length <= 0) {
      res.writeHead(partial ? 206 : 200);
      res.end();
      return;
    }
    // The status goes out with the first authenticated segment: an error before it (no key,
    // too few shards, a guarded file waiting for approvals) still answers with its own status.
    const sendStatus = (): void => {
      if (!res.headersSent) res.writeHead(partial ? 206 : 200);
    };
    const write = (chunk: Uint8Array): Promise<void> =>
      new Promise((resolve, reject) => {
        sendStatus();
        if (res.destroyed) reject(new Error('the client went away'));
        // Resolves once handed to the socket: the reader then uses the buffer again.
        else res.write(chunk, (err) => (err ? reject(err) : resolve()));
      });
    let held: Uint8Array[] = [];
    await store.read(f.name, start, async (segment) => {
      let offset = segment.offset;
      const out: Uint8Array[] = [];
      for (const b of segment.bytes) {
        const from = Math.max(0, start - offset);
        const to = Math.min(b.length, end + 1 - offset);
        if (to > from) out.push(b.subarray(from, to));
        offset += b.length;
      }
      if (segment.last) {
        // Held back until the whole-file hash is checked (copied: the reader reuses its buffers).
        held = out.map((b) => new Uint8Array(b));
        return;
      }
      for (const b of out) await write(b);
      if (offset > end) throw new ReadEnough();
    });
    for (const b of held) await write(b);
    sendStatus();
    res.end();
  };

  /** The request body, checked against its Content-Length: a cut-short upload stores nothing. */
  async function* body(req: http.IncomingMessage): AsyncIterable<Uint8Array> {
    const declared = req.headers['content-length'];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      yield chunk;
    }
    if (!req.complete) throw new Error('the upload was cut short');
    if (declared !== undefined && size !== Number(declared)) throw new Error('the upload was cut short');
  }

  const put = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    name: string,
    slash: boolean,
  ): Promise<void> => {
    if (name === '' || slash) throw new HttpError(405);
    if (req.headers['content-range']) throw new HttpError(400, 'partial PUT is not supported');
    const t = tree();
    if (t.isFolder(name) && !t.file(name)) throw new HttpError(405);
    if (!t.isFolder(parentOf(name))) throw new HttpError(409);
    checkLocks(checkIf(req, name, t), name, false);
    const existed = t.file(name) !== undefined;
    const declared = req.headers['content-length'];
    const size = declared !== undefined && /^\d{1,15}$/.test(declared) ? Number(declared) : undefined;
    await store.write(name, body(req), size);
    const stored = tree().file(name);
    if (stored) res.setHeader('ETag', etagOf(stored));
    send(res, existed ? 204 : 201);
  };

  /** Removes `name` and everything below it; the names removed. */
  const removeAll = async (t: Tree, name: string): Promise<void> => {
    const r = t.resolve(name);
    if (r?.kind === 'file') await store.remove(name);
    else for (const f of t.below(name)) await store.remove(f.name);
    for (const key of [...dead.keys()]) if (within(key, name)) dead.delete(key);
    locks.dropUnder(name);
  };

  const remove = async (req: http.IncomingMessage, res: http.ServerResponse, name: string): Promise<void> => {
    if (name === '') throw new HttpError(403);
    const t = tree();
    const r = t.resolve(name);
    if (!r) throw new HttpError(404);
    checkLocks(checkIf(req, name, t), name, r.kind === 'folder');
    await removeAll(t, name);
    send(res, 204);
  };

  const mkcol = async (req: http.IncomingMessage, res: http.ServerResponse, name: string): Promise<void> => {
    await noBody(req, 415);
    const t = tree();
    if (name === '' || t.resolve(name)) throw new HttpError(405);
    if (!t.isFolder(parentOf(name))) throw new HttpError(409);
    checkLocks(checkIf(req, name, t), name, false);
    await store.write(markerOf(name), emptyBody(), 0);
    send(res, 201);
  };

  const copyOrMove = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    name: string,
    move: boolean,
  ): Promise<void> => {
    const to = destination(req);
    const t = tree();
    const r = t.resolve(name);
    if (!r) throw new HttpError(404);
    if (name === '') throw new HttpError(403);
    if (to === name) throw new HttpError(403, 'source and destination are the same');
    if (within(to, name)) throw new HttpError(409, 'a folder cannot go inside itself');
    // Overwriting a folder that holds the source would remove the source before it is read.
    if (within(name, to)) throw new HttpError(409, 'the destination holds the source');
    const overwrite = (req.headers['overwrite'] ?? 'T').toString().toUpperCase();
    if (overwrite !== 'T' && overwrite !== 'F') throw new HttpError(400, 'bad Overwrite');
    const depth = req.headers['depth'] ?? 'infinity';
    if (depth !== 'infinity' && !(depth === '0' && !move)) throw new HttpError(400, 'bad Depth');
    if (!t.isFolder(parentOf(to))) throw new HttpError(409);
    const lists = checkIf(req, name, t);
    if (move) checkLocks(lists, name, r.kind === 'folder');
    const existing = t.resolve(to);
    checkLocks(lists, to, existing?.kind === 'folder');
    if (existing && overwrite === 'F') throw new HttpError(412);
    if (existing) await removeAll(t, to);
    if (r.kind === 'file') {
      await (move ? store.move(name, to) : store.copy(name, to));
    } else if (move) {
      // The engine's mv of a folder: every name under it in one commit, no shard written.
      await store.moveFolder(name, to);
    } else {
      const names = depth === '0' ? [] : t.below(name).map((f) => f.name);
      if (!names.includes(markerOf(name))) await store.write(markerOf(to), emptyBody(), 0);
      for (const from of names) {
        const moved = to + from.slice(name.length);
        await store.copy(from, moved);
      }
    }
    for (const [key, props] of [...dead.entries()]) {
      if (!within(key, name) || (depth === '0' && key !== name)) continue;
      dead.set(to + key.slice(name.length), new Map(props));
      if (move) dead.delete(key);
    }
    if (move) locks.dropUnder(name);
    send(res, existing ? 204 : 201);
  };

  const propfind = async (req: http.IncomingMessage, res: http.ServerResponse, name: string): Promise<void> => {
    const depth = req.headers['depth'] ?? 'infinity';
    if (depth !== '0' && depth !== '1') {
      // Infinity would walk the whole vault in one answer (RFC 4918 section 9.1 lets a server refuse).
      await readXml(req).catch(() => null);
      send(res, 403, DAV_ERROR('propfind-finite-depth'));
      return;
    }
    const xml = await readXml(req);
    if (xml && !(xml.ns === DAV && xml.name === 'propfind')) throw new HttpError(400, 'not a propfind');
    if (xml && !xml.children.some((c) => c.ns === DAV && ['allprop', 'propname', 'prop'].includes(c.name)))
      throw new HttpError(400, 'empty propfind');
    const t = tree();
    const r = t.resolve(name);
    if (!r) throw new HttpError(404);
    const responses = [propResponse(name, r, xml)];
    if (depth === '1' && r.kind === 'folder')
      for (const c of t.children(name)) responses.push(propResponse(c.name, c.resource, xml));
    send(res, 207, multistatus(responses));
  };

  const proppatch = async (req: http.IncomingMessage, res: http.ServerResponse, name: string): Promise<void> => {
    const xml = await readXml(req);
    if (!xml || xml.ns !== DAV || xml.name !== 'propertyupdate') throw new HttpError(400, 'not a propertyupdate');
    const t = tree();
    const r = t.resolve(name);
    if (!r) throw new HttpError(404);
    checkLocks(checkIf(req, name, t), name, false);
    const current = new Map(dead.get(name) ?? []);
    const results: { ns: string; name: string; status: string }[] = [];
    let refused = false;
    for (const op of xml.children) {
      if (op.ns !== DAV || (op.name !== 'set' && op.name !== 'remove')) continue;
      for (const prop of op.children.filter((c) => c.ns === DAV && c.name === 'prop').flatMap((c) => c.children)) {
        if (prop.ns === DAV) {
          // Live properties are the vault's: not set by a client.
          results.push({ ns: prop.ns, name: prop.name, status: '403 Forbidden' });
          refused = true;
          continue;
        }
        const key = propKey(prop.ns, prop.name);
        if (op.name === 'remove') current.delete(key);
        else current.set(key, { ns: prop.ns, name: prop.name, xml: writeElement(prop) });
        results.push({ ns: prop.ns, name: prop.name, status: '200 OK' });
      }
    }
    const size = [...current.values()].reduce((s, p) => s + p.xml.length, 0);
    if (!refused && (current.size > MAX_DEAD_PROPS || size > MAX_DEAD_BYTES)) {
      for (const p of results) p.status = '507 Insufficient Storage';
      refused = true;
    }
    if (refused) for (const p of results) if (p.status === '200 OK') p.status = '424 Failed Dependency';
    if (!refused) dead.set(name, current);
    const byStatus = new Map<string, string[]>();
    for (const p of results) {
      const list = byStatus.get(p.status) ?? [];
      list.push(p.ns === DAV ? `<D:${p.name}/>` : emptyElement(p.ns, p.name));
      byStatus.set(p.status, list);
    }
    const href = `<D:href>${escapeXml(hrefOf(name, r.kind === 'folder'))}</D:href>`;
    const stats = [...byStatus.entries()].map(([status, props]) => propstat(props, status));
    send(res, 207, multistatus([`<D:response>${href}${stats.join('')}</D:response>`]));
  };

  const lock = async (req: http.IncomingMessage, res: http.ServerResponse, name: string): Promise<void> => {
    const xml = await readXml(req);
    const t = tree();
    const seconds = lockSeconds(one(req, 'timeout'));
    if (!xml) {
      // A refresh: the If header names the lock.
      const lists = checkIf(req, name, t);
      const held = [...submittedTokens(lists)].map((tok) => locks.byToken(tok)).find((l) => l && within(name, l.root));
      if (!held) throw new HttpError(412, 'no lock to refresh', DAV_ERROR('lock-token-matches-request-uri'));
      locks.refresh(held, seconds);
      send(
        res,
        200,
        `<?xml version="1.0" encoding="utf-8"?>\n<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLock(held)}</D:lockdiscovery></D:prop>`,
      );
      return;
    }
    if (xml.ns !== DAV || xml.name !== 'lockinfo') throw new HttpError(400, 'not a lockinfo');
    const scopeEl = xml.children.find((c) => c.ns === DAV && c.name === 'lockscope')?.children[0];
    const typeEl = xml.children.find((c) => c.ns === DAV && c.name === 'locktype')?.children[0];
    if (!scopeEl || !typeEl || typeEl.ns !== DAV || typeEl.name !== 'write') throw new HttpError(400, 'bad lockinfo');
    if (scopeEl.ns !== DAV || (scopeEl.name !== 'exclusive' && scopeEl.name !== 'shared'))
      throw new HttpError(400, 'bad lockscope');
    const ownerEl = xml.children.find((c) => c.ns === DAV && c.name === 'owner');
    const owner = ownerEl ? ownerEl.children.map(writeElement).join('') + escapeXml(ownerEl.text) : '';
    if (owner.length > MAX_OWNER_CHARS) throw new HttpError(400, 'lock owner too long');
    const depth = req.headers['depth'] ?? 'infinity';
    if (depth !== '0' && depth !== 'infinity') throw new HttpError(400, 'bad Depth');
    const r = t.resolve(name);
    const lists = checkIf(req, name, t);
    if (name === '') throw new HttpError(403, 'the root is not locked');
    if (!r) {
      if (!t.isFolder(parentOf(name))) throw new HttpError(409);
      checkLocks(lists, name, false);
    }
    const taken = locks.take(name, scopeEl.name, depth === 'infinity' && r?.kind === 'folder', owner, seconds);
    if (!taken) throw new HttpError(423, 'locked', DAV_ERROR('no-conflicting-lock'));
    let created = false;
    if (!r) {
      // A lock on an unmapped name makes an empty file there (RFC 4918 section 7.3).
      try {
        await store.write(name, emptyBody(), 0);
      } catch (err) {
        locks.release(taken.token);
        throw err;
      }
      created = true;
    }
    res.setHeader('Lock-Token', `<${taken.token}>`);
    send(
      res,
      created ? 201 : 200,
      `<?xml version="1.0" encoding="utf-8"?>\n<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLock(taken)}</D:lockdiscovery></D:prop>`,
    );
  };

  const unlock = async (req: http.IncomingMessage, res: http.ServerResponse, name: string): Promise<void> => {
    await noBody(req, 415);
    const m = /^<([^>]+)>$/.exec((one(req, 'lock-token') ?? '').trim());
    if (!m) throw new HttpError(400, 'Lock-Token missing');
    const held = locks.byToken(m[1]!);
    if (!held || !within(name, held.root) || (!held.infinite && held.root !== name))
      throw new HttpError(409, 'no such lock here', DAV_ERROR('lock-token-matches-request-uri'));
    locks.release(held.token);
    send(res, 204);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  hosts.add(`127.0.0.1:${port}`).add(`localhost:${port}`);
  origins.add(`http://127.0.0.1:${port}`).add(`http://localhost:${port}`);
  return {
    url: `http://${DRIVE_USER}:${password}@127.0.0.1:${port}/`,
    port,
    user: DRIVE_USER,
    password,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      dead.clear();
    },
  };
}

/** A header's value: custom headers may come as several lines; the first counts. */
function one(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function* emptyBody(): AsyncIterable<Uint8Array> {
  // nothing: an empty file
}
