/**
 * Scenario 5: a vault over a local folder, OpenSSH SFTP, rclone WebDAV, Apache WebDAV and
 * another local folder (X = 2), with the servers killed, killed mid-transfer, frozen with
 * SIGSTOP and restarted. While at most X are down every file reads byte for byte; a put
 * that can't meet the policy is refused and leaves nothing visible; after the servers are
 * back, repair and verify --deep pass. A get around a frozen server must end: how long it
 * takes is measured and printed, and a get that does not end within the hang guard fails
 * the test with a clear message instead of hanging CI.
 *
 * Two sets of servers and two vaults: the frozen-server test (which mostly waits) runs
 * beside the kill/restart test.
 */
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { ensureBuilt } from '../helpers/cli';
import { Rng } from './rng';
import { apacheRemote, rcloneRemote, sftpRemote, type Remote } from './servers';
import { LONG, Stats } from './stats';
import { brief, describeRun, errorCode, FaultVault, Scratch } from './vault';

/** A get that has not ended by then is reported as hung. */
const HANG_GUARD_MS = 330_000;
/**
 * What a get around a frozen location should take with hedged reads (the goal): one
 * read timeout (the engine's default is 20 s) and the transfer.
 */
const HEDGED_BOUND_MS = 30_000;

const stats = new Stats('5 servers');
let root: Scratch;
const started: Remote[] = [];
let unavailable: string | null = null;

async function serverSet(tag: string): Promise<Remote[]> {
  const set = await Promise.all([sftpRemote(`sftp${tag}`), rcloneRemote(`rclone${tag}`), apacheRemote(`apache${tag}`)]);
  started.push(...set);
  return set;
}

let killSet: Remote[] = [];
let freezeSet: Remote[] = [];

beforeAll(async () => {
  ensureBuilt();
  root = await Scratch.create('shardvault-fault-servers-');
  try {
    [killSet, freezeSet] = await Promise.all([serverSet(''), serverSet('f')]);
  } catch (err) {
    unavailable = (err as Error).message;
    stats.skip(`the servers could not be started: ${unavailable}`);
  }
});

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
  stats.save(inject('faultStatsDir'));
  await root?.cleanup();
});

/** A vault over local + the three servers + local, holding files of `sizes`. */
async function remoteVault(
  label: string,
  remotes: readonly Remote[],
  sizes: readonly number[],
  rng: Rng,
): Promise<FaultVault> {
  const [a, b] = [await root.dir(label, 'local1'), await root.dir(label, 'local2')];
  const specs = [`${a}#local1`, ...remotes.map((r) => r.spec), `${b}#local2`];
  const vault = await FaultVault.init(label, await root.dir(label, 'work'), specs);
  for (const [i, size] of sizes.entries()) await vault.putOk(size, rng.u32(), `file-${i}`);
  return vault;
}

describe.concurrent('5: real servers stopped, frozen and restarted', () => {
  it('killed servers (one, two, mid-transfer): every file reads; a put that cannot meet the policy is refused cleanly', async ({
    expect,
    skip,
  }) => {
    if (unavailable) return skip(unavailable);
    const rng = Rng.for('servers kill');
    const vault = await remoteVault('kill', killSet, [1, 300_000, 1024 * 1024 + 1, 3 * 1024 * 1024], rng);
    const problems: string[] = [];
    let slowest = 0;
    const check = async (down: string, listing: 'ls' | 'get' = 'get'): Promise<void> => {
      const before = stats.filesChecked;
      const t = performance.now();
      for (const p of await vault.checkAll(stats, {}, { listing })) problems.push(`${down}: ${p}`);
      slowest = Math.max(slowest, (performance.now() - t) / Math.max(1, stats.filesChecked - before));
    };

    // One server at a time, killed: reads go on; a put is refused (only 4 locations reach
    // the placement, which would survive 1 loss instead of 2) and leaves nothing visible.
    for (const r of rng.shuffle(killSet)) {
      await r.kill();
      stats.faults++;
      stats.trials++;
      await check(`${r.name} killed`);
      const { path, expected } = await vault.newFile(rng.int(1000, 500_000), rng.u32());
      const put = await vault.put(path, `while-${r.name}-down`, expected);
      stats.note(`put with ${r.name} killed: ${brief(put)}`);
      // Refused or placed elsewhere (then committed); never half there (the final ls checks).
      if (put.code !== 0 && (put.code !== 4 || errorCode(put) !== 'unavailable'))
        problems.push(`put with ${r.name} down: ${describeRun(['put'], put)}`);
      await r.restart();
    }

    // A file put while a server was down survives one loss fewer until its held shards reach
    // that server, which the next put, rm or repair does (README, "A location that is away"):
    // the last server restarted gets them here, so that X = 2 holds for every file again.
    const moved = await vault.repair(false);
    if (moved.run.code !== 0) problems.push(`repair after the restarts: ${describeRun(['repair'], moved.run)}`);

    // Two at once (X = 2).
    const pair = rng.sample(killSet, 2);
    await Promise.all(pair.map((r) => r.kill()));
    stats.faults += 2;
    stats.trials++;
    await check(`${pair.map((r) => r.name).join(' + ')} killed`);
    await Promise.all(pair.map((r) => r.restart()));

    // Killed in the middle of a get: it finishes from the others, right bytes.
    for (const r of rng.shuffle(killSet)) {
      const big = 'file-3';
      const delay = rng.int(150, 700);
      const getting = vault.get(big, [vault.committed.get(big)!], stats);
      await new Promise((resolve) => setTimeout(resolve, delay));
      await r.kill();
      stats.faults++;
      stats.trials++;
      const got = await getting;
      problems.push(...got.problems);
      if (got.outcome !== 'ok')
        problems.push(`get ${big} with ${r.name} killed after ${delay} ms: ${describeRun(['get'], got.run)}`);
      await r.restart();
    }

    // All back: repair catches them up, verify --deep passes, everything reads.
    const rep = await vault.repair(false);
    const ver = await vault.verify(true);
    if (rep.run.code !== 0 || ver.run.code !== 0)
      problems.push(`${describeRun(['repair'], rep.run)}; ${describeRun(['verify', '--deep'], ver.run)}`);
    await check('all back', 'ls');
    stats.note(`servers killed: slowest get averaged ${(slowest / 1000).toFixed(1)} s per file`);
    expect(problems, `seed ${inject('faultSeed')}`).toEqual([]);
  });

  it(`frozen servers (SIGSTOP): a get finishes from the others within ${HEDGED_BOUND_MS / 1000} s`, async ({
    expect,
    skip,
  }) => {
    if (unavailable) return skip(unavailable);
    const rng = Rng.for('servers freeze');
    const vault = await remoteVault('freeze', freezeSet, [1000, 2 * 1024 * 1024 + 5], rng);
    const problems: string[] = [];
    // CI: one frozen server (seeded); long mode: each alone, then two at once.
    const rounds: Remote[][] = LONG
      ? [...freezeSet.map((r) => [r]), rng.sample(freezeSet, 2)]
      : [[rng.pick(freezeSet)]];
    for (const frozen of rounds) {
      const names = frozen.map((r) => r.name).join(' + ');
      frozen.forEach((r) => r.freeze());
      stats.faults += frozen.length;
      stats.trials++;
      try {
        const [name, e] = ['file-1', vault.committed.get('file-1')!] as const;
        const got = await vault.get(name, [e], stats, { timeoutMs: HANG_GUARD_MS });
        problems.push(...got.problems.filter((p) => !p.includes('HUNG')));
        if (got.run.timedOut) {
          problems.push(`get ${name} with ${names} frozen did not end within ${HANG_GUARD_MS / 1000} s: it HANGS`);
        } else if (got.outcome !== 'ok') {
          problems.push(`get ${name} with ${names} frozen: ${describeRun(['get'], got.run)}`);
        }
        // Found by this suite: a frozen location made every command wait out full timeouts,
        // with retries, once per phase (key shares, head, manifests, audit log): 61 s per get
        // with OpenSSH frozen, 91 s with rclone or Apache WebDAV, 131 s with two. Now an
        // unresponsive location is not retried and the breaker (src/core/storage/breaker.ts)
        // keeps it out of the rest of the command: one timeout per command.
        if (!got.run.timedOut && got.run.ms > HEDGED_BOUND_MS) {
          problems.push(
            `get ${name} with ${names} frozen took ${(got.run.ms / 1000).toFixed(1)} s, over ${HEDGED_BOUND_MS / 1000} s`,
          );
        }
        stats.note(
          `get ${name} (${e.size} bytes) with ${names} frozen: ${got.run.timedOut ? 'HUNG' : got.outcome} after ` +
            `${(got.run.ms / 1000).toFixed(1)} s`,
        );
        if (LONG) {
          // A put around a frozen location ends too: refused, or stored whole.
          const next = await vault.newFile(rng.int(1000, 300_000), rng.u32());
          const put = await vault.put(next.path, `while-${names}`, next.expected, { timeoutMs: HANG_GUARD_MS });
          stats.note(`put with ${names} frozen: ${brief(put)} after ${(put.ms / 1000).toFixed(1)} s`);
          if (put.timedOut)
            problems.push(`put with ${names} frozen did not end within ${HANG_GUARD_MS / 1000} s: it HANGS`);
        }
      } finally {
        frozen.forEach((r) => r.thaw());
      }
    }
    const rep = await vault.repair(false);
    const ver = await vault.verify(false);
    if (rep.run.code !== 0 || ver.run.code !== 0)
      problems.push(`thawed: ${describeRun(['repair'], rep.run)}; ${describeRun(['verify'], ver.run)}`);
    for (const p of await vault.checkAll(stats)) problems.push(`thawed: ${p}`);
    expect(problems, `seed ${inject('faultSeed')}`).toEqual([]);
  });
});
