/**
 * The audio host: the one thread per process that owns every capture source.
 * PortAudio crashes when driven from two threads, so every device listing,
 * open and close of every pipeline happens here, in order. Each source fills
 * its pipeline's ring; nothing here waits for the main thread.
 *
 * Runs as one long-lived piscina task; the main thread talks to it over a
 * MessagePort (audio-host-protocol.ts).
 */
import type { MessagePort } from 'node:worker_threads';
import { resolve } from 'node:path';
import type { SourceConfig } from '../config/schema.js';
import { backoffDelay, sleep } from '../pipeline/backoff.js';
import { monotonicMs } from './clock.js';
import { listCaptureDevices, matchDevice } from './devices.js';
import { FrameAssembler } from './frame-assembler.js';
import { FrameRing } from './ring.js';
import type { CaptureStats, HostEvent, HostMessage, HostRequest } from './audio-host-protocol.js';
import { serializeError } from './audio-host-protocol.js';
import { FileSource } from './sources/file.js';
import { PortAudioSource } from './sources/portaudio.js';
import type { CaptureSource, SourceEvents } from './sources/source.js';
import { SyntheticSource } from './sources/synthetic.js';

const STATS_INTERVAL_MS = 1000;
const WATCHDOG_INTERVAL_MS = 500;
/** A device that delivered nothing for this long is treated as gone. */
const STALL_MS = 3000;
/** PulseAudio takes about 2 s to deliver a first buffer (device probing). */
const FIRST_BUFFER_MS = 10000;
const RESTART_BACKOFF = { initialDelayMs: 250, maxDelayMs: 10000 };

/** One pipeline's capture: its ring, its frame numbering, and the source feeding them. */
class CaptureChannel implements SourceEvents {
  readonly ring: FrameRing;
  readonly assembler: FrameAssembler;
  private source: CaptureSource | undefined;
  private lastFramesWritten = 0;
  private lastProgressAt = 0;
  private openedAt = 0;
  private failures = 0;
  private failedAt = 0;
  private restarting = false;
  private closed = false;
  private ringDropsReported = 0;
  readonly stats: CaptureStats = { state: 'opening', framesWritten: 0, framesDropped: 0, samplesLost: 0, overflows: 0, restarts: 0 };

  constructor(
    readonly pipeline: string,
    private readonly config: SourceConfig,
    private readonly baseDir: string,
    ringBuffer: SharedArrayBuffer,
    private readonly emit: (event: HostEvent) => void,
  ) {
    this.ring = new FrameRing(ringBuffer);
    this.assembler = new FrameAssembler(this.ring);
  }

  async open(restarted = false): Promise<void> {
    this.source = await this.createSource();
    const info = await this.source.start();
    this.openedAt = monotonicMs();
    this.lastProgressAt = 0;
    this.lastFramesWritten = this.assembler.stats.framesWritten;
    this.stats.state = 'running';
    this.emit({ type: 'event', pipeline: this.pipeline, kind: 'opened', info, restarted });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stats.state = 'closed';
    await this.source?.stop();
    this.source = undefined;
    this.ring.close();
  }

  onEnd(): void {
    this.stats.state = 'ended';
    this.ring.close();
    this.emit({ type: 'event', pipeline: this.pipeline, kind: 'ended' });
  }

  onOverflow(detail: string, lostSamples: number): void {
    this.stats.overflows++;
    this.emit({ type: 'event', pipeline: this.pipeline, kind: 'overflow', detail, lostSamples });
  }

  onFailure(error: Error): void {
    void this.restart(error);
  }

  /** Called periodically: a source that stopped delivering is restarted. */
  watch(now: number): void {
    if (this.stats.state !== 'running' || this.config.type !== 'portaudio') return;
    const written = this.assembler.stats.framesWritten;
    if (written !== this.lastFramesWritten) {
      this.lastFramesWritten = written;
      this.lastProgressAt = now;
      return;
    }
    const silentFor = now - (this.lastProgressAt || this.openedAt);
    const limit = this.lastProgressAt ? STALL_MS : FIRST_BUFFER_MS;
    if (silentFor > limit) void this.restart(new Error(`the capture device delivered no audio for ${Math.round(silentFor)} ms`));
  }

  snapshot(): CaptureStats {
    const { framesWritten, framesDropped, samplesLost } = this.assembler.stats;
    if (framesDropped > this.ringDropsReported) {
      this.emit({ type: 'event', pipeline: this.pipeline, kind: 'ring_full', dropped: framesDropped - this.ringDropsReported, policy: this.ring.policy });
      this.ringDropsReported = framesDropped;
    }
    return { ...this.stats, framesWritten, framesDropped, samplesLost };
  }

  private async restart(error: Error): Promise<void> {
    if (this.restarting || this.closed) return;
    this.restarting = true;
    this.stats.state = 'restarting';
    if (!this.failedAt) this.failedAt = monotonicMs();
    const delay = backoffDelay(this.failures++, RESTART_BACKOFF);
    this.emit({ type: 'event', pipeline: this.pipeline, kind: 'failed', error: serializeError(error), retryInMs: delay });
    await this.source?.stop().catch(() => undefined);
    this.source = undefined;
    await sleep(delay);
    this.restarting = false;
    if (this.closed) return;
    try {
      await this.open(true);
      // The audio between the failure and the reopen never existed for us: keep the timeline's shape.
      const lostMs = monotonicMs() - this.failedAt;
      this.assembler.gap(Math.round((lostMs * this.ring.sampleRate) / 1000));
      this.stats.restarts++;
      this.failedAt = 0;
      this.failures = 0;
    } catch (reopenError) {
      await this.restart(reopenError as Error);
    }
  }

  private async createSource(): Promise<CaptureSource> {
    const config = this.config;
    switch (config.type) {
      case 'portaudio': {
        const device = matchDevice(config.device, await listCaptureDevices());
        return new PortAudioSource(config, device, this.assembler, this);
      }
      case 'file':
        return new FileSource(config, resolve(this.baseDir, config.path), this.assembler, this.ring, this);
      case 'synthetic':
        return new SyntheticSource(config, this.assembler, this);
    }
  }
}

export default async function audioHost({ port }: { port: MessagePort }): Promise<void> {
  const channels = new Map<string, CaptureChannel>();
  const send = (message: HostMessage): void => port.postMessage(message);
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolveFinished) => {
    finish = resolveFinished;
  });

  const statsTimer = setInterval(() => {
    const pipelines: Record<string, CaptureStats> = {};
    for (const [name, channel] of channels) pipelines[name] = channel.snapshot();
    send({ type: 'stats', pipelines });
  }, STATS_INTERVAL_MS);
  const watchdog = setInterval(() => {
    const now = monotonicMs();
    for (const channel of channels.values()) channel.watch(now);
  }, WATCHDOG_INTERVAL_MS);

  // Requests are handled strictly one after another: PortAudio calls must never interleave.
  let queue = Promise.resolve();
  port.on('message', (request: HostRequest) => {
    queue = queue.then(() => handle(request));
  });

  async function handle(request: HostRequest): Promise<void> {
    try {
      switch (request.type) {
        case 'devices':
          send({ type: 'reply', id: request.id, ok: true, devices: await listCaptureDevices() });
          return;
        case 'open': {
          await channels.get(request.pipeline)?.close();
          const channel = new CaptureChannel(request.pipeline, request.source, request.baseDir, request.ring, send);
          channel.ring.reopen();
          await channel.open();
          channels.set(request.pipeline, channel);
          send({ type: 'reply', id: request.id, ok: true });
          return;
        }
        case 'close':
          await channels.get(request.pipeline)?.close();
          channels.delete(request.pipeline);
          send({ type: 'reply', id: request.id, ok: true });
          return;
        case 'shutdown':
          for (const channel of channels.values()) await channel.close();
          channels.clear();
          clearInterval(statsTimer);
          clearInterval(watchdog);
          send({ type: 'reply', id: request.id, ok: true });
          port.close();
          finish();
          return;
      }
    } catch (error) {
      send({ type: 'reply', id: request.id, ok: false, error: serializeError(error) });
    }
  }

  await finished;
}
