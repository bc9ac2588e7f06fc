/**
 * Key derivation: scrypt (RFC 7914) stretches a passphrase once per unlock; HKDF-SHA256
 * (RFC 5869) derives every purpose-bound key from it and from the vault key. Both from
 * node:crypto (present in Electron's BoringSSL too).
 *
 * scrypt parameters come from a location (it could lie) or from the profile, so they are
 * bounded here: a location can't make us spend minutes or gigabytes, nor below a floor
 * that tests need (the vault's owner chooses the cost at creation).
 */
import { hkdfSync, scrypt as scryptCb } from 'node:crypto';
import { ShardvaultError } from '../errors';
import { abytes, auint, utf8, wipe } from './bytes';

export interface KdfParams {
  readonly logN: number;
  readonly r: number;
  readonly p: number;
}

export const KDF_LIMITS = { logN: [10, 20], r: [1, 16], p: [1, 4] } as const;
/** The default: N = 2^17, r = 8, p = 1 (128 MiB, ~0.4 s here). */
export const DEFAULT_KDF: KdfParams = { logN: 17, r: 8, p: 1 };
/** For tests and demos only: fast, and said to be weak wherever it is chosen. */
export const TEST_KDF: KdfParams = { logN: 10, r: 8, p: 1 };

export function checkKdfParams(params: KdfParams): void {
  try {
    auint(params.logN, 'scrypt logN', KDF_LIMITS.logN[0], KDF_LIMITS.logN[1]);
    auint(params.r, 'scrypt r', KDF_LIMITS.r[0], KDF_LIMITS.r[1]);
    auint(params.p, 'scrypt p', KDF_LIMITS.p[0], KDF_LIMITS.p[1]);
  } catch (err) {
    throw new ShardvaultError('corrupt', `key derivation parameters out of bounds: ${(err as Error).message}`);
  }
}

/**
 * scrypt of the secret's NFC UTF-8 bytes. The bytes are ours, in a buffer wiped as soon as
 * scrypt has them (a string can't be wiped: see docs/SECURITY.md, "Keys").
 */
export async function scrypt(secret: string, salt: Uint8Array, params: KdfParams): Promise<Uint8Array> {
  checkKdfParams(params);
  abytes(salt, 'salt', 32);
  const N = 2 ** params.logN;
  const maxmem = 128 * N * params.r * params.p + 16 * 1024 * 1024;
  const password = utf8(secret.normalize('NFC'));
  try {
    const key = await new Promise<Buffer>((resolve, reject) =>
      scryptCb(password, salt, 32, { N, r: params.r, p: params.p, maxmem }, (err, out) =>
        err ? reject(err) : resolve(out),
      ),
    );
    return new Uint8Array(key.buffer, key.byteOffset, key.length);
  } finally {
    wipe(password);
  }
}

/** HKDF-SHA256 to 32 bytes. `info` names the purpose; distinct purposes give independent keys. */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string | Uint8Array, length = 32): Uint8Array {
  abytes(ikm, 'ikm');
  abytes(salt, 'salt');
  const infoBytes = typeof info === 'string' ? utf8(info) : info;
  return new Uint8Array(hkdfSync('sha256', ikm, salt, infoBytes, length));
}
