/**
 * Puts one sink behind its own bounded mailbox. The transcript fans out to
 * every sink's mailbox; each actor writes at its sink's own pace, so a sink
 * that blocks or fails delays only itself. Failed writes are retried with
 * backoff (RetryableSinkError, or any error so named: until it succeeds;
 * other errors: a few times); what is finally given up or pushed out of a
 * full mailbox is counted and logged.
 *
 * Built-in sinks, and plugins with `isolation: main`, share the main thread
 * (other plugins run in threads of their own), so an actor that has been busy for a while
 * yields to the event loop before its next event: a sink whose write blocks
 * (synchronous I/O, a busy plugin) then holds the thread for one write at a
 * time, never for its whole queue, and the other sinks, transcript messages
 * and HTTP get their turn between.
 */
import { setImmediate as nextTurnOfEventLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { OverflowPolicy } from '../pipeline/bounded-queue.js';
import { Actor } from '../pipeline/actor.js';
import { backoffDelay, sleep } from '../pipeline/backoff.js';
import { isSpeakerRevision, type PipelineEvent } from '../model/transcript.js';
import { releaseSink } from './isolated-plugin-sink.js';
import { RetryableSinkError, type Sink } from './sink.js';

const ATTEMPTS_FOR_PLAIN_ERRORS = 3;
const RETRY_BACKOFF = { initialDelayMs: 200, maxDelayMs: 30000 };
/** Error logs of one sink are rate-limited to one per this interval. */
const ERROR_LOG_INTERVAL_MS = 10000;
/** A sink that has been busy this long yields before its next event (fast sinks almost never do). */
const YIELD_AFTER_BUSY_MS = 20;

export interface SinkCounters {
  written: number;
  errors: number;
  dropped: number;
}

/**
 * Turns and speaker revisions share one mailbox, so a sink sees them in the
 * order they happened; a sink without revise() is simply not given revisions.
 */
export class SinkActor extends Actor<PipelineEvent> {
  readonly counters: SinkCounters = { written: 0, errors: 0, dropped: 0 };
  private lastErrorLogAt = 0;
  private readonly stopping = new AbortController();
  /** Time spent delivering since the actor last let the event loop run. */
  private busyMs = 0;

  constructor(
    name: string,
    private readonly sink: Sink,
    capacity: number,
    policy: OverflowPolicy,
    private readonly logger: Logger,
  ) {
    super(name, {
      capacity,
      policy,
      onDrop: (event) => {
        this.counters.dropped++;
        this.logRateLimited(`sink queue full (${capacity} events, ${policy}): dropped ${describe(event)}`);
      },
    });
  }

  get queueDepth(): number {
    return this.mailbox.size;
  }

  protected override async onStart(): Promise<void> {
    await this.sink.start?.();
  }

  protected override async receive(event: PipelineEvent): Promise<void> {
    if (isSpeakerRevision(event) && this.sink.revise === undefined) return;
    const started = performance.now();
    await this.deliver(event);
    // Without this, a queue of slow synchronous writes drains in one microtask run and starves the thread.
    this.busyMs += performance.now() - started;
    if (this.busyMs >= YIELD_AFTER_BUSY_MS) {
      this.busyMs = 0;
      await nextTurnOfEventLoop();
    }
  }

  private async deliver(event: PipelineEvent): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (isSpeakerRevision(event)) await this.sink.revise?.(event);
        else await this.sink.write(event);
        this.counters.written++;
        return;
      } catch (error) {
        this.counters.errors++;
        const retryable = isRetryable(error);
        const giveUp = this.stopping.signal.aborted || (!retryable && attempt + 1 >= ATTEMPTS_FOR_PLAIN_ERRORS);
        if (giveUp) {
          this.counters.dropped++;
          this.logRateLimited(`write failed, ${describe(event)} given up for this sink: ${(error as Error).message}`, error);
          return;
        }
        const asked = retryable ? error.retryAfterMs : undefined;
        const delay = typeof asked === 'number' && asked >= 0 ? asked : backoffDelay(attempt, RETRY_BACKOFF);
        this.logRateLimited(`write failed (${(error as Error).message}); retrying in ${delay} ms`, error);
        await sleep(delay, this.stopping.signal);
      }
    }
  }

  protected override async onStop(): Promise<void> {
    try {
      await this.sink.flush?.();
    } finally {
      // Even after a failed flush: stop releases what the sink holds (an isolated plugin's thread).
      await this.sink.stop?.();
    }
  }

  /** Ends what a sink that never ran, or failed to start, still holds (an isolated plugin's thread); drain() does it otherwise. */
  async release(): Promise<void> {
    await releaseSink(this.sink);
  }

  /** Abandons retries (second signal): drain() then returns promptly. */
  hurry(): void {
    this.stopping.abort();
  }

  async flush(): Promise<void> {
    await this.sink.flush?.();
  }

  private logRateLimited(message: string, error?: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLogAt < ERROR_LOG_INTERVAL_MS) return;
    this.lastErrorLogAt = now;
    this.logger.error({ sink: this.name, err: error, ...this.counters }, message);
  }
}

function describe(event: PipelineEvent): string {
  return isSpeakerRevision(event) ? `speaker revision of seq ${event.revisions.map((r) => r.seq).join(', ')}` : `event seq ${event.seq}`;
}

/**
 * A plugin may throw its own error named RetryableSinkError (with
 * retryAfterMs) instead of importing earshot's class: a plugin copied without
 * earshot in its node_modules, or one bundled with another copy, still retries.
 */
function isRetryable(error: unknown): error is RetryableSinkError {
  return error instanceof RetryableSinkError || (error instanceof Error && error.name === 'RetryableSinkError');
}
