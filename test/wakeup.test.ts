/**
 * The wake-up of the SFTP worker's waiting loops (src/core/wakeup.ts): a wait ends at a
 * wake and not before, a wake before the wait is not lost (and serves one wait), and one
 * wake ends every wait in progress. Whether a wait has ended is asked after the microtasks
 * and I/O callbacks run (setImmediate), not after a time.
 */
import { describe, expect, it } from 'vitest';
import { Wakeup } from '../src/core/wakeup';

/** Whether `p` has settled once everything already queued has run. */
function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  return new Promise((resolve) => setImmediate(() => resolve(done)));
}

describe('Wakeup', () => {
  it('ends a wait at the next wake, and not before', async () => {
    const w = new Wakeup();
    const waiting = w.wait();
    expect(await settled(waiting)).toBe(false);
    w.wake();
    expect(await settled(waiting)).toBe(true);
    expect(await settled(w.wait())).toBe(false);
  });

  it('keeps a wake that came before the wait, for one wait only', async () => {
    const w = new Wakeup();
    w.wake();
    w.wake();
    expect(await settled(w.wait())).toBe(true);
    expect(await settled(w.wait())).toBe(false);
  });

  it('wakes every waiter, and keeps nothing for the next wait', async () => {
    const w = new Wakeup();
    const waiting = [w.wait(), w.wait(), w.wait()];
    w.wake();
    expect(await Promise.all(waiting.map(settled))).toEqual([true, true, true]);
    const next = w.wait();
    expect(await settled(next)).toBe(false);
    w.wake();
    expect(await settled(next)).toBe(true);
  });
});
