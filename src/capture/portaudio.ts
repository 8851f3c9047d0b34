/**
 * A thin wrapper around naudiodon's N-API binding. We load the binding
 * directly instead of `require('naudiodon')`: its index.js also loads
 * segfault-handler, a native addon that is not context-aware and fails in
 * worker threads ("Module did not self-register"), and writes crash.log into
 * the working directory (shared/naudiodon.md, point 2).
 *
 * Only the audio host thread may call into this module: PortAudio driven from
 * two threads at once crashes the process (shared/naudiodon.md, point 1).
 * Two more reasons found here: the binding keeps its stream class in one
 * process-wide reference, set by the thread that loaded it last, so a thread
 * that loaded it before another one did crashes the process when it opens a
 * stream; and a thread torn down while a read is pending crashes it too
 * (audio-host.ts closes every stream before its thread may end).
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

/**
 * PortAudio calls made one at a time. naudiodon runs a stream's quit (stop,
 * close, terminate) on a libuv pool thread, so an open or a device listing
 * made while a quit is still running would drive PortAudio from two threads
 * at once; everything that calls into PortAudio waits its turn here. A quit
 * that never returns keeps the turn (safer than racing it), and whoever waits
 * for the turn gives up after a bound with an error that says so.
 */
let turn: Promise<unknown> = Promise.resolve();
let turnHolder = '';
const TURN_TIMEOUT_MS = 15000;

export class PortAudioBusyError extends Error {
  override readonly name = 'PortAudioBusyError';
}

function exclusive<T>(what: string, work: () => T | Promise<T>): Promise<T> {
  let abandoned = false;
  const run = (): T | Promise<T> => {
    if (abandoned) throw new PortAudioBusyError(`gave up waiting to ${what}`);
    turnHolder = what;
    return work();
  };
  const mine = turn.then(run, run);
  turn = mine.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandoned = true;
      reject(new PortAudioBusyError(`PortAudio is still busy (${turnHolder}) after ${TURN_TIMEOUT_MS} ms; cannot ${what}`));
    }, TURN_TIMEOUT_MS);
  });
  return Promise.race([mine, timeout]).finally(() => clearTimeout(timer));
}

export function listPortAudioDevices(): Promise<PortAudioDeviceInfo[]> {
  return exclusive('list devices', () => loadBinding().getDevices());
}

export interface InputStreamOptions {
  /** -1: the system default input. */
  deviceId: number;
  sampleRate: number;
  channels: number;
  framesPerBuffer: number;
  /**
   * Buffers the native side may queue while our reader is late. Its default
   * (2) blocks PortAudio's callback after a 100 ms stall (shared/naudiodon.md,
   * point 3), so we make it generous.
   */
  maxQueue: number;
  /**
   * The PulseAudio source to record (PULSE_SOURCE, read by the ALSA pulse
   * plugin when the stream connects); undefined: the one the process
   * inherited. Set inside the PortAudio turn, so concurrent opens cannot mix
   * them up; the audio host shares the process environment (SHARE_ENV).
   */
  pulseSource?: string;
  /**
   * A property (`earshot.capture`) the stream carries on the PulseAudio
   * server (PULSE_PROP), so that we can find it there: the server moves even
   * a stream opened on a named source when that source stops being the
   * default, and we move it back.
   */
  pulseTag?: string;
}

const inheritedPulseSource = process.env.PULSE_SOURCE;
const inheritedPulseProp = process.env.PULSE_PROP;

/** Sets (or, with undefined, removes) an environment variable; returns a function that restores what was there. */
function setEnv(name: string, value: string | undefined): () => void {
  const before = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  return () => {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  };
}

/** The PulseAudio source this process was started with (PULSE_SOURCE): the default input records it, whatever the server's default. */
export function inheritedPulseSourceName(): string | undefined {
  return inheritedPulseSource;
}

/** One PortAudio input stream delivering 16-bit interleaved PCM. */
export class PortAudioInput {
  readonly bytesPerBuffer: number;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly io: NativeAudioIO,
    readonly options: InputStreamOptions,
  ) {
    this.bytesPerBuffer = options.framesPerBuffer * options.channels * 2;
  }

  /** Opens and starts a stream; rejects with PortAudio's words when the device refuses the format. */
  static open(options: InputStreamOptions): Promise<PortAudioInput> {
    return exclusive('open a stream', () => {
      // Read by the ALSA pulse plugin as the stream connects (during create and start), then
      // restored: the environment is shared by every thread, and the next open must not inherit ours.
      const restoreSource = setEnv('PULSE_SOURCE', options.pulseSource ?? inheritedPulseSource);
      const tag = options.pulseTag === undefined ? undefined : `earshot.capture=${options.pulseTag}`;
      const restoreProp = setEnv('PULSE_PROP', [inheritedPulseProp, tag].filter(Boolean).join(' ') || undefined);
      try {
        return PortAudioInput.create(options);
      } finally {
        restoreProp();
        restoreSource();
      }
    });
  }

  private static create(options: InputStreamOptions): PortAudioInput {
    const io = loadBinding().create({
      inOptions: {
        deviceId: options.deviceId,
        sampleRate: options.sampleRate,
        channelCount: options.channels,
        sampleFormat: 16,
        framesPerBuffer: options.framesPerBuffer,
        maxQueue: options.maxQueue,
        // With closeOnError the native side hands an overflow to our read
        // (in place of that read's buffer) instead of printing it; we count
        // it and go on reading. Nothing is closed.
        closeOnError: true,
      },
    });
    const input = new PortAudioInput(io, options);
    try {
      io.start();
    } catch (error) {
      void input.close();
      throw error;
    }
    return input;
  }

  /**
   * The next buffer. `overflow` is a status the native side reported instead
   * of a buffer: the audio of that buffer is lost. A read on a stream whose
   * device vanished never resolves until close().
   */
  async read(): Promise<{ samples?: Int16Array; finished: boolean; overflow?: string }> {
    const result = await this.io.read(this.bytesPerBuffer);
    if (result.err) return { finished: false, overflow: result.err.trim() };
    if (result.finished || !result.buf || result.buf.length === 0) return { finished: true };
    const buf = result.buf;
    const samples =
      buf.byteOffset % 2 === 0
        ? new Int16Array(buf.buffer, buf.byteOffset, buf.byteLength >> 1)
        : new Int16Array(new Uint8Array(buf).buffer);
    return { samples, finished: false };
  }

  /**
   * Stops and closes the stream (ABORT: a capture has nothing to drain); a
   * pending read resolves as finished. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= exclusive('close a stream', () => this.io.quit('ABORT'));
    return this.closing;
  }
}
