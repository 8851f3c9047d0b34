/**
 * The `script` engine: replies from a script, driven by what it hears, so the
 * same audio yields the same turns in any session (a client that replays
 * audio after a reconnect gets each scripted final once more for that audio,
 * and never for audio it did not send).
 *
 * An energy VAD over 10 ms blocks finds utterances. A turn starts at speech
 * onset; every partial_interval_ms of audio a partial reveals the turn's words
 * at ms_per_word (the last one possibly cut, like a recognizer mid-word); the
 * final comes after end_of_turn_silence_ms of silence, on ForceEndpoint, or on
 * finish(). Which turn: with tones, the utterance's dominant tone; without,
 * the k-th utterance of the session is turn k.
 *
 * A final forced (ForceEndpoint, finish) while the voice is still on carries
 * only the words heard so far; forced in a pause, all of them. After
 * ForceEndpoint the rest of that utterance is not a new turn.
 *
 * Speakers: each update carries its turn's `speaker`; a final whose turn has
 * `revise` entries carries revisions of the earlier turns named there, by
 * the turn_order they had in this session (the engine's n-th final is turn_order n),
 * when they were heard in this session (the latest time, if more than once).
 */
import { pino, type Logger } from 'pino';
import type { EngineFactory, EngineSpeakerRevision, EngineTurnUpdate, EngineWord, RecognitionEngine } from '../engine.js';
import { scriptWords, type Script, type ScriptTurn } from './script-file.js';
import { ToneDetector } from './tone-detector.js';

export { loadScript, parseScript, ScriptError, DEFAULT_SCRIPT_SETTINGS } from './script-file.js';
export type { Script, ScriptRevision, ScriptSettings, ScriptTurn } from './script-file.js';

export const DEFAULT_TURN_CONFIDENCE = 0.9;
const BLOCK_MS = 10;
/** Tone decisions look at the first quarter second of voice. */
const TONE_WINDOW_MS = 250;

export interface ScriptEngineOptions {
  /** Used when the session gives no logger of its own. */
  logger?: Logger;
}

export function createScriptEngine(script: Script, options: ScriptEngineOptions = {}): EngineFactory {
  return (factoryOptions) =>
    new ScriptEngine(script, factoryOptions.sampleRate, factoryOptions.logger ?? options.logger ?? pino({ level: 'silent' }));
}

interface PreparedTurn {
  /** Index in the script. */
  index: number;
  turn: ScriptTurn;
  words: string[];
  /** The script's tokens, one per word, punctuation and case kept. */
  formattedTokens: string[];
}

interface Utterance {
  startSample: number;
  lastVoicedEnd: number;
  voicedSamples: number;
  lastBlockVoiced: boolean;
  nextPartialSample: number;
  lastPartial: string;
  /** undefined: not decided yet; null: no turn. */
  turn: PreparedTurn | null | undefined;
  detector: ToneDetector | undefined;
}

type VadState = 'idle' | 'onset' | 'speech' | 'swallow';

function prepare(turn: ScriptTurn, index: number): PreparedTurn {
  return {
    index,
    turn,
    words: scriptWords(turn.text),
    formattedTokens: turn.text.split(/\s+/).filter((token) => scriptWords(token).length > 0),
  };
}

class ScriptEngine implements RecognitionEngine {
  private readonly turns: PreparedTurn[];
  private readonly toned: boolean;
  private readonly blockSize: number;
  private readonly threshold: number;
  private readonly eotSamples: number;
  private readonly partialSamples: number;
  private readonly minSpeechSamples: number;
  private pending = new Int16Array(0);
  private position = 0;
  private state: VadState = 'idle';
  private utterance: Utterance | undefined;
  private swallowVoicedEnd = 0;
  private utterances = 0;
  /** The script index of each final emitted in this session: position n is turn_order n. */
  private readonly finals: number[] = [];
  private closed = false;
  private readonly turnListeners: ((update: EngineTurnUpdate) => void)[] = [];
  private readonly errorListeners: ((error: Error) => void)[] = [];

  constructor(
    private readonly script: Script,
    private readonly sampleRate: number,
    private readonly logger: Logger,
  ) {
    const settings = script.settings;
    this.turns = script.turns.map(prepare);
    this.toned = script.turns.every((turn) => turn.tone_hz !== undefined);
    this.blockSize = Math.max(1, Math.round((sampleRate * BLOCK_MS) / 1000));
    this.threshold = 32768 * 10 ** (settings.energy_threshold_dbfs / 20);
    this.eotSamples = this.samples(settings.end_of_turn_silence_ms);
    this.partialSamples = this.samples(settings.partial_interval_ms);
    this.minSpeechSamples = this.samples(settings.min_speech_ms);
    const unreachable = script.turns.filter((turn) => (turn.tone_hz ?? 0) >= sampleRate / 2);
    if (unreachable.length > 0) {
      logger.warn(
        { tones: unreachable.map((turn) => turn.tone_hz), sampleRate },
        'script tones at or above half the sample rate can never match',
      );
    }
  }

  onTurn(listener: (update: EngineTurnUpdate) => void): void {
    this.turnListeners.push(listener);
  }

  onError(listener: (error: Error) => void): void {
    this.errorListeners.push(listener);
  }

  pushAudio(samples: Int16Array): void {
    if (this.closed) return;
    let data = samples;
    if (this.pending.length > 0) {
      data = new Int16Array(this.pending.length + samples.length);
      data.set(this.pending);
      data.set(samples, this.pending.length);
    }
    let offset = 0;
    for (; offset + this.blockSize <= data.length; offset += this.blockSize) {
      this.processBlock(data.subarray(offset, offset + this.blockSize));
    }
    this.pending = data.slice(offset);
  }

  forceEndpoint(): void {
    if (this.closed || this.state !== 'speech') return;
    this.endUtterance('force');
  }

  finish(): Promise<void> {
    if (!this.closed) {
      if (this.pending.length > 0) this.processBlock(this.pending);
      this.pending = new Int16Array(0);
      if (this.state === 'speech') this.endUtterance('finish');
      this.state = 'idle';
      this.utterance = undefined;
    }
    return Promise.resolve();
  }

  close(): void {
    this.closed = true;
    this.utterance = undefined;
  }

  private samples(ms: number): number {
    return Math.round((ms * this.sampleRate) / 1000);
  }

  private ms(samples: number): number {
    return (samples / this.sampleRate) * 1000;
  }

  private processBlock(block: Int16Array): void {
    let sum = 0;
    for (const sample of block) sum += sample * sample;
    const voiced = Math.sqrt(sum / block.length) >= this.threshold;
    const start = this.position;
    const end = start + block.length;
    this.position = end;

    switch (this.state) {
      case 'idle':
        if (voiced) {
          this.utterance = this.newUtterance(start);
          this.state = 'onset';
          this.hearVoice(block, end);
        }
        break;
      case 'onset':
        if (voiced) this.hearVoice(block, end);
        else {
          this.utterance = undefined;
          this.state = 'idle';
        }
        break;
      case 'speech': {
        const utterance = this.utterance;
        if (utterance === undefined) break;
        if (voiced) this.hearVoice(block, end);
        utterance.lastBlockVoiced = voiced;
        if (end - utterance.lastVoicedEnd >= this.eotSamples) {
          this.endUtterance('silence');
        } else if (end >= utterance.nextPartialSample) {
          while (utterance.nextPartialSample <= end) utterance.nextPartialSample += this.partialSamples;
          this.emitPartial(utterance, end);
        }
        break;
      }
      case 'swallow':
        if (voiced) this.swallowVoicedEnd = end;
        else if (end - this.swallowVoicedEnd >= this.eotSamples) this.state = 'idle';
        break;
    }
  }

  private newUtterance(startSample: number): Utterance {
    const tones = this.script.turns.map((turn) => turn.tone_hz ?? 0);
    return {
      startSample,
      lastVoicedEnd: startSample,
      voicedSamples: 0,
      lastBlockVoiced: true,
      nextPartialSample: startSample + this.partialSamples,
      lastPartial: '',
      turn: undefined,
      detector: this.toned ? new ToneDetector(tones, this.sampleRate, this.samples(TONE_WINDOW_MS)) : undefined,
    };
  }

  private hearVoice(block: Int16Array, end: number): void {
    const utterance = this.utterance;
    if (utterance === undefined) return;
    utterance.lastVoicedEnd = end;
    utterance.voicedSamples += block.length;
    utterance.detector?.push(block);
    if (this.state === 'onset' && utterance.voicedSamples >= this.minSpeechSamples) {
      this.state = 'speech';
      const ordinal = this.utterances++;
      if (!this.toned) {
        utterance.turn = this.turns[ordinal] ?? null;
        if (utterance.turn === null) {
          this.logger.warn({ utterance: ordinal, at_ms: Math.round(this.ms(utterance.startSample)) }, 'utterance past the end of the script: no turn');
        }
      }
    }
  }

  /** The turn an utterance is, decided once; `final` means no more audio will help. */
  private resolveTurn(utterance: Utterance, final: boolean): PreparedTurn | null | undefined {
    if (utterance.turn !== undefined || utterance.detector === undefined) return utterance.turn;
    const best = utterance.detector.best();
    if (best !== undefined && best.ratio >= this.script.settings.tone_match_ratio) {
      utterance.turn = this.turns[best.index] ?? null;
    } else if (final) {
      utterance.turn = null;
      this.logger.warn(
        {
          start_ms: Math.round(this.ms(utterance.startSample)),
          end_ms: Math.round(this.ms(utterance.lastVoicedEnd)),
          strongest_tone_hz: best?.hz,
          energy_share: best === undefined ? 0 : Math.round(best.ratio * 1000) / 1000,
          needed: this.script.settings.tone_match_ratio,
        },
        'no script turn matches this utterance: no turn',
      );
    }
    return utterance.turn;
  }

  /** Words revealed so far, fractional: at ms_per_word over the voice heard. */
  private revealed(utterance: Utterance, turn: PreparedTurn): number {
    const heardMs = this.ms(utterance.lastVoicedEnd - utterance.startSample);
    const expectedMs = turn.words.length * this.script.settings.ms_per_word;
    return turn.words.length * Math.min(1, heardMs / expectedMs);
  }

  private emitPartial(utterance: Utterance, now: number): void {
    const turn = this.resolveTurn(utterance, false);
    if (!turn) return;
    const revealed = this.revealed(utterance, turn);
    const whole = Math.floor(revealed);
    const texts = turn.words.slice(0, whole);
    const next = turn.words[whole];
    if (next !== undefined) {
      const letters = Math.ceil((revealed - whole) * next.length);
      if (letters > 0) texts.push(next.slice(0, letters));
    }
    const transcript = texts.join(' ');
    if (texts.length === 0 || transcript === utterance.lastPartial) return;
    utterance.lastPartial = transcript;
    this.emit({
      words: this.spread(texts, utterance, turn),
      end_of_turn: false,
      end_of_turn_confidence: 0.5 * Math.min(1, (now - utterance.lastVoicedEnd) / this.eotSamples),
      ...(turn.turn.speaker !== undefined ? { speaker: turn.turn.speaker } : {}),
    });
  }

  private endUtterance(cause: 'silence' | 'force' | 'finish'): void {
    const utterance = this.utterance;
    this.utterance = undefined;
    this.state = cause === 'force' ? 'swallow' : 'idle';
    if (utterance === undefined) return;
    this.swallowVoicedEnd = utterance.lastVoicedEnd;
    const turn = this.resolveTurn(utterance, true);
    if (!turn) return;
    const complete = cause === 'silence' || !utterance.lastBlockVoiced;
    const count = complete ? turn.words.length : Math.max(1, Math.floor(this.revealed(utterance, turn)));
    const silence = this.position - utterance.lastVoicedEnd;
    const revisions = this.revisionsBy(turn);
    this.finals.push(turn.index);
    this.emit({
      words: this.spread(turn.words.slice(0, count), utterance, turn),
      end_of_turn: true,
      end_of_turn_confidence: cause === 'silence' ? 1 : 0.5 + 0.5 * Math.min(1, silence / this.eotSamples),
      formatted_text: complete ? turn.turn.text : turn.formattedTokens.slice(0, count).join(' '),
      ...(turn.turn.speaker !== undefined ? { speaker: turn.turn.speaker } : {}),
      ...(revisions.length > 0 ? { revisions } : {}),
    });
  }

  /** The turn's `revise` entries for turns heard in this session, by the turn_order they had. */
  private revisionsBy(turn: PreparedTurn): EngineSpeakerRevision[] {
    return (turn.turn.revise ?? []).flatMap((revision) => {
      const turnOrder = this.finals.lastIndexOf(revision.turn);
      if (turnOrder >= 0) return [{ turn_order: turnOrder, speaker: revision.speaker }];
      this.logger.debug({ turn: turn.index, revises: revision.turn }, 'script revision of a turn not heard in this session: not sent');
      return [];
    });
  }

  /** Word times spread evenly over the utterance's voice so far. */
  private spread(texts: string[], utterance: Utterance, turn: PreparedTurn): EngineWord[] {
    const startMs = this.ms(utterance.startSample);
    const slot = (this.ms(utterance.lastVoicedEnd) - startMs) / texts.length;
    const gap = Math.min(slot * 0.1, 40);
    const confidence = turn.turn.confidence ?? DEFAULT_TURN_CONFIDENCE;
    return texts.map((text, i) => ({
      text,
      start_ms: Math.round(startMs + i * slot),
      end_ms: Math.round(startMs + (i + 1) * slot - gap),
      confidence,
    }));
  }

  private emit(update: EngineTurnUpdate): void {
    for (const listener of this.turnListeners) {
      try {
        listener(update);
      } catch (error) {
        for (const onError of this.errorListeners) onError(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
}
