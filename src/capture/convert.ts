/**
 * Turns what a device or file delivers (any rate, any channel count) into
 * what the pipeline sends: mono 16-bit at the pipeline's rate.
 */
export class UnsupportedConversionError extends Error {
  override readonly name = 'UnsupportedConversionError';
}

export interface FormatConverter {
  /** Interleaved input samples in, mono output samples at the target rate out. */
  convert(interleaved: Int16Array): Int16Array;
  readonly description: string;
}

export function createConverter(from: { sampleRate: number; channels: number }, toSampleRate: number): FormatConverter {
  if (from.sampleRate !== toSampleRate) {
    throw new UnsupportedConversionError(
      `audio at ${from.sampleRate} Hz cannot yet be resampled to ${toSampleRate} Hz; ` +
        `convert it first (sox in.wav -r ${toSampleRate} -c 1 -b 16 out.wav) or set sample_rate: ${from.sampleRate}`,
    );
  }
  if (from.channels === 1) return { convert: (samples) => samples, description: 'none' };
  const channels = from.channels;
  return {
    description: `downmix ${channels} channels to mono`,
    convert(interleaved) {
      const frames = Math.floor(interleaved.length / channels);
      const out = new Int16Array(frames);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += interleaved[i * channels + c] as number;
        out[i] = Math.round(sum / channels);
      }
      return out;
    },
  };
}
