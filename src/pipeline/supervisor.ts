/**
 * Restarts children that fail, with backoff, and gives up on a child that
 * keeps failing (more than maxRestarts within windowMs), reporting why.
 */
import type { Logger } from 'pino';
import type { Supervisable } from './actor.js';
import { backoffDelay, sleep, type BackoffOptions } from './backoff.js';

export interface SupervisorOptions {
  maxRestarts: number;
  windowMs: number;
  backoff: BackoffOptions;
  logger: Logger;
  /** Called when a child failed too often and will not be restarted. */
  onGiveUp?: (child: Supervisable, lastError: Error) => void;
  /** Called on each restart (for metrics). */
  onRestart?: (child: Supervisable, error: Error) => void;
}

export class Supervisor {
  private readonly failures = new Map<Supervisable, number[]>();
  private readonly children = new Set<Supervisable>();
  private readonly stopping = new AbortController();

  constructor(private readonly options: SupervisorOptions) {}

  /** Starts a child and keeps it running; a start failure counts as a failure. */
  async supervise(child: Supervisable): Promise<void> {
    this.children.add(child);
    child.onFailure((error) => void this.restart(child, error));
    try {
      await child.start();
    } catch (error) {
      void this.restart(child, asError(error));
    }
  }

  /** Stops every child (in reverse order of supervision) and restarts nothing after. */
  async stopAll(): Promise<void> {
    this.stopping.abort();
    for (const child of [...this.children].reverse()) {
      await child.stop().catch((error: unknown) => {
        this.options.logger.warn({ child: child.name, err: asError(error) }, 'child failed to stop cleanly');
      });
    }
  }

  private async restart(child: Supervisable, error: Error): Promise<void> {
    if (this.stopping.signal.aborted || !this.children.has(child)) return;
    const now = Date.now();
    const recent = (this.failures.get(child) ?? []).filter((t) => now - t < this.options.windowMs);
    recent.push(now);
    this.failures.set(child, recent);
    const { logger, maxRestarts } = this.options;
    if (recent.length > maxRestarts) {
      logger.error(
        { child: child.name, err: error, failures: recent.length, window_ms: this.options.windowMs },
        `${child.name} failed ${recent.length} times within ${this.options.windowMs} ms; giving up`,
      );
      this.children.delete(child);
      this.options.onGiveUp?.(child, error);
      return;
    }
    const delay = backoffDelay(recent.length - 1, this.options.backoff);
    logger.warn({ child: child.name, err: error, restart_in_ms: delay }, `${child.name} failed: ${error.message}; restarting`);
    this.options.onRestart?.(child, error);
    await sleep(delay, this.stopping.signal);
    if (this.stopping.signal.aborted) return;
    try {
      await child.start();
    } catch (startError) {
      await this.restart(child, asError(startError));
    }
  }
}

export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
