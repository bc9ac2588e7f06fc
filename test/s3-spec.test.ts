import * as nodePath from 'node:path';
import { build } from 'esbuild';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OfflineError, UsageError } from '../src/core/errors';
import {
  checkS3Address,
  createS3Node,
  displayS3,
  formatS3Spec,
  parseS3Spec,
  plainHttpS3Host,
  S3Node,
  type S3Address,
} from '../src/core/storage/s3/index';
import { redactCredentials } from '../src/shared/redact';
import { closedPort, silentServer } from './conformance/suite';

// An AWS-shaped secret: '/' and '+' in it, which a form decoder would mangle.
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const KEY = 'AKIAIOSFODNN7EXAMPLE';

describe('parseS3Spec', () => {
  it('takes every part', () => {
    expect(
      parseS3Spec(
        `s3://${KEY}:${encodeURIComponent(SECRET)}@s3.eu-west-3.example.test:8443/my-bucket/vaults/alice%20b?region=eu-west-3&style=virtual`,
      ),
    ).toEqual({
      host: 's3.eu-west-3.example.test',
      port: 8443,
      bucket: 'my-bucket',
      prefix: 'vaults/alice b',
      region: 'eu-west-3',
      style: 'virtual',
      accessKeyId: KEY,
      secretAccessKey: SECRET,
      secure: true,
    });
  });

  it('defaults to us-east-1, path style, the whole bucket, and the scheme port', () => {
    expect(parseS3Spec(`s3://${KEY}:${SECRET}@minio.example.test/bkt/`)).toEqual({
      host: 'minio.example.test',
      bucket: 'bkt',
      region: 'us-east-1',
      style: 'path',
      accessKeyId: KEY,
      secretAccessKey: SECRET,
      secure: true,
    });
    expect(parseS3Spec(`s3://${KEY}:${SECRET}@minio.example.test:443/bkt`).port).toBeUndefined();
  });

  it("reads '+' as '+', and a raw '/', ':', '?' or at sign in the secret up to the last at sign", () => {
    expect(parseS3Spec(`s3://${KEY}:a+b/c:d?e@f@h.example.test/bkt`).secretAccessKey).toBe('a+b/c:d?e@f');
    expect(parseS3Spec(`s3://k%3Ax:a%2Bb%25@h.example.test/bkt`)).toMatchObject({
      accessKeyId: 'k:x',
      secretAccessKey: 'a+b%',
    });
  });

  it('takes an IPv6 endpoint', () => {
    const a = parseS3Spec(`s3+http://${KEY}:${SECRET}@[::1]:9000/bkt`);
    expect(a).toMatchObject({ host: '::1', port: 9000, secure: false });
    expect(displayS3(a)).toBe('s3+http://[::1]:9000/bkt');
  });

  it.each([
    ['another scheme', `s3+https://${KEY}:s@h.example.test/bkt`, /expected s3:\/\/ or s3\+http:\/\//],
    ['no credentials', 's3://h.example.test/bkt', /KEY:SECRET/],
    ['no secret', `s3://${KEY}@h.example.test/bkt`, /KEY:SECRET/],
    ['an empty secret', `s3://${KEY}:@h.example.test/bkt`, /secret key is empty/],
    ['an empty key', `s3://:${SECRET}@h.example.test/bkt`, /access key ID is empty/],
    ['a raw slash in the key', `s3://a/b:${SECRET}@h.example.test/bkt`, /access key ID, write/],
    ['no bucket', `s3://${KEY}:${SECRET}@h.example.test`, /BUCKET/],
    ['an empty bucket', `s3://${KEY}:${SECRET}@h.example.test/`, /BUCKET/],
    ['an upper-case bucket', `s3://${KEY}:${SECRET}@h.example.test/Bucket`, /bucket name/],
    ['a bucket like an IP', `s3://${KEY}:${SECRET}@h.example.test/10.0.0.1`, /bucket name/],
    ['a bad host', `s3://${KEY}:${SECRET}@h_x.example.test/bkt`, /host/],
    ['port 0', `s3://${KEY}:${SECRET}@h.example.test:0/bkt`, /port/],
    ['a big port', `s3://${KEY}:${SECRET}@h.example.test:65536/bkt`, /port/],
    ['a dot-dot prefix', `s3://${KEY}:${SECRET}@h.example.test/bkt/a/../b`, /prefix/],
    ['an empty prefix segment', `s3://${KEY}:${SECRET}@h.example.test/bkt/a//b`, /prefix/],
    ['an encoded slash in the prefix', `s3://${KEY}:${SECRET}@h.example.test/bkt/a%2Fb`, /encoded/],
    ['an unknown parameter', `s3://${KEY}:${SECRET}@h.example.test/bkt?regoin=x`, /unknown parameter regoin/],
    ['a parameter twice', `s3://${KEY}:${SECRET}@h.example.test/bkt?region=a&region=b`, /twice/],
    ['a bad style', `s3://${KEY}:${SECRET}@h.example.test/bkt?style=host`, /style/],
    ['a bad region', `s3://${KEY}:${SECRET}@h.example.test/bkt?region=EU_West`, /region/],
    ['insecure-http on https', `s3://${KEY}:${SECRET}@h.example.test/bkt?insecure-http=1`, /only for s3\+http/],
    ['a raw hash', `s3://${KEY}:${SECRET}@h.example.test/bkt#name`, /%23/],
    ['a space', `s3://${KEY}:${SECRET}@h.example.test/my bkt`, /spaces/],
    ['a malformed escape', `s3://${KEY}:ab%zz@h.example.test/bkt`, /malformed %-escape/],
  ])('refuses %s, in words and without the secret', (_, spec, why) => {
    let message = '';
    try {
      parseS3Spec(spec);
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      message = (err as Error).message;
    }
    expect(message).toMatch(why);
    expect(message).not.toContain(SECRET);
    expect(redactCredentials(message)).toBe(message);
  });
});

describe('s3+http: plain HTTP', () => {
  it.each(['127.0.0.1', 'localhost', '[::1]', '127.8.9.10'])('goes to this machine (%s) unasked', (host) => {
    expect(parseS3Spec(`s3+http://${KEY}:${SECRET}@${host}:9000/bkt`).secure).toBe(false);
  });

  it('goes to another machine only when allowed, and the SPEC then records it', () => {
    const spec = `s3+http://${KEY}:${SECRET}@nas.example.test:9000/bkt`;
    expect(() => parseS3Spec(spec)).toThrow(/--allow-insecure-http/);
    const allowed = parseS3Spec(spec, { allowInsecureHttp: true });
    expect(allowed.allowInsecureHttp).toBe(true);
    const written = formatS3Spec(allowed);
    expect(written).toMatch(/\?insecure-http=1$/);
    expect(parseS3Spec(written)).toEqual(allowed);
    // Consent says nothing where there is nothing to consent to.
    expect(parseS3Spec(`s3+http://${KEY}:${SECRET}@127.0.0.1/bkt`, { allowInsecureHttp: true })).not.toHaveProperty(
      'allowInsecureHttp',
    );
  });

  it('in virtual-host style, counts the host it talks to: BUCKET.localhost is not this machine for sure', () => {
    // The client asks for bkt.localhost, which a resolver may send to the network's DNS.
    for (const host of ['localhost', '127.0.0.1', '[::1]']) {
      const spec = `s3+http://${KEY}:${SECRET}@${host}:9000/bkt?style=virtual`;
      expect(() => parseS3Spec(spec), host).toThrow(/--allow-insecure-http/);
      expect(parseS3Spec(spec, { allowInsecureHttp: true }).allowInsecureHttp, host).toBe(true);
    }
    const a = parseS3Spec(`s3+http://${KEY}:${SECRET}@localhost:9000/bkt`);
    expect(plainHttpS3Host(a)).toBeNull();
    expect(plainHttpS3Host({ ...a, style: 'virtual' })).toBe('bkt.localhost');
    expect(() => new S3Node({ ...a, style: 'virtual' })).toThrow(/--allow-insecure-http/);
  });

  it('is refused by the node itself unless allowed', () => {
    const a = parseS3Spec(`s3+http://${KEY}:${SECRET}@127.0.0.1:9000/bkt`);
    const away = { ...a, host: 'nas.example.test' };
    expect(() => new S3Node(away)).toThrow(/--allow-insecure-http/);
    expect(() => new S3Node({ ...away, allowInsecureHttp: true })).not.toThrow();
    expect(() => new S3Node({ ...away, secure: true })).not.toThrow();
    expect(() => createS3Node(a)).not.toThrow();
  });
});

describe('checkS3Address', () => {
  const good: S3Address = {
    host: 'h.example.test',
    bucket: 'bkt',
    region: 'us-east-1',
    style: 'path',
    accessKeyId: KEY,
    secretAccessKey: SECRET,
    secure: true,
  };

  it.each<[string, Partial<Record<keyof S3Address, unknown>>]>([
    ['host', { host: 'a b' }],
    ['port', { port: 70000 }],
    ['bucket', { bucket: 'ab' }],
    ['prefix', { prefix: '/abs' }],
    ['region', { region: '' }],
    ['style', { style: 'dns' }],
    ['accessKeyId', { accessKeyId: '' }],
    ['secretAccessKey', { secretAccessKey: 'x\n' }],
    ['secure', { secure: 'yes' }],
  ])('refuses a bad %s, naming the field and never the secret', (_, change) => {
    const bad = { ...good, ...change } as S3Address;
    expect(() => checkS3Address(bad)).toThrow(UsageError);
    expect(() => checkS3Address({ ...bad, secretAccessKey: `${SECRET}\u0000` })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(SECRET) as unknown }) as Error,
    );
  });

  it('makes an address canonical: no empty prefix, no scheme port, consent only where needed', () => {
    expect(checkS3Address({ ...good, prefix: '', port: 443, allowInsecureHttp: true })).toEqual(good);
    expect(checkS3Address({ ...good, secure: false, port: 80 })).toEqual({ ...good, secure: false });
  });
});

// ------------------------------------------------------------------ properties

/** Characters a URL gives a meaning, and others that used to leak (test/url.test.ts). */
const NASTY = [...'/#@?%: &=+!"\'\\[]~`$;,<>{}|^é€'];
const secretArb = fc.string({
  unit: fc.oneof(
    fc.constantFrom(...NASTY),
    fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'),
  ),
  minLength: 12,
  maxLength: 40,
});
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const addressArb: fc.Arbitrary<S3Address> = fc
  .record({
    host: fc.oneof(
      fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.')),
      fc.ipV4(),
      fc.ipV6(),
    ),
    port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    bucket: fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}[a-z0-9]$/),
    prefix: fc.option(
      fc
        .array(fc.string({ unit: fc.constantFrom(...'ab c%+/é#?@:'.replace('/', '')), minLength: 1, maxLength: 6 }), {
          minLength: 1,
          maxLength: 3,
        })
        .filter((segments) => segments.every((s) => s !== '.' && s !== '..'))
        .map((segments) => segments.join('/')),
      { nil: undefined },
    ),
    region: fc.constantFrom('us-east-1', 'eu-west-3', 'auto', 'fr-par'),
    style: fc.constantFrom('path' as const, 'virtual' as const),
    accessKeyId: fc.string({ unit: fc.constantFrom(...'AKIA0123456789XYZ:/+@%'), minLength: 16, maxLength: 24 }),
    secretAccessKey: secretArb,
    secure: fc.boolean(),
    allowInsecureHttp: fc.constantFrom(true, undefined),
  })
  .map((a) => {
    const { port, prefix, allowInsecureHttp, ...rest } = a;
    return {
      ...rest,
      ...(port === undefined ? {} : { port }),
      ...(prefix === undefined ? {} : { prefix }),
      ...(allowInsecureHttp === undefined ? {} : { allowInsecureHttp }),
    };
  });

/** The forms a secret takes in text: raw, percent-encoded, and inside a JSON string. */
function formsOf(secret: string): string[] {
  return [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
}

describe('properties', () => {
  it('parse(format(a)) is the address, made canonical', () => {
    fc.assert(
      fc.property(addressArb, (a) => {
        const canonical = checkS3Address(a);
        expect(formatS3Spec(canonical)).toBe(formatS3Spec(a));
        if (plainHttpS3Host(canonical) !== null && !canonical.allowInsecureHttp) {
          // Plain http to another machine without consent: refused, as written and as parsed.
          expect(() => parseS3Spec(formatS3Spec(a))).toThrow(/--allow-insecure-http/);
          expect(parseS3Spec(formatS3Spec(a), { allowInsecureHttp: true })).toEqual({
            ...canonical,
            allowInsecureHttp: true,
          });
        } else {
          expect(parseS3Spec(formatS3Spec(a))).toEqual(canonical);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('no key of any kind in the display; redaction hides the secret of a formatted SPEC', () => {
    fc.assert(
      fc.property(addressArb, (a) => {
        const shown = displayS3(a);
        for (const form of formsOf(a.secretAccessKey)) expect(shown).not.toContain(form);
        expect(shown).not.toContain(`${encodeURIComponent(a.accessKeyId)}:`);
        const redacted = redactCredentials(formatS3Spec(a));
        for (const form of formsOf(a.secretAccessKey)) expect(redacted).not.toContain(form);
      }),
      { numRuns: 300 },
    );
  });

  it('a SPEC that does not parse is refused without any piece of its secret, raw or encoded', () => {
    const broken = [
      (s: string) => `s3://${KEY}:${s}@h.example.test:0/bkt`,
      (s: string) => `s3://${KEY}:${s}@h.example.test/Bad_Bucket`,
      (s: string) => `s3://${KEY}:${s}@h.example.test/bkt?region=x&nope=1`,
      (s: string) => `s3://${KEY}:${s}@h.example.test`,
      (s: string) => `s3+http://${KEY}:${s}@nas.example.test/bkt`,
      (s: string) => `s3://${KEY}:${s}@h_x.example.test/bkt`,
      (s: string) => `s3://${KEY}:${s}@h.example.test/bkt/a/../b`,
    ];
    fc.assert(
      fc.property(secretArb, (secret) => {
        const pieces = secret.split(/[/#@?%: &=\n\t"\\]/).filter((p) => p.length >= 5);
        for (const raw of [secret, encodeURIComponent(secret)]) {
          for (const make of broken) {
            let message: string | null = null;
            try {
              parseS3Spec(make(raw));
            } catch (err) {
              expect(err).toBeInstanceOf(UsageError);
              message = (err as Error).message;
            }
            if (message === null) continue; // a raw secret that happens to read as a well-formed SPEC
            for (const form of formsOf(secret)) expect(message).not.toContain(form);
            for (const piece of pieces) expect(message).not.toContain(piece);
            expect(redactCredentials(message)).toBe(message);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

// ------------------------------------------------------------------ the node without a server

describe('S3Node without a server', () => {
  const local = (port: number): S3Address => ({
    host: '127.0.0.1',
    port,
    bucket: 'bkt',
    region: 'us-east-1',
    style: 'path',
    accessKeyId: KEY,
    secretAccessKey: SECRET,
    secure: false,
  });

  it('does not load the AWS SDK until a call needs it: a dynamic import, never a static one', async () => {
    const entry = nodePath.resolve(import.meta.dirname, '../src/core/storage/s3/index.ts');
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
    });
    const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports);
    const sdk = imports.filter((i) => i.path.startsWith('@aws-sdk/') || i.path.startsWith('@smithy/'));
    expect(sdk.map((i) => `${i.path} ${i.kind}`)).toEqual(['@aws-sdk/client-s3 dynamic-import']);
  });

  it('prints no SDK warning when it makes its client (the CLI shows no developer notices)', async () => {
    const warnings: string[] = [];
    const listen = (w: Error): void => {
      warnings.push(`${w.name}: ${w.message}`);
    };
    process.on('warning', listen);
    const s3 = new S3Node(local(await closedPort()));
    try {
      expect((await s3.health()).reachable).toBe(false);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listen);
      await s3.close();
    }
    expect(warnings).toEqual([]);
  });

  it('is OfflineError, in words, when nothing listens', async () => {
    const s3 = new S3Node(local(await closedPort()));
    try {
      const err = await s3.stat('x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OfflineError);
      expect((err as Error).message).toMatch(
        /^s3\+http:\/\/127\.0\.0\.1:\d+\/bkt: cannot reach the server \(ECONNREFUSED\)$/,
      );
      const health = await s3.health();
      expect(health).toMatchObject({ reachable: false, latencyMs: null, freeBytes: null });
      expect(health.error).not.toContain(SECRET);
    } finally {
      await s3.close();
    }
  });

  it('is OfflineError, not a hang, when a server never answers; marked unresponsive', async () => {
    const silent = await silentServer();
    const s3 = new S3Node(local(silent.port), { timeoutMs: 1000 });
    try {
      const started = Date.now();
      const err = await s3.stat('x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OfflineError);
      expect((err as OfflineError).unresponsive).toBe(true);
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await s3.health()).unresponsive).toBe(true);
    } finally {
      await s3.close();
      await silent.stop();
    }
  });

  it('refuses nonsense options', () => {
    const a = local(9000);
    expect(() => new S3Node(a, { partSize: 1 << 20 })).toThrow(RangeError);
    expect(() => new S3Node(a, { pageSize: 0 })).toThrow(RangeError);
    expect(() => new S3Node(a, { pageSize: 1001 })).toThrow(RangeError);
  });

  it('checks object paths before anything else', async () => {
    const s3 = new S3Node(local(9));
    await expect(s3.put('../x', new Uint8Array(1))).rejects.toThrow(RangeError);
    await expect(s3.delete('notes.txt')).rejects.toMatchObject({ code: 'corrupt' });
    await s3.close();
  });
});
