/**
 * Worker thread entry: seals segments for one put (seal-segment.ts) while the main thread
 * reads, hashes and writes. Bundled beside the CLI and the Electron main process; where it
 * is not (tests from source), the pool seals on the main thread instead.
 */
import { parentPort } from 'node:worker_threads';
import { wipe } from '../crypto/bytes';
import { SegmentSealer, type SealFile } from './seal-segment';

type Message =
  | { kind: 'file'; file: SealFile }
  | { kind: 'segment'; id: number; segment: Uint8Array; index: number; last: boolean }
  | { kind: 'end' };

let sealer: SegmentSealer | null = null;
let keys: readonly Uint8Array[] = [];

parentPort?.on('message', (message: Message) => {
  switch (message.kind) {
    case 'file':
      sealer = new SegmentSealer(message.file);
      keys = message.file.keys;
      break;
    case 'segment': {
      try {
        const sealed = sealer!.seal(message.segment, message.index, message.last);
        // Move the ciphertexts back without a copy, but only buffers they own alone (small
        // ones may share Node's pool, which must stay here).
        const transfer = sealed.bodies
          .filter((b) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.byteLength >= 4096)
          .map((b) => b.buffer as ArrayBuffer);
        parentPort!.postMessage({ id: message.id, sealed }, transfer);
      } catch (err) {
        parentPort!.postMessage({ id: message.id, error: (err as Error).message });
      }
      break;
    }
    case 'end':
      wipe(...keys);
      sealer = null;
      break;
  }
});
