/**
 * The WAV recorder: the pipeline's captured audio as 16-bit PCM mono files.
 *
 * It runs beside the audio path (in a worker), so write() never waits: it
 * copies the samples into a small queue that one async loop writes out. The
 * queue is bounded (`maxQueueSeconds`); audio that finds it full is counted
 * as dropped and written as silence once the disk keeps up, so the file stays
 * aligned with the pipeline's timeline.
 *
 * Timeline: sample n of the recording is sample n of the pipeline's audio
 * stream. When the pipeline loses audio (a capture overrun, frames dropped
 * from a ring) it calls writeGap(ms) and the recorder writes that much
 * silence. With `rotate_seconds`, file k holds the audio from k*rotate_seconds
 * on, cut at that exact sample; a file also rotates before its data would pass
 * the 4 GiB the RIFF header can describe.
 *
 * Header: the RIFF and data sizes are rewritten every `headerIntervalMs`
 * (1 s) while audio arrives and on close, so after a crash the header
 * describes all but the last second at most, and the file plays. When the
 * template names a file that exists (an earlier run), its header is repaired
 * to cover every sample on disk and the recording goes to a new file
 * (`-1`, `-2` added), since the earlier file is on another run's timeline.
 */
import { endianness } from 'node:os';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { WavSink as WavSinkSchema, type WavSinkConfig } from '../config/schema.js';
import { SinkConfigError, SinkIoError } from './errors.js';
import { resolveOptions } from './options.js';
import { candidatePaths, checkTemplate, resolveTemplate } from './path-template.js';
import { repairWavFile, WAV_HEADER_BYTES, WAV_MAX_DATA_BYTES, wavHeader } from './wav-header.js';

export interface WavRecorderContext {
  pipeline: string;
  label?: string;
  /** Relative paths resolve against this. */
  baseDir: string;
  /** The pipeline's sample rate: what the samples passed to write() are at. */
  sampleRate: number;
  /** Names the recorder in errors and logs (`wav#3`). */
  name?: string;
  logger?: Logger;
  /** How often the header sizes are brought up to date; default 1000 ms. */
  headerIntervalMs?: number;
  /** Audio the write queue may hold before it drops; default 10 s. */
  maxQueueSeconds?: number;
  now?: () => Date;
}

export interface WavRecorderStats {
  /** Samples on disk, silence included, across all files. */
  samplesWritten: number;
  /** Silence asked for with writeGap(). */
  gapSamples: number;
  /** Audio that found the queue full (written as silence instead). */
  droppedSamples: number;
  files: number;
}

type Chunk = Int16Array | number; // samples, or a run of silence of that many samples

interface OpenWav {
  fh: FileHandle;
  path: string;
  dataBytes: number;
  headerBytes: number; // data size the header on disk declares
}

const WRITE_BATCH_BYTES = 256 * 1024;
const ZEROS = Buffer.alloc(WRITE_BATCH_BYTES);

export function createWavRecorder(options: Partial<WavSinkConfig>, context: WavRecorderContext): WavRecorder {
  return new WavRecorder(options, context);
}

export class WavRecorder {
  private readonly options: WavSinkConfig;
  private readonly name: string;
  private readonly logger: Logger;
  private readonly sampleRate: number;
  private readonly maxFileBytes: number;
  private readonly maxQueueSamples: number;
  private readonly headerIntervalMs: number;
  private readonly now: () => Date;
  private readonly queue: Chunk[] = [];
  private queuedSamples = 0;
  private gapRemainder = 0;
  private file: OpenWav | undefined;
  private pump: Promise<void> | undefined;
  private headerTimer: NodeJS.Timeout | undefined;
  private headerDue = false;
  private state: 'new' | 'open' | 'closing' | 'closed' = 'new';
  private failure: Error | undefined;
  private readonly paths: string[] = [];
  private readonly counters: WavRecorderStats = { samplesWritten: 0, gapSamples: 0, droppedSamples: 0, files: 0 };

  constructor(options: Partial<WavSinkConfig>, private readonly context: WavRecorderContext) {
    this.name = context.name ?? options.name ?? 'wav';
    this.options = resolveOptions(WavSinkSchema, { ...options, type: 'wav' }, this.name);
    checkTemplate(this.options.path, ['pipeline', 'label', 'date', 'time'], this.name);
    if (!Number.isInteger(context.sampleRate) || context.sampleRate < 1000) {
      throw new SinkConfigError(this.name, 'sample_rate', `expected the pipeline's sample rate in Hz (an integer of at least 1000), got ${context.sampleRate}`);
    }
    this.sampleRate = context.sampleRate;
    this.logger = context.logger ?? pino({ level: 'silent' });
    const rotateBytes = this.options.rotate_seconds === undefined ? Infinity : this.options.rotate_seconds * this.sampleRate * 2;
    this.maxFileBytes = Math.min(rotateBytes, WAV_MAX_DATA_BYTES);
    this.maxQueueSamples = Math.round((context.maxQueueSeconds ?? 10) * this.sampleRate);
    this.headerIntervalMs = context.headerIntervalMs ?? 1000;
    this.now = context.now ?? (() => new Date());
  }

  /** The file being written. */
  get path(): string | undefined {
    return this.file?.path;
  }

  /** Every file this recorder opened, in order. */
  get files(): readonly string[] {
    return this.paths;
  }

  get stats(): Readonly<WavRecorderStats> {
    return { ...this.counters };
  }

  /** Opens the first file (so a bad path fails here) and starts the header timer. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new SinkIoError(this.name, this.options.path, 'start() called twice');
    this.file = await this.openNext();
    this.state = 'open';
    this.headerTimer = setInterval(() => {
      this.headerDue = true;
      this.kick();
    }, this.headerIntervalMs);
    this.headerTimer.unref();
  }

  /** Queues a copy of the samples; returns at once. */
  write(samples: Int16Array): void {
    this.assertOpen();
    if (samples.length === 0) return;
    if (this.queuedSamples + samples.length > this.maxQueueSamples) {
      if (this.counters.droppedSamples === 0) this.logger.error({ path: this.path }, 'WAV recorder cannot keep up with the audio; writing silence for what it drops');
      this.counters.droppedSamples += samples.length;
      this.enqueueSilence(samples.length);
    } else {
      this.queue.push(samples.slice());
      this.queuedSamples += samples.length;
    }
    this.kick();
  }

  /** Writes `ms` of silence where the pipeline lost audio. Fractions of a sample carry over. */
  writeGap(ms: number): void {
    this.assertOpen();
    if (!(ms > 0)) return;
    const exact = (ms * this.sampleRate) / 1000 + this.gapRemainder;
    const samples = Math.floor(exact);
    this.gapRemainder = exact - samples;
    if (samples === 0) return;
    this.counters.gapSamples += samples;
    this.enqueueSilence(samples);
    this.kick();
  }

  /** Resolves when everything queued is on disk, the header is current and the file synced. */
  async flush(): Promise<void> {
    this.headerDue = true;
    this.kick();
    await this.drained();
    if (this.file) await this.file.fh.datasync();
    if (this.failure) throw this.failure;
  }

  /** Writes what is queued, the final header, and closes. Rejects with the first I/O error, if any. */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    if (this.state === 'new') {
      this.state = 'closed';
      return;
    }
    this.state = 'closing';
    clearInterval(this.headerTimer);
    this.headerDue = true;
    this.kick();
    await this.drained();
    const file = this.file;
    this.file = undefined;
    this.state = 'closed';
    if (file) await this.closeFile(file).catch((err: Error) => this.recordFailure(err, file.path));
    if (this.failure) throw this.failure;
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new SinkIoError(this.name, this.options.path, `write while the recorder is ${this.state}`);
  }

  private enqueueSilence(samples: number): void {
    const last = this.queue.length - 1;
    const tail = this.queue[last];
    if (typeof tail === 'number') this.queue[last] = tail + samples;
    else this.queue.push(samples);
  }

  private kick(): void {
    this.pump ??= this.run().finally(() => {
      this.pump = undefined;
      if (this.file && (this.queue.length > 0 || (this.headerDue && this.headerStale()))) this.kick();
    });
  }

  private async drained(): Promise<void> {
    while (this.pump) await this.pump;
  }

  private async run(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.file) await this.writeSome(this.file);
      if (this.headerDue && this.file && this.headerStale()) {
        this.headerDue = false;
        await this.writeHeader(this.file);
      }
    } catch (err) {
      this.recordFailure(err as Error, this.file?.path ?? this.options.path);
    }
  }

  private headerStale(): boolean {
    return this.file !== undefined && this.file.headerBytes !== this.file.dataBytes;
  }

  /** Takes up to WRITE_BATCH_BYTES from the queue, up to the end of the current file, and writes it. */
  private async writeSome(file: OpenWav): Promise<void> {
    if (this.failure) {
      this.discardQueue();
      return;
    }
    const room = this.maxFileBytes - file.dataBytes;
    if (room <= 0) {
      this.file = await this.rotate(file);
      return;
    }
    const budget = Math.min(room, WRITE_BATCH_BYTES);
    const parts: Buffer[] = [];
    let bytes = 0;
    while (bytes < budget && this.queue.length > 0) {
      const chunk = this.queue[0] as Chunk;
      const chunkBytes = (typeof chunk === 'number' ? chunk : chunk.length) * 2;
      const take = Math.min(chunkBytes, budget - bytes);
      parts.push(typeof chunk === 'number' ? ZEROS.subarray(0, take) : pcmBytes(chunk.subarray(0, take / 2)));
      if (take === chunkBytes) this.queue.shift();
      else this.queue[0] = typeof chunk === 'number' ? chunk - take / 2 : chunk.subarray(take / 2);
      if (typeof chunk !== 'number') this.queuedSamples -= take / 2;
      bytes += take;
    }
    const buf = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, bytes);
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await file.fh.write(buf, done, buf.length - done, WAV_HEADER_BYTES + file.dataBytes + done);
      done += bytesWritten;
    }
    file.dataBytes += bytes;
    this.counters.samplesWritten += bytes / 2;
  }

  private async rotate(file: OpenWav): Promise<OpenWav> {
    await this.closeFile(file);
    return this.openNext();
  }

  private async openNext(): Promise<OpenWav> {
    const target = resolveTemplate(this.options.path, { pipeline: this.context.pipeline, label: this.context.label, now: this.now() }, this.context.baseDir);
    try {
      await mkdir(dirname(target), { recursive: true });
    } catch (err) {
      throw new SinkIoError(this.name, dirname(target), `cannot create the recordings directory: ${(err as Error).message}`, { cause: err });
    }
    for (const path of candidatePaths(target)) {
      let fh: FileHandle;
      try {
        fh = await open(path, 'wx');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new SinkIoError(this.name, path, `cannot create the recording: ${(err as Error).message}`, { cause: err });
        }
        await this.repairEarlier(path);
        continue;
      }
      await fh.write(wavHeader(this.sampleRate, 0), 0, WAV_HEADER_BYTES, 0);
      this.paths.push(path);
      this.counters.files += 1;
      this.logger.info({ path, sample_rate: this.sampleRate }, 'recording opened');
      return { fh, path, dataBytes: 0, headerBytes: 0 };
    }
    throw new SinkIoError(this.name, target, 'every numbered name for a new recording is taken');
  }

  private async repairEarlier(path: string): Promise<void> {
    try {
      const result = await repairWavFile(path, this.sampleRate);
      if (result.status === 'repaired') this.logger.warn({ path, data_bytes: result.dataBytes }, 'repaired the header of a recording left by an earlier run');
    } catch (err) {
      this.logger.warn({ path, err }, 'could not check a recording left by an earlier run');
    }
  }

  private async writeHeader(file: OpenWav): Promise<void> {
    const dataBytes = file.dataBytes;
    await file.fh.write(wavHeader(this.sampleRate, dataBytes), 0, WAV_HEADER_BYTES, 0);
    file.headerBytes = dataBytes;
  }

  private async closeFile(file: OpenWav): Promise<void> {
    try {
      await this.writeHeader(file);
      await file.fh.datasync();
    } finally {
      await file.fh.close();
    }
  }

  private recordFailure(err: Error, path: string): void {
    if (this.failure) return;
    this.failure = err instanceof SinkIoError ? err : new SinkIoError(this.name, path, `cannot write the recording: ${err.message}`, { cause: err });
    this.logger.error({ err: this.failure, path }, 'WAV recording failed; further audio is counted as dropped');
  }

  private discardQueue(): void {
    for (const chunk of this.queue) this.counters.droppedSamples += typeof chunk === 'number' ? chunk : chunk.length;
    this.queue.length = 0;
    this.queuedSamples = 0;
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** The samples as little-endian bytes (a view on little-endian hosts, a swapped copy elsewhere). */
function pcmBytes(samples: Int16Array): Buffer {
  const view = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  return LITTLE_ENDIAN ? view : Buffer.from(view).swap16();
}
