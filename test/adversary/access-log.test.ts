/**
 * Case 5 of issue 9: the access log misses unlocks. The design logs every unlock, failed
 * ones too, as an access request; the CLI's unlock writes no entry, and a failed attach
 * (`open` with a wrong passphrase on a new machine: a thief trying guesses against the
 * locations) writes none the owner can see. Both must show in the owner's `shardvault log`.
 *
 * Also here, the generic log forgeries: entries replayed from another vault, from another
 * device of this vault and from another sequence number, written by the first location
 * (the one a reader asks first). The log must show the tampering and list no forged entry.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import type { AccessRequest } from '../../src/shared/api';
import { PATHS, readLogEntryHeader } from '../../src/core/format/records';
import { adversaryCase, describe as describeRun, VaultFixture, type AdversaryCase, type Machine } from './harness';

let fixture: VaultFixture;

beforeAll(async () => {
  fixture = await VaultFixture.create('access-log', '2-of-3', { otherVault: true });
});

afterAll(async () => {
  await fixture?.cleanup();
});

const now = (): string => new Date().toISOString();

/** The owner's log, read with the CLI; problems when it can't be read. */
async function ownerLog(c: AdversaryCase, owner: Machine): Promise<AccessRequest[]> {
  const log = await owner.log();
  c.expect(log.requests !== null, `shardvault log: ${describeRun(['log'], log.run)}`);
  return log.requests ?? [];
}

const within = (r: AccessRequest, from: string, to: string): boolean => r.time >= from && r.time <= to;

describe('5: the access log misses unlocks', () => {
  adversaryCase('5 log: ls and get with the passphrase each log an unlock', async (c) => {
    const o = await fixture.fresh(c);
    const t0 = now();
    const ls = await o.owner.ls();
    const t1 = now();
    const get = await o.owner.get('letters/2026.txt');
    const t2 = now();
    c.expect(ls.run.code === 0 && get.run.code === 0, 'ls or get failed on an untouched vault');
    const requests = await ownerLog(c, o.owner);
    const unlocks = requests.filter((r) => r.action === 'unlock' && r.outcome === 'ok');
    c.expect(
      unlocks.some((r) => within(r, t0, t1)),
      `no unlock entry for \`ls\` (the log holds ${requests.map((r) => `${r.action}/${r.outcome}`).join(', ')})`,
    );
    c.expect(
      unlocks.some((r) => within(r, t1, t2)),
      'no unlock entry for `get`',
    );
  });

  adversaryCase('5 log: a failed open from a new machine (wrong passphrase) is logged', async (c) => {
    const o = await fixture.fresh(c);
    const t0 = now();
    const thief = o.scene.machine('thief', 'a guess at the passphrase');
    const r = await thief.open(o.locs);
    const t1 = now();
    c.forgery(r.code === 0, 'open with a wrong passphrase succeeded');
    c.expect(r.code === 3, `open with a wrong passphrase: expected exit 3, got ${describeRun(['open'], r)}`);
    const requests = await ownerLog(c, o.owner);
    c.expect(
      requests.some((e) => within(e, t0, t1) && e.outcome === 'denied'),
      "the owner's log shows no denied request for the failed open " +
        `(it holds ${requests.map((e) => `${e.action}/${e.outcome}`).join(', ')})`,
    );
  });

  adversaryCase("5 log: a failed unlock on the owner's machine is logged", async (c) => {
    const o = await fixture.fresh(c);
    const t0 = now();
    const r = await o.owner.run(['ls', '--json'], { env: { SHARDVAULT_PASSPHRASE: 'not the passphrase' } });
    const t1 = now();
    c.expect(r.code === 3, `ls with a wrong passphrase: expected exit 3, got ${describeRun(['ls'], r)}`);
    const requests = await ownerLog(c, o.owner);
    c.expect(
      requests.some((e) => within(e, t0, t1) && e.action === 'unlock' && e.outcome === 'denied'),
      'no denied unlock in the log for a wrong passphrase on this machine',
    );
  });
});

describe('generic: forged audit log entries', () => {
  adversaryCase('log forgery: entries from another vault, another device and another seq', async (c) => {
    const o = await fixture.fresh(c);
    // A second device of this vault, so that there is another device's chain to replay.
    const laptop = o.scene.machine('laptop2');
    const opened = await laptop.open(o.locs);
    if (opened.code !== 0) throw new Error(`laptop2 could not attach: ${describeRun(['open'], opened)}`);
    await laptop.putOk('from-laptop2.txt', 1000);
    const before = await ownerLog(c, o.owner);

    const ownerDevice = (await o.owner.profile()).device.id;
    const laptopDevice = (await laptop.profile()).device.id;
    const tip = (await o.owner.profile()).logTip.seq;
    const h = c.hostile(o.locs[0]!);
    const theirs = c.hostile(o.other!.locs[0]!);
    const [theirDir] = await theirs.list('log');
    const [theirEntry] = theirDir ? await theirs.list(theirDir) : [];
    if (!theirEntry) throw new Error('the other vault holds no log entry to replay');
    // Well-formed: a genuine entry of the other vault (its header parses and names that vault).
    c.expect(
      readLogEntryHeader(await theirs.read(theirEntry)).header.vaultId === o.other!.vaultId,
      "the other vault's log entry does not parse as one",
    );
    const forgedAt = now();
    // From another vault, as this device's next entries (past anything it will write here).
    await h.write(PATHS.logEntry(ownerDevice, tip + 50), await theirs.read(theirEntry));
    // From another device of this vault, under this device's name.
    await h.write(PATHS.logEntry(ownerDevice, tip + 51), await h.read(PATHS.logEntry(laptopDevice, 1)));
    // This device's own first entry, replayed as its second.
    await h.write(PATHS.logEntry(ownerDevice, 2), await h.read(PATHS.logEntry(ownerDevice, 1)));

    const log = await o.owner.log();
    const after = log.requests ?? [];
    c.expect(log.requests !== null, `shardvault log after the forgeries: ${describeRun(['log'], log.run)}`);
    const key = (r: AccessRequest): string => `${r.time}|${r.action}|${r.file ?? '-'}|${r.outcome}|${r.device}`;
    const genuine = new Set(before.map(key));
    // A fixed CLI may log the unlock of `log` itself: new unlocks by this machine are genuine.
    const foreign = after.filter((r) => !genuine.has(key(r)) && !(r.action === 'unlock' && r.time >= forgedAt));
    c.forgery(foreign.length > 0, `the log lists forged entries: ${foreign.map(key).join('; ')}`);
    const lost = before.filter((r) => !after.some((a) => key(a) === key(r)));
    c.expect(lost.length === 0, `genuine entries missing from the log: ${lost.map(key).join('; ')}`);
    c.expect(log.problems.length > 0, 'the log does not show the tampering (no "audit log:" problem reported)');
    c.note(`log problems shown: ${log.problems.length}`);
  });
});
