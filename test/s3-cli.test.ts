/**
 * An S3 location from the CLI (issue 11): added to a vault of folders by its SPEC, its secret
 * key sealed in the profile (never in the stored address), tested, listed as `s3`, and
 * refused where its SPEC lacks what it needs, against s3rver (test/servers/s3rver.ts).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocationTest, StatusReport } from '../src/shared/api';
import { startS3rver, type S3rverServer } from './servers/s3rver';
import { ensureBuilt, parseJson, runCli, TempRoot, type CliResult } from './helpers/cli';

const PASS = 's3 field passphrase';
let root: TempRoot;
let home: string;
let s3: S3rverServer;
const SECRET = `wJal/rXU+tn${randomBytes(6).toString('hex')}`;

const cli = (args: string[]): Promise<CliResult> =>
  runCli(args, { env: { SHARDVAULT_HOME: home, SHARDVAULT_PASSPHRASE: PASS }, timeoutMs: 60_000 });

const spec = (secret: string | null, prefix: string, name: string): string =>
  `s3+http://${s3.accessKeyId}${secret === null ? '' : `:${encodeURIComponent(secret)}`}@${s3.host}:${s3.port}/` +
  `${s3.bucket}/${prefix}#${name}`;

beforeAll(async () => {
  ensureBuilt();
  root = await TempRoot.create('shardvault-s3-cli-');
  home = await root.dir('home');
  s3 = await startS3rver();
  const [a, b, c] = await root.locations('folders', 3);
  const init = await cli([
    'init',
    '--location',
    `${a}#a`,
    '--location',
    `${b}#b`,
    '--location',
    `${c}#c`,
    '--survive',
    '1',
    '--secret-against',
    '1',
    '--insecure-kdf-cost',
    '10',
  ]);
  expect(init.code, init.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await s3?.stop();
  await root?.cleanup();
});

describe('an S3 location from the CLI', () => {
  it('is added by its SPEC, listed as s3 without any key, and its secret is sealed', async () => {
    const added = await cli(['location', 'add', spec(SECRET, 'vaults/alice', 'bucket')]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).not.toContain(SECRET);
    const status = parseJson<StatusReport>(await cli(['status', '--json']));
    const bucket = status.locations.find((l) => l.name === 'bucket');
    expect(bucket).toMatchObject({
      kind: 's3',
      reachable: true,
      display: `s3+http://${s3.host}:${s3.port}/${s3.bucket}/vaults/alice`,
    });
    const profile = await readFile(nodePath.join(home, 'profile.json'), 'utf8');
    expect(profile).not.toContain(SECRET);
    expect(profile).not.toContain(encodeURIComponent(SECRET));
    expect(profile).toContain(`"spec": "s3+http://${s3.accessKeyId}@${s3.host}:${s3.port}/${s3.bucket}/vaults/alice"`);
  });

  it('is tested with a write and a read back', async () => {
    const r = await cli(['location', 'test', 'bucket', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const t = parseJson<LocationTest>(r);
    expect(t.reachable).toBe(true);
    expect(t.roundTripMs).toBeGreaterThan(0);
  });

  it('without its secret key is refused, saying so', async () => {
    const r = await cli(['location', 'add', spec(null, 'vaults/bob', 'nokey')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no secret key/);
  });

  it('over plain http to another machine is refused without --allow-insecure-http', async () => {
    const r = await cli(['location', 'add', `s3+http://KEY:${encodeURIComponent(SECRET)}@s3.example.invalid/b-1#far`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--allow-insecure-http/);
    expect(r.stderr).not.toContain(SECRET);
  });
});
