/** Messages between the main thread and the audio host thread. */
import type { SourceConfig } from '../config/schema.js';
import type { CaptureDevice } from './devices.js';
import type { CaptureGap } from './frame-assembler.js';
import type { SourceInfo } from './sources/source.js';

export type HostRequest =
  | { type: 'open'; id: number; pipeline: string; source: SourceConfig; baseDir: string; ring: SharedArrayBuffer }
  | { type: 'close'; id: number; pipeline: string }
  | { type: 'devices'; id: number }
  | { type: 'shutdown'; id: number };

export type HostReply =
  | { type: 'reply'; id: number; ok: true; info?: SourceInfo; devices?: CaptureDevice[] }
  | { type: 'reply'; id: number; ok: false; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
}

export interface CaptureStats {
  state: CaptureState;
  framesWritten: number;
  /** Frames the ring's overflow policy discarded (the consumer was too slow). */
  framesDropped: number;
  /** Samples lost before the ring (device overflow, restarts). */
  samplesLost: number;
  /** Gaps recorded, whatever their cause. */
  gaps: number;
  /** Overflows the device reported. */
  overflows: number;
  /** Times the source was reopened after a failure. */
  restarts: number;
  ringFill: number;
  ringCapacity: number;
}

export type CaptureState = 'opening' | 'running' | 'restarting' | 'ended' | 'closed';

export type HostEvent =
  | { type: 'event'; pipeline: string; kind: 'opened'; info: SourceInfo; restarted: boolean }
  | { type: 'event'; pipeline: string; kind: 'failed'; error: SerializedError; retryInMs: number; attempt: number }
  | { type: 'event'; pipeline: string; kind: 'ended'; error?: SerializedError }
  | { type: 'event'; pipeline: string; kind: 'overflow'; detail: string }
  /** The server's default source changed and this capture (no `device:`) follows it. */
  | { type: 'event'; pipeline: string; kind: 'default-source'; from?: string; to: string }
  /** The server moved this capture's named source's stream to `movedTo` (the default changed); it was moved back. */
  | { type: 'event'; pipeline: string; kind: 'device-kept'; device: string; movedTo: string }
  | { type: 'event'; pipeline: string; kind: 'gap'; gap: CaptureGap }
  | { type: 'stats'; pipelines: Record<string, CaptureStats> };

/** The host hit a fatal error; `clean`: it closed every capture before giving up (its thread may be ended safely). */
export interface HostFatal {
  type: 'fatal';
  error: SerializedError;
  clean: boolean;
}

export type HostMessage = HostReply | HostEvent | HostFatal;

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}
