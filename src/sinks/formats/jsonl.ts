/**
 * `jsonl`: one event per line, exactly the TranscriptEvent fields in a fixed
 * order (whatever else an event object carries stays out of the file).
 */
import type { TranscriptEvent, TranscriptWord } from '../../model/transcript.js';

const EVENT_KEYS = [
  'pipeline', 'label', 'session_id', 'seq', 'turn_order', 'final', 'formatted', 'text', 'start_ms', 'end_ms',
  'words', 'received_at', 'speaker', 'language_code', 'end_of_turn_confidence',
] as const satisfies readonly (keyof TranscriptEvent)[];

const WORD_KEYS = ['text', 'start_ms', 'end_ms', 'confidence', 'speaker'] as const satisfies readonly (keyof TranscriptWord)[];

export function formatJsonLine(event: TranscriptEvent): string {
  return `${JSON.stringify(pickEvent(event))}\n`;
}

/** The event reduced to its documented fields (optional ones only when set). */
export function pickEvent(event: TranscriptEvent): TranscriptEvent {
  const out: Record<string, unknown> = {};
  for (const key of EVENT_KEYS) {
    if (event[key] === undefined) continue;
    out[key] = key === 'words' ? event.words.map(pickWord) : event[key];
  }
  return out as unknown as TranscriptEvent;
}

function pickWord(word: TranscriptWord): TranscriptWord {
  const out: Record<string, unknown> = {};
  for (const key of WORD_KEYS) if (word[key] !== undefined) out[key] = word[key];
  return out as unknown as TranscriptWord;
}
