/**
 * The S3 kind: a bucket (and a prefix in it) on an S3-compatible server (AWS, MinIO,
 * Backblaze B2, s3rver). The node and the SPEC notation live in ../s3/ (docs/S3.md).
 *
 * The stored spec is the SPEC without its secret: `s3://KEY@HOST[:PORT]/BUCKET[/PREFIX][?…]`
 * (formatS3Spec percent-encodes KEY, so its ':' and '@' are the notation's). The secret key
 * is sealed in the profile like a password, and spliced back in only to read the address.
 * A user's SPEC may leave the secret out too (a form's probe does): then there is nothing to
 * seal, and the node refuses to start without it.
 */
import { INSECURE_HTTP } from '../url';
// Not '../s3' (its index): that also holds the node, which only a vault with an S3 location loads.
import {
  checkS3Address,
  DEFAULT_S3_REGION,
  displayS3,
  plainHttpS3Host,
  plainHttpS3Refusal,
  requireS3Transport,
  type S3Address,
} from '../s3/address';
import { formatS3Spec, parseS3Spec } from '../s3/spec';
import { UsageError } from '../../errors';
import { field, type LocationKind, nameSuffix, remoteNode, required, resilient, webAddress } from './kind';
import { splitName } from './name';

/** Stands in for the secret where only the rest of the address is read (display, checks). */
const NO_SECRET = '-';

function stored(address: S3Address): string {
  const full = formatS3Spec({ ...address, secretAccessKey: NO_SECRET });
  return full.slice(0, full.indexOf(':', full.indexOf('://') + 3)) + full.slice(full.lastIndexOf('@'));
}

/** Whether a SPEC's own query (after the last at sign) records consent to plain http. */
function consents(spec: string): boolean {
  const located = spec.slice(spec.lastIndexOf('@'));
  const question = located.indexOf('?');
  return (
    question >= 0 &&
    located
      .slice(question + 1)
      .split('&')
      .includes(`${INSECURE_HTTP}=1`)
  );
}

/**
 * The address in a SPEC (a user's, or a stored one with `secret` spliced in). Plain http to
 * another machine is read here, not refused: `allowInsecureHttp` says whether the SPEC itself
 * records consent, and the registry (requirePrivateTransport) or the node refuses it.
 */
function read(spec: string): S3Address {
  const address = parseS3Spec(spec, { allowInsecureHttp: true });
  return { ...address, allowInsecureHttp: consents(spec) && address.allowInsecureHttp === true };
}

/** Whether a SPEC carries `:SECRET` after its key (the key holds no raw ':'). */
function hasSecret(spec: string): boolean {
  const start = spec.indexOf('://') + 3;
  const colon = spec.indexOf(':', start);
  return colon >= 0 && colon < spec.lastIndexOf('@');
}

/** The address of a SPEC without its secret, with `secret` in its place. */
function addressOf(spec: string, secret: string = NO_SECRET): S3Address {
  const at = spec.lastIndexOf('@');
  if (at < 0) return read(spec); // parseS3Spec says what is missing
  return read(`${spec.slice(0, at)}:${encodeURIComponent(secret)}${spec.slice(at)}`);
}

/** Retried and kept out when frozen; the SDK's agent bounds its own sockets (../s3/node.ts). */
const compose = resilient;

export const s3 = {
  name: 's3',
  schemes: ['s3', 's3+http'],
  capabilities: { createRoot: 'never', pinsHostKey: false },
  conformance: ['test/conformance/s3-s3rver.test.ts', 'test/conformance/s3-endpoint.test.ts'],
  parse(spec) {
    const { body, name } = splitName(spec);
    const given = hasSecret(body);
    const address = given ? read(body) : addressOf(body);
    return {
      name,
      spec: stored(address),
      secrets: given ? { secretAccessKey: address.secretAccessKey } : null,
      display: displayS3(address),
    };
  },
  fromFields(fields, name) {
    const url = webAddress(fields, 'endpoint', 'Endpoint');
    if (url.pathname !== '/')
      throw new UsageError('Endpoint: give the endpoint alone; the bucket has a field of its own');
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const style = field(fields, 'style') || 'path';
    if (style !== 'path' && style !== 'virtual') throw new UsageError('Addressing: path or virtual');
    const address = checkS3Address({
      host,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      bucket: required(fields, 'bucket', 'Bucket'),
      prefix: field(fields, 'prefix').replace(/^\/+|\/+$/g, ''),
      region: field(fields, 'region') || DEFAULT_S3_REGION,
      style,
      accessKeyId: required(fields, 'accessKeyId', 'Access key ID'),
      secretAccessKey: NO_SECRET,
      secure: url.protocol === 'https:',
    });
    return this.parse(`${stored(address)}${nameSuffix(name)}`);
  },
  display: (spec) => displayS3(addressOf(spec)),
  // The secret access key is never in the head.
  needsCredentials: () => true,
  signInAddress(spec) {
    const a = addressOf(spec);
    return {
      user: a.accessKeyId,
      host: a.host,
      port: a.port ?? null,
      path: a.prefix ? `${a.bucket}/${a.prefix}` : a.bucket,
      keyFile: null,
      hostKey: null,
    };
  },
  open(spec, secrets) {
    const secret = secrets?.secretAccessKey;
    if (!secret) throw new UsageError(`${displayS3(addressOf(spec))}: no secret key is known for it`);
    // Checked now (plain http without consent throws here, as the node's constructor would);
    // the node's code is loaded on its first call, and it loads the SDK on its own first call.
    const address = checkS3Address(addressOf(spec, secret));
    const display = displayS3(address);
    requireS3Transport(address, display);
    return remoteNode('s3', display, compose, async () => {
      const { S3Node } = await import('../s3/node');
      return new S3Node(address, { timeoutMs: 15_000 });
    });
  },
  compose,
  plainHttp: {
    exposure(spec) {
      const address = addressOf(spec);
      const host = plainHttpS3Host(address);
      return host === null ? null : { host, allowed: address.allowInsecureHttp === true };
    },
    allow: (spec) => stored({ ...addressOf(spec), allowInsecureHttp: true }),
    refusal: plainHttpS3Refusal,
    exposes: 'its requests (the access key ID, and shards, encrypted) go',
  },
} satisfies LocationKind;
