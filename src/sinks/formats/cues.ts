/**
 * Subtitle cues from final turns, shared by SRT and WebVTT.
 *
 * A turn is cut at word boundaries into cues of at most `maxLines` lines of
 * `maxLineChars` characters lasting at most `maxDurationMs`, and a pause longer
 * than `maxPauseMs` between two words starts a new cue, so text never stays on
 * screen across a long silence. Cue times are the words' times. A CueTimeline
 * keeps the cues of one file in order: a cue never starts before the previous
 * one ended, and never has zero duration.
 *
 * Minimum duration. A cue of one short word lasts a few hundred ms and flashes
 * by, so every cue stays on screen until `minDurationMs` after its first word
 * was spoken, into the silence after it. The default, 5/6 s, is the Netflix
 * Timed Text Style Guide's minimum duration per subtitle event ("General
 * Requirements"). A fixed minimum rather than a reading speed: a live cue
 * cannot show before its words are spoken, and a reading-speed target would
 * hold long cues for seconds past their words.
 * - Within a turn, a cue is held at most until the turn's next cue starts
 *   (that is known: a turn is cut in one go).
 * - The last cue of a turn is held the full minimum. The next turn is not
 *   known when the cue is written, and a written cue is never rewritten (the
 *   file sink appends each turn as it arrives, for live players and crash
 *   safety). So a next turn that starts within the hold shows when the hold
 *   ends: late by less than the minimum. Holds never add up: the late cue is
 *   still held only until the minimum after its own first word, so in a quick
 *   exchange of short turns each shows for about the time between them, and
 *   the subtitles are never more than one minimum behind the speech. (Holding
 *   each turn's last cue back until the next turn arrived would delay every
 *   turn's last words instead.)
 */
import { Value } from '@sinclair/typebox/value';
import { CueOptions, type CueOptionsConfig } from '../../config/schema.js';
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
  minDurationMs: number;
}

/** The limits a file sink's `cues:` options set (omitted ones take the schema's defaults). */
export function cueLimits(options: Partial<CueOptionsConfig> = {}): CueLimits {
  const o = Value.Default(CueOptions, { ...options }) as CueOptionsConfig;
  return { maxLineChars: o.max_line_chars, maxLines: o.max_lines, maxDurationMs: o.max_duration_ms, maxPauseMs: o.max_pause_ms, minDurationMs: o.min_duration_ms };
}

/** Common broadcast practice: 42 characters, two lines, 7 seconds, at least 5/6 s on screen. */
export const DEFAULT_CUE_LIMITS: CueLimits = cueLimits();

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

/** Places cues on one file's timeline: in order, never overlapping, never empty, held for the minimum (see the module comment). */
export class CueTimeline {
  private lastEnd = 0;
  private beforeLast = 0;

  constructor(private readonly minDurationMs = DEFAULT_CUE_LIMITS.minDurationMs) {}

  /** The cues of one turn, in order. */
  place(cues: Cue[]): Cue[] {
    this.beforeLast = this.lastEnd;
    return cues.map((cue, i) => {
      const start_ms = Math.max(Math.round(cue.start_ms), this.lastEnd);
      const next = cues[i + 1];
      // Measured from the words, not from a start a previous hold pushed late, so holds never add up.
      const holdUntil = Math.min(Math.round(cue.start_ms) + this.minDurationMs, next === undefined ? Infinity : Math.round(next.start_ms));
      const end_ms = Math.max(Math.round(cue.end_ms), holdUntil, start_ms + 1);
      this.lastEnd = end_ms;
      return { ...cue, start_ms, end_ms };
    });
  }

  /** Forgets the last place() (its cues were not written). */
  undo(): void {
    this.lastEnd = this.beforeLast;
  }
}
