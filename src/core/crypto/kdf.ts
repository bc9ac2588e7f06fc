/**
 * Key derivation: scrypt (RFC 7914) stretches a passphrase once per unlock; HKDF-SHA256
 * (RFC 5869) derives every purpose-bound key from it and from the vault key. Both from
 * node:crypto (present in Electron's BoringSSL too).
 *
 * scrypt parameters come from a location (it could lie) or from the profile, so they are
 * bounded here (KDF_LIMITS): a location can't make us spend minutes or gigabytes. Reading
 * accepts costs down to 2^10, which old vaults and tests use; a new vault gets at least
 * MIN_NEW_KDF_LOGN unless a test asks for less by a name that says it is insecure.
 */
import { hkdfSync, scrypt as scryptCb } from 'node:crypto';
import { ShardvaultError, UsageError } from '../errors';
import { abytes, auint, utf8, wipe } from './bytes';

export interface KdfParams {
  readonly logN: number;
  readonly r: number;
  readonly p: number;
}

export const KDF_LIMITS = { logN: [10, 20], r: [1, 16], p: [1, 4] } as const;
/**
 * The work one derivation may cost, whatever the three numbers: 128 * N * r * p bytes of
 * scrypt's memory-hard mixing, at most 1 GiB (N = 2^20 with r = 8, p = 1; the default
 * 2^17 is 128 MiB). Each bound alone let a location ask for 2 GiB and minutes.
 */
export const MAX_KDF_WORK = 1 << 30;
/** The floor for a vault the CLI or the app creates: N = 2^17 (each guess ~0.4 s here). */
export const MIN_NEW_KDF_LOGN = 17;
/** The default: N = 2^17, r = 8, p = 1 (128 MiB, ~0.4 s here). */
export const DEFAULT_KDF: KdfParams = { logN: MIN_NEW_KDF_LOGN, r: 8, p: 1 };
/**
 * For tests and throwaway demos only: N = 2^10 makes every guess at the passphrase 128 times
 * cheaper than the floor. Never for a vault that holds anything.
 */
export const INSECURE_TEST_KDF: KdfParams = { logN: 10, r: 8, p: 1 };

/**
 * The scrypt cost of a new vault: N = 2^logN with the default r and p. Refuses a cost below
 * MIN_NEW_KDF_LOGN unless `insecure` (tests); the reading bounds (KDF_LIMITS) hold either way.
 */
export function newVaultKdf(logN: number = MIN_NEW_KDF_LOGN, options: { insecure?: boolean } = {}): KdfParams {
  const params = { ...DEFAULT_KDF, logN };
  checkKdfParams(params);
  if (logN < MIN_NEW_KDF_LOGN && !options.insecure) {
    throw new UsageError(
      `an scrypt cost of 2^${logN} is below the floor of 2^${MIN_NEW_KDF_LOGN} for a new vault: ` +
        `each guess at the passphrase would be ${2 ** (MIN_NEW_KDF_LOGN - logN)} times cheaper`,
    );
  }
  return params;
}

export function checkKdfParams(params: KdfParams): void {
  try {
    auint(params.logN, 'scrypt logN', KDF_LIMITS.logN[0], KDF_LIMITS.logN[1]);
    auint(params.r, 'scrypt r', KDF_LIMITS.r[0], KDF_LIMITS.r[1]);
    auint(params.p, 'scrypt p', KDF_LIMITS.p[0], KDF_LIMITS.p[1]);
    if (128 * 2 ** params.logN * params.r * params.p > MAX_KDF_WORK)
      throw new RangeError(`scrypt 2^${params.logN}, r ${params.r}, p ${params.p} costs more than 1 GiB of work`);
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
