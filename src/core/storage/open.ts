/**
 * Turns a location SPEC (as the CLI and the UI take it) into a StorageNode:
 *
 *   /path/to/folder#NAME
 *   sftp://USER[:PASSWORD]@HOST[:PORT]/ABSOLUTE/PATH?identity=KEYFILE&fingerprint=SHA256:...#NAME
 *   webdav+http(s)://[USER[:PASSWORD]@]HOST[:PORT]/PATH[?ca=PEMFILE]#NAME
 *
 * A parsed spec splits into what the profile may keep in the clear (`spec`: the SPEC
 * without its name and secrets, key and CA files made absolute) and `secrets` (a password,
 * a key's passphrase), which the profile seals under the passphrase.
 *
 * A SPEC a user gives anew (init, open, location add and edit) also passes
 * requirePrivateTransport: a WebDAV password goes over plain http only to this machine,
 * unless the user allows it, and the stored SPEC then records that (`insecure-http=1`).
 */
import * as nodePath from 'node:path';
import { UsageError } from '../errors';
import { withBreaker } from './breaker';
import { LocalFolderNode } from './local';
import type { LocationKind, StorageNode } from './node';
import { LazyNode } from './lazy';
import { withRetry } from './retry';
import type { SftpOptions } from './sftp';
import { displayRemote, INSECURE_HTTP, parseRemoteSpec, plainHttpPasswordHost, plainHttpRefusal } from './url';
import type { WebDavOptions } from './webdav';

export interface LocationSecrets {
  /** SFTP or WebDAV password. */
  readonly password?: string;
  /** Passphrase of an SFTP private key. */
  readonly keyPassphrase?: string;
}

export interface ParsedSpec {
  readonly kind: LocationKind;
  /** The name after '#', or null when none was given. */
  readonly name: string | null;
  /** The spec without its name and without secrets: what the profile stores. */
  readonly spec: string;
  /** Credentials to seal in the profile, or null. */
  readonly secrets: LocationSecrets | null;
  /** For people: no credentials. */
  readonly display: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const REMOTE = /^[a-z][a-z0-9+.-]*:\/\//i;

export function splitName(spec: string): { body: string; name: string | null } {
  const hash = spec.lastIndexOf('#');
  if (hash < 0) return { body: spec, name: null };
  const name = spec.slice(hash + 1);
  if (!NAME.test(name)) {
    throw new UsageError(`location name ${JSON.stringify(name)}: use letters, digits, '.', '_' or '-' (up to 64)`);
  }
  return { body: spec.slice(0, hash), name };
}

/** Builds the credential-free SPEC the profile keeps, from parsed remote options. */
function storedSpec(options: SftpOptions | WebDavOptions): string {
  const query: string[] = [];
  if ('url' in options) {
    if (options.caFile) query.push(`ca=${encodeURIComponent(nodePath.resolve(options.caFile))}`);
    if (options.allowInsecureHttp) query.push(`${INSECURE_HTTP}=1`);
  } else {
    if (options.privateKeyPath) query.push(`identity=${encodeURIComponent(nodePath.resolve(options.privateKeyPath))}`);
    if (options.fingerprint) query.push(`fingerprint=${options.fingerprint}`);
  }
  return displayRemote(options) + (query.length ? `?${query.join('&')}` : '');
}

export function parseSpec(spec: string): ParsedSpec {
  if (typeof spec !== 'string' || spec.trim() === '') throw new UsageError('a location needs a folder path or URL');
  const text = spec.trim();
  if (REMOTE.test(text)) {
    const remote = parseRemoteSpec(text);
    const password = remote.options.password ?? undefined;
    return {
      kind: remote.kind,
      name: remote.name,
      spec: storedSpec(remote.options),
      secrets: password ? { password } : null,
      display: displayRemote(remote.options),
    };
  }
  const { body, name } = splitName(text);
  const path = nodePath.resolve(body);
  return { kind: 'local', name, spec: path, secrets: null, display: path };
}

/**
 * Refuses a new WebDAV location that would send its password over plain http to another
 * machine, unless `allowInsecureHttp` (--allow-insecure-http) or the SPEC's own
 * `insecure-http=1` says the user wants it; then the stored spec records it, so the location
 * is not refused later.
 */
export function requirePrivateTransport<P extends ParsedSpec>(parsed: P, allowInsecureHttp = false): P {
  if (parsed.kind !== 'webdav') return parsed;
  const options = parseRemoteSpec(parsed.spec).options as WebDavOptions;
  const host = plainHttpPasswordHost({ url: options.url, password: parsed.secrets?.password ?? null });
  if (host === null || options.allowInsecureHttp) return parsed;
  if (!allowInsecureHttp) throw plainHttpRefusal(parsed.display, host);
  return { ...parsed, spec: storedSpec({ ...options, allowInsecureHttp: true }) };
}

/**
 * Whether a stored location sends its password over plain http to another machine: the
 * host, and whether its SPEC records that the user allowed it (one without that was added
 * before Shardvault refused it: it keeps working, through withInsecureHttp, with a warning).
 */
export function plainHttpExposure(
  parsed: Pick<ParsedSpec, 'kind' | 'spec'>,
  hasPassword: boolean,
): { host: string; allowed: boolean } | null {
  if (parsed.kind !== 'webdav' || !hasPassword) return null;
  const options = parseRemoteSpec(parsed.spec).options as WebDavOptions;
  const host = plainHttpPasswordHost({ url: options.url, password: '' });
  return host === null ? null : { host, allowed: options.allowInsecureHttp === true };
}

/** A stored WebDAV spec with `insecure-http=1` (what requirePrivateTransport records). */
export function withInsecureHttp(spec: string): string {
  const options = parseRemoteSpec(spec).options as WebDavOptions;
  return storedSpec({ ...options, allowInsecureHttp: true });
}

/** Pins a host key fingerprint into a stored SFTP spec (trust on first use). */
export function withFingerprint(parsed: ParsedSpec, fingerprint: string): ParsedSpec {
  if (parsed.kind !== 'sftp') return parsed;
  const remote = parseRemoteSpec(parsed.spec);
  const options = { ...(remote.options as SftpOptions), fingerprint };
  return { ...parsed, spec: storedSpec(options) };
}

export function sftpTarget(
  parsed: Pick<ParsedSpec, 'kind' | 'spec'>,
): { host: string; port: number; fingerprint: string | null } | null {
  if (parsed.kind !== 'sftp') return null;
  const options = parseRemoteSpec(parsed.spec).options as SftpOptions;
  return { host: options.host, port: options.port ?? 22, fingerprint: options.fingerprint ?? null };
}

export interface NodeOptions {
  /** Environment for secrets a script passes ($SHARDVAULT_SFTP_KEY_PASSPHRASE), and for SFTP
   * locations without a key or password: the ssh-agent ($SSH_AUTH_SOCK) and ~/.ssh ($HOME). */
  readonly env?: NodeJS.ProcessEnv;
}

export function createNode(
  parsed: Pick<ParsedSpec, 'kind' | 'spec'>,
  secrets: LocationSecrets | null,
  options: NodeOptions = {},
): StorageNode {
  // A dropped connection is retried once. A frozen server (no answer within the timeout) is
  // not asked again, and the breaker keeps it out of the rest of the command, so it costs one
  // timeout per command instead of one per phase (unlock, head, manifests, log, shards).
  const retry = { attempts: 2, baseDelayMs: 200, maxDelayMs: 2000 };
  const breaker = { cooldownMs: 60_000 };
  switch (parsed.kind) {
    case 'local':
      return new LocalFolderNode(parsed.spec);
    case 'sftp': {
      const remote = parseRemoteSpec(parsed.spec).options as SftpOptions;
      const keyPassphrase = secrets?.keyPassphrase ?? options.env?.['SHARDVAULT_SFTP_KEY_PASSPHRASE'] ?? null;
      if (!remote.fingerprint) throw new UsageError(`${displayRemote(remote)}: no host key fingerprint is pinned`);
      // ssh2 is loaded only by vaults that use SFTP (it costs ~0.15 s at start).
      return new LazyNode('sftp', displayRemote(remote), async () => {
        const { SftpNode } = await import('./sftp');
        return withBreaker(
          withRetry(
            new SftpNode({
              ...remote,
              password: secrets?.password ?? null,
              passphrase: keyPassphrase || null,
              agent: options.env?.['SSH_AUTH_SOCK'] || null,
              home: options.env?.['HOME'] || null,
              connectTimeoutMs: 10_000,
            }),
            retry,
          ),
          breaker,
        );
      });
    }
    case 'webdav': {
      const remote = parseRemoteSpec(parsed.spec).options as WebDavOptions;
      return new LazyNode('webdav', displayRemote(remote), async () => {
        const { WebDavNode } = await import('./webdav');
        return withBreaker(
          withRetry(new WebDavNode({ ...remote, password: secrets?.password ?? null, timeoutMs: 15_000 }), retry),
          breaker,
        );
      });
    }
  }
}
