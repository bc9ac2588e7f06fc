/**
 * A private OpenSSH sshd on a loopback port: its own config, host key, client key pair
 * and data folder in a temp dir. Tests run as root, so the user is root.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import {
  childPids,
  freePort,
  HOST,
  makeTempDir,
  removeDir,
  requireBinary,
  run,
  ServerProcess,
  signalGroup,
  waitForPort,
} from './process';

export interface SshdServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Private key (no passphrase) that the server accepts. */
  readonly keyPath: string;
  /** `SHA256:...` of the server's host key, as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
  /** An empty folder for the location's root. */
  readonly dataDir: string;
  readonly dir: string;
  /** Adds a public key file to the accepted client keys (read per connection). */
  authorize(publicKeyPath: string): void;
  /** Kills every open session (sshd forks one process group per connection); the listener stays. */
  killSessions(): void;
  /** Kills the listener and every session at once; the temp dir stays until stop(). */
  kill(): Promise<void>;
  /** Stops the listener and every session, and removes the temp dir. */
  stop(): Promise<void>;
}

/** Makes an ed25519 key pair at `path` (and `path`.pub); returns its fingerprint. */
export function makeKeyPair(path: string, passphrase = ''): string {
  const keygen = requireBinary('ssh-keygen', 'openssh-client');
  run(keygen, ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'shardvault-test', '-f', path]);
  return fingerprintOf(`${path}.pub`);
}

export function fingerprintOf(publicKeyPath: string): string {
  const keygen = requireBinary('ssh-keygen', 'openssh-client');
  const line = run(keygen, ['-l', '-E', 'sha256', '-f', publicKeyPath]);
  const match = /SHA256:[A-Za-z0-9+/]+/.exec(line);
  if (!match) throw new Error(`ssh-keygen printed no fingerprint: ${line}`);
  return match[0];
}

export async function startSshd(): Promise<SshdServer> {
  const sshd = requireBinary('sshd', 'openssh-server');
  requireBinary('ssh-keygen', 'openssh-client');
  const dir = await makeTempDir('sshd');
  const dataDir = nodePath.join(dir, 'data');
  mkdirSync(dataDir);
  mkdirSync('/run/sshd', { recursive: true }); // privilege separation directory
  const hostKey = nodePath.join(dir, 'host_ed25519');
  const fingerprint = makeKeyPair(hostKey);
  const keyPath = nodePath.join(dir, 'client_ed25519');
  makeKeyPair(keyPath);
  const authorizedKeys = nodePath.join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${keyPath}.pub`), { mode: 0o600 });
  const port = await freePort();
  const config = nodePath.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      `ListenAddress ${HOST}`,
      `HostKey ${hostKey}`,
      `PidFile ${nodePath.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'StrictModes no',
      'UsePAM no',
      'UseDNS no',
      'MaxStartups 100',
      'MaxSessions 100',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const server = new ServerProcess('sshd', sshd, ['-D', '-e', '-f', config]);
  try {
    await waitForPort(port, server);
  } catch (err) {
    await server.stop();
    throw err;
  }
  const killSessions = (): void => {
    // Each connection's process calls setsid(): it is the leader of its own group.
    for (const pid of childPids(server.pid)) signalGroup(pid, 'SIGKILL');
  };
  return {
    host: HOST,
    port,
    user: 'root',
    keyPath,
    fingerprint,
    dataDir,
    dir,
    killSessions,
    authorize(publicKeyPath: string) {
      appendFileSync(authorizedKeys, readFileSync(publicKeyPath));
    },
    async kill() {
      killSessions();
      await server.stop(0);
      killSessions();
    },
    async stop() {
      killSessions();
      await server.stop();
      killSessions();
      await removeDir(dir);
    },
  };
}
