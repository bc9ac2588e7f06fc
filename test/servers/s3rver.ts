/**
 * s3rver (the npm dev dependency, run from node_modules/.bin) serving a temp folder on a
 * loopback port, with one bucket made at start (FIELD-NOTES).
 *
 * What it is not (so what its tests can't show):
 * - It checks that an access key ID exists, never a SigV4 signature: a wrong secret key is
 *   accepted. Refused credentials are tested with a wrong key ID here, and against a real
 *   endpoint (SHARDVAULT_TEST_S3_ENDPOINT) with a wrong secret.
 * - It writes an object into its file in place: a reader can see part of an object being
 *   replaced, and two writers of one key can mix (S3 and MinIO make either visible whole).
 * - It makes its list continuation tokens with DES, which OpenSSL 3 keeps in its legacy
 *   provider: without `--openssl-legacy-provider` a listing longer than one page is a 500.
 * - It does not implement AbortMultipartUpload (405).
 * Virtual-host requests (`BUCKET.s3.localhost`) reach it because `--service-endpoint
 * localhost` names the domain below which it reads the bucket from the host name.
 */
import { existsSync, mkdirSync } from 'node:fs';
import * as nodePath from 'node:path';
import { freePort, HOST, makeTempDir, removeDir, ServerProcess, waitForPort } from './process';

export interface S3rverServer {
  readonly host: string;
  readonly port: number;
  readonly bucket: string;
  /** s3rver's one account. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The folder on disk behind the bucket. */
  readonly dataDir: string;
  /** A host whose subdomain BUCKET.s3.<domain> the server reads as the bucket (virtual-host style). */
  readonly vhostDomain: string;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

const BIN = nodePath.resolve(import.meta.dirname, '../../node_modules/.bin/s3rver');

export async function startS3rver(bucket = 'shardvault-test'): Promise<S3rverServer> {
  if (!existsSync(BIN)) {
    throw new Error(`s3rver is not installed at ${BIN}: run npm install (it is a dev dependency)`);
  }
  const dir = await makeTempDir('s3rver');
  const data = nodePath.join(dir, 'data');
  mkdirSync(data);
  const port = await freePort();
  const server = new ServerProcess(
    's3rver',
    BIN,
    [
      '--directory',
      data,
      '--address',
      HOST,
      '--port',
      String(port),
      '--silent',
      '--service-endpoint',
      'localhost',
      '--configure-bucket',
      bucket,
    ],
    { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
  );
  try {
    await waitForPort(port, server);
  } catch (err) {
    await server.stop();
    await removeDir(dir);
    throw err;
  }
  return {
    host: HOST,
    port,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    dataDir: nodePath.join(data, bucket),
    vhostDomain: 'localhost',
    kill: () => server.stop(0),
    async stop() {
      await server.stop();
      await removeDir(dir);
    },
  };
}
