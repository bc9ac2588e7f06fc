/**
 * The one redaction of credentials in text: every error message, log line and display that
 * may quote a location SPEC or a URL goes through `redactCredentials` (the engine's SPEC
 * parser, the CLI's error and warning printing, both bridges' error answers and logs, the
 * renderer's echo of a typed SPEC). Plain TypeScript: no Node, no DOM.
 *
 * A password may hold anything, unencoded '/', '#', '?', '@', '%' and spaces included, so the
 * userinfo of `scheme://user:password@host` can't be told from a host, port or path by its
 * shape: `webdav+http://bob:pa/ss@host/` is host `bob`, port `pa` and a path, or user `bob`
 * with password `pa/ss`. Redaction takes the reading that hides more: after `scheme://` and a
 * user (no '/' in it), everything from the first ':' to the LAST '@' of the
 * whole text is secret. A later '@' that ends no password (an e-mail address, a Nextcloud
 * path `/files/alice@example.com/`) makes it hide more than it must; it never hides less.
 * So a message that quotes a SPEC says nothing with an '@' after it: messages pass through
 * here more than once (engine, then CLI or bridge), and a later '@' would hide the rest.
 */

export const REDACTED = '***';

const SCHEME = /[a-z][a-z0-9+.-]*:\/\//gi;

/** `text` with the password of any URL in it replaced by `***` (the user is kept). */
export function redactCredentials(text: string): string {
  if (typeof text !== 'string') return text;
  const lastAt = text.lastIndexOf('@');
  if (lastAt < 0) return text;
  for (const match of text.matchAll(SCHEME)) {
    const start = match.index + match[0].length;
    if (start >= lastAt) break;
    const colon = text.indexOf(':', start);
    if (colon < 0 || colon > lastAt) continue;
    // `file:///x:1` or `https://host/p:q@r`: what precedes the ':' is a path, not a user.
    if (text.slice(start, colon).includes('/')) continue;
    return `${text.slice(0, colon + 1)}${REDACTED}${text.slice(lastAt)}`;
  }
  return text;
}

/** True when `text` holds a URL with a password (what redactCredentials would hide). */
export function hasCredentials(text: string): boolean {
  return redactCredentials(text) !== text;
}
