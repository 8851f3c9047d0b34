/**
 * Which of a few known tones an utterance holds: a Goertzel filter per tone,
 * run over the utterance's voiced samples, each compared with the energy of
 * the same samples. For a pure tone at f, power(f) / (N * energy / 2) is 1;
 * for speech or another tone it is near 0.
 */
export interface ToneMatch {
  index: number;
  hz: number;
  /** Share of the signal's energy at that tone, 0..1. */
  ratio: number;
}

export class ToneDetector {
  private readonly coefficients: Float64Array;
  private readonly s1: Float64Array;
  private readonly s2: Float64Array;
  private energy = 0;
  private count = 0;

  constructor(
    private readonly tonesHz: readonly number[],
    sampleRate: number,
    /** Samples beyond this are ignored: a short window tolerates a slightly detuned tone. */
    private readonly maxSamples: number,
  ) {
    this.coefficients = Float64Array.from(tonesHz, (hz) => 2 * Math.cos((2 * Math.PI * hz) / sampleRate));
    this.s1 = new Float64Array(tonesHz.length);
    this.s2 = new Float64Array(tonesHz.length);
  }

  get samples(): number {
    return this.count;
  }

  push(samples: Int16Array): void {
    const take = Math.min(samples.length, this.maxSamples - this.count);
    for (let t = 0; t < this.tonesHz.length; t++) {
      const coefficient = this.coefficients[t] as number;
      let s1 = this.s1[t] as number;
      let s2 = this.s2[t] as number;
      for (let i = 0; i < take; i++) {
        const s0 = (samples[i] as number) + coefficient * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      this.s1[t] = s1;
      this.s2[t] = s2;
    }
    for (let i = 0; i < take; i++) this.energy += (samples[i] as number) ** 2;
    this.count += Math.max(0, take);
  }

  /** The strongest tone; undefined before any sample or in silence. */
  best(): ToneMatch | undefined {
    if (this.count === 0 || this.energy === 0) return undefined;
    let best: ToneMatch | undefined;
    for (let t = 0; t < this.tonesHz.length; t++) {
      const s1 = this.s1[t] as number;
      const s2 = this.s2[t] as number;
      const power = s1 * s1 + s2 * s2 - (this.coefficients[t] as number) * s1 * s2;
      const ratio = power / ((this.count * this.energy) / 2);
      if (best === undefined || ratio > best.ratio) best = { index: t, hz: this.tonesHz[t] as number, ratio };
    }
    return best;
  }
}
