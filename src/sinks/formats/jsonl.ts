/**
 * `jsonl`: one event per line, exactly the TranscriptEvent fields in a fixed
 * order (whatever else an event object carries stays out of the file).
 * Transcript lines have no `type` (as they always had); a speaker revision is
 * a line of its own with `"type":"speaker_revision"`, naming the `seq` of each
 * turn it revises.
 */
import type { SpeakerRevision, SpeakerRevisionEvent, TranscriptEvent, TranscriptWord } from '../../model/transcript.js';

const EVENT_KEYS = [
  'pipeline', 'label', 'session_id', 'seq', 'turn_order', 'final', 'formatted', 'text', 'start_ms', 'end_ms',
  'words', 'received_at', 'speaker', 'speaker_label', 'language_code', 'end_of_turn_confidence',
] as const satisfies readonly (keyof TranscriptEvent)[];

const WORD_KEYS = ['text', 'start_ms', 'end_ms', 'confidence', 'speaker'] as const satisfies readonly (keyof TranscriptWord)[];

const REVISION_EVENT_KEYS = ['type', 'pipeline', 'label', 'session_id', 'received_at', 'revisions'] as const satisfies readonly (keyof SpeakerRevisionEvent)[];
const REVISION_KEYS = ['turn_order', 'seq', 'speaker', 'speaker_label', 'words'] as const satisfies readonly (keyof SpeakerRevision)[];

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

export function formatRevisionLine(event: SpeakerRevisionEvent): string {
  return `${JSON.stringify(pickRevision(event))}\n`;
}

/** The revision reduced to its documented fields, in a fixed order. */
export function pickRevision(event: SpeakerRevisionEvent): SpeakerRevisionEvent {
  const out = pick(event, REVISION_EVENT_KEYS);
  out.revisions = event.revisions.map((revision) => {
    const picked = pick(revision, REVISION_KEYS);
    picked.words = revision.words.map(pickWord);
    return picked;
  });
  return out as unknown as SpeakerRevisionEvent;
}

function pick<T extends object>(value: T, keys: readonly (keyof T)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (value[key] !== undefined) out[key as string] = value[key];
  return out;
}

function pickWord(word: TranscriptWord): TranscriptWord {
  const out: Record<string, unknown> = {};
  for (const key of WORD_KEYS) if (word[key] !== undefined) out[key] = word[key];
  return out as unknown as TranscriptWord;
}
