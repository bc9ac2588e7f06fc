/**
 * The connection to one SFTP root: the options and their checks, one SSH connection opened
 * lazily and reopened after a drop (calls in flight when it drops fail with OfflineError;
 * keepalives notice a dead peer), the host key check (host-key.ts), the login (auth.ts), and
 * the root resolved once. Every call of an SFTP location gets its session through `session`.
 */
import * as net from 'node:net';
import * as posixPath from 'node:path/posix';
import type { SFTPWrapper, Stats } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { ShardvaultError } from '../../errors';
import { credentials } from './auth';
import { call, CIPHERS, drop, type Session } from './channel';
import { connectError, FX_NO_SUCH_FILE, statusOf, translate } from './errors';
import { hostKeyCheck } from './host-key';
import { checkSftpOptions, closedError, type SftpOptions } from './options';
import type { WriteMode } from './write';

export type { SftpOptions } from './options';

export class SftpConnection {
  readonly display: string;
  private root_: string;
  /** Whether `root` is the server's realpath of the configured one yet (resolved once). */
  private rootResolved = false;
  private pinned: string | null;
  private session_: Promise<Session> | null = null;
  private closed = false;
  /** Learnt from the server, kept across reconnects: see writeAll. */
  readonly writeMode: WriteMode = { inOrder: false };
  /** What a login without a named key tried, for the error when the server refuses them all. */
  private tried: string | null = null;

  constructor(readonly options: SftpOptions) {
    const checked = checkSftpOptions(options);
    this.root_ = checked.root;
    this.pinned = options.fingerprint ?? null;
    this.display = checked.display;
  }

  /** The root on the server: as configured until the first session resolves it (realpath). */
  get root(): string {
    return this.root_;
  }

  /** The host key fingerprint this node trusts: pinned, or accepted on first use. */
  get hostFingerprint(): string | null {
    return this.pinned;
  }

  /** The full path on the server of object or folder `path` ('' for the root). */
  full(path: string): string {
    return path === '' ? this.root_ : posixPath.join(this.root_, path);
  }

  /** The engine's error for a failed SFTP call on `path` over session `s`. */
  translate(s: Session, path: string, err: unknown): Error {
    return translate(this.display, s.alive, path, err);
  }

  /** The open session, or a new one when there is none or it dropped. */
  session(): Promise<Session> {
    if (this.closed) return Promise.reject(closedError(this.display));
    const current = this.session_;
    if (current) {
      return current.then((s) => (s.alive ? s : this.reconnect(current)));
    }
    return this.reconnect(null);
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = this.session_;
    this.session_ = null;
    if (!pending) return;
    try {
      const s = await pending;
      s.alive = false;
      await s.client.end();
    } catch {
      // never connected, nothing to release
    }
  }

  private reconnect(stale: Promise<Session> | null): Promise<Session> {
    // Concurrent callers that saw the same dead session share one new connection.
    if (this.session_ !== stale && this.session_ !== null) return this.session();
    const opening = this.open();
    this.session_ = opening;
    opening.catch(() => {
      if (this.session_ === opening) this.session_ = null;
    });
    return opening;
  }

  /** A new session whose root has been checked to be a folder (see `connect`). */
  private async open(): Promise<Session> {
    const session = await this.connect();
    try {
      if (!this.rootResolved) {
        // The root the user gave may be a link (theirs to configure): resolved once, trusted.
        this.root_ = await call<string>(session, (cb) => session.sftp.realpath(this.root_, cb));
        this.rootResolved = true;
      }
      const st = await call<Stats>(session, (cb) => session.sftp.stat(this.root_, cb));
      if (!st.isDirectory()) {
        throw new ShardvaultError('io', `${this.display}: ${this.root_} on the server is not a folder`);
      }
    } catch (err) {
      session.alive = false;
      await session.client.end().catch(() => undefined);
      if (statusOf(err) === FX_NO_SUCH_FILE) {
        throw new ShardvaultError(
          'io',
          `${this.display}: the folder ${this.root_} does not exist on the server ` +
            `(init makes it; otherwise create it there: a location's root is made only by init)`,
          { cause: err },
        );
      }
      throw this.translate(session, '', err);
    }
    return session;
  }

  /** A new logged-in session, its root not looked at yet (createRoot's own, or `open`'s). */
  async connect(): Promise<Session> {
    const login = await credentials(this.options, this.display);
    this.tried = login.tried ?? this.tried;
    const timeoutMs = this.options.connectTimeoutMs ?? 20_000;
    let rawError: (Error & { level?: string }) | null = null;
    const quiet = (): void => undefined;
    const client = new SftpClient(this.display, { error: quiet, end: quiet, close: quiet });
    client.on('error', (err: Error) => {
      rawError ??= err;
    });
    // Nagle off: SFTP's small requests and acks otherwise wait on delayed ACKs (FIELD-NOTES).
    const sock = net.connect({ host: this.options.host, port: this.options.port ?? 22, noDelay: true });
    sock.on('error', () => undefined); // ssh2 reports it
    const hostKey = hostKeyCheck(this.display, {
      pinned: () => this.pinned,
      pin: (fingerprint) => {
        this.pinned = fingerprint;
      },
      ...(this.options.onUnknownHostKey ? { ask: this.options.onUnknownHostKey } : {}),
    });
    let sftp: SFTPWrapper;
    try {
      sftp = await client.connect({
        sock,
        host: this.options.host,
        port: this.options.port ?? 22,
        username: this.options.username,
        ...login.auth,
        hostVerifier: hostKey.verifier,
        readyTimeout: timeoutMs,
        keepaliveInterval: this.options.keepaliveIntervalMs ?? 5000,
        keepaliveCountMax: 3,
        algorithms: { cipher: CIPHERS },
      });
    } catch (err) {
      sock.destroy();
      throw (
        hostKey.refusal() ?? connectError(this.display, this.options.username, this.tried, timeoutMs, rawError ?? err)
      );
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
}
