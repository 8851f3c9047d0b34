/**
 * SubRip: numbered cues from 1, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, text lines, a
 * blank line. SRT has no escape syntax; the one thing that breaks a reader is
 * a text line holding `-->` (it reads as a timing line), so it becomes `->`.
 */
import type { TranscriptEvent } from '../../model/transcript.js';
import { CueTimeline, splitIntoCues, type CueLimits, DEFAULT_CUE_LIMITS } from './cues.js';
import { formatTimecode } from './timecode.js';

export class SrtFormatter {
  private nextIndex = 1;
  private indexBefore = 1;
  private readonly timeline: CueTimeline;

  constructor(private readonly limits: CueLimits = DEFAULT_CUE_LIMITS) {
    this.timeline = new CueTimeline(limits.minDurationMs);
  }

  /** All cues of one final turn, as one record. */
  format(event: TranscriptEvent): string {
    this.indexBefore = this.nextIndex;
    return this.timeline
      .place(splitIntoCues(event, this.limits))
      .map((cue) => {
        const timing = `${formatTimecode(cue.start_ms, ',')} --> ${formatTimecode(cue.end_ms, ',')}`;
        return `${this.nextIndex++}\n${timing}\n${cue.lines.map(escapeSrt).join('\n')}\n\n`;
      })
      .join('');
  }

  /** Forgets the last format() (its record was not written), so numbering stays gapless. */
  undo(): void {
    this.nextIndex = this.indexBefore;
    this.timeline.undo();
  }
}

function escapeSrt(line: string): string {
  return line.replace(/-{2,}>/g, '->');
}
