// Loaded into `shardvault serve` by `node scripts/bench.mjs --lag` (node --import), so the
// event-loop delay is read inside the real process without touching the engine: every
// SIGUSR2 appends one JSON line to $SHARDVAULT_BENCH_LAG_FILE with the delays seen since the
// previous SIGUSR2, then starts over. The bench signals once before a put and once after it.
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

// Each sample is the time between two ticks of a timer due every RESOLUTION_MS, so an idle
// loop reads RESOLUTION_MS: the lag is a sample minus that.
const RESOLUTION_MS = 10;
const file = process.env.SHARDVAULT_BENCH_LAG_FILE;

// Preloads also run in worker threads (the seal worker): only the main thread serves the UI.
if (isMainThread && file) {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const lagMs = (ns) => Math.max(0, +(ns / 1e6 - RESOLUTION_MS).toFixed(2));
  process.on('SIGUSR2', () => {
    const line = {
      samples: histogram.count,
      resolutionMs: RESOLUTION_MS,
      p50Ms: lagMs(histogram.percentile(50)),
      p99Ms: lagMs(histogram.percentile(99)),
      maxMs: lagMs(histogram.max),
    };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
    histogram.reset();
  });
}
