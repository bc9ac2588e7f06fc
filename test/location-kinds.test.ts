// The location kinds are one definition (src/shared/location-kinds.ts) with one registry
// entry each (src/core/storage/kinds/): these tests fail when a kind is listed somewhere
// else, when the two sides disagree, or when a kind's stored form keeps a secret.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as nodePath from 'node:path';
import { describe, expect, it } from 'vitest';
import { KINDS, kindOfSpec } from '../src/core/storage/kinds';
import {
  createNode,
  displaySpec,
  parseSpec,
  readLocation,
  requirePrivateTransport,
  type LocationSecrets,
} from '../src/core/storage/open';
import {
  generatedFieldNames,
  isLocationName,
  type LocationInput,
  LOCATION_KIND_NAMES,
  LOCATION_KINDS,
  SECRET_FIELD_NAMES,
} from '../src/shared/location-kinds';

const FP = `SHA256:${'A'.repeat(43)}`;
/** One SPEC per kind, each with a secret where the kind has one. */
const SAMPLES = {
  local: { spec: '/srv/vault-a#usb', secret: null },
  sftp: { spec: `sftp://bob:pa%2Fss-sftp@nas.example:2222/srv/v?fingerprint=${FP}#nas`, secret: 'pa/ss-sftp' },
  webdav: { spec: 'webdav+https://alice:dav%40secret@dav.example/remote/dav#cloud', secret: 'dav@secret' },
  s3: {
    spec: 's3://AKIAEXAMPLE:wJalr%2BXUt%2Fnfe@s3.example.org:9000/bucket-1/vaults/a?region=eu-1#bucket',
    secret: 'wJalr+XUt/nfe',
  },
  // The enrolment code is the secret given; the device key beside it is made (a generated field).
  node: {
    spec: `node+https://nas.example:4431/?fingerprint=${FP}&enrol=0123456789abcdef0123456789abcdef#node1`,
    secret: '0123456789abcdef0123456789abcdef',
  },
} as const;

/** The same locations as a form gives them: fields and secrets, no SPEC. */
const INPUTS: Record<keyof typeof SAMPLES, LocationInput> = {
  local: { kind: 'local', name: 'usb', fields: { folder: '/srv/vault-a' } },
  sftp: {
    kind: 'sftp',
    name: 'nas',
    fields: { user: 'bob', host: 'nas.example', port: '2222', path: '/srv/v' },
    secrets: { password: 'pa/ss-sftp' },
    hostKey: FP,
  },
  webdav: {
    kind: 'webdav',
    name: 'cloud',
    fields: { url: 'https://dav.example/remote/dav', user: 'alice' },
    secrets: { password: 'dav@secret' },
  },
  s3: {
    kind: 's3',
    name: 'bucket',
    fields: {
      endpoint: 'https://s3.example.org:9000',
      bucket: 'bucket-1',
      prefix: 'vaults/a',
      region: 'eu-1',
      style: 'path',
      accessKeyId: 'AKIAEXAMPLE',
    },
    secrets: { secretAccessKey: 'wJalr+XUt/nfe' },
  },
  node: {
    kind: 'node',
    name: 'node1',
    fields: { address: `node+https://nas.example:4431/?fingerprint=${FP}&enrol=0123456789abcdef0123456789abcdef` },
  },
};

/** Secrets without those the engine makes at random (each call anew: a device key), each checked to be there. */
function givenSecrets(kind: keyof typeof SAMPLES, secrets: LocationSecrets | null): LocationSecrets | null {
  if (secrets === null) return null;
  const random = generatedFieldNames(kind).filter((name) => {
    const value = secrets[name as keyof LocationSecrets];
    return value !== undefined && !SAMPLES[kind].spec.includes(value);
  });
  for (const name of random) expect(secrets[name as keyof LocationSecrets], name).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const rest = Object.fromEntries(Object.entries(secrets).filter(([k]) => !random.includes(k)));
  return Object.keys(rest).length > 0 ? rest : null;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = nodePath.join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry) ? [path] : [];
  });
}

describe('location kinds', () => {
  it('the registry has exactly the kinds the shared list names, each under its own name', () => {
    expect(Object.keys(KINDS).sort()).toEqual([...LOCATION_KIND_NAMES].sort());
    for (const name of LOCATION_KIND_NAMES) expect(KINDS[name].name).toBe(name);
    expect(Object.keys(SAMPLES).sort()).toEqual([...LOCATION_KIND_NAMES].sort());
  });

  it('no source file outside the shared list spells out the kinds again', () => {
    const root = nodePath.join(import.meta.dirname, '..', 'src');
    const list = /['"](local|sftp|webdav|s3)['"]\s*[,|]\s*['"](local|sftp|webdav|s3)['"]/;
    const offenders = sourceFiles(root)
      .filter((f) => !f.endsWith(nodePath.join('shared', 'location-kinds.ts')))
      .filter((f) => list.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('the name rule and the secret fields come from the one list', () => {
    expect(isLocationName('nas-2.b_x')).toBe(true);
    expect(isLocationName('-x')).toBe(false);
    expect(isLocationName('a'.repeat(65))).toBe(false);
    expect([...SECRET_FIELD_NAMES].sort()).toEqual([
      'deviceKey',
      'enrolCode',
      'keyPassphrase',
      'password',
      'secretAccessKey',
    ]);
  });

  it('each kind names conformance tests that exist, and no two kinds share a scheme', () => {
    const schemes = LOCATION_KIND_NAMES.flatMap((k) => KINDS[k].schemes);
    expect(new Set(schemes).size).toBe(schemes.length);
    for (const name of LOCATION_KIND_NAMES) {
      expect(KINDS[name].conformance.length, name).toBeGreaterThan(0);
      for (const file of KINDS[name].conformance) expect(existsSync(file), file).toBe(true);
    }
  });

  it("each kind's conformance files run the suite over the kind's production composition", () => {
    for (const name of LOCATION_KIND_NAMES) {
      for (const file of KINDS[name].conformance) {
        // The node a conformance file hands runConformance comes from the kind's compose (or its
        // open, which applies it): a bare node would test what production never runs. (A file
        // may run it over more wrappers besides: local.test.ts tests each one alone.)
        const calls = readFileSync(file, 'utf8')
          .split('runConformance(')
          .slice(1)
          .map((call) => call.slice(0, call.indexOf('\n\n')));
        const composed = new RegExp(`KINDS\\.${name}\\.(compose|open)\\(`);
        expect(
          calls.some((call) => composed.test(call)),
          file,
        ).toBe(true);
      }
    }
  });

  describe.each(LOCATION_KIND_NAMES)('%s', (name) => {
    const sample = SAMPLES[name];

    it('is the kind its SPEC is read as, and keeps its secret out of the stored spec and display', () => {
      expect(kindOfSpec(sample.spec).name).toBe(name);
      const parsed = parseSpec(sample.spec);
      expect(parsed.kind).toBe(name);
      expect(parsed.name).toBe(sample.spec.slice(sample.spec.lastIndexOf('#') + 1));
      if (sample.secret === null) {
        expect(parsed.secrets).toBeNull();
      } else {
        const secrets = Object.values(givenSecrets(name, parsed.secrets) ?? {});
        expect(secrets).toEqual([sample.secret]);
        for (const key of Object.keys(parsed.secrets ?? {})) expect(SECRET_FIELD_NAMES).toContain(key);
        const fields = LOCATION_KINDS[name].fields as readonly { name: string; secret?: boolean }[];
        for (const key of Object.keys(parsed.secrets ?? {}))
          expect(fields.find((f) => f.name === key)?.secret, key).toBe(true);
        for (const shown of [parsed.spec, parsed.display]) {
          expect(shown).not.toContain(sample.secret);
          expect(shown).not.toContain(encodeURIComponent(sample.secret));
        }
      }
      expect(displaySpec(parsed)).toBe(parsed.display);
      // The stored spec reads again as the same location (what a profile holds is a SPEC).
      const again = parseSpec(`${parsed.spec}#${parsed.name}`);
      expect(again.spec).toBe(parsed.spec);
      expect(again.secrets).toBeNull();
    });

    it("reads the same location from a form's fields as from its SPEC", () => {
      const fromForm = readLocation(INPUTS[name]);
      const fromSpec = parseSpec(sample.spec);
      expect({ ...fromForm, secrets: givenSecrets(name, fromForm.secrets) }).toEqual({
        ...fromSpec,
        secrets: givenSecrets(name, fromSpec.secrets),
      });
    });

    it('makes its node from the stored spec and the sealed secrets alone', async () => {
      const parsed = requirePrivateTransport(parseSpec(sample.spec));
      const node = createNode(parsed, parsed.secrets);
      expect(node.kind).toBe(name);
      expect(node.display).toBe(parsed.display);
      await node.close();
    });
  });

  it('refuses fields and secrets a kind does not have, naming them', () => {
    expect(() => readLocation({ kind: 'local', fields: { folder: '/x', url: 'y' } })).toThrow(/no field url/);
    expect(() => readLocation({ kind: 'local', fields: { folder: '/x' }, secrets: { password: 'pw' } })).toThrow(
      /no secret password/,
    );
    expect(() => readLocation({ kind: 's3', fields: { endpoint: 'https://h' }, secrets: { password: 'pw' } })).toThrow(
      /no secret password/,
    );
    expect(() => readLocation({ kind: 'local', fields: { folder: 'relative/x' } })).toThrow(/full path/);
    expect(() =>
      readLocation({ kind: 'webdav', fields: { url: 'https://dav.example/x' }, secrets: { password: 'pw' } }),
    ).toThrow(/a password needs a user name/);
  });

  it('refuses a folder SPEC that is a name alone, never the folder it runs in', () => {
    // A script that built '#n1' from an empty variable once added its working folder.
    expect(() => parseSpec('#n1')).toThrow(/names no folder/);
    expect(() => parseSpec('  #n1')).toThrow(/names no folder/);
    expect(parseSpec('./here#n1').spec).toBe(nodePath.resolve('here'));
  });

  it('refuses an S3 node without its secret key, naming the location but no key', () => {
    const parsed = parseSpec(SAMPLES.s3.spec);
    expect(() => createNode(parsed, null)).toThrow(/s3:\/\/s3\.example\.org:9000\/bucket-1\/vaults\/a: no secret key/);
    expect(() => createNode(parsed, null)).not.toThrow(/AKIAEXAMPLE/);
  });

  it('refuses s3+http to another machine unless allowed, and records the consent', () => {
    const spec = 's3+http://KEY:secret@s3.example.org/bucket-1#far';
    expect(() => requirePrivateTransport(parseSpec(spec))).toThrow(/plain http/);
    const allowed = requirePrivateTransport(parseSpec(spec), true);
    expect(allowed.spec).toContain('insecure-http=1');
    expect(allowed.spec).not.toContain('secret');
    expect(requirePrivateTransport(parseSpec('s3+http://KEY:secret@127.0.0.1:4568/bucket-1')).spec).not.toContain(
      'insecure-http',
    );
  });
});
