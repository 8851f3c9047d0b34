import type { Logger } from 'pino';

/**
 * A recognition engine behind `earshot serve`: audio in, turn updates out.
 * The server session owns everything protocol-shaped (turn_order, formatted
 * finals, message JSON, close codes); an engine only hears audio and says
 * which words it heard when. Times are milliseconds from the first sample of
 * the session's audio.
 */
export interface EngineWord {
  text: string;
  start_ms: number;
  end_ms: number;
  confidence: number;
}

export interface EngineTurnUpdate {
  /** The turn's words so far; a later update replaces them. */
  words: EngineWord[];
  /** The turn is over: no more updates for it. */
  end_of_turn: boolean;
  end_of_turn_confidence: number;
  /** Punctuated, cased text for the formatted final, when the engine knows it. */
  formatted_text?: string;
  /** Who speaks the turn (a diarization label: A, B, ...), when the engine knows. */
  speaker?: string;
  /** On a final: earlier turns of this session whose speaker the engine now thinks otherwise. */
  revisions?: EngineSpeakerRevision[];
}

export interface EngineSpeakerRevision {
  /** The earlier turn: the engine's n-th final of the session is the session's turn_order n. */
  turn_order: number;
  speaker: string;
}

export interface RecognitionEngine {
  /** 16-bit mono PCM at the session's sample rate, in arrival order. */
  pushAudio(samples: Int16Array): void;
  /** End the current turn now (client sent ForceEndpoint). */
  forceEndpoint(): void;
  /** No more audio will come: deliver every pending turn, then resolve. */
  finish(): Promise<void>;
  /** Release resources at once (connection dropped). */
  close(): void;
  /** Called for each update, in order. */
  onTurn(listener: (update: EngineTurnUpdate) => void): void;
  /** An engine failure the session must report (Error 3005). */
  onError(listener: (error: Error) => void): void;
}

export interface EngineFactoryOptions {
  sampleRate: number;
  /** The session's logger (carries its id); engines log what they could not match here. */
  logger?: Logger;
}

export type EngineFactory = (options: EngineFactoryOptions) => RecognitionEngine;
