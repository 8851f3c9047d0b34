/**
 * A streaming resampler for 16-bit mono PCM: windowed-sinc interpolation
 * with a low-pass at 0.95 of the lower Nyquist frequency, so downsampling
 * does not fold high frequencies into the speech band.
 *
 * In process rather than through sox: a sox child holds a buffer of audio
 * until more arrives, which would delay the end of an utterance; here every
 * output sample is produced as soon as the input reaches HALF_WIDTH samples
 * past it (1 ms at 48 kHz), and output sample n is exactly input time
 * n / outRate, so timestamps carry over unchanged.
 */

/** Zero crossings of the sinc on each side of an output sample. */
const ZERO_CROSSINGS = 16;
const PASSBAND = 0.95;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function sinc(x: number): number {
  return x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
}

export class StreamingResampler {
  /** Input samples on each side of an output sample that weigh in. */
  private readonly halfWidth: number;
  /** One row of 2 * halfWidth weights per fractional position (the positions repeat). */
  private readonly phases: Float32Array[];
  private readonly phaseDivisor: number;

  /** Input not yet fully used; element 0 is input sample `bufferStart` (negative: leading zeros). */
  private buffer: Float32Array;
  private bufferStart: number;
  private bufferLength: number;
  private inputCount = 0;
  private outputCount = 0;

  constructor(
    readonly inRate: number,
    readonly outRate: number,
  ) {
    for (const [name, rate] of [['input', inRate], ['output', outRate]] as const) {
      if (!Number.isInteger(rate) || rate <= 0) {
        throw new RangeError(`resampler: ${name} sample rate must be a positive integer, got ${rate}`);
      }
    }
    const cutoff = PASSBAND * Math.min(1, outRate / inRate);
    this.halfWidth = Math.ceil(ZERO_CROSSINGS / cutoff);
    this.phaseDivisor = gcd(inRate, outRate);
    const phaseCount = outRate / this.phaseDivisor;
    this.phases = [];
    for (let p = 0; p < phaseCount; p++) {
      const fraction = (p * this.phaseDivisor) / outRate;
      const row = new Float32Array(2 * this.halfWidth);
      let sum = 0;
      for (let m = 0; m < row.length; m++) {
        // Tap m reads input i0 - halfWidth + 1 + m, at distance x from the output time.
        const x = fraction + this.halfWidth - 1 - m;
        const window = 0.5 + 0.5 * Math.cos((Math.PI * x) / this.halfWidth); // Hann
        const weight = Math.abs(x) >= this.halfWidth ? 0 : cutoff * sinc(cutoff * x) * window;
        row[m] = weight;
        sum += weight;
      }
      for (let m = 0; m < row.length; m++) row[m] = (row[m] ?? 0) / sum; // unit gain at DC
      this.phases.push(row);
    }
    this.buffer = new Float32Array(4 * this.halfWidth);
    this.bufferStart = -this.halfWidth;
    this.bufferLength = this.halfWidth;
  }

  /** Resample the next chunk; returns every output sample the input so far allows. */
  push(samples: Int16Array): Int16Array {
    this.append(samples);
    this.inputCount += samples.length;
    return this.drain(false);
  }

  /** No more input: returns the remaining output, up to the input's duration. */
  flush(): Int16Array {
    this.append(new Int16Array(this.halfWidth));
    return this.drain(true);
  }

  private append(samples: Int16Array): void {
    const needed = this.bufferLength + samples.length;
    if (needed > this.buffer.length) {
      const grown = new Float32Array(Math.max(needed, 2 * this.buffer.length));
      grown.set(this.buffer.subarray(0, this.bufferLength));
      this.buffer = grown;
    }
    this.buffer.set(samples, this.bufferLength);
    this.bufferLength = needed;
  }

  /** Emit every output whose taps are all buffered; at the end, only those within the input's duration. */
  private drain(final: boolean): Int16Array {
    const out: number[] = [];
    const { inRate, outRate, halfWidth } = this;
    for (;;) {
      const n = this.outputCount;
      const position = n * inRate; // output time in input samples, times outRate
      if (final && position >= this.inputCount * outRate) break;
      const i0 = Math.floor(position / outRate);
      const first = i0 - halfWidth + 1;
      if (i0 + halfWidth >= this.bufferStart + this.bufferLength) break;
      const row = this.phases[(position % outRate) / this.phaseDivisor]!;
      let acc = 0;
      const offset = first - this.bufferStart;
      for (let m = 0; m < row.length; m++) acc += row[m]! * this.buffer[offset + m]!;
      out.push(Math.max(-32768, Math.min(32767, Math.round(acc))));
      this.outputCount++;
    }
    this.discardBefore(Math.floor((this.outputCount * inRate) / outRate) - halfWidth + 1);
    return Int16Array.from(out);
  }

  private discardBefore(index: number): void {
    const drop = index - this.bufferStart;
    if (drop <= 0) return;
    this.buffer.copyWithin(0, drop, this.bufferLength);
    this.bufferLength -= drop;
    this.bufferStart = index;
  }
}
