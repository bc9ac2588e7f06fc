/**
 * A self-signed X.509 certificate for a node's TLS key, built here (a few lines of DER) and
 * signed with node:crypto: no certificate library, since nothing but its public key matters.
 * Clients pin the SHA-256 of its SubjectPublicKeyInfo and trust nothing else in it (no CA,
 * no host name), so it carries only what X.509 requires: version 3, a random serial, the
 * Ed25519 algorithm, a fixed name, a validity from an hour ago to 9999-12-31 (RFC 5280's
 * "no well-defined expiration"), and the key.
 */
import { randomBytes, sign, type KeyObject } from 'node:crypto';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const set = (...c: Buffer[]): Buffer => tlv(0x31, ...c);
const oid = (hex: string): Buffer => tlv(0x06, Buffer.from(hex, 'hex'));

const ED25519 = seq(oid('2b6570')); // 1.3.101.112, no parameters (RFC 8410)
const COMMON_NAME = '550403'; // 2.5.4.3

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso));
}

/** A DER certificate for `key` (Ed25519), self-signed, named `commonName`. */
export function selfSignedCertificate(
  key: { privateKey: KeyObject; publicKey: KeyObject },
  commonName: string,
): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, and no leading zero byte to strip
  const name = seq(set(seq(oid(COMMON_NAME), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // [0] EXPLICIT version v3
    tlv(0x02, serial),
    ED25519,
    name,
    seq(time(new Date(Date.now() - 60 * 60 * 1000)), tlv(0x18, Buffer.from('99991231235959Z'))),
    name,
    key.publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign(null, tbs, key.privateKey);
  return seq(tbs, ED25519, tlv(0x03, Buffer.from([0]), signature));
}

/** DER to PEM. */
export function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
