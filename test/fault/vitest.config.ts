// The fault-injection suite (issue 4): real CLI processes killed at seeded moments, damaged
// and rolled-back locations, full and read-only mounts, real SFTP/WebDAV servers stopped and
// frozen, two machines on one vault. Slow and root-only, so it runs apart from `vitest run`:
// `npx vitest run --config test/fault/vitest.config.ts`. SHARDVAULT_FAULT_SEED replays a run,
// SHARDVAULT_FAULT_LONG=1 runs the long mode.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The two longest files first, one per worker, so the rest fills in beside them. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification): number =>
      f.moduleId.endsWith('servers.test.ts') ? 0 : f.moduleId.endsWith('kill.test.ts') ? 1 : 2;
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/fault/**/*.test.ts'],
    globalSetup: ['test/fault/global-setup.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Two files at once on two cores: the kill trials keep the CPU busy while the server
    // scenario mostly waits on frozen servers.
    fileParallelism: true,
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst },
  },
});
