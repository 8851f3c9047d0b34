/**
 * WebVTT: the `WEBVTT` signature and a blank line open each file; each cue is
 * `HH:MM:SS.mmm --> HH:MM:SS.mmm`, its text, a blank line. Cue text escapes
 * `&`, `<` and `>` as the spec requires (which also keeps `-->` out of it).
 */
import type { TranscriptEvent } from '../../model/transcript.js';
import { CueTimeline, splitIntoCues, type CueLimits, DEFAULT_CUE_LIMITS } from './cues.js';
import { formatTimecode } from './timecode.js';

export const VTT_HEADER = 'WEBVTT\n\n';

export class VttFormatter {
  private readonly timeline: CueTimeline;

  constructor(private readonly limits: CueLimits = DEFAULT_CUE_LIMITS) {
    this.timeline = new CueTimeline(limits.minDurationMs);
  }

  /** All cues of one final turn, as one record. */
  format(event: TranscriptEvent): string {
    return this.timeline
      .place(splitIntoCues(event, this.limits))
      .map((cue) => {
        const timing = `${formatTimecode(cue.start_ms, '.')} --> ${formatTimecode(cue.end_ms, '.')}`;
        return `${timing}\n${cue.lines.map(escapeVtt).join('\n')}\n\n`;
      })
      .join('');
  }

  /** Forgets the last format() (its record was not written). */
  undo(): void {
    this.timeline.undo();
  }
}

export function escapeVtt(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
