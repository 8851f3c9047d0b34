/**
 * A thin wrapper around naudiodon's N-API binding. We load the binding
 * directly instead of `require('naudiodon')`: its index.js also loads
 * segfault-handler, a native addon that is not context-aware and fails in
 * worker threads ("Module did not self-register"), and writes crash.log into
 * the working directory (shared/naudiodon.md, point 2).
 *
 * Only the audio host thread may call into this module: PortAudio driven from
 * two threads at once crashes the process (shared/naudiodon.md, point 1).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface PortAudioDeviceInfo {
  id: number;
  name: string;
  hostAPIName: string;
  maxInputChannels: number;
  maxOutputChannels: number;
  defaultSampleRate: number;
}

interface ReadResult {
  buf?: Buffer;
  finished?: boolean;
  err?: string;
}

interface NativeAudioIO {
  start(): void;
  read(bytes: number): Promise<ReadResult>;
  quit(mode: 'WAIT' | 'ABORT'): Promise<void>;
}

interface Binding {
  getDevices(): PortAudioDeviceInfo[];
  create(options: { inOptions: Record<string, unknown> }): NativeAudioIO;
}

export class PortAudioUnavailableError extends Error {
  override readonly name = 'PortAudioUnavailableError';
}

let binding: Binding | undefined;

function loadBinding(): Binding {
  if (binding) return binding;
  const require = createRequire(import.meta.url);
  let packageDir: string;
  try {
    packageDir = dirname(require.resolve('naudiodon/package.json'));
  } catch (error) {
    throw new PortAudioUnavailableError('naudiodon is not installed; run `npm ci` in the earshot directory', { cause: error });
  }
  const file = join(packageDir, 'build', 'Release', 'naudiodon.node');
  try {
    binding = require(file) as Binding;
  } catch (error) {
    throw new PortAudioUnavailableError(
      `cannot load the PortAudio binding ${file}: ${(error as Error).message}. ` +
        'It is built when naudiodon is installed; run `npm rebuild naudiodon` (package.json must list it under allowScripts).',
      { cause: error },
    );
  }
  return binding;
}

export function listPortAudioDevices(): PortAudioDeviceInfo[] {
  return loadBinding().getDevices();
}

export interface InputStreamOptions {
  deviceId: number;
  sampleRate: number;
  channels: number;
  framesPerBuffer: number;
  /**
   * Buffers the native side may queue while our reader is late. Its default
   * (2) loses audio after a 100 ms stall (shared/naudiodon.md, point 3), and a
   * full queue blocks PortAudio's callback, so we make it generous.
   */
  maxQueue: number;
}

/** One PortAudio input stream delivering 16-bit interleaved PCM. */
export class PortAudioInput {
  private readonly io: NativeAudioIO;
  readonly bytesPerBuffer: number;

  constructor(readonly options: InputStreamOptions) {
    this.io = loadBinding().create({
      inOptions: {
        deviceId: options.deviceId,
        sampleRate: options.sampleRate,
        channelCount: options.channels,
        sampleFormat: 16,
        framesPerBuffer: options.framesPerBuffer,
        maxQueue: options.maxQueue,
        // With closeOnError the native side reports an overflow to our read
        // instead of printing it; we count it and go on reading.
        closeOnError: true,
      },
    });
    this.bytesPerBuffer = options.framesPerBuffer * options.channels * 2;
  }

  start(): void {
    this.io.start();
  }

  /**
   * The next buffer. `overflow` is a status the native side reported instead
   * of a buffer: the audio of that buffer is lost.
   */
  async read(): Promise<{ samples?: Int16Array; finished: boolean; overflow?: string }> {
    const result = await this.io.read(this.bytesPerBuffer);
    if (result.err) return { finished: false, overflow: result.err };
    if (result.finished || !result.buf) return { finished: true };
    const buf = result.buf;
    const samples =
      buf.byteOffset % 2 === 0
        ? new Int16Array(buf.buffer, buf.byteOffset, buf.byteLength >> 1)
        : new Int16Array(new Uint8Array(buf).buffer);
    return { samples, finished: false };
  }

  /** Stops the stream; a pending read resolves as finished. */
  async close(): Promise<void> {
    await this.io.quit('WAIT');
  }
}
