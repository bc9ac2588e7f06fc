/**
 * `shardvault policy set|status|resume` (vault/policy-change.ts): change the policy of an
 * existing vault and re-code its files, see how far that is, resume it on any device.
 */
import { spawn } from 'node:child_process';
import type { PolicyJobStatus } from '../../shared/api';
import { formatBytes, formatDuration, plural } from '../../shared/format';
import { andList } from '../../shared/words';
import { ShardvaultError, UsageError } from '../../core/errors';
import {
  changePolicy,
  clearJobProgress,
  jobStatus,
  readJobProgress,
  runRecode,
  writeJobProgress,
  type PolicyRequest,
  type RecodeProgress,
} from '../../core/vault/policy-change';
import { profileDir } from '../../core/vault/profile';
import type { Vault } from '../../core/vault/vault';
import { integer, type Parsed } from '../args';
import { usageError, type Run } from '../command';
import { print, withVault, type Io } from '../context';
import { policyJobWords } from '../format';

export const policy: Run = async (args, io, self) => {
  const [sub, ...rest] = args.positional;
  if (rest.length > 0) throw usageError(self);
  const background = args.flags.has('background');
  switch (sub) {
    case 'set': {
      const req = requestOf(args);
      let secret: string | undefined;
      const change = await withVault(io, args, { unlock: true }, async (vault, passphrase) => {
        secret = passphrase;
        const changed = await changePolicy(vault, req);
        if (!io.json) {
          io.err(
            `shardvault: policy now k = ${changed.to.data} of n = ${changed.to.total}, unlock needs t = ${changed.to.threshold}` +
              (changed.rotated ? '; the vault key was rotated: key shares from the old deal open nothing' : '') +
              `; ${plural(changed.files, 'file')} (${formatBytes(changed.bytes)}) to re-code`,
          );
        }
        if (!background) await recode(vault, io);
        return { ...changed, job: jobStatus(vault.head()) };
      });
      if (background && change.job) startInBackground(io, secret);
      print(io, change, () => finalWords(change.job, background));
      return 0;
    }
    case 'resume': {
      if (background) {
        // Unlocked once here, so a wrong passphrase is said now, not lost in the background.
        const secret = await withVault(io, args, { unlock: true }, (_vault, passphrase) => Promise.resolve(passphrase));
        startInBackground(io, secret);
        print(
          io,
          { background: true },
          () => 'Re-coding goes on in the background; `shardvault policy status` shows how far',
        );
        return 0;
      }
      // Started by `--background`: the process that started it may still hold the lock a moment.
      const job = await withVault(io, args, { unlock: true, waitForLockMs: 10_000 }, async (vault) => {
        await recode(vault, io);
        return jobStatus(vault.head());
      });
      print(io, { job }, () => finalWords(job, false));
      return 0;
    }
    case 'status': {
      let answer: {
        running: boolean;
        pid?: number;
        secondsLeft?: number | null;
        job: PolicyJobStatus | null;
        policy?: unknown;
      };
      try {
        answer = await withVault(io, args, { unlock: true }, (vault) => {
          const p = vault.policy;
          return Promise.resolve({
            running: false,
            job: jobStatus(vault.head()),
            policy: { data: p.data, total: p.total, threshold: p.threshold, survives: vault.policySurvives() },
          });
        });
      } catch (err) {
        // A job holds the profile lock while it runs: its progress file answers instead.
        if (!(err instanceof ShardvaultError && err.code === 'busy')) throw err;
        const p = await readJobProgress(profileDir(process.env));
        if (!p) throw err;
        answer = {
          running: true,
          pid: p.pid,
          secondsLeft: p.secondsLeft,
          job: null,
          ...{ progress: p },
        };
        print(
          io,
          answer,
          () =>
            `Re-coding in another process (pid ${p.pid}): ${p.filesDone} of ${p.files} files (${formatBytes(p.bytesDone)} of ${formatBytes(p.bytes)})` +
            (p.secondsLeft === null ? '' : `, about ${formatDuration(p.secondsLeft)} left`),
        );
        return 0;
      }
      print(io, answer, () => {
        const p = answer.policy as { data: number; total: number; threshold: number; survives: number };
        return [
          `Policy: k = ${p.data} of n = ${p.total}, unlock needs t = ${p.threshold}; survives losing ${plural(p.survives, 'location')}`,
          answer.job
            ? `${policyJobWords(answer.job)} (not running: shardvault policy resume)`
            : 'No re-coding job: every file has its coding.',
        ].join('\n');
      });
      return 0;
    }
    default:
      throw usageError(self);
  }
};

function requestOf(args: Parsed): PolicyRequest {
  const survive = integer(args, 'survive', 0, 254);
  const secretAgainst = integer(args, 'secret-against', 0, 254);
  const data = integer(args, 'data', 1, 255);
  const total = integer(args, 'total', 1, 255);
  const threshold = integer(args, 'threshold', 1, 255);
  if (survive !== undefined || secretAgainst !== undefined) {
    if (data !== undefined || total !== undefined || threshold !== undefined)
      throw new UsageError('give either --survive/--secret-against or --data/--total/--threshold, not both');
    if (survive === undefined || secretAgainst === undefined)
      throw new UsageError('--survive and --secret-against go together');
    return { survive, secretAgainst };
  }
  if (data === undefined || total === undefined || threshold === undefined)
    throw new UsageError('policy set needs --survive X --secret-against Y, or --data K --total N --threshold T');
  return { data, total, threshold };
}

/** Runs the head's job to its end, drawing progress on a terminal and leaving it for `policy status`. */
async function recode(vault: Vault, io: Io): Promise<RecodeProgress> {
  const tty = process.stderr.isTTY && !io.json;
  const dir = profileDir(process.env);
  // One write at a time, the file first, then the words: whoever reads the words finds the
  // file (policy status), and none lands after the file is cleared.
  let writing = Promise.resolve();
  try {
    const last = await runRecode(vault, {
      onProgress: (p) => {
        writing = writing
          .then(() => writeJobProgress(dir, { ...p, pid: process.pid }))
          .catch(() => undefined)
          .then(() => drawProgress(p, tty, io));
      },
    });
    await writing;
    if (tty && last.files > 0) process.stderr.write('\n');
    return last;
  } finally {
    await writing;
    await clearJobProgress(dir);
  }
}

/** A terminal gets one line drawn over; a log gets a line per file. */
function drawProgress(p: RecodeProgress, tty: boolean, io: Io): void {
  const words =
    `re-coded ${p.filesDone} of ${p.files} files, ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytes)}` +
    (p.waitingFor.length > 0
      ? `; paused, the rest waits for ${andList(p.waitingFor)}`
      : p.secondsLeft === null
        ? ''
        : `, about ${formatDuration(p.secondsLeft)} left`);
  if (tty) process.stderr.write(`\r\x1b[K${words}`);
  else if (!io.json) io.err(`shardvault: ${words}`);
}

/** A detached `policy resume` that outlives this command (the secrets go to it as the environment this one had). */
function startInBackground(io: Io, passphrase: string | undefined): void {
  const script = process.argv[1];
  if (!script) throw new ShardvaultError('io', 'cannot tell how this command was started, to start the job');
  const child = spawn(process.execPath, [script, 'policy', 'resume'], {
    detached: true,
    stdio: 'ignore',
    env: passphrase === undefined ? process.env : { ...process.env, SHARDVAULT_PASSPHRASE: passphrase },
  });
  child.unref();
  if (!io.json) io.err(`shardvault: re-coding continues in the background (pid ${child.pid ?? '?'})`);
}

function finalWords(job: PolicyJobStatus | null, background: boolean): string {
  if (!job) return 'Every file is re-coded to the new policy.';
  return background ? `${policyJobWords(job)}; running in the background` : policyJobWords(job);
}
