/**
 * The main thread's handle on the audio host thread: starts it in a piscina
 * pool of one long-lived thread, sends it requests, relays its events, and,
 * supervised like any actor, restarts it after a crash and reopens every
 * capture it had. A crashed host's thread is terminated before a new one
 * starts, so two producers never write one ring. Rings are SharedArrayBuffers
 * owned by the pipelines and carry the numbering, so a restart loses only the
 * audio of the restart itself, recorded as a gap.
 */
import { once } from 'node:events';
import { MessageChannel, SHARE_ENV, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { SourceConfig } from '../config/schema.js';
import type { Supervisable } from '../pipeline/actor.js';
import { sleep } from '../pipeline/backoff.js';
import type { CaptureDevice } from './devices.js';
import type { CaptureStats, HostEvent, HostFatal, HostMessage, HostReply, HostRequest, SerializedError } from './audio-host-protocol.js';
import type { SourceInfo } from './sources/source.js';
import { threadModule } from '../pipeline/thread-module.js';

const REQUEST_TIMEOUT_MS = 30000;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export class AudioHostError extends Error {
  override readonly name = 'AudioHostError';
  constructor(readonly remote: SerializedError) {
    super(remote.message);
  }
}

interface OpenCapture {
  pipeline: string;
  source: SourceConfig;
  baseDir: string;
  ring: SharedArrayBuffer;
}

export class AudioHostClient implements Supervisable {
  readonly name = 'audio-host';
  private pool: Piscina | undefined;
  private port: MessagePort | undefined;
  private task: Promise<unknown> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (reply: HostReply) => void; timer: NodeJS.Timeout }>();
  private readonly captures = new Map<string, OpenCapture>();
  private readonly failureListeners: ((error: Error) => void)[] = [];
  private readonly eventListeners: ((event: HostEvent) => void)[] = [];
  private stopping = false;
  private retiring: Promise<void> | undefined;
  private latestStats: Record<string, CaptureStats> = {};
  private fatal: HostFatal | undefined;
  /** Times the host thread ended unexpectedly (crashed), and the last reason. */
  crashes = 0;
  lastCrash: Error | undefined;

  async start(): Promise<void> {
    this.stopping = false;
    await this.retiring;
    this.pool ??= new Piscina({
      ...threadModule(this.hostModule),
      minThreads: 1,
      maxThreads: 1,
      // A host is one task that lives as long as the process: never retire the
      // thread for idleness, never park it in Atomics.wait between tasks.
      idleTimeout: Infinity,
      atomics: 'disabled',
      // PULSE_SOURCE chosen per stream must reach the native PulseAudio client.
      env: SHARE_ENV,
    });
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    port1.on('message', (message: HostMessage) => this.onMessage(message));
    this.task = this.pool.run({ port: port2 }, { transferList: [port2] });
    this.task.then(
      () => this.onTaskEnd(new Error('the audio host stopped unexpectedly')),
      (error: unknown) => this.onTaskEnd(error instanceof Error ? error : new Error(String(error))),
    );
    // After a restart, reopen every capture that was running.
    for (const capture of this.captures.values()) await this.openCapture(capture);
  }

  /** @param hostModule the module the host thread runs (tests wrap the real one to inject faults). */
  constructor(private readonly hostModule: URL = new URL('./audio-host.js', import.meta.url)) {}

  async stop(): Promise<void> {
    await this.retiring;
    if (!this.pool) return;
    this.stopping = true;
    if (this.port) await this.request({ type: 'shutdown' }).catch(() => undefined);
    this.port?.close();
    await this.task?.catch(() => undefined);
    await this.pool.destroy();
    this.pool = undefined;
  }

  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  onEvent(listener: (event: HostEvent) => void): void {
    this.eventListeners.push(listener);
  }

  /** The latest capture statistics of each open pipeline (the host reports every second). */
  stats(): Record<string, CaptureStats> {
    return this.latestStats;
  }

  async listDevices(): Promise<CaptureDevice[]> {
    const reply = await this.request({ type: 'devices' });
    if (!reply.ok) throw new AudioHostError(reply.error);
    return reply.devices ?? [];
  }

  /** Opens a pipeline's source into its ring; rejects with the host's error (no device, bad file). */
  async open(pipeline: string, source: SourceConfig, baseDir: string, ring: SharedArrayBuffer): Promise<SourceInfo | undefined> {
    const capture = { pipeline, source, baseDir, ring };
    const info = await this.openCapture(capture);
    this.captures.set(pipeline, capture);
    return info;
  }

  async close(pipeline: string): Promise<void> {
    this.captures.delete(pipeline);
    if (this.port) await this.request({ type: 'close', pipeline });
  }

  private async openCapture(capture: OpenCapture): Promise<SourceInfo | undefined> {
    const reply = await this.request({ type: 'open', ...capture });
    if (!reply.ok) throw new AudioHostError(reply.error);
    return reply.info;
  }

  private request(request: DistributiveOmit<HostRequest, 'id'>): Promise<HostReply> {
    const port = this.port;
    if (!port) return Promise.reject(new Error('the audio host is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the audio host did not answer a ${request.type} request within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, timer });
      port.postMessage({ ...request, id });
    });
  }

  private onMessage(message: HostMessage): void {
    if (message.type === 'reply') {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      clearTimeout(waiter.timer);
      this.pending.delete(message.id);
      waiter.resolve(message);
      return;
    }
    if (message.type === 'fatal') {
      this.fatal = message;
      return;
    }
    if (message.type === 'stats') this.latestStats = message.pipelines;
    for (const listener of this.eventListeners) listener(message);
  }

  private onTaskEnd(error: Error): void {
    // A host that failed says why (and whether it closed its streams) on its
    // port just before; let that arrive: the port closes after its last message.
    const port = this.port;
    const drained = port && !this.stopping ? Promise.race([once(port, 'close'), sleep(1000)]) : Promise.resolve();
    void drained.then(() => this.retire(error, port));
  }

  private retire(error: Error, port: MessagePort | undefined): void {
    port?.close();
    if (this.port === port) this.port = undefined;
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.resolve({ type: 'reply', id, ok: false, error: { name: error.name, message: error.message } });
    }
    this.pending.clear();
    if (this.stopping) return;
    const fatal = this.fatal;
    this.fatal = undefined;
    const failure = fatal ? new AudioHostError(fatal.error) : error;
    this.crashes++;
    this.lastCrash = failure;
    // A new host gets a new thread. The old one is ended only when the host
    // closed its streams first: naudiodon crashes the process when a thread
    // goes down under a pending read. If it could not, it is left to itself
    // (its captures are stopped; only its stuck native call remains).
    const pool = this.pool;
    this.pool = undefined;
    if (fatal?.clean !== false) this.retiring = pool?.destroy().catch(() => undefined);
    for (const listener of this.failureListeners) listener(failure);
  }
}
