// The adversarial suite (issue 9, "A hostile location changes nothing"): hostile locations
// write forged but well-formed records (key shares, heads, manifests, shards, log entries,
// location records) and the owner's CLI must not follow them. Real CLI processes over real
// folders, so it runs apart from `vitest run`:
// `npx vitest run --config test/adversary/vitest.config.ts` (npm run test:adversary).
// Every test/adversary/*.test.ts is picked up; the global setup hands each file the ledger
// (SHARDVAULT_ADVERSARY_LEDGER) its cases are counted in and prints the summary at the end.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** The three longest files first, so the short ones fill in beside them on the two workers. */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const longest = ['forgeries-3of5.test.ts', 'key-shares.test.ts', 'forgeries-2of3.test.ts'];
    const rank = (f: TestSpecification): number => {
      const at = longest.findIndex((name) => f.moduleId.endsWith(name));
      return at < 0 ? longest.length : at;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/adversary/**/*.test.ts'],
    globalSetup: ['test/adversary/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at once on two cores: most of a case is CLI processes waiting on each other.
    fileParallelism: true,
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst },
  },
});
