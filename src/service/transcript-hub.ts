/**
 * The service's transcript hub: every pipeline's transcript events (and
 * speaker revisions), in the order they reached the main thread, numbered
 * once for the whole service, for live listeners (the /events stream). The
 * last finals and revisions are kept so a listener that reconnects can be
 * given the ones it missed.
 *
 * Publishing never waits and never throws: a listener that fails is logged
 * and dropped, the pipeline goes on.
 */
import { pino, type Logger } from 'pino';
import { isSpeakerRevision, type PipelineEvent } from '../model/transcript.js';

/** Finals kept for listeners that reconnect (about 10 KiB at most each, so a few MiB at worst). */
export const FINALS_HISTORY = 500;

export interface HubEntry {
  /** 1, 2, 3... across every pipeline of this service run. */
  readonly id: number;
  readonly event: PipelineEvent;
}

export type HubListener = (entry: HubEntry) => void;

export interface Replay {
  /** The finals after the given id still kept, oldest first. */
  finals: HubEntry[];
  /** Some finals after the given id are no longer kept: the listener cannot get them all. */
  incomplete: boolean;
}

export class TranscriptHub {
  /** Tells one service run's ids from another's: an id from a previous run says nothing about this one. */
  readonly epoch = Date.now().toString(36);
  private lastId = 0;
  private readonly finals: HubEntry[] = [];
  private readonly historySize: number;
  /** The newest final that fell out of the history. */
  private lastEvictedId = 0;
  private readonly listeners = new Set<HubListener>();
  private readonly logger: Logger;

  constructor(options: { logger?: Logger; historySize?: number } = {}) {
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.historySize = options.historySize ?? FINALS_HISTORY;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  publish(event: PipelineEvent): void {
    const entry: HubEntry = { id: ++this.lastId, event };
    if (isSpeakerRevision(event) || event.final) {
      this.finals.push(entry);
      if (this.finals.length > this.historySize) this.lastEvictedId = this.finals.shift()?.id ?? this.lastEvictedId;
    }
    for (const listener of this.listeners) {
      try {
        listener(entry);
      } catch (error) {
        this.listeners.delete(listener);
        this.logger.error({ err: error }, `a transcript listener failed and was removed: ${(error as Error).message}`);
      }
    }
  }

  /**
   * Adds a listener and, in the same step (so nothing falls between), returns
   * the finals after `after` (an id of this run; undefined: none, live only).
   */
  subscribe(listener: HubListener, after?: number): { replay: Replay; unsubscribe: () => void } {
    this.listeners.add(listener);
    const unsubscribe = (): void => void this.listeners.delete(listener);
    if (after === undefined) return { replay: { finals: [], incomplete: false }, unsubscribe };
    return { replay: { finals: this.finals.filter((entry) => entry.id > after), incomplete: after < this.lastEvictedId }, unsubscribe };
  }
}
