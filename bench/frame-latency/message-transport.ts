/**
 * The transport half of the message-passing designs (b, c, d): frames arrive
 * as messages instead of through the ring, and from there on everything is
 * earshot's own code, set up as the transport worker sets it up (same
 * TranscriptionStream options, same backlog, same connector): each frame is
 * copied into a backlog buffer, appended, and the stream sends it.
 *
 * Runs in a transport thread (b, c: message-transport-task.ts) or directly on
 * the main thread (d).
 */
import type { MessagePort } from 'node:worker_threads';
import pino from 'pino';
import type { PipelineConfig } from '../../src/config/schema.js';
import { assemblyAIConnector } from '../../src/transport/connectors.js';
import { TranscriptionStream, type StreamStats } from '../../src/transport/stream.js';

/** How long to send what is left and wait for Termination once capture ended. */
const FINISH_TIMEOUT_MS = 15000;

export interface FrameMessage {
  seq: number;
  captureTimeMs: number;
  samples: Int16Array;
}

export type CaptureMessage = FrameMessage | { end: true };

export interface CarryReport {
  latenciesMs: number[];
  stats: StreamStats;
}

export interface CarryOptions {
  pipeline: string;
  config: PipelineConfig;
  frames: MessagePort;
  onStreaming: () => void;
}

export async function carryFrames({ pipeline, config, frames, onStreaming }: CarryOptions): Promise<CarryReport> {
  const transcriber = config.transcriber;
  if (transcriber.type !== 'assemblyai') throw new Error(`the message designs stream to a v3 server, not a ${transcriber.type} transcriber`);
  const sampleRate = config.source.sample_rate;
  const logger = pino({ level: 'silent' });
  const latenciesMs: number[] = [];
  // Mirrors the options runPipelineAudio gives its stream for an assemblyai transcriber.
  const stream = new TranscriptionStream({
    pipeline,
    sampleRate,
    frameSamples: Math.round((sampleRate * config.source.frame_ms) / 1000),
    bufferSeconds: transcriber.buffer_seconds,
    connect: assemblyAIConnector(transcriber, sampleRate, logger),
    formatTurns: transcriber.params.format_turns === true,
    reconnect: transcriber.reconnect,
    terminationTimeoutMs: transcriber.termination_timeout_ms,
    lookaheadMs: 60_000,
    confirmAfterMs: 5000,
    logger,
    onEvent: () => undefined,
    onStatus: (status) => {
      if (status.state === 'streaming') onStreaming();
    },
    onFrameSent: (latencyMs) => latenciesMs.push(latencyMs),
  });
  stream.start();
  await new Promise<void>((resolve) => {
    frames.on('message', (message: CaptureMessage) => {
      if ('end' in message) return resolve();
      const into = stream.backlog.borrow();
      into.set(message.samples);
      stream.backlog.append(message.seq, message.captureTimeMs, into.subarray(0, message.samples.length));
      stream.frameAdded(message.seq);
    });
  });
  frames.close();
  await stream.finish(AbortSignal.timeout(FINISH_TIMEOUT_MS));
  return { latenciesMs, stats: stream.snapshotStats() };
}
