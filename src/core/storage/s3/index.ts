/**
 * The S3 location kind, as one entry point for the location-kind registry: the address and
 * its checks, the CLI notation, the display, and the node factory. Nothing here loads the
 * AWS SDK: the node imports it on its first call (node.ts), so a vault without an S3
 * location never does.
 */
import type { StorageNode } from '../node';
import type { S3Address } from './address';
import { S3Node, type S3NodeOptions } from './node';

export {
  checkS3Address,
  DEFAULT_S3_REGION,
  displayS3,
  plainHttpS3Host,
  requireS3Transport,
  type S3Address,
  type S3Style,
} from './address';
export { S3Node, type S3NodeOptions } from './node';
export { formatS3Spec, parseS3Spec } from './spec';

/** The fields of an S3Address that are secret: sealed in the profile, never shown. */
export const S3_SECRET_FIELDS = ['secretAccessKey'] as const satisfies readonly (keyof S3Address)[];

/**
 * A node for an S3 address (checked here: throws UsageError for a bad field, or for plain
 * http to another machine without allowInsecureHttp). Wrap it with withRetry/withBreaker as
 * the other kinds are.
 */
export function createS3Node(address: S3Address, options: S3NodeOptions = {}): StorageNode {
  return new S3Node(address, options);
}
