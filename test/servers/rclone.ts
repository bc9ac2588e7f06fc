/**
 * rclone serving a local data folder over SFTP or WebDAV on a loopback port, with its own
 * (empty) config, cache dir, user and password in a temp dir.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { freePort, HOST, makeTempDir, removeDir, requireBinary, run, ServerProcess, waitForPort } from './process';
import { makeKeyPair } from './sshd';

export interface RcloneServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The folder on disk behind the location's root (`root` / `url`); it exists, empty. */
  readonly dataDir: string;
  /** For sftp: the root folder as the server shows it (rclone serves its data folder as '/'). */
  readonly root: string;
  /** For sftp: the host key's `SHA256:...` fingerprint. */
  readonly fingerprint: string | null;
  /** For webdav: the base URL of the served folder. */
  readonly url: string;
  /** For webdav with tls: the server's self-signed certificate (PEM), to pin as the CA. */
  readonly certPath: string | null;
  /** Kills rclone at once (no goodbye to clients); the temp dir stays until stop(). */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface RcloneOptions {
  /** webdav: serve https with a self-signed certificate. */
  readonly tls?: boolean;
  /**
   * sftp: `--vfs-cache-mode writes` (default true). false serves with rclone's default flags:
   * a file being written can't seek, so writes must come in order (FIELD-NOTES).
   */
  readonly cacheWrites?: boolean;
}

export async function startRclone(protocol: 'sftp' | 'webdav', options: RcloneOptions = {}): Promise<RcloneServer> {
  const rclone = requireBinary('rclone', 'rclone');
  const dir = await makeTempDir(`rclone-${protocol}`);
  const served = nodePath.join(dir, 'data');
  const dataDir = nodePath.join(served, 'vault');
  mkdirSync(dataDir, { recursive: true });
  const configPath = nodePath.join(dir, 'rclone.conf');
  writeFileSync(configPath, '');
  const port = await freePort();
  const user = 'vault';
  const password = 'correct horse battery';
  const args = [
    'serve',
    protocol,
    served,
    '--addr',
    `${HOST}:${port}`,
    '--user',
    user,
    '--pass',
    password,
    '--config',
    configPath,
    '--cache-dir',
    nodePath.join(dir, 'cache'),
    '--log-level',
    'ERROR',
  ];
  let fingerprint: string | null = null;
  if (protocol === 'sftp') {
    const hostKey = nodePath.join(dir, 'host_ed25519');
    fingerprint = makeKeyPair(hostKey);
    args.push('--key', hostKey);
    if (options.cacheWrites !== false) args.push('--vfs-cache-mode', 'writes');
  }
  let certPath: string | null = null;
  if (protocol === 'webdav' && options.tls) {
    const openssl = requireBinary('openssl', 'openssl');
    certPath = nodePath.join(dir, 'cert.pem');
    const keyPath = nodePath.join(dir, 'key.pem');
    run(openssl, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${HOST}`,
      '-addext',
      `subjectAltName=IP:${HOST}`,
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ]);
    args.push('--cert', certPath, '--key', keyPath);
  }
  const server = new ServerProcess(`rclone serve ${protocol}`, rclone, args);
  try {
    await waitForPort(port, server);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    host: HOST,
    port,
    user,
    password,
    dataDir,
    root: '/vault',
    fingerprint,
    url: `${certPath ? 'https' : 'http'}://${HOST}:${port}/vault/`,
    certPath,
    kill: () => server.stop(0),
    async stop() {
      await server.stop();
      await removeDir(dir);
    },
  };
}
