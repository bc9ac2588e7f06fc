/**
 * The conformance suite against any S3-compatible endpoint, run by hand:
 *
 *   SHARDVAULT_TEST_S3_ENDPOINT='s3://KEY:SECRET@HOST/BUCKET[/PREFIX][?region=R&style=virtual]' \
 *     npx vitest run test/conformance/s3-endpoint.test.ts
 *
 * (s3+http:// to another machine needs `insecure-http=1` in the SPEC.) The bucket must exist.
 * Each run works below PREFIX/shardvault-conformance-<time>-<random>/ and deletes what it
 * made there at the end. Unlike s3rver, a real server checks signatures and replaces objects
 * atomically, so the whole suite runs, and a wrong secret key is tested too.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { ShardvaultError } from '../../src/core/errors';
import { checkS3Address, s3Endpoint, type S3Address } from '../../src/core/storage/s3/address';
import { S3Node } from '../../src/core/storage/s3/node';
import { parseS3Spec } from '../../src/core/storage/s3/spec';
import { runConformance } from './suite';
import { KINDS } from '../../src/core/storage/kinds';

const SPEC = process.env.SHARDVAULT_TEST_S3_ENDPOINT ?? '';

if (SPEC === '') {
  console.info('S3 endpoint conformance skipped: SHARDVAULT_TEST_S3_ENDPOINT is not set (an s3:// SPEC)');
}

describe.skipIf(SPEC === '')('S3 (SHARDVAULT_TEST_S3_ENDPOINT)', () => {
  const given = SPEC === '' ? null : parseS3Spec(SPEC);
  const run = `shardvault-conformance-${Date.now()}-${randomBytes(3).toString('hex')}`;
  const address = (): S3Address => {
    if (given === null) throw new Error('no endpoint');
    return checkS3Address({ ...given, prefix: given.prefix ? `${given.prefix}/${run}` : run });
  };

  afterAll(async () => {
    if (given !== null) await deleteBelow(address());
  }, 120_000);

  runConformance(`S3 (${SPEC === '' ? 'unset' : new S3Node(address()).display})`, () =>
    Promise.resolve({ node: KINDS.s3.compose(new S3Node(address())) }),
  );

  it('refuses a wrong secret key as a permission error, in words', async () => {
    const wrong = new S3Node({ ...address(), secretAccessKey: `${address().secretAccessKey}x` });
    try {
      const err = await wrong.stat('x').catch((e: unknown) => e);
      expect((err as ShardvaultError).code).toBe('permission');
      expect((err as Error).message).toMatch(/check the access key ID and secret key/);
    } finally {
      await wrong.close();
    }
  });
});

/** Deletes every key below the address's prefix (the suite leaves names the node won't delete). */
async function deleteBelow(address: S3Address): Promise<void> {
  const sdk = await import('@aws-sdk/client-s3');
  const client = new sdk.S3Client({
    endpoint: s3Endpoint(address),
    forcePathStyle: address.style === 'path',
    region: address.region,
    credentials: { accessKeyId: address.accessKeyId, secretAccessKey: address.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    let token: string | undefined;
    do {
      const page = await client.send(
        new sdk.ListObjectsV2Command({
          Bucket: address.bucket,
          Prefix: `${address.prefix}/`,
          ContinuationToken: token,
        }),
      );
      for (const entry of page.Contents ?? []) {
        if (entry.Key) await client.send(new sdk.DeleteObjectCommand({ Bucket: address.bucket, Key: entry.Key }));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } finally {
    client.destroy();
  }
}
