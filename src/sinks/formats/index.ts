/**
 * One formatter per output file: it knows the file's header, turns an event
 * into the text of complete records (one write each), and says what ends a
 * complete record, which is what torn-tail repair looks for.
 */
import type { SpeakerRevisionEvent, TranscriptEvent } from '../../model/transcript.js';
import { DEFAULT_CUE_LIMITS, type CueLimits } from './cues.js';
import { formatJsonLine, formatRevisionLine } from './jsonl.js';
import { SrtFormatter } from './srt.js';
import { formatTextLine, type TextFormatOptions } from './text.js';
import { VTT_HEADER, VttFormatter } from './vtt.js';

export type FileFormat = 'text' | 'jsonl' | 'srt' | 'vtt';

export interface RecordFormatter {
  /** Written first in every new file ('' when the format has none). */
  readonly header: string;
  /** Every complete record ends with this; a file that does not has a torn tail. */
  readonly recordEnd: string;
  /**
   * Cues and lines are placed on a timeline that starts with the file, so a
   * file that belongs to an earlier run is never appended to.
   */
  readonly timeline: boolean;
  /** The complete records for one event; '' when it has nothing to write. */
  format(event: TranscriptEvent): string;
  /**
   * The record for a speaker revision, in formats that have one (jsonl).
   * Text and subtitles have none: what was written is not rewritten.
   */
  revise?(event: SpeakerRevisionEvent): string;
  /** Forgets the last format(): its record could not be written and will be formatted again. */
  undo(): void;
}

export function createFormatter(format: FileFormat, text: TextFormatOptions, cues: CueLimits = DEFAULT_CUE_LIMITS): RecordFormatter {
  switch (format) {
    case 'text':
      return { header: '', recordEnd: '\n', timeline: false, format: (event) => formatTextLine(event, text), undo: () => undefined };
    case 'jsonl':
      return { header: '', recordEnd: '\n', timeline: false, format: formatJsonLine, revise: formatRevisionLine, undo: () => undefined };
    case 'srt': {
      const srt = new SrtFormatter(cues);
      return { header: '', recordEnd: '\n\n', timeline: true, format: (event) => srt.format(event), undo: () => srt.undo() };
    }
    case 'vtt': {
      const vtt = new VttFormatter(cues);
      return { header: VTT_HEADER, recordEnd: '\n\n', timeline: true, format: (event) => vtt.format(event), undo: () => vtt.undo() };
    }
  }
}

export { formatJsonLine, formatRevisionLine, pickEvent, pickRevision } from './jsonl.js';
export { formatTextLine, type TextFormatOptions } from './text.js';
export { SrtFormatter } from './srt.js';
export { VttFormatter, VTT_HEADER } from './vtt.js';
export { splitIntoCues, CueTimeline, cueLimits, DEFAULT_CUE_LIMITS, type Cue, type CueLimits } from './cues.js';
export { formatTimecode } from './timecode.js';
