/**
 * The drive's sign-in: HTTP Basic (RFC 7617) and Digest (RFC 7616, MD5 and SHA-256, qop
 * "auth") against one user and a random password made for this mount. Windows' WebDAV
 * client refuses Basic over plain http, and Debian's rclone speaks no Digest, so both are
 * offered. Comparisons run in constant time; a Digest nonce is one this server issued (an
 * HMAC under a key made at start, with its time), honoured for NONCE_LIFETIME_MS, and each
 * (nc, cnonce) under it once: a replayed header is answered as stale.
 */
import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { parseChallenges } from '../storage/webdav/auth';

export const DRIVE_USER = 'shardvault';
export const REALM = 'Shardvault drive';
const PASSWORD_LENGTH = 32;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const NONCE_LIFETIME_MS = 10 * 60_000;
/** Requests one nonce may sign before the client is asked to take a new one. */
const MAX_USES_PER_NONCE = 10_000;

/** 32 characters of [A-Za-z0-9], each uniform (about 190 bits). */
export function newDrivePassword(): string {
  let out = '';
  for (let i = 0; i < PASSWORD_LENGTH; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

function sameText(a: string, b: string): boolean {
  // Hashed first, so the comparison takes the same time whatever the lengths.
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export class DriveAuth {
  private readonly nonceKey = randomBytes(32);
  /** Per nonce in use: when first used, and the (nc, cnonce) pairs it has signed. */
  private readonly used = new Map<string, { since: number; uses: Set<string> }>();

  constructor(
    private readonly password: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The WWW-Authenticate values of a 401: Digest (both hashes), then Basic. */
  challenges(stale = false): string[] {
    const nonce = this.issueNonce();
    const common = `realm="${REALM}", qop="auth", nonce="${nonce}"${stale ? ', stale=true' : ''}`;
    return [`Digest ${common}, algorithm=SHA-256`, `Digest ${common}, algorithm=MD5`, `Basic realm="${REALM}"`];
  }

  /** 'ok', 'stale' (a Digest that was right under an expired nonce), or 'no'. */
  check(method: string, url: string, authorization: string | undefined): 'ok' | 'stale' | 'no' {
    if (!authorization || authorization.length > 4096) return 'no';
    const space = authorization.indexOf(' ');
    const scheme = authorization.slice(0, space < 0 ? undefined : space).toLowerCase();
    if (scheme === 'basic') {
      const decoded = Buffer.from(authorization.slice(space + 1).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return 'no';
      const userOk = sameText(decoded.slice(0, colon), DRIVE_USER);
      const passOk = sameText(decoded.slice(colon + 1), this.password);
      return userOk && passOk ? 'ok' : 'no';
    }
    if (scheme === 'digest') return this.checkDigest(method, url, authorization);
    return 'no';
  }

  private checkDigest(method: string, url: string, authorization: string): 'ok' | 'stale' | 'no' {
    const p = parseChallenges(authorization)[0]?.params;
    if (!p) return 'no';
    const { username, realm, nonce, uri, response, qop, nc, cnonce } = p;
    if (!username || !nonce || !uri || !response || realm !== REALM) return 'no';
    // The digest covers the URI the client names: it must be this request's.
    if (uri !== url) return 'no';
    if (qop !== 'auth' || !nc || !cnonce) return 'no';
    const algorithm = (p['algorithm'] ?? 'MD5').toUpperCase();
    const hash = algorithm === 'MD5' ? 'md5' : algorithm === 'SHA-256' ? 'sha256' : null;
    if (!hash) return 'no';
    const h = (s: string): string => createHash(hash).update(s, 'utf8').digest('hex');
    const ha1 = h(`${DRIVE_USER}:${REALM}:${this.password}`);
    const ha2 = h(`${method}:${uri}`);
    const expected = h(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
    const right = sameText(response.toLowerCase(), expected) && sameText(username, DRIVE_USER);
    if (!right) return 'no';
    const age = this.nonceAge(nonce);
    if (age === null) return 'no';
    if (age > NONCE_LIFETIME_MS) return 'stale';
    // A header seen before is a replay (someone who saw the request on loopback): answered as
    // stale, so a client that really knows the password signs again under a fresh nonce.
    return this.firstUse(nonce, `${nc}:${cnonce}`) ? 'ok' : 'stale';
  }

  /**
   * Whether (nc, cnonce) is new under `nonce`, remembering it. Only requests that proved the
   * password get here, so what is kept grows with real use alone; nonces past their lifetime
   * are forgotten (they are refused as stale anyway), and a nonce used MAX_USES_PER_NONCE times
   * is retired.
   */
  private firstUse(nonce: string, use: string): boolean {
    const now = this.now();
    for (const [n, entry] of this.used) if (now - entry.since > NONCE_LIFETIME_MS) this.used.delete(n);
    let entry = this.used.get(nonce);
    if (!entry) this.used.set(nonce, (entry = { since: now, uses: new Set() }));
    if (entry.uses.has(use) || entry.uses.size >= MAX_USES_PER_NONCE) return false;
    entry.uses.add(use);
    return true;
  }

  /** time.hmac(time): anyone can read the time, only this server can make the pair. */
  private issueNonce(): string {
    const time = this.now().toString(16);
    return `${time}.${this.mac(time)}`;
  }

  /** Milliseconds since this server issued `nonce`, or null if it never did. */
  private nonceAge(nonce: string): number | null {
    const m = /^([0-9a-f]{1,13})\.([A-Za-z0-9_-]{43})$/.exec(nonce);
    if (!m || !sameText(m[2]!, this.mac(m[1]!))) return null;
    const age = this.now() - parseInt(m[1]!, 16);
    return age < 0 ? null : age;
  }

  private mac(time: string): string {
    return createHmac('sha256', this.nonceKey).update(time).digest('base64url');
  }
}
