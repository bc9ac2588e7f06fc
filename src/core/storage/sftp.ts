/**
 * A storage location on an SFTP server (OpenSSH, rclone serve sftp, a NAS), over
 * ssh2-sftp-client for the connection and ssh2's SFTP channel for the calls.
 *
 * - The host key is always verified: against a pinned `SHA256:...` fingerprint, or by the
 *   caller's trust-on-first-use callback. A changed key is refused naming both.
 * - One SSH connection, opened lazily, reopened after a drop; calls in flight when it
 *   drops fail with OfflineError (keepalives notice a dead peer). At most `concurrency`
 *   calls run at once; a get holds its slot until its stream ends or is released.
 * - Transfers are pipelined (several SFTP reads/writes in flight) on a socket with Nagle
 *   off: stop-and-wait over one request at a time runs at a fraction of the link. A server
 *   that can't seek in a file being written (rclone serve sftp with its default flags)
 *   refuses writes that arrive out of order: the node then writes in order (writeAll).
 * - put writes `tmp/<random>.part`, checks its size on the server, and renames it into
 *   place with posix-rename@openssh.com (atomic replace; OpenSSH and rclone 1.60 offer
 *   it). Servers without it get a plain SFTP rename, which some carry out as a replace
 *   (rclone) and others refuse onto an existing target (OpenSSH): then the target is
 *   deleted first, which leaves a short window without the object (never a partial one).
 * - The root folder must exist; only createRoot (init) makes it. Parent folders below it are.
 * - Nothing below the root is followed (node.ts): the root the user gave is resolved once
 *   (realpath) and trusted; below it, every folder on the way to an object is lstat'ed to be
 *   a real folder (all levels in one round trip), objects must lstat as regular files, and
 *   listings keep regular files only (OpenSSH's readdir reports lstat attributes). The
 *   server resolves paths itself, so what remains is the window between that lstat and the
 *   call (see local.ts): a client can't open relative to a checked folder over SFTP v3.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as net from 'node:net';
import * as posixPath from 'node:path/posix';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, CipherAlgorithm, ConnectConfig, FileEntryWithStats, SFTPWrapper, Stats } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { ForeignObjectError, NotFoundError, OfflineError, ShardvaultError, UsageError } from '../errors';
import {
  assertDeletable,
  assertObjectPath,
  assertRange,
  isObjectSegment,
  newTempPath,
  type LocationHealth,
  type ObjectInfo,
  type RootOutcome,
  type StorageNode,
  unreachable,
} from './node';
import { isNetworkFailure } from './retry';
import { DEFAULT_KEY_NAMES, defaultKeyPaths, readKeyFile, type KeyFile } from './ssh-keys';
import { displaySftp, FINGERPRINT } from './url';

export interface SftpOptions {
  readonly host: string;
  /** Default 22. */
  readonly port?: number;
  readonly username: string;
  /** Absolute folder on the server that is the location's root. It must exist. */
  readonly root: string;
  /** A private key file (OpenSSH or PEM format) ... */
  readonly privateKeyPath?: string | null;
  /** ... or the key itself. */
  readonly privateKey?: string | Uint8Array | null;
  /** Passphrase of an encrypted private key. */
  readonly passphrase?: string | null;
  /** Password authentication, when there is no key (or the key is refused). */
  readonly password?: string | null;
  /**
   * With no key and no password: the ssh-agent socket ($SSH_AUTH_SOCK) and the home folder
   * whose ~/.ssh default keys are tried after it (ssh-keys.ts), as OpenSSH's client does.
   * `passphrase` opens an encrypted default key.
   */
  readonly agent?: string | null;
  readonly home?: string | null;
  /** Pinned host key, `SHA256:<base64 without padding>` as `ssh-keygen -lf` prints it. */
  readonly fingerprint?: string | null;
  /**
   * Asked when no fingerprint is pinned: resolve true to trust this key (the caller records
   * it; the node pins it for its own reconnects). Without it an unpinned host is refused.
   * The SSH handshake waits meanwhile, within `connectTimeoutMs`.
   */
  readonly onUnknownHostKey?: (fingerprint: string) => Promise<boolean>;
  /** TCP connect + SSH handshake + authentication. Default 20 s. */
  readonly connectTimeoutMs?: number;
  /** SSH keepalive period; the connection is dropped after 3 unanswered ones. Default 5 s. */
  readonly keepaliveIntervalMs?: number;
  /** Calls in flight at once on this location. Default 4. */
  readonly concurrency?: number;
  /**
   * Use posix-rename@openssh.com when the server offers it (default true). false forces the
   * plain-rename fallback, for a server that offers the extension but breaks it.
   */
  readonly posixRename?: boolean;
}

// SFTP status codes (draft-ietf-secsh-filexfer-02, what OpenSSH speaks).
const FX_EOF = 1;
const FX_NO_SUCH_FILE = 2;
const FX_PERMISSION_DENIED = 3;
const FX_FAILURE = 4;
const FX_NO_CONNECTION = 6;
const FX_CONNECTION_LOST = 7;
const FX_OP_UNSUPPORTED = 8;

/**
 * Bytes per SFTP read/write we issue (ssh2 splits it to the server's packet limit: 255 KiB
 * for OpenSSH, 32 KiB for others) and how many are in flight per transfer (4 MiB). On
 * loopback 64 KiB × 32 ran at about half the speed of 256 KiB × 16 (scripts/bench-locations.ts).
 */
const PIECE = 256 * 1024;
const WINDOW = 16;
/** AES-GCM first: fast with AES-NI, and present in Electron's BoringSSL (chacha20 is not). */
const CIPHERS: CipherAlgorithm[] = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
];

/** `SHA256:...` of an SSH public key blob, as `ssh-keygen -lf` prints it. */
export function sshFingerprint(keyBlob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

interface Session {
  readonly client: SftpClient;
  readonly sftp: SFTPWrapper;
  alive: boolean;
  /** null until the first rename tells. */
  posixRename: boolean | null;
  /** Whether the server flushes files on request (fsync@openssh.com); null until asked. */
  fsync: boolean | null;
  /** Rejecters of the calls in flight, failed when the connection drops. */
  readonly pending: Set<(err: Error) => void>;
}

/** Marks a session dead and fails its calls in flight (see `call`). */
function drop(s: Session): void {
  s.alive = false;
  const err = new Error('connection closed');
  for (const fail of s.pending) fail(err);
  s.pending.clear();
}

export class SftpNode implements StorageNode {
  readonly kind = 'sftp' as const;
  readonly display: string;
  private root: string;
  /** Whether `root` is the server's realpath of the configured one yet (resolved once). */
  private rootResolved = false;
  private pinned: string | null;
  private session: Promise<Session> | null = null;
  private readonly slots: Semaphore;
  private closed = false;
  /** Learnt from the server, kept across reconnects: see writeAll. */
  private readonly writeMode: WriteMode = { inOrder: false };
  /** What a login without a named key tried, for the error when the server refuses them all. */
  private tried: string | null = null;

  constructor(private readonly options: SftpOptions) {
    if (!options.host) throw new RangeError('SFTP host is empty');
    if (!options.username) throw new RangeError('SFTP username is empty');
    if (!posixPath.isAbsolute(options.root)) {
      throw new RangeError(`SFTP root must be an absolute path, got ${JSON.stringify(options.root)}`);
    }
    if (options.fingerprint != null && !FINGERPRINT.test(options.fingerprint)) {
      throw new RangeError(`bad host key fingerprint ${JSON.stringify(options.fingerprint)} (want SHA256:<base64>)`);
    }
    this.root = posixPath.normalize(options.root);
    this.pinned = options.fingerprint ?? null;
    this.display = displaySftp({ ...options, root: this.root });
    this.slots = new Semaphore(options.concurrency ?? 4);
  }

  /** The host key fingerprint this node trusts: pinned, or accepted on first use. */
  get hostFingerprint(): string | null {
    return this.pinned;
  }

  async put(path: string, data: AsyncIterable<Uint8Array> | Uint8Array): Promise<number> {
    assertObjectPath(path);
    return this.slots.run(async () => {
      const s = await this.connection();
      const tempPath = newTempPath();
      const temp = this.full(tempPath);
      const target = this.full(path);
      let handle: Buffer | null = null;
      try {
        await this.checkFolders(s, [...foldersOf(tempPath), ...foldersOf(path)], true);
        // 'wx': O_EXCL, so a name planted meanwhile (a link included) is never written through.
        handle = await call<Buffer>(s, (cb) => s.sftp.open(temp, 'wx', 0o600, cb));
        const written = await writeAll(s, handle, data, this.writeMode);
        // On the server's disk before it is renamed into place: a commit that names this
        // object must not outlive it through a server crash.
        await this.flush(s, handle);
        const h = handle;
        handle = null;
        await call(s, (cb) => s.sftp.close(h, cb));
        // The close's answer means the server has every byte; its size proves it.
        const st = await call<Stats>(s, (cb) => s.sftp.stat(temp, cb));
        if (st.size !== written) {
          throw new OfflineError(`${this.display}: ${path}: the server holds ${st.size} of ${written} bytes written`);
        }
        await this.moveIntoPlace(s, temp, target, path);
        return written;
      } catch (err) {
        // OpenSSH reports a full disk as a bare SSH_FX_FAILURE: ask statvfs, before the
        // temporary object is removed and frees its space again.
        const full = statusOf(err) === FX_FAILURE && s.alive ? await this.isFull(s) : false;
        if (handle && s.alive) {
          const h = handle;
          await call(s, (cb) => s.sftp.close(h, cb)).catch(() => undefined);
        }
        if (s.alive) await call(s, (cb) => s.sftp.unlink(temp, cb)).catch(() => undefined);
        if (isSourceError(err)) throw err.source;
        if (full) {
          throw new ShardvaultError('no-space', `${this.display}: ${path}: the location is full`, { cause: err });
        }
        throw this.translate(s, path, err);
      }
    });
  }

  /**
   * Asks the server to flush an open file to its disk (OpenSSH's fsync@openssh.com). A server
   * without the extension (rclone's, some NAS) can't be asked: its durability is its own.
   */
  private async flush(s: Session, handle: Buffer): Promise<void> {
    if (s.fsync === false) return;
    try {
      await call(s, (cb) => s.sftp.ext_openssh_fsync(handle, cb));
      s.fsync = true;
    } catch (err) {
      // Several puts on one session may ask before the first answer: each refusal counts, not
      // only the first (a later one sees fsync already false, set by an earlier refusal).
      if (s.fsync !== true && /does not support/i.test((err as Error).message)) {
        s.fsync = false;
        return;
      }
      throw err;
    }
  }

  async get(path: string): Promise<AsyncIterable<Uint8Array>> {
    assertObjectPath(path);
    const release = await this.slots.acquire();
    let s: Session | undefined;
    let handle: Buffer;
    let size: number;
    try {
      s = await this.connection();
      const session = s;
      const st = await this.inspect(session, path);
      if (st === null || !st.isFile()) {
        throw new NotFoundError(
          `${this.display}: ${path} ${st === null ? 'does not exist' : 'is not a regular file (not followed)'}`,
        );
      }
      handle = await call<Buffer>(session, (cb) => session.sftp.open(this.full(path), 'r', cb));
      try {
        const opened = await call<Stats>(session, (cb) => session.sftp.fstat(handle, cb));
        if (!opened.isFile()) throw new NotFoundError(`${this.display}: ${path} is not a regular file`);
        size = opened.size;
      } catch (err) {
        await call(session, (cb) => session.sftp.close(handle, cb)).catch(() => undefined);
        throw err;
      }
    } catch (err) {
      release();
      throw s ? this.translate(s, path, err) : err;
    }
    return new ReadStreamIterable(s, handle, size, release, (err) => this.translate(s, path, err));
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    assertObjectPath(path);
    assertRange(offset, length);
    return this.slots.run(async () => {
      const s = await this.connection();
      let handle: Buffer | null = null;
      try {
        const h = await call<Buffer>(s, (cb) => s.sftp.open(this.full(path), 'r', cb));
        handle = h;
        // PIECE-sized reads, up to WINDOW in flight, as get streams them; the first short
        // piece is the end of the object.
        const out = new Uint8Array(length);
        for (let at = 0; at < length; at += PIECE * WINDOW) {
          const starts: number[] = [];
          for (let p = at; p < Math.min(length, at + PIECE * WINDOW); p += PIECE) starts.push(p);
          const read = await Promise.all(starts.map((p) => readPiece(s, h, offset + p, Math.min(PIECE, length - p))));
          for (const [i, piece] of read.entries()) {
            const start = starts[i]!;
            out.set(piece, start);
            if (piece.length < Math.min(PIECE, length - start)) return out.subarray(0, start + piece.length);
          }
        }
        return out;
      } catch (err) {
        throw this.translate(s, path, err);
      } finally {
        if (handle && s.alive) {
          const h = handle;
          await call(s, (cb) => s.sftp.close(h, cb)).catch(() => undefined);
        }
      }
    });
  }

  async stat(path: string): Promise<ObjectInfo | null> {
    assertObjectPath(path);
    return this.slots.run(async () => {
      const s = await this.connection();
      try {
        const st = await this.inspect(s, path);
        return st?.isFile() ? { path, size: st.size, modifiedMs: st.mtime * 1000 } : null;
      } catch (err) {
        throw this.translate(s, path, err);
      }
    });
  }

  async list(dir: string): Promise<ObjectInfo[]> {
    assertObjectPath(dir, true);
    return this.slots.run(async () => {
      const s = await this.connection();
      try {
        if (dir !== '' && !(await this.checkFolders(s, levelsOf(dir), false, [], true)).present) return [];
        const entries = await call<FileEntryWithStats[]>(s, (cb) =>
          s.sftp.readdir(dir === '' ? this.root : this.full(dir), cb),
        );
        // Regular files only: OpenSSH gives lstat attributes, so a link is no file here.
        return entries
          .filter((e) => e.attrs.isFile() && isObjectSegment(e.filename))
          .map((e) => ({
            path: dir === '' ? e.filename : `${dir}/${e.filename}`,
            size: e.attrs.size,
            modifiedMs: e.attrs.mtime * 1000,
          }));
      } catch (err) {
        if (statusOf(err) === FX_NO_SUCH_FILE) return [];
        throw this.translate(s, dir, err);
      }
    });
  }

  async delete(path: string): Promise<void> {
    assertDeletable(path, this.display);
    return this.slots.run(async () => {
      const s = await this.connection();
      try {
        const { present, objects } = await this.checkFolders(s, foldersOf(path), false, [path]);
        const st = objects[0] ?? null;
        if (!present || st === null) return;
        if (!st.isFile()) {
          throw new ForeignObjectError(
            `${this.display}: ${path} is ${kindOf(st)} where the vault keeps a regular file (not deleted); ` +
              'the vault never made it',
          );
        }
        await call(s, (cb) => s.sftp.unlink(this.full(path), cb));
      } catch (err) {
        if (statusOf(err) === FX_NO_SUCH_FILE) return;
        throw this.translate(s, path, err);
      }
    });
  }

  async health(): Promise<LocationHealth> {
    try {
      return await this.slots.run(async () => {
        const s = await this.connection();
        const started = performance.now();
        try {
          await call<Stats>(s, (cb) => s.sftp.stat(this.root, cb));
        } catch (err) {
          throw this.translate(s, '', err);
        }
        const latencyMs = Math.round((performance.now() - started) * 10) / 10;
        return { reachable: true, latencyMs, freeBytes: await freeBytesOf(s, this.root), error: null };
      });
    } catch (err) {
      return unreachable(err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = this.session;
    this.session = null;
    if (!pending) return;
    try {
      const s = await pending;
      s.alive = false;
      await s.client.end();
    } catch {
      // never connected, nothing to release
    }
  }

  private full(path: string): string {
    return path === '' ? this.root : posixPath.join(this.root, path);
  }

  /** The open session, or a new one when there is none or it dropped. */
  private connection(): Promise<Session> {
    if (this.closed) return Promise.reject(new ShardvaultError('io', `${this.display}: location is closed`));
    const current = this.session;
    if (current) {
      return current.then((s) => (s.alive ? s : this.reconnect(current)));
    }
    return this.reconnect(null);
  }

  private reconnect(stale: Promise<Session> | null): Promise<Session> {
    // Concurrent callers that saw the same dead session share one new connection.
    if (this.session !== stale && this.session !== null) return this.connection();
    const opening = this.open();
    this.session = opening;
    opening.catch(() => {
      if (this.session === opening) this.session = null;
    });
    return opening;
  }

  /** A new session whose root has been checked to be a folder (see `connect`). */
  private async open(): Promise<Session> {
    const session = await this.connect();
    try {
      if (!this.rootResolved) {
        // The root the user gave may be a link (theirs to configure): resolved once, trusted.
        this.root = await call<string>(session, (cb) => session.sftp.realpath(this.root, cb));
        this.rootResolved = true;
      }
      const st = await call<Stats>(session, (cb) => session.sftp.stat(this.root, cb));
      if (!st.isDirectory()) {
        throw new ShardvaultError('io', `${this.display}: ${this.root} on the server is not a folder`);
      }
    } catch (err) {
      session.alive = false;
      await session.client.end().catch(() => undefined);
      if (statusOf(err) === FX_NO_SUCH_FILE) {
        throw new ShardvaultError(
          'io',
          `${this.display}: the folder ${this.root} does not exist on the server ` +
            `(init makes it; otherwise create it there: a location's root is made only by init)`,
          { cause: err },
        );
      }
      throw this.translate(session, '', err);
    }
    return session;
  }

  async createRoot(confirm?: () => Promise<boolean>): Promise<RootOutcome> {
    const s = await this.connect();
    try {
      // The configured path, not a resolved one: nothing is followed to make it (node.ts).
      const root = posixPath.normalize(this.options.root);
      const lstatAt = async (path: string): Promise<Stats | null> => {
        try {
          return await call<Stats>(s, (cb) => s.sftp.lstat(path, cb));
        } catch (err) {
          if (statusOf(err) === FX_NO_SUCH_FILE) return null;
          throw this.translate(s, '', err);
        }
      };
      const st = await lstatAt(root);
      if (st !== null) {
        if (st.isDirectory()) return 'present';
        if (st.isSymbolicLink()) {
          const target = await call<Stats>(s, (cb) => s.sftp.stat(root, cb)).catch(() => null);
          if (target?.isDirectory()) return 'present';
        }
        throw new ForeignObjectError(
          `${this.display}: ${root} on the server is ${kindOf(st)}, not a folder: not followed, nothing made`,
        );
      }
      const parent = posixPath.dirname(root);
      const above = parent === root ? null : await lstatAt(parent);
      if (above === null) {
        throw new NotFoundError(`${this.display}: ${parent} does not exist on the server: is the disk mounted?`);
      }
      if (!above.isDirectory()) {
        throw new ForeignObjectError(
          `${this.display}: ${parent} on the server is ${kindOf(above)}: ${posixPath.basename(root)} is not made ` +
            'through it (give the folder it points to, or make the folder yourself)',
        );
      }
      if (confirm && !(await confirm())) throw new UsageError(`${this.display} does not exist (not created)`);
      try {
        await call(s, (cb) => s.sftp.mkdir(root, { mode: 0o700 }, cb));
      } catch (err) {
        // Made meanwhile by someone else: fine when it is a folder now.
        if ((await lstatAt(root))?.isDirectory()) return 'present';
        throw this.translate(s, '', err);
      }
      return 'created';
    } finally {
      s.alive = false;
      await s.client.end().catch(() => undefined);
    }
  }

  /** A new logged-in session, its root not looked at yet. */
  private async connect(): Promise<Session> {
    const auth = await this.credentials();
    const timeoutMs = this.options.connectTimeoutMs ?? 20_000;
    let refusal: ShardvaultError | null = null;
    let rawError: (Error & { level?: string }) | null = null;
    const quiet = (): void => undefined;
    const client = new SftpClient(this.display, { error: quiet, end: quiet, close: quiet });
    client.on('error', (err: Error) => {
      rawError ??= err;
    });
    // Nagle off: SFTP's small requests and acks otherwise wait on delayed ACKs (FIELD-NOTES).
    const sock = net.connect({ host: this.options.host, port: this.options.port ?? 22, noDelay: true });
    sock.on('error', () => undefined); // ssh2 reports it
    const hostVerifier = (key: Buffer, verify: (ok: boolean) => void): void => {
      const presented = sshFingerprint(key);
      if (this.pinned !== null) {
        if (presented !== this.pinned) {
          refusal = new ShardvaultError(
            'permission',
            `${this.display}: the server's host key has changed: expected ${this.pinned}, ` +
              `the server presents ${presented}. Someone may be intercepting the connection; ` +
              `if the server's key was really replaced, check it on the server (ssh-keygen -lf) and pin the new one`,
          );
        }
        verify(presented === this.pinned);
        return;
      }
      const ask = this.options.onUnknownHostKey;
      if (!ask) {
        refusal = new ShardvaultError(
          'permission',
          `${this.display}: unknown host key ${presented}; check it on the server (ssh-keygen -lf) and pin it ` +
            `with fingerprint=${presented}`,
        );
        verify(false);
        return;
      }
      ask(presented).then(
        (ok) => {
          if (ok) this.pinned = presented;
          else refusal = new ShardvaultError('permission', `${this.display}: host key ${presented} was not trusted`);
          verify(ok);
        },
        (err: unknown) => {
          refusal = new ShardvaultError('permission', `${this.display}: host key ${presented} was not trusted`, {
            cause: err,
          });
          verify(false);
        },
      );
    };
    let sftp: SFTPWrapper;
    try {
      sftp = await client.connect({
        sock,
        host: this.options.host,
        port: this.options.port ?? 22,
        username: this.options.username,
        ...auth,
        hostVerifier,
        readyTimeout: timeoutMs,
        keepaliveInterval: this.options.keepaliveIntervalMs ?? 5000,
        keepaliveCountMax: 3,
        algorithms: { cipher: CIPHERS },
      });
    } catch (err) {
      sock.destroy();
      throw refusal ?? this.connectError(rawError ?? err);
    }
    const session: Session = {
      client,
      sftp,
      alive: true,
      posixRename: this.options.posixRename === false ? false : null,
      fsync: null,
      pending: new Set(),
    };
    client.on('close', () => drop(session));
    client.on('end', () => drop(session));
    return session;
  }

  private async credentials(): Promise<Pick<ConnectConfig, 'privateKey' | 'passphrase' | 'password' | 'authHandler'>> {
    const { privateKeyPath, privateKey, passphrase, password } = this.options;
    let key: Buffer | null = null;
    if (privateKey != null) {
      key = Buffer.from(privateKey);
    } else if (privateKeyPath != null) {
      try {
        key = await readFile(privateKeyPath);
      } catch (err) {
        throw new ShardvaultError(
          'io',
          `${this.display}: cannot read the key file ${privateKeyPath} (${(err as Error).message})`,
          { cause: err },
        );
      }
    }
    if (key === null && password == null) return this.defaultCredentials();
    const out: Pick<ConnectConfig, 'privateKey' | 'passphrase' | 'password' | 'authHandler'> = {};
    if (key !== null) {
      const parsed = ssh2.utils.parseKey(key, passphrase ?? undefined);
      if (parsed instanceof Error) {
        const encrypted = /encrypted|passphrase/i.test(parsed.message);
        throw new ShardvaultError(
          'permission',
          encrypted
            ? `${this.display}: the private key is encrypted and ${passphrase ? 'the passphrase is wrong' : 'no passphrase was given'}`
            : `${this.display}: the private key can't be read (${parsed.message})`,
        );
      }
      out.privateKey = key;
      if (passphrase) out.passphrase = passphrase;
    }
    if (password != null) out.password = password;
    return out;
  }

  /** The ssh-agent, then the default keys in ~/.ssh that open (ssh-keys.ts), tried in turn. */
  private async defaultCredentials(): Promise<Pick<ConnectConfig, 'authHandler'>> {
    const { agent, home, passphrase, username } = this.options;
    const found = home
      ? await Promise.all(defaultKeyPaths(home).map((p) => readKeyFile(p, passphrase ?? null).catch(() => null)))
      : [];
    const keys = found.filter((k): k is KeyFile => k !== null);
    const attempts: AnyAuthMethod[] = [
      ...(agent ? [{ type: 'agent' as const, username, agent }] : []),
      ...keys
        .filter((k) => k.problem === null)
        .map((k) => ({ type: 'publickey' as const, username, key: k.key, ...(passphrase ? { passphrase } : {}) })),
    ];
    if (attempts.length === 0) {
      const locked = keys.find((k) => k.problem === 'encrypted' || k.problem === 'wrong');
      throw new ShardvaultError(
        'permission',
        locked
          ? `${this.display}: the key ${locked.path} is encrypted and ${locked.problem === 'wrong' ? 'the passphrase is wrong' : 'no passphrase was given'}`
          : `${this.display}: no key and no password given: the location names no identity= key, there is no ` +
              `ssh-agent ($SSH_AUTH_SOCK) and no key in ~/.ssh (${DEFAULT_KEY_NAMES.join(', ')})`,
      );
    }
    this.tried = [
      ...(agent ? ['the ssh-agent'] : []),
      ...keys.filter((k) => k.problem === null).map((k) => k.path),
    ].join(', ');
    return {
      authHandler: (_methods, _partial, next) => {
        // false ends the login (ssh2 takes it; its types don't say so).
        next(attempts.shift() ?? (false as unknown as AnyAuthMethod));
      },
    };
  }

  private connectError(err: unknown): ShardvaultError {
    const e = err as Error & { level?: string };
    const where = `${this.display}:`;
    if (e.level === 'client-authentication' || /authentication methods failed/i.test(e.message)) {
      return new ShardvaultError(
        'permission',
        `${where} the server refused the credentials of ${this.options.username}` +
          (this.tried ? ` (tried ${this.tried})` : ''),
        {
          cause: err,
        },
      );
    }
    if (e.level === 'handshake' || e.level === 'protocol') {
      return new ShardvaultError('io', `${where} SSH handshake failed (${e.message})`, { cause: err });
    }
    if (e.level === 'client-timeout') {
      return new OfflineError(`${where} no SSH answer within ${this.options.connectTimeoutMs ?? 20_000} ms`, {
        cause: err,
        unresponsive: true,
      });
    }
    const code = (err as { code?: unknown }).code;
    return new OfflineError(
      `${where} cannot connect (${typeof code === 'string' ? code : e.message || 'connection closed'})`,
      { cause: err },
    );
  }

  /** The engine's error for a failed SFTP call on `path`. */
  private translate(s: Session, path: string, err: unknown): Error {
    if (err instanceof ShardvaultError) return err;
    const where = path === '' ? this.display : `${this.display}: ${path}`;
    const status = statusOf(err);
    const message = (err as Error).message;
    if (status === FX_NO_SUCH_FILE) return new NotFoundError(`${where} does not exist`, { cause: err });
    if (status === FX_PERMISSION_DENIED) {
      return new ShardvaultError('permission', `${where}: permission denied`, { cause: err });
    }
    if (status === FX_NO_CONNECTION || status === FX_CONNECTION_LOST || !s.alive || isNetworkFailure(err)) {
      return new OfflineError(`${where}: connection lost (${message})`, { cause: err });
    }
    if (status === undefined) {
      // Not a server answer: ssh2 fails pending requests with "No response from server" on a drop.
      return new OfflineError(`${where}: ${message}`, { cause: err });
    }
    if (/no space|disk full|quota/i.test(message)) {
      return new ShardvaultError('no-space', `${where}: the location is full (${message})`, { cause: err });
    }
    return new ShardvaultError('io', `${where}: ${message} (SFTP status ${status})`, { cause: err });
  }

  /** True when statvfs says less than one transfer window is free (false when it can't tell). */
  private async isFull(s: Session): Promise<boolean> {
    const free = await freeBytesOf(s, this.root);
    return free !== null && free < PIECE * WINDOW;
  }

  /**
   * lstat of `path` after checking the folders holding it (one round trip): null when it, or
   * a folder on the way, is missing; a link or file where a folder should be also answers null.
   */
  private async inspect(s: Session, path: string): Promise<Stats | null> {
    try {
      const { present, objects } = await this.checkFolders(s, foldersOf(path), false, [path]);
      return present ? (objects[0] ?? null) : null;
    } catch (err) {
      if (err instanceof ForeignObjectError) return null;
      throw err;
    }
  }

  /**
   * Checks that each of `folders` (relative, top down) is a real folder below the root, and
   * lstats `objects` in the same round trip. A link or a file where a folder should be is a
   * ForeignObjectError (with `quiet`, it counts as missing); a missing folder is made when
   * `create`, else `present` is false.
   */
  private async checkFolders(
    s: Session,
    folders: readonly string[],
    create: boolean,
    objects: readonly string[] = [],
    quiet = false,
  ): Promise<{ present: boolean; objects: (Stats | null)[] }> {
    const all = [...new Set(folders)];
    const stats = await Promise.all([...all, ...objects].map((rel) => this.lstatOrNull(s, rel)));
    let present = true;
    for (const [i, rel] of all.entries()) {
      let st = stats[i] ?? null;
      if (st === null) {
        if (!create) {
          present = false;
          break;
        }
        let refused: Error | null = null;
        try {
          await call(s, (cb) => s.sftp.mkdir(this.full(rel), { mode: 0o700 }, cb));
        } catch (err) {
          refused = err as Error; // made meanwhile by a concurrent put? Looked at below like any other.
        }
        st = await this.lstatOrNull(s, rel);
        if (st === null) throw refused ?? new NotFoundError(`${this.display}: ${rel} could not be made`);
      }
      if (!st.isDirectory()) {
        if (quiet) return { present: false, objects: [] };
        throw new ForeignObjectError(
          `${this.display}: ${rel} is ${kindOf(st)} where the vault keeps a folder (not followed); ` +
            'the vault never made it',
        );
      }
    }
    return { present, objects: present ? stats.slice(all.length) : objects.map(() => null) };
  }

  private async lstatOrNull(s: Session, rel: string): Promise<Stats | null> {
    try {
      return await call<Stats>(s, (cb) => s.sftp.lstat(this.full(rel), cb));
    } catch (err) {
      if (statusOf(err) === FX_NO_SUCH_FILE) return null;
      throw err;
    }
  }

  /** Renames `from` onto `to` (full paths), replacing it; see the header for servers without posix-rename. */
  private async moveIntoPlace(s: Session, from: string, to: string, shown: string): Promise<void> {
    if (s.posixRename !== false) {
      try {
        await call(s, (cb) => s.sftp.ext_openssh_rename(from, to, cb));
        s.posixRename = true;
        return;
      } catch (err) {
        const status = statusOf(err);
        if (status === FX_NO_SUCH_FILE) throw new NotFoundError(`${this.display}: ${shown} does not exist`);
        // ssh2 throws at once (no status) when the server does not offer the extension.
        const unsupported = (status === undefined && s.alive) || status === FX_OP_UNSUPPORTED;
        if (s.posixRename === true || !unsupported) throw err;
        s.posixRename = false;
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await call(s, (cb) => s.sftp.rename(from, to, cb));
        return;
      } catch (err) {
        if (statusOf(err) === FX_NO_SUCH_FILE) throw new NotFoundError(`${this.display}: ${shown} does not exist`);
        if (attempt >= 8 || statusOf(err) !== FX_FAILURE) throw err;
        // A plain SFTP rename refuses an existing target: remove it, then try again.
        await call(s, (cb) => s.sftp.unlink(to, cb)).catch((e: unknown) => {
          if (statusOf(e) !== FX_NO_SUCH_FILE) throw e;
        });
      }
    }
  }
}

/** The folders holding `path`, top down: `log/a/b` → [`log`, `log/a`]. */
function foldersOf(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Each level of folder `dir`, top down: `log/a` → [`log`, `log/a`]. */
function levelsOf(dir: string): string[] {
  return foldersOf(`${dir}/.`);
}

function kindOf(st: Stats): string {
  return st.isSymbolicLink() ? 'a symbolic link' : st.isDirectory() ? 'a folder' : 'not a regular file';
}

/** Fetches the host key fingerprint of an SSH server without logging in, for a user to confirm. */
export async function fetchHostFingerprint(host: string, port = 22, timeoutMs = 15_000): Promise<string> {
  const client = new ssh2.Client();
  return new Promise<string>((resolve, reject) => {
    let seen: string | null = null;
    client.on('error', (err) => {
      if (seen) resolve(seen);
      else reject(new OfflineError(`sftp://${host}:${port}: cannot connect (${err.message})`, { cause: err }));
    });
    client.on('close', () => {
      if (seen) resolve(seen);
    });
    client.connect({
      sock: net.connect({ host, port, noDelay: true }),
      username: 'shardvault-probe',
      readyTimeout: timeoutMs,
      algorithms: { cipher: CIPHERS },
      hostVerifier: (key: Buffer) => {
        seen = sshFingerprint(key);
        return false;
      },
    });
  }).finally(() => client.end());
}

/**
 * Runs one ssh2 callback-style call on a session. ssh2 fails the requests in flight when
 * the connection closes, but a request made on a channel already closed gets no answer at
 * all: so a dead session fails at once, and its calls in flight fail when it drops.
 */
function call<T = void>(
  s: Session,
  start: (cb: (err: Error | undefined | null, value: T) => void) => void,
): Promise<T> {
  if (!s.alive) return Promise.reject(new Error('connection closed'));
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => reject(err);
    s.pending.add(fail);
    try {
      start((err, value) => {
        s.pending.delete(fail);
        if (err) reject(err);
        else resolve(value);
      });
    } catch (err) {
      // ssh2 throws synchronously when the channel is gone or an extension is missing.
      s.pending.delete(fail);
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

function statusOf(err: unknown): number | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'number' ? code : undefined;
}

async function freeBytesOf(s: Session, root: string): Promise<number | null> {
  try {
    const info = await call<{ f_bavail?: number; f_frsize?: number; f_bsize?: number }>(s, (cb) =>
      s.sftp.ext_openssh_statvfs(root, cb),
    );
    const unit = info.f_frsize || info.f_bsize;
    if (typeof info.f_bavail !== 'number' || typeof unit !== 'number') return null;
    return info.f_bavail * unit;
  } catch {
    return null; // statvfs@openssh.com not offered
  }
}

/** Marks an error thrown by the caller's data source, so it is rethrown as it was. */
class SourceError extends Error {
  constructor(readonly source: unknown) {
    super('the data source failed');
  }
}
function isSourceError(err: unknown): err is SourceError {
  return err instanceof SourceError;
}

/** How a node writes: pipelined, or one piece at a time once its server refused a write out of order. */
interface WriteMode {
  inOrder: boolean;
}

/** A server that can't seek in a file being written (rclone serve sftp without --vfs-cache-mode writes). */
function isSeekRefusal(err: unknown): boolean {
  return statusOf(err) === FX_FAILURE && /illegal seek/i.test((err as Error).message);
}

/**
 * Writes all of `data` at increasing offsets with up to WINDOW requests in flight. The server
 * may carry them out in any order; one that can't seek in a file being written refuses those
 * that arrive early ("Illegal seek"). Then the refused pieces, still in memory, are written
 * again in order once the others have settled, and from then on this node writes one piece
 * at a time (`mode.inOrder`): slower, and the only way such a server takes a large object.
 */
async function writeAll(
  s: Session,
  handle: Buffer,
  data: AsyncIterable<Uint8Array> | Uint8Array,
  mode: WriteMode,
): Promise<number> {
  interface Piece {
    readonly buf: Buffer;
    readonly off: number;
    readonly len: number;
    readonly at: number;
  }
  const inflight = new Set<Promise<void>>();
  const refused: Piece[] = [];
  let failure: { error: unknown } | null = null;
  /** Offset of the last piece the server acknowledged. */
  let lastAcked = -1;
  let position = 0;
  const write = (p: Piece): Promise<void> => call(s, (cb) => s.sftp.write(handle, p.buf, p.off, p.len, p.at, cb));
  /** Waits for the pieces in flight, then writes the refused ones in order. */
  const settle = async (): Promise<void> => {
    await Promise.all(inflight);
    if (failure) throw failure.error;
    if (refused.length === 0) return;
    refused.sort((a, b) => a.at - b.at);
    // Only a refused tail can be written again: a piece taken after a refused one means the
    // server wrote out of order after all, and what the file holds can't be told.
    if (lastAcked > refused[0]!.at) throw new Error(`the server refused a write at ${refused[0]!.at} out of order`);
    mode.inOrder = true;
    for (const p of refused.splice(0)) await write(p);
  };
  const send = async (chunk: Uint8Array): Promise<void> => {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let off = 0; off < buf.length; off += PIECE) {
      const piece: Piece = { buf, off, len: Math.min(PIECE, buf.length - off), at: position };
      position += piece.len;
      if (!mode.inOrder) {
        while (inflight.size >= WINDOW && refused.length === 0) await Promise.race(inflight);
        if (failure) throw failure.error;
      }
      if (mode.inOrder || refused.length > 0) {
        await settle();
        await write(piece);
        continue;
      }
      const sent: Promise<void> = write(piece).then(
        () => {
          inflight.delete(sent);
          lastAcked = Math.max(lastAcked, piece.at);
        },
        (err: unknown) => {
          inflight.delete(sent);
          if (isSeekRefusal(err)) refused.push(piece);
          else failure ??= { error: err };
        },
      );
      inflight.add(sent);
    }
  };
  try {
    if (data instanceof Uint8Array) {
      await send(data);
    } else {
      const iterator = data[Symbol.asyncIterator]();
      for (;;) {
        let step: IteratorResult<Uint8Array>;
        try {
          step = await iterator.next();
        } catch (err) {
          throw new SourceError(err);
        }
        if (step.done) break;
        if (!(step.value instanceof Uint8Array))
          throw new SourceError(new TypeError('put data must yield Uint8Arrays'));
        await send(step.value);
      }
    }
    await settle();
    return position;
  } catch (err) {
    await Promise.allSettled(inflight);
    throw err;
  }
}

/**
 * An object's bytes as an async iterable with up to WINDOW reads in flight. Its slot and
 * file handle are released when it ends, fails, or the caller stops (even before the
 * first read).
 */
class ReadStreamIterable implements AsyncIterable<Uint8Array>, AsyncIterator<Uint8Array> {
  private next_ = 0;
  private delivered = 0;
  private readonly queue: Promise<Buffer>[] = [];
  private done = false;

  constructor(
    private readonly s: Session,
    private readonly handle: Buffer,
    private readonly size: number,
    private readonly release: () => void,
    private readonly translate: (err: unknown) => Error,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.done) return { done: true, value: undefined };
    while (this.queue.length < WINDOW && this.next_ < this.size) {
      const len = Math.min(PIECE, this.size - this.next_);
      const piece = readPiece(this.s, this.handle, this.next_, len);
      // Read ahead: when the connection drops, every queued read fails at once, before
      // anyone awaits it; its error is taken when its turn comes.
      piece.catch(() => undefined);
      this.queue.push(piece);
      this.next_ += len;
    }
    const piece = this.queue.shift();
    if (piece === undefined) {
      await this.finish();
      return { done: true, value: undefined };
    }
    let buf: Buffer;
    try {
      buf = await piece;
    } catch (err) {
      await this.finish();
      throw this.translate(err);
    }
    this.delivered += buf.length;
    if (buf.length === 0 || (this.delivered < this.size && this.queue.length === 0 && this.next_ >= this.size)) {
      // It ended short of the size it had when opened: replaced meanwhile by a server that
      // reads by name (rclone without a cache; OpenSSH keeps the old file open). Never a
      // truncated object passed off as whole: the caller may read it again.
      await this.finish();
      throw this.translate(
        new Error(`changed while it was read (it ended after ${this.delivered} of ${this.size} bytes)`),
      );
    }
    return { done: false, value: buf };
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    await this.finish();
    return { done: true, value: undefined };
  }

  private async finish(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.queue.length = 0;
    if (this.s.alive) {
      await call(this.s, (cb) => this.s.sftp.close(this.handle, cb)).catch(() => undefined);
    }
    this.release();
  }
}

/** Reads `len` bytes at `position`, fewer only at end of file. */
async function readPiece(s: Session, handle: Buffer, position: number, len: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = await call<number>(s, (cb) =>
      s.sftp.read(handle, buf, got, len - got, position + got, (err, bytesRead) => {
        if (err && statusOf(err) === FX_EOF) cb(undefined, 0);
        else cb(err, bytesRead);
      }),
    );
    if (n === 0) break;
    got += n;
  }
  return got === len ? buf : buf.subarray(0, got);
}

/** A counting semaphore: at most `limit` holders; waiters are served in order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be an integer ≥ 1, got ${limit}`);
  }

  /** Waits for a slot; the returned function gives it back (once). */
  async acquire(): Promise<() => void> {
    if (this.active < this.limit) {
      this.active++;
    } else {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await task();
    } finally {
      release();
    }
  }
}
