/** A tone, noise or silence at real-time pace: pipelines and benchmarks without a device. */
import type { SyntheticSourceConfig } from '../../config/schema.js';
import { monotonicMs } from '../clock.js';
import type { FrameAssembler } from '../frame-assembler.js';
import { Pacer } from './pacer.js';
import type { CaptureSource, SourceEvents, SourceInfo } from './source.js';

export class SyntheticSource implements CaptureSource {
  private readonly pacer: Pacer;
  private readonly frame: Int16Array;
  private samplesMade = 0;
  private noiseState = 0x12345678;
  lastDeliveryMs: number | undefined;

  constructor(
    private readonly config: SyntheticSourceConfig,
    private readonly assembler: FrameAssembler,
    private readonly events: SourceEvents,
  ) {
    this.frame = new Int16Array(Math.round((config.sample_rate * config.frame_ms) / 1000));
    this.pacer = new Pacer(config.frame_ms, () => this.produce(), monotonicMs);
  }

  start(): Promise<SourceInfo> {
    this.pacer.start();
    const { signal, frequency_hz, sample_rate } = this.config;
    return Promise.resolve({
      description: `synthetic ${signal}${signal === 'tone' ? ` ${frequency_hz} Hz` : ''} at ${sample_rate} Hz`,
      openedSampleRate: sample_rate,
      openedChannels: 1,
      sampleRate: sample_rate,
      channels: 1,
      conversion: 'none',
    });
  }

  stop(): Promise<void> {
    this.pacer.stop();
    return Promise.resolve();
  }

  private produce(): boolean {
    const { sample_rate, duration_ms, amplitude, frequency_hz, signal } = this.config;
    const limit = duration_ms === undefined ? Infinity : Math.round((duration_ms * sample_rate) / 1000);
    const count = Math.min(this.frame.length, limit - this.samplesMade);
    const scale = amplitude * 32767;
    for (let i = 0; i < count; i++) {
      const n = this.samplesMade + i;
      if (signal === 'tone') this.frame[i] = Math.round(scale * Math.sin((2 * Math.PI * frequency_hz * n) / sample_rate));
      else if (signal === 'noise') this.frame[i] = Math.round(scale * (this.nextNoise() * 2 - 1));
      else this.frame[i] = 0;
    }
    this.samplesMade += count;
    const now = monotonicMs();
    this.lastDeliveryMs = now;
    this.assembler.push(this.frame.subarray(0, count), now);
    if (this.samplesMade >= limit) {
      this.assembler.flush(now);
      this.events.onEnd();
      return false;
    }
    return true;
  }

  /** xorshift32: cheap, deterministic noise. */
  private nextNoise(): number {
    let x = this.noiseState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.noiseState = x >>> 0;
    return this.noiseState / 0x100000000;
  }
}
