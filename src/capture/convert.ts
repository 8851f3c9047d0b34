/**
 * Turns what a device or file delivers (any rate, any channel count) into
 * what the pipeline sends: mono 16-bit at the pipeline's rate. Channels are
 * averaged first (one channel to resample instead of several), then the
 * band-limited resampler brings the rate to the pipeline's.
 */
import { Resampler } from './resampler.js';

export interface AudioFormat {
  sampleRate: number;
  channels: number;
}

export interface FormatConverter {
  /** Interleaved input samples in, mono output samples at the target rate out. */
  convert(interleaved: Int16Array): Int16Array;
  /** End of the stream: the output still held back by the resampler. */
  flush(): Int16Array;
  /** How far the newest output sample lags the newest input sample, in ms. */
  readonly delayMs: number;
  /** For logs: `downmix 2 ch to mono, resample 48000 -> 16000 Hz (windowed sinc, cut-off 7467 Hz)`, or `none`. */
  readonly description: string;
}

export function createConverter(from: AudioFormat, toSampleRate: number): FormatConverter {
  const { channels, sampleRate } = from;
  if (!(Number.isInteger(channels) && channels >= 1)) throw new RangeError(`cannot convert audio with ${channels} channels`);
  const resampler = sampleRate === toSampleRate ? undefined : new Resampler({ inputRate: sampleRate, outputRate: toSampleRate });
  const steps: string[] = [];
  if (channels > 1) steps.push(`downmix ${channels} ch to mono`);
  if (resampler) steps.push(`resample ${sampleRate} -> ${toSampleRate} Hz (windowed sinc, cut-off ${Math.round(resampler.cutoffHz)} Hz)`);
  const description = steps.length ? steps.join(', ') : 'none';

  if (!resampler) {
    return {
      description,
      delayMs: 0,
      convert: channels === 1 ? (samples) => samples : (interleaved) => downmixToInt16(interleaved, channels),
      flush: () => new Int16Array(0),
    };
  }
  return {
    description,
    delayMs: resampler.latencySeconds * 1000,
    convert: (interleaved) => toInt16(resampler.process(downmixToFloat(interleaved, channels))),
    flush: () => toInt16(resampler.flush()),
  };
}

function downmixToInt16(interleaved: Int16Array, channels: number): Int16Array {
  const frames = Math.floor(interleaved.length / channels);
  const out = new Int16Array(frames);
  for (let i = 0, at = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += interleaved[at++] as number;
    out[i] = Math.round(sum / channels);
  }
  return out;
}

function downmixToFloat(interleaved: Int16Array, channels: number): Float32Array {
  const frames = Math.floor(interleaved.length / channels);
  const out = new Float32Array(frames);
  const scale = 1 / (32768 * channels);
  for (let i = 0, at = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += interleaved[at++] as number;
    out[i] = sum * scale;
  }
  return out;
}

function toInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round((samples[i] as number) * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}
