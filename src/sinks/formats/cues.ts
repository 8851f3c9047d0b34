/**
 * Subtitle cues from final turns, shared by SRT and WebVTT.
 *
 * A turn is cut at word boundaries into cues of at most `maxLines` lines of
 * `maxLineChars` characters lasting at most `maxDurationMs`, and a pause longer
 * than `maxPauseMs` between two words starts a new cue, so text never stays on
 * screen across a silence. Cue times are the words' times. A CueTimeline keeps
 * the cues of one file in order: a cue never starts before the previous one
 * ended, and never has zero duration.
 */
import type { TranscriptEvent } from '../../model/transcript.js';
import { oneLine } from './text.js';

export interface Cue {
  start_ms: number;
  end_ms: number;
  lines: string[];
}

export interface CueLimits {
  maxLineChars: number;
  maxLines: number;
  maxDurationMs: number;
  maxPauseMs: number;
}

/** Common broadcast practice: 42 characters, two lines, 7 seconds. */
export const DEFAULT_CUE_LIMITS: CueLimits = { maxLineChars: 42, maxLines: 2, maxDurationMs: 7000, maxPauseMs: 1500 };

interface TimedToken {
  text: string;
  start_ms: number;
  end_ms: number;
}

export function splitIntoCues(event: TranscriptEvent, limits: CueLimits = DEFAULT_CUE_LIMITS): Cue[] {
  const cues: Cue[] = [];
  let current: Cue | undefined;
  for (const token of timedTokens(event)) {
    if (current && !fits(current, token, limits)) {
      cues.push(current);
      current = undefined;
    }
    if (!current) {
      current = { start_ms: token.start_ms, end_ms: token.end_ms, lines: [token.text] };
      continue;
    }
    const last = current.lines.length - 1;
    const joined = `${current.lines[last]} ${token.text}`;
    if (charCount(joined) <= limits.maxLineChars) current.lines[last] = joined;
    else current.lines.push(token.text);
    current.end_ms = Math.max(current.end_ms, token.end_ms);
  }
  if (current) cues.push(current);
  return cues;
}

function fits(cue: Cue, token: TimedToken, limits: CueLimits): boolean {
  if (token.start_ms - cue.end_ms > limits.maxPauseMs) return false;
  if (token.end_ms - cue.start_ms > limits.maxDurationMs) return false;
  const lastLine = cue.lines[cue.lines.length - 1] ?? '';
  return charCount(lastLine) + 1 + charCount(token.text) <= limits.maxLineChars || cue.lines.length < limits.maxLines;
}

/**
 * The words to show with their times. A formatted turn's text is punctuated
 * and cased; when it has as many tokens as there are words, its tokens are
 * shown with the words' times. A turn without words is spread over its span
 * in proportion to the tokens' lengths.
 */
function timedTokens(event: TranscriptEvent): TimedToken[] {
  const tokens = oneLine(event.text).split(/\s+/).filter((t) => t !== '');
  const words = event.words.filter((w) => oneLine(w.text) !== '');
  if (words.length > 0) {
    const useText = tokens.length === words.length;
    return words.map((w, i) => ({
      text: useText ? (tokens[i] ?? '') : oneLine(w.text),
      start_ms: w.start_ms,
      end_ms: w.end_ms,
    }));
  }
  const totalChars = tokens.reduce((sum, t) => sum + charCount(t), 0);
  const span = Math.max(0, event.end_ms - event.start_ms);
  let chars = 0;
  return tokens.map((text) => {
    const start_ms = event.start_ms + (span * chars) / totalChars;
    chars += charCount(text);
    return { text, start_ms, end_ms: event.start_ms + (span * chars) / totalChars };
  });
}

function charCount(text: string): number {
  return [...text].length;
}

/** Places cues on one file's timeline: in order, never overlapping, never empty. */
export class CueTimeline {
  private lastEnd = 0;
  private beforeLast = 0;

  place(cues: Cue[]): Cue[] {
    this.beforeLast = this.lastEnd;
    return cues.map((cue) => {
      const start_ms = Math.max(Math.round(cue.start_ms), this.lastEnd);
      const end_ms = Math.max(Math.round(cue.end_ms), start_ms + 1);
      this.lastEnd = end_ms;
      return { ...cue, start_ms, end_ms };
    });
  }

  /** Forgets the last place() (its cues were not written). */
  undo(): void {
    this.lastEnd = this.beforeLast;
  }
}
