/**
 * A location's failure in words a user acts on. The engine's messages say what failed and
 * where; when they end in a system's code (ECONNREFUSED, a TLS code, an HTTP status), this
 * adds the sentence a person needs (the UI's location tiles and forms), and a word or two
 * for a table cell (the CLI's status), and keeps the engine's text as the detail.
 *
 * Plain TypeScript: no Node, no DOM (the layer rule in eslint.config.js).
 */

export interface LocationTrouble {
  /** What it means and what to do, or null when the engine's message says it already. */
  readonly words: string | null;
  /** The same in a word or two ("refused", "not there"), or null. */
  readonly short: string | null;
  /** The engine's own message. */
  readonly detail: string;
}

const RULES: ReadonlyArray<readonly [RegExp, string, string]> = [
  [
    /host key has changed|host key .* was not trusted/i,
    'The server’s identity (its host key) is not the one trusted for it. Do not go on until its owner has checked the key.',
    'untrusted host key',
  ],
  [
    /ECONNREFUSED|connection refused/i,
    'The server refused the connection: is it running, and is the port right?',
    'refused',
  ],
  [
    /ENOTFOUND|EAI_AGAIN|getaddrinfo/i,
    'No server answers to that name: check the host name, and this computer’s network.',
    'unknown host',
  ],
  [
    /EHOSTUNREACH|ENETUNREACH|EHOSTDOWN/i,
    'This computer has no way to that server now: is the network (or a VPN) up?',
    'no route',
  ],
  [
    /ETIMEDOUT|timed? ?out|no SSH answer|no answer within/i,
    'The server did not answer in time: is it up, and reachable from this computer?',
    'timeout',
  ],
  [
    /ECONNRESET|EPIPE|connection lost|connection closed/i,
    'The connection broke off: the server or the network dropped it. Try again.',
    'connection lost',
  ],
  [
    /refused the credentials|authentication methods failed|access refused|asks for a login/i,
    'The server did not accept the user name with that key or password.',
    'login refused',
  ],
  [
    /private key can't be read|cannot read the key file/i,
    'The key file could not be used: check its path, and that it is a private key without a passphrase.',
    'key file',
  ],
  [
    /CERT|certificate|self[- ]signed|TLS/i,
    'The server’s HTTPS certificate is not trusted here. For a self-signed server, give its CA certificate file.',
    'certificate',
  ],
  [
    /is not there|does not exist|ENOENT|no such file/i,
    'The folder is not there: is the disk plugged in, and is the path right?',
    'not there',
  ],
  [
    /permission denied|EACCES|EPERM|EROFS/i,
    'Shardvault may not write there: check the folder’s permissions (or that the disk is not read-only).',
    'permission',
  ],
  [/is full|ENOSPC|EDQUOT|quota/i, 'The location is full: free some space or pick another place.', 'full'],
  [/not a folder/i, 'That path is a file, not a folder.', 'not a folder'],
  [/busy or failing|\b50[0-9]\b/i, 'The server is failing or overloaded right now: try again later.', 'server error'],
];

export function locationTrouble(message: string): LocationTrouble {
  for (const [pattern, words, short] of RULES) {
    if (pattern.test(message)) return { words, short, detail: message };
  }
  return { words: null, short: null, detail: message };
}
