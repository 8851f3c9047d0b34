/**
 * A PortAudio input device (a BlackHole, a VB-Cable, a PulseAudio monitor)
 * read in the audio host thread. Reads are chained back to back so the
 * native queue is emptied as fast as PortAudio fills it; an overflow the
 * native side reports is counted as lost audio and reading goes on.
 */
import type { PortAudioSourceConfig } from '../../config/schema.js';
import { monotonicMs } from '../clock.js';
import { createConverter, type FormatConverter } from '../convert.js';
import type { CaptureDevice } from '../devices.js';
import type { FrameAssembler } from '../frame-assembler.js';
import { PortAudioInput } from '../portaudio.js';
import type { CaptureSource, SourceEvents, SourceInfo } from './source.js';

/** Seconds of audio the native side may hold while this thread is busy. */
const NATIVE_QUEUE_SECONDS = 5;

export class PortAudioSource implements CaptureSource {
  private input: PortAudioInput | undefined;
  private converter: FormatConverter | undefined;
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: PortAudioSourceConfig,
    /** undefined: the system default input. */
    private readonly device: CaptureDevice | undefined,
    private readonly assembler: FrameAssembler,
    private readonly events: SourceEvents,
  ) {}

  start(): Promise<SourceInfo> {
    this.stopping = false;
    const { sample_rate, frame_ms } = this.config;
    const channels = this.config.channels;
    const deviceId = this.device?.via?.portAudioId ?? (typeof this.device?.id === 'number' ? this.device.id : -1);
    if (this.device?.via) {
      // The ALSA pulse plugin reads PULSE_SOURCE when the stream connects. The
      // audio host shares the process environment (SHARE_ENV) and opens
      // streams one at a time, so setting it here is race-free.
      process.env.PULSE_SOURCE = this.device.via.pulseSource;
    } else {
      delete process.env.PULSE_SOURCE;
    }
    const framesPerBuffer = Math.round((sample_rate * frame_ms) / 1000);
    this.input = new PortAudioInput({
      deviceId,
      sampleRate: sample_rate,
      channels,
      framesPerBuffer,
      maxQueue: Math.max(8, Math.ceil((NATIVE_QUEUE_SECONDS * 1000) / frame_ms)),
    });
    this.converter = createConverter({ sampleRate: sample_rate, channels }, sample_rate);
    this.input.start();
    this.loop = this.readLoop(this.input, framesPerBuffer);
    const name = this.device ? this.device.name : 'default input';
    return Promise.resolve({
      description: `${name}${this.device?.hostApi ? ` (${this.device.hostApi})` : ''} at ${sample_rate} Hz, ${channels} ch`,
      openedSampleRate: sample_rate,
      openedChannels: channels,
      conversion: this.converter.description,
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const input = this.input;
    this.input = undefined;
    if (input) await input.close();
    await this.loop;
  }

  private async readLoop(input: PortAudioInput, framesPerBuffer: number): Promise<void> {
    const converter = this.converter as FormatConverter;
    try {
      for (;;) {
        const result = await input.read();
        if (this.stopping) return;
        if (result.overflow) {
          this.assembler.gap(framesPerBuffer);
          this.events.onOverflow(result.overflow, framesPerBuffer);
          continue;
        }
        if (result.finished || !result.samples) {
          this.events.onFailure(new Error('the capture device stopped delivering audio'));
          return;
        }
        this.assembler.push(converter.convert(result.samples), monotonicMs());
      }
    } catch (error) {
      if (!this.stopping) this.events.onFailure(error as Error);
    }
  }
}
