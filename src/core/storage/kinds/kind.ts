/**
 * What a location kind brings to the engine: one entry per kind in ./index.ts, named by the
 * list in src/shared/location-kinds.ts (which also holds each kind's address fields for the
 * forms). Everything the engine does differently per kind goes through an entry; nothing
 * outside this folder switches on a kind's name.
 *
 * A location lives in three forms: the CLI's SPEC notation a user types (`parse`, the one
 * reader of it), the stored spec the profile keeps (no name, no secrets, files made absolute)
 * and the node that reaches it (`open`). Secrets travel beside the stored spec, sealed by the
 * profile (vault/locations.ts sealSecrets).
 */
import { UsageError } from '../../errors';
import type { SignIn } from '../../../shared/api';
import type { LocationKindName, SecretFieldName } from '../../../shared/location-kinds';
import { withBreaker } from '../breaker';
import { LazyNode } from '../lazy';
import { withLimit } from '../limit';
import type { StorageNode } from '../node';
import { withRetry } from '../retry';
import { parseRemoteSpec, type RemoteSpec } from '../url';

/** A location's credentials, by the names of its kind's secret fields; sealed in the profile. */
export type LocationSecrets = { readonly [F in SecretFieldName]?: string };

/** A form's address fields by name: trimmed text, '' (or absent) for one not given. */
export type Fields = Readonly<Record<string, string>>;

/** A field's text, trimmed; '' when absent. */
export function field(fields: Fields, name: string): string {
  return (Object.hasOwn(fields, name) ? (fields[name] ?? '') : '').trim();
}

/** A field the kind needs: its text, or a UsageError naming it. */
export function required(fields: Fields, name: string, label: string): string {
  const value = field(fields, name);
  if (value === '') throw new UsageError(`${label}: missing`);
  return value;
}

/**
 * A form's web address field: http(s) only, and nothing but scheme, host, port and path (the
 * user, the password and anything after "?" or "#" have no place in it).
 */
export function webAddress(fields: Fields, name: string, label: string): URL {
  const text = required(fields, name, label);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${label}: not a web address (it starts with https:// or http://)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new UsageError(`${label}: it starts with https:// or http://`);
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '')
    throw new UsageError(`${label}: a user, a password or a "?" or "#" part go elsewhere, not in the address`);
  return url;
}

/** An SFTP or WebDAV SPEC read by url.ts, refused when it is the other kind's. */
export function readRemote<K extends RemoteSpec['kind']>(spec: string, kind: K): Extract<RemoteSpec, { kind: K }> {
  const remote = parseRemoteSpec(spec);
  if (remote.kind !== kind) throw new UsageError(`not ${kind === 'sftp' ? 'an SFTP' : 'a WebDAV'} location`);
  return remote as Extract<RemoteSpec, { kind: K }>;
}

/** A parsed server address whose one secret is its password, if it has one. */
export function withPassword(
  name: string | null,
  spec: string,
  password: string | null | undefined,
  display: string,
): ParsedAddress {
  return { name, spec, secrets: password ? { password } : null, display };
}

/** Percent-encodes each segment of a '/'-separated path for a SPEC. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

/** A host as a SPEC writes it: an IPv6 address in brackets. */
export function specHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.includes(':') ? `[${bare}]` : bare;
}

/** The name suffix of a SPEC built from fields. */
export const nameSuffix = (name: string | null): string => (name === null ? '' : `#${name}`);

export interface ParsedAddress {
  /** The name after '#', or null when none was given. */
  readonly name: string | null;
  /** What the profile stores: the address without its name and secrets. */
  readonly spec: string;
  /** Credentials to seal in the profile, or null. */
  readonly secrets: LocationSecrets | null;
  /** For people: no credentials. */
  readonly display: string;
}

export interface NodeOptions {
  /** Environment for secrets a script passes ($SHARDVAULT_SFTP_KEY_PASSPHRASE), and for SFTP
   * locations without a key or password: the ssh-agent ($SSH_AUTH_SOCK) and ~/.ssh ($HOME). */
  readonly env?: NodeJS.ProcessEnv;
}

/** A kind that may talk plain http to another machine: what it exposes, and the user's consent. */
export interface PlainHttp {
  /** The host a stored spec talks to in the clear with something to lose, and whether the spec records consent. */
  exposure(spec: string, hasSecrets: boolean): { readonly host: string; readonly allowed: boolean } | null;
  /** The stored spec with consent recorded (`insecure-http=1`). */
  allow(spec: string): string;
  /** Why a new location is refused without consent. */
  refusal(display: string, host: string): UsageError;
  /** What goes over the wire, for a warning: "its WebDAV password goes". */
  readonly exposes: string;
}

export interface LocationKind {
  readonly name: LocationKindName;
  /** The SPEC schemes (before `://`) this kind reads; the folder kind has none and takes a path. */
  readonly schemes: readonly string[];
  readonly capabilities: {
    /** How init makes a missing root: `ask` first (a missing folder may be a disk not mounted),
     * `always`, or `never` (an S3 bucket is made by its owner). */
    readonly createRoot: 'ask' | 'always' | 'never';
    /** The server's host key is pinned on first use (SFTP): see `hostKey`. */
    readonly pinsHostKey: boolean;
  };
  /** The test files that run the conformance suite (test/conformance/suite.ts) over this kind. */
  readonly conformance: readonly string[];
  /** Reads a SPEC a user gave (#NAME included). Throws UsageError, never quoting a secret. */
  parse(spec: string): ParsedAddress;
  /**
   * Reads a form's address fields (src/shared/location-kinds.ts), checked as strictly as
   * `parse` checks a SPEC. `secrets` travel beside them (readLocation keeps them): a kind
   * looks at them only to check the fields fit (a WebDAV password needs a user).
   */
  fromFields(fields: Fields, name: string | null, secrets: LocationSecrets | null): ParsedAddress;
  /** Where a stored spec is, for people. */
  display(spec: string): string;
  /**
   * Whether a device that learned this stored spec from the head (a new machine) needs a
   * secret from its user before it can reach the location ("needs sign-in").
   */
  needsCredentials(spec: string): boolean;
  /** The stored spec split into the parts a sign-in form shows (nothing secret); null for a
   * kind that never signs in (a folder). */
  signInAddress(spec: string): SignIn | null;
  /**
   * For a kind a device joins otherwise than by a password or key (a node enrols it with a
   * code from its operator): the words saying how, for location `name`. `location login` says
   * them instead of asking a password.
   */
  signInBy?(name: string): string;
  /** The node for a stored spec, wrapped as production uses it (`compose`). */
  open(spec: string, secrets: LocationSecrets | null, options: NodeOptions): StorageNode;
  /**
   * The wrappers production puts around this kind's node (limits, retry, breaker: ../limit.ts,
   * ../retry.ts, ../breaker.ts), which `open` applies: the conformance suite runs a node of
   * each kind through it, so that what is tested is what production composes.
   */
  compose(node: StorageNode): StorageNode;
  readonly plainHttp?: PlainHttp;
  /**
   * For a kind that logs in with an SSH key: the key file its stored spec names, or null for
   * the defaults (the ssh-agent, ~/.ssh). An encrypted key's passphrase is the secret field
   * `keyPassphrase`, asked once (vault/locations.ts askKeyPassphrases).
   */
  keyFile?(spec: string): string | null;
  /** For `pinsHostKey`: where the server is, and its stored spec with a fingerprint pinned. */
  readonly hostKey?: {
    target(spec: string): { readonly host: string; readonly port: number; readonly fingerprint: string | null };
    pin(spec: string, fingerprint: string): string;
  };
}

// A dropped connection is retried once. A frozen server (no answer within the timeout) is
// not asked again, and the breaker keeps it out of the rest of the command, so it costs one
// timeout per command instead of one per phase (unlock, head, manifests, log, shards).
const RETRY = { attempts: 2, baseDelayMs: 200, maxDelayMs: 2000 };
const BREAKER = { cooldownMs: 60_000 };

/**
 * A server's node as production uses it: loaded on first use (a vault that does not use a
 * kind never loads its library), then composed by its kind (`LocationKind.compose`).
 */
export function remoteNode(
  kind: LocationKindName,
  display: string,
  compose: (node: StorageNode) => StorageNode,
  load: () => Promise<StorageNode>,
): StorageNode {
  return new LazyNode(kind, display, async () => compose(await load()));
}

/**
 * A server's node retried once and kept out by the breaker when frozen; with `concurrency`,
 * at most that many calls in flight (inside the retry, so a wait between tries holds no slot).
 */
export function resilient(node: StorageNode, limits: { readonly concurrency?: number } = {}): StorageNode {
  const limited = limits.concurrency === undefined ? node : withLimit(node, limits.concurrency);
  return withBreaker(withRetry(limited, RETRY), BREAKER);
}
