/**
 * `earshot serve --engine local`: the RecognitionEngine contract on top of
 * the offline pocketsphinx recognizer.
 *
 * - One utterance (speech up to about 0.5 s of silence) is one turn, reported
 *   once as a final update (end_of_turn true, end_of_turn_confidence 1) with
 *   its words. No partial updates: pocketsphinx_continuous prints an
 *   utterance only when it ends (its -debug levels print nothing per frame
 *   either); partials would need the library's ps_get_hyp mid-utterance,
 *   i.e. a native binding.
 * - formatted_text: the words with the first letter upper-cased and a final
 *   period; the recognizer knows no punctuation or casing beyond that.
 * - forceEndpoint(): feeds FORCED_ENDPOINT_SILENCE_MS of silence after the
 *   audio so far, so the recognizer's own endpointer closes the utterance as
 *   if the speaker had paused; the silence is cut back out of every later
 *   timestamp, so times stay in session audio. With no speech in progress it
 *   produces no turn.
 * - Sample rates other than 16000 are resampled in process (capture's band-limited converter).
 */
import { pino, type Logger } from 'pino';
import {
  POCKETSPHINX_SAMPLE_RATE,
  PocketsphinxRecognizer,
  type PocketsphinxOptions,
  type Utterance,
} from '../../engine/pocketsphinx.js';
import { createConverter, type FormatConverter } from '../../capture/convert.js';
import type { EngineFactory, EngineTurnUpdate, EngineWord, RecognitionEngine } from '../engine.js';

/** Enough for the endpointer: 0.5 s of silence plus one 128 ms read block, with margin. */
export const FORCED_ENDPOINT_SILENCE_MS = 800;

export interface LocalEngineOptions {
  modelDir?: string;
  logger?: Logger;
  /** Passed to the recognizer (program path, start and stall bounds). */
  recognizer?: Omit<PocketsphinxOptions, 'modelDir' | 'logger'>;
}

export function createLocalEngine(options: LocalEngineOptions = {}): EngineFactory {
  return ({ sampleRate }) => new LocalEngine(options, sampleRate);
}

/** First letter upper-cased, a final period: the only formatting we can do honestly. */
export function formatTurnText(words: readonly string[]): string {
  const text = words.join(' ');
  if (text === '') return '';
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

/** Silence the engine inserted into the recognizer's stream, in recognizer ms. */
interface InsertedSilence {
  at_ms: number;
  duration_ms: number;
}

class LocalEngine implements RecognitionEngine {
  private readonly logger: Logger;
  private readonly recognizer: PocketsphinxRecognizer;
  private readonly resampler: FormatConverter | undefined;
  private readonly started: Promise<void>;
  private running = false;
  private finishing: Promise<void> | undefined;
  private closed = false;
  private error: Error | undefined;
  /** 16 kHz audio that arrived while the model was loading. */
  private readonly waiting: Int16Array[] = [];
  /** Samples given to the recognizer's timeline at the session rate (audio plus inserted silence). */
  private timelineSamples = 0;
  private readonly inserted: InsertedSilence[] = [];
  private readonly turnListeners: ((update: EngineTurnUpdate) => void)[] = [];
  private readonly errorListeners: ((error: Error) => void)[] = [];

  constructor(
    options: LocalEngineOptions,
    private readonly sampleRate: number,
  ) {
    if (!Number.isInteger(sampleRate) || sampleRate <= 0) {
      throw new RangeError(`local engine: sample_rate must be a positive integer, got ${sampleRate}`);
    }
    this.logger = (options.logger ?? pino({ level: 'silent' })).child({ engine: 'local' });
    if (sampleRate !== POCKETSPHINX_SAMPLE_RATE) {
      this.resampler = createConverter({ sampleRate, channels: 1 }, POCKETSPHINX_SAMPLE_RATE);
    }
    this.recognizer = new PocketsphinxRecognizer({
      ...options.recognizer,
      modelDir: options.modelDir,
      logger: this.logger,
    });
    this.recognizer.onUtterance((utterance) => this.emitTurn(utterance));
    this.recognizer.onError((error) => this.fail(error));
    this.started = this.recognizer.start().then(() => {
      this.running = true;
      for (const chunk of this.waiting.splice(0)) this.feed(chunk);
    });
    this.started.catch((error: unknown) => this.fail(error as Error));
  }

  pushAudio(samples: Int16Array): void {
    this.timelineSamples += samples.length;
    this.feed(this.resampler ? this.resampler.convert(samples) : samples);
  }

  forceEndpoint(): void {
    const silence = new Int16Array(Math.round((FORCED_ENDPOINT_SILENCE_MS * this.sampleRate) / 1000));
    this.inserted.push({ at_ms: this.toMs(this.timelineSamples), duration_ms: this.toMs(silence.length) });
    this.pushAudio(silence);
  }

  finish(): Promise<void> {
    this.finishing ??= (async () => {
      await this.started;
      if (this.resampler) this.feed(this.resampler.flush());
      await this.recognizer.end();
    })();
    return this.finishing;
  }

  close(): void {
    this.closed = true;
    this.recognizer.close();
  }

  onTurn(listener: (update: EngineTurnUpdate) => void): void {
    this.turnListeners.push(listener);
  }

  onError(listener: (error: Error) => void): void {
    this.errorListeners.push(listener);
    const error = this.error;
    if (error !== undefined) queueMicrotask(() => listener(error));
  }

  private feed(samples: Int16Array): void {
    if (this.error !== undefined || this.closed || samples.length === 0) return; // the error was reported
    if (!this.running) {
      this.waiting.push(samples.slice());
      return;
    }
    try {
      this.recognizer.write(samples);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private emitTurn(utterance: Utterance): void {
    const words: EngineWord[] = utterance.words.map((word) => ({
      text: word.text,
      start_ms: this.toSessionMs(word.start_ms),
      end_ms: this.toSessionMs(word.end_ms),
      confidence: word.confidence,
    }));
    const update: EngineTurnUpdate = {
      words,
      end_of_turn: true,
      end_of_turn_confidence: 1,
      formatted_text: formatTurnText(words.map((w) => w.text)),
    };
    for (const listener of this.turnListeners) listener(update);
  }

  /** Recognizer time to session time: remove the silence inserted before it. */
  private toSessionMs(recognizerMs: number): number {
    let removed = 0;
    for (const { at_ms, duration_ms } of this.inserted) {
      if (recognizerMs >= at_ms + duration_ms) removed += duration_ms;
      else if (recognizerMs > at_ms) return Math.round(at_ms - removed); // inside it: where it was inserted
      else break;
    }
    return Math.round(recognizerMs - removed);
  }

  private toMs(samples: number): number {
    return (samples * 1000) / this.sampleRate;
  }

  private fail(error: Error): void {
    if (this.error !== undefined || this.closed) return;
    this.error = error;
    this.logger.warn({ err: error }, 'local engine failed');
    for (const listener of this.errorListeners) listener(error);
  }
}
