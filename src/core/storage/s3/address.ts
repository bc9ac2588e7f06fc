/**
 * Where an S3-compatible location is and how to reach it, as fields: the one shape the CLI
 * notation (spec.ts), a form, the profile and the node (node.ts) share. `checkS3Address` is
 * the one validation of those fields; everything that builds an S3Address from outside (a
 * parsed SPEC, a form's fields, a profile) passes it.
 *
 * Credentials are the location's own: the access key ID and the secret key. The secret is
 * never part of `displayS3` nor of any error message; the access key ID is not shown either
 * (it names an account).
 */
import { isIP } from 'node:net';
import { UsageError } from '../../errors';
import { isLoopbackHost } from '../url';

export type S3Style = 'path' | 'virtual';

export interface S3Address {
  /** The endpoint's host name or IP address (an IPv6 address without brackets). */
  readonly host: string;
  /** The endpoint's port; absent for the scheme's own (443, or 80 for plain http). */
  readonly port?: number;
  readonly bucket: string;
  /**
   * Keys below the bucket that are the location's root: '/'-separated segments, without a
   * leading or trailing '/'. Absent (or '') for the whole bucket.
   */
  readonly prefix?: string;
  /** The signing region (SigV4); us-east-1 where the provider does not care. */
  readonly region: string;
  /** `path`: https://host/bucket/key (MinIO, s3rver, most self-hosted); `virtual`: https://bucket.host/key. */
  readonly style: S3Style;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** HTTPS (true) or plain HTTP (false). */
  readonly secure: boolean;
  /**
   * The user allowed plain HTTP to a host other than this machine (--allow-insecure-http).
   * Without it such an address is refused (plainHttpS3Refusal).
   */
  readonly allowInsecureHttp?: boolean;
}

/** The region an address has when none is given (what AWS and most providers accept). */
export const DEFAULT_S3_REGION = 'us-east-1';

/** S3's bucket naming rule (the DNS-compatible one, which virtual-host style needs). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** AWS regions (us-east-1), and other providers' names for theirs (auto, fr-par, eu-central-003). */
const REGION = /^[a-z0-9][a-z0-9-]{0,62}$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$/;
const MAX_PREFIX_BYTES = 512;
const MAX_KEY_CHARS = 256;

/**
 * The address, checked field by field and made canonical (no empty prefix, no port or
 * allowInsecureHttp where they say nothing). Throws UsageError naming the field, never
 * quoting the access key or the secret.
 */
export function checkS3Address(address: S3Address): S3Address {
  const bad = (why: string): never => {
    throw new UsageError(`S3 location: ${why}`);
  };
  if (typeof address !== 'object' || address === null) return bad('no address');
  const { host, port, bucket, region, style, accessKeyId, secretAccessKey, secure } = address;
  const prefix = address.prefix ?? '';
  if (typeof host !== 'string' || !isHost(host)) bad('the endpoint needs a host name or IP address');
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) bad('the port must be 1-65535');
  if (typeof bucket !== 'string' || !isBucketName(bucket)) {
    bad('a bucket name is 3-63 lowercase letters, digits, "." or "-", starting and ending with a letter or digit');
  }
  if (typeof prefix !== 'string') bad('the prefix must be text');
  if (prefix !== '') {
    if (Buffer.byteLength(prefix) > MAX_PREFIX_BYTES) bad(`the prefix may be at most ${MAX_PREFIX_BYTES} bytes`);
    for (const segment of prefix.split('/')) {
      if (segment === '' || segment === '.' || segment === '..' || /\p{Cc}/u.test(segment)) {
        bad('the prefix is folder names separated by "/": none empty, "." or "..", no control characters');
      }
    }
  }
  if (typeof region !== 'string' || !REGION.test(region)) {
    bad('the region is lowercase letters, digits and "-" (like us-east-1)');
  }
  if (style !== 'path' && style !== 'virtual') bad('the style is "path" or "virtual"');
  for (const [what, value] of [
    ['access key ID', accessKeyId],
    ['secret key', secretAccessKey],
  ] as const) {
    if (typeof value !== 'string' || value === '') bad(`the ${what} is missing`);
    if (value.length > MAX_KEY_CHARS || /\p{Cc}/u.test(value)) {
      bad(`the ${what} must be at most ${MAX_KEY_CHARS} characters, none of them control characters`);
    }
  }
  if (typeof secure !== 'boolean') bad('secure must be true (https) or false (plain http)');
  const defaultPort = secure ? 443 : 80;
  return {
    host,
    ...(port === undefined || port === defaultPort ? {} : { port }),
    bucket,
    ...(prefix === '' ? {} : { prefix }),
    region,
    style,
    accessKeyId,
    secretAccessKey,
    secure,
    ...(address.allowInsecureHttp === true && plainHttpS3Host({ host, secure, style, bucket }) !== null
      ? { allowInsecureHttp: true }
      : {}),
  };
}

export function isBucketName(name: string): boolean {
  return BUCKET.test(name) && !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name);
}

function isHost(host: string): boolean {
  return isIP(host) !== 0 || HOSTNAME.test(host);
}

/** The host as a URL writes it: an IPv6 address in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The endpoint the client talks to: scheme, host and port, no bucket (the style places it). */
export function s3Endpoint(address: Pick<S3Address, 'host' | 'port' | 'secure'>): string {
  const port = address.port === undefined ? '' : `:${address.port}`;
  return `${address.secure ? 'https' : 'http'}://${urlHost(address.host)}${port}`;
}

/** Where the location is, for people: scheme, endpoint, bucket and prefix; no key of any kind. */
export function displayS3(address: Pick<S3Address, 'host' | 'port' | 'secure' | 'bucket' | 'prefix'>): string {
  const port = address.port === undefined ? '' : `:${address.port}`;
  const prefix = address.prefix ? `/${encodeSegments(address.prefix)}` : '';
  return `${address.secure ? 's3' : 's3+http'}://${urlHost(address.host)}${port}/${address.bucket}${prefix}`;
}

export function encodeSegments(path: string): string {
  return path
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

/**
 * The host a plain-HTTP address would talk to over the network, or null when it talks
 * HTTPS or only to this machine. In virtual-host style the client talks to `BUCKET.HOST`:
 * `bucket.localhost` is a name the system's resolver may well ask the network about, so
 * only the host it really talks to counts.
 */
export function plainHttpS3Host(address: Pick<S3Address, 'host' | 'secure' | 'style' | 'bucket'>): string | null {
  if (address.secure) return null;
  const contacted = address.style === 'virtual' ? `${address.bucket}.${address.host}` : address.host;
  return isLoopbackHost(contacted) ? null : contacted;
}

/** Why plain HTTP to another machine is refused, in words. */
export function plainHttpS3Refusal(display: string, host: string): UsageError {
  return new UsageError(
    `${display}: its requests would cross the network to ${host} unencrypted (plain http): anyone on the ` +
      `way can read the access key ID and the (encrypted) shards, replay a request for minutes, or answer ` +
      `in the server's place (the secret key itself is never sent); use s3://, or allow it for a network ` +
      `you trust with --allow-insecure-http`,
  );
}

/** Refuses plain HTTP to another machine unless the address records the user's consent. */
export function requireS3Transport(address: S3Address, display = displayS3(address)): void {
  const exposed = plainHttpS3Host(address);
  if (exposed !== null && address.allowInsecureHttp !== true) throw plainHttpS3Refusal(display, exposed);
}
