/** Shared by the sink tests: events shaped like the pipeline's, contexts on temp dirs, captured logs. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { TranscriptEvent, TranscriptWord } from '../../src/model/transcript.js';
import type { SinkContext } from '../../src/sinks/sink.js';

export interface LogRecord {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface TestContext extends SinkContext {
  logs: LogRecord[];
  dir: string;
  cleanup(): Promise<void>;
}

export async function testContext(name = 'file#1', extra: Partial<SinkContext> = {}): Promise<TestContext> {
  const dir = await mkdtemp(join(tmpdir(), 'earshot-sinks-'));
  const logs: LogRecord[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogRecord) });
  return {
    pipeline: 'meeting',
    name,
    logger,
    baseDir: dir,
    stateDir: join(dir, '.earshot', name),
    logs,
    dir,
    cleanup: () => rm(dir, { recursive: true, force: true }),
    ...extra,
  };
}

/** Words laid out from `startMs`: each `wordMs` long, `gapMs` apart. */
export function timedWords(text: string, startMs: number, wordMs = 300, gapMs = 80): TranscriptWord[] {
  return text
    .split(/\s+/)
    .filter((w) => w !== '')
    .map((word, i) => {
      const start_ms = startMs + i * (wordMs + gapMs);
      return { text: word, start_ms, end_ms: start_ms + wordMs, confidence: 0.9 };
    });
}

let seq = 0;

/** A final turn whose words carry the text and times. */
export function finalTurn(text: string, startMs: number, overrides: Partial<TranscriptEvent> = {}): TranscriptEvent {
  const words = overrides.words ?? timedWords(text, startMs);
  return {
    pipeline: 'meeting',
    session_id: 'sess-1',
    seq: seq++,
    turn_order: seq,
    final: true,
    formatted: true,
    text,
    start_ms: words[0]?.start_ms ?? startMs,
    end_ms: words[words.length - 1]?.end_ms ?? startMs,
    words,
    received_at: new Date(Date.UTC(2026, 10, 25, 10, 0, 0) + startMs).toISOString(),
    ...overrides,
  };
}

export function partialTurn(text: string, startMs: number, overrides: Partial<TranscriptEvent> = {}): TranscriptEvent {
  return finalTurn(text, startMs, { final: false, formatted: false, ...overrides });
}

/** Turns of the lengths a call produces: one word, a short command (pocketsphinx's goforward.raw), long sentences, text that needs escaping. */
export const SENTENCES = [
  'Go forward ten meters.',
  'Turn left and go forward twenty meters, then stop at the second door on the right side of the hallway.',
  'The quick brown fox jumps over the lazy dog while the committee reviews the quarterly budget and asks about the new offices downtown.',
  'Yes.',
  'We should ship the release on Thursday if the tests pass & the docs are <ready> --> otherwise Monday.',
];
