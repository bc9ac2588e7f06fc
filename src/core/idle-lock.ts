/**
 * Auto-lock, the same rule for both bridges (Electron's main, src/main/index.ts, and the web
 * bridge, src/cli/serve.ts). A timer a front end runs beside the engine, so not in the
 * contract file (src/shared/ipc.ts says only what crosses a bridge).
 *
 * Calls `lock` once the vault has gone `minutes` without a call or a sign of life from the
 * UI, except while work is in flight (a long export is not idleness). 0 minutes = never.
 */
export class IdleLock {
  private last = Date.now();
  private busy = 0;
  private fired = false;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private minutes: number,
    private readonly lock: () => void,
    private readonly checkEveryMs = 15_000,
  ) {
    this.arm();
  }

  setMinutes(minutes: number): void {
    this.minutes = minutes;
    this.touch();
    this.arm();
  }

  touch(): void {
    this.last = Date.now();
    this.fired = false;
  }

  /**
   * Runs work the vault must not be locked under. Work the user asked for (`active`) counts
   * as use, at its start and at its end; a view refreshing itself does not.
   */
  async around<T>(work: () => Promise<T>, active: boolean): Promise<T> {
    if (active) this.touch();
    this.busy++;
    try {
      return await work();
    } finally {
      this.busy--;
      if (active) this.touch();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private arm(): void {
    this.stop();
    if (this.minutes <= 0) return;
    this.timer = setInterval(() => {
      if (!this.fired && this.busy === 0 && Date.now() - this.last >= this.minutes * 60_000) {
        this.fired = true;
        this.lock();
      }
    }, this.checkEveryMs);
    // A pending auto-lock must not keep a CLI process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }
}
