/**
 * The full capture path for a test: the audio host thread (through
 * AudioHostClient, as the service runs it) fills a pipeline's ring; a
 * consumer thread reads it as the transport worker does. Host events are
 * collected; stop() closes capture and returns what the consumer received.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { AudioHostClient } from '../../src/capture/audio-host-client.js';
import type { HostEvent } from '../../src/capture/audio-host-protocol.js';
import { listCaptureDevices, matchDevice } from '../../src/capture/devices.js';
import { FrameAssembler, type CaptureGap } from '../../src/capture/frame-assembler.js';
import { FrameRing } from '../../src/capture/ring.js';
import { PortAudioSource, type PortAudioSourceOptions } from '../../src/capture/sources/portaudio.js';
import type { SourceInfo } from '../../src/capture/sources/source.js';
import type { PortAudioSourceConfig, SourceConfig } from '../../src/config/schema.js';
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
 * A PortAudio source run in the test's own thread (no audio host), for what
 * the host cannot be made to do on cue: refuse a format, stall its thread.
 * Only while no audio host runs in this process (PortAudio wants one thread).
 */
export class DirectCapture {
  readonly failures: Error[] = [];
  readonly overflows: string[] = [];
  readonly gaps: CaptureGap[] = [];
  readonly frames: { seq: number; captureTimeMs: number }[] = [];
  private readonly chunks: Int16Array[] = [];
  private readonly into: Int16Array;

  private constructor(
    readonly ring: FrameRing,
    readonly source: PortAudioSource,
  ) {
    this.into = new Int16Array(ring.frameSamples);
  }

  static async open(config: PortAudioSourceConfig, options: PortAudioSourceOptions = {}): Promise<{ capture: DirectCapture; info: SourceInfo }> {
    const ring = FrameRing.create({
      capacityFrames: Math.ceil((config.ring_seconds * 1000) / config.frame_ms),
      frameSamples: Math.round((config.sample_rate * config.frame_ms) / 1000),
      sampleRate: config.sample_rate,
      policy: config.ring_policy,
    });
    const holder: { capture?: DirectCapture } = {};
    const assembler = new FrameAssembler(ring, { onGap: (gap) => holder.capture?.gaps.push(gap) });
    const device = matchDevice(config.device, await listCaptureDevices());
    const source = new PortAudioSource(
      config,
      device,
      assembler,
      {
        onFailure: (error) => holder.capture?.failures.push(error),
        onEnd: () => undefined,
        onOverflow: (detail) => holder.capture?.overflows.push(detail),
      },
      options,
    );
    const capture = new DirectCapture(ring, source);
    holder.capture = capture;
    const info = await source.start();
    return { capture, info };
  }

  /** Reads every frame waiting in the ring. */
  drain(): void {
    for (let frame = this.ring.read(this.into); frame; frame = this.ring.read(this.into)) {
      this.frames.push({ seq: frame.seq, captureTimeMs: frame.captureTimeMs });
      this.chunks.push(frame.samples.slice());
    }
  }

  /** Reads frames as they come for ms. */
  async collect(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      this.drain();
      await new Promise((r) => setTimeout(r, 20));
    }
    this.drain();
  }

  get samples(): Int16Array {
    const out = new Int16Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.source.stop();
    this.drain();
  }
}
