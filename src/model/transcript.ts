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
  /** Speaker label from the service when diarization is on (`A`, `B`, or `UNKNOWN`). */
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
  speaker?: string;
  language_code?: string;
  end_of_turn_confidence?: number;
}
