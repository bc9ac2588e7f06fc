import { sealFrameParts } from '../../crypto/stream';
import { ReedSolomon } from '../../erasure/reed-solomon';
import { CorruptError } from '../../errors';
import { Channel } from '../channel';
import { ShardDigest } from './digest';
import { readShards, type ReadSpec, type ShardProblem } from './read';
import { startUploads, type ShardTarget } from './write';

/**
 * Rebuilds shards from any k good ones: decodes each segment, re-encodes it, and seals the
 * wanted pieces again under their own keys with the same frame nonces. The same key, nonce
 * and plaintext give the same ciphertext, so the rebuilt bytes equal the originals and
 * match the manifest's hashes (checked before anything is renamed into place).
 */
export async function rebuildShards(
  spec: ReadSpec,
  targets: readonly ShardTarget[],
  onProgress?: (bytes: number) => void,
): Promise<ShardProblem[]> {
  const g = spec.geometry;
  const rs = new ReedSolomon(g.data, g.total);
  const wanted = [...new Set(targets.map((t) => t.index))];
  for (const j of wanted) if (!spec.keys[j]) throw new CorruptError(`shard ${j}'s key can't be unwrapped`);
  const channels = targets.map(() => new Channel(4));
  const { uploads, cause } = startUploads(targets, channels);
  const digests = new Map(wanted.map((j) => [j, new ShardDigest(spec.headers[j]!)]));
  const send = async (j: number, ...parts: Uint8Array[]): Promise<void> => {
    for (const bytes of parts) {
      await Promise.all(channels.filter((_, i) => targets[i]!.index === j).map((c) => c.push(bytes)));
    }
  };
  try {
    for (const j of wanted) await send(j, spec.headers[j]!);
    const problems = await readShards(
      spec,
      async (segment) => {
        const pieces = [...segment.pieces];
        const all = wanted.some((j) => j >= g.data) ? [...pieces, ...rs.encode(pieces)] : pieces;
        for (const j of wanted) {
          const [body, tag] = sealFrameParts(spec.keys[j]!, segment.index, segment.last, all[j]!, spec.headers[j]!);
          digests.get(j)!.frame(tag);
          await send(j, body, tag);
        }
      },
      { onProgress },
    );
    for (const j of wanted) {
      if (digests.get(j)!.hex() !== spec.shardDigests[j]) {
        throw new CorruptError(`rebuilt shard ${j} does not match its recorded hash`);
      }
    }
    channels.forEach((c) => c.close());
    await Promise.all(uploads);
    return problems;
  } catch (err) {
    const reason = err instanceof Error ? err : new Error(String(err));
    channels.forEach((c) => c.abort(reason));
    await Promise.allSettled(uploads);
    throw cause() ?? err;
  }
}
