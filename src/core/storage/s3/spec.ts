/**
 * The CLI notation of an S3 location, parsed into an S3Address and written back:
 *
 *   s3://KEY:SECRET@HOST[:PORT]/BUCKET[/PREFIX][?region=R&style=virtual]        (HTTPS)
 *   s3+http://KEY:SECRET@HOST[:PORT]/BUCKET[/PREFIX][?region=R&style=virtual&insecure-http=1]
 *
 * KEY, SECRET and PREFIX segments are percent-decoded, and only that: '+' is a '+' (AWS secret
 * keys hold '+' and '/'). The credentials run from after `://` to the LAST '@' of the SPEC,
 * the same reading shared/redact.ts takes, so a secret may hold a raw '/', '?', ':' or '@'
 * and redaction still hides all of it; an '@' after the host (in a prefix) must be written
 * %40. KEY holds no raw '/' or ':' (write %2F, %3A). region defaults to us-east-1, style to
 * path (which s3rver and most self-hosted servers need). A location's #NAME is split off
 * before this parser sees the SPEC (open.ts splitName), so a raw '#' is refused here.
 *
 * `s3+http://` to a host other than this machine is refused unless the user allows it
 * (--allow-insecure-http, passed as `allowInsecureHttp`) or the SPEC records that they did
 * (`insecure-http=1`, which formatS3Spec writes).
 *
 * Errors quote the SPEC only redacted, and no piece of what precedes its last '@'.
 */
import { redactCredentials } from '../../../shared/redact';
import { UsageError } from '../../errors';
import { INSECURE_HTTP } from '../url';
import {
  checkS3Address,
  DEFAULT_S3_REGION,
  displayS3,
  encodeSegments,
  plainHttpS3Host,
  plainHttpS3Refusal,
  urlHost,
  type S3Address,
} from './address';

const SCHEMES = { s3: true, 's3+http': false } as const;
const PARAMETERS = ['region', 'style', INSECURE_HTTP] as const;

export function parseS3Spec(spec: string, options: { allowInsecureHttp?: boolean } = {}): S3Address {
  if (typeof spec !== 'string') throw new TypeError('an S3 location spec must be a string');
  const fail: (why: string) => never = (why) => {
    // No at sign in these words: the message may pass redaction again (CLI, bridges).
    throw new UsageError(`bad location ${quoted(spec)}: ${why}`);
  };
  if (/[\s\p{Cc}]/u.test(spec)) fail('it contains spaces or control characters (percent-encode them)');
  const schemeEnd = spec.indexOf('://');
  const scheme = schemeEnd < 0 ? '' : spec.slice(0, schemeEnd).toLowerCase();
  if (!Object.hasOwn(SCHEMES, scheme)) fail('expected s3:// or s3+http://');
  const secure = SCHEMES[scheme as keyof typeof SCHEMES];
  const rest = spec.slice(schemeEnd + 3);

  const at = rest.lastIndexOf('@');
  const colon = rest.indexOf(':');
  if (at < 0 || colon < 0 || colon > at) fail('expected KEY:SECRET before the host (the access key ID and secret key)');
  const rawKey = rest.slice(0, colon);
  if (/[/?#]/.test(rawKey)) fail('in the access key ID, write "/", "?" and "#" as %2F, %3F and %23');
  const accessKeyId = decode(rawKey, 'access key ID', fail);
  const secretAccessKey = decode(rest.slice(colon + 1, at), 'secret key', fail);
  if (accessKeyId === '') fail('the access key ID is empty');
  if (secretAccessKey === '') fail('the secret key is empty');

  // From here on nothing is secret: it all follows the last at sign.
  let located = rest.slice(at + 1);
  if (located.includes('#')) fail('a "#" must be written %23 (a #NAME goes at the very end)');
  let query = '';
  const question = located.indexOf('?');
  if (question >= 0) {
    query = located.slice(question + 1);
    located = located.slice(0, question);
  }
  const slash = located.indexOf('/');
  if (slash < 0) fail('expected /BUCKET after the host');
  const { host, port } = parseHostPort(located.slice(0, slash), fail);
  const segments = located.slice(slash + 1).split('/');
  if (segments.at(-1) === '' && segments.length > 1) segments.pop(); // a trailing slash
  const bucket = decode(segments[0] ?? '', 'bucket', fail);
  if (bucket === '') fail('expected /BUCKET after the host');
  const prefixSegments = segments.slice(1).map((s) => decode(s, 'prefix', fail));
  for (const s of prefixSegments) {
    if (s === '' || s === '.' || s === '..') fail('the prefix must not hold empty, "." or ".." folder names');
    if (s.includes('/')) fail('a prefix folder name must not hold an encoded "/"');
  }

  const params = parseQuery(query, fail);
  const unknown = [...params.keys()].filter((k) => !(PARAMETERS as readonly string[]).includes(k));
  if (unknown.length > 0) fail(`unknown parameter ${unknown.join(', ')} (known: ${PARAMETERS.join(', ')})`);
  const style = params.get('style') ?? 'path';
  if (style !== 'path' && style !== 'virtual') fail('style= is path or virtual');
  const insecure = params.get(INSECURE_HTTP);
  if (insecure !== undefined && (insecure !== '1' || secure))
    fail(`${INSECURE_HTTP}=1 is all it takes, and only for s3+http`);

  let address: S3Address;
  try {
    address = checkS3Address({
      host,
      ...(port === null ? {} : { port }),
      bucket,
      prefix: prefixSegments.join('/'),
      region: params.get('region') ?? DEFAULT_S3_REGION,
      style,
      accessKeyId,
      secretAccessKey,
      secure,
      allowInsecureHttp: insecure === '1' || options.allowInsecureHttp === true,
    });
  } catch (err) {
    // checkS3Address names the field and never quotes a key.
    return fail((err as Error).message.replace(/^S3 location: /, ''));
  }
  const exposed = plainHttpS3Host(address);
  if (exposed !== null && !address.allowInsecureHttp) throw plainHttpS3Refusal(displayS3(address), exposed);
  return address;
}

/**
 * The SPEC of an address, credentials included (for the CLI's notation; the profile keeps
 * the secret sealed, never this string). parseS3Spec(formatS3Spec(a)) equals checkS3Address(a).
 */
export function formatS3Spec(address: S3Address): string {
  const a = checkS3Address(address);
  const query: string[] = [];
  if (a.region !== DEFAULT_S3_REGION) query.push(`region=${a.region}`);
  if (a.style !== 'path') query.push(`style=${a.style}`);
  if (a.allowInsecureHttp) query.push(`${INSECURE_HTTP}=1`);
  const port = a.port === undefined ? '' : `:${a.port}`;
  const prefix = a.prefix ? `/${encodeSegments(a.prefix)}` : '';
  return (
    `${a.secure ? 's3' : 's3+http'}://${encodeURIComponent(a.accessKeyId)}:${encodeURIComponent(a.secretAccessKey)}` +
    `@${urlHost(a.host)}${port}/${a.bucket}${prefix}${query.length > 0 ? `?${query.join('&')}` : ''}`
  );
}

/**
 * The SPEC redacted, or nothing of it where redaction can't tell its secret (a raw '/' in
 * the key makes the userinfo look like a path to it).
 */
function quoted(spec: string): string {
  const shown = redactCredentials(spec);
  const start = spec.indexOf('://') + 3;
  const at = spec.lastIndexOf('@');
  const colon = spec.indexOf(':', start);
  const secret = start >= 3 && colon >= 0 && colon < at ? spec.slice(colon + 1, at) : '';
  return secret !== '' && shown.includes(secret)
    ? '(not shown: its secret key could not be told apart)'
    : JSON.stringify(shown);
}

function parseHostPort(text: string, fail: (why: string) => never): { host: string; port: number | null } {
  let host: string;
  let portText: string | null = null;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) fail('unclosed "[" in an IPv6 host');
    host = text.slice(1, close);
    const after = text.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) fail('expected ":PORT" after the IPv6 address');
      portText = after.slice(1);
    }
    if (!host.includes(':')) fail('brackets are for IPv6 addresses only');
  } else {
    const colon = text.indexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    if (colon >= 0) portText = text.slice(colon + 1);
  }
  if (host === '') fail('missing host');
  if (portText === null) return { host, port: null };
  if (!/^\d{1,5}$/.test(portText)) fail('the port must be 1-65535');
  return { host, port: Number(portText) };
}

function parseQuery(query: string, fail: (why: string) => never): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq < 0) fail(`parameter ${JSON.stringify(pair)} needs a value (KEY=VALUE)`);
    const key = decode(pair.slice(0, eq), 'parameter name', fail);
    if (out.has(key)) fail(`parameter ${JSON.stringify(key)} is given twice`);
    out.set(key, decode(pair.slice(eq + 1), `value of ${JSON.stringify(key)}`, fail));
  }
  return out;
}

/** Percent-decoding only: '+' stays '+'. */
function decode(raw: string, what: string, fail: (why: string) => never): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    return fail(`the ${what} holds a malformed %-escape (write "%" as %25)`);
  }
  if (/\p{Cc}/u.test(value)) fail(`the ${what} holds control characters`);
  return value;
}
