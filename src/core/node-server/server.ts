/**
 * The Shardvault node as a server (`shardvault node serve`): HTTPS with its self-signed
 * certificate, one vault per folder, every request but enrolment signed by an enrolled
 * device (docs/NODE.md is the wire protocol; ../storage/shardnode/protocol.ts its constants).
 *
 * A client is hostile until its signature holds: nothing of a body is read before the
 * headers' signature is checked (a PUT's body is then bound by its trailer signature before
 * the object is renamed into place), every body is bounded, and the objects live in DIR/store
 * under the local folder backend's rules (no link followed, only format names deleted).
 */
import { createHash, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { engineConfig } from '../config';
import { ForeignObjectError, NotFoundError, ShardvaultError, UsageError } from '../errors';
import { decodeVaultRecord, PATHS } from '../format/records';
import { LocalFolderNode } from '../storage/local';
import { assertObjectPath, assertRange } from '../storage/node';
import {
  ENROL_CODE,
  GUARD_METHOD,
  HEADERS,
  LOG_PAGE,
  MAX_CONNECTIONS,
  MAX_JSON_BODY,
  MAX_OBJECT_BYTES,
  NODE_ERRORS,
  NONCE,
  peerConnectionCap,
  PROTOCOL_PREFIX,
  publicKeyFrom,
  REQUEST_WINDOW_MS,
  sha256Hex,
  TRAILER_HASH,
  verifyFields,
  type NodeErrorCode,
  type SignedFields,
} from '../storage/shardnode/protocol';
import { nodeSpec } from '../storage/shardnode/spec';
import { RequestLog } from './log';
import { NodeState } from './state';

/**
 * What answers POST /v1/guard/<method> (the guard protocol's custodian): the request's JSON
 * body, the enrolled device key that signed it (base64url), and a JSON answer. An error with
 * a numeric `status` of 400..499 is answered with that status and its message.
 */
export interface GuardHandler {
  handle(method: string, body: unknown, deviceKey: string): Promise<unknown>;
  /**
   * Whether the guard lets `deviceKey` enrol (its code already checked): `body` is the
   * enrolment body's `guard` (an enrolment request and its approvals), or undefined. An answer
   * `{ok: false, message}` refuses the enrolment (needs-approval); the code stays unspent.
   */
  enrolment?(deviceKey: string, body: unknown): Promise<{ ok: boolean; message?: string }>;
}

export interface NodeServerOptions {
  readonly dir: string;
  readonly host: string;
  readonly port: number;
  /** The host name the SPEC names (default: `host`). */
  readonly publicHost?: string;
  /** The guard endpoint's handler, made once the node's folder is open (hostCustodian). */
  readonly guard?: GuardHandler | ((state: NodeState) => Promise<GuardHandler>);
  /** Lines for the operator (stderr in the CLI). */
  readonly say?: (line: string) => void;
  /** The most connections it holds at once (default MAX_CONNECTIONS); one peer address gets a quarter. */
  readonly maxConnections?: number;
}

export interface RunningNode {
  /** The SPEC to add it with (with `enrol=` until a device enrolled). */
  readonly spec: string;
  readonly port: number;
  readonly fingerprint: string;
  readonly state: NodeState;
  close(): Promise<void>;
}

const TOO_LARGE = `an object larger than ${MAX_OBJECT_BYTES} bytes is refused`;

class Refusal extends Error {
  constructor(
    readonly code: NodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A request whose signature held: the fields signed, and who signed them. */
interface Authenticated extends SignedFields {
  readonly device: string;
  readonly key: KeyObject;
}

/**
 * A new single-use enrolment code for a node's folder, while it runs or not (`node new-code`):
 * the SPEC to enrol one more device with, at the address the node last printed.
 */
export async function newEnrolment(dir: string): Promise<string> {
  const state = await NodeState.open(dir, true);
  const address = await state.readAddress();
  if (address === null)
    throw new UsageError(`${state.dir}: the node has not run yet (no address): start it with node serve`);
  return `${address}&enrol=${await state.newEnrolCode()}`;
}

export async function startNodeServer(o: NodeServerOptions): Promise<RunningNode> {
  const state = await NodeState.open(o.dir);
  const log = await RequestLog.open(state.logPath);
  const guard = typeof o.guard === 'function' ? await o.guard(state) : o.guard;
  const store = new LocalFolderNode(state.storeDir);
  const startedAt = Date.now();
  const seen = new Map<string, number>();
  const say = o.say ?? (() => undefined);
  // A peer silent for one read timeout is cut, as the client cuts a silent node: a stranger
  // needs no key to open a connection (or to sign an enrolment), so none may be held for free.
  const idleMs = engineConfig().readTimeoutMs;

  const header = (req: IncomingMessage, name: string): string => {
    const v = req.headers[name];
    if (typeof v !== 'string') throw new Refusal('unauthenticated', `missing or repeated ${name}`);
    return v;
  };

  /** The signed headers, checked; the nonce is spent once the signature holds. */
  function authenticate(req: IncomingMessage, enrolling: string | null): Authenticated {
    const device = header(req, HEADERS.device);
    const key = publicKeyFrom(device);
    if (key === null) throw new Refusal('unauthenticated', 'the device key is not 32 bytes of base64url');
    if (enrolling === null && !state.isDevice(device))
      throw new Refusal('not-enrolled', 'this device is not enrolled at this node');
    const timeText = header(req, HEADERS.time);
    if (!/^[0-9]{1,16}$/.test(timeText)) throw new Refusal('unauthenticated', 'bad time');
    const time = Number(timeText);
    const now = Date.now();
    if (Math.abs(now - time) > REQUEST_WINDOW_MS || time < startedAt - 1000)
      throw new Refusal(
        'unauthenticated',
        'stale request time (clocks more than 5 minutes apart, or sent before the node started)',
      );
    const nonce = header(req, HEADERS.nonce);
    if (!NONCE.test(nonce)) throw new Refusal('unauthenticated', 'bad nonce');
    const bodyHash = header(req, HEADERS.bodyHash);
    if (!/^[0-9a-f]{64}$/.test(bodyHash) && !(bodyHash === TRAILER_HASH && req.method === 'PUT'))
      throw new Refusal('unauthenticated', 'bad body hash');
    const fields = {
      method: req.method ?? '',
      target: req.url ?? '',
      bodyHash,
      nonce,
      time,
      fingerprint: state.fingerprint,
    };
    if (!verifyFields(key, fields, header(req, HEADERS.signature)))
      throw new Refusal('unauthenticated', 'bad signature');
    if (seen.has(nonce)) throw new Refusal('unauthenticated', 'replayed request (nonce seen before)');
    // Only an enrolled device's nonces are kept: anyone can sign an enrolment with a key of
    // their own, and replaying one enrols nobody new (the code is spent once), so a stranger
    // can't fill this memory.
    if (enrolling === null) {
      if (seen.size > 10_000) for (const [n, t] of seen) if (now - t > 2 * REQUEST_WINDOW_MS) seen.delete(n);
      seen.set(nonce, now);
    }
    return { device, key, ...fields };
  }

  /**
   * A whole body of at most `max` bytes, whose SHA-256 must be `hash`, within one read timeout
   * (these bodies are small: one sent a byte at a time is cut, not waited for).
   */
  async function readBody(req: IncomingMessage, max: number, hash: string | null): Promise<Buffer> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) throw new Refusal('too-large', `the body is larger than ${max} bytes`);
    const chunks: Buffer[] = [];
    let total = 0;
    const deadline = setTimeout(() => req.socket.destroy(), idleMs);
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > max) throw new Refusal('too-large', `the body is larger than ${max} bytes`);
        chunks.push(chunk);
      }
    } finally {
      clearTimeout(deadline);
    }
    const body = Buffer.concat(chunks);
    if (hash !== null && sha256Hex(body) !== hash)
      throw new Refusal('unauthenticated', 'the body is not the one signed');
    return body;
  }

  /** The trailer signature of a PUT: over the same fields with the body's real hash. */
  function checkTrailer(req: IncomingMessage, auth: Authenticated, actual: string): void {
    const hash = req.trailers[HEADERS.bodyHash];
    const signature = req.trailers[HEADERS.bodySignature];
    if (
      hash !== actual ||
      typeof signature !== 'string' ||
      !verifyFields(auth.key, { ...auth, bodyHash: actual }, signature)
    )
      throw new Refusal('unauthenticated', 'the body is not the one signed (trailer hash or signature)');
  }

  /** The body of a PUT as it arrives, hashed; the refusal it ends with is kept in `gate` (the
   * backend's put wraps what it throws). */
  async function* hashed(
    req: IncomingMessage,
    auth: Authenticated,
    gate: { refusal: Refusal | null },
  ): AsyncGenerator<Uint8Array> {
    const h = createHash('sha256');
    let total = 0;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > MAX_OBJECT_BYTES) throw new Refusal('too-large', TOO_LARGE);
        h.update(chunk);
        yield chunk;
      }
      // Thrown before the last `next()` returns: the backend's put fails before its rename.
      checkTrailer(req, auth, h.digest('hex'));
    } catch (err) {
      if (err instanceof Refusal) gate.refusal = err;
      throw err;
    }
  }

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  function objectPath(rest: string, allowRoot = false): string {
    if (rest.includes('%')) throw new Refusal('bad-request', 'object paths are plain');
    try {
      assertObjectPath(rest, allowRoot);
    } catch {
      throw new Refusal('bad-request', 'bad object path');
    }
    return rest;
  }

  async function route(req: IncomingMessage, res: ServerResponse, auth: Authenticated): Promise<void> {
    const [path, query = ''] = auth.target.split('?', 2) as [string, string?];
    const method = req.method;
    const noQuery = (): void => {
      if (query !== '') throw new Refusal('bad-request', 'this endpoint takes no query');
    };
    const bodyless = async (): Promise<void> => {
      await readBody(req, 0, auth.bodyHash);
    };
    if (path === `${PROTOCOL_PREFIX}/health` && method === 'GET') {
      noQuery();
      await bodyless();
      const health = await store.health();
      return json(res, 200, { freeBytes: health.freeBytes, identity: state.identityText, vaultId: state.vaultId });
    }
    if (path.startsWith(`${PROTOCOL_PREFIX}/objects/`)) {
      const p = objectPath(path.slice(`${PROTOCOL_PREFIX}/objects/`.length));
      if (method === 'PUT') {
        noQuery();
        if (auth.bodyHash !== TRAILER_HASH) throw new Refusal('unauthenticated', 'a PUT is signed by its trailer');
        const declared = Number(req.headers['content-length'] ?? 0);
        if (declared > MAX_OBJECT_BYTES) throw new Refusal('too-large', TOO_LARGE);
        let bytes: number;
        if (p === PATHS.vault) {
          // The location record names the vault: the node serves one.
          const body = await readBody(req, MAX_JSON_BODY, null);
          checkTrailer(req, auth, sha256Hex(body));
          let vaultId: string;
          try {
            vaultId = decodeVaultRecord(body).vaultId;
          } catch (err) {
            throw new Refusal('bad-request', `not a location record: ${(err as Error).message}`);
          }
          if (!(await state.bindVault(vaultId)))
            throw new Refusal(
              'other-vault',
              `this node serves vault ${state.vaultId}, not ${vaultId}: a second vault needs a second node (another --dir)`,
            );
          bytes = await store.put(p, body);
        } else {
          const gate: { refusal: Refusal | null } = { refusal: null };
          try {
            bytes = await store.put(p, hashed(req, auth, gate));
          } catch (err) {
            throw gate.refusal ?? err;
          }
        }
        return json(res, 200, { bytes });
      }
      if (method === 'GET') {
        await bodyless();
        if (query !== '') {
          const m = /^offset=(0|[1-9][0-9]{0,15})&length=([1-9][0-9]{0,15})$/.exec(query);
          if (!m) throw new Refusal('bad-request', 'the query is offset=N&length=M');
          const offset = Number(m[1]);
          const length = Number(m[2]);
          try {
            assertRange(offset, length);
          } catch (err) {
            throw new Refusal('bad-request', (err as Error).message);
          }
          const bytes = await store.readRange(p, offset, length);
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
          res.end(bytes);
          return;
        }
        const body = await store.get(p);
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for await (const chunk of body) {
          if (!res.write(chunk)) await once(res, 'drain');
        }
        res.end();
        return;
      }
      if (method === 'DELETE') {
        noQuery();
        await bodyless();
        await store.delete(p);
        return json(res, 200, {});
      }
    }
    if (path.startsWith(`${PROTOCOL_PREFIX}/stat/`) && method === 'GET') {
      noQuery();
      await bodyless();
      const info = await store.stat(objectPath(path.slice(`${PROTOCOL_PREFIX}/stat/`.length)));
      if (info === null) throw new Refusal('not-found', 'no such object');
      return json(res, 200, { size: info.size, modifiedMs: info.modifiedMs ?? null });
    }
    if (path.startsWith(`${PROTOCOL_PREFIX}/list/`) && method === 'GET') {
      noQuery();
      await bodyless();
      const dir = objectPath(path.slice(`${PROTOCOL_PREFIX}/list/`.length), true);
      const objects = await store.list(dir);
      return json(res, 200, {
        objects: objects.map((x) => ({ path: x.path, size: x.size, modifiedMs: x.modifiedMs ?? null })),
      });
    }
    if (path === `${PROTOCOL_PREFIX}/log` && method === 'GET') {
      const m = /^from=(0|[1-9][0-9]{0,15})$/.exec(query);
      if (!m) throw new Refusal('bad-request', 'the query is from=N');
      await bodyless();
      return json(res, 200, log.page(Number(m[1]), LOG_PAGE));
    }
    if (path.startsWith(`${PROTOCOL_PREFIX}/guard/`) && method === 'POST') {
      noQuery();
      const name = path.slice(`${PROTOCOL_PREFIX}/guard/`.length);
      if (!GUARD_METHOD.test(name)) throw new Refusal('bad-request', 'bad guard method name');
      const body = await readBody(req, MAX_JSON_BODY, auth.bodyHash);
      if (!guard) throw new Refusal('not-found', 'this node hosts no guard');
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw new Refusal('bad-request', 'the body is not JSON');
      }
      try {
        return json(res, 200, await guard.handle(name, parsed, auth.device));
      } catch (err) {
        const status = (err as { status?: unknown }).status;
        if (typeof status === 'number' && status >= 400 && status < 500) {
          return json(res, status, { error: 'bad-request', message: (err as Error).message });
        }
        throw err;
      }
    }
    throw new Refusal('not-found', 'no such endpoint');
  }

  async function enrol(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const device = header(req, HEADERS.device);
    const auth = authenticate(req, device);
    const body = await readBody(req, MAX_JSON_BODY, auth.bodyHash);
    let code: unknown;
    let approved: unknown;
    try {
      ({ code, guard: approved } = JSON.parse(body.toString('utf8')) as { code?: unknown; guard?: unknown });
    } catch {
      throw new Refusal('bad-request', 'the body is not JSON');
    }
    if (typeof code !== 'string' || !ENROL_CODE.test(code)) throw new Refusal('bad-request', 'bad enrolment code');
    // The code first (not spent), then the guard's approvals (docs/GUARD.md, "Enrolment"): a
    // device the policy wants approved is refused with its code still good for the retry.
    if (!(await state.checkEnrolCode(code)))
      throw new Refusal('not-enrolled', 'enrolment refused: the code is wrong, spent or expired');
    if (guard?.enrolment !== undefined) {
      const verdict = await guard.enrolment(device, approved);
      if (!verdict.ok)
        throw new Refusal(
          'needs-approval',
          `enrolment needs the guardians' approval: ${(verdict.message ?? 'refused').slice(0, 200)}`,
        );
    }
    if (!(await state.enrolDevice(device, code)))
      throw new Refusal('not-enrolled', 'enrolment refused: the code is wrong, spent or expired');
    say(`enrolled device ${device}; add this node with: ${nodeSpec(specHost, port, state.fingerprint, null)}`);
    await log.append({
      time: new Date().toISOString(),
      device,
      method: 'POST',
      target: auth.target,
      body: auth.bodyHash,
      status: 200,
    });
    json(res, 200, { identity: state.identityText, fingerprint: state.fingerprint });
  }

  function fail(res: ServerResponse, req: IncomingMessage, err: unknown): void {
    let code: NodeErrorCode;
    let message: string;
    if (err instanceof Refusal) [code, message] = [err.code, err.message];
    else if (err instanceof NotFoundError) [code, message] = ['not-found', 'no such object'];
    else if (err instanceof ForeignObjectError)
      [code, message] = [
        'foreign',
        'not followed: a link, folder or special file is where the vault keeps objects, or the name is not one it makes',
      ];
    else if (err instanceof RangeError) [code, message] = ['bad-request', err.message];
    else if (err instanceof ShardvaultError && err.code === 'no-space')
      [code, message] = ['no-space', 'the node is full'];
    else {
      [code, message] = ['internal', 'the node failed; its operator sees why'];
      say(`request failed: ${(err as Error).message}`);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const text = JSON.stringify({ error: code, message });
    // A refused body is not read on: the connection closes after the answer.
    res.writeHead(NODE_ERRORS[code], {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      connection: 'close',
    });
    res.end(text, () => req.destroy());
  }

  const server = https.createServer(
    {
      key: state.tlsKeyPem,
      cert: state.certPem,
      minVersion: 'TLSv1.3',
      // No bound on a whole request (an object may be large); silence and slow headers are cut.
      requestTimeout: 0,
      handshakeTimeout: idleMs,
      headersTimeout: Math.min(30_000, idleMs),
      connectionsCheckingInterval: Math.min(30_000, idleMs),
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => {
      void (async () => {
        let auth: Authenticated | null = null;
        try {
          const target = req.url ?? '';
          if (!target.startsWith(`${PROTOCOL_PREFIX}/`) || target.length > 2048)
            throw new Refusal('not-found', 'no such endpoint');
          if (req.method === 'POST' && target === `${PROTOCOL_PREFIX}/enrol`) return await enrol(req, res);
          auth = authenticate(req, null);
          await route(req, res, auth);
        } catch (err) {
          fail(res, req, err);
        } finally {
          if (auth !== null) {
            const a = auth;
            await log
              .append({
                time: new Date().toISOString(),
                device: a.device,
                method: a.method,
                target: a.target,
                body: a.bodyHash,
                status: res.statusCode,
              })
              .catch((err: unknown) => say(`request log: ${(err as Error).message}`));
          }
        }
      })();
    },
  );
  server.setTimeout(idleMs); // a socket silent that long is destroyed (no 'timeout' listener)
  // No peer may hold every connection (a stranger needs no key to open one): over its share,
  // or over the node's cap (net.Server's maxConnections), a connection is closed at once.
  server.maxConnections = o.maxConnections ?? MAX_CONNECTIONS;
  const perPeer = peerConnectionCap(server.maxConnections);
  const peers = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress ?? '';
    const held = peers.get(peer) ?? 0;
    if (held >= perPeer) {
      socket.destroy();
      return;
    }
    peers.set(peer, held + 1);
    socket.once('close', () => {
      const left = (peers.get(peer) ?? 1) - 1;
      if (left > 0) peers.set(peer, left);
      else peers.delete(peer);
    });
  });
  server.listen(o.port, o.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const specHost = o.publicHost ?? o.host;
  const code = state.enrolled ? null : await state.newEnrolCode();
  await state.writeAddress(nodeSpec(specHost, port, state.fingerprint, null));
  return {
    spec: nodeSpec(specHost, port, state.fingerprint, code),
    port,
    fingerprint: state.fingerprint,
    state,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
