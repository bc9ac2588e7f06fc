/**
 * HTTP authentication for a WebDAV node: Basic (RFC 7617) or Digest (RFC 7616: MD5, SHA-256,
 * their -sess variants, qop=auth), chosen from the server's challenges (RFC 7235). Nothing
 * is sent before the server asks. The challenges are the server's words: a malformed one is
 * read as far as it goes and never throws.
 */
import { createHash, randomBytes } from 'node:crypto';

/** Basic or Digest credentials, answering the server's latest challenge. */
export class Authenticator {
  private scheme: 'basic' | 'digest' | null = null;
  private digest: {
    realm: string;
    nonce: string;
    opaque: string | null;
    algorithm: string;
    qop: string | null;
  } | null = null;
  private nc = 0;

  constructor(
    private readonly username: string | null,
    private readonly password: string | null,
  ) {}

  get hasCredentials(): boolean {
    return this.username !== null;
  }

  header(method: string, uri: string): string | null {
    if (this.username === null || this.scheme === null) return null;
    const password = this.password ?? '';
    if (this.scheme === 'basic') {
      return `Basic ${Buffer.from(`${this.username}:${password}`, 'utf8').toString('base64')}`;
    }
    const d = this.digest;
    if (d === null) return null;
    const hashName = d.algorithm.toUpperCase().startsWith('SHA-256') ? 'sha256' : 'md5';
    const H = (s: string): string => createHash(hashName).update(s, 'utf8').digest('hex');
    const cnonce = randomBytes(16).toString('hex');
    const nc = (++this.nc).toString(16).padStart(8, '0');
    let ha1 = H(`${this.username}:${d.realm}:${password}`);
    if (d.algorithm.toLowerCase().endsWith('-sess')) ha1 = H(`${ha1}:${d.nonce}:${cnonce}`);
    const ha2 = H(`${method}:${uri}`);
    const parts = [
      `username=${quote(this.username)}`,
      `realm=${quote(d.realm)}`,
      `nonce=${quote(d.nonce)}`,
      `uri=${quote(uri)}`,
      `algorithm=${d.algorithm}`,
    ];
    if (d.qop !== null) {
      parts.push(`response=${quote(H(`${ha1}:${d.nonce}:${nc}:${cnonce}:${d.qop}:${ha2}`))}`);
      parts.push(`qop=${d.qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
    } else {
      parts.push(`response=${quote(H(`${ha1}:${d.nonce}:${ha2}`))}`);
    }
    if (d.opaque !== null) parts.push(`opaque=${quote(d.opaque)}`);
    return `Digest ${parts.join(', ')}`;
  }

  /**
   * Takes the challenges of a 401. True when a new attempt may succeed: credentials exist
   * and either none were sent yet or the digest nonce was only stale.
   */
  learn(challenges: readonly string[], sentCredentials: boolean): boolean {
    if (this.username === null) return false;
    const parsed = challenges.flatMap(parseChallenges);
    const digest = parsed.find(
      (c) => c.scheme === 'digest' && /^(MD5|SHA-256)(-sess)?$/i.test(c.params.algorithm ?? 'MD5'),
    );
    if (digest) {
      const qops = (digest.params.qop ?? '').split(',').map((q) => q.trim().toLowerCase());
      const stale = (digest.params.stale ?? '').toLowerCase() === 'true';
      this.scheme = 'digest';
      this.digest = {
        realm: digest.params.realm ?? '',
        nonce: digest.params.nonce ?? '',
        opaque: digest.params.opaque ?? null,
        algorithm: digest.params.algorithm ?? 'MD5',
        qop: qops.includes('auth') ? 'auth' : null,
      };
      this.nc = 0;
      return !sentCredentials || stale;
    }
    if (parsed.some((c) => c.scheme === 'basic')) {
      this.scheme = 'basic';
      return !sentCredentials;
    }
    return false;
  }
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** Parses a WWW-Authenticate value (RFC 7235): several challenges, each with auth-params. */
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
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
      // token68 (Basic's base64 in some proxies): skip it
      const t68 = /[A-Za-z0-9._~+/-]+=*(?=\s*(,|$))/y;
      t68.lastIndex = at;
      if (value[at] !== ',' && t68.exec(value)) at = t68.lastIndex;
    }
  }
  return out;
}
