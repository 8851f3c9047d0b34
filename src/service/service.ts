/**
 * Every pipeline of a file, as one long-lived service (`earshot run`). One
 * audio host thread owns capture for all of them; a pool of transport
 * workers carries their audio; the main thread keeps config, logs and sinks.
 *
 * Lifecycle (docs/service.md):
 * - SIGINT/SIGTERM stop gracefully: capture stops, each transport sends what
 *   is left, Terminates its session and waits for the last turns (bounded),
 *   every sink drains and flushes. A second signal, or the graceful stop
 *   running past service.shutdown_timeout_ms, stops at once.
 * - SIGHUP reloads the file (see reload-plan.ts): unchanged pipelines keep
 *   running untouched; an invalid file is refused with its located problems
 *   and the running config stays.
 * Start, reloads and stop run one at a time, in the order they were asked for.
 */
import type { Server } from 'node:http';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import { AudioHostClient } from '../capture/audio-host-client.js';
import { logCaptureEvent } from '../capture/capture-log.js';
import { ConfigError, loadPipelineFile, type Diagnostic, type Env, type LoadedConfig } from '../config/load.js';
import type { PipelineFileConfig } from '../config/schema.js';
import { Supervisor } from '../pipeline/supervisor.js';
import { SharedFileSinks } from '../sinks/shared-file.js';
import { ExitCode } from './exit-codes.js';
import { closeHttpServer, startHttpServer } from './http.js';
import { logDiagnostic, type SecretScrubber } from './logger.js';
import { ServiceMetrics } from './metrics.js';
import { PipelineRunner } from './pipeline-runner.js';
import { isEmptyPlan, planReload, type ReloadPlan } from './reload-plan.js';
import { secretsOf } from './secret-sources.js';
import { TranscriptHub } from './transcript-hub.js';
import { threadModule } from '../pipeline/thread-module.js';

/** After a forced stop, how long what was aborted may take to wind down before the service ends anyway. */
const FORCED_STOP_BOUND_MS = 3000;
/** Bound on closing the audio host, the worker pool and the HTTP server at the end. */
const SHUTDOWN_PARTS_BOUND_MS = 3000;
/**
 * Transport tasks a worker thread may host. Each pipeline's transport is one
 * task for the whole run, mostly waiting on its socket; pipelines a reload
 * adds beyond the pool's threads share them rather than wait in piscina's queue.
 */
const TASKS_PER_TRANSPORT_THREAD = 64;

export interface ServiceOptions {
  /** The pipeline file, read again on reload. */
  file: string;
  loaded: LoadedConfig;
  logger: Logger;
  /** Scrubs every log line; reloads and plugins add to it. */
  secrets: SecretScrubber;
  /** Where `${VAR}` is looked up on reload (the environment the service started with). */
  env?: Env;
  /** The modules the service's threads run (benchmarks wrap the real ones). */
  modules?: ServiceThreadModules;
}

export type ReloadOutcome =
  | { result: 'applied'; plan: ReloadPlan }
  | { result: 'rejected'; diagnostics: readonly Diagnostic[] }
  | { result: 'ignored'; reason: string }
  /** Something unexpected went wrong while applying it (logged). */
  | { result: 'failed'; reason: string };

/**
 * The transport pool for `pipelineCount` pipelines: one thread per core at
 * most, each pipeline one long-lived task on it (several share a thread).
 */
export function transportPoolOptions(pipelineCount: number, filename: URL): ConstructorParameters<typeof Piscina>[0] {
  const threads = Math.max(1, Math.min(pipelineCount, availableParallelism()));
  return {
    ...threadModule(filename),
    minThreads: threads,
    maxThreads: threads,
    // Pipelines a reload adds beyond the threads share them rather than wait in piscina's queue.
    concurrentTasksPerWorker: Math.max(TASKS_PER_TRANSPORT_THREAD, Math.ceil(pipelineCount / threads)),
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
  private config: PipelineFileConfig;
  private readonly baseDir: string;
  private readonly logger: Logger;
  private readonly secrets: SecretScrubber;
  private readonly host: AudioHostClient;
  private readonly hostSupervisor: Supervisor;
  private transportPool: Piscina | undefined;
  private readonly byName = new Map<string, PipelineRunner>();
  private readonly sharedFiles = new SharedFileSinks();
  readonly metrics = new ServiceMetrics(() => this.runners);
  /** Every pipeline's transcript events, for /events and /captions. */
  readonly transcripts: TranscriptHub;
  private http: { server: Server; url: string; host: string; port: number } | undefined;
  /** Start, reloads and stop, one at a time. */
  private operations: Promise<unknown> = Promise.resolve();
  private pendingOperations = 0;
  private stopRequested = false;
  private forced = false;
  private startFailed = false;
  private finishing: Promise<void> | undefined;
  private resolveExit: (code: number) => void = () => undefined;
  private readonly exit: Promise<number>;

  constructor(private readonly options: ServiceOptions) {
    this.config = options.loaded.config;
    this.baseDir = options.loaded.baseDir;
    this.logger = options.logger;
    this.secrets = options.secrets;
    this.host = new AudioHostClient(options.modules?.audioHost);
    this.transcripts = new TranscriptHub({ logger: this.logger });
    this.exit = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
    this.hostSupervisor = new Supervisor({
      maxRestarts: 10,
      windowMs: 60000,
      backoff: { initialDelayMs: 200, maxDelayMs: 5000 },
      logger: this.logger,
      onGiveUp: (_child, error) => {
        this.logger.fatal({ err: error }, 'the audio host keeps crashing; stopping');
        void this.stop();
      },
    });
    this.host.onEvent((event) => {
      if (event.type === 'stats') {
        for (const runner of this.byName.values()) {
          const stats = event.pipelines[runner.name];
          // Until its capture is open, figures under its name are the previous run's.
          if (stats && runner.state !== 'starting') runner.captureStats = stats;
        }
        return;
      }
      logCaptureEvent(this.logger, event);
    });
  }

  /** The pipelines running now (and those that ended or failed, until a reload replaces them). */
  get runners(): PipelineRunner[] {
    return [...this.byName.values()];
  }

  /** Where /healthz and /metrics are served, while listening. */
  get httpUrl(): string | undefined {
    return this.http?.url;
  }

  /** The current transcriber session of a pipeline (for log lines). */
  sessionOf(pipeline: string): string | undefined {
    return this.byName.get(pipeline)?.sessionId;
  }

  /** Starts every pipeline; resolves with the exit code once the service has ended. */
  run(): Promise<number> {
    // An unexpected failure is logged by enqueue(); the service then ends with what has stopped.
    this.enqueue(() => this.startAll()).catch(() => undefined);
    return this.exit;
  }

  /** Graceful stop, bounded by service.shutdown_timeout_ms (then forced). */
  stop(): Promise<void> {
    if (!this.stopRequested) {
      this.stopRequested = true;
      const timeoutMs = this.config.service.shutdown_timeout_ms;
      setTimeout(() => {
        if (this.finishing) return;
        this.logger.error({ timeout_ms: timeoutMs }, `graceful stop took more than ${timeoutMs} ms; stopping now`);
        this.abort();
      }, timeoutMs).unref();
    }
    return this.enqueue(() => this.stopAll()).catch(() => undefined);
  }

  /** Stops now: nothing more is sent or retried; sinks get what is queued; the service ends within a bound. */
  abort(): void {
    if (this.forced) return;
    this.forced = true;
    for (const runner of this.byName.values()) runner.abort();
    void this.stop();
    setTimeout(() => {
      if (this.finishing) return;
      this.logger.error({ bound_ms: FORCED_STOP_BOUND_MS }, 'pipelines did not wind down after the forced stop; ending anyway');
      void this.finish();
    }, FORCED_STOP_BOUND_MS).unref();
  }

  /** Reads the file again and applies it (queued behind any start, reload or stop under way). */
  reload(): Promise<ReloadOutcome> {
    return this.enqueue(() => this.reloadNow()).catch((error: unknown) => ({ result: 'failed', reason: (error as Error).message }));
  }

  private enqueue<T>(operation: () => Promise<T>): Promise<T> {
    this.pendingOperations++;
    const run = this.operations.then(operation);
    this.operations = run
      .catch((error: unknown) => this.logger.error({ err: error }, `internal error: ${(error as Error).message}`))
      .finally(() => {
        this.pendingOperations--;
        this.endIfIdle();
      });
    return run;
  }

  private async startAll(): Promise<void> {
    try {
      await this.startParts();
    } catch (error) {
      this.startFailed = true;
      this.logger.error({ err: error }, (error as Error).message);
      void this.stop();
      return;
    }
    const names = Object.keys(this.config.pipelines);
    warnIfThreadPoolSmall(this.config, this.logger);
    for (const name of names) {
      if (this.stopRequested) return;
      if (!(await this.startPipeline(name))) {
        // What had started stops as on SIGTERM, bounded the same way.
        this.startFailed = true;
        void this.stop();
        return;
      }
    }
    const file = this.options.file;
    this.logger.info({ pid: process.pid, file, pipelines: names }, `running ${names.join(', ')}; kill -HUP ${process.pid} reloads ${file}, SIGTERM stops`);
  }

  private async startParts(): Promise<void> {
    this.transportPool = new Piscina(
      transportPoolOptions(
        Object.keys(this.config.pipelines).length,
        this.options.modules?.transport ?? new URL('../transport/audio-worker.js', import.meta.url),
      ),
    );
    const http = this.config.service.http;
    if (http) await this.listen(http.host, http.port);
    await this.hostSupervisor.supervise(this.host);
  }

  /** Starts one pipeline of the current config; false (logged, marked failed) when it cannot start. */
  private async startPipeline(name: string, startPaused = false): Promise<boolean> {
    const config = this.config.pipelines[name];
    if (!config || !this.transportPool) return false;
    const runner = new PipelineRunner({
      name,
      config,
      baseDir: this.baseDir,
      stateDir: resolve(this.baseDir, this.config.service.state_dir),
      host: this.host,
      transportPool: this.transportPool,
      logger: this.logger,
      logLevel: this.config.service.log.level,
      pipelineCount: Object.keys(this.config.pipelines).length,
      finishTimeoutMs: Math.max(1000, this.config.service.shutdown_timeout_ms - 1000),
      onLatencies: (pipeline, latencies) => this.metrics.observeLatencies(pipeline, latencies),
      sharedFiles: this.sharedFiles,
      onSecrets: (values) => this.secrets.add(values),
      startPaused,
    });
    this.byName.set(name, runner);
    runner.transcripts.subscribe((event) => this.transcripts.publish(event));
    void runner.done.then(() => this.endIfIdle());
    try {
      await runner.start();
      return true;
    } catch (error) {
      this.logger.error({ pipeline: name }, (error as Error).message);
      return false;
    }
  }

  private async stopAll(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.stop()));
  }

  private async reloadNow(): Promise<ReloadOutcome> {
    const file = this.options.file;
    if (this.stopRequested) {
      this.logger.warn({ file }, 'reload ignored: the service is stopping');
      return { result: 'ignored', reason: 'stopping' };
    }
    let loaded: LoadedConfig;
    try {
      loaded = await loadPipelineFile(file, { env: this.options.env ?? process.env });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const diagnostic of error.diagnostics) logDiagnostic(this.logger, diagnostic);
      const count = error.errors.length === 1 ? '1 problem' : `${error.errors.length} problems`;
      this.logger.error({ file, problems: error.errors.length }, `reload rejected: ${file} has ${count}; the running pipelines keep the previous config`);
      this.metrics.reloads.inc({ result: 'rejected' });
      return { result: 'rejected', diagnostics: error.diagnostics };
    }
    // Before anything can log the new config's values.
    this.secrets.add(await secretsOf(loaded, this.options.env ?? process.env));
    for (const warning of loaded.warnings) logDiagnostic(this.logger, warning);

    const failed = new Set(this.runners.filter((r) => r.state === 'failed').map((r) => r.name));
    const plan = planReload(this.config, loaded.config, failed);
    this.metrics.reloads.inc({ result: 'applied' });
    if (isEmptyPlan(plan)) {
      this.logger.info({ file }, 'reload: nothing changed');
      return { result: 'applied', plan };
    }
    this.logger.info(
      { file, keep: plan.keep, restart: [...plan.restart.keys()], stop: plan.stop, start: plan.start },
      `reload: ${describePlan(plan)}`,
    );
    const previous = this.config;
    this.config = loaded.config;
    await this.applyServiceChanges(previous, plan);

    // Stop first, start after: a file shared with a restarted pipeline must be released before it is taken again.
    const leaving = [...plan.stop, ...plan.restart.keys()];
    // A paused pipeline restarted with new settings stays paused: a reload must not start transcribing a private stretch.
    const paused = new Set(leaving.filter((name) => this.byName.get(name)?.paused === true));
    for (const [name, why] of plan.restart) this.logger.info({ pipeline: name }, `restarting pipeline ${name}: ${why}${paused.has(name) ? '; it stays paused' : ''}`);
    for (const name of plan.stop) this.logger.info({ pipeline: name }, `stopping pipeline ${name}: no longer in the file`);
    await Promise.all(leaving.map((name) => this.byName.get(name)?.stop() ?? Promise.resolve()));
    for (const name of leaving) this.retire(name);
    for (const name of [...plan.restart.keys(), ...plan.start]) {
      if (this.stopRequested) break;
      await this.startPipeline(name, paused.has(name));
    }
    return { result: 'applied', plan };
  }

  /** Drops a stopped runner, keeping what it counted in the metrics. */
  private retire(name: string): void {
    const runner = this.byName.get(name);
    if (!runner) return;
    this.byName.delete(name);
    this.metrics.retire(runner);
  }

  private async applyServiceChanges(previous: PipelineFileConfig, plan: ReloadPlan): Promise<void> {
    const now = this.config.service;
    const changes = plan.service;
    if (changes.logLevel !== undefined) {
      this.logger.level = changes.logLevel;
      this.logger.info({ level: changes.logLevel }, `log level is now ${changes.logLevel} (transport workers started earlier keep ${previous.service.log.level} until their pipeline restarts)`);
    }
    if (changes.logFormat) {
      this.logger.warn({ format: now.log.format }, `service.log.format changed to ${now.log.format}: it takes effect when the service restarts`);
    }
    if (changes.shutdownTimeout) this.logger.info({ timeout_ms: now.shutdown_timeout_ms }, `shutdown timeout is now ${now.shutdown_timeout_ms} ms`);
    if (!changes.http) return;
    if (!now.http) {
      if (this.http) await closeHttpServer(this.http.server);
      this.logger.info({ url: this.http?.url }, 'health and metrics endpoint closed (service.http removed)');
      this.http = undefined;
      return;
    }
    try {
      await this.listen(now.http.host, now.http.port);
    } catch (error) {
      this.logger.error({ err: error }, `${(error as Error).message}; ${this.http ? `still serving on ${this.http.url}` : 'no health endpoint'}`);
    }
  }

  /** Listens on host:port; a server already listening elsewhere is closed once the new one is up. */
  private async listen(host: string, port: number): Promise<void> {
    const previous = this.http;
    const started = await startHttpServer(host, port, {
      runners: () => this.runners,
      metrics: this.metrics,
      scrub: (text) => this.secrets.scrub(text),
      ...(this.config.service.http?.captions ? { transcripts: this.transcripts } : {}),
      logger: this.logger,
    });
    this.http = { ...started, host, port };
    if (previous) await closeHttpServer(previous.server);
    const captions = this.config.service.http?.captions ? `; live captions on ${started.url}/captions and ${started.url}/events` : '';
    this.logger.info({ url: started.url }, `health and metrics on ${started.url}/healthz and ${started.url}/metrics${captions}`);
  }

  /** The service ends when no operation is under way and every pipeline has stopped (asked to, ended or failed). */
  private endIfIdle(): void {
    if (this.pendingOperations > 0 || this.finishing) return;
    if ([...this.byName.values()].some((runner) => !runner.finished)) return;
    void this.finish();
  }

  private finish(): Promise<void> {
    this.finishing ??= (async () => {
      await this.shutdownParts();
      this.resolveExit(this.exitCode());
    })();
    return this.finishing;
  }

  private exitCode(): number {
    if (this.startFailed) return ExitCode.startFailed;
    if (this.forced) return ExitCode.forced;
    if (this.runners.some((runner) => runner.state === 'failed')) return ExitCode.pipelineFailed;
    return ExitCode.ok;
  }

  private async shutdownParts(): Promise<void> {
    const bounded = (what: string, work: Promise<unknown>): Promise<unknown> =>
      Promise.race([
        work.catch((error: unknown) => this.logger.warn({ err: error }, `${what} did not close cleanly`)),
        new Promise((resolve) => setTimeout(resolve, SHUTDOWN_PARTS_BOUND_MS).unref()).then(() =>
          this.logger.warn({ bound_ms: SHUTDOWN_PARTS_BOUND_MS }, `${what} did not close in time`),
        ),
      ]);
    await Promise.all([
      bounded('the audio host', this.hostSupervisor.stopAll()),
      bounded('the transport workers', this.transportPool?.destroy() ?? Promise.resolve()),
      this.http ? bounded('the HTTP endpoint', closeHttpServer(this.http.server)) : undefined,
    ]);
  }
}

function describePlan(plan: ReloadPlan): string {
  const parts = [
    plan.restart.size > 0 ? `restart ${[...plan.restart.keys()].join(', ')}` : '',
    plan.stop.length > 0 ? `stop ${plan.stop.join(', ')}` : '',
    plan.start.length > 0 ? `start ${plan.start.join(', ')}` : '',
    plan.keep.length > 0 ? `keep ${plan.keep.join(', ')} running` : '',
  ].filter((part) => part !== '');
  return parts.length > 0 ? parts.join('; ') : 'service settings only';
}

/**
 * Each open device parks one libuv thread-pool thread in a blocking native
 * read, and stopping a stream needs one more; a pool smaller than that hangs
 * capture and file I/O. bin/earshot.cjs sets 32; other launchers may not.
 */
function warnIfThreadPoolSmall(config: PipelineFileConfig, logger: Logger): void {
  const devices = Object.values(config.pipelines).filter((p) => p.source.type === 'portaudio').length;
  const pool = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  if (devices + 2 > pool) {
    logger.warn(
      { devices, uv_threadpool_size: pool },
      `${devices} capture devices need a larger libuv thread pool than ${pool}: start with UV_THREADPOOL_SIZE=${Math.max(32, devices + 8)}`,
    );
  }
}
