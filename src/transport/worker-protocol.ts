/** Messages between the main thread and a pipeline's transport worker. */
import type { MessagePort } from 'node:worker_threads';
import type { PipelineConfig } from '../config/schema.js';
import type { TranscriptEvent } from '../model/transcript.js';
import type { StreamStats, StreamStatus } from './stream.js';

export interface PipelineTask {
  pipeline: string;
  config: PipelineConfig;
  ring: SharedArrayBuffer;
  port: MessagePort;
  baseDir: string;
  logLevel: string;
  /** Once capture has stopped: how long to send what is left and wait for the last turns. */
  finishTimeoutMs: number;
}

export type ToWorker =
  /** Stop now: nothing more is sent (a second signal, or a pipeline that must die). */
  | { type: 'abort' }
  | { type: 'force_endpoint' }
  | { type: 'update_configuration'; params: Record<string, unknown> };

export type FromWorker =
  | { type: 'transcript'; event: TranscriptEvent }
  | { type: 'status'; status: StreamStatus }
  | { type: 'stats'; stats: StreamStats; backlogFrames: number; latenciesMs: number[] }
  | { type: 'log'; line: string }
  | { type: 'ended'; failed?: StreamStatus['error'] };
