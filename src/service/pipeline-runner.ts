/**
 * One pipeline, assembled from its actors: capture (in the audio host
 * thread) fills a ring; the transport worker reads it and streams to the
 * transcriber; transcript events come back here and fan out, through an RxJS
 * subject, to one SinkActor per sink.
 *
 * Stopping drains in order: capture stops (the ring closes), the transport
 * sends what is left, ends the session and delivers the last turns, then
 * every sink drains its queue and flushes.
 */
import type { Piscina } from 'piscina';
import type { Logger } from 'pino';
import { Subject } from 'rxjs';
import type { AudioHostClient } from '../capture/audio-host-client.js';
import type { CaptureStats } from '../capture/audio-host-protocol.js';
import { FrameRing } from '../capture/ring.js';
import type { PipelineConfig } from '../config/schema.js';
import type { PipelineEvent } from '../model/transcript.js';
import { Supervisor } from '../pipeline/supervisor.js';
import { WorkerTask } from '../pipeline/worker-task.js';
import { PluginLoadError } from '../sinks/plugin.js';
import { createSinkActors } from '../sinks/registry.js';
import type { SharedFileSinks } from '../sinks/shared-file.js';
import type { SinkActor } from '../sinks/sink-actor.js';
import type { StreamStats, StreamStatus } from '../transport/stream.js';
import type { FromWorker, PipelineTask, ToWorker } from '../transport/worker-protocol.js';
import { relayLogLine } from './logger.js';

/** How long past its own finish bound the transport worker gets before it is told to abort. */
const FINISH_BACKSTOP_MARGIN_MS = 250;

export type PipelineState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface PipelineRunnerOptions {
  name: string;
  config: PipelineConfig;
  baseDir: string;
  stateDir: string;
  host: AudioHostClient;
  transportPool: Piscina;
  logger: Logger;
  logLevel: string;
  pipelineCount: number;
  /** Bound on sending the last audio and waiting for the last turns. */
  finishTimeoutMs: number;
  /** Capture-to-socket latencies the transport measured, in ms. */
  onLatencies?: (pipeline: string, latenciesMs: number[]) => void;
  /** Where file sinks naming one file, in any pipeline, share one writer. */
  sharedFiles?: SharedFileSinks;
  /** Hears secret values only known once a sink is loaded (plugin options marked secret). */
  onSecrets?: (values: readonly string[]) => void;
  /** Start paused (a reload restarts a paused pipeline: it stays paused). */
  startPaused?: boolean;
}

export class PipelineStartError extends Error {
  override readonly name = 'PipelineStartError';
}

export class PipelineRunner {
  readonly name: string;
  readonly label: string | undefined;
  /** When this run of the pipeline was created (a reload that restarts it makes a new runner). */
  readonly startedAt = new Date();
  state: PipelineState = 'starting';
  /** True once everything has stopped (the same moment `done` resolves). */
  finished = false;
  transcriberStatus: StreamStatus | undefined;
  transportStats: StreamStats | undefined;
  /** Latest figures from the audio host. */
  captureStats: CaptureStats | undefined;
  backlogFrames = 0;
  readonly frameSamples: number;
  failure: string | undefined;
  /** Final turns handed to the sinks. */
  finalsDelivered = 0;
  /** Paused on request: capture runs, nothing is transcribed (the transcriber status says how far the pause got). */
  paused: boolean;
  /** Turns and speaker revisions, in the order the transport sent them. */
  readonly transcripts = new Subject<PipelineEvent>();
  private readonly logger: Logger;
  private ring: FrameRing | undefined;
  private sinks: SinkActor[] = [];
  private transport: WorkerTask<ToWorker, FromWorker> | undefined;
  private readonly supervisor: Supervisor;
  private ended: () => void = () => undefined;
  /** Resolves when the pipeline has stopped, whether asked to or by itself (file ended, permanent failure). */
  readonly done: Promise<void>;
  private stopRequested = false;

  constructor(private readonly options: PipelineRunnerOptions) {
    this.name = options.name;
    this.label = options.config.label;
    this.frameSamples = Math.round((options.config.source.sample_rate * options.config.source.frame_ms) / 1000);
    this.logger = options.logger.child({ pipeline: options.name });
    this.paused = options.startPaused === true;
    this.done = new Promise((resolve) => {
      this.ended = () => {
        this.finished = true;
        resolve();
      };
    });
    this.supervisor = new Supervisor({
      maxRestarts: 5,
      windowMs: 60000,
      backoff: { initialDelayMs: 200, maxDelayMs: 5000 },
      logger: this.logger,
      onGiveUp: (_child, error) => this.markFailed(`the transport worker keeps crashing: ${error.message}`),
    });
  }

  get sinkActors(): readonly SinkActor[] {
    return this.sinks;
  }

  /** The transcriber session audio goes to now, once one has begun. */
  get sessionId(): string | undefined {
    return this.transcriberStatus?.sessionId;
  }

  /**
   * Starts sinks, transport and capture, in that order (so no transcript is
   * produced before its sinks can take it). On failure, what had started is
   * stopped, the runner is marked failed (the caller logs the reason) and a
   * PipelineStartError is thrown; `done` resolves once all has stopped.
   */
  async start(): Promise<void> {
    try {
      await this.startParts();
    } catch (error) {
      this.state = 'failed';
      this.failure = (error as Error).message;
      throw error;
    }
  }

  private async startParts(): Promise<void> {
    const { config, name } = this.options;
    const source = config.source;
    this.ring = FrameRing.create({
      capacityFrames: Math.ceil((source.ring_seconds * 1000) / source.frame_ms),
      frameSamples: this.frameSamples,
      sampleRate: source.sample_rate,
      policy: source.ring_policy,
    });

    try {
      this.sinks = await createSinkActors(config, {
        pipeline: name,
        baseDir: this.options.baseDir,
        stateDir: this.options.stateDir,
        logger: this.logger,
        pipelineCount: this.options.pipelineCount,
        ...(this.options.sharedFiles ? { sharedFiles: this.options.sharedFiles } : {}),
        ...(this.options.onSecrets ? { onSecrets: this.options.onSecrets } : {}),
      });
    } catch (error) {
      // A PluginLoadError already names the pipeline and the sink.
      const message = error instanceof PluginLoadError ? error.message : `pipeline ${name}: ${(error as Error).message}`;
      await this.endBeforeTransport();
      throw new PipelineStartError(message, { cause: error });
    }
    for (const sink of this.sinks) {
      try {
        await sink.start();
      } catch (error) {
        await this.endBeforeTransport();
        throw new PipelineStartError(`pipeline ${name}: sink ${sink.name} cannot start: ${(error as Error).message}`, { cause: error });
      }
      this.transcripts.subscribe((event) => sink.tell(event));
    }

    const ring = this.ring;
    this.transport = new WorkerTask<ToWorker, FromWorker>({
      name: `${name}/transport`,
      pool: this.options.transportPool,
      payload: (port) => {
        const task: PipelineTask = {
          pipeline: name,
          config,
          ring: ring.buffer,
          port,
          baseDir: this.options.baseDir,
          logLevel: this.options.logLevel,
          finishTimeoutMs: this.options.finishTimeoutMs,
          // Read at each (re)start: a worker restarted by the supervisor keeps the pause.
          startPaused: this.paused,
        };
        return { data: task, transferList: [port] };
      },
      onMessage: (message) => this.onWorkerMessage(message),
    });
    this.transport.onDone(() => void this.onTransportEnded());
    await this.supervisor.supervise(this.transport);

    try {
      // What was opened is logged from the host's `opened` event.
      await this.options.host.open(name, source, this.options.baseDir, ring.buffer);
    } catch (error) {
      this.transport.post({ type: 'abort' });
      throw new PipelineStartError(`pipeline ${name}: ${(error as Error).message}`, { cause: error });
    }
    this.state = 'running';
  }

  /** Graceful stop: capture, then transport (bounded), then sinks. */
  async stop(): Promise<void> {
    if (this.stopRequested) return this.done;
    this.stopRequested = true;
    if (this.state === 'running' || this.state === 'starting') this.state = 'stopping';
    await this.options.host.close(this.name).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'capture did not close cleanly');
    });
    this.ring?.close();
    // The worker bounds its finish by finishTimeoutMs; this holds it to that from here too, whatever its timers do.
    const backstop = setTimeout(() => {
      this.logger.warn({ timeout_ms: this.options.finishTimeoutMs }, 'the transcriber did not finish in time; stopping it');
      this.transport?.post({ type: 'abort' });
    }, this.options.finishTimeoutMs + FINISH_BACKSTOP_MARGIN_MS);
    await this.done;
    clearTimeout(backstop);
  }

  /** The state shown on /healthz and in control answers: `paused` while a running pipeline is paused. */
  get displayState(): PipelineState | 'paused' {
    return this.state === 'running' && this.paused ? 'paused' : this.state;
  }

  /**
   * Pauses transcription (the session ends after the audio captured so far,
   * captured audio is discarded) or resumes it. Returns why not (not running,
   * already so, a token that cannot open a second session), or undefined once passed on.
   */
  setPaused(paused: boolean): string | undefined {
    if (this.state !== 'running' || !this.transport) return `pipeline ${this.name} is ${this.state}`;
    if (this.paused === paused) return `pipeline ${this.name} is already ${paused ? 'paused' : 'running'}`;
    const transcriber = this.options.config.transcriber;
    if (paused && transcriber.type === 'assemblyai' && transcriber.api_key === undefined) {
      return `pipeline ${this.name} uses a temporary token, which opens one session: it could not resume after a pause; give it api_key`;
    }
    this.paused = paused;
    this.transport.post({ type: paused ? 'pause' : 'resume' });
    return undefined;
  }

  /** Ends the transcriber's current turn now (ForceEndpoint); false when the pipeline is not running (or paused). */
  forceEndpoint(): boolean {
    if (this.state !== 'running' || this.paused || !this.transport) return false;
    this.transport.post({ type: 'force_endpoint' });
    return true;
  }

  /** Changes live transcriber parameters (checked: checkConfigurationUpdate) now and for later sessions. */
  updateConfiguration(params: Record<string, unknown>): boolean {
    if (this.state !== 'running' || !this.transport) return false;
    this.transport.post({ type: 'update_configuration', params });
    return true;
  }

  /** Second signal: stop sending and retrying now; sinks still get what is queued. */
  abort(): void {
    this.transport?.post({ type: 'abort' });
    for (const sink of this.sinks) sink.hurry();
  }

  private onWorkerMessage(message: FromWorker): void {
    switch (message.type) {
      case 'transcript':
        if (message.event.final) this.finalsDelivered++;
        this.transcripts.next(message.event);
        return;
      case 'speaker_revision':
        this.transcripts.next(message.event);
        return;
      case 'status':
        this.transcriberStatus = message.status;
        if (message.status.state === 'failed') {
          this.markFailed(message.status.error?.message ?? 'transcriber failed');
          void this.stop();
        }
        return;
      case 'stats':
        this.transportStats = message.stats;
        this.backlogFrames = message.backlogFrames;
        if (message.latenciesMs.length > 0) this.options.onLatencies?.(this.name, message.latenciesMs);
        return;
      case 'log':
        relayLogLine(this.options.logger, message.line);
        return;
      case 'ended':
        if (message.failed) this.markFailed(message.failed.message);
        return;
    }
  }

  private async onTransportEnded(): Promise<void> {
    this.transport?.close();
    // Capture may still run if the transport ended on its own (permanent failure).
    if (!this.stopRequested) {
      this.stopRequested = true;
      await this.options.host.close(this.name).catch(() => undefined);
    }
    this.transcripts.complete();
    for (const sink of this.sinks) {
      await sink.drain().catch((error: unknown) => this.logger.error({ err: error, sink: sink.name }, 'sink failed to drain'));
    }
    if (this.state !== 'failed') this.state = 'stopped';
    // What each sink got, once all are flushed: the figures to check a transcript file against.
    const sinks = Object.fromEntries(this.sinks.map((sink) => [sink.name, { ...sink.counters }]));
    this.logger.info({ state: this.state, finals: this.finalsDelivered, sinks }, `pipeline ${this.state}`);
    this.ended();
  }

  /** start() failed before the transport ran, so no transport end will stop the sinks and settle `done`: this does. */
  private async endBeforeTransport(): Promise<void> {
    this.stopRequested = true;
    this.transcripts.complete();
    for (const sink of this.sinks) {
      if (sink.state !== 'running') {
        await sink.release();
        continue;
      }
      await sink.drain().catch((error: unknown) => this.logger.error({ err: error, sink: sink.name }, 'sink failed to drain'));
    }
    this.ended();
  }

  private markFailed(reason: string): void {
    if (this.state === 'failed') return;
    this.state = 'failed';
    this.failure = reason;
    this.logger.error({ reason }, `pipeline failed: ${reason}`);
  }
}
