/**
 * How an SFTP location logs in: a named key (file or text, its passphrase checked before the
 * server is asked), a password, or with neither the ssh-agent and the default keys in ~/.ssh
 * (../ssh-keys.ts), tried in turn as OpenSSH's client does.
 */
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, ConnectConfig } from 'ssh2';
import { ShardvaultError } from '../../errors';
import { DEFAULT_KEY_NAMES, defaultKeyPaths, readKeyFile, type KeyFile } from '../ssh-keys';
import type { SftpOptions } from './connection';

export type Credentials = Pick<ConnectConfig, 'privateKey' | 'passphrase' | 'password' | 'authHandler'>;

/**
 * What a login of `options` offers the server, and (for a login without a named key) what it
 * tries, for the error when the server refuses them all; null when a key or password is named.
 */
export async function credentials(
  options: SftpOptions,
  display: string,
): Promise<{ auth: Credentials; tried: string | null }> {
  const { privateKeyPath, privateKey, passphrase, password } = options;
  let key: Buffer | null = null;
  if (privateKey != null) {
    key = Buffer.from(privateKey);
  } else if (privateKeyPath != null) {
    try {
      key = await readFile(privateKeyPath);
    } catch (err) {
      throw new ShardvaultError(
        'io',
        `${display}: cannot read the key file ${privateKeyPath} (${(err as Error).message})`,
        {
          cause: err,
        },
      );
    }
  }
  if (key === null && password == null) return defaultCredentials(options, display);
  const out: Credentials = {};
  if (key !== null) {
    const parsed = ssh2.utils.parseKey(key, passphrase ?? undefined);
    if (parsed instanceof Error) {
      const encrypted = /encrypted|passphrase/i.test(parsed.message);
      throw new ShardvaultError(
        'permission',
        encrypted
          ? `${display}: the private key is encrypted and ${passphrase ? 'the passphrase is wrong' : 'no passphrase was given'}`
          : `${display}: the private key can't be read (${parsed.message})`,
      );
    }
    out.privateKey = key;
    if (passphrase) out.passphrase = passphrase;
  }
  if (password != null) out.password = password;
  return { auth: out, tried: null };
}

/** The ssh-agent, then the default keys in ~/.ssh that open (ssh-keys.ts), tried in turn. */
async function defaultCredentials(
  options: SftpOptions,
  display: string,
): Promise<{ auth: Pick<ConnectConfig, 'authHandler'>; tried: string }> {
  const { agent, home, passphrase, username } = options;
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
        ? `${display}: the key ${locked.path} is encrypted and ${locked.problem === 'wrong' ? 'the passphrase is wrong' : 'no passphrase was given'}`
        : `${display}: no key and no password given: the location names no identity= key, there is no ` +
            `ssh-agent ($SSH_AUTH_SOCK) and no key in ~/.ssh (${DEFAULT_KEY_NAMES.join(', ')})`,
    );
  }
  const tried = [
    ...(agent ? ['the ssh-agent'] : []),
    ...keys.filter((k) => k.problem === null).map((k) => k.path),
  ].join(', ');
  return {
    auth: {
      authHandler: (_methods, _partial, next) => {
        // false ends the login (ssh2 takes it; its types don't say so).
        next(attempts.shift() ?? (false as unknown as AnyAuthMethod));
      },
    },
    tried,
  };
}
