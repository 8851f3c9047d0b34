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
import { DefaultSourceWatcher, keepStreamOnSource } from './default-source.js';
import { listCaptureDevices, matchDevice } from './devices.js';
import { inheritedPulseSourceName } from './portaudio.js';
import { FrameAssembler, type CaptureGap } from './frame-assembler.js';
import { FrameRing } from './ring.js';
import type { CaptureStats, HostEvent, HostMessage, HostRequest } from './audio-host-protocol.js';
import { serializeError } from './audio-host-protocol.js';
import { FileSource } from './sources/file.js';
import { PortAudioSource } from './sources/portaudio.js';
import type { CaptureSource, SourceEvents, SourceInfo } from './sources/source.js';
import { SyntheticSource } from './sources/synthetic.js';

const STATS_INTERVAL_MS = 1000;
const WATCHDOG_INTERVAL_MS = 500;
/**
 * A device that delivered nothing for this long is treated as gone. A live
 * device delivers every frame_ms, silence included; one whose server died
 * leaves its read pending forever (naudiodon), so silence is the only sign.
 */
const STALL_MS = 3000;
/** PulseAudio takes about 2 s to deliver a first buffer (device probing). */
const FIRST_BUFFER_MS = 10000;
const RESTART_BACKOFF = { initialDelayMs: 250, maxDelayMs: 10000 };
/** Ring drops are reported at most this many ranges per stats interval; the rest are summed up. */
const MAX_DROP_RANGES = 20;
/** A run of drops still growing is reported once it stops, or after this long at the latest. */
const MAX_DROP_REPORT_DELAY_MS = 5000;

/** One pipeline's capture: its ring, its frame numbering, and the source feeding them. */
class CaptureChannel implements SourceEvents {
  readonly ring: FrameRing;
  readonly assembler: FrameAssembler;
  private source: CaptureSource | undefined;
  /** For a capture of the default input: the server's default source, watched. */
  private defaultSource: DefaultSourceWatcher | undefined;
  private openedAt = 0;
  /** Silence is measured from here at the earliest (this thread itself may have stalled). */
  private watchFrom = 0;
  private recovering = false;
  private readonly closing = new AbortController();
  private dropRanges: { from: number; to: number; sinceMs: number }[] = [];
  private dropsSinceReport = false;
  readonly stats: CaptureStats = {
    state: 'opening',
    framesWritten: 0,
    framesDropped: 0,
    samplesLost: 0,
    gaps: 0,
    overflows: 0,
    restarts: 0,
    ringFill: 0,
    ringCapacity: 0,
  };

  constructor(
    readonly pipeline: string,
    private readonly config: SourceConfig,
    private readonly baseDir: string,
    ringBuffer: SharedArrayBuffer,
    private readonly emit: (event: HostEvent) => void,
  ) {
    this.ring = new FrameRing(ringBuffer);
    this.stats.ringCapacity = this.ring.capacity;
    this.assembler = new FrameAssembler(this.ring, {
      onGap: (gap) => this.reportGap(gap),
      onRingDrop: (seq) => this.recordDrop(seq),
    });
  }

  private get closed(): boolean {
    return this.closing.signal.aborted;
  }

  async open(restarted = false): Promise<SourceInfo> {
    const source = await this.createSource();
    this.source = source;
    let info: SourceInfo;
    try {
      info = await source.start();
    } catch (error) {
      if (this.source === source) this.source = undefined;
      throw error;
    }
    if (this.closed) {
      // Closed while the device was opening (a restart raced the pipeline's stop): leave nothing running.
      await source.stop();
      throw new Error('capture closed while opening');
    }
    this.openedAt = monotonicMs();
    this.stats.state = 'running';
    if ((this.followsDefault || this.pinnedPulseSource) && !this.defaultSource) {
      this.defaultSource = await DefaultSourceWatcher.start((from, to) => this.onDefaultSourceChange(from, to));
      if (this.closed) this.defaultSource?.close();
    }
    if (this.defaultSource?.source) info = { ...info, description: info.description.replace('the default input', `the default input (now ${this.defaultSource.source})`) };
    this.emit({ type: 'event', pipeline: this.pipeline, kind: 'opened', info, restarted });
    return info;
  }

  /**
   * A PortAudio capture with no `device:` (and no PULSE_SOURCE inherited)
   * opens the default input without naming a source: the server moves the
   * stream when its default source changes. A named device is pinned.
   */
  private get followsDefault(): boolean {
    return this.config.type === 'portaudio' && this.config.device === undefined && inheritedPulseSourceName() === undefined;
  }

  /** The PulseAudio source this capture names (`device:`), which the server must not move it from. */
  private get pinnedPulseSource(): string | undefined {
    return this.source instanceof PortAudioSource ? this.source.pulseSource : undefined;
  }

  /**
   * A default source change moves every stream on the old default, ours
   * included even when it named that source (the ALSA plugin cannot ask the
   * server to keep it there): a named capture is moved back at once; one that
   * follows the default says so. Either way the audio the move costs is
   * measured and recorded as a gap.
   */
  private onDefaultSourceChange(from: string | undefined, to: string): void {
    if (this.closed) return;
    const source = this.source;
    if (source instanceof PortAudioSource && source.pulseSource && source.pulseTag) {
      const { pulseSource, pulseTag } = source;
      void keepStreamOnSource(pulseTag, pulseSource).then((movedFrom) => {
        if (movedFrom === undefined || this.source !== source) return;
        this.emit({ type: 'event', pipeline: this.pipeline, kind: 'device-kept', device: pulseSource, movedTo: movedFrom });
        source.expectLoss(`the server moved the stream to ${movedFrom} (the default source changed); moved back to ${pulseSource}`);
      });
      return;
    }
    this.emit({ type: 'event', pipeline: this.pipeline, kind: 'default-source', ...(from ? { from } : {}), to });
    if (this.source instanceof PortAudioSource) this.source.expectLoss(`capture follows the default source: ${from ?? '(none)'} -> ${to}`);
  }

  /**
   * Stops the source. With endOfStream (the pipeline is stopping) the ring is
   * closed too, so its reader drains it and ends; without (this host is going
   * down, a new one will take over) the reader just waits for the next frames.
   */
  async close(endOfStream = true): Promise<void> {
    this.closing.abort();
    this.stats.state = 'closed';
    this.defaultSource?.close();
    const source = this.source;
    this.source = undefined;
    try {
      await source?.stop();
    } finally {
      this.flushDrops();
      if (endOfStream) this.ring.close();
    }
  }

  onEnd(error?: Error): void {
    this.stats.state = 'ended';
    this.flushDrops();
    this.ring.close();
    this.emit({ type: 'event', pipeline: this.pipeline, kind: 'ended', ...(error ? { error: serializeError(error) } : {}) });
  }

  onOverflow(detail: string): void {
    this.stats.overflows++;
    this.emit({ type: 'event', pipeline: this.pipeline, kind: 'overflow', detail });
  }

  onFailure(error: Error): void {
    // A device is reopened; a file or a tone that fails would only start over, so it ends.
    if (this.config.type === 'portaudio') void this.recover(error);
    else this.onEnd(error);
  }

  /** Called periodically: a device that stopped delivering is reopened. */
  watch(now: number, threadStalled: boolean): void {
    if (this.stats.state !== 'running' || this.config.type !== 'portaudio' || !this.source) return;
    if (threadStalled) {
      // Our own thread was not running: the device is not to blame for the silence.
      this.watchFrom = now;
      return;
    }
    const last = this.source.lastDeliveryMs;
    const silentFor = now - Math.max(last ?? this.openedAt, this.watchFrom);
    const limit = last === undefined ? FIRST_BUFFER_MS : STALL_MS;
    if (silentFor > limit) void this.recover(new Error(`the capture device delivered nothing for ${Math.round(silentFor)} ms`));
  }

  snapshot(): CaptureStats {
    // A run of drops that grew since the last snapshot may go on: report it whole, later.
    const last = this.dropRanges[this.dropRanges.length - 1];
    const growing = last !== undefined && this.dropsSinceReport && monotonicMs() - last.sinceMs < MAX_DROP_REPORT_DELAY_MS;
    this.dropsSinceReport = false;
    this.flushDrops(growing ? 1 : 0);
    const { framesWritten, framesDropped, samplesLost } = this.assembler.stats;
    return { ...this.stats, framesWritten, framesDropped, samplesLost, ringFill: this.ring.fill };
  }

  /** Reopens the source with backoff until it works or the channel closes; the gap is measured on reopening. */
  private async recover(error: Error): Promise<void> {
    if (this.recovering || this.closed) return;
    this.recovering = true;
    this.stats.state = 'restarting';
    let failure = error;
    for (let attempt = 0; !this.closed; attempt++) {
      const delay = backoffDelay(attempt, RESTART_BACKOFF);
      this.emit({ type: 'event', pipeline: this.pipeline, kind: 'failed', error: summarize(failure), retryInMs: delay, attempt });
      const source = this.source;
      this.source = undefined;
      await source?.stop().catch(() => undefined);
      this.assembler.resumeAfterBreak(`capture restarted (${summarize(error).message})`);
      await sleep(delay, this.closing.signal);
      if (this.closed) break;
      try {
        await this.open(true);
        this.stats.restarts++;
        break;
      } catch (reopenError) {
        failure = reopenError as Error;
      }
    }
    this.recovering = false;
  }

  private reportGap(gap: CaptureGap): void {
    this.stats.gaps++;
    this.emit({ type: 'event', pipeline: this.pipeline, kind: 'gap', gap });
  }

  private recordDrop(seq: number): void {
    this.dropsSinceReport = true;
    const last = this.dropRanges[this.dropRanges.length - 1];
    if (last && seq === last.to + 1) last.to = seq;
    else this.dropRanges.push({ from: seq, to: seq, sinceMs: monotonicMs() });
  }

  /** Reports the ring's drops as ranges of sequence numbers, all but the last `keep` ranges. */
  private flushDrops(keep = 0): void {
    if (this.dropRanges.length <= keep) return;
    const ranges = this.dropRanges.slice(0, this.dropRanges.length - keep);
    this.dropRanges = this.dropRanges.slice(ranges.length);
    const frameMs = (this.ring.frameSamples * 1000) / this.ring.sampleRate;
    const cause = `ring full (${this.ring.policy})`;
    const shown = ranges.length > MAX_DROP_RANGES ? ranges.slice(0, MAX_DROP_RANGES - 1) : ranges;
    for (const r of shown) {
      const frames = r.to - r.from + 1;
      this.reportGap({ cause, fromSeq: r.from, toSeq: r.to, missingFrames: frames, lostMs: frames * frameMs });
    }
    if (shown.length < ranges.length) {
      const rest = ranges.slice(shown.length);
      const frames = rest.reduce((sum, r) => sum + r.to - r.from + 1, 0);
      const first = rest[0] as { from: number };
      const last = rest[rest.length - 1] as { to: number };
      this.reportGap({ cause: `${cause}, ${rest.length} separate ranges`, fromSeq: first.from, toSeq: last.to, missingFrames: frames, lostMs: frames * frameMs });
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

/** The first line of an error (a no-match error lists every device; a retry need not repeat them). */
function summarize(error: Error): { name: string; message: string } {
  const { name, message } = serializeError(error);
  return { name, message: message.split('\n')[0] as string };
}

/** How long a fatal error's clean-up may take to close the captures. */
const FATAL_CLOSE_TIMEOUT_MS = 20000;

export default async function audioHost({ port }: { port: MessagePort }): Promise<void> {
  const channels = new Map<string, CaptureChannel>();
  const send = (message: HostMessage): void => port.postMessage(message);
  let finish: () => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const finished = new Promise<void>((resolveFinished, rejectFinished) => {
    finish = resolveFinished;
    fail = rejectFinished;
  });

  // A fatal error anywhere in this thread (a bug) must not end the thread with
  // streams open: naudiodon crashes the whole process when a thread is torn
  // down under a pending read. Close every capture first, then fail the task
  // (the client then retires this thread and its supervisor starts a new one).
  let failing = false;
  const onFatal = (reason: unknown): void => {
    if (failing) return;
    failing = true;
    const error = reason instanceof Error ? reason : new Error(String(reason));
    clearInterval(statsTimer);
    clearInterval(watchdog);
    const closeAll = Promise.all([...channels.values()].map((channel) => channel.close(false))).then(() => true);
    const timeout = new Promise<boolean>((resolveTimeout) => setTimeout(() => resolveTimeout(false), FATAL_CLOSE_TIMEOUT_MS).unref());
    void Promise.race([closeAll, timeout]).then((clean) => {
      send({ type: 'fatal', error: serializeError(error), clean });
      port.close();
      fail(error);
    });
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);

  const statsTimer = setInterval(() => {
    const pipelines: Record<string, CaptureStats> = {};
    for (const [name, channel] of channels) pipelines[name] = channel.snapshot();
    send({ type: 'stats', pipelines });
  }, STATS_INTERVAL_MS);
  let lastTick = monotonicMs();
  const watchdog = setInterval(() => {
    const now = monotonicMs();
    const stalled = now - lastTick > WATCHDOG_INTERVAL_MS * 3;
    lastTick = now;
    for (const channel of channels.values()) channel.watch(now, stalled);
  }, WATCHDOG_INTERVAL_MS);

  // Requests are handled strictly one after another.
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
          channels.delete(request.pipeline);
          const channel = new CaptureChannel(request.pipeline, request.source, request.baseDir, request.ring, send);
          channel.ring.reopen();
          const info = await channel.open();
          channels.set(request.pipeline, channel);
          send({ type: 'reply', id: request.id, ok: true, info });
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

  try {
    await finished;
  } finally {
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
  }
}
