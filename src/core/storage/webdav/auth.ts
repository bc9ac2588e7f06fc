/**
 * HTTP authentication for a WebDAV node: Basic (RFC 7617) or Digest (RFC 7616: MD5, SHA-256,
 * their -sess variants, qop=auth), chosen from the server's challenges (RFC 7235). Nothing
 * is sent before the server asks. The challenges are the server's words: a malformed one is
 * read as far as it goes and never throws.
 */
import { createHash, randomBytes } from 'node:crypto';

/** A Digest challenge as answered: the server's words, checked to fit back into a header. */
export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque: string | null;
  /** MD5, SHA-256 or their -sess variants, spelled as the server did. */
  readonly algorithm: string;
  /** 'auth' when offered (auth-int is not), else null: RFC 2069's answer without qop. */
  readonly qop: 'auth' | null;
  /** The nonce was only out of date: the credentials sent were right. */
  readonly stale: boolean;
}

export type Challenge = { readonly scheme: 'basic' } | ({ readonly scheme: 'digest' } & DigestChallenge);

/** What a header value may hold (RFC 9110 field-vchar, SP, HTAB): Node refuses anything else. */
const FIELD_TEXT = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The challenge to answer among a 401's WWW-Authenticate values: the first Digest one with an
 * algorithm this client knows, a realm and a nonce, and values that fit back into a header;
 * else Basic when offered; else null. Never throws, whatever the server wrote.
 */
export function chooseChallenge(values: readonly string[]): Challenge | null {
  const parsed = values.flatMap(parseChallenges);
  for (const c of parsed) {
    if (c.scheme !== 'digest') continue;
    const { realm, nonce, opaque = null, algorithm = 'MD5', qop = '', stale = '' } = c.params;
    if (realm === undefined || nonce === undefined || nonce === '') continue;
    if (!/^(MD5|SHA-256)(-sess)?$/i.test(algorithm)) continue;
    if (![realm, nonce, opaque ?? ''].every((v) => FIELD_TEXT.test(v))) continue;
    const qops = qop.split(',').map((q) => q.trim().toLowerCase());
    return {
      scheme: 'digest',
      realm,
      nonce,
      opaque,
      algorithm,
      qop: qops.includes('auth') ? 'auth' : null,
      stale: stale.toLowerCase() === 'true',
    };
  }
  return parsed.some((c) => c.scheme === 'basic') ? { scheme: 'basic' } : null;
}

/** The Authorization value answering a Digest challenge (RFC 7616, section 3.4). */
export function digestAuthorization(request: {
  readonly username: string;
  readonly password: string;
  readonly method: string;
  readonly uri: string;
  readonly challenge: DigestChallenge;
  /** How many requests this nonce has answered, this one included. */
  readonly nc: number;
  readonly cnonce: string;
}): string {
  const { username, password, method, uri, challenge: d, cnonce } = request;
  const hashName = d.algorithm.toUpperCase().startsWith('SHA-256') ? 'sha256' : 'md5';
  const H = (bytes: Buffer): string => createHash(hashName).update(bytes).digest('hex');
  // The server's words (realm, nonce) came as header bytes, which Node reads as Latin-1: hashed
  // as those very bytes (a UTF-8 realm would otherwise be encoded twice); the user's as UTF-8.
  const wire = (text: string): Buffer => Buffer.from(text, 'latin1');
  const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
  const nc = request.nc.toString(16).padStart(8, '0');
  let ha1 = H(Buffer.concat([utf8(`${username}:`), wire(d.realm), utf8(`:${password}`)]));
  if (d.algorithm.toLowerCase().endsWith('-sess')) ha1 = H(wire(`${ha1}:${d.nonce}:${cnonce}`));
  const ha2 = H(utf8(`${method}:${uri}`));
  const parts = [
    // A username that is not printable ASCII goes as RFC 8187 UTF-8 (RFC 7616, section
    // 3.4.4): anything else would be Latin-1 on the wire, or a header Node refuses.
    /^[\x20-\x7e]*$/.test(username) ? `username=${quote(username)}` : `username*=UTF-8''${rfc8187(username)}`,
    `realm=${quote(d.realm)}`,
    `nonce=${quote(d.nonce)}`,
    `uri=${quote(uri)}`,
    `algorithm=${d.algorithm}`,
  ];
  if (d.qop !== null) {
    parts.push(`response=${quote(H(wire(`${ha1}:${d.nonce}:${nc}:${cnonce}:${d.qop}:${ha2}`)))}`);
    parts.push(`qop=${d.qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
  } else {
    parts.push(`response=${quote(H(wire(`${ha1}:${d.nonce}:${ha2}`)))}`);
  }
  if (d.opaque !== null) parts.push(`opaque=${quote(d.opaque)}`);
  return `Digest ${parts.join(', ')}`;
}

/** Basic or Digest credentials, answering the server's latest challenge. */
export class Authenticator {
  private challenge: Challenge | null = null;
  private nc = 0;

  constructor(
    private readonly username: string | null,
    private readonly password: string | null,
  ) {}

  get hasCredentials(): boolean {
    return this.username !== null;
  }

  header(method: string, uri: string): string | null {
    if (this.username === null || this.challenge === null) return null;
    const password = this.password ?? '';
    if (this.challenge.scheme === 'basic') {
      return `Basic ${Buffer.from(`${this.username}:${password}`, 'utf8').toString('base64')}`;
    }
    return digestAuthorization({
      username: this.username,
      password,
      method,
      uri,
      challenge: this.challenge,
      nc: ++this.nc,
      cnonce: randomBytes(16).toString('hex'),
    });
  }

  /**
   * Takes the challenges of a 401. True when a new attempt may succeed: credentials exist
   * and either none were sent yet or the digest nonce was only stale.
   */
  learn(challenges: readonly string[], sentCredentials: boolean): boolean {
    if (this.username === null) return false;
    const chosen = chooseChallenge(challenges);
    if (chosen === null) return false;
    this.challenge = chosen;
    this.nc = 0;
    return !sentCredentials || (chosen.scheme === 'digest' && chosen.stale);
  }
}

/** RFC 8187's value-chars: attr-char as it is, every other UTF-8 byte as %XX. */
function rfc8187(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9!#$&+.^_`|~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Parses a WWW-Authenticate value (RFC 7235): several challenges, each with auth-params. The
 * params have no prototype: a parameter the server names `__proto__` or `constructor` is a
 * parameter like any other, never a property every object has.
 */
export function parseChallenges(value: string): { scheme: string; params: Record<string, string> }[] {
  const out: { scheme: string; params: Record<string, string> }[] = [];
  const token = /\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)/y;
  let at = 0;
  let current: { scheme: string; params: Record<string, string> } | null = null;
  while (at < value.length) {
    while (at < value.length && (value[at] === ',' || value[at] === ' ' || value[at] === '\t')) at++;
    token.lastIndex = at;
    const m = token.exec(value);
    if (!m) break;
    const word = m[1] as string;
    at = token.lastIndex;
    while (value[at] === ' ' || value[at] === '\t') at++;
    if (value[at] === '=' && current !== null && value[at + 1] !== '=') {
      at++;
      while (value[at] === ' ' || value[at] === '\t') at++;
      let v = '';
      if (value[at] === '"') {
        at++;
        while (at < value.length && value[at] !== '"') {
          if (value[at] === '\\') at++;
          v += value[at] ?? '';
          at++;
        }
        at++;
      } else {
        while (at < value.length && value[at] !== ',' && value[at] !== ' ') v += value[at++];
      }
      current.params[word.toLowerCase()] = v;
    } else {
      current = { scheme: word.toLowerCase(), params: Object.create(null) as Record<string, string> };
      out.push(current);
      // token68 (Basic's base64 in some proxies): skip it
      const t68 = /[A-Za-z0-9._~+/-]+=*(?=\s*(,|$))/y;
      t68.lastIndex = at;
      if (value[at] !== ',' && t68.exec(value)) at = t68.lastIndex;
    }
  }
  return out;
}
