// @ts-check
/**
 * An earshot sink plugin: meeting notes in Markdown. Each finished turn
 * becomes one bullet with its time and who spoke; each run of the pipeline
 * starts a new section in the same file.
 *
 *   sinks:
 *     - type: plugin
 *       module: ./plugins/meeting-notes.js
 *       options:
 *         path: notes/{date}-{pipeline}.md
 *         speakers: { A: Alice, B: Bob }
 *
 * Plain JavaScript: copy it and edit it, no build step. The JSDoc types come
 * from earshot (`import('earshot')`) for editors and `tsc --checkJs`; nothing
 * is imported from earshot when it runs.
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * @typedef {object} MeetingNotesOptions
 * @property {string} path Markdown file, relative to the pipeline file; {pipeline} and {date} are filled in.
 * @property {string} title Heading of each section, followed by the date and time the pipeline started.
 * @property {'wall' | 'audio'} time Time of day the turn was heard, or its position in the recording.
 * @property {Record<string, string>} speakers Names for the service's speaker labels (with `speaker_labels: true`).
 */

/** @type {import('earshot').SinkPlugin<MeetingNotesOptions>} */
const meetingNotes = {
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['path'],
    properties: {
      path: { type: 'string', minLength: 1, description: 'Markdown file; {pipeline} and {date} are filled in' },
      title: { type: 'string', default: 'Meeting notes' },
      time: { enum: ['wall', 'audio'], default: 'wall' },
      speakers: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
    },
  },

  create(options, context) {
    const startedAt = new Date();
    const path = resolve(context.baseDir, options.path.replaceAll('{pipeline}', context.pipeline).replaceAll('{date}', isoDate(startedAt)));
    /** @type {import('node:fs/promises').FileHandle | undefined} */
    let file;

    /** @param {import('earshot').TranscriptEvent} event */
    const line = (event) => {
      const time = options.time === 'audio' ? clock(event.start_ms) : timeOfDay(new Date(event.received_at));
      const who = speakerName(event.speaker, options.speakers) ?? context.label;
      return `- **${time}** ${who ? `${who}: ` : ''}${event.text}\n`;
    };

    return {
      async start() {
        await mkdir(dirname(path), { recursive: true });
        file = await open(path, 'a');
        const { size } = await file.stat();
        await file.write(`${size > 0 ? '\n' : ''}## ${options.title}, ${isoDate(startedAt)} ${timeOfDay(startedAt)}\n\n`);
        context.logger.info({ path }, `meeting notes in ${path}`);
      },
      async write(event) {
        // Partial turns are still changing; notes get the finished turn only.
        if (!event.final || !file) return;
        await file.write(line(event));
      },
      async flush() {
        await file?.datasync();
      },
      async stop() {
        await file?.close();
        file = undefined;
      },
    };
  },
};

export default meetingNotes;

/**
 * @param {string | undefined} label the service's speaker label: A, B, ... or UNKNOWN
 * @param {Record<string, string>} names
 * @returns {string | undefined}
 */
function speakerName(label, names) {
  if (label === undefined || label === 'UNKNOWN') return undefined;
  return names[label] ?? `Speaker ${label}`;
}

/** @param {Date} date local YYYY-MM-DD */
function isoDate(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** @param {Date} date local HH:MM:SS */
function timeOfDay(date) {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** @param {number} ms position in the recording @returns {string} HH:MM:SS */
function clock(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  return `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
}

/** @param {number} n */
function pad(n) {
  return String(n).padStart(2, '0');
}
