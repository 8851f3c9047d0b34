/**
 * The sink contract: what a built-in sink or a plugin implements to receive
 * transcript events. Exported for plugin authors (docs/plugins.md, "Write a sink").
 *
 * The runner calls start() once, then write() one event at a time (never two
 * at once), flush() when asked to make output durable, and stop() last. Each
 * sink sits behind its own bounded queue on the main thread, so a slow or
 * failing sink fills only its own queue; a plugin's sink itself runs in a
 * thread of its own unless its `isolation` is `main` (isolated-plugin-sink.ts). A write that throws is counted and
 * logged and the same event is tried again with backoff: a RetryableSinkError
 * until it succeeds (new events queue meanwhile, and the queue's policy drops
 * when it is full), any other error three times in all before the event is
 * given up for this sink (counted as a drop).
 *
 * With diarization on, the service may later revise who spoke earlier turns:
 * revise() gets those revisions, in order with the turns, retried like
 * write(). It is optional: a sink without it never sees one.
 */
import type { Logger } from 'pino';
import type { SpeakerRevisionEvent, TranscriptEvent } from '../model/transcript.js';

export type { PipelineEvent, SpeakerRevision, SpeakerRevisionEvent, TranscriptEvent, TranscriptWord } from '../model/transcript.js';

export interface SinkContext {
  /** The pipeline this sink belongs to. */
  readonly pipeline: string;
  readonly label?: string;
  /** The sink's name in logs and metrics (`file#1`, or its `name:`). */
  readonly name: string;
  /** Child logger carrying pipeline and sink fields. */
  readonly logger: Logger;
  /** Relative paths in options resolve against this (the pipeline file's directory). */
  readonly baseDir: string;
  /** A directory this sink may keep state in (spools, cursors); created on demand. */
  readonly stateDir: string;
}

export interface Sink {
  /** Open files or connections; throw to refuse to start (the message names what is wrong). */
  start?(): Promise<void>;
  /** Handle one event; resolve when it is written, delivered, or durably queued. */
  write(event: TranscriptEvent): Promise<void> | void;
  /** Handle a speaker revision of turns already written (match them by `seq`). Optional. */
  revise?(event: SpeakerRevisionEvent): Promise<void> | void;
  /** Make everything written so far durable or visible. */
  flush?(): Promise<void>;
  /** Flush and release everything. Called once. */
  stop?(): Promise<void>;
}

export type SinkFactory<Options = Record<string, unknown>> = (
  options: Options,
  context: SinkContext,
) => Sink | Promise<Sink>;

/** What a plugin module exports (as its default export, or as `sink`). */
export interface SinkPlugin<Options = Record<string, unknown>> {
  /** A JSON Schema for `options:`; the runner validates before calling create. */
  readonly optionsSchema?: Record<string, unknown>;
  readonly create: SinkFactory<Options>;
}

/** Thrown by a sink when the same event should be tried again after a delay. */
export class RetryableSinkError extends Error {
  override readonly name = 'RetryableSinkError';
  constructor(
    message: string,
    /** How long to wait before retrying, when the sink knows (Retry-After). */
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
