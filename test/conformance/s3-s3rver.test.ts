import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OfflineError, ShardvaultError } from '../../src/core/errors';
import { readObject } from '../../src/core/storage/node';
import { S3Node, type S3NodeOptions } from '../../src/core/storage/s3/node';
import type { S3Address } from '../../src/core/storage/s3/address';
import { startS3rver, type S3rverServer } from '../servers/s3rver';
import { equalBytes, generate, pattern, runConformance } from './suite';

let server: S3rverServer;
beforeAll(async () => {
  server = await startS3rver();
});
afterAll(async () => {
  await server?.stop();
});

function address(on: S3rverServer, extra: Partial<S3Address> = {}): S3Address {
  return {
    host: on.host,
    port: on.port,
    bucket: on.bucket,
    region: 'us-east-1',
    style: 'path',
    accessKeyId: on.accessKeyId,
    secretAccessKey: on.secretAccessKey,
    secure: false,
    ...extra,
  };
}

function node(extra: Partial<S3Address> = {}, options: S3NodeOptions = {}): S3Node {
  return new S3Node(address(server, extra), options);
}

runConformance('S3 (s3rver)', () => Promise.resolve({ node: node() }));
