import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/core/errors';
import { parseSpec, requirePrivateTransport } from '../src/core/storage/open';
import { displayRemote, isLoopbackHost, parseRemoteSpec } from '../src/core/storage/url';
import { WebDavNode, type WebDavOptions } from '../src/core/storage/webdav/node';
import { toBridgeError } from '../src/shared/ipc';
import { hasCredentials, redactCredentials, redactCredentials as redact } from '../src/shared/redact';

// A fingerprint with both '+' and '/' in it: form-decoding would turn '+' into a space.
const FP = 'SHA256:eF8+x+sy8wuQzQ/PNlfTiLX/Qpfy+XFv9m6bacBd3Qk';

describe('parseRemoteSpec: sftp', () => {
  it('takes every part, and the fingerprint raw', () => {
    const spec = `sftp://backup@nas.example:2222/srv/vault?identity=/home/me/.ssh/id_ed25519&fingerprint=${FP}#nas`;
    expect(parseRemoteSpec(spec)).toEqual({
      kind: 'sftp',
      name: 'nas',
      options: {
        host: 'nas.example',
        port: 2222,
        username: 'backup',
        root: '/srv/vault',
        privateKeyPath: '/home/me/.ssh/id_ed25519',
        password: null,
        fingerprint: FP,
      },
    });
  });

  it('percent-decodes %XX only: user, password, path, key file and fingerprint', () => {
    const fp = FP.replace('+', '%2B').replace('/', '%2F');
    const { options } = parseRemoteSpec(
      `sftp://me%40corp:p%3Ass+word@10.0.0.5/data/my%20vault/?identity=C%3A%5Ckeys%5Cid&fingerprint=${fp}`,
    );
    expect(options).toMatchObject({
      username: 'me@corp',
      password: 'p:ss+word',
      root: '/data/my vault',
      privateKeyPath: 'C:\\keys\\id',
      fingerprint: FP,
      port: 22,
    });
  });

  it('takes an IPv6 host and a password in the userinfo', () => {
    const { options } = parseRemoteSpec('sftp://root:secret@[::1]:22022/v');
    expect(options).toMatchObject({ host: '::1', port: 22022, password: 'secret', root: '/v' });
    expect(displayRemote(options)).toBe('sftp://root@[::1]:22022/v');
  });

  it.each([
    ['no user', 'sftp://host/srv', /needs a user/],
    ['no path', 'sftp://u@host', /absolute folder path/],
    ['bad port', 'sftp://u@host:0/srv', /bad port/],
    ['port too big', 'sftp://u@host:70000/srv', /bad port/],
    ['short fingerprint', 'sftp://u@host/srv?fingerprint=SHA256:abc', /fingerprint must look like/],
    ['md5 fingerprint', 'sftp://u@host/srv?fingerprint=MD5:aa:bb', /fingerprint must look like/],
    ['unknown parameter', 'sftp://u@host/srv?identiy=/k', /unknown parameter/],
    ['twice', `sftp://u@host/srv?fingerprint=${FP}&fingerprint=${FP}`, /given twice/],
    ['no value', 'sftp://u@host/srv?identity', /needs a value/],
    ['bad escape', 'sftp://u@host/srv%zz', /malformed %-escape/],
    ['dot-dot', 'sftp://u@host/srv/../etc', /"\.\."/],
    ['empty segment', 'sftp://u@host/srv//x', /empty/],
    ['encoded slash', 'sftp://u@host/a%2Fb', /encoded "\/"/],
    ['space', 'sftp://u@host/my vault', /spaces/],
    ['bad name', 'sftp://u@host/srv#-x', /#NAME/],
    ['bad host', 'sftp://u@ho_st/srv', /bad host/],
    ['unknown scheme', 'ftp://u@host/srv', /unknown scheme/],
    ['no scheme', 'u@host:/srv', /expected sftp/],
  ])('refuses %s', (_, spec, message) => {
    expect(() => parseRemoteSpec(spec)).toThrow(UsageError);
    expect(() => parseRemoteSpec(spec)).toThrow(message);
  });

  it('never repeats a password in its error messages', () => {
    expect(() => parseRemoteSpec('sftp://u:hunter2@host:99999/srv')).toThrow(/u:\*\*\*@host/);
    try {
      parseRemoteSpec('sftp://u:hunter2@host:99999/srv');
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});

describe('parseRemoteSpec: webdav', () => {
  it('takes http and https, with and without credentials', () => {
    expect(parseRemoteSpec('webdav+http://alice:s3cret@127.0.0.1:8080/dav/vault#home')).toEqual({
      kind: 'webdav',
      name: 'home',
      options: {
        url: 'http://127.0.0.1:8080/dav/vault/',
        username: 'alice',
        password: 's3cret',
        caFile: null,
      },
    });
    expect(parseRemoteSpec('webdav+https://cloud.example/remote.php/dav/files/a?ca=/etc/my%20ca.pem')).toEqual({
      kind: 'webdav',
      name: null,
      options: {
        url: 'https://cloud.example/remote.php/dav/files/a/',
        username: null,
        password: null,
        caFile: '/etc/my ca.pem',
      },
    });
    expect(parseRemoteSpec('webdav+http://h').options).toMatchObject({ url: 'http://h/' });
  });

  it('keeps percent-encoding in the URL path it builds', () => {
    const { options } = parseRemoteSpec('webdav+http://h/my%20files/v%C3%A4ult');
    expect(options).toMatchObject({ url: 'http://h/my%20files/v%C3%A4ult/' });
  });

  it.each([
    ['ca over http', 'webdav+http://h/x?ca=/c.pem', /only applies to webdav\+https/],
    ['unknown parameter', 'webdav+https://h/x?insecure=1', /unknown parameter/],
    ['password without user', 'webdav+http://:pw@h/x', /empty user/],
    ['plain http scheme', 'http://h/x', /unknown scheme/],
  ])('refuses %s', (_, spec, message) => {
    expect(() => parseRemoteSpec(spec)).toThrow(UsageError);
    expect(() => parseRemoteSpec(spec)).toThrow(message);
  });
});

describe('displayRemote', () => {
  it('shows where, never a password, key or key file, and parses back', () => {
    for (const spec of [
      `sftp://backup:pw@nas.example:2222/srv/vault?identity=/k&fingerprint=${FP}#nas`,
      'sftp://me%40corp@h/data/my%20vault',
      'webdav+https://alice:s3cret@cloud.example:8443/dav/a%20b#x',
      'webdav+http://h/',
    ]) {
      const parsed = parseRemoteSpec(spec);
      const shown = displayRemote(parsed.options);
      expect(shown).not.toMatch(/pw|s3cret|identity|\/k\b|#/);
      const again = parseRemoteSpec(shown);
      expect(again.kind).toBe(parsed.kind);
      expect(displayRemote(again.options)).toBe(shown);
    }
    expect(displayRemote(parseRemoteSpec('sftp://backup:pw@nas.example:2222/srv/vault').options)).toBe(
      'sftp://backup@nas.example:2222/srv/vault',
    );
    expect(displayRemote(parseRemoteSpec('webdav+https://alice:s3cret@cloud.example/dav').options)).toBe(
      'webdav+https://alice@cloud.example/dav/',
    );
  });

  it('redact hides the password of any spec', () => {
    expect(redact('webdav+http://a:b@c@h/x')).toBe('webdav+http://a:***@h/x');
    expect(redact('sftp://u@h/x')).toBe('sftp://u@h/x');
    expect(redact('/local/folder')).toBe('/local/folder');
  });
});

// ------------------------------------------------------------------ credentials in messages

/** Characters a password may hold that a URL gives a meaning: the ones that used to leak. */
const NASTY = [...'/#@?%: &=+!"\'\\[]~`$;,<>{}|^\n\té€'];
const password = fc.string({
  unit: fc.oneof(
    fc.constantFrom(...NASTY),
    fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'),
  ),
  minLength: 8,
  maxLength: 24,
});

/** The forms a password takes in text: raw, percent-encoded, and inside a JSON string. */
function formsOf(pw: string): string[] {
  return [pw, encodeURIComponent(pw), JSON.stringify(pw).slice(1, -1)];
}

function specsWith(secret: string): string[] {
  return [
    `webdav+http://alice:${secret}@dav.example.test/dav#home`,
    `webdav+https://alice:${secret}@cloud.example.test:8443/remote.php/dav/files/alice/?ca=/etc/ca.pem#cloud`,
    `webdav+https://alice:${secret}@cloud.example.test/remote.php/dav/files/alice%40example.test/`,
    `sftp://backup:${secret}@nas.example.test:2222/srv/vault?fingerprint=${FP}#nas`,
    `webdav+http://:${secret}@10.0.0.5/x`,
  ];
}

describe('credentials never reach a message', () => {
  it('redactCredentials hides any password, raw or encoded, alone, in prose, or JSON-quoted', () => {
    fc.assert(
      fc.property(password, (pw) => {
        for (const secret of [pw, encodeURIComponent(pw)]) {
          for (const spec of specsWith(secret)) {
            for (const text of [
              spec,
              `shardvault: ${spec}: cannot connect (ECONNREFUSED)`,
              `bad location ${JSON.stringify(spec)}: bad port`,
              `first ${spec} then sftp://root@h2:22/x and mail admin@example.test`,
              `${spec.replace('%40', '@')} (a raw "@" in the path after it)`,
            ]) {
              const shown = redactCredentials(text);
              for (const form of formsOf(pw)) expect(shown).not.toContain(form);
              expect(shown).toContain('***');
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a SPEC that does not parse is refused without any piece of its password', () => {
    fc.assert(
      fc.property(password, (pw) => {
        // Pieces between URL delimiters, long enough not to turn up by chance.
        const pieces = pw.split(/[/#@?%: &=\n\t"\\]/).filter((p) => p.length >= 5);
        for (const spec of specsWith(pw)) {
          let message: string | null = null;
          try {
            parseSpec(spec);
          } catch (err) {
            expect(err).toBeInstanceOf(UsageError);
            message = (err as Error).message;
          }
          if (message === null) continue; // a password that happens to read as a well-formed URL
          for (const form of formsOf(pw)) expect(message).not.toContain(form);
          for (const piece of pieces) expect(message).not.toContain(piece);
          // Redacted again (the CLI, a bridge) it stays as it is: nothing after it to swallow.
          expect(redactCredentials(message)).toBe(message);
          const bridged = toBridgeError(new UsageError(message)).message;
          for (const form of formsOf(pw)) expect(bridged).not.toContain(form);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a percent-encoded password parses back exactly, and nothing shown or stored holds it', () => {
    fc.assert(
      fc.property(password, (pw) => {
        fc.pre(!/\p{Cc}/u.test(pw)); // control characters are refused, encoded or not
        // (The last template has no user: refused whatever the password.)
        for (const spec of specsWith(encodeURIComponent(pw)).slice(0, -1)) {
          const parsed = parseSpec(spec);
          expect(parsed.secrets?.password).toBe(pw);
          for (const form of formsOf(pw)) {
            expect(parsed.display).not.toContain(form);
            expect(parsed.spec).not.toContain(form);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a raw "@" after the host when there is a password: the two can not be told apart', () => {
    // Password `p@ss/w0rd`, or password `p`, host `ss` and path `/w0rd@host/dav`?
    expect(() => parseRemoteSpec('webdav+https://alice:p@ss/w0rd@dav.example.test/dav')).toThrow(
      /an at sign after the host must be percent-encoded/,
    );
    expect(parseSpec('webdav+https://alice:pw@cloud.example.test/files/alice%40example.test').display).toBe(
      'webdav+https://alice@cloud.example.test/files/alice%40example.test/',
    );
    // Without a password there is nothing to mistake it for.
    expect(parseSpec('webdav+https://cloud.example.test/files/alice@example.test').display).toBe(
      'webdav+https://cloud.example.test/files/alice%40example.test/',
    );
  });

  it('names the problem, not the piece, when the password holds a "/" (the old leak)', () => {
    const err = (() => {
      try {
        parseRemoteSpec('webdav+http://bob:pa/ss@wo@rd@dav.example.test/dav');
      } catch (e) {
        return e as Error;
      }
      throw new Error('parsed');
    })();
    expect(err.message).toBe(
      'bad location "webdav+http://bob:***@dav.example.test/dav": bad port (1-65535) ' +
        '(in a password, write / ? # % and spaces, and at signs, as %2F %3F %23 %25 %20 %40)',
    );
  });

  it('leaves text without credentials alone, stack traces included', () => {
    for (const text of [
      'sftp://root@127.0.0.1:2222/srv: permission denied',
      'at file:///work/out/cli/shardvault.mjs:10:5 (node_modules/@noble/hashes/x.js:1:1)',
      'https://host/a:b@c is a path',
      'no url here: a@b',
    ]) {
      expect(redactCredentials(text)).toBe(text);
    }
    expect(hasCredentials('webdav+http://u:p@h/')).toBe(true);
    expect(hasCredentials('webdav+http://u@h/')).toBe(false);
  });
});

// ------------------------------------------------------------------ plain http

describe('a WebDAV password over plain http', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['localhost', true],
    ['LOCALHOST.', true],
    ['[::1]', true],
    ['::1', true],
    ['128.0.0.1', false],
    ['127.0.0.256', false],
    ['10.0.0.1', false],
    ['example.test', false],
    ['localhost.example.test', false],
    ['127.0.0.1.example.test', false],
    ['[::ffff:7f00:1]', false], // IPv4-mapped: not one of the three the rule names
  ])('isLoopbackHost(%j) is %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  it('goes to another machine only when allowed, and the stored SPEC records it', () => {
    const refused = parseSpec('webdav+http://alice:s3cret-pw@dav.example.test/dav#nas');
    expect(() => requirePrivateTransport(refused)).toThrow(UsageError);
    expect(() => requirePrivateTransport(refused)).toThrow(/--allow-insecure-http/);
    try {
      requirePrivateTransport(refused);
    } catch (err) {
      expect((err as Error).message).not.toContain('s3cret-pw');
    }
    const allowed = requirePrivateTransport(refused, true);
    expect(allowed.spec).toBe('webdav+http://alice@dav.example.test/dav/?insecure-http=1');
    expect(allowed.secrets).toEqual({ password: 's3cret-pw' });
    expect((parseRemoteSpec(allowed.spec).options as WebDavOptions).allowInsecureHttp).toBe(true);
    // The SPEC's own parameter is the same consent (what the app's checkbox writes).
    const inSpec = parseSpec('webdav+http://alice:pw@dav.example.test/dav?insecure-http=1#nas');
    expect(requirePrivateTransport(inSpec).spec).toBe(allowed.spec);
  });

  it.each([
    'webdav+http://alice:pw@127.0.0.1:8080/dav',
    'webdav+http://alice:pw@127.1:8080/dav', // WHATWG reads it as 127.0.0.1, as the connection will
    'webdav+http://alice:pw@[::1]:8080/dav',
    'webdav+http://alice:pw@localhost/dav',
    'webdav+https://alice:pw@dav.example.test/dav',
    'webdav+http://dav.example.test/dav', // no password, nothing to read on the way
    'webdav+http://alice@dav.example.test/dav',
  ])('is not refused for %s', (spec) => {
    const parsed = parseSpec(spec);
    expect(requirePrivateTransport(parsed)).toBe(parsed);
  });

  it.each([
    ['on https', 'webdav+https://h/x?insecure-http=1'],
    ['with another value', 'webdav+http://h/x?insecure-http=yes'],
    ['on sftp', 'sftp://u@h/x?insecure-http=1'],
  ])('refuses insecure-http %s', (_, spec) => {
    expect(() => parseRemoteSpec(spec)).toThrow(UsageError);
  });

  it('is refused by the WebDAV node itself unless allowed', () => {
    const options = { url: 'http://dav.example.test/dav/', username: 'alice', password: 'pw' };
    expect(() => new WebDavNode(options)).toThrow(/--allow-insecure-http/);
    expect(() => new WebDavNode({ ...options, allowInsecureHttp: true })).not.toThrow();
    expect(() => new WebDavNode({ ...options, url: 'http://127.0.0.1:9/dav/' })).not.toThrow();
    expect(() => new WebDavNode({ ...options, url: 'https://dav.example.test/dav/' })).not.toThrow();
  });
});
