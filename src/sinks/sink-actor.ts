/**
 * Puts one sink behind its own bounded mailbox. The transcript fans out to
 * every sink's mailbox; each actor writes at its sink's own pace, so a sink
 * that blocks or fails delays only itself. Failed writes are retried with
 * backoff (RetryableSinkError: while the mailbox has room; other errors: a
 * few times); what is finally given up or pushed out of a full mailbox is
 * counted and logged.
 */
import type { Logger } from 'pino';
import type { OverflowPolicy } from '../pipeline/bounded-queue.js';
import { Actor } from '../pipeline/actor.js';
import { backoffDelay, sleep } from '../pipeline/backoff.js';
import type { TranscriptEvent } from '../model/transcript.js';
import { RetryableSinkError, type Sink } from './sink.js';

const ATTEMPTS_FOR_PLAIN_ERRORS = 3;
const RETRY_BACKOFF = { initialDelayMs: 200, maxDelayMs: 30000 };
/** Error logs of one sink are rate-limited to one per this interval. */
const ERROR_LOG_INTERVAL_MS = 10000;

export interface SinkCounters {
  written: number;
  errors: number;
  dropped: number;
}

export class SinkActor extends Actor<TranscriptEvent> {
  readonly counters: SinkCounters = { written: 0, errors: 0, dropped: 0 };
  private lastErrorLogAt = 0;
  private readonly stopping = new AbortController();

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
        this.logRateLimited(`sink queue full (${capacity} events, ${policy}): dropped event seq ${event.seq}`);
      },
    });
  }

  get queueDepth(): number {
    return this.mailbox.size;
  }

  protected override async onStart(): Promise<void> {
    await this.sink.start?.();
  }

  protected override async receive(event: TranscriptEvent): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.sink.write(event);
        this.counters.written++;
        return;
      } catch (error) {
        this.counters.errors++;
        const retryable = error instanceof RetryableSinkError;
        const giveUp = this.stopping.signal.aborted || (!retryable && attempt + 1 >= ATTEMPTS_FOR_PLAIN_ERRORS);
        if (giveUp) {
          this.counters.dropped++;
          this.logRateLimited(`write failed, event seq ${event.seq} given up for this sink: ${(error as Error).message}`, error);
          return;
        }
        const delay = retryable && error.retryAfterMs !== undefined ? error.retryAfterMs : backoffDelay(attempt, RETRY_BACKOFF);
        this.logRateLimited(`write failed (${(error as Error).message}); retrying in ${delay} ms`, error);
        await sleep(delay, this.stopping.signal);
      }
    }
  }

  protected override async onStop(): Promise<void> {
    await this.sink.flush?.();
    await this.sink.stop?.();
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
