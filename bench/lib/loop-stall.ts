/**
 * The longest this thread's event loop was held up, from how late a 100 ms
 * interval fires. Coarser than monitorEventLoopDelay, which wakes the thread
 * every 10 ms and would add its own cost to the thread it watches.
 */
const CHECK_EVERY_MS = 100;

export class LoopStallMonitor {
  private maxLateMs = 0;
  private last = performance.now();
  private readonly timer = setInterval(() => {
    const now = performance.now();
    this.maxLateMs = Math.max(this.maxLateMs, now - this.last - CHECK_EVERY_MS);
    this.last = now;
  }, CHECK_EVERY_MS);

  /** Stops watching; returns the longest hold-up seen, in ms. */
  stop(): number {
    clearInterval(this.timer);
    return Math.max(0, this.maxLateMs);
  }
}
