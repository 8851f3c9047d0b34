/** Transcript events and sink contexts for sink tests. */
import pino from 'pino';
import type { TranscriptEvent } from '../../src/model/transcript.js';
import type { SinkContext } from '../../src/sinks/sink.js';

export function transcriptEvent(seq: number, fields: Partial<TranscriptEvent> = {}): TranscriptEvent {
  return {
    pipeline: 'meeting',
    session_id: 'session-1',
    seq,
    turn_order: seq,
    final: true,
    formatted: true,
    text: `Turn number ${seq}.`,
    start_ms: seq * 1000,
    end_ms: seq * 1000 + 800,
    words: [],
    received_at: new Date().toISOString(),
    ...fields,
  };
}

export function sinkContext(baseDir: string, fields: Partial<SinkContext> = {}): SinkContext {
  return {
    pipeline: 'meeting',
    name: 'notes',
    logger: pino({ level: 'silent' }),
    baseDir,
    stateDir: `${baseDir}/.state`,
    ...fields,
  };
}
