/**
 * The Shardvault node's wire protocol, defined once for both ends (the client in ./client.ts,
 * the server in src/core/node-server/): the SPEC a node prints, the TLS pin, the request
 * signature and its headers, the bounds. docs/NODE.md describes the same for an independent
 * implementer; a change here is a change there.
 *
 *   node+https://HOST:PORT/?fingerprint=SHA256:B64[&enrol=CODE][#NAME]
 *
 * B64: unpadded base64 of SHA-256 of the node certificate's SubjectPublicKeyInfo (DER).
 * CODE: 32 lowercase hex digits (128 bits), single use, valid 24 h.
 *
 * Every request but enrolment's proof of possession is signed by an enrolled device's
 * Ed25519 key over `signingInput` below; the node refuses an unknown key, a bad signature, a
 * time more than REQUEST_WINDOW_MS from its clock (or before it started), and a nonce it saw.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { FINGERPRINT } from '../url';

export const NODE_SCHEME = 'node+https';
export const PROTOCOL_PREFIX = '/v1';
export const SIGNATURE_DOMAIN = 'shardvault-node-request-v1';

/** `SHA256:` and the unpadded base64 of 32 bytes (a certificate's SubjectPublicKeyInfo digest),
 * written as an SSH host key's fingerprint is. */
export const NODE_FINGERPRINT = FINGERPRINT;
/** An enrolment code: 128 bits, lowercase hex. */
export const ENROL_CODE = /^[0-9a-f]{32}$/;
/** A request nonce: 128 bits, lowercase hex. */
export const NONCE = /^[0-9a-f]{32}$/;
/** How far a request's time may be from the node's clock. */
export const REQUEST_WINDOW_MS = 5 * 60 * 1000;
/** How long an enrolment code is valid. */
export const ENROL_CODE_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** The most a JSON request or answer body may be (enrolment, guard calls, stat). */
export const MAX_JSON_BODY = 64 * 1024;
/** The most a listing or a page of the request log may be. */
export const MAX_LIST_BODY = 16 * 1024 * 1024;
/** The most entries one page of the request log holds. */
export const LOG_PAGE = 1000;
/** The most one object may be (a shard of a very large file); a larger PUT is refused at once. */
export const MAX_OBJECT_BYTES = 1024 ** 4;
/**
 * The most connections a node holds at once (`node serve --max-connections`), and the share of
 * them one peer address may hold: a connection beyond either is closed as soon as it is
 * accepted, before its TLS handshake. Below a usual limit of 1024 open files, with room for the
 * store's own.
 */
export const MAX_CONNECTIONS = 512;
export const peerConnectionCap = (max: number): number => Math.max(1, Math.ceil(max / 4));
/** A guard method's name. */
export const GUARD_METHOD = /^[a-z][a-z0-9-]{0,63}$/;

/** The request headers (lowercase, as Node gives them). */
export const HEADERS = {
  device: 'x-shardvault-device',
  time: 'x-shardvault-time',
  nonce: 'x-shardvault-nonce',
  bodyHash: 'x-shardvault-body-sha256',
  signature: 'x-shardvault-signature',
  /** Trailer of a PUT: the signature over the same input with the body's real hash. */
  bodySignature: 'x-shardvault-body-signature',
} as const;

/** The body-hash header of a PUT, whose hash and signature follow the body as trailers. */
export const TRAILER_HASH = 'trailer';

export interface SignedFields {
  readonly method: string;
  /** The request target as sent: path and query. */
  readonly target: string;
  /** SHA-256 of the body, lowercase hex (of nothing for a body-less request), or TRAILER_HASH. */
  readonly bodyHash: string;
  readonly nonce: string;
  /** Milliseconds since the epoch, decimal. */
  readonly time: number;
  /** The node's fingerprint: a request signed for one node is no good at another. */
  readonly fingerprint: string;
}

/** What a device signs: one line per field, in this order, UTF-8, no trailing newline. */
export function signingInput(f: SignedFields): Buffer {
  return Buffer.from(
    [SIGNATURE_DOMAIN, f.method, f.target, f.bodyHash, f.nonce, String(f.time), f.fingerprint].join('\n'),
    'utf8',
  );
}

export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');
export const EMPTY_SHA256 = sha256Hex(new Uint8Array(0));

/** A certificate's pin: SHA-256 of its SubjectPublicKeyInfo DER, as `SHA256:` unpadded base64. */
export function spkiFingerprint(spkiDer: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(spkiDer).digest('base64').replace(/=+$/, '')}`;
}

/** An Ed25519 public key as the wire carries it: the raw 32 bytes, base64url unpadded. */
export function publicKeyText(key: KeyObject): string {
  const spki = key.export({ type: 'spki', format: 'der' });
  // Ed25519 SPKI DER is a fixed 12-byte prefix and the 32-byte key.
  return spki.subarray(spki.length - 32).toString('base64url');
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The public key a wire text names; null unless it is 32 bytes of base64url. */
export function publicKeyFrom(text: string): KeyObject | null {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) return null;
  const raw = Buffer.from(text, 'base64url');
  if (raw.length !== 32) return null;
  try {
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    return null;
  }
}

/** A device's private key from its 32-byte seed (what the profile seals, base64url). */
export function privateKeyFromSeed(seedText: string): KeyObject {
  const seed = Buffer.from(seedText, 'base64url');
  if (seed.length !== 32) throw new RangeError('a device key is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** The 32-byte seed of an Ed25519 private key, base64url. */
export function seedOf(key: KeyObject): string {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  return der.subarray(der.length - 32).toString('base64url');
}

export const signFields = (key: KeyObject, f: SignedFields): string =>
  sign(null, signingInput(f), key).toString('base64');

export function verifyFields(key: KeyObject, f: SignedFields, signature: string): boolean {
  if (!/^[A-Za-z0-9+/]{86}==$/.test(signature)) return false;
  try {
    return verify(null, signingInput(f), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** An object path of the storage endpoints, percent-encoded per segment (segments are plain already). */
export const objectTarget = (kind: 'objects' | 'stat' | 'list', path: string): string =>
  `${PROTOCOL_PREFIX}/${kind}/${path}`;

/** The error body every refusal carries. */
export interface NodeErrorBody {
  readonly error: NodeErrorCode;
  readonly message: string;
}

/** What a node answers a refused or failed request with (HTTP status, code). */
export const NODE_ERRORS = {
  'bad-request': 400,
  unauthenticated: 401,
  'not-enrolled': 403,
  /** Enrolment: the code holds, but the guard's policy wants guardians' approval of the device. */
  'needs-approval': 403,
  'not-found': 404,
  'other-vault': 409,
  'too-large': 413,
  foreign: 422,
  'no-space': 507,
  internal: 500,
} as const;
export type NodeErrorCode = keyof typeof NODE_ERRORS;
