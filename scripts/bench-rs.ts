/**
 * Throughput of the Reed-Solomon codec on 1 MiB segments (numbers go to docs/ERASURE.md).
 *
 *   npx esbuild scripts/bench-rs.ts --bundle --platform=node --format=esm --outfile=/tmp/bench-rs.mjs
 *   node /tmp/bench-rs.mjs
 *
 * MB/s counts data bytes (10^6 per MB): the 1 MiB segment, not the parity. Each figure is the
 * median time of repeated calls after a warm-up; the whole table is measured ROUNDS times and
 * the best median kept, because on a shared machine other jobs only ever slow a round down.
 */
import { ReedSolomon } from '../src/core/erasure/reed-solomon';

const SEGMENT = 1 << 20;
const SECONDS = 0.5;
const ROUNDS = 3;

function random(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(length, i + 65536)));
  return out;
}

function measure(run: () => void): number {
  for (let i = 0; i < 5; i++) run();
  const times: number[] = [];
  const until = performance.now() + SECONDS * 1000;
  while (performance.now() < until) {
    const t = performance.now();
    run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1]!;
  return SEGMENT / 1e6 / (median / 1000);
}

interface Case {
  readonly name: string;
  readonly length: number;
  readonly runs: readonly (() => void)[];
}

const cases: Case[] = [];
for (const [k, m] of [
  [3, 2],
  [4, 2],
  [10, 4],
] as const) {
  const rs = new ReedSolomon(k, k + m);
  const length = Math.ceil(SEGMENT / k);
  const data = Array.from({ length: k }, () => random(length));
  const parity = rs.encode(data);
  const all = [...data, ...parity];
  // The vault cuts a segment into views of one buffer: views that do not start on a 4-byte
  // boundary cost a copy.
  const segment = random(length * k);
  const views = Array.from({ length: k }, (_, i) => segment.subarray(i * length, (i + 1) * length));
  const lostData = all.map((s, i) => (i < m ? null : s)); // worst case: m data shards gone
  const lostOne = all.map((s, i) => (i === 0 ? null : s));
  const lostParity = all.map((s, i) => (i >= k ? null : s));
  cases.push({
    name: `${k}+${m}`,
    length,
    runs: [
      () => rs.encode(data, parity),
      () => rs.encode(views, parity),
      () => rs.reconstructData(lostOne),
      () => rs.reconstructData(lostData),
      () => rs.reconstructAll(lostParity),
    ],
  });
}

const best = cases.map((c) => c.runs.map(() => 0));
for (let round = 0; round < ROUNDS; round++) {
  cases.forEach((c, i) => c.runs.forEach((run, j) => (best[i]![j] = Math.max(best[i]![j]!, measure(run)))));
}

console.log(`node ${process.version}, ${process.arch}; MB/s of data bytes, 1 MiB segments`);
console.log(
  '| code | piece bytes | encode | encode (views of one buffer) | rebuild 1 data | rebuild m data | rebuild all parity |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
cases.forEach((c, i) => console.log(`| ${c.name} | ${c.length} | ${best[i]!.map((f) => f.toFixed(0)).join(' | ')} |`));
