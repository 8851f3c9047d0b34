/**
 * Turns from any number of sessions become one transcript: times moved onto
 * the pipeline's clock, one `seq` that only grows, one final per turn (the
 * formatted one when formatting is on, as the service sends both), and no
 * final delivered twice when a replayed stretch of audio is recognised again
 * by the next session. Speaker labels are named by the pipeline's `speakers`
 * map, and the service's speaker revisions of earlier turns are matched to
 * the `seq` those turns were delivered under.
 */
import type { SpeakerRevision, SpeakerRevisionEvent, TranscriptEvent, TranscriptWord } from '../model/transcript.js';
import type { SpeakerRevisionMessage, TurnMessage, TurnWord } from './protocol.js';
import { nameSpeaker, wordSpeaker, type SpeakerNames } from './speaker-names.js';
import type { SessionTimeline } from './timeline.js';

/** A final ending this close to the last delivered final's end is the same speech again. */
const DUPLICATE_TOLERANCE_MS = 80;
/**
 * Delivered finals remembered for revisions. The service revises turns of
 * the last few minutes (its revision interval is at most 300 s), far fewer
 * than this; the bound keeps a days-long run from growing.
 */
export const REMEMBERED_FINALS = 10_000;

export interface TurnOutcome {
  event?: TranscriptEvent;
  /** A final was delivered: audio before this pipeline position is transcribed. */
  committedToMs?: number;
  /** A turn is in progress and began at this pipeline position. */
  openTurnStartMs?: number;
  /** The turn ended. */
  closed: boolean;
}

/** Why a revised turn was left out of the revision event. */
export type SkippedRevision = { turn_order: number; reason: 'not_delivered' | 'forgotten' };

export interface RevisionOutcome {
  /** Undefined when no revised turn could be matched to a delivered final. */
  event?: SpeakerRevisionEvent;
  skipped: SkippedRevision[];
}

export class TurnTracker {
  private nextSeq = 0;
  private lastFinalEndMs = -Infinity;
  /** `session_id` + turn_order -> seq of the delivered final, oldest first (bounded). */
  private readonly finals = new Map<string, number>();
  /** Turn orders at or below this (per session) were remembered once and may have been forgotten. */
  private readonly forgottenUpTo = new Map<string, number>();

  constructor(
    private readonly pipeline: string,
    private readonly label: string | undefined,
    private readonly speakers?: SpeakerNames,
    private readonly rememberedFinals = REMEMBERED_FINALS,
  ) {}

  /** Interprets one Turn message of a session whose formatting setting is formatTurns. */
  accept(turn: TurnMessage, sessionId: string, timeline: SessionTimeline, formatTurns: boolean): TurnOutcome {
    const words = this.words(turn.words, timeline);
    const final = turn.end_of_turn && (!formatTurns || turn.turn_is_formatted);
    const startMs = words[0]?.start_ms ?? timeline.pipelineEndMs ?? 0;
    const endMs = words[words.length - 1]?.end_ms ?? startMs;

    if (final) {
      if (words.length > 0 && endMs <= this.lastFinalEndMs + DUPLICATE_TOLERANCE_MS) {
        return { closed: true }; // recognised again after a replay: already delivered
      }
      if (words.length === 0 && turn.transcript.trim() === '') return { closed: true };
      this.lastFinalEndMs = Math.max(this.lastFinalEndMs, endMs);
      const event = this.event(turn, sessionId, words, true, startMs, endMs);
      this.remember(sessionId, turn.turn_order, event.seq);
      return { event, committedToMs: endMs, closed: true };
    }
    // Partials of speech already delivered (the replayed tail of a final) are noise.
    if (words.length > 0 && endMs <= this.lastFinalEndMs + DUPLICATE_TOLERANCE_MS) return { closed: false };
    return {
      event: this.event(turn, sessionId, words, false, startMs, endMs),
      openTurnStartMs: startMs,
      closed: false,
    };
  }

  /**
   * Interprets a SpeakerRevision of the session sessionId (revisions name
   * turns of the session that sends them): each revised turn is matched to the
   * seq its final was delivered under. A turn never delivered (a replay's
   * duplicate, a final with no words, one still open) or delivered too long
   * ago to be remembered is skipped, and said so.
   */
  revise(message: SpeakerRevisionMessage, sessionId: string, timeline: SessionTimeline): RevisionOutcome {
    const revisions: SpeakerRevision[] = [];
    const skipped: SkippedRevision[] = [];
    for (const revision of message.revisions) {
      const seq = this.finals.get(finalKey(sessionId, revision.turn_order));
      if (seq === undefined) {
        const forgotten = revision.turn_order <= (this.forgottenUpTo.get(sessionId) ?? -1);
        skipped.push({ turn_order: revision.turn_order, reason: forgotten ? 'forgotten' : 'not_delivered' });
        continue;
      }
      revisions.push({
        turn_order: revision.turn_order,
        seq,
        ...nameSpeaker(revision.speaker_label, this.speakers),
        words: this.words(revision.words ?? [], timeline),
      });
    }
    if (revisions.length === 0) return { skipped };
    const event: SpeakerRevisionEvent = {
      type: 'speaker_revision',
      pipeline: this.pipeline,
      ...(this.label !== undefined ? { label: this.label } : {}),
      session_id: sessionId,
      received_at: new Date().toISOString(),
      revisions,
    };
    return { event, skipped };
  }

  /** Words on the pipeline's clock, their speakers named. */
  private words(words: readonly TurnWord[], timeline: SessionTimeline): TranscriptWord[] {
    return words.map((w) => ({
      text: w.text,
      start_ms: timeline.toPipelineMs(w.start),
      end_ms: timeline.toPipelineMs(w.end),
      confidence: w.confidence,
      ...wordSpeaker(w.speaker, this.speakers),
    }));
  }

  private remember(sessionId: string, turnOrder: number, seq: number): void {
    this.finals.set(finalKey(sessionId, turnOrder), seq);
    while (this.finals.size > this.rememberedFinals) {
      const oldest = this.finals.keys().next().value as string;
      this.finals.delete(oldest);
      const [session = '', order = '0'] = oldest.split('\n');
      this.forgottenUpTo.set(session, Math.max(this.forgottenUpTo.get(session) ?? -1, Number(order)));
    }
  }

  private event(turn: TurnMessage, sessionId: string, words: TranscriptWord[], final: boolean, startMs: number, endMs: number): TranscriptEvent {
    return {
      pipeline: this.pipeline,
      ...(this.label !== undefined ? { label: this.label } : {}),
      session_id: sessionId,
      seq: this.nextSeq++,
      turn_order: turn.turn_order,
      final,
      formatted: turn.turn_is_formatted,
      text: turn.transcript,
      start_ms: startMs,
      end_ms: endMs,
      words,
      received_at: new Date().toISOString(),
      ...nameSpeaker(turn.speaker_label, this.speakers),
      ...(turn.language_code !== undefined ? { language_code: turn.language_code } : {}),
      end_of_turn_confidence: turn.end_of_turn_confidence,
    };
  }
}

function finalKey(sessionId: string, turnOrder: number): string {
  return `${sessionId}\n${turnOrder}`;
}
