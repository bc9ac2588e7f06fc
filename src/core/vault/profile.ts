/**
 * The profile: this machine's state for one vault (its locations, the last vault head it
 * saw, its device identity and audit-chain tip). One format for the CLI and the desktop
 * app, in $SHARDVAULT_HOME, else $XDG_CONFIG_HOME/shardvault, else ~/.config/shardvault.
 * Holds no key: location credentials, where a location has any, are sealed under a key
 * derived from the passphrase (needed before the vault key can be fetched).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import * as nodePath from 'node:path';
import { toBase64, utf8 } from '../crypto/bytes';
import type { KdfParams } from '../crypto/kdf';
import { CorruptError, ShardvaultError } from '../errors';
import { readDomainField, readPolicy, type Policy } from '../format/head';
import { JsonReader } from '../format/json';
import { LOCATION_KIND_NAMES, type LocationKindName } from '../../shared/location-kinds';
import { ID_BYTES, MAX_LOCATIONS, readKdfParams, readSalt } from '../format/records';
import type { KeyPin } from './keys';

export interface ProfileLocation {
  readonly id: string;
  readonly name: string;
  readonly kind: LocationKindName;
  /** The location SPEC without secrets (a folder path, or a URL without password). */
  readonly spec: string;
  /** Credentials sealed under the profile key (base64), or null. */
  readonly sealedSecrets: string | null;
  readonly lastSeen: string | null;
  /**
   * Learned from the vault head on a device that was never given this location's
   * credentials (a new machine): its address is known, its password or key is not, so it is
   * not used until someone signs in here (location-ops.ts signInLocation). Absent: false.
   */
  readonly needsSignIn?: boolean;
  /** Its failure domain as the head last said (status reads it before an unlock). Absent: none. */
  readonly domain?: string;
}

export interface Profile {
  readonly vaultId: string;
  readonly device: { readonly id: string; readonly name: string };
  readonly kdf: KdfParams;
  readonly salt: Uint8Array;
  readonly logPublicKey: Uint8Array;
  /** The highest vault head counter this profile has seen: older heads are refused. */
  readonly lastHeadCounter: number;
  readonly locations: readonly ProfileLocation[];
  /** This device's audit chain tip. */
  readonly logTip: { readonly seq: number; readonly hash: string };
  /** The vault's policy as last seen (not secret), so status works while locked. */
  readonly policy: Policy;
  /**
   * The vault key this device trusts (vault/keys.ts KeyPin): key shares are followed only
   * when they combine to it, or to a key its rotation records vouch for. Null until the
   * first unlock on this device (and in profiles written before pins existed).
   */
  readonly keyPin: KeyPin | null;
  /**
   * How many distinct locations a new file needs shards on, on this device (--happy); null
   * for the default, k. A setting of this machine, not of the vault: it decides when this
   * device stores, never how anyone reads (docs/FORMAT.md, "Profile").
   */
  readonly happy?: number | null;
}

export const PROFILE_FILE = 'profile.json';
const LOCK_FILE = 'profile.lock';

/** The profile folder `env` names: the front end passes its `process.env`. */
export function profileDir(env: Readonly<Record<string, string | undefined>>): string {
  if (env['SHARDVAULT_HOME']) return nodePath.resolve(env['SHARDVAULT_HOME']);
  const config = env['XDG_CONFIG_HOME'] || nodePath.join(homedir(), '.config');
  return nodePath.join(config, 'shardvault');
}

export function newDevice(): { id: string; name: string } {
  return { id: randomBytes(ID_BYTES).toString('hex'), name: hostname().slice(0, 64) || 'device' };
}

export async function loadProfile(dir: string): Promise<Profile | null> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(nodePath.join(dir, PROFILE_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ShardvaultError('io', `cannot read the profile in ${dir}: ${(err as Error).message}`);
  }
  return decodeProfile(bytes);
}

export function decodeProfile(bytes: Uint8Array): Profile {
  const j = new JsonReader('profile');
  const parsed = j.parse(bytes);
  const fields = [
    'format',
    'version',
    'vaultId',
    'device',
    'kdf',
    'salt',
    'logPublicKey',
    'lastHeadCounter',
    'locations',
    'logTip',
    'policy',
  ];
  // keyPin and happy came later: a profile without them reads (its first unlock pins the
  // key; no happy is the default).
  const has = (field: string): boolean => typeof parsed === 'object' && parsed !== null && field in parsed;
  const hasPin = has('keyPin');
  const o = j.object(parsed, 'profile', [...fields, ...(hasPin ? ['keyPin'] : []), ...(has('happy') ? ['happy'] : [])]);
  if (o['format'] !== 'shardvault-profile') j.fail('format', 'is not shardvault-profile');
  if (o['version'] !== 1) j.fail('version', `is ${String(o['version'])}; this program reads 1`);
  const device = j.object(o['device'], 'device', ['id', 'name']);
  const kdf = j.object(o['kdf'], 'kdf', ['logN', 'r', 'p']);
  let params: KdfParams;
  try {
    params = readKdfParams(j, kdf, 'kdf');
  } catch (err) {
    throw new CorruptError(`profile: ${(err as Error).message}`);
  }
  const salt = readSalt(j, o['salt'], 'salt');
  const logPublicKey = j.base64(o['logPublicKey'], 'logPublicKey', 32);
  if (logPublicKey.length !== 32) j.fail('logPublicKey', 'must be 32 bytes');
  const tip = j.object(o['logTip'], 'logTip', ['seq', 'hash']);
  return {
    vaultId: j.hex(o['vaultId'], 'vaultId', ID_BYTES),
    device: { id: j.hex(device['id'], 'device.id', ID_BYTES), name: j.string(device['name'], 'device.name', 64) },
    kdf: params,
    salt,
    logPublicKey,
    lastHeadCounter: j.int(o['lastHeadCounter'], 'lastHeadCounter', 0, Number.MAX_SAFE_INTEGER),
    locations: j.array(o['locations'], 'locations', MAX_LOCATIONS).map((v, i) => {
      const flagged = typeof v === 'object' && v !== null && 'needsSignIn' in v;
      const withDomain = typeof v === 'object' && v !== null && 'domain' in v;
      const l = j.object(v, `locations[${i}]`, [
        'id',
        'name',
        'kind',
        'spec',
        'sealedSecrets',
        'lastSeen',
        ...(flagged ? ['needsSignIn'] : []),
        ...(withDomain ? ['domain'] : []),
      ]);
      if (flagged && l['needsSignIn'] !== true) j.fail(`locations[${i}].needsSignIn`, 'must be true when present');
      const domain = withDomain ? readDomainField(j, l['domain'], `locations[${i}].domain`) : undefined;
      return {
        ...(domain !== undefined ? { domain } : {}),
        ...(flagged ? { needsSignIn: true } : {}),
        id: j.hex(l['id'], `locations[${i}].id`, ID_BYTES),
        name: j.string(l['name'], `locations[${i}].name`, 64),
        kind: j.oneOf(l['kind'], `locations[${i}].kind`, LOCATION_KIND_NAMES),
        spec: j.string(l['spec'], `locations[${i}].spec`, 4096),
        sealedSecrets: j.nullable(l['sealedSecrets'], (s) => j.string(s, `locations[${i}].sealedSecrets`, 65536)),
        lastSeen: j.nullable(l['lastSeen'], (s) => j.time(s, `locations[${i}].lastSeen`)),
      };
    }),
    logTip: {
      seq: j.int(tip['seq'], 'logTip.seq', 0, Number.MAX_SAFE_INTEGER),
      hash: j.hex(tip['hash'], 'logTip.hash', 32),
    },
    policy: readPolicy(j, o['policy']),
    keyPin: hasPin
      ? j.nullable(o['keyPin'], (v) => {
          const pin = j.object(v, 'keyPin', ['key', 'generation', 'threshold']);
          const key = j.base64(pin['key'], 'keyPin.key', 32);
          if (key.length !== 32) j.fail('keyPin.key', 'must be 32 bytes');
          return {
            key,
            generation: j.int(pin['generation'], 'keyPin.generation', 1, 0xffffffff),
            threshold: j.int(pin['threshold'], 'keyPin.threshold', 2, MAX_LOCATIONS),
          };
        })
      : null,
    happy: has('happy') ? j.nullable(o['happy'], (v) => j.int(v, 'happy', 1, MAX_LOCATIONS)) : null,
  };
}

export function encodeProfile(p: Profile): Uint8Array {
  const body = {
    format: 'shardvault-profile',
    version: 1,
    vaultId: p.vaultId,
    device: p.device,
    kdf: p.kdf,
    salt: toBase64(p.salt),
    logPublicKey: toBase64(p.logPublicKey),
    lastHeadCounter: p.lastHeadCounter,
    // needsSignIn is written only when set, as `happy` below.
    locations: p.locations.map(({ needsSignIn, ...l }) => (needsSignIn ? { ...l, needsSignIn } : l)),
    logTip: p.logTip,
    policy: p.policy,
    keyPin: p.keyPin && { ...p.keyPin, key: toBase64(p.keyPin.key) },
    // Written only when set, so a profile without a setting stays readable by older versions.
    ...(p.happy ? { happy: p.happy } : {}),
  };
  return utf8(JSON.stringify(body, null, 2) + '\n');
}

/** Writes the profile atomically (temp file, fsync, rename), readable by its owner only. */
export async function saveProfile(dir: string, profile: Profile): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const target = nodePath.join(dir, PROFILE_FILE);
  const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await fs.open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(encodeProfile(profile));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, target);
}

/**
 * Takes the profile's lock for the life of one command, so two processes can't interleave
 * their writes to the vault from this machine. A lock whose process is gone is taken over.
 */
export async function lockProfile(dir: string): Promise<() => Promise<void>> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const path = nodePath.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    // The lock appears with its pid already in it (written aside, then linked into place):
    // a lock seen empty would look stale, and another process would take it over.
    const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await fs.writeFile(aside, `${process.pid}\n`, { mode: 0o600 });
    try {
      await fs.link(aside, path);
      return async () => {
        await fs.rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(await fs.readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isSafeInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new ShardvaultError(
          'busy',
          `another Shardvault process (pid ${holder}) is using this profile; try again when it ends`,
        );
      }
      await fs.rm(path, { force: true });
    } finally {
      await fs.rm(aside, { force: true });
    }
  }
  throw new ShardvaultError('busy', 'the profile is locked by another process');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
