/**
 * Engine turn updates as the service's Turn messages: partials, the
 * unformatted final, and (with format_turns) the formatted final. With
 * speaker_labels on, the session passes the turn's speaker (UNKNOWN when the
 * engine has none): it goes on the turn (speaker_label) and on every word.
 */
import type { EngineTurnUpdate, EngineWord } from './engine.js';
import type { TurnMessage, TurnWord } from '../transport/protocol.js';

function toWord(word: EngineWord, text: string, isFinal: boolean, speaker: string | undefined): TurnWord {
  return {
    start: Math.round(word.start_ms),
    end: Math.round(word.end_ms),
    confidence: word.confidence,
    text,
    word_is_final: isFinal,
    ...(speaker !== undefined ? { speaker } : {}),
  };
}

const speakerLabel = (speaker: string | undefined): { speaker_label?: string } => (speaker !== undefined ? { speaker_label: speaker } : {});

const round3 = (value: number): number => Math.round(value * 1000) / 1000;

export function partialTurn(turnOrder: number, update: EngineTurnUpdate, speaker?: string): TurnMessage {
  const last = update.words.length - 1;
  return {
    type: 'Turn',
    turn_order: turnOrder,
    turn_is_formatted: false,
    end_of_turn: false,
    transcript: update.words.map((word) => word.text).join(' '),
    end_of_turn_confidence: round3(update.end_of_turn_confidence),
    words: update.words.map((word, i) => toWord(word, word.text, i !== last, speaker)),
    utterance: '',
    ...speakerLabel(speaker),
  };
}

export function unformattedFinal(turnOrder: number, update: EngineTurnUpdate, speaker?: string): TurnMessage {
  const transcript = update.words.map((word) => word.text).join(' ');
  return {
    type: 'Turn',
    turn_order: turnOrder,
    turn_is_formatted: false,
    end_of_turn: true,
    transcript,
    end_of_turn_confidence: round3(update.end_of_turn_confidence),
    words: update.words.map((word) => toWord(word, word.text, true, speaker)),
    utterance: transcript,
    ...speakerLabel(speaker),
  };
}

/**
 * What a formatter would make of bare words, for engines that give no
 * formatted text: the first letter capitalized, a full stop at the end.
 */
export function basicFormat(words: readonly string[]): string {
  const text = words.join(' ');
  if (text === '') return text;
  const capitalized = (text[0] ?? '').toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capitalized) ? capitalized : `${capitalized}.`;
}

/**
 * The formatted final: the engine's punctuated text (or basicFormat), its
 * tokens on the words when they line up one to one (tokens of pure
 * punctuation set aside).
 */
export function formattedFinal(turnOrder: number, update: EngineTurnUpdate, speaker?: string): TurnMessage {
  const transcript = update.formatted_text ?? basicFormat(update.words.map((word) => word.text));
  const tokens = transcript.split(/\s+/).filter((token) => /[\p{L}\p{N}]/u.test(token));
  const aligned = tokens.length === update.words.length;
  return {
    type: 'Turn',
    turn_order: turnOrder,
    turn_is_formatted: true,
    end_of_turn: true,
    transcript,
    end_of_turn_confidence: round3(update.end_of_turn_confidence),
    words: update.words.map((word, i) => toWord(word, aligned ? (tokens[i] ?? word.text) : word.text, true, speaker)),
    utterance: transcript,
    ...speakerLabel(speaker),
  };
}
