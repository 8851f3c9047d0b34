/**
 * Tone-coded test audio for the `script` engine: each scripted turn is a tone
 * of its tone_hz, as long as the engine expects the turn's words to take
 * (ms_per_word each), after a lead-in and separated by silences longer than
 * the end-of-turn silence. Play it to `earshot serve --engine script` and every
 * turn comes back with its scripted text, in any session, in any order.
 */
import { DEFAULT_SCRIPT_SETTINGS, type ScriptTurn } from '../../src/serve/engines/script-file.js';
import { scriptWords } from '../../src/serve/engines/script-file.js';

export interface ToneAudioOptions {
  sampleRate?: number;
  /** Silence before the first turn (default 300 ms). */
  leadInMs?: number;
  /** Silence after each turn (default 1000 ms: above the default 700 ms end-of-turn silence). */
  gapMs?: number;
  /** Peak amplitude, 0..1 of full scale (default 0.3, about -13.5 dBFS RMS). */
  amplitude?: number;
  /** Speaking time per word (default: the engine's default ms_per_word). */
  msPerWord?: number;
  /** Shortest tone (default 400 ms). */
  minTurnMs?: number;
  /** Which script turns to play, in order (default: all, in script order). */
  order?: readonly number[];
}

export interface ToneAudioTurn {
  /** Index of the turn in the script. */
  index: number;
  text: string;
  tone_hz: number;
  start_ms: number;
  end_ms: number;
}

export interface ToneAudio {
  samples: Int16Array;
  sampleRate: number;
  durationMs: number;
  turns: ToneAudioTurn[];
}

const FADE_MS = 5;

export function buildToneAudio(script: { turns: readonly ScriptTurn[] }, options: ToneAudioOptions = {}): ToneAudio {
  const sampleRate = options.sampleRate ?? 16000;
  const leadInMs = options.leadInMs ?? 300;
  const gapMs = options.gapMs ?? 1000;
  const amplitude = (options.amplitude ?? 0.3) * 32767;
  const msPerWord = options.msPerWord ?? DEFAULT_SCRIPT_SETTINGS.ms_per_word;
  const minTurnMs = options.minTurnMs ?? 400;
  const order = options.order ?? script.turns.map((_, i) => i);
  const toSamples = (ms: number): number => Math.round((ms * sampleRate) / 1000);

  const plan = order.map((index) => {
    const turn = script.turns[index];
    if (turn === undefined) throw new RangeError(`tone audio: the script has no turn ${index}`);
    if (turn.tone_hz === undefined) throw new Error(`tone audio: turns[${index}] has no tone_hz`);
    return { index, turn, tone: turn.tone_hz, ms: Math.max(minTurnMs, scriptWords(turn.text).length * msPerWord) };
  });
  const totalMs = leadInMs + plan.reduce((sum, item) => sum + item.ms + gapMs, 0);
  const samples = new Int16Array(toSamples(totalMs));
  const fade = toSamples(FADE_MS);
  const turns: ToneAudioTurn[] = [];
  let cursorMs = leadInMs;
  for (const item of plan) {
    const start = toSamples(cursorMs);
    const length = toSamples(item.ms);
    for (let i = 0; i < length; i++) {
      const envelope = Math.min(1, i / fade, (length - 1 - i) / fade);
      samples[start + i] = Math.round(amplitude * envelope * Math.sin((2 * Math.PI * item.tone * i) / sampleRate));
    }
    turns.push({ index: item.index, text: item.turn.text, tone_hz: item.tone, start_ms: cursorMs, end_ms: cursorMs + item.ms });
    cursorMs += item.ms + gapMs;
  }
  return { samples, sampleRate, durationMs: totalMs, turns };
}
