/**
 * A Shardvault node as a storage location (the `node` kind): HTTPS to a node whose
 * certificate is pinned by the SHA-256 of its SubjectPublicKeyInfo, every request signed by
 * this device's Ed25519 key (docs/NODE.md).
 *
 * Pinning: the first connection of a process only looks at the certificate (no byte of a
 * request is sent on it); when its key is the pinned one, that certificate becomes the one
 * trust anchor of this node's connections, and each handshake checks the pin again
 * (checkServerIdentity). No CA is trusted, no host name matters, any other certificate is
 * refused before a request is written. Every client of one address and pin in a process
 * shares that agent (`PinnedAgents`): the guard's calls at an opening go out on the
 * connections the node location opened at unlock, with no new probe or handshake. A
 * connection carries no identity of its own: each request is signed by its client's key.
 *
 * The node is as hostile as any location: every answer is bounded and checked (a listing
 * naming objects outside the folder asked, sizes that are not sizes, a range longer than
 * asked are CorruptError).
 */
import { randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { CorruptError, ForeignObjectError, NotFoundError, OfflineError, ShardvaultError } from '../../errors';
import {
  assertDeletable,
  assertObjectPath,
  assertRange,
  isObjectSegment,
  unreachable,
  type LocationHealth,
  type ObjectInfo,
  type StorageNode,
} from '../node';
import { GENESIS, verifyChain } from './log-chain';
import {
  EMPTY_SHA256,
  HEADERS,
  MAX_JSON_BODY,
  MAX_LIST_BODY,
  PROTOCOL_PREFIX,
  privateKeyFromSeed,
  publicKeyText,
  sha256Hex,
  signFields,
  spkiFingerprint,
  TRAILER_HASH,
  type NodeErrorBody,
} from './protocol';
import { displayNode, type NodeAddress } from './spec';
import { createHash, createPublicKey } from 'node:crypto';

export interface NodeClientOptions {
  readonly address: NodeAddress;
  /** This device's key: its 32-byte seed, base64url (sealed in the profile). */
  readonly deviceKey: string;
  /** The enrolment code the SPEC carried, used once if the node does not know this device. */
  readonly enrolCode: string | null;
  readonly timeoutMs?: number;
}

/** A node answered a guard call with a refusal (4xx): its status and words, never a transport failure. */
export class GuardRefusedError extends ShardvaultError {
  override readonly name = 'GuardRefusedError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('permission', message);
  }
}

/** A node wants the guardians' approval of this device's enrolment (the guard's policy, g >= 1). */
export class EnrolmentApprovalError extends ShardvaultError {
  override readonly name = 'EnrolmentApprovalError';
  constructor(message: string) {
    super('approval', message);
  }
}

/** The certificate's pin, from its DER. */
const pinOf = (der: Uint8Array): string =>
  spkiFingerprint(new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' }));

/**
 * The pinned agents of this process, one per node address and pin, each with the count of
 * clients using it: the last client to close destroys it. A probe that fails leaves no entry,
 * so the next request probes again.
 */
class PinnedAgents {
  private readonly byAddress = new Map<string, { agent: Promise<https.Agent>; users: number }>();

  acquire(key: string, probe: () => Promise<https.Agent>): Promise<https.Agent> {
    let entry = this.byAddress.get(key);
    if (entry === undefined) {
      const made = { agent: probe(), users: 0 };
      made.agent.catch(() => {
        if (this.byAddress.get(key) === made) this.byAddress.delete(key);
      });
      this.byAddress.set(key, made);
      entry = made;
    }
    entry.users++;
    return entry.agent;
  }

  async release(key: string, agent: Promise<https.Agent>): Promise<void> {
    const entry = this.byAddress.get(key);
    if (entry === undefined || entry.agent !== agent || --entry.users > 0) return;
    this.byAddress.delete(key);
    (await agent.catch(() => null))?.destroy();
  }
}

const AGENTS = new PinnedAgents();

/** Errors of a request written to a kept-alive connection the node had just closed. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);

export class ShardNodeClient implements StorageNode {
  readonly kind = 'node' as const;
  readonly display: string;
  private readonly key: KeyObject;
  readonly deviceText: string;
  private agent: Promise<https.Agent> | null = null;
  private ready: Promise<void> | null = null;
  private readonly timeoutMs: number;

  constructor(private readonly o: NodeClientOptions) {
    this.display = displayNode(o.address);
    this.key = privateKeyFromSeed(o.deviceKey);
    this.deviceText = publicKeyText(createPublicKey(this.key));
    this.timeoutMs = o.timeoutMs ?? 15_000;
  }

  /** The pinned certificate, looked at on a connection that sends nothing. */
  private probe(): Promise<https.Agent> {
    const { host, port, fingerprint } = this.o.address;
    return new Promise<https.Agent>((resolve, reject) => {
      const socket = tls.connect({
        host,
        port,
        rejectUnauthorized: false,
        minVersion: 'TLSv1.3',
        servername: undefined,
      });
      socket.setTimeout(this.timeoutMs, () => {
        socket.destroy();
        reject(new OfflineError(`${this.display}: no answer within ${this.timeoutMs} ms`, { unresponsive: true }));
      });
      socket.once('error', (err: Error) => reject(new OfflineError(`${this.display}: ${err.message}`, { cause: err })));
      socket.once('secureConnect', () => {
        const cert = socket.getPeerX509Certificate();
        socket.destroy();
        if (!cert || pinOf(cert.raw) !== fingerprint) {
          reject(
            new OfflineError(
              `${this.display}: the server's certificate is not the one pinned (${fingerprint}); nothing was sent to it`,
            ),
          );
          return;
        }
        resolve(
          new https.Agent({
            keepAlive: true,
            maxSockets: 8,
            ca: cert.toString(),
            minVersion: 'TLSv1.3',
            checkServerIdentity: (_host, peer) =>
              pinOf(peer.raw) === fingerprint ? undefined : new Error('the certificate is not the one pinned'),
          }),
        );
      });
    });
  }

  /** This address and pin, as the shared agents know it. */
  private get agentKey(): string {
    const { host, port, fingerprint } = this.o.address;
    return `${host}\n${port}\n${fingerprint}`;
  }

  private getAgent(): Promise<https.Agent> {
    if (this.agent !== null) return this.agent;
    const agent = AGENTS.acquire(this.agentKey, () => this.probe());
    this.agent = agent;
    agent.catch(() => {
      if (this.agent !== agent) return;
      this.agent = null;
      void AGENTS.release(this.agentKey, agent);
    });
    return agent;
  }

  private headers(method: string, target: string, bodyHash: string): Record<string, string> {
    const nonce = randomBytes(16).toString('hex');
    const time = Date.now();
    const fields = { method, target, bodyHash, nonce, time, fingerprint: this.o.address.fingerprint };
    return {
      [HEADERS.device]: this.deviceText,
      [HEADERS.time]: String(time),
      [HEADERS.nonce]: nonce,
      [HEADERS.bodyHash]: bodyHash,
      [HEADERS.signature]: signFields(this.key, fields),
    };
  }

  /**
   * One signed request; its answer's status is the caller's to read. A whole body (or none)
   * that went out on a kept-alive connection the node was closing (reset before any answer) is
   * signed afresh and sent once more on a new one, as Node's http documentation advises; a
   * streamed body is not. A node that did read the first copy refuses a guard call's second
   * (its request id is spent), so nothing is answered twice.
   */
  private async send(
    method: string,
    target: string,
    body: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array> | null,
    again = true,
  ): Promise<{ res: IncomingMessage; sent: number }> {
    const agent = await this.getAgent();
    const { host, port } = this.o.address;
    const streamed = body !== null && !(body instanceof Uint8Array);
    const hash = streamed ? TRAILER_HASH : body === null ? EMPTY_SHA256 : sha256Hex(body);
    const headers = this.headers(method, target, hash);
    if (streamed) headers['trailer'] = `${HEADERS.bodyHash}, ${HEADERS.bodySignature}`;
    else headers['content-length'] = String(body === null ? 0 : body.length);
    const req = https.request({ host, port, method, path: target, agent, headers });
    const answered = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    req.setTimeout(this.timeoutMs, () =>
      req.destroy(new OfflineError(`${this.display}: no answer within ${this.timeoutMs} ms`, { unresponsive: true })),
    );
    let sent = 0;
    try {
      if (body instanceof Uint8Array) {
        sent = body.length;
        req.end(body);
      } else if (body === null) {
        req.end();
      } else {
        const h = createHash('sha256');
        for await (const chunk of body) {
          h.update(chunk);
          sent += chunk.length;
          if (!req.write(chunk)) await Promise.race([once(req, 'drain'), answered]);
        }
        const actual = h.digest('hex');
        req.addTrailers({
          [HEADERS.bodyHash]: actual,
          [HEADERS.bodySignature]: signFields(this.key, {
            method,
            target,
            bodyHash: actual,
            nonce: headers[HEADERS.nonce]!,
            time: Number(headers[HEADERS.time]),
            fingerprint: this.o.address.fingerprint,
          }),
        });
        req.end();
      }
      return { res: await answered, sent };
    } catch (err) {
      req.destroy();
      if (again && !streamed && req.reusedSocket && STALE_SOCKET.has((err as NodeJS.ErrnoException).code ?? ''))
        return this.send(method, target, body, false);
      throw this.translate(err);
    }
  }

  private translate(err: unknown): Error {
    if (err instanceof ShardvaultError) return err;
    return new OfflineError(`${this.display}: ${(err as Error).message}`, { cause: err });
  }

  /** Reads a whole answer of at most `max` bytes. */
  private async readAll(res: IncomingMessage, max: number): Promise<Buffer> {
    const declared = Number(res.headers['content-length'] ?? 0);
    if (declared > max) {
      res.destroy();
      throw new CorruptError(`${this.display}: an answer of ${declared} bytes, more than the ${max} it may be`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > max) {
          res.destroy();
          throw new CorruptError(`${this.display}: an answer larger than the ${max} bytes it may be`);
        }
        chunks.push(chunk);
      }
    } catch (err) {
      throw this.translate(err);
    }
    return Buffer.concat(chunks);
  }

  /** The error a refusal means; `what` names the object for a not-found. */
  private async refusal(res: IncomingMessage, what: string): Promise<Error> {
    const body = await this.readAll(res, MAX_JSON_BODY).catch(() => Buffer.alloc(0));
    let said = '';
    try {
      const e = JSON.parse(body.toString('utf8')) as Partial<NodeErrorBody>;
      if (typeof e.message === 'string') said = e.message.replace(/[\p{Cc}]/gu, ' ').slice(0, 300);
    } catch {
      // no words: the status says enough
    }
    const status = res.statusCode ?? 0;
    const where = `${this.display}: ${what}`;
    if (status === 404) return new NotFoundError(`${where} does not exist`);
    if (status === 422) return new ForeignObjectError(`${where}: ${said || 'not a name the vault makes'}`);
    if (status === 401 || status === 403)
      return new ShardvaultError('permission', `${this.display}: the node refused this device (${said || status})`);
    if (status === 409) return new ShardvaultError('exists', `${this.display}: ${said || 'refused (409)'}`);
    if (status === 413 || status === 507) return new ShardvaultError('no-space', `${where}: ${said || 'too large'}`);
    if (status >= 500)
      return new OfflineError(`${this.display}: the node failed (${status}${said ? `: ${said}` : ''})`);
    return new CorruptError(`${this.display}: unexpected answer ${status}${said ? ` (${said})` : ''}`);
  }

  /** Whether the node knows this device already (its health answers a signed request). */
  async knowsThisDevice(): Promise<boolean> {
    const { res } = await this.send('GET', `${PROTOCOL_PREFIX}/health`, null);
    if (res.statusCode === 200 || res.statusCode === 403) {
      await this.readAll(res, MAX_JSON_BODY).catch(() => undefined);
      return res.statusCode === 200;
    }
    throw await this.refusal(res, 'health');
  }

  /** Enrols this device once per process when the node does not know it and a code is at hand. */
  private enrolled(): Promise<void> {
    if (this.o.enrolCode === null) return Promise.resolve();
    const ready = (this.ready ??= (async () => {
      const { res } = await this.send('GET', `${PROTOCOL_PREFIX}/health`, null);
      if (res.statusCode === 200) {
        await this.readAll(res, MAX_JSON_BODY);
        return;
      }
      if (res.statusCode !== 403) throw await this.refusal(res, 'health');
      await this.readAll(res, MAX_JSON_BODY).catch(() => undefined);
      await this.enrol(this.o.enrolCode!);
    })());
    ready.catch(() => {
      if (this.ready === ready) this.ready = null;
    });
    return ready;
  }

  /**
   * Enrols this device's key with a code the node printed; `guard` (an enrolment request and
   * its approvals, docs/GUARD.md) when the vault's guard asks for guardians' approval. A node
   * that wants that approval refuses with EnrolmentApprovalError (its code stays unspent).
   */
  async enrol(code: string, guard?: unknown): Promise<{ identity: string }> {
    const sent = Buffer.from(JSON.stringify(guard === undefined ? { code } : { code, guard }));
    const { res } = await this.send('POST', `${PROTOCOL_PREFIX}/enrol`, sent);
    if (res.statusCode === 403) {
      const text = await this.readAll(res, MAX_JSON_BODY).catch(() => Buffer.alloc(0));
      let e: Partial<NodeErrorBody> = {};
      try {
        e = JSON.parse(text.toString('utf8')) as Partial<NodeErrorBody>;
      } catch {
        // no words: the status says enough
      }
      const said = typeof e.message === 'string' ? e.message.replace(/[\p{Cc}]/gu, ' ').slice(0, 300) : '403';
      if (e.error === 'needs-approval') throw new EnrolmentApprovalError(`${this.display}: ${said}`);
      throw new ShardvaultError('permission', `${this.display}: the node refused this device (${said})`);
    }
    if (res.statusCode !== 200) throw await this.refusal(res, 'enrolment');
    const body = JSON.parse((await this.readAll(res, MAX_JSON_BODY)).toString('utf8')) as { identity?: unknown };
    if (typeof body.identity !== 'string') throw new CorruptError(`${this.display}: a malformed enrolment answer`);
    return { identity: body.identity };
  }

  /** A signed request after enrolment; a refusal thrown; `ok` the statuses taken. */
  private async call(
    method: string,
    target: string,
    body: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array> | null,
    what: string,
  ): Promise<{ res: IncomingMessage; sent: number }> {
    await this.enrolled();
    const out = await this.send(method, target, body);
    if (out.res.statusCode !== 200) throw await this.refusal(out.res, what);
    return out;
  }

  private async callJson(
    method: string,
    target: string,
    body: Uint8Array | null,
    what: string,
    max = MAX_JSON_BODY,
  ): Promise<unknown> {
    const { res } = await this.call(method, target, body, what);
    const text = (await this.readAll(res, max)).toString('utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new CorruptError(`${this.display}: ${what}: the answer is not JSON`);
    }
  }

  async put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    assertObjectPath(path);
    // Always streamed: a PUT's body is signed by its trailer (docs/NODE.md).
    const stream = data instanceof Uint8Array ? [data] : data;
    const { res, sent } = await this.call('PUT', `${PROTOCOL_PREFIX}/objects/${path}`, stream, path);
    const answer = JSON.parse((await this.readAll(res, MAX_JSON_BODY)).toString('utf8')) as { bytes?: unknown };
    if (answer.bytes !== sent)
      throw new CorruptError(
        `${this.display}: ${path}: the node says it stored ${String(answer.bytes)} bytes of ${sent}`,
      );
    return sent;
  }

  async get(path: string): Promise<AsyncIterable<Uint8Array>> {
    assertObjectPath(path);
    const { res } = await this.call('GET', `${PROTOCOL_PREFIX}/objects/${path}`, null, path);
    return this.stream(res);
  }

  private async *stream(res: IncomingMessage): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) yield chunk;
    } catch (err) {
      throw this.translate(err);
    } finally {
      if (!res.complete) res.destroy();
    }
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    assertObjectPath(path);
    assertRange(offset, length);
    const { res } = await this.call(
      'GET',
      `${PROTOCOL_PREFIX}/objects/${path}?offset=${offset}&length=${length}`,
      null,
      path,
    );
    return new Uint8Array(await this.readAll(res, length));
  }

  async stat(path: string): Promise<ObjectInfo | null> {
    assertObjectPath(path);
    try {
      const o = (await this.callJson('GET', `${PROTOCOL_PREFIX}/stat/${path}`, null, path)) as Record<string, unknown>;
      const info = this.info(path, o);
      return info;
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  /** One object's record from the node, checked: a size that is a size, a time that is a time. */
  private info(path: string, o: unknown): ObjectInfo {
    const r = (typeof o === 'object' && o !== null ? o : {}) as Record<string, unknown>;
    const size = r['size'];
    const modified = r['modifiedMs'];
    if (!Number.isSafeInteger(size) || (size as number) < 0)
      throw new CorruptError(`${this.display}: ${path}: the node gave a size that is not one`);
    if (modified !== null && (typeof modified !== 'number' || !Number.isFinite(modified)))
      throw new CorruptError(`${this.display}: ${path}: the node gave a time that is not one`);
    return { path, size: size as number, ...(modified === null ? {} : { modifiedMs: modified }) };
  }

  async list(dir: string): Promise<ObjectInfo[]> {
    assertObjectPath(dir, true);
    const answer = (await this.callJson(
      'GET',
      `${PROTOCOL_PREFIX}/list/${dir}`,
      null,
      dir || 'the root',
      MAX_LIST_BODY,
    )) as {
      objects?: unknown;
    };
    if (!Array.isArray(answer.objects)) throw new CorruptError(`${this.display}: a listing that is not one`);
    const prefix = dir === '' ? '' : `${dir}/`;
    const seen = new Set<string>();
    return answer.objects.map((o: unknown) => {
      const path = (o as { path?: unknown } | null)?.path;
      // A listing names objects directly in the folder asked, each once, and nothing else.
      if (
        typeof path !== 'string' ||
        !path.startsWith(prefix) ||
        !isObjectSegment(path.slice(prefix.length)) ||
        seen.has(path)
      )
        throw new CorruptError(`${this.display}: the listing of ${dir || 'the root'} names something outside it`);
      seen.add(path);
      return this.info(path, o);
    });
  }

  async delete(path: string): Promise<void> {
    assertDeletable(path, this.display);
    const { res } = await this.call('DELETE', `${PROTOCOL_PREFIX}/objects/${path}`, null, path);
    await this.readAll(res, MAX_JSON_BODY);
  }

  async health(): Promise<LocationHealth> {
    const started = performance.now();
    try {
      const o = (await this.callJson('GET', `${PROTOCOL_PREFIX}/health`, null, 'health')) as { freeBytes?: unknown };
      const free = o.freeBytes;
      return {
        reachable: true,
        latencyMs: Math.round((performance.now() - started) * 10) / 10,
        freeBytes: Number.isSafeInteger(free) && (free as number) >= 0 ? (free as number) : null,
        error: null,
      };
    } catch (err) {
      return unreachable(err);
    }
  }

  /** A guard call (POST /v1/guard/<method>): a JSON body, a JSON answer. */
  async guard(method: string, body: unknown): Promise<unknown> {
    await this.enrolled();
    const { res } = await this.send('POST', `${PROTOCOL_PREFIX}/guard/${method}`, Buffer.from(JSON.stringify(body)));
    const status = res.statusCode ?? 0;
    if (status >= 500 || status === 401 || status === 403) throw await this.refusal(res, `guard ${method}`);
    // Whole within one timeout, not only never silent that long: an opening waits for each node
    // it asked, so a node sending its answer a byte at a time must count as down, not be waited for.
    const deadline = setTimeout(
      () =>
        res.destroy(
          new OfflineError(
            `${this.display}: guard ${method}: the answer did not arrive whole within ${this.timeoutMs} ms`,
            {
              unresponsive: true,
            },
          ),
        ),
      this.timeoutMs,
    );
    let text: string;
    try {
      text = (await this.readAll(res, MAX_JSON_BODY)).toString('utf8');
    } finally {
      clearTimeout(deadline);
    }
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new CorruptError(`${this.display}: guard ${method}: the answer is not JSON`);
    }
    if (status === 200) return answer;
    const said = (answer as Partial<NodeErrorBody> | null)?.message;
    const words = typeof said === 'string' ? said.replace(/[\p{Cc}]/gu, ' ').slice(0, 300) : 'no reason given';
    throw new GuardRefusedError(status, `${this.display}: guard ${method} refused (${status}): ${words}`);
  }

  /**
   * The node's request log from entry `from`, its chain checked to the hash `prev` the
   * caller knows for entry `from - 1` (GENESIS for 0): the entries as lines, and the total.
   */
  async readLog(
    from = 0,
    prev: string | null = from === 0 ? GENESIS : null,
  ): Promise<{ lines: string[]; total: number }> {
    const o = (await this.callJson('GET', `${PROTOCOL_PREFIX}/log?from=${from}`, null, 'log', MAX_LIST_BODY)) as Record<
      string,
      unknown
    >;
    const lines = o['lines'];
    const total = o['total'];
    const chainedTo = o['prev'];
    if (
      !Array.isArray(lines) ||
      !lines.every((l) => typeof l === 'string') ||
      !Number.isSafeInteger(total) ||
      typeof chainedTo !== 'string' ||
      (prev !== null && chainedTo !== prev)
    )
      throw new CorruptError(`${this.display}: a request log page that is not one`);
    const broken = verifyChain(lines, from, chainedTo);
    if (broken !== null) throw new CorruptError(`${this.display}: the request log is broken at entry ${broken}`);
    return { lines: lines, total: total as number };
  }

  async close(): Promise<void> {
    const agent = this.agent;
    this.agent = null;
    if (agent) await AGENTS.release(this.agentKey, agent);
  }
}
