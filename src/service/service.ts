/**
 * `earshot run`: every pipeline of a file, as one long-lived service. One
 * audio host thread owns capture for all of them; a pool of transport
 * workers carries their audio; the main thread keeps config, logs and sinks.
 * SIGINT/SIGTERM stop gracefully (drain, Terminate, flush); a second signal
 * stops at once.
 */
import type { Server } from 'node:http';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import { AudioHostClient } from '../capture/audio-host-client.js';
import { logCaptureEvent } from '../capture/capture-log.js';
import { ConfigError, formatDiagnostic, loadPipelineFile, secretValues } from '../config/load.js';
import type { PipelineFileConfig } from '../config/schema.js';
import { Supervisor } from '../pipeline/supervisor.js';
import { startHttpServer } from './http.js';
import { createLogger } from './logger.js';
import { ServiceMetrics } from './metrics.js';
import { PipelineRunner, PipelineStartError } from './pipeline-runner.js';

export const ExitCode = {
  ok: 0,
  configInvalid: 1,
  pipelineFailed: 3,
  startFailed: 4,
  forced: 130,
} as const;

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the stop signals come from (the process, or a test). */
  signals?: NodeJS.EventEmitter;
  stderr?: NodeJS.WritableStream;
}

export async function runService(file: string, options: RunOptions = {}): Promise<number> {
  const stderr = options.stderr ?? process.stderr;
  let config: PipelineFileConfig;
  let baseDir: string;
  try {
    const loaded = await loadPipelineFile(file, { env: options.env ?? process.env });
    config = loaded.config;
    baseDir = loaded.baseDir;
    for (const warning of loaded.warnings) stderr.write(formatDiagnostic(warning) + '\n');
  } catch (error) {
    if (error instanceof ConfigError) {
      stderr.write(error.message + '\n');
      return ExitCode.configInvalid;
    }
    throw error;
  }
  const logger = createLogger({
    level: config.service.log.level,
    format: config.service.log.format,
    secrets: secretValues(config),
  });
  const service = new Service(config, baseDir, logger);
  const signals = options.signals ?? process;
  let signalCount = 0;
  const onSignal = (signal: string): void => {
    signalCount++;
    if (signalCount === 1) {
      logger.info({ signal }, `${signal}: stopping gracefully (send it again to stop at once)`);
      void service.stop();
    } else {
      logger.warn({ signal }, `${signal} again: stopping now`);
      service.abort();
    }
  };
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  try {
    return await service.run();
  } finally {
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
    logger.flush();
  }
}

/**
 * The transport pool for `pipelineCount` pipelines: one thread per core at
 * most, each pipeline one long-lived task on it (several share a thread).
 */
export function transportPoolOptions(pipelineCount: number, filename: URL): ConstructorParameters<typeof Piscina>[0] {
  const threads = Math.max(1, Math.min(pipelineCount, availableParallelism()));
  return {
    filename: filename.href,
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: Math.ceil(pipelineCount / threads),
    idleTimeout: Infinity,
    atomics: 'disabled',
  };
}

/** The modules the service's threads run; benchmarks wrap the real ones to measure inside the threads. */
export interface ServiceThreadModules {
  audioHost?: URL;
  transport?: URL;
}

export class Service {
  private readonly host: AudioHostClient;
  private readonly hostSupervisor: Supervisor;
  private transportPool: Piscina | undefined;
  readonly runners: PipelineRunner[] = [];
  readonly metrics = new ServiceMetrics(() => this.runners);
  private http: Server | undefined;
  /** Where /healthz and /metrics are served, once listening. */
  httpUrl: string | undefined;
  private forced = false;
  private stopping = false;

  constructor(
    private readonly config: PipelineFileConfig,
    private readonly baseDir: string,
    private readonly logger: Logger,
    private readonly modules: ServiceThreadModules = {},
  ) {
    this.host = new AudioHostClient(modules.audioHost);
    this.hostSupervisor = new Supervisor({
      maxRestarts: 10,
      windowMs: 60000,
      backoff: { initialDelayMs: 200, maxDelayMs: 5000 },
      logger,
      onGiveUp: (_child, error) => {
        logger.fatal({ err: error }, 'the audio host keeps crashing; stopping');
        void this.stop();
      },
    });
    this.host.onEvent((event) => {
      if (event.type === 'stats') {
        for (const runner of this.runners) {
          const stats = event.pipelines[runner.name];
          if (stats) runner.captureStats = stats;
        }
        return;
      }
      logCaptureEvent(logger, event);
    });
  }

  /** Starts every pipeline and resolves with the exit code once all have stopped. */
  async run(): Promise<number> {
    const names = Object.keys(this.config.pipelines);
    this.transportPool = new Piscina(
      transportPoolOptions(names.length, this.modules.transport ?? new URL('../transport/audio-worker.js', import.meta.url)),
    );
    const http = this.config.service.http;
    if (http) {
      const started = await startHttpServer(http.host, http.port, () => this.runners, this.metrics);
      this.http = started.server;
      this.httpUrl = started.url;
      this.logger.info({ url: started.url }, `health and metrics on ${started.url}/healthz and ${started.url}/metrics`);
    }
    await this.hostSupervisor.supervise(this.host);
    const stateDir = resolve(this.baseDir, this.config.service.state_dir);
    let startFailed = false;
    for (const name of names) {
      const runner = new PipelineRunner({
        name,
        config: this.config.pipelines[name] as PipelineFileConfig['pipelines'][string],
        baseDir: this.baseDir,
        stateDir,
        host: this.host,
        transportPool: this.transportPool,
        logger: this.logger,
        logLevel: this.config.service.log.level,
        pipelineCount: names.length,
        finishTimeoutMs: Math.max(1000, this.config.service.shutdown_timeout_ms - 1000),
        onLatencies: (pipeline, latencies) => this.metrics.observeLatencies(pipeline, latencies),
      });
      this.runners.push(runner);
      try {
        await runner.start();
      } catch (error) {
        startFailed = true;
        const message = error instanceof PipelineStartError ? error.message : `pipeline ${name}: ${(error as Error).message}`;
        this.logger.error({ pipeline: name }, message);
        runner.state = 'failed';
        runner.failure = message;
        break;
      }
    }
    if (startFailed) await this.stop();
    await Promise.all(this.runners.map((r) => r.done.catch(() => undefined)));
    await this.shutdown();
    if (this.forced) return ExitCode.forced;
    if (startFailed) return ExitCode.startFailed;
    return this.runners.some((r) => r.state === 'failed') ? ExitCode.pipelineFailed : ExitCode.ok;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const timeout = setTimeout(() => {
      this.logger.error({ timeout_ms: this.config.service.shutdown_timeout_ms }, 'graceful stop took too long; stopping now');
      this.abort();
    }, this.config.service.shutdown_timeout_ms);
    timeout.unref();
    await Promise.all(this.runners.map((runner) => runner.stop()));
    clearTimeout(timeout);
  }

  abort(): void {
    this.forced = true;
    for (const runner of this.runners) runner.abort();
    void this.stop();
  }

  private async shutdown(): Promise<void> {
    await this.hostSupervisor.stopAll();
    await this.transportPool?.destroy();
    if (this.http) await new Promise<void>((resolve) => this.http?.close(() => resolve()));
  }
}
