/**
 * The console sink, as in AssemblyAI's guide: on a terminal, the partial turn
 * is rewritten in place and each final gets its own line; when stdout is a
 * pipe or a file, only finals are written, one per line.
 */
import type { ConsoleSinkConfig } from '../config/schema.js';
import type { TranscriptEvent } from '../model/transcript.js';
import type { Sink, SinkContext } from './sink.js';

const CLEAR_LINE = '\r\x1b[2K';
const DIM = '\x1b[2m';
const BOLD = '\x1b[1m';
const RESET = '\x1b[0m';
const LABEL_COLOURS = ['\x1b[36m', '\x1b[33m', '\x1b[35m', '\x1b[32m', '\x1b[34m'];

/** The terminal line all console sinks share: whichever partial was drawn last owns it. */
let partialOnScreen = false;

export interface ConsoleOutput {
  write(text: string): void;
  isTTY: boolean;
  columns: number;
}

export function createConsoleSink(
  options: ConsoleSinkConfig,
  context: SinkContext & { pipelineCount: number },
  output: ConsoleOutput = { write: (t) => process.stdout.write(t), isTTY: process.stdout.isTTY === true, columns: process.stdout.columns || 100 },
): Sink {
  const tty = output.isTTY;
  const showPartials = options.partials === 'auto' ? tty : options.partials;
  const colour = options.color === 'auto' ? tty && !process.env.NO_COLOR : options.color;
  const showLabel = options.labels === 'auto' ? context.pipelineCount > 1 : options.labels;
  const labelText = context.label ?? context.pipeline;
  const labelColour = LABEL_COLOURS[hash(labelText) % LABEL_COLOURS.length] as string;

  const prefix = (event: TranscriptEvent): string => {
    let text = '';
    if (options.timestamps) text += `[${clock(event.start_ms)}] `;
    if (showLabel) text += colour ? `${labelColour}${BOLD}${labelText}${RESET}: ` : `${labelText}: `;
    return text;
  };

  return {
    write(event) {
      if (!event.final) {
        if (!showPartials) return;
        const line = prefix(event) + (colour ? DIM : '') + event.text + (colour ? RESET : '');
        output.write(CLEAR_LINE + fit(line, output.columns));
        partialOnScreen = true;
        return;
      }
      output.write((partialOnScreen && tty ? CLEAR_LINE : '') + prefix(event) + event.text + '\n');
      partialOnScreen = false;
    },
    stop() {
      if (partialOnScreen && tty) output.write(CLEAR_LINE);
      partialOnScreen = false;
      return Promise.resolve();
    },
  };
}

/** Keeps an in-place line to one screen row (wider lines would scroll and defeat the rewrite). */
function fit(line: string, columns: number): string {
  // eslint-disable-next-line no-control-regex
  const visible = line.replace(/\x1b\[[0-9;]*m/g, '');
  if (visible.length < columns) return line;
  return '…' + visible.slice(visible.length - columns + 2);
}

function clock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 100));
  const tenths = total % 10;
  const seconds = Math.floor(total / 10) % 60;
  const minutes = Math.floor(total / 600) % 60;
  const hours = Math.floor(total / 36000);
  return `${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}.${tenths}`;
}

function hash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0;
  return h;
}
