/**
 * One plugin sink's own worker thread, seen from the main thread: it loads
 * the plugin there (plugin-host.ts) and carries each Sink call over a
 * MessagePort, one message there and one reply back. A thread that dies
 * (process.exit, an error thrown at top level) fails the calls in flight and
 * tells its supervisor, which starts a new one.
 *
 * Each start gets a fresh one-thread piscina pool, so a thread that hangs
 * while loading, or in stop(), can be terminated without touching another.
 */
import type { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { PluginSinkConfig } from '../config/schema.js';
import type { Supervisable } from '../pipeline/actor.js';
import { sleep } from '../pipeline/backoff.js';
import { WorkerTask } from '../pipeline/worker-task.js';
import { relayLogLine } from '../service/logger.js';
import { deserializeError, type ForwardedMethod, type FromPluginHost, type PluginHostTask, type ToPluginHost } from './plugin-bridge.js';
import { describeSite, PluginLoadError, type PluginSite, type PluginTimeouts } from './plugin-errors.js';
import type { SinkContext } from './sink.js';
import { threadModule } from '../pipeline/thread-module.js';

const HOST_MODULE = new URL('./plugin-host.js', import.meta.url);
/** Beyond the import and create() bounds: time for a new thread to boot and load earshot's own modules. */
const LOAD_GRACE_MS = 5000;
/** How long a closing thread may take to finish its task before it is terminated. */
export const CLOSE_GRACE_MS = 1000;

/** The plugin's thread stopped (it exited, threw at top level, or was closed) or keeps failing. */
export class PluginThreadError extends Error {
  override readonly name = 'PluginThreadError';
}

export interface PluginThreadOptions {
  config: Pick<PluginSinkConfig, 'module' | 'options'>;
  context: SinkContext;
  timeouts: PluginTimeouts;
  /** Hears the values of options the plugin's schema marks secret, before its create() runs. */
  onSecrets?: ((values: readonly string[]) => void) | undefined;
  /** Runs on each thread once its plugin is created, before calls flow (a restarted plugin is started again). */
  onLoaded?: (thread: PluginThread) => Promise<void>;
}

interface Loading {
  /** The module was imported and its options checked: what fails now is create(). */
  imported: boolean;
  settle: (outcome: ForwardedMethod[] | Error) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class PluginThread implements Supervisable {
  readonly name: string;
  readonly site: PluginSite;
  /** The forwarded methods the plugin's sink has (known once started). */
  methods: ReadonlySet<ForwardedMethod> = new Set();
  private pool: Piscina | undefined;
  private task: WorkerTask<ToPluginHost, FromPluginHost> | undefined;
  private loading: Loading | undefined;
  private running = false;
  /** Set once closed or given up: every call fails with it. */
  private ended: Error | undefined;
  private readonly calls = new Map<number, Waiter>();
  private readonly waiters: Waiter[] = [];
  private nextId = 0;
  private readonly failureListeners: ((error: Error) => void)[] = [];

  constructor(private readonly options: PluginThreadOptions) {
    const { config, context } = options;
    this.site = { module: config.module, pipeline: context.pipeline, sink: context.name };
    this.name = `${describeSite(this.site)} (its thread)`;
  }

  /** Starts a thread and loads the plugin in it; a no-op while one runs. Throws a PluginLoadError when it cannot load. */
  async start(): Promise<void> {
    if (this.running || this.ended) return;
    this.methods = new Set(await this.load());
    try {
      await this.options.onLoaded?.(this);
    } catch (error) {
      await this.destroyPool();
      throw error;
    }
    this.running = true;
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  /** Calls a method of the plugin's sink in its thread, waiting for a thread that is being restarted. */
  async call(method: ForwardedMethod, args: unknown[]): Promise<void> {
    if (!this.running) await this.whenRunning();
    return this.send(method, args);
  }

  /** Calls at once, on the thread as it is (onLoaded's calls, before the thread counts as running). */
  send(method: ForwardedMethod, args: unknown[]): Promise<void> {
    const task = this.task;
    if (this.ended || !task) return Promise.reject(this.ended ?? new PluginThreadError(`${this.name} is not running`));
    const id = ++this.nextId;
    return new Promise<void>((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      task.post({ type: 'call', id, method, args });
    });
  }

  /** The supervisor gave up restarting: calls fail from now on. */
  giveUp(error: Error): void {
    this.end(new PluginThreadError(`${describeSite(this.site)}: its thread keeps failing, given up: ${error.message}`, { cause: error }));
    void this.destroyPool();
  }

  /** Ends the thread (supervisor's stop): its task gets CLOSE_GRACE_MS to finish, then the thread is terminated. */
  stop(): Promise<void> {
    return this.close(CLOSE_GRACE_MS);
  }

  async close(graceMs: number): Promise<void> {
    this.end(new PluginThreadError(`${describeSite(this.site)}: its thread was closed`));
    const task = this.task;
    if (task && graceMs > 0) {
      task.post({ type: 'close' });
      await Promise.race([task.settled(), sleep(graceMs)]);
    }
    await this.destroyPool();
  }

  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  private async load(): Promise<ForwardedMethod[]> {
    const { context, timeouts } = this.options;
    const pool = new Piscina({
      ...threadModule(HOST_MODULE),
      minThreads: 0,
      maxThreads: 1,
      concurrentTasksPerWorker: 1,
      // The plugin's task runs as long as the sink: never retire its thread.
      idleTimeout: Infinity,
      atomics: 'disabled',
    });
    // A thread failing with no task running (a plugin's stray timer after its task ended) is reported here.
    pool.on('error', (error: Error) => context.logger.error({ err: error }, `${this.name} failed: ${error.message}`));
    const task = new WorkerTask<ToPluginHost, FromPluginHost>({
      name: this.name,
      pool,
      payload: (port) => ({ data: this.hostTask(port), transferList: [port] }),
      onMessage: (message) => this.onMessage(task, message),
    });
    task.onFailure((error) => this.died(task, error));
    task.onDone(() => this.died(task, new Error('its task ended')));
    this.pool = pool;
    this.task = task;

    const boundMs = timeouts.import + timeouts.create + LOAD_GRACE_MS;
    const loading: Loading = { imported: false, settle: () => undefined };
    const outcome = await new Promise<ForwardedMethod[] | Error>((settle) => {
      const timer = setTimeout(() => settle(new PluginThreadError(`its thread did not answer within ${boundMs} ms, and was stopped`)), boundMs);
      loading.settle = (result) => {
        clearTimeout(timer);
        settle(result);
      };
      this.loading = loading;
      void task.start();
    });
    this.loading = undefined;
    if (Array.isArray(outcome)) return outcome;
    await this.destroyPool();
    if (outcome instanceof PluginLoadError) throw outcome;
    throw loading.imported
      ? new PluginLoadError('create_failed', this.site, `failed to create its sink: ${outcome.message}`, [], { cause: outcome })
      : new PluginLoadError('import_failed', this.site, `failed to load: ${outcome.message}`, [], { cause: outcome });
  }

  private hostTask(port: MessagePort): PluginHostTask {
    const { config, context, timeouts } = this.options;
    const { logger, ...fields } = context;
    return { port, module: config.module, options: config.options, context: fields, logLevel: logger.level, timeouts };
  }

  private onMessage(task: WorkerTask<ToPluginHost, FromPluginHost>, message: FromPluginHost): void {
    if (task !== this.task) return;
    switch (message.type) {
      case 'log':
        relayLogLine(this.options.context.logger, message.line);
        return;
      case 'loaded':
        if (this.loading) this.loading.imported = true;
        this.options.onSecrets?.(message.secrets);
        return;
      case 'ready':
        this.loading?.settle(message.methods);
        return;
      case 'load_failed':
        this.loading?.settle(deserializeError(message.error));
        return;
      case 'reply': {
        const call = this.calls.get(message.id);
        this.calls.delete(message.id);
        if (message.error) call?.reject(deserializeError(message.error));
        else call?.resolve();
        return;
      }
    }
  }

  /** The thread stopped without being asked: fail what was in flight, and tell the supervisor. */
  private died(task: WorkerTask<ToPluginHost, FromPluginHost>, error: Error): void {
    if (task !== this.task || this.ended) return;
    const reason = `its thread stopped: ${error.message}`;
    if (this.loading) {
      this.loading.settle(new PluginThreadError(reason, { cause: error }));
      return;
    }
    const failure = new PluginThreadError(`${describeSite(this.site)}: ${reason}`, { cause: error });
    const wasRunning = this.running;
    this.running = false;
    for (const call of this.calls.values()) call.reject(failure);
    this.calls.clear();
    void this.destroyPool();
    // While being started by the supervisor, start() fails instead (its onLoaded call was failed above).
    if (wasRunning) for (const listener of this.failureListeners) listener(failure);
  }

  private whenRunning(): Promise<void> {
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private end(reason: Error): void {
    this.ended ??= reason;
    this.running = false;
    for (const waiter of [...this.waiters.splice(0), ...this.calls.values()]) waiter.reject(this.ended);
    this.calls.clear();
  }

  private async destroyPool(): Promise<void> {
    const pool = this.pool;
    this.task?.close();
    this.pool = undefined;
    this.task = undefined;
    await pool?.destroy();
  }
}
