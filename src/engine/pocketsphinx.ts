/**
 * A streaming speech recognizer around a `pocketsphinx_continuous` child
 * process (Debian: pocketsphinx, pocketsphinx-en-us).
 *
 * Audio goes in as 16 kHz 16-bit mono PCM through a named pipe the process
 * reads with `-infile`: Node gives a child's stdin as a socket, which
 * `-infile /dev/stdin` cannot open (ENXIO), so we make a FIFO and hold it open
 * read-write (the open never blocks and the process never sees a premature
 * EOF). The process cuts the stream into utterances with its voice activity
 * detector (an utterance ends after about 0.5 s of silence) and prints each one
 * with word times in stream seconds; see pocketsphinx-output.ts.
 *
 * Hung-engine rule (the watchdog, also exposed through progress()): the
 * process shows progress when it reads input, prints output or exits. While
 * work is outstanding (audio written that it has not read, or end() waiting
 * for it to finish) and it shows no progress for stallTimeoutMs, it is hung:
 * it is killed and onError gets a PocketsphinxError with code 'stalled'.
 * How much it has read comes from `rchar` in /proc/<pid>/io (only the audio
 * pipe is read once the model is loaded); without /proc, from the bytes the
 * pipe accepted, which can be ahead of the process by the pipe's capacity.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { constants, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { pino, type Logger } from 'pino';
import { UtteranceParser, type Utterance } from './pocketsphinx-output.js';

export type { RecognizedWord, Utterance } from './pocketsphinx-output.js';

export const POCKETSPHINX_SAMPLE_RATE = 16000;
export const DEFAULT_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';
const INSTALL_HINT = 'install it with: apt-get install pocketsphinx pocketsphinx-en-us';
const BYTES_PER_MS = (POCKETSPHINX_SAMPLE_RATE * 2) / 1000;
/** Printed by pocketsphinx_continuous after the model is loaded, just before it opens its input. */
const READY_LINE = /COMPILED ON/;
const WATCH_INTERVAL_MS = 250;

export type PocketsphinxErrorCode =
  | 'binary_missing'
  | 'model_missing'
  | 'start_failed'
  | 'start_timeout'
  | 'not_running'
  | 'exited'
  | 'stalled'
  | 'closed';

/** Where the audio written so far stands, in ms of audio. */
export interface AudioAccount {
  /** Given to write(). */
  written_ms: number;
  /** Read by the process (as last observed). */
  read_ms: number;
  /** Written but never read by the process: lost if it died. */
  unread_ms: number;
  /** End of the last utterance delivered (0 before the first). */
  transcribed_until_ms: number;
}

export interface RecognizerProgress extends AudioAccount {
  /** Date.now() of the last read, output or start. */
  last_progress_at: number;
  /** Work is outstanding: audio waits to be read, or end() waits for the process. */
  busy: boolean;
}

export class PocketsphinxError extends Error {
  override readonly name = 'PocketsphinxError';
  constructor(
    message: string,
    readonly code: PocketsphinxErrorCode,
    /** The audio account when the process died or hung. */
    readonly audio?: AudioAccount,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface PocketsphinxOptions {
  /** Holds en-us/ (acoustic model), en-us.lm.bin and cmudict-en-us.dict. Default: Debian's. */
  modelDir?: string;
  /** Program to run. Default: pocketsphinx_continuous from PATH. */
  binary?: string;
  logger?: Logger;
  /** Bound on loading the model. Default 20 s. */
  startTimeoutMs?: number;
  /** No progress for this long with work outstanding means hung. Default 10 s. */
  stallTimeoutMs?: number;
}

type State = 'new' | 'starting' | 'running' | 'ending' | 'done' | 'failed' | 'closed';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

export class PocketsphinxRecognizer {
  private readonly modelDir: string;
  private readonly binary: string;
  private readonly logger: Logger;
  private readonly startTimeoutMs: number;
  private readonly stallTimeoutMs: number;

  private state: State = 'new';
  private child: ChildProcess | undefined;
  private input: net.Socket | undefined;
  private tempDir: string | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private startPromise: Promise<void> | undefined;
  private endPromise: Promise<void> | undefined;
  private settleEnd: ((error?: Error) => void) | undefined;
  private failure: PocketsphinxError | undefined;

  private writtenBytes = 0;
  private acceptedBytes = 0;
  /** rchar of the process when it was ready; undefined when /proc cannot tell. */
  private rcharBaseline: number | undefined;
  private readBytes = 0;
  private lastProgressAt = Date.now();
  private transcribedUntilMs = 0;
  private readonly recentDiagnostics: string[] = [];

  private readonly utteranceListeners: ((utterance: Utterance) => void)[] = [];
  private readonly errorListeners: ((error: PocketsphinxError) => void)[] = [];

  constructor(options: PocketsphinxOptions = {}) {
    this.modelDir = options.modelDir ?? DEFAULT_MODEL_DIR;
    this.binary = options.binary ?? 'pocketsphinx_continuous';
    this.logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'pocketsphinx' });
    this.startTimeoutMs = options.startTimeoutMs ?? 20_000;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 10_000;
  }

  /** Each utterance once its trailing silence (or the end of input) is seen, in order. */
  onUtterance(listener: (utterance: Utterance) => void): void {
    this.utteranceListeners.push(listener);
  }

  /** The process crashed, exited unexpectedly or hung; called at most once. */
  onError(listener: (error: PocketsphinxError) => void): void {
    this.errorListeners.push(listener);
  }

  /** The process id while it runs (for supervisors and tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Load the model; resolves when the process waits for audio. */
  start(): Promise<void> {
    this.startPromise ??= this.launch();
    return this.startPromise;
  }

  /** Queue 16 kHz mono samples; throws a PocketsphinxError when not running. */
  write(samples: Int16Array): void {
    if (this.state !== 'running' || this.input === undefined) {
      throw this.failure ?? new PocketsphinxError(`cannot write audio: the recognizer is ${this.describeState()}`, 'not_running');
    }
    if (samples.length === 0) return;
    // Copy: the caller may reuse its buffer before the pipe takes ours.
    const bytes = Buffer.from(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
    this.writtenBytes += bytes.length;
    this.observeReads();
    this.input.write(bytes, (error) => {
      if (!error) this.acceptedBytes += bytes.length;
    });
  }

  /** Close the input; resolves after every utterance was delivered and the process exited. */
  end(): Promise<void> {
    if (this.endPromise !== undefined) return this.endPromise;
    if (this.state !== 'running') {
      return Promise.reject(this.failure ?? new PocketsphinxError(`cannot end: the recognizer is ${this.describeState()}`, 'not_running'));
    }
    this.state = 'ending';
    this.lastProgressAt = Date.now();
    this.endPromise = new Promise<void>((resolve, reject) => {
      this.settleEnd = (error) => (error ? reject(error) : resolve());
    });
    this.input?.end();
    return this.endPromise;
  }

  /** Kill the process now; pending start() or end() reject with code 'closed'. */
  close(): void {
    if (this.state === 'closed') return;
    const wasActive = this.state !== 'done' && this.state !== 'failed';
    this.state = 'closed';
    this.stopWatchdog();
    this.child?.kill('SIGKILL');
    this.input?.destroy();
    this.removeTempDir();
    if (wasActive) this.finishEnd(new PocketsphinxError('the recognizer was closed', 'closed'));
  }

  progress(): RecognizerProgress {
    this.observeReads();
    const account = this.account();
    return {
      ...account,
      last_progress_at: this.lastProgressAt,
      busy: (this.state === 'running' && account.unread_ms > 0) || this.state === 'ending',
    };
  }

  private account(): AudioAccount {
    const read = Math.min(this.readBytes, this.writtenBytes);
    return {
      written_ms: this.writtenBytes / BYTES_PER_MS,
      read_ms: read / BYTES_PER_MS,
      unread_ms: (this.writtenBytes - read) / BYTES_PER_MS,
      transcribed_until_ms: this.transcribedUntilMs,
    };
  }

  private async launch(): Promise<void> {
    this.state = 'starting';
    try {
      await this.launchProcess();
    } catch (error) {
      if ((this.state as State) !== 'closed') this.state = 'failed';
      this.failure = error as PocketsphinxError;
      this.child?.kill('SIGKILL');
      this.input?.destroy();
      this.removeTempDir();
      throw error;
    }
  }

  private async launchProcess(): Promise<void> {
    this.checkModel();
    const fifo = this.makeFifo();
    // Read-write so this open cannot block and the reader sees EOF only when we close.
    const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    this.input = new net.Socket({ fd, readable: false, writable: true });
    this.input.on('error', (error) => this.fail('exited', `writing audio to ${this.binary} failed: ${error.message}`, error));

    const m = this.modelDir;
    const args = [
      '-infile', fifo,
      '-time', 'yes',
      '-hmm', path.join(m, 'en-us'),
      '-lm', path.join(m, 'en-us.lm.bin'),
      '-dict', path.join(m, 'cmudict-en-us.dict'),
      '-samprate', String(POCKETSPHINX_SAMPLE_RATE),
      '-input_endian', os.endianness() === 'LE' ? 'little' : 'big',
    ];
    this.logger.debug({ binary: this.binary, args }, 'starting pocketsphinx');
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;

    const parser = new UtteranceParser(
      (utterance) => this.deliver(utterance),
      () => this.noteProgress(),
      (line) => this.logger.debug({ line }, 'unexpected pocketsphinx output'),
    );
    const stdout = readline.createInterface({ input: child.stdout });
    stdout.on('line', (line) => parser.line(line));
    const stdoutClosed = new Promise<void>((resolve) => stdout.once('close', resolve));

    let markReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      this.logger.debug({ line }, 'pocketsphinx stderr');
      if (/^(ERROR|FATAL|WARN)/.test(line)) {
        this.recentDiagnostics.push(line);
        if (this.recentDiagnostics.length > 5) this.recentDiagnostics.shift();
      }
      if (READY_LINE.test(line)) markReady();
    });

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal })),
    );
    const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
    void this.superviseExit(exited, stdoutClosed, parser);

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.startTimeoutMs);
    });
    const opened = ready.then(() => this.inputOpened(child, fifo)).then(() => 'ready' as const);
    const outcome = await Promise.race([opened, exited, spawnFailed, timedOut]);
    clearTimeout(timer);

    if (outcome === 'ready' && this.state === 'starting') {
      this.rcharBaseline = this.readRchar();
      this.state = 'running';
      this.lastProgressAt = Date.now();
      this.startWatchdog();
      this.logger.debug({ pid: child.pid }, 'pocketsphinx ready');
      return;
    }
    throw this.startError(outcome);
  }

  private startError(outcome: unknown): PocketsphinxError {
    if (this.state === 'closed') return new PocketsphinxError('the recognizer was closed while starting', 'closed');
    if (outcome === 'timeout') {
      return new PocketsphinxError(`${this.binary} did not load the model in ${this.modelDir} within ${this.startTimeoutMs} ms`, 'start_timeout');
    }
    if (outcome instanceof Error) {
      const missing = (outcome as NodeJS.ErrnoException).code === 'ENOENT';
      return new PocketsphinxError(
        missing ? `${this.binary} not found on PATH; ${INSTALL_HINT}` : `cannot run ${this.binary}: ${outcome.message}`,
        missing ? 'binary_missing' : 'start_failed',
        undefined,
        { cause: outcome },
      );
    }
    const { code, signal } = outcome as { code: number | null; signal: NodeJS.Signals | null };
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    const why = this.recentDiagnostics.length > 0 ? `: ${this.recentDiagnostics.join(' | ')}` : '';
    return new PocketsphinxError(`${this.binary} failed to start with model ${this.modelDir} (${how})${why}`, 'start_failed');
  }

  /**
   * Resolves once the process holds the pipe open. Until then closing our end
   * would lose what we wrote (a FIFO's buffer goes when its last holder closes)
   * and leave the process blocked in open(); the ready line comes just before
   * that open(). Without /proc, resolves at once.
   */
  private async inputOpened(child: ChildProcess, fifo: string): Promise<void> {
    const fdDir = `/proc/${child.pid}/fd`;
    for (;;) {
      // Gone before opening it: never ready; the exit decides what start() says.
      if (child.exitCode !== null || child.signalCode !== null) return new Promise<void>(() => {});
      let links: string[];
      try {
        links = readdirSync(fdDir).map((fd) => {
          try {
            return readlinkSync(path.join(fdDir, fd));
          } catch {
            return '';
          }
        });
      } catch {
        return;
      }
      if (links.includes(fifo)) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private checkModel(): void {
    const m = this.modelDir;
    const required = [m, path.join(m, 'en-us', 'mdef'), path.join(m, 'en-us.lm.bin'), path.join(m, 'cmudict-en-us.dict')];
    const missing = required.find((p) => !existsSync(p));
    if (missing !== undefined) {
      throw new PocketsphinxError(
        `pocketsphinx model not found: ${missing} does not exist; ${INSTALL_HINT}, ` +
          'or set modelDir to a directory holding en-us/, en-us.lm.bin and cmudict-en-us.dict',
        'model_missing',
      );
    }
  }

  private makeFifo(): string {
    // Real path: it is compared with what /proc/<pid>/fd links to.
    this.tempDir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'earshot-pocketsphinx-')));
    // Not .wav: the program would skip a 44-byte header.
    const fifo = path.join(this.tempDir, 'audio.pcm');
    const made = spawnSync('mkfifo', ['-m', '600', fifo], { encoding: 'utf8' });
    if (made.status !== 0) {
      this.removeTempDir();
      throw new PocketsphinxError(`cannot create the audio pipe ${fifo}: ${made.error?.message ?? made.stderr.trim()}`, 'start_failed');
    }
    return fifo;
  }

  /** Runs for the life of the process: decides what its exit means. */
  private async superviseExit(
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
    stdoutClosed: Promise<void>,
    parser: UtteranceParser,
  ): Promise<void> {
    const { code, signal } = await exited;
    await stdoutClosed;
    this.stopWatchdog();
    this.input?.destroy();
    this.removeTempDir();
    if (this.state === 'ending' && code === 0) {
      this.readBytes = this.writtenBytes; // it read to the end of its input
      parser.end();
      this.state = 'done';
      this.finishEnd();
      return;
    }
    if (this.state === 'running' || this.state === 'ending') {
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      const why = this.recentDiagnostics.length > 0 ? ` (${this.recentDiagnostics.join(' | ')})` : '';
      this.fail('exited', `${this.binary} exited unexpectedly with ${how}${why}`);
    }
  }

  private deliver(utterance: Utterance): void {
    this.noteProgress();
    this.transcribedUntilMs = Math.max(this.transcribedUntilMs, utterance.end_ms);
    if (this.state === 'closed' || this.state === 'failed') return;
    for (const listener of this.utteranceListeners) listener(utterance);
  }

  private fail(code: PocketsphinxErrorCode, what: string, cause?: Error): void {
    if (this.state === 'failed' || this.state === 'closed' || this.state === 'done') return;
    this.state = 'failed';
    this.stopWatchdog();
    const audio = this.account();
    const error = new PocketsphinxError(
      `${what}; ${seconds(audio.unread_ms)} of the ${seconds(audio.written_ms)} of audio written was never read by it ` +
        `(the last utterance ended at ${seconds(audio.transcribed_until_ms)})`,
      code,
      audio,
      cause ? { cause } : undefined,
    );
    this.failure = error;
    this.child?.kill('SIGKILL');
    this.input?.destroy();
    this.logger.debug({ err: error }, 'pocketsphinx failed');
    for (const listener of this.errorListeners) listener(error);
    this.finishEnd(error);
  }

  private finishEnd(error?: Error): void {
    const settle = this.settleEnd;
    this.settleEnd = undefined;
    settle?.(error);
  }

  private startWatchdog(): void {
    this.watchdog = setInterval(() => this.checkStall(), WATCH_INTERVAL_MS);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private checkStall(): void {
    const { busy, last_progress_at: last, unread_ms: unread } = this.progress();
    if (!busy || Date.now() - last < this.stallTimeoutMs) return;
    const waiting = unread > 0 ? `with ${seconds(unread)} of audio waiting` : 'after its input was closed';
    this.fail('stalled', `${this.binary} made no progress for ${this.stallTimeoutMs} ms ${waiting}; killed it`);
  }

  /** Update readBytes from /proc (or the pipe); a change is progress. */
  private observeReads(): void {
    let read = this.acceptedBytes;
    if (this.rcharBaseline !== undefined) {
      const rchar = this.readRchar();
      if (rchar === undefined) return; // the process is gone: keep the last figure
      read = rchar - this.rcharBaseline;
    }
    if (read > this.readBytes) {
      this.readBytes = read;
      this.noteProgress();
    }
  }

  private readRchar(): number | undefined {
    const pid = this.child?.pid;
    if (pid === undefined) return undefined;
    try {
      const match = /^rchar:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
      return match?.[1] === undefined ? undefined : Number(match[1]);
    } catch {
      return undefined;
    }
  }

  private noteProgress(): void {
    this.lastProgressAt = Date.now();
  }

  private removeTempDir(): void {
    if (this.tempDir === undefined) return;
    rmSync(this.tempDir, { recursive: true, force: true });
    this.tempDir = undefined;
  }

  private describeState(): string {
    switch (this.state) {
      case 'new':
      case 'starting':
        return 'not started (await start() first)';
      case 'ending':
      case 'done':
        return 'ending (end() was called)';
      default:
        return this.state;
    }
  }
}
