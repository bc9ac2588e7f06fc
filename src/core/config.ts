/**
 * What the engine takes from its host instead of reading it itself: the variables location
 * access needs, the read timeout, whether to seal in a worker thread, and where warnings go
 * when no caller took them. The front ends (src/cli/main.ts, src/main/index.ts) read their
 * environment and call `configureEngine` once at start; nothing in src/core reads
 * `process.env` or writes to stderr. An engine nobody configured (a test, an embedder) runs
 * with the defaults below: no environment, a 20 s read timeout, the worker, warnings dropped.
 */

/** Whole-process variables, as `process.env` has them. */
export type Environment = Readonly<Record<string, string | undefined>>;

export interface EngineConfig {
  /** What location access reads: SSH_AUTH_SOCK and HOME (the ssh-agent, ~/.ssh keys) and
   * SHARDVAULT_SFTP_KEY_PASSPHRASE (an encrypted SFTP key's passphrase, for scripts); and
   * NODE_OPTIONS, whose flags about V8's compilers the guard leaves alone (guard/group.ts). */
  readonly env: Environment;
  /** How long a read may wait for a location before it counts as offline and the read moves
   * to another shard: a hung server must not stall a get forever. */
  readonly readTimeoutMs: number;
  /** Seal and open in a worker thread when the bundled worker is there (seal-pool.ts). */
  readonly sealWorker: boolean;
  /** A warning no caller's `onWarning` took (createApp's engine). */
  readonly warn: (message: string) => void;
}

export const DEFAULT_READ_TIMEOUT_MS = 20_000;

const DEFAULTS: EngineConfig = {
  env: {},
  readTimeoutMs: DEFAULT_READ_TIMEOUT_MS,
  sealWorker: true,
  warn: () => undefined,
};

let current: EngineConfig = DEFAULTS;

/** Sets what is given, keeps the rest; `configureEngine()` goes back to the defaults. */
export function configureEngine(change?: Partial<EngineConfig>): void {
  current = change === undefined ? DEFAULTS : { ...current, ...change };
}

export function engineConfig(): EngineConfig {
  return current;
}

/**
 * The configuration a front end's environment asks for: the variables themselves,
 * SHARDVAULT_READ_TIMEOUT_MS (milliseconds, for tests of a hung server) and
 * SHARDVAULT_NO_WORKER (seal on the main thread). The front end passes its `process.env`.
 */
export function configFromEnvironment(env: Environment): Partial<EngineConfig> {
  const timeout = Number(env['SHARDVAULT_READ_TIMEOUT_MS']);
  return {
    env,
    readTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_READ_TIMEOUT_MS,
    sealWorker: !env['SHARDVAULT_NO_WORKER'],
  };
}
