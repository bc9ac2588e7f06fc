/**
 * The keys an SFTP location logs in with when its SPEC names none (no `identity=`) and gives
 * no password, as OpenSSH's own client does: the ssh-agent at $SSH_AUTH_SOCK, then the
 * default keys in ~/.ssh, in OpenSSH's order. The front end reads the environment and hands
 * the socket and home folder in (the engine reads none).
 */
import { readFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import ssh2 from 'ssh2';

/** OpenSSH's default identity files that ssh2 can use, in the order `ssh` tries them. */
export const DEFAULT_KEY_NAMES = ['id_ed25519', 'id_ecdsa', 'id_rsa'] as const;

export function defaultKeyPaths(home: string): string[] {
  return DEFAULT_KEY_NAMES.map((name) => nodePath.join(home, '.ssh', name));
}

export type KeyProblem = 'encrypted' | 'wrong' | 'unreadable';

/** A private key file read from disk, and whether it needs a passphrase that was not given (or is wrong). */
export interface KeyFile {
  readonly path: string;
  readonly key: Buffer;
  /** null: usable as given; else why not: 'encrypted' (no passphrase), 'wrong' (a wrong one), 'unreadable'. */
  readonly problem: KeyProblem | null;
}

/** Reads a key file; null when there is none at `path`. Other read errors are thrown. */
export async function readKeyFile(path: string, passphrase: string | null): Promise<KeyFile | null> {
  let key: Buffer;
  try {
    key = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return { path, key, problem: keyProblem(key, passphrase) };
}

export function keyProblem(key: Buffer, passphrase: string | null): KeyProblem | null {
  const parsed = ssh2.utils.parseKey(key, passphrase ?? undefined);
  if (!(parsed instanceof Error)) return null;
  if (/encrypted|passphrase/i.test(parsed.message)) return passphrase ? 'wrong' : 'encrypted';
  return 'unreadable';
}

/**
 * The key a location without `identity=` and without a password would log in with, when it is
 * encrypted and no passphrase is known: the first default key that exists. null when there is
 * none, or the first one needs no passphrase. (An agent is tried first, but a key in it has no
 * passphrase to ask for.)
 */
export async function defaultKeyNeedingPassphrase(home: string): Promise<string | null> {
  for (const path of defaultKeyPaths(home)) {
    const file = await readKeyFile(path, null).catch(() => null);
    if (file) return file.problem === 'encrypted' ? path : null;
  }
  return null;
}
