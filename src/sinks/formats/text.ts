/**
 * `text`: one line per final turn, optionally prefixed with the turn's start
 * in the audio stream and with the pipeline label and speaker:
 * `[00:01:02.345] them (speaker A): Hello there.`, or with the name the
 * `speakers` map gives the label, `them (Alice): Hello there.` A turn the
 * service could not attribute (`UNKNOWN`) shows no speaker.
 */
import type { TranscriptEvent } from '../../model/transcript.js';
import { UNKNOWN_SPEAKER } from '../../transport/speaker-names.js';
import { formatTimecode } from './timecode.js';

export interface TextFormatOptions {
  timestamps: boolean;
  labels: boolean;
  /** The pipeline's label, for events that do not carry one. */
  label?: string;
}

export function formatTextLine(event: TranscriptEvent, options: TextFormatOptions): string {
  const text = oneLine(event.text);
  if (text === '') return '';
  let prefix = options.timestamps ? `[${formatTimecode(event.start_ms, '.')}] ` : '';
  if (options.labels) {
    const who = [event.label ?? options.label, speakerPart(event)]
      .filter((part) => part !== undefined && part !== '')
      .join(' ');
    if (who !== '') prefix += `${who}: `;
  }
  return `${prefix}${text}\n`;
}

function speakerPart(event: TranscriptEvent): string | undefined {
  if (event.speaker === undefined) return undefined;
  if (event.speaker_label !== undefined) return `(${event.speaker})`;
  return event.speaker === UNKNOWN_SPEAKER ? undefined : `(speaker ${event.speaker})`;
}

/** A record is one line: line breaks inside a turn's text become spaces. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n\u2028\u2029]+/g, ' ').trim();
}
