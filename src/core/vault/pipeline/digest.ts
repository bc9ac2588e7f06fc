import { createHash, type Hash } from 'node:crypto';
import { TAG_BYTES } from '../../crypto/aead';

/**
 * A shard's digest: SHA-256 over its header and the tag of every frame, in order. Each tag
 * authenticates its frame under the shard key (which no location knows), so the digest
 * commits to every stored byte for anyone who can't forge GCM tags, while hashing 16 bytes
 * per frame instead of the whole shard (docs/PERFORMANCE.md).
 */
export class ShardDigest {
  private readonly hash: Hash = createHash('sha256');
  constructor(header: Uint8Array) {
    this.hash.update(header);
  }
  /** Takes a frame's tag (its last TAG_BYTES bytes; a whole frame may be passed). */
  frame(frameOrTag: Uint8Array): void {
    this.hash.update(frameOrTag.subarray(frameOrTag.length - TAG_BYTES));
  }
  hex(): string {
    return this.hash.digest('hex');
  }
}
