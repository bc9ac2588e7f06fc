/**
 * Locations as the vault keeps them: SPECs parsed and named, SSH host keys pinned (trust on
 * first use only when the caller confirms), credentials sealed in the profile under a key
 * from the passphrase, and nodes built from the profile, each proving its identity before
 * use (checked-node.ts). A remote location whose credentials are sealed stays "locked"
 * until the passphrase is given.
 */
import { engineConfig } from '../config';
import { readFile } from 'node:fs/promises';
import type { SignIn } from '../../shared/api';
import { openWithNonce, sealWithNonce } from '../crypto/aead';
import { fromBase64, toBase64, utf8, wipe } from '../crypto/bytes';
import { AuthError, OfflineError, UsageError } from '../errors';
import { JsonReader } from '../format/json';
import type { LocationEntry } from '../format/head';
import type { LocationHealth, ObjectInfo, StorageNode } from '../storage/node';
import {
  createNode,
  displaySpec,
  readGiven,
  type LocationGiven,
  parseSpec,
  plainHttpExposure,
  requirePrivateTransport,
  sftpTarget,
  withFingerprint,
  withInsecureHttp,
  type LocationSecrets,
  type ParsedSpec,
} from '../storage/open';
import { KINDS } from '../storage/kinds';
import { SECRET_FIELD_NAMES, type SecretFieldName } from '../../shared/location-kinds';
import { CheckedNode } from './checked-node';
import { profileKey } from './keys';
import type { ProfileLocation } from './profile';

export type NamedSpec = ParsedSpec & { name: string };

/** Asked to trust an SSH host key seen for the first time; true pins it. */
export type ConfirmHostKey = (display: string, fingerprint: string) => Promise<boolean>;

/**
 * Parses SPECs a user gives anew and names unnamed ones loc1, loc2, … in the order given
 * (after `offset`). A WebDAV password over plain http to another machine is refused unless
 * `allowInsecureHttp` (open.ts requirePrivateTransport).
 */
export function nameSpecs(
  specs: readonly LocationGiven[],
  offset = 0,
  taken: readonly string[] = [],
  allowInsecureHttp = false,
): NamedSpec[] {
  if (specs.length === 0) throw new UsageError('give at least one --location');
  const given = specs.map((s) => requirePrivateTransport(readGiven(s), allowInsecureHttp));
  const used = new Set<string>([...taken, ...given.flatMap((p) => (p.name ? [p.name] : []))]);
  let next = offset;
  const parsed = given.map((p) => {
    if (p.name) return { ...p, name: p.name };
    // The first free locN: names of removed locations come back, existing ones never clash.
    let name: string;
    do name = `loc${++next}`;
    while (used.has(name));
    used.add(name);
    return { ...p, name };
  });
  const names = new Set<string>(taken);
  const places = new Set<string>();
  for (const p of parsed) {
    if (names.has(p.name)) throw new UsageError(`two locations are named ${p.name}`);
    if (places.has(p.display)) throw new UsageError(`${p.display} is given twice`);
    names.add(p.name);
    places.add(p.display);
  }
  return parsed;
}

/**
 * Pins the host key of every SFTP spec that has none: fetches the server's fingerprint and
 * asks `confirm`. Without a confirmation (a script without --trust-new-host-key) it refuses:
 * host key verification is never skipped.
 */
export async function pinHostKeys(
  specs: readonly NamedSpec[],
  confirm: ConfirmHostKey | undefined,
): Promise<NamedSpec[]> {
  const out: NamedSpec[] = [];
  for (const p of specs) {
    const target = sftpTarget(p);
    if (!target || target.fingerprint) {
      out.push(p);
      continue;
    }
    const { fetchHostFingerprint } = await import('../storage/sftp/host-key');
    const fingerprint = await fetchHostFingerprint(target.host, target.port);
    if (!confirm || !(await confirm(p.display, fingerprint))) {
      throw new UsageError(
        `${p.display}: its host key (${fingerprint}) is not pinned; add fingerprint=${fingerprint} to the location ` +
          "after checking it with the server's owner (ssh-keygen -lf), or pass --trust-new-host-key",
      );
    }
    out.push({ ...withFingerprint(p, fingerprint), name: p.name });
  }
  return out;
}

/** Asked for the passphrase of an SFTP location's encrypted key; null: none given. */
export type AskKeyPassphrase = (display: string, keyFile: string) => Promise<string | null>;

/**
 * For each new SFTP location whose key is encrypted (its `identity=`, or without one and
 * without a password the first default key in ~/.ssh) and whose passphrase is not known yet:
 * asks it, checks it opens the key, and adds it to the secrets, which the profile seals like
 * a password. Without `ask`, or with $SHARDVAULT_SFTP_KEY_PASSPHRASE set, nothing is asked.
 */
export async function askKeyPassphrases(
  specs: readonly NamedSpec[],
  ask: AskKeyPassphrase | undefined,
  env: NodeJS.ProcessEnv,
): Promise<NamedSpec[]> {
  if (!ask || env['SHARDVAULT_SFTP_KEY_PASSPHRASE']) return [...specs];
  const out: NamedSpec[] = [];
  for (const p of specs) {
    const keyFile = !p.secrets?.keyPassphrase ? await encryptedKeyOf(p, env) : null;
    if (keyFile === null) {
      out.push(p);
      continue;
    }
    const passphrase = await ask(p.display, keyFile);
    if (!passphrase) throw new AuthError(`${p.display}: the key ${keyFile} is encrypted and no passphrase was given`);
    const { keyProblem } = await import('../storage/ssh-keys');
    if (keyProblem(await readFile(keyFile), passphrase) !== null)
      throw new AuthError(`${p.display}: that passphrase does not open the key ${keyFile}`);
    out.push({ ...p, secrets: { ...p.secrets, keyPassphrase: passphrase } });
  }
  return out;
}

/** The SSH key file a spec logs in with, when it is encrypted; else null (and for kinds without keys). */
async function encryptedKeyOf(p: NamedSpec, env: NodeJS.ProcessEnv): Promise<string | null> {
  const kind = KINDS[p.kind];
  if (!kind.keyFile) return null;
  // ssh2 is loaded only for vaults that use SFTP (open.ts).
  const { readKeyFile, defaultKeyNeedingPassphrase } = await import('../storage/ssh-keys');
  const named = kind.keyFile(p.spec);
  if (named) {
    const file = await readKeyFile(named, null).catch(() => null);
    return file?.problem === 'encrypted' ? named : null;
  }
  if (p.secrets?.password || !env['HOME']) return null;
  return defaultKeyNeedingPassphrase(env['HOME']);
}

const secretsAad = (locationId: string): Uint8Array => utf8(`SVPS${locationId}`);

/** Seals a location's credentials for the profile under the passphrase-derived profile key. */
export function sealSecrets(
  secrets: LocationSecrets | null,
  pk: Uint8Array,
  vaultId: string,
  locationId: string,
): string | null {
  if (!secrets) return null;
  const key = profileKey(pk, vaultId);
  const plain = utf8(JSON.stringify(secrets));
  try {
    return toBase64(sealWithNonce(key, plain, secretsAad(locationId)));
  } finally {
    wipe(key, plain);
  }
}

export function openSecrets(sealed: string, pk: Uint8Array, vaultId: string, locationId: string): LocationSecrets {
  const key = profileKey(pk, vaultId);
  let plain: Uint8Array;
  try {
    plain = openWithNonce(
      key,
      fromBase64(sealed, 'sealed credentials', 65536),
      secretsAad(locationId),
      'location credentials',
    );
  } catch {
    throw new AuthError('wrong passphrase (the location credentials in this profile do not open)');
  } finally {
    wipe(key);
  }
  const j = new JsonReader('location credentials');
  const value = j.parse(plain);
  wipe(plain);
  const o = value as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) j.fail('body', 'must be an object');
  // Each kind's secret fields (src/shared/location-kinds.ts); anything else is left out.
  const out: Partial<Record<SecretFieldName, string>> = {};
  for (const field of SECRET_FIELD_NAMES) {
    if (o[field] !== undefined) out[field] = j.string(o[field], field);
  }
  return out;
}

/** A location this machine can't use yet (sealed credentials, no address): offline, saying why. */
export class UnavailableNode implements StorageNode {
  constructor(
    readonly kind: StorageNode['kind'],
    readonly display: string,
    private readonly why: string,
  ) {}

  private error(): OfflineError {
    return new OfflineError(`${this.display}: ${this.why}`);
  }

  put(): Promise<number> {
    return Promise.reject(this.error());
  }
  get(): Promise<AsyncIterable<Uint8Array>> {
    return Promise.reject(this.error());
  }
  readRange(): Promise<Uint8Array> {
    return Promise.reject(this.error());
  }
  stat(): Promise<ObjectInfo | null> {
    return Promise.reject(this.error());
  }
  list(): Promise<ObjectInfo[]> {
    return Promise.reject(this.error());
  }
  delete(): Promise<void> {
    return Promise.reject(this.error());
  }
  health(): Promise<LocationHealth> {
    return Promise.resolve({ reachable: false, latencyMs: null, freeBytes: null, error: this.error().message });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * What to tell a user about a profile location whose WebDAV password crosses the network in
 * the clear, or null. `legacy`: added before Shardvault refused that unasked.
 */
export function plainHttpWarning(l: ProfileLocation): { message: string; legacy: boolean } | null {
  const exposure = plainHttpExposure(l, l.sealedSecrets !== null);
  if (exposure === null) return null;
  const what = `${l.name}: ${exposure.exposes} to ${exposure.host} over plain http, readable on the way`;
  return exposure.allowed
    ? { message: `${what} (allowed with --allow-insecure-http)`, legacy: false }
    : {
        message:
          `${what}; this location was added before Shardvault refused that. Give it an https:// address ` +
          `(location edit), or keep it with location edit ${l.name} SPEC --allow-insecure-http`,
        legacy: true,
      };
}

/** Why a location learned from the head is not used yet (UnavailableNode, health's error). */
export const SIGN_IN_NEEDED = 'needs sign-in on this device: its password or key was never given here';

/**
 * The secret-free address the head carries for a location (version 3 heads), when it is one
 * this program can use and agrees with the entry's kind and display; else null (the entry
 * then falls back to its display).
 */
export function headSpec(entry: LocationEntry): string | null {
  if (entry.spec === undefined) return null;
  try {
    const parsed = parseSpec(entry.spec);
    // Exactly as a writer stores it: no name, no secret, nothing normalised away.
    const agrees =
      parsed.kind === entry.kind &&
      parsed.display === entry.display &&
      parsed.name === null &&
      parsed.secrets === null &&
      parsed.spec === entry.spec;
    return agrees ? parsed.spec : null;
  } catch {
    return null;
  }
}

/** What a sign-in form shows of a location this device has yet to sign in to; null for any other. */
export function signInOf(l: ProfileLocation | undefined): SignIn | null {
  return l?.needsSignIn ? addressOf(l) : null;
}

/** A server location's address split into its parts (nothing secret); null for a folder. */
export function addressOf(l: Pick<ProfileLocation, 'kind' | 'spec'>): SignIn | null {
  try {
    return KINDS[l.kind].signInAddress(l.spec);
  } catch {
    // A stored spec this program can't split: shown whole.
    return { user: null, host: l.spec.slice(0, 1024), port: null, path: '', keyFile: null, hostKey: null };
  }
}

/**
 * A location the head names but this profile lacks (a new machine, or one added elsewhere):
 * its profile entry and its node. With the head's address (`spec`) a folder, or a server that
 * needs no credentials, is reached at once; a server that needs some is kept with its address
 * and flagged needsSignIn. Without it (an older head), it is reached at `display`, which is
 * enough for a folder; `hint` then says what to do where that can't be used.
 */
export function locationFromHead(
  entry: LocationEntry,
  vaultId: string,
  hint: string,
): { profile: ProfileLocation; node: StorageNode } {
  const spec = headSpec(entry);
  const base = { id: entry.id, name: entry.name, kind: entry.kind, sealedSecrets: null, lastSeen: null };
  if (spec === null)
    return { profile: { ...base, spec: entry.display }, node: nodeAtRecordedAddress(entry, vaultId, hint) };
  // A server that needs a secret the head can't carry (the kind says which).
  if (KINDS[entry.kind].needsCredentials(spec))
    return {
      profile: { ...base, spec, needsSignIn: true },
      node: new UnavailableNode(entry.kind, entry.display, SIGN_IN_NEEDED),
    };
  const profile = { ...base, spec };
  return { profile, node: nodeFor(profile, vaultId, null) };
}

/**
 * A location the head names but this profile lacks, reached at the address the head records
 * (no credentials: enough for folders; a server needs adding again). `hint` says how, when
 * that address can't be used here.
 */
function nodeAtRecordedAddress(entry: LocationEntry, vaultId: string, hint: string): StorageNode {
  try {
    return new CheckedNode(createNode(parseSpec(entry.display), null, { env: engineConfig().env }), vaultId, entry.id);
  } catch (err) {
    return new UnavailableNode(entry.kind, entry.display, `${hint} (${(err as Error).message})`);
  }
}

/**
 * The node of a profile location; null pk means credentials can't be opened yet, unless the
 * front end holds a copy of them (`kept`: the desktop app's OS keystore, see app.ts).
 */
export function nodeFor(
  l: ProfileLocation,
  vaultId: string,
  pk: Uint8Array | null,
  kept: LocationSecrets | null = null,
): StorageNode {
  const display = displaySpec(l);
  if (l.needsSignIn) return new UnavailableNode(l.kind, display, SIGN_IN_NEEDED);
  if (l.sealedSecrets && !pk && !kept)
    return new UnavailableNode(l.kind, display, 'its credentials are sealed under the passphrase; unlock first');
  const secrets = l.sealedSecrets ? (pk ? openSecrets(l.sealedSecrets, pk, vaultId, l.id) : kept) : null;
  // Added before plain http was refused: it keeps working (the warning is plainHttpWarning's).
  const exposure = plainHttpExposure(l, l.sealedSecrets !== null);
  const spec = exposure && !exposure.allowed ? withInsecureHttp(l) : l.spec;
  try {
    return new CheckedNode(createNode({ kind: l.kind, spec }, secrets, { env: engineConfig().env }), vaultId, l.id);
  } catch (err) {
    return new UnavailableNode(l.kind, display, (err as Error).message);
  }
}
