/** Messages between the main thread and a pipeline's transport worker. */
import type { MessagePort } from 'node:worker_threads';
import type { PipelineConfig } from '../config/schema.js';
import type { SpeakerRevisionEvent, TranscriptEvent } from '../model/transcript.js';
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
  /** Start paused (the pipeline was paused when its worker was restarted or its settings reloaded). */
  startPaused?: boolean;
}

export type ToWorker =
  /** Stop now: nothing more is sent (a second signal, or a pipeline that must die). */
  | { type: 'abort' }
  | { type: 'force_endpoint' }
  /** Stop transcribing (the session ends after the audio so far) until resume; capture goes on. */
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'update_configuration'; params: Record<string, unknown> };

export type FromWorker =
  | { type: 'transcript'; event: TranscriptEvent }
  | { type: 'speaker_revision'; event: SpeakerRevisionEvent }
  | { type: 'status'; status: StreamStatus }
  | { type: 'stats'; stats: StreamStats; backlogFrames: number; latenciesMs: number[] }
  | { type: 'log'; line: string }
  | { type: 'ended'; failed?: StreamStatus['error'] };
