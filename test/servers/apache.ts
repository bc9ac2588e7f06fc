/**
 * Apache httpd with mod_dav / mod_dav_fs on a loopback port, from a minimal config of its
 * own in a temp dir (only the modules it needs, loaded from Debian's module folder). The
 * workers run as www-data, so the data folder is theirs (FIELD-NOTES).
 */
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { freePort, HOST, makeTempDir, removeDir, requireBinary, run, ServerProcess, waitForPort } from './process';

const MODULES = '/usr/lib/apache2/modules';
const WWW_DATA = 33;

export interface ApacheServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The DAV collection that is the location's root (it exists, empty). */
  readonly url: string;
  /** The folder on disk behind `url`. */
  readonly dataDir: string;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function startApache(
  options: { auth?: 'basic' | 'digest'; /** The AuthName (UTF-8 in the config). */ realm?: string } = {},
): Promise<ApacheServer> {
  const auth = options.auth ?? 'basic';
  const apache2 = requireBinary('apache2', 'apache2');
  const htpasswd = requireBinary('htpasswd', 'apache2-utils');
  const dir = await makeTempDir('apache');
  chmodSync(dir, 0o755); // the workers (www-data) must reach the data folder inside
  const docRoot = nodePath.join(dir, 'www');
  const dataDir = nodePath.join(docRoot, 'vault');
  const lockDir = nodePath.join(dir, 'lock');
  const runDir = nodePath.join(dir, 'run');
  for (const d of [docRoot, dataDir, lockDir, runDir]) {
    mkdirSync(d, { recursive: true });
    chownSync(d, WWW_DATA, WWW_DATA);
  }
  const user = 'vault';
  const password = 'correct horse battery';
  const realm = options.realm ?? 'shardvault test';
  const passwordFile = nodePath.join(dir, 'passwords');
  if (auth === 'basic') {
    run(htpasswd, ['-b', '-c', passwordFile, user, password]);
  } else {
    // htdigest only prompts; its file format is user:realm:MD5(user:realm:password).
    const ha1 = createHash('md5').update(`${user}:${realm}:${password}`).digest('hex');
    writeFileSync(passwordFile, `${user}:${realm}:${ha1}\n`);
  }
  chmodSync(passwordFile, 0o644);
  const port = await freePort();
  const modules = ['mpm_event', 'authn_core', 'authn_file', 'authz_core', 'authz_user', 'dav', 'dav_fs'];
  modules.push(auth === 'basic' ? 'auth_basic' : 'auth_digest');
  const config = nodePath.join(dir, 'httpd.conf');
  writeFileSync(
    config,
    [
      `ServerRoot ${dir}`,
      `Listen ${HOST}:${port}`,
      `ServerName ${HOST}`,
      `PidFile ${nodePath.join(runDir, 'httpd.pid')}`,
      `DefaultRuntimeDir ${runDir}`,
      `ErrorLog ${nodePath.join(dir, 'error.log')}`,
      'LogLevel warn',
      'User www-data',
      'Group www-data',
      ...modules.map((m) => `LoadModule ${m}_module ${MODULES}/mod_${m}.so`),
      'StartServers 1',
      'ServerLimit 2',
      'ThreadsPerChild 25',
      'MaxRequestWorkers 50',
      'Timeout 30',
      'KeepAlive On',
      `DocumentRoot ${docRoot}`,
      `DavLockDB ${nodePath.join(lockDir, 'DavLock')}`,
      `<Directory ${docRoot}>`,
      '  Dav On',
      '  DavDepthInfinity On',
      '  Options None',
      '  AllowOverride None',
      `  AuthType ${auth === 'basic' ? 'Basic' : 'Digest'}`,
      `  AuthName "${realm}"`,
      auth === 'basic' ? '' : '  AuthDigestProvider file',
      `  AuthUserFile ${passwordFile}`,
      '  Require valid-user',
      '</Directory>',
      '',
    ].join('\n'),
  );
  const server = new ServerProcess('apache2', apache2, ['-f', config, '-DFOREGROUND']);
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
    url: `http://${HOST}:${port}/vault/`,
    dataDir,
    kill: () => server.stop(0),
    async stop() {
      await server.stop();
      await removeDir(dir);
    },
  };
}
