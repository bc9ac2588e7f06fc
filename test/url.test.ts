import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/core/errors';
import { displayRemote, parseRemoteSpec, redact } from '../src/core/storage/url';

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
