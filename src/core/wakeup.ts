/**
 * The wake-up of a loop that waits for its state to change (a queue to fill, a stream to
 * end, a credit to come back): the loop checks its state and, if it must wait, awaits
 * `wait()`; whatever changes the state calls `wake()`. A wake wakes every waiter; a wake
 * while none waits is kept for the next `wait()`, so none is lost between a check and its
 * wait. The loop checks its state again after each wait: a kept wake may be stale, and then
 * costs one needless check.
 */
export class Wakeup {
  private waiters: (() => void)[] = [];
  private kept = false;

  /** Resolves at the next wake, or at once if a wake came while none waited. */
  wait(): Promise<void> {
    if (this.kept) {
      this.kept = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Wakes every waiter; with none, the next wait. */
  wake(): void {
    const waiters = this.waiters;
    if (waiters.length === 0) {
      this.kept = true;
      return;
    }
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
