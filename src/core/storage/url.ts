/**
 * Location SPEC strings of the CLI contract, parsed into option objects, and the reverse:
 * a display string without credentials.
 *
 *   sftp://USER[:PASSWORD]@HOST[:PORT]/ABSOLUTE/PATH?identity=KEYFILE&fingerprint=SHA256:...#NAME
 *   webdav+http://[USER[:PASSWORD]@]HOST[:PORT]/PATH[?insecure-http=1]#NAME
 *   webdav+https://[USER[:PASSWORD]@]HOST[:PORT]/PATH?ca=PEMFILE#NAME
 *
 * `insecure-http=1` records that the user allowed a WebDAV password over plain http to a
 * host other than this machine (--allow-insecure-http): without it such a location is
 * refused (open.ts requirePrivateTransport, and WebDavNode itself).
 *
 * WHATWG URL parsing is not used: it form-decodes nothing but it normalises paths ('..'),
 * lowercases, and accepts things we want refused. The query is split by hand and each value
 * is percent-decoded only (%XX): an SSH fingerprint is base64, holds '+' and '/', and
 * URLSearchParams would turn its '+' into a space.
 *
 * A SPEC's password may hold unencoded '/', '?', '#' or '@': then a piece of it lands where a
 * port, a parameter or a name is expected. So errors quote the SPEC only redacted
 * (shared/redact.ts), and quote no piece of a SPEC that holds a password at all.
 */
import { isLocationName, LOCATION_NAME_RULE } from '../../shared/location-kinds';
import { redactCredentials } from '../../shared/redact';
import { UsageError } from '../errors';
import type { SftpOptions } from './sftp/options';
import type { WebDavOptions } from './webdav/session';

export type RemoteSpec =
  | { readonly kind: 'sftp'; readonly name: string | null; readonly options: SftpOptions }
  | { readonly kind: 'webdav'; readonly name: string | null; readonly options: WebDavOptions };

/** `SHA256:` and the unpadded base64 of 32 bytes, as `ssh-keygen -lf` prints it. */
export const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** A DNS host name (RFC 1123 labels). */
export const HOSTNAME =
  /^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?$/;

/** How a parse error is told: `quote` gives a piece of the SPEC, or nothing when it holds a password. */
interface Complain {
  readonly secret: boolean;
  readonly fail: (why: string) => never;
  readonly quote: (piece: string) => string;
}

export function parseRemoteSpec(spec: string): RemoteSpec {
  if (typeof spec !== 'string') throw new TypeError('location spec must be a string');
  const shown = redactCredentials(spec);
  const secret = shown !== spec;
  const fail = (why: string): never => {
    // No at sign in these words: the message passes redaction again (CLI, bridges), which
    // would hide everything up to it.
    const hint = secret ? ' (in a password, write / ? # % and spaces, and at signs, as %2F %3F %23 %25 %20 %40)' : '';
    throw new UsageError(`bad location ${JSON.stringify(shown)}: ${why}${hint}`);
  };
  const complain: Complain = { secret, fail, quote: (piece) => (secret ? '' : ` ${JSON.stringify(piece)}`) };
  if (/[\s\p{Cc}]/u.test(spec)) fail('it contains spaces or control characters (percent-encode them)');
  const schemeEnd = spec.indexOf('://');
  if (schemeEnd < 0) fail('expected sftp://, webdav+http:// or webdav+https://');
  const scheme = spec.slice(0, schemeEnd).toLowerCase();
  let rest = spec.slice(schemeEnd + 3);

  let name: string | null = null;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    name = decode(rest.slice(hash + 1), 'name', fail);
    rest = rest.slice(0, hash);
    if (!isLocationName(name)) fail(`the #NAME must be ${LOCATION_NAME_RULE}`);
  }
  let query: Map<string, string> = new Map();
  const question = rest.indexOf('?');
  if (question >= 0) {
    query = parseQuery(rest.slice(question + 1), complain);
    rest = rest.slice(0, question);
  }
  const slash = rest.indexOf('/');
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const rawPath = slash >= 0 ? rest.slice(slash) : '';
  const { user, password, host, port } = parseAuthority(authority, complain);
  // `alice:p@ss/w0rd@host/dav` reads as password `p`, host `ss` and a path: a password that
  // holds '@' and '/' would go to the wrong server, and a piece of it into every display.
  // With a password, an '@' after the host must be percent-encoded (%40), as every SPEC
  // Shardvault writes has it.
  if (password !== null && spec.slice(schemeEnd + 3 + authority.length).includes('@')) {
    fail('with a password, an at sign after the host must be percent-encoded (%40)');
  }
  const path = decodePath(rawPath, fail);

  switch (scheme) {
    case 'sftp': {
      if (user === null) fail('an SFTP location needs a user name before the host');
      if (path === '') fail('an SFTP location needs an absolute folder path after the host');
      const unknown = [...query.keys()].filter((k) => k !== 'identity' && k !== 'fingerprint');
      if (unknown.length > 0)
        fail(
          `unknown ${unknown.length === 1 ? 'parameter' : 'parameters'}${listed(unknown, complain)} (known: identity, fingerprint)`,
        );
      const fingerprint = query.get('fingerprint') ?? null;
      if (fingerprint !== null && !FINGERPRINT.test(fingerprint)) {
        fail('fingerprint must look like SHA256:<43 base64 characters>, as `ssh-keygen -lf` prints it');
      }
      const identity = query.get('identity') ?? null;
      if (identity === '') fail('identity= needs a key file path');
      const options: SftpOptions = {
        host,
        port: port ?? 22,
        username: user as string,
        root: path,
        privateKeyPath: identity,
        password,
        fingerprint,
      };
      return { kind: 'sftp', name, options };
    }
    case 'webdav+http':
    case 'webdav+https': {
      const unknown = [...query.keys()].filter((k) => k !== 'ca' && k !== INSECURE_HTTP);
      if (unknown.length > 0)
        fail(
          `unknown ${unknown.length === 1 ? 'parameter' : 'parameters'}${listed(unknown, complain)} (known: ca, ${INSECURE_HTTP})`,
        );
      const ca = query.get('ca') ?? null;
      const protocol = scheme === 'webdav+https' ? 'https' : 'http';
      if (ca !== null && protocol !== 'https') fail('ca= only applies to webdav+https');
      const insecure = query.get(INSECURE_HTTP);
      if (insecure !== undefined && (insecure !== '1' || protocol !== 'http'))
        fail(`${INSECURE_HTTP}=1 is all it takes, and only for webdav+http`);
      if (password !== null && user === null) fail('a password needs a user');
      const hostPart = host.includes(':') ? `[${host}]` : host;
      const folder = path === '' ? '/' : path.endsWith('/') ? path : `${path}/`;
      const options: WebDavOptions = {
        url: `${protocol}://${hostPart}${port === null ? '' : `:${port}`}${encodePath(folder)}`,
        username: user,
        password,
        caFile: ca,
        ...(insecure === '1' ? { allowInsecureHttp: true } : {}),
      };
      return { kind: 'webdav', name, options };
    }
    default:
      return fail(`unknown scheme ${JSON.stringify(scheme)} (expected sftp, webdav+http or webdav+https)`);
  }
}

/** Where a remote location is, for people: never a password, key or key file. */
export function displayRemote(options: SftpOptions | WebDavOptions): string {
  return 'url' in options ? displayWebDav(options) : displaySftp(options);
}

export function displaySftp(options: Pick<SftpOptions, 'host' | 'port' | 'username' | 'root'>): string {
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const port = options.port === undefined || options.port === 22 ? '' : `:${options.port}`;
  return `sftp://${encodeURIComponent(options.username)}@${host}${port}${encodePath(options.root)}`;
}

export function displayWebDav(options: Pick<WebDavOptions, 'url' | 'username'>): string {
  const url = new URL(options.url);
  const user = options.username ? `${encodeURIComponent(options.username)}@` : '';
  return `webdav+${url.protocol.replace(':', '')}://${user}${url.host}${url.pathname}`;
}

/** The SPEC parameter that records consent to a WebDAV password over plain http. */
export const INSECURE_HTTP = 'insecure-http';

/**
 * True for a host this machine answers itself, written as WHATWG URL parsing leaves it
 * (`127.1` is `127.0.0.1` by then, `[0::1]` is `[::1]`): 127.0.0.0/8, ::1, localhost.
 * The one loopback rule (plain http with a password goes nowhere else unasked).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host === '[::1]' || host === '::1') return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return octets !== null && octets.slice(1).every((o) => Number(o) <= 255);
}

/**
 * The host a WebDAV location would send its password to in the clear (http://, a password,
 * not this machine), or null when it sends none that way.
 */
export function plainHttpPasswordHost(options: Pick<WebDavOptions, 'url' | 'password'>): string | null {
  if (options.password == null) return null;
  const url = new URL(options.url);
  return url.protocol === 'http:' && !isLoopbackHost(url.hostname) ? url.host : null;
}

/** Why a WebDAV location with a password over plain http is refused, in words. */
export function plainHttpRefusal(display: string, host: string): UsageError {
  return new UsageError(
    `${display}: its password would cross the network to ${host} in the clear (plain http://), readable by ` +
      `anyone on the way; use webdav+https://, or allow it for a network you trust with --allow-insecure-http`,
  );
}

function parseAuthority(
  authority: string,
  { fail, quote }: Complain,
): { user: string | null; password: string | null; host: string; port: number | null } {
  let user: string | null = null;
  let password: string | null = null;
  let hostPort = authority;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    hostPort = authority.slice(at + 1);
    const colon = userinfo.indexOf(':');
    user = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, 'user', fail);
    if (colon >= 0) password = decode(userinfo.slice(colon + 1), 'password', fail);
    if (user === '') fail('empty user name before the at sign');
  }
  let host: string;
  let portText: string | null = null;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) fail('unclosed "[" in an IPv6 host');
    host = hostPort.slice(1, close);
    if (!/^[0-9A-Fa-f:.]+$/.test(host) || !host.includes(':')) fail(`bad IPv6 address${quote(host)}`);
    const after = hostPort.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) fail('expected ":PORT" after the IPv6 address');
      portText = after.slice(1);
    }
  } else {
    const colon = hostPort.indexOf(':');
    host = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
    if (colon >= 0) portText = hostPort.slice(colon + 1);
    if (host === '') fail('missing host');
    if (!HOSTNAME.test(host)) fail(`bad host name${quote(host)}`);
  }
  let port: number | null = null;
  if (portText !== null) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      fail(`bad port${quote(portText)} (1-65535)`);
    }
    port = Number(portText);
  }
  return { user, password, host, port };
}

function parseQuery(query: string, { fail, quote }: Complain): Map<string, string> {
  const out = new Map<string, string>();
  if (query === '') return out;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq < 0) fail(`parameter${quote(pair)} needs a value (KEY=VALUE)`);
    const key = decode(pair.slice(0, eq), 'parameter name', fail);
    if (out.has(key)) fail(`parameter${quote(key)} is given twice`);
    // The key is named only where it can't be a piece of a password (quote is empty then).
    out.set(key, decode(pair.slice(eq + 1), `value of parameter${quote(key)}`, fail));
  }
  return out;
}

/** The names of unknown parameters, unless the SPEC holds a password (then a name may be a piece of it). */
function listed(names: readonly string[], { secret }: Complain): string {
  return secret ? '' : ` ${names.join(', ')}`;
}

function decodePath(raw: string, fail: (why: string) => never): string {
  if (raw === '' || raw === '/') return raw;
  const segments = raw.split('/').slice(1);
  const trailing = segments.at(-1) === '';
  if (trailing) segments.pop();
  const decoded = segments.map((s) => decode(s, 'path', fail));
  for (const s of decoded) {
    if (s === '' || s === '.' || s === '..') fail('the path must not hold empty, "." or ".." segments');
    if (s.includes('/')) fail('a path segment must not hold an encoded "/"');
  }
  return `/${decoded.join('/')}`;
}

/** Percent-decoding only: '+' stays '+'. */
function decode(raw: string, what: string, fail: (why: string) => never): string {
  try {
    const value = decodeURIComponent(raw);
    if (/\p{Cc}/u.test(value)) fail(`the ${what} holds control characters`);
    return value;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    return fail(`the ${what} holds a malformed %-escape`);
  }
}

function encodePath(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}
