/**
 * Turns a location SPEC (the CLI's notation) into what the profile keeps and into a
 * StorageNode, through the location-kind registry (./kinds): each kind reads its own SPEC,
 * says what of it is stored and what is secret, and makes its node.
 *
 *   /path/to/folder#NAME
 *   sftp://USER[:PASSWORD]@HOST[:PORT]/ABSOLUTE/PATH?identity=KEYFILE&fingerprint=SHA256:...#NAME
 *   webdav+http(s)://[USER[:PASSWORD]@]HOST[:PORT]/PATH[?ca=PEMFILE]#NAME
 *   s3://KEY:SECRET@HOST[:PORT]/BUCKET[/PREFIX][?region=R&style=virtual]#NAME   (s3+http:// too)
 *
 * A parsed spec splits into what the profile may keep in the clear (`spec`: the SPEC
 * without its name and secrets, key and CA files made absolute) and `secrets` (a password,
 * a key's passphrase, a secret key), which the profile seals under the passphrase.
 *
 * A SPEC a user gives anew (init, open, location add and edit) also passes
 * requirePrivateTransport: a kind that can talk plain http goes to another machine only
 * when the user allows it, and the stored SPEC then records that (`insecure-http=1`).
 */
import { UsageError } from '../errors';
import {
  fieldNames,
  generatedFieldNames,
  type LocationInput,
  type LocationKindName,
} from '../../shared/location-kinds';
import { KINDS, kindOfSpec, type LocationSecrets, type NodeOptions } from './kinds';
import type { StorageNode } from './node';

export { splitName } from './kinds';
export type { LocationSecrets, NodeOptions } from './kinds';

export interface ParsedSpec {
  readonly kind: LocationKindName;
  /** The name after '#', or null when none was given. */
  readonly name: string | null;
  /** The spec without its name and without secrets: what the profile stores. */
  readonly spec: string;
  /** Credentials to seal in the profile, or null. */
  readonly secrets: LocationSecrets | null;
  /** For people: no credentials. */
  readonly display: string;
}

type Stored = Pick<ParsedSpec, 'kind' | 'spec'>;

export function parseSpec(spec: string): ParsedSpec {
  if (typeof spec !== 'string' || spec.trim() === '') throw new UsageError('a location needs a folder path or URL');
  const text = spec.trim();
  const kind = kindOfSpec(text);
  return { kind: kind.name, ...kind.parse(text) };
}

/** A location as a caller gives it: a SPEC (the CLI), or one already read (readLocation). */
export type LocationGiven = string | ParsedSpec;

export function readGiven(given: LocationGiven): ParsedSpec {
  return typeof given === 'string' ? parseSpec(given) : given;
}

/**
 * Reads a location a form gives as fields (the bridges' requests): the kind reads its address
 * fields as strictly as its SPEC, the secrets are taken by the kind's secret field names only,
 * and a confirmed host key is pinned. No SPEC with a secret in it is ever written.
 */
export function readLocation(input: LocationInput): ParsedSpec {
  const kind = KINDS[input.kind];
  const known = new Set(fieldNames(input.kind, false));
  const unknown = Object.keys(input.fields).filter((f) => !known.has(f));
  if (unknown.length > 0) throw new UsageError(`a ${input.kind} location has no field ${unknown.join(', ')}`);
  const secretNames = new Set(fieldNames(input.kind, true));
  const secrets: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.secrets ?? {})) {
    if (!secretNames.has(key)) throw new UsageError(`a ${input.kind} location has no secret ${key}`);
    if (typeof value === 'string' && value !== '') secrets[key] = value;
  }
  const given = Object.keys(secrets).length > 0 ? secrets : null;
  const read = kind.fromFields(input.fields, input.name ?? null, given);
  // Secrets the kind makes itself (a node's device key) come from the kind, never from a form.
  const made: Record<string, string> = {};
  for (const name of generatedFieldNames(input.kind)) {
    if (Object.hasOwn(secrets, name))
      throw new UsageError(`a ${input.kind} location's ${name} is not given, it is made`);
    const value = (read.secrets as Record<string, string> | null)?.[name];
    if (value !== undefined) made[name] = value;
  }
  const all = { ...made, ...secrets };
  const parsed: ParsedSpec = { kind: input.kind, ...read, secrets: Object.keys(all).length > 0 ? all : null };
  return input.hostKey ? withFingerprint(parsed, input.hostKey) : parsed;
}

const hasSecrets = (secrets: LocationSecrets | null): boolean =>
  secrets !== null && Object.values(secrets).some((v) => typeof v === 'string' && v !== '');

/**
 * Refuses a new location that would talk plain http to another machine with something to
 * lose, unless `allowInsecureHttp` (--allow-insecure-http) or the SPEC's own `insecure-http=1`
 * says the user wants it; then the stored spec records it, so the location is not refused later.
 */
export function requirePrivateTransport<P extends ParsedSpec>(parsed: P, allowInsecureHttp = false): P {
  const plain = KINDS[parsed.kind].plainHttp;
  const exposure = plain?.exposure(parsed.spec, hasSecrets(parsed.secrets)) ?? null;
  if (!plain || exposure === null || exposure.allowed) return parsed;
  if (!allowInsecureHttp) throw plain.refusal(parsed.display, exposure.host);
  return { ...parsed, spec: plain.allow(parsed.spec) };
}

/**
 * Whether a stored location talks plain http to another machine: the host, what goes over
 * the wire, and whether its SPEC records that the user allowed it (one without that was added
 * before Shardvault refused it: it keeps working, through withInsecureHttp, with a warning).
 */
export function plainHttpExposure(
  parsed: Stored,
  hasSecret: boolean,
): { host: string; allowed: boolean; exposes: string } | null {
  const plain = KINDS[parsed.kind].plainHttp;
  const exposure = plain?.exposure(parsed.spec, hasSecret) ?? null;
  return plain && exposure ? { ...exposure, exposes: plain.exposes } : null;
}

/** A stored spec with `insecure-http=1` (what requirePrivateTransport records). */
export function withInsecureHttp(parsed: Stored): string {
  return KINDS[parsed.kind].plainHttp?.allow(parsed.spec) ?? parsed.spec;
}

/** Pins a host key fingerprint into a stored spec (trust on first use). */
export function withFingerprint(parsed: ParsedSpec, fingerprint: string): ParsedSpec {
  const hostKey = KINDS[parsed.kind].hostKey;
  return hostKey ? { ...parsed, spec: hostKey.pin(parsed.spec, fingerprint) } : parsed;
}

/** Where a location that pins its server's host key is, and the key pinned; null for other kinds. */
export function sftpTarget(parsed: Stored): { host: string; port: number; fingerprint: string | null } | null {
  return KINDS[parsed.kind].hostKey?.target(parsed.spec) ?? null;
}

/** Where a stored location is, for people. */
export function displaySpec(parsed: Stored): string {
  return KINDS[parsed.kind].display(parsed.spec);
}

export function createNode(parsed: Stored, secrets: LocationSecrets | null, options: NodeOptions = {}): StorageNode {
  return KINDS[parsed.kind].open(parsed.spec, secrets, options);
}
