/**
 * Turns from any number of sessions become one transcript: times moved onto
 * the pipeline's clock, one `seq` that only grows, one final per turn (the
 * formatted one when formatting is on, as the service sends both), and no
 * final delivered twice when a replayed stretch of audio is recognised again
 * by the next session.
 */
import type { TranscriptEvent, TranscriptWord } from '../model/transcript.js';
import type { TurnMessage } from './protocol.js';
import type { SessionTimeline } from './timeline.js';

/** A final ending this close to the last delivered final's end is the same speech again. */
const DUPLICATE_TOLERANCE_MS = 80;

export interface TurnOutcome {
  event?: TranscriptEvent;
  /** A final was delivered: audio before this pipeline position is transcribed. */
  committedToMs?: number;
  /** A turn is in progress and began at this pipeline position. */
  openTurnStartMs?: number;
  /** The turn ended. */
  closed: boolean;
}

export class TurnTracker {
  private nextSeq = 0;
  private lastFinalEndMs = -Infinity;

  constructor(
    private readonly pipeline: string,
    private readonly label: string | undefined,
  ) {}

  /** Interprets one Turn message of a session whose formatting setting is formatTurns. */
  accept(turn: TurnMessage, sessionId: string, timeline: SessionTimeline, formatTurns: boolean): TurnOutcome {
    const words: TranscriptWord[] = turn.words.map((w) => ({
      text: w.text,
      start_ms: timeline.toPipelineMs(w.start),
      end_ms: timeline.toPipelineMs(w.end),
      confidence: w.confidence,
      ...(w.speaker !== undefined ? { speaker: w.speaker } : {}),
    }));
    const final = turn.end_of_turn && (!formatTurns || turn.turn_is_formatted);
    const startMs = words[0]?.start_ms ?? timeline.pipelineEndMs ?? 0;
    const endMs = words[words.length - 1]?.end_ms ?? startMs;

    if (final) {
      if (words.length > 0 && endMs <= this.lastFinalEndMs + DUPLICATE_TOLERANCE_MS) {
        return { closed: true }; // recognised again after a replay: already delivered
      }
      if (words.length === 0 && turn.transcript.trim() === '') return { closed: true };
      this.lastFinalEndMs = Math.max(this.lastFinalEndMs, endMs);
      return { event: this.event(turn, sessionId, words, true, startMs, endMs), committedToMs: endMs, closed: true };
    }
    // Partials of speech already delivered (the replayed tail of a final) are noise.
    if (words.length > 0 && endMs <= this.lastFinalEndMs + DUPLICATE_TOLERANCE_MS) return { closed: false };
    return {
      event: this.event(turn, sessionId, words, false, startMs, endMs),
      openTurnStartMs: startMs,
      closed: false,
    };
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
      ...(turn.speaker_label !== undefined ? { speaker: turn.speaker_label } : {}),
      ...(turn.language_code !== undefined ? { language_code: turn.language_code } : {}),
      end_of_turn_confidence: turn.end_of_turn_confidence,
    };
  }
}
