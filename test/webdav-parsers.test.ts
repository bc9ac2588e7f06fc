// The parsers that read what a WebDAV server answers (src/core/storage/webdav/): the XML
// reader, the 207 Multi-Status entries and the href-to-name rule, and the WWW-Authenticate
// challenges with the Digest answer. Known-good answers captured from Apache mod_dav and
// `rclone serve webdav` (test/fixtures/webdav/, made by its capture.ts) must parse as the
// servers meant them; RFC 7616's examples must give its responses; and random, mutated and
// adversarial answers (huge, deeply nested, entity tricks, hrefs outside the root, encoded
// slashes, duplicated properties, bad lengths, malformed challenges) give the engine's typed
// errors only, never a path outside the location's root, never an invalid request header.
// SHARDVAULT_FUZZ_RUNS sets the inputs per property (2,000 by default, as test/format.test.ts).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { validateHeaderValue } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptError } from '../src/core/errors';
import { isObjectSegment } from '../src/core/storage/node';
import { Authenticator, chooseChallenge, digestAuthorization, parseChallenges } from '../src/core/storage/webdav/auth';
import { childName, parseMultistatus } from '../src/core/storage/webdav/multistatus';
import { parseXml } from '../src/core/storage/webdav/xml';

const FUZZ_RUNS = Number(process.env['SHARDVAULT_FUZZ_RUNS'] ?? 2000);
const fixture = (name: string): string => readFileSync(new URL(`./fixtures/webdav/${name}`, import.meta.url), 'utf8');
const BASE = new URL('http://127.0.0.1:8080/vault/');
const SERVERS = ['apache', 'rclone'] as const;

/** Runs `parse`; anything it throws must be a CorruptError. */
function typedOnly<T>(parse: () => T): T | null {
  try {
    return parse();
  } catch (err) {
    if (err instanceof CorruptError) return null;
    throw new Error(`untyped ${String(err)}`, { cause: err });
  }
}

/** What a location's listing would make of an answer: (path, size) of each object child. */
function children(xml: string, parent: string, dir: string): Array<[string, number | null]> {
  const out: Array<[string, number | null]> = [];
  for (const entry of parseMultistatus(xml, 'test')) {
    if (entry.isCollection) continue;
    const name = childName(entry.href, BASE, parent, 'test');
    if (name !== null) out.push([dir === '' ? name : `${dir}/${name}`, entry.size]);
  }
  return out.sort(([a], [b]) => (a < b ? -1 : 1));
}

describe('known-good answers from real servers', () => {
  for (const server of SERVERS) {
    const facts = JSON.parse(fixture(`${server}.json`)) as {
      root: string;
      stored: Record<string, number>;
      foreign: string[];
      challenges: string[];
    };

    it(`${server}: a Depth 1 listing of the root gives the objects stored, and no foreign name`, () => {
      const xml = fixture(`${server}-list-root.xml`);
      const entries = parseMultistatus(xml, server);
      // Every entry the server listed, collections included, with the names it encoded.
      const names = entries.map((e) => decodeURIComponent(new URL(e.href, BASE).pathname));
      expect(names.sort()).toEqual(
        [
          '/vault/',
          '/vault/a b ü.txt',
          '/vault/head',
          '/vault/notes/',
          '/vault/shards/',
          '/vault/shardvault.json',
          '/vault/tmp/',
        ].sort(),
      );
      expect(
        entries
          .filter((e) => e.isCollection)
          .map((e) => new URL(e.href, BASE).pathname)
          .sort(),
      ).toEqual(['/vault/', '/vault/notes/', '/vault/shards/', '/vault/tmp/']);
      for (const e of entries) expect(e.modifiedMs, e.href).toBeGreaterThan(Date.parse('2020-01-01'));
      const foreign = entries.find((e) => e.href.includes('.txt'))!;
      expect(foreign.size).toBe(14);
      // 'a b ü.txt' is no name a put makes: the listing leaves it out.
      expect(children(xml, facts.root, '')).toEqual([
        ['head', facts.stored['head']],
        ['shardvault.json', facts.stored['shardvault.json']],
      ]);
    });

    it(`${server}: a listing of shards/ and a Depth 0 stat of a shard`, () => {
      const [shard, size] = Object.entries(facts.stored).find(([p]) => p.startsWith('shards/'))!;
      expect(children(fixture(`${server}-list-shards.xml`), `${facts.root}shards/`, 'shards')).toEqual([[shard, size]]);
      const [stat, ...more] = parseMultistatus(fixture(`${server}-stat-shard.xml`), server);
      expect(more).toEqual([]);
      expect(stat).toMatchObject({ href: `${facts.root}${shard}`, isCollection: false, size, quotaAvailable: null });
    });

    it(`${server}: a quota answer without quota properties gives no free space, not an error`, () => {
      const [root] = parseMultistatus(fixture(`${server}-quota.xml`), server);
      expect(root).toMatchObject({ href: facts.root, isCollection: true, quotaAvailable: null });
    });

    it(`${server}: its 401 challenges are answered with the scheme it asks for`, () => {
      const auth = new Authenticator('vault', 'correct horse battery');
      expect(auth.learn(facts.challenges, false)).toBe(true);
      const header = auth.header('PROPFIND', '/vault/')!;
      validateHeaderValue('authorization', header);
      if (facts.challenges.some((c) => c.startsWith('Digest'))) {
        const nonce = /nonce="([^"]+)"/.exec(facts.challenges.find((c) => c.startsWith('Digest'))!)![1];
        expect(header).toMatch(/^Digest username="vault", realm="shardvault test", /);
        expect(header).toContain(`nonce="${nonce}"`);
        expect(header).toContain('qop=auth, nc=00000001');
        // The same nonce rejected again is a wrong password, not a reason to try once more.
        expect(auth.learn(facts.challenges, true)).toBe(false);
      } else {
        expect(header).toBe(`Basic ${Buffer.from('vault:correct horse battery').toString('base64')}`);
        expect(auth.learn(facts.challenges, true)).toBe(false);
      }
    });
  }

  it('reads the quota properties of RFC 4331', () => {
    const xml =
      '<?xml version="1.0" encoding="utf-8" ?><D:multistatus xmlns:D="DAV:"><D:response>' +
      '<D:href>http://www.example.com/vault/</D:href><D:propstat><D:prop>' +
      '<D:quota-available-bytes>596650</D:quota-available-bytes><D:quota-used-bytes>403350</D:quota-used-bytes>' +
      '</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>';
    expect(parseMultistatus(xml)).toEqual([
      {
        href: 'http://www.example.com/vault/',
        isCollection: false,
        size: null,
        modifiedMs: null,
        quotaAvailable: 596650,
      },
    ]);
  });
});

describe('Digest (RFC 7616 and RFC 2617 examples)', () => {
  const rfc7616 =
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, ' +
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", ' +
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, ' +
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
  const request = {
    username: 'Mufasa',
    password: 'Circle of Life',
    method: 'GET',
    uri: '/dir/index.html',
    nc: 1,
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  };

  it('reads two challenges in one header, commas inside quotes kept', () => {
    const parsed = parseChallenges(rfc7616);
    expect(parsed.map((c) => [c.scheme, c.params['algorithm'], c.params['qop']])).toEqual([
      ['digest', 'SHA-256', 'auth, auth-int'],
      ['digest', 'MD5', 'auth, auth-int'],
    ]);
  });

  it('answers the first challenge it supports (SHA-256 here) with RFC 7616’s response', () => {
    const chosen = chooseChallenge([rfc7616]);
    expect(chosen).toMatchObject({ scheme: 'digest', algorithm: 'SHA-256', qop: 'auth', stale: false });
    if (chosen?.scheme !== 'digest') throw new Error('no digest challenge chosen');
    const header = digestAuthorization({ ...request, challenge: chosen });
    expect(header).toContain('response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"');
    expect(header).toContain('opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"');
  });

  it('gives RFC 7616’s MD5 response, and RFC 2617’s', () => {
    const md5 = chooseChallenge([rfc7616.slice(rfc7616.lastIndexOf('Digest'))]);
    if (md5?.scheme !== 'digest') throw new Error('no digest challenge chosen');
    expect(digestAuthorization({ ...request, challenge: md5 })).toContain(
      'response="8ca523f5e9506fed4657c9700eebdbec"',
    );
    const rfc2617 = chooseChallenge([
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    ]);
    if (rfc2617?.scheme !== 'digest') throw new Error('no digest challenge chosen');
    expect(
      digestAuthorization({ ...request, password: 'Circle Of Life', cnonce: '0a4f113b', challenge: rfc2617 }),
    ).toContain('response="6629fae49393a05397450978507c4ef1"');
  });

  it('leaves an algorithm it does not know, and falls back to Basic when offered', () => {
    expect(chooseChallenge(['Digest realm="r", nonce="n", algorithm=SHA-512-256'])).toBeNull();
    expect(chooseChallenge(['Digest realm="r", nonce="n", algorithm=SHA-512-256', 'Basic realm="r"'])).toEqual({
      scheme: 'basic',
    });
    expect(chooseChallenge(['Digest realm="r", nonce="n", algorithm=sha-256-SESS'])).toMatchObject({
      scheme: 'digest',
      algorithm: 'sha-256-SESS',
    });
  });

  // Regressions found by the fuzzing below.
  it('does not answer a Digest challenge without a nonce (Basic instead, when offered)', () => {
    expect(chooseChallenge(['Digest realm="r", qop="auth"'])).toBeNull();
    expect(chooseChallenge(['Digest realm="r", qop="auth", Basic realm="r"'])).toEqual({ scheme: 'basic' });
    const auth = new Authenticator('u', 'p');
    expect(auth.learn(['Digest realm="r", qop="auth"'], false)).toBe(false);
  });

  it('sends a username outside printable ASCII as RFC 8187 UTF-8, hashed as UTF-8', () => {
    const challenge = chooseChallenge(['Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256']);
    if (challenge?.scheme !== 'digest') throw new Error('no digest challenge chosen');
    for (const [username, encoded] of [
      ['用户', '%E7%94%A8%E6%88%B7'],
      ['José', 'Jos%C3%A9'], // Latin-1 would go as one byte the server reads as another name
      ['line\r\nX-Injected: 1', 'line%0D%0AX-Injected%3A%201'],
      ['\u{1F600}', '%F0%9F%98%80'],
    ] as const) {
      const header = digestAuthorization({ ...request, username, challenge });
      validateHeaderValue('authorization', header);
      expect(header).toMatch(
        new RegExp(`^Digest username\\*=UTF-8''${encoded.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, `),
      );
      expect(header).not.toContain('username=');
      // RFC 7616 3.4.4: the hash takes the name itself, in UTF-8.
      const H = (x: string): string => createHash('sha256').update(x, 'utf8').digest('hex');
      const ha1 = H(`${username}:r:${request.password}`);
      const ha2 = H(`${request.method}:${request.uri}`);
      expect(header).toContain(`response="${H(`${ha1}:n:00000001:${request.cnonce}:auth:${ha2}`)}"`);
    }
    // Printable ASCII goes as it always did.
    expect(digestAuthorization({ ...request, challenge })).toMatch(/^Digest username="Mufasa", /);
  });

  it('hashes a realm as the bytes the server sent (a UTF-8 realm is not encoded twice)', () => {
    // "Tresor für Bob" in UTF-8, as Node hands a header's bytes over: one character a byte.
    const sent = Buffer.from('Tresor für Bob', 'utf8').toString('latin1');
    const challenge = chooseChallenge([`Digest realm="${sent}", nonce="n", qop="auth"`]);
    if (challenge?.scheme !== 'digest') throw new Error('no digest challenge chosen');
    const header = digestAuthorization({ ...request, challenge });
    validateHeaderValue('authorization', header);
    expect(header).toContain(`realm="${sent}"`);
    // What Apache's htdigest stores: MD5 over the configured realm's UTF-8 bytes.
    const md5 = (x: Buffer | string): string => createHash('md5').update(x).digest('hex');
    const ha1 = md5(Buffer.from(`${request.username}:Tresor für Bob:${request.password}`, 'utf8'));
    const ha2 = md5(`${request.method}:${request.uri}`);
    expect(header).toContain(`response="${md5(`${ha1}:n:00000001:${request.cnonce}:auth:${ha2}`)}"`);
  });

  it('reads a parameter named __proto__ or constructor as a parameter, and pollutes nothing', () => {
    const [c] = parseChallenges('Digest __proto__="x", constructor=y, realm="r", nonce="n", toString=z');
    expect(Object.getPrototypeOf(c!.params)).toBeNull();
    expect(Object.keys(c!.params).sort()).toEqual(['__proto__', 'constructor', 'nonce', 'realm', 'tostring']);
    expect(c!.params['__proto__']).toBe('x');
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
    expect(chooseChallenge(['Digest __proto__="x", realm="r", nonce="n"'])).toMatchObject({ realm: 'r', nonce: 'n' });
    // Without a realm of its own, a challenge has none: nothing is found on a prototype.
    expect(chooseChallenge(['Digest __proto__="x", nonce="n", constructor="c"'])).toBeNull();
  });

  it('does not echo control characters a challenge holds into the request', () => {
    for (const bad of [
      'Digest realm="a\u0001b", nonce="n"',
      'Digest realm="r", nonce="n\u007f"',
      'Digest realm="r", nonce="n", opaque="\u0000"',
    ]) {
      expect(chooseChallenge([bad]), JSON.stringify(bad)).toBeNull();
    }
  });
});

describe('strict, bounded, typed: adversarial answers', () => {
  const ok = (href: string, props: string, status = 'HTTP/1.1 200 OK'): string =>
    `<D:response><D:href>${href}</D:href><D:propstat><D:prop>${props}</D:prop><D:status>${status}</D:status></D:propstat></D:response>`;
  const multistatus = (...responses: string[]): string =>
    `<?xml version="1.0"?><D:multistatus xmlns:D="DAV:">${responses.join('')}</D:multistatus>`;
  const length = (n: string): string => `<D:resourcetype/><D:getcontentlength>${n}</D:getcontentlength>`;

  it('refuses DTDs, so no entity expands (billion laughs, external entities)', () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>' +
      '<D:multistatus xmlns:D="DAV:">&lol2;</D:multistatus>';
    expect(() => parseXml(laughs)).toThrow(/DTDs are not accepted/);
    const external =
      '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><D:multistatus xmlns:D="DAV:">&x;</D:multistatus>';
    expect(() => parseMultistatus(external)).toThrow(CorruptError);
    expect(() => parseXml('<a>&x;</a>')).toThrow(/unknown entity &x;/);
  });

  it('takes deep nesting, long text and many entries without recursion or quadratic time', () => {
    const depth = 200_000;
    const deep = `<D:multistatus xmlns:D="DAV:">${'<x>'.repeat(depth)}${'</x>'.repeat(depth)}</D:multistatus>`;
    expect(parseMultistatus(deep)).toEqual([]);
    const unclosed = `<D:multistatus xmlns:D="DAV:">${'<x>'.repeat(depth)}`;
    expect(() => parseMultistatus(unclosed)).toThrow(/unclosed elements/);
    const many = multistatus(...Array.from({ length: 20_000 }, (_, i) => ok(`/vault/o${i}`, length(String(i)))));
    expect(parseMultistatus(many)).toHaveLength(20_000);
    const text = `<a>${'&amp;'.repeat(1_000_000)}</a>`;
    expect(parseXml(text).text).toHaveLength(1_000_000);
    // A tag that never closes, and a long run of '<' or of attributes: refused, not backtracked.
    expect(() => parseXml(`<a${' b="c"'.repeat(200_000)}`)).toThrow(CorruptError);
    expect(() => parseXml(`<a>${'<'.repeat(1_000_000)}</a>`)).toThrow(CorruptError);
    expect(() => parseXml(`<a ${' '.repeat(1_000_000)}x`)).toThrow(CorruptError);
  });

  it('refuses a negative, fractional, signed, huge or missing content length', () => {
    for (const bad of ['-1', '1.5', '+3', '1e3', '0x10', '99999999999999999', '9007199254740993', '', ' ', '٣']) {
      expect(() => parseMultistatus(multistatus(ok('/vault/x', length(bad)))), JSON.stringify(bad)).toThrow(
        /bad number/,
      );
    }
    expect(parseMultistatus(multistatus(ok('/vault/x', length(' 9007199254740991\n'))))[0]!.size).toBe(
      Number.MAX_SAFE_INTEGER,
    );
    // Only a 2xx propstat counts: a 404 one (properties the server lacks) may be empty.
    expect(parseMultistatus(multistatus(ok('/vault/x', length(''), 'HTTP/1.1 404 Not Found')))).toEqual([]);
  });

  // Regressions found by the fuzzing below.
  it('refuses a property given twice with two values; the same value twice is fine', () => {
    const twice = multistatus(ok('/vault/x', `${length('10')}<D:getcontentlength>99</D:getcontentlength>`));
    expect(() => parseMultistatus(twice)).toThrow(/getcontentlength twice/);
    const split = multistatus(
      `<D:response><D:href>/vault/x</D:href>` +
        `<D:propstat><D:prop>${length('10')}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>` +
        `<D:propstat><D:prop>${length('11')}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>`,
    );
    expect(() => parseMultistatus(split)).toThrow(/getcontentlength twice/);
    const same = multistatus(ok('/vault/x', `${length('10')}<D:getcontentlength>10</D:getcontentlength>`));
    expect(parseMultistatus(same)[0]!.size).toBe(10);
  });

  it('refuses a malformed character reference instead of reading part of it', () => {
    for (const bad of ['&#12abc;', '&#x;', '&#;', '&#0;', '&#xD800;', '&#x110000;', '&#xFFFE;', '&#-1;', '&#x+41;']) {
      expect(() => parseXml(`<a>${bad}</a>`), bad).toThrow(CorruptError);
    }
    expect(parseXml('<a>&#65;&#x42;&#x1F600;&#9;</a>').text).toBe('AB😀\t');
  });

  it('names only direct children of the collection, never a path outside it', () => {
    const cases: Array<[string, string | null]> = [
      ['/vault/shards/0123', '0123'],
      ['http://elsewhere.example/vault/shards/0123', '0123'], // a proxy's own host: the path counts
      ['/vault/shards/', null], // the collection itself
      ['/vault/shards/a/b', null], // deeper
      ['/vault/shards/..', null],
      ['/vault/shards/%2e%2e', null],
      ['/vault/shards/%2E%2E/%2E%2E/etc', null],
      ['/vault/shards/../head', null], // that is /vault/head: not in shards/
      ['/vault/shards/a%2Fb', null], // an encoded slash is no segment boundary, and no name
      ['/vault/shards/a%5Cb', null],
      ['/vault/shards/.hidden', null],
      ['/vault/shards/%', null],
      ['/vault/shards/%00', null],
      ['/other/shards/0123', null],
      ['/vault%2Fshards/0123', null],
      ['//elsewhere.example/vault/shards/0123', '0123'],
      ['0123', null], // relative to the root, not to shards/
      ['shards/0123', '0123'],
    ];
    for (const [href, want] of cases) expect(childName(href, BASE, '/vault/shards/', 'test'), href).toBe(want);
  });

  // Regression found by the fuzzing below.
  it('refuses an href that is no URL with a typed error', () => {
    for (const href of ['//', 'http://[', 'http://a b/', 'http://:99999/x', 'https://%/']) {
      expect(() => childName(href, BASE, '/vault/', 'test'), href).toThrow(CorruptError);
    }
  });
});

describe('fuzzing', () => {
  /** Fragments an attacker would try, spliced into real answers. */
  const XML_PIECES = [
    '<',
    '>',
    '</D:href>',
    '<D:href>',
    '</D:response>',
    '<D:response>',
    '<D:propstat>',
    '<D:getcontentlength>-1</D:getcontentlength>',
    '<D:getcontentlength>99999999999999999999</D:getcontentlength>',
    '<D:collection/>',
    '&amp;',
    '&#x0;',
    '&#xD800;',
    '&#99999999;',
    '&lt;',
    '&',
    ';',
    '<!DOCTYPE x>',
    '<!--',
    '-->',
    '<![CDATA[',
    ']]>',
    '<?',
    '?>',
    'xmlns:D="DAV:"',
    'xmlns:D="other"',
    'D:',
    'x:',
    '"',
    "'",
    '/..',
    '%2e%2e',
    '%2F',
    '%',
    'http://[',
    '\u0000',
    '\uFEFF',
    '\uD800',
  ];

  const fixtures = SERVERS.flatMap((s) =>
    ['list-root', 'list-shards', 'stat-shard', 'quota'].map((f) => fixture(`${s}-${f}.xml`)),
  );
  const mutated = fc.oneof(
    fc.record({
      base: fc.constantFrom(...fixtures),
      edits: fc.array(
        fc.oneof(
          fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), len: fc.nat(40) }),
          fc.record({
            kind: fc.constant('insert' as const),
            at: fc.nat(),
            piece: fc.oneof(fc.constantFrom(...XML_PIECES), fc.string({ maxLength: 12 })),
          }),
          fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), len: fc.nat(60), times: fc.nat(50) }),
        ),
        { minLength: 1, maxLength: 6 },
      ),
    }),
    fc.record({ base: fc.constant(''), edits: fc.constant([]), random: fc.string({ unit: 'binary', maxLength: 400 }) }),
  );
  const apply = (m: { base: string; edits: readonly Edit[]; random?: string }): string => {
    let s = m.random ?? m.base;
    for (const e of m.edits) {
      const at = s.length === 0 ? 0 : e.at % (s.length + 1);
      if (e.kind === 'cut') s = s.slice(0, at) + s.slice(at + e.len);
      else if (e.kind === 'insert') s = s.slice(0, at) + e.piece + s.slice(at);
      else s = s.slice(0, at) + s.slice(at, at + e.len).repeat(e.times) + s.slice(at);
    }
    return s;
  };
  type Edit =
    | { kind: 'cut'; at: number; len: number }
    | { kind: 'insert'; at: number; piece: string }
    | { kind: 'repeat'; at: number; len: number; times: number };

  it('multistatus: mutated and random inputs give typed errors only, and names inside the root', () => {
    fc.assert(
      fc.property(mutated, (m) => {
        const xml = apply(m);
        typedOnly(() => parseXml(xml));
        const entries = typedOnly(() => parseMultistatus(xml)) ?? [];
        for (const e of entries) {
          expect(e.size === null || (Number.isSafeInteger(e.size) && e.size >= 0)).toBe(true);
          expect(e.quotaAvailable === null || (Number.isSafeInteger(e.quotaAvailable) && e.quotaAvailable >= 0)).toBe(
            true,
          );
          for (const parent of ['/vault/', '/vault/shards/']) {
            const name = typedOnly(() => childName(e.href, BASE, parent, 'test'));
            if (name !== null) expect(isObjectSegment(name), `${e.href} -> ${name}`).toBe(true);
          }
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  const HREF_PIECES = [
    '/',
    '..',
    '.',
    '%2e',
    '%2E',
    '%2f',
    '%2F',
    '%5c',
    '\\',
    '%',
    '%00',
    '?',
    '#',
    ':',
    '@',
    '//',
    'vault',
    'shards',
    'http://h',
    'a',
    '0123',
    '\u00fc',
    ' ',
    '[',
    ']',
  ];
  it('hrefs: mutated and random inputs give typed errors only, and a direct child of the collection or none', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc
            .array(fc.oneof(fc.constantFrom(...HREF_PIECES), fc.string({ maxLength: 4 })), { maxLength: 12 })
            .map((p) => p.join('')),
          fc.string({ unit: 'binary', maxLength: 80 }),
          fc.webUrl({ withQueryParameters: true, withFragments: true }),
        ),
        fc.constantFrom('/vault/', '/vault/shards/', '/vault/log/0123456789abcdef0123456789abcdef/'),
        (href, parent) => {
          const name = typedOnly(() => childName(href, BASE, parent, 'test'));
          if (name === null) return;
          expect(isObjectSegment(name)).toBe(true);
          // The path the listing would build resolves under the collection, one level down.
          const resolved = new URL(encodeURIComponent(name), new URL(parent, BASE));
          expect(resolved.pathname.startsWith(parent)).toBe(true);
          expect(resolved.pathname.slice(parent.length)).not.toContain('/');
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  const CHALLENGE_PIECES = [
    'Digest',
    'Basic',
    'Bearer',
    'realm=',
    'nonce=',
    'qop=',
    'algorithm=',
    'opaque=',
    'stale=',
    'MD5',
    'SHA-256',
    '-sess',
    'SHA-512-256',
    'auth',
    'auth-int',
    '"',
    '\\"',
    '\\',
    ',',
    ', ',
    '=',
    '==',
    ' ',
    '\t',
    'true',
    'x',
    '"a,b"',
    '\u0001',
    '\u007f',
    '\u00ff',
  ];
  const pieces = fc.array(fc.constantFrom(...CHALLENGE_PIECES), { maxLength: 24 }).map((p) => p.join(''));
  /** A well-formed challenge with any values, quoted or not. */
  const challenge = fc
    .tuple(
      fc.constantFrom('Digest', 'digest', 'Basic'),
      fc.array(
        fc.tuple(
          fc.constantFrom('realm', 'nonce', 'qop', 'algorithm', 'opaque', 'stale', 'domain'),
          fc.oneof(
            fc.constantFrom('MD5', 'SHA-256', 'sha-256-sess', 'MD5-sess', 'auth', 'auth, auth-int', 'true', ''),
            fc.string({ unit: 'binary', maxLength: 10 }),
          ),
          fc.boolean(),
        ),
        { maxLength: 6 },
      ),
    )
    .map(
      ([scheme, params]) =>
        `${scheme} ${params.map(([k, v, quoted]) => (quoted ? `${k}="${v.replace(/["\\]/g, '\\$&')}"` : `${k}=${v}`)).join(', ')}`,
    );
  it('challenges: mutated and random inputs give typed errors only, and a valid request header or none', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(challenge, pieces, fc.string({ unit: 'binary', maxLength: 120 })), { maxLength: 3 }),
        fc.boolean(),
        fc.oneof(fc.constant('vault'), fc.string({ unit: 'binary', minLength: 1, maxLength: 12 })),
        (challenges, sent, username) => {
          parseChallenges(challenges.join(', '));
          const auth = new Authenticator(username, 'p"w\\d');
          const retry = auth.learn(challenges, sent);
          const header = auth.header('PROPFIND', '/vault/shards/');
          if (retry) expect(header).not.toBeNull();
          if (header !== null) validateHeaderValue('authorization', header);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
