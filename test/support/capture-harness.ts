/**
 * The full capture path for a test: the audio host thread (through
 * AudioHostClient, as the service runs it) fills a pipeline's ring; a
 * consumer thread reads it as the transport worker does. Host events are
 * collected; stop() closes capture and returns what the consumer received.
 */
import { once } from 'node:events';
import { fork, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { AudioHostClient } from '../../src/capture/audio-host-client.js';
import type { HostEvent } from '../../src/capture/audio-host-protocol.js';
import { FrameRing } from '../../src/capture/ring.js';
import type { SourceInfo } from '../../src/capture/sources/source.js';
import type { PortAudioSourceConfig, SourceConfig } from '../../src/config/schema.js';
import type { DirectCaptureMessage, DirectCaptureReport } from './direct-capture-worker.js';
import type { ConsumerReport } from './ring-consumer.js';

export function portAudioSource(overrides: Partial<PortAudioSourceConfig> = {}): PortAudioSourceConfig {
  return {
    type: 'portaudio',
    open_format: 'auto',
    sample_rate: 16000,
    channels: 1,
    frame_ms: 50,
    ring_seconds: 10,
    ring_policy: 'drop_oldest',
    ...overrides,
  };
}

export class CaptureHarness {
  readonly events: HostEvent[] = [];
  info: SourceInfo | undefined;
  private finished: Promise<ConsumerReport> | undefined;

  private constructor(
    readonly host: AudioHostClient,
    readonly ring: FrameRing,
    readonly consumer: Worker,
    readonly pipeline: string,
  ) {
    host.onEvent((event) => this.events.push(event));
    this.finished = once(consumer, 'message').then(([report]) => report as ConsumerReport);
  }

  /** Starts a host (or uses the one given), a ring for `source`, a consumer, and opens the source. */
  static async start(source: SourceConfig, options: { host?: AudioHostClient; pipeline?: string } = {}): Promise<CaptureHarness> {
    const host = options.host ?? new AudioHostClient();
    if (!options.host) await host.start();
    const frameSamples = Math.round((source.sample_rate * source.frame_ms) / 1000);
    const ring = FrameRing.create({
      capacityFrames: Math.ceil((source.ring_seconds * 1000) / source.frame_ms),
      frameSamples,
      sampleRate: source.sample_rate,
      policy: source.ring_policy,
    });
    const consumer = new Worker(new URL('./ring-consumer.js', import.meta.url), { workerData: { ring: ring.buffer } });
    const [ready] = (await once(consumer, 'message')) as [string];
    if (ready !== 'ready') throw new Error(`consumer said ${ready}`);
    const harness = new CaptureHarness(host, ring, consumer, options.pipeline ?? 'test');
    harness.info = await host.open(harness.pipeline, source, process.cwd(), ring.buffer);
    return harness;
  }

  /** Resolves with the first host event the predicate accepts (already seen ones count), or rejects after timeoutMs. */
  async waitForEvent(predicate: (event: HostEvent) => boolean, timeoutMs: number, what: string): Promise<HostEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events: ${JSON.stringify(this.events.filter((e) => e.type === 'event'))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Resolves once the ring has received `frames` frames in all (written by the producer). */
  async waitForFrames(frames: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.ring.producerPosition.nextSeq < frames) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${frames} frames (have ${this.ring.producerPosition.nextSeq})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Blocks the consumer's thread for ms (as a slow transport would). */
  stallConsumer(ms: number): void {
    this.consumer.postMessage({ type: 'stall', ms });
  }

  /** Closes capture (the ring closes, the consumer drains it) and returns what the consumer received. */
  async stop(options: { keepHost?: boolean } = {}): Promise<ConsumerReport> {
    await this.host.close(this.pipeline);
    const report = await (this.finished as Promise<ConsumerReport>);
    await this.consumer.terminate();
    if (!options.keepHost) await this.host.stop();
    return report;
  }

  /** Tears down after a failed test without waiting for anything. */
  async abandon(): Promise<void> {
    this.consumer.postMessage({ type: 'finish' });
    await this.host.stop().catch(() => undefined);
    await this.consumer.terminate();
  }
}

/** Host events of one kind, typed. */
export function eventsOfKind<K extends Extract<HostEvent, { type: 'event' }>['kind']>(
  events: HostEvent[],
  kind: K,
): Extract<HostEvent, { kind: K }>[] {
  return events.filter((e): e is Extract<HostEvent, { kind: K }> => e.type === 'event' && e.kind === kind);
}

/**
 * A PortAudio source run without the audio host, in a process of its own,
 * for what the host cannot be made to do on cue: refuse a format, stall its
 * thread. A process, not a thread: PortAudio's state is process-wide and the
 * test process runs audio hosts of its own (test/support/direct-capture-worker.ts).
 */
export class DirectCapture {
  private constructor(
    private readonly worker: ChildProcess,
    readonly info: SourceInfo,
  ) {}

  /** Opens the source; rejects with the source's error (the worker's thread is gone by then). */
  static async open(config: PortAudioSourceConfig, options: { refuseSampleRates?: number[] } = {}): Promise<DirectCapture> {
    const script = new URL('./direct-capture-worker.js', import.meta.url);
    const worker = fork(script, [JSON.stringify({ config, refuseSampleRates: options.refuseSampleRates ?? [] })], {
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    const [message] = (await once(worker, 'message')) as [DirectCaptureMessage];
    if (message.type === 'error') {
      worker.kill();
      throw Object.assign(new Error(message.message), { name: message.name });
    }
    if (message.type !== 'opened') throw new Error(`unexpected ${message.type}`);
    return new DirectCapture(worker, message.info);
  }

  /** Blocks the capture's thread (its reader) for ms. */
  stallThread(ms: number): void {
    this.worker.send({ type: 'stall', ms });
  }

  /** Stops the source and returns what it captured. */
  async stop(): Promise<DirectCaptureReport> {
    const reply = once(this.worker, 'message');
    this.worker.send({ type: 'stop' });
    const [report] = (await reply) as [DirectCaptureReport];
    await once(this.worker, 'exit');
    return report;
  }
}
