import { expect } from 'chai';
import { StreamingResampler } from '../../src/engine/resampler.js';
import { librivoxClips, readPcm } from '../support/librivox.js';
import { concatSamples } from '../support/speech-span.js';

function resampleInChunks(samples: Int16Array, inRate: number, outRate: number, chunk: number): Int16Array {
  const resampler = new StreamingResampler(inRate, outRate);
  const parts: Int16Array[] = [];
  for (let i = 0; i < samples.length; i += chunk) parts.push(resampler.push(samples.subarray(i, i + chunk)));
  parts.push(resampler.flush());
  return concatSamples(...parts);
}

/** Signal-to-noise ratio of `actual` against `expected`, in dB. */
function snrDb(expected: Int16Array, actual: Int16Array): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < expected.length; i++) {
    signal += expected[i]! ** 2;
    noise += (expected[i]! - (actual[i] ?? 0)) ** 2;
  }
  return 10 * Math.log10(signal / noise);
}

function tone(hz: number, rate: number, seconds: number, amplitude = 10000): Int16Array {
  return Int16Array.from({ length: rate * seconds }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate)));
}

function rms(samples: Int16Array, skip: number): number {
  const middle = samples.subarray(skip, samples.length - skip);
  return Math.sqrt(middle.reduce((sum, s) => sum + s * s, 0) / middle.length);
}

describe('StreamingResampler', () => {
  const clip = librivoxClips()[0]!;

  for (const rate of [48000, 44100, 22050]) {
    it(`turns speech at ${rate} Hz into what sox makes at 16 kHz, sample for sample in time`, async () => {
      const input = await readPcm(clip.wavPath, rate); // sox upsamples the 16 kHz original
      const expected = await readPcm(clip.wavPath, 16000);
      const output = resampleInChunks(input, rate, 16000, rate / 20);
      expect(output.length).to.equal(Math.ceil((input.length * 16000) / rate));
      expect(output.length).to.equal(expected.length);
      expect(snrDb(expected, output)).to.be.above(40);
    });
  }

  it('gives the same samples whatever the chunk sizes', async () => {
    const input = await readPcm(clip.wavPath, 44100);
    const whole = resampleInChunks(input, 44100, 16000, input.length);
    const small = resampleInChunks(input, 44100, 16000, 441);
    const odd = resampleInChunks(input, 44100, 16000, 37);
    expect(Buffer.from(small.buffer).equals(Buffer.from(whole.buffer))).to.equal(true);
    expect(Buffer.from(odd.buffer).equals(Buffer.from(whole.buffer))).to.equal(true);
  });

  it('keeps an in-band tone and removes one that would fold into the band', () => {
    const kept = resampleInChunks(tone(1000, 48000, 1), 48000, 16000, 2400);
    const folded = resampleInChunks(tone(10000, 48000, 1), 48000, 16000, 2400);
    expect(rms(kept, 400) / (10000 / Math.SQRT2)).to.be.within(0.99, 1.01);
    expect(20 * Math.log10(rms(folded, 400) / (10000 / Math.SQRT2))).to.be.below(-40);
  });

  it('upsamples 8 kHz speech with its band intact', async () => {
    const input = await readPcm(clip.wavPath, 8000);
    const expected = await readPcm(clip.wavPath, 16000);
    const output = resampleInChunks(input, 8000, 16000, 400);
    expect(output.length).to.equal(expected.length);
    // Only the 0-4 kHz half survived the trip to 8 kHz; most of speech's energy lives there.
    expect(snrDb(expected, output)).to.be.above(12);
  });

  it('refuses a rate that is not a positive integer, naming it', () => {
    expect(() => new StreamingResampler(0, 16000)).to.throw(RangeError, /input sample rate must be a positive integer, got 0/);
    expect(() => new StreamingResampler(16000, 22050.5)).to.throw(RangeError, /output .* got 22050.5/);
  });
});
