/**
 * Places a device's buffers on the clock: when each sample was captured, and
 * how much audio the device lost when it lost some.
 *
 * A buffer's arrival time is only an upper bound on when its audio was
 * captured: buffers that waited in a queue (the reader was busy) arrive late
 * and in a burst. If the device delivers `rate` samples a second, sample n
 * was captured at origin + n / rate, and every arrival gives an upper bound
 * on origin; the lowest bound seen is the estimate. It may creep up by a
 * small leak per second so that a device clock slower than ours (drift,
 * tens of ppm) never leaves capture times ahead of arrivals.
 *
 * Lost audio shows as a step: the samples never arrive, so every later
 * arrival is late by the lost duration for good, where a queue backlog only
 * makes a few arrivals late. We trust the device's sample count unless there
 * is a reason to doubt it (it reported an overflow, or our reader stalled
 * long enough for a queue to overflow); then the buffers of the next second
 * are held back, the lowest lateness among them is the loss, and the gap is
 * recorded where the backlog ends and live audio starts (where a full queue
 * loses audio), before any of those buffers goes on.
 */
export type TimelineEvent =
  | { kind: 'audio'; samples: Int16Array; lastSampleTimeMs: number }
  | { kind: 'gap'; frames: number; reason: string };

export interface DeviceTimelineOptions {
  /** Frames (samples per channel) per second the device delivers. */
  sampleRate: number;
  /** Channels interleaved in each buffer. */
  channels: number;
  /** How long buffers are held back to measure a suspected loss. */
  settleMs?: number;
  /** A pause between two arrivals longer than this makes us suspect a loss. */
  stallMs?: number;
  /** Lateness below this is jitter, not loss. */
  lossThresholdMs?: number;
  /** How fast the origin estimate may creep up, in ms per second of arrivals (drift allowance). */
  leakMsPerSecond?: number;
}

interface HeldBuffer {
  samples: Int16Array;
  arrivalMs: number;
  /** Frames delivered up to the end of this buffer, gaps excluded. */
  position: number;
}

export class DeviceTimeline {
  private readonly rate: number;
  private readonly channels: number;
  private readonly settleMs: number;
  private readonly stallMs: number;
  private readonly lossThresholdMs: number;
  private readonly leakMsPerMs: number;
  /** Frames so far, including frames recorded as lost. */
  private position = 0;
  /** Estimated capture time of frame 0, in ms on the arrival clock. */
  private origin = NaN;
  private lastArrivalMs = NaN;
  private held: HeldBuffer[] = [];
  private suspicion: { sinceMs: number; reason: string } | undefined;
  /** Frames recorded as lost so far. */
  lostFrames = 0;

  constructor(options: DeviceTimelineOptions) {
    this.rate = options.sampleRate;
    this.channels = options.channels;
    this.settleMs = options.settleMs ?? 1000;
    this.stallMs = options.stallMs ?? 1000;
    this.lossThresholdMs = options.lossThresholdMs ?? 25;
    this.leakMsPerMs = (options.leakMsPerSecond ?? 1) / 1000;
  }

  /** Whether buffers are being held back while a suspected loss is measured. */
  get settling(): boolean {
    return this.suspicion !== undefined;
  }

  /** The device reported lost audio (an overflow) just now: measure it before going on. */
  suspectLoss(reason: string, nowMs: number): void {
    if (!this.suspicion) this.suspicion = { sinceMs: nowMs, reason };
  }

  /** A buffer of interleaved samples arrived at arrivalMs; returns what is ready to go on, in order. */
  add(samples: Int16Array, arrivalMs: number): TimelineEvent[] {
    const frames = Math.floor(samples.length / this.channels);
    if (Number.isNaN(this.origin)) this.origin = arrivalMs - this.toMs(frames);
    else if (!this.suspicion && arrivalMs - this.lastArrivalMs > this.stallMs) {
      this.suspicion = { sinceMs: arrivalMs, reason: `the reader stalled for ${Math.round(arrivalMs - this.lastArrivalMs)} ms` };
    }
    const elapsed = arrivalMs - this.lastArrivalMs;
    this.lastArrivalMs = arrivalMs;
    this.position += frames;
    if (this.suspicion) {
      this.held.push({ samples, arrivalMs, position: this.position });
      return arrivalMs - this.suspicion.sinceMs >= this.settleMs && this.held.length >= 4 ? this.settle() : [];
    }
    const bound = arrivalMs - this.toMs(this.position);
    this.origin = Math.min(this.origin + (elapsed > 0 ? elapsed * this.leakMsPerMs : 0), bound);
    return [{ kind: 'audio', samples, lastSampleTimeMs: this.origin + this.toMs(this.position) }];
  }

  /** Releases whatever is held (the stream is ending); a loss not yet measured is not recorded. */
  drain(): TimelineEvent[] {
    const events = this.held.map((b): TimelineEvent => ({ kind: 'audio', samples: b.samples, lastSampleTimeMs: this.origin + this.toMs(b.position) }));
    this.held = [];
    this.suspicion = undefined;
    return events;
  }

  private settle(): TimelineEvent[] {
    const held = this.held;
    const reason = (this.suspicion as { reason: string }).reason;
    this.held = [];
    this.suspicion = undefined;
    const lateness = held.map((b) => b.arrivalMs - this.toMs(b.position) - this.origin);
    const lostMs = Math.min(...lateness);
    const events: TimelineEvent[] = [];
    if (lostMs <= this.lossThresholdMs) {
      for (const b of held) events.push({ kind: 'audio', samples: b.samples, lastSampleTimeMs: this.origin + this.toMs(b.position) });
      return events;
    }
    const lost = Math.round((lostMs * this.rate) / 1000);
    // Live audio starts with the first buffer no later than the loss plus its own length (the backlog ends there).
    let live = held.findIndex((b, i) => (lateness[i] as number) <= lostMs + this.toMs(b.samples.length / this.channels));
    if (live < 0) live = 0;
    held.forEach((b, i) => {
      if (i === live) events.push({ kind: 'gap', frames: lost, reason });
      const position = b.position + (i >= live ? lost : 0);
      events.push({ kind: 'audio', samples: b.samples, lastSampleTimeMs: this.origin + this.toMs(position) });
    });
    this.position += lost;
    this.lostFrames += lost;
    return events;
  }

  private toMs(frames: number): number {
    return (frames * 1000) / this.rate;
  }
}
