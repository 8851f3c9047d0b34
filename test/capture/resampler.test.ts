import { expect } from 'chai';
import { createConverter } from '../../src/capture/convert.js';
import { Resampler } from '../../src/capture/resampler.js';
import { peakFrequency, rms, sine } from '../support/signal.js';

/** Runs a whole signal through a resampler in chunks of `chunk` input samples, then flushes it. */
function resampleAll(resampler: Resampler, input: Float32Array, chunk: number): Float32Array {
  const parts: Float32Array[] = [];
  for (let i = 0; i < input.length; i += chunk) parts.push(resampler.process(input.subarray(i, i + chunk)));
  parts.push(resampler.flush());
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** SNR in dB of `actual` against the ideal tone at the output rate (edges skipped). */
function snrAgainstTone(actual: Float32Array, rate: number, hz: number, amplitude: number, skip: number): number {
  let signal = 0;
  let error = 0;
  for (let m = skip; m < actual.length - skip; m++) {
    const ideal = amplitude * Math.sin((2 * Math.PI * hz * m) / rate);
    signal += ideal * ideal;
    error += ((actual[m] as number) - ideal) ** 2;
  }
  return 10 * Math.log10(signal / error);
}

describe('resampler', () => {
  for (const inputRate of [48000, 44100, 22050, 96000, 8000]) {
    it(`${inputRate} Hz -> 16 kHz keeps a 1 kHz tone exact, in place, and the length right`, () => {
      const resampler = new Resampler({ inputRate, outputRate: 16000 });
      const out = resampleAll(resampler, sine(inputRate, 1000, 1, 0.5), Math.round(inputRate / 20));
      expect(out.length, 'one output sample per 1/16000 s of input').to.equal(16000);
      // Output sample m is the input at m / 16000 s: compared with the ideal tone, no delay allowed.
      // Measured: 141 to 153 dB (float arithmetic); 100 dB is far below anything audible or recognisable.
      expect(snrAgainstTone(out, 16000, 1000, 0.5, 200)).to.be.above(100);
    });
  }

  it('48 kHz -> 16 kHz: a 12 kHz tone (it would alias to 4 kHz) is attenuated by more than 100 dB', () => {
    const out = resampleAll(new Resampler({ inputRate: 48000, outputRate: 16000 }), sine(48000, 12000, 1, 0.5), 2400);
    const attenuationDb = 20 * Math.log10(rms(out, 200) / (0.5 / Math.SQRT2));
    // Measured: -115 dB.
    expect(attenuationDb).to.be.below(-100);
  });

  it('is flat in the speech band and stops at the output Nyquist', () => {
    const gainDb = (hz: number): number => {
      const out = resampleAll(new Resampler({ inputRate: 48000, outputRate: 16000 }), sine(48000, hz, 0.5, 0.5), 4800);
      return 20 * Math.log10(rms(out, 300) / (0.5 / Math.SQRT2));
    };
    for (const hz of [100, 1000, 3400, 6000, 7000]) expect(Math.abs(gainDb(hz)), `${hz} Hz`).to.be.below(0.05);
    for (const hz of [8200, 10000, 15000, 23000]) expect(gainDb(hz), `${hz} Hz`).to.be.below(-90);
  });

  it('gives the same output whatever the chunking (streaming state is exact)', () => {
    const input = sine(44100, 440, 0.5, 0.3);
    const whole = resampleAll(new Resampler({ inputRate: 44100, outputRate: 16000 }), input, input.length);
    const bits = resampleAll(new Resampler({ inputRate: 44100, outputRate: 16000 }), input, 37);
    expect(bits.length).to.equal(whole.length);
    let maxDiff = 0;
    for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs((whole[i] as number) - (bits[i] as number)));
    expect(maxDiff).to.be.below(1e-6);
  });

  it('handles ratios with more phases than its table (44.1 kHz -> 16001 Hz) by interpolating', () => {
    const out = resampleAll(new Resampler({ inputRate: 44100, outputRate: 16001 }), sine(44100, 1000, 1, 0.5), 2205);
    expect(out.length).to.equal(16001);
    expect(snrAgainstTone(out, 16001, 1000, 0.5, 200)).to.be.above(100);
  });

  it('refuses rates that are not positive integers', () => {
    expect(() => new Resampler({ inputRate: 0, outputRate: 16000 })).to.throw(RangeError, /positive integers/);
    expect(() => new Resampler({ inputRate: 44100.5, outputRate: 16000 })).to.throw(RangeError);
  });
});

describe('format converter', () => {
  it('downmixes 48 kHz stereo to 16 kHz mono: a tone on both channels comes out at its frequency and level', () => {
    const converter = createConverter({ sampleRate: 48000, channels: 2 }, 16000);
    expect(converter.description).to.match(/downmix 2 ch to mono, resample 48000 -> 16000 Hz/);
    const tone = sine(48000, 1000, 1, 0.5);
    const interleaved = new Int16Array(tone.length * 2);
    for (let i = 0; i < tone.length; i++) {
      interleaved[2 * i] = Math.round((tone[i] as number) * 32767);
      interleaved[2 * i + 1] = Math.round((tone[i] as number) * 32767);
    }
    const parts: Int16Array[] = [];
    for (let i = 0; i < interleaved.length; i += 4800) parts.push(converter.convert(interleaved.subarray(i, i + 4800)));
    parts.push(converter.flush());
    const out = Float32Array.from(parts.flatMap((p) => Array.from(p)), (v) => v / 32768);
    expect(out.length).to.equal(16000);
    expect(peakFrequency(out, 16000)).to.be.closeTo(1000, 2);
    expect(20 * Math.log10(rms(out, 200) / (0.5 / Math.SQRT2))).to.be.closeTo(0, 0.1);
  });

  it('averages the channels (left only comes out at half level) and passes mono at the same rate untouched', () => {
    const converter = createConverter({ sampleRate: 16000, channels: 2 }, 16000);
    expect(Array.from(converter.convert(Int16Array.from([1000, 0, -2000, 0])))).to.deep.equal([500, -1000]);
    const same = createConverter({ sampleRate: 16000, channels: 1 }, 16000);
    const samples = Int16Array.from([1, 2, 3]);
    expect(same.convert(samples)).to.equal(samples);
    expect(same.description).to.equal('none');
  });
});
