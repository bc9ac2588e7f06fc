// What the preload exposes (src/preload/index.ts, checked there with `satisfies`); absent in
// the web UI, which talks to `shardvault serve` instead (bridge/client.ts).
import type { ShardvaultBridge } from '../../shared/ipc';

declare global {
  interface Window {
    readonly shardvault?: ShardvaultBridge;
  }
}
