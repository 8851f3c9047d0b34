/**
 * A WAV or raw PCM file played into the pipeline, at real-time pace or as
 * fast as it is consumed, converted to the pipeline's format exactly as a
 * device's audio is (a 44.1 kHz stereo WAV feeds a 16 kHz mono pipeline).
 */
import type { FileSourceConfig } from '../../config/schema.js';
import { monotonicMs } from '../clock.js';
import { createConverter, type FormatConverter } from '../convert.js';
import type { FrameAssembler } from '../frame-assembler.js';
import type { FrameRing } from '../ring.js';
import { AudioFileError, decodeToInt16, openAudioFile, type OpenedAudioFile } from '../wav-file.js';
import { Pacer } from './pacer.js';
import type { CaptureSource, SourceEvents, SourceInfo } from './source.js';

export class FileSource implements CaptureSource {
  private file: OpenedAudioFile | undefined;
  private converter: FormatConverter | undefined;
  private pacer: Pacer | undefined;
  private position = 0;
  private stopped = false;
  private bytesPerFrame = 0;
  private reading: Promise<void> = Promise.resolve();
  lastDeliveryMs: number | undefined;

  constructor(
    private readonly config: FileSourceConfig,
    private readonly path: string,
    private readonly assembler: FrameAssembler,
    private readonly ring: FrameRing,
    private readonly events: SourceEvents,
  ) {}

  async start(): Promise<SourceInfo> {
    this.stopped = false;
    this.file = await openAudioFile(this.path, this.config.sample_rate);
    const { format } = this.file;
    this.converter = createConverter(format, this.config.sample_rate);
    const inputFrames = Math.round((format.sampleRate * this.config.frame_ms) / 1000);
    this.bytesPerFrame = inputFrames * format.channels * (format.bitsPerSample / 8);
    this.position = 0;
    if (this.config.realtime) {
      this.pacer = new Pacer(this.config.frame_ms, () => this.readPaced(), monotonicMs);
      this.pacer.start();
    } else {
      this.reading = this.readAsFastAsConsumed();
    }
    return {
      description: `file ${this.path} (${format.sampleRate} Hz, ${format.channels} ch, ${format.bitsPerSample}-bit)` +
        (this.config.realtime ? ' at real-time pace' : ' as fast as consumed'),
      openedSampleRate: format.sampleRate,
      openedChannels: format.channels,
      sampleRate: this.config.sample_rate,
      channels: 1,
      conversion: this.converter.description,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pacer?.stop();
    await this.reading;
    await this.file?.handle.close();
    this.file = undefined;
  }

  /** One frame per tick; file reads are small and buffered by the OS. */
  private readPaced(): boolean {
    if (this.stopped) return false;
    this.reading = this.reading.then(() => this.readOrFail().then((more) => {
      if (!more) this.pacer?.stop();
    }));
    return !this.stopped;
  }

  private async readAsFastAsConsumed(): Promise<void> {
    while (!this.stopped) {
      await this.ring.waitForSpace(1000);
      if (this.ring.fill >= this.ring.capacity) continue;
      if (!(await this.readOrFail())) return;
    }
  }

  /** A frame read that fails (an I/O error) ends this source with the error, never as an unhandled rejection. */
  private async readOrFail(): Promise<boolean> {
    try {
      return await this.readOneFrame();
    } catch (error) {
      if (!this.stopped) this.events.onFailure(new AudioFileError(this.path, `cannot read: ${(error as Error).message}`));
      return false;
    }
  }

  /** Reads and pushes one frame of audio; false at the end of the file (unless looping). */
  private async readOneFrame(): Promise<boolean> {
    const file = this.file;
    if (!file || this.stopped) return false;
    const { format } = file;
    const want = Math.min(this.bytesPerFrame, format.dataBytes - this.position);
    if (want <= 0) {
      if (this.config.loop && format.dataBytes > 0) {
        this.position = 0;
        return this.readOneFrame();
      }
      const now = monotonicMs();
      this.assembler.push((this.converter as FormatConverter).flush(), now);
      this.assembler.flush(now);
      this.events.onEnd();
      return false;
    }
    const bytes = Buffer.alloc(want);
    const { bytesRead } = await file.handle.read(bytes, 0, want, format.dataOffset + this.position);
    this.position += bytesRead;
    if (bytesRead === 0) {
      this.position = format.dataBytes;
      return this.readOneFrame();
    }
    const converter = this.converter as FormatConverter;
    const samples = converter.convert(decodeToInt16(bytes.subarray(0, bytesRead), format));
    const now = monotonicMs();
    this.lastDeliveryMs = now;
    this.assembler.push(samples, now - converter.delayMs);
    return true;
  }
}
