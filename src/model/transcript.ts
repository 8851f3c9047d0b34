/**
 * The transcript event: what every sink receives, one JSON object per line in
 * `jsonl`. Times are positions in the pipeline's audio stream (milliseconds
 * from the first captured sample), continuous across reconnects and sessions.
 */
export interface TranscriptWord {
  text: string;
  start_ms: number;
  end_ms: number;
  confidence: number;
  /**
   * Who said the word when diarization is on: the service's label (`A`, `B`,
   * `UNKNOWN`), or the name the pipeline's `speakers` map gives it.
   */
  speaker?: string;
}

export interface TranscriptEvent {
  /** The pipeline's name in the YAML file. */
  pipeline: string;
  /** The pipeline's label (`me`, `them`), when the file gives one. */
  label?: string;
  /** The transcriber session that produced the event. */
  session_id: string;
  /** Monotonic per pipeline, across reconnects and sessions. */
  seq: number;
  /** The service's turn number within its session. */
  turn_order: number;
  /** End of turn: the text will not change any more. */
  final: boolean;
  /** Punctuated and cased by the service. */
  formatted: boolean;
  text: string;
  start_ms: number;
  end_ms: number;
  words: TranscriptWord[];
  /** ISO-8601 time the event reached earshot. */
  received_at: string;
  /**
   * Who spoke the turn when diarization is on (`speaker_labels: true`): the
   * service's label (`A`, `B`, ...; `UNKNOWN` when it could not tell), or the
   * name the pipeline's `speakers` map gives that label.
   */
  speaker?: string;
  /** The service's label, present only when the `speakers` map renamed it (`speaker` then holds the name). */
  speaker_label?: string;
  language_code?: string;
  end_of_turn_confidence?: number;
}

/** One earlier final turn whose speakers the service revised. */
export interface SpeakerRevision {
  /** The service's turn number within the event's session. */
  turn_order: number;
  /** The `seq` of the final TranscriptEvent this revises. */
  seq: number;
  /** The turn's speaker now (named as in TranscriptEvent.speaker). */
  speaker?: string;
  /** The service's label, present only when the `speakers` map renamed it. */
  speaker_label?: string;
  /** The turn's words with their revised speakers (text and times as delivered before). */
  words: TranscriptWord[];
}

/**
 * Diarization revised the speakers of earlier final turns (the v3
 * `SpeakerRevision` message), placed on the pipeline's timeline. Only turns
 * whose speaker changed are listed; text and times are unchanged.
 */
export interface SpeakerRevisionEvent {
  type: 'speaker_revision';
  pipeline: string;
  label?: string;
  /** The session whose turns are revised. */
  session_id: string;
  /** ISO-8601 time the revision reached earshot. */
  received_at: string;
  revisions: SpeakerRevision[];
}

/** What flows from a pipeline's transcriber to its sinks, in order: turns and speaker revisions. */
export type PipelineEvent = TranscriptEvent | SpeakerRevisionEvent;

export function isSpeakerRevision(event: PipelineEvent): event is SpeakerRevisionEvent {
  return (event as Partial<SpeakerRevisionEvent>).type === 'speaker_revision';
}
