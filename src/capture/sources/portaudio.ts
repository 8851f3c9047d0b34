/**
 * A PortAudio input device (a BlackHole, a VB-Cable, a PulseAudio monitor)
 * read in the audio host thread. The device is opened in the pipeline's
 * format when it accepts it (open_format auto/requested), else in its native
 * format, and converted here. Reads are chained back to back so the native
 * queue is emptied as fast as PortAudio fills it; an overflow the native side
 * reports is counted, the loss is measured on the clock (DeviceTimeline) and
 * recorded as a gap, and reading goes on.
 */
import type { PortAudioSourceConfig } from '../../config/schema.js';
import { monotonicMs } from '../clock.js';
import { createConverter, type AudioFormat, type FormatConverter } from '../convert.js';
import { nativeFormat, type CaptureDevice } from '../devices.js';
import { DeviceTimeline, type TimelineEvent } from '../device-timeline.js';
import type { FrameAssembler } from '../frame-assembler.js';
import { PortAudioInput, type InputStreamOptions } from '../portaudio.js';
import type { CaptureSource, SourceEvents, SourceInfo } from './source.js';

/** Seconds of audio the native queue may hold while this thread is busy. */
const NATIVE_QUEUE_SECONDS = 5;
/** Formats tried, after the device's own, when a device's native format is unknown or refused. */
const COMMON_FORMATS: AudioFormat[] = [
  { sampleRate: 48000, channels: 2 },
  { sampleRate: 44100, channels: 2 },
  { sampleRate: 48000, channels: 1 },
  { sampleRate: 44100, channels: 1 },
];

let streamsTagged = 0;

export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
}

export interface PortAudioSourceOptions {
  /** Seconds of audio the native queue may hold. */
  nativeQueueSeconds?: number;
  /** Opens a stream; default PortAudioInput.open (tests wrap it to make a real device refuse a format). */
  openInput?: (options: InputStreamOptions) => Promise<PortAudioInput>;
}

export class PortAudioSource implements CaptureSource {
  private input: PortAudioInput | undefined;
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();
  private timeline: DeviceTimeline | undefined;
  /** Our stream's tag on a PulseAudio server (InputStreamOptions.pulseTag), for a named PulseAudio source. */
  readonly pulseTag: string | undefined;
  lastDeliveryMs: number | undefined;

  constructor(
    private readonly config: PortAudioSourceConfig,
    /** undefined: the system default input. */
    private readonly device: CaptureDevice | undefined,
    private readonly assembler: FrameAssembler,
    private readonly events: SourceEvents,
    private readonly options: PortAudioSourceOptions = {},
  ) {
    this.pulseTag = device?.via ? `${process.pid}-${++streamsTagged}` : undefined;
  }

  /** The PulseAudio source this capture was opened on by name, if any. */
  get pulseSource(): string | undefined {
    return this.device?.via?.pulseSource;
  }

  async start(): Promise<SourceInfo> {
    this.stopping = false;
    const { sample_rate, frame_ms } = this.config;
    const deviceId = this.device?.via?.portAudioId ?? (typeof this.device?.id === 'number' ? this.device.id : -1);
    const refused: string[] = [];
    for (const format of this.formatsToTry()) {
      const framesPerBuffer = Math.round((format.sampleRate * frame_ms) / 1000);
      try {
        const open = this.options.openInput ?? ((options: InputStreamOptions) => PortAudioInput.open(options));
        this.input = await open({
          deviceId,
          sampleRate: format.sampleRate,
          channels: format.channels,
          framesPerBuffer,
          maxQueue: Math.max(4, Math.ceil(((this.options.nativeQueueSeconds ?? NATIVE_QUEUE_SECONDS) * 1000) / frame_ms)),
          ...(this.device?.via ? { pulseSource: this.device.via.pulseSource, pulseTag: this.pulseTag } : {}),
        });
      } catch (error) {
        refused.push(`${describeFormat(format)}: ${(error as Error).message}`);
        continue;
      }
      const converter = createConverter(format, sample_rate);
      // A pause of a few buffers means our reader stalled (long buffers arrive a second apart anyway).
      const timeline = new DeviceTimeline({ sampleRate: format.sampleRate, channels: format.channels, stallMs: Math.max(1000, 3 * frame_ms) });
      this.timeline = timeline;
      this.lastDeliveryMs = undefined;
      this.loop = this.readLoop(this.input, timeline, converter, format);
      const name = this.device ? this.device.name : 'the default input';
      return {
        description: `${name}${this.device?.hostApi ? ` (${this.device.hostApi})` : ''} at ${describeFormat(format)}`,
        ...(this.device ? { device: this.device.name, hostApi: this.device.hostApi } : {}),
        openedSampleRate: format.sampleRate,
        openedChannels: format.channels,
        sampleRate: sample_rate,
        channels: 1,
        conversion: converter.description,
        ...(refused.length ? { refused } : {}),
      };
    }
    const name = this.device ? `${this.device.name} (${this.device.hostApi})` : 'the default input';
    throw new CaptureFormatError(
      `${name} cannot be opened with open_format: ${this.config.open_format}; it refused ${refused.join('; ')}` +
        (this.config.open_format === 'requested' ? '. Use open_format: auto to let earshot open its native format and convert.' : ''),
    );
  }

  /**
   * Something outside the stream may have cost audio just now (the server is
   * moving it to another source): the loss is measured as after an overflow
   * and recorded as a gap with this reason.
   */
  expectLoss(reason: string): void {
    this.timeline?.suspectLoss(reason, monotonicMs());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const input = this.input;
    this.input = undefined;
    if (input) await input.close();
    await this.loop;
  }

  /** The formats to try, in order, for the pipeline's open_format. */
  private formatsToTry(): AudioFormat[] {
    const requested = { sampleRate: this.config.sample_rate, channels: this.config.channels };
    const native = this.device ? [nativeFormat(this.device)] : [];
    const list =
      this.config.open_format === 'requested'
        ? [requested]
        : this.config.open_format === 'native'
          ? [...native, ...(native.length ? [] : COMMON_FORMATS.slice(0, 2))]
          : [requested, ...native, ...COMMON_FORMATS];
    return list.filter((f, i) => list.findIndex((g) => g.sampleRate === f.sampleRate && g.channels === f.channels) === i);
  }

  private async readLoop(input: PortAudioInput, timeline: DeviceTimeline, converter: FormatConverter, format: AudioFormat): Promise<void> {
    const deliver = (events: TimelineEvent[]): void => {
      for (const event of events) {
        if (event.kind === 'gap') {
          this.assembler.gap(Math.round((event.frames * this.config.sample_rate) / format.sampleRate), event.reason);
          continue;
        }
        const samples = converter.convert(event.samples);
        this.assembler.push(samples, event.lastSampleTimeMs - converter.delayMs);
      }
    };
    try {
      for (;;) {
        const result = await input.read();
        if (this.stopping) break;
        const now = monotonicMs();
        this.lastDeliveryMs = now;
        if (result.overflow) {
          this.events.onOverflow(result.overflow);
          timeline.suspectLoss(`device overflow (${result.overflow})`, now);
          continue;
        }
        if (result.finished || !result.samples) {
          deliver(timeline.drain());
          this.events.onFailure(new Error('the capture device stopped delivering audio'));
          return;
        }
        deliver(timeline.add(result.samples, now));
      }
    } catch (error) {
      if (!this.stopping) this.events.onFailure(error as Error);
    }
  }
}

function describeFormat(format: AudioFormat): string {
  return `${format.sampleRate} Hz, ${format.channels} ch`;
}
