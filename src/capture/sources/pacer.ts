/**
 * Calls `tick` every periodMs on an absolute schedule (start + n * period),
 * so timer jitter never accumulates into drift. If the thread stalled past
 * several periods, the missed ticks run at once to catch up.
 */
export class Pacer {
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;
  private startedAt = 0;

  constructor(
    private readonly periodMs: number,
    private readonly tick: () => boolean,
    private readonly now: () => number,
  ) {}

  start(): void {
    this.startedAt = this.now();
    this.ticks = 0;
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const due = this.startedAt + (this.ticks + 1) * this.periodMs;
    this.timer = setTimeout(() => this.run(), Math.max(1, Math.ceil(due - this.now())));
  }

  private run(): void {
    const now = this.now();
    while (this.startedAt + (this.ticks + 1) * this.periodMs <= now) {
      this.ticks++;
      if (!this.tick()) {
        this.timer = undefined;
        return;
      }
    }
    this.schedule();
  }
}
