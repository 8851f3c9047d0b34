/**
 * A streaming band-limited resampler: Kaiser-windowed sinc interpolation
 * with a polyphase coefficient table (J. O. Smith's bandlimited
 * interpolation). Any ratio of integer rates: the position of each output
 * sample is kept as an exact fraction of input samples, so nothing drifts
 * however long the stream. One table phase per distinct fractional position
 * when the reduced ratio has at most MAX_PHASES of them (every common device
 * rate), else MAX_PHASES phases with linear interpolation between them.
 *
 * The filter is cut below the lower of the two Nyquist frequencies, so
 * downsampling cannot alias: at the defaults the stopband starts at the
 * output Nyquist and is attenuated by about 100 dB, the passband is flat to
 * about 93% of the output Nyquist minus the transition (about 7 kHz for a
 * 16 kHz output). Output sample m is the input's value at time m / outputRate
 * exactly (no group delay is added to positions); the price is that an
 * output sample is produced only once `lookahead` later input samples exist.
 */
export interface ResamplerOptions {
  inputRate: number;
  outputRate: number;
  /** Zero crossings of the sinc on each side, at the lower rate: filter length and steepness. */
  zeroCrossings?: number;
  /** Kaiser window beta: stopband attenuation (10 is about 100 dB). */
  kaiserBeta?: number;
}

const DEFAULT_ZERO_CROSSINGS = 48;
const DEFAULT_BETA = 10;
const MAX_PHASES = 4096;

export class Resampler {
  readonly inputRate: number;
  readonly outputRate: number;
  /** Input samples an output sample waits for beyond its own position. */
  readonly lookahead: number;
  /** Cut-off (-6 dB) in Hz. */
  readonly cutoffHz: number;
  private readonly taps: number;
  private readonly phases: number;
  /** Output step in input samples is step / den (reduced fraction). */
  private readonly step: number;
  private readonly den: number;
  private readonly exact: boolean;
  private readonly table: Float32Array;
  /** Input history; buffer[0] is input sample `base` (negative at first: silence before the stream). */
  private buffer: Float32Array;
  private length = 0;
  private base: number;
  /** Position of the next output: index + frac / den input samples. */
  private index = 0;
  private frac = 0;
  private inputCount = 0;
  private outputCount = 0;

  constructor(options: ResamplerOptions) {
    const { inputRate, outputRate } = options;
    if (!(Number.isInteger(inputRate) && inputRate > 0 && Number.isInteger(outputRate) && outputRate > 0)) {
      throw new RangeError(`sample rates must be positive integers (got ${inputRate} -> ${outputRate})`);
    }
    this.inputRate = inputRate;
    this.outputRate = outputRate;
    const g = gcd(inputRate, outputRate);
    this.step = inputRate / g;
    this.den = outputRate / g;
    this.exact = this.den <= MAX_PHASES;
    this.phases = this.exact ? this.den : MAX_PHASES;

    const zeroCrossings = options.zeroCrossings ?? DEFAULT_ZERO_CROSSINGS;
    const beta = options.kaiserBeta ?? DEFAULT_BETA;
    // Scale: 1 when upsampling (cut at the input Nyquist), out/in when downsampling.
    const scale = Math.min(1, outputRate / inputRate);
    // Kaiser: transition width (in cycles per lower-rate sample) of a window of 2 * zeroCrossings.
    const attenuationDb = 8.7 + beta / 0.1102;
    const transition = (attenuationDb - 7.95) / (14.36 * 2 * zeroCrossings);
    // Put the stopband edge at the lower Nyquist: the cut-off sits half a transition below it.
    const cutoff = 1 - transition; // fraction of the lower Nyquist
    this.cutoffHz = (cutoff * Math.min(inputRate, outputRate)) / 2;
    const halfWidth = zeroCrossings / scale; // in input samples
    this.lookahead = Math.ceil(halfWidth);
    this.taps = 2 * this.lookahead;

    // Phase p holds the weights of inputs (index - lookahead + 1 .. index + lookahead)
    // for an output at index + p / phases; one extra phase closes the interpolation.
    const rows = this.exact ? this.phases : this.phases + 1;
    this.table = new Float32Array(rows * this.taps);
    const i0Beta = besselI0(beta);
    for (let p = 0; p < rows; p++) {
      let sum = 0;
      const row = p * this.taps;
      for (let t = 0; t < this.taps; t++) {
        const u = p / this.phases + this.lookahead - 1 - t; // output time minus input time, in input samples
        const x = u / halfWidth;
        let w = 0;
        if (Math.abs(x) < 1) {
          const arg = scale * cutoff * u;
          const sinc = arg === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
          w = sinc * (besselI0(beta * Math.sqrt(1 - x * x)) / i0Beta);
        }
        this.table[row + t] = w;
        sum += w;
      }
      // Unity gain at DC for every phase.
      for (let t = 0; t < this.taps; t++) this.table[row + t] = (this.table[row + t] as number) / sum;
    }

    this.base = -(this.lookahead - 1);
    this.buffer = new Float32Array(Math.max(4096, this.taps * 4));
    this.length = this.lookahead - 1; // silence before the first sample
  }

  /** Seconds by which the newest output lags the newest input (the lookahead). */
  get latencySeconds(): number {
    return this.lookahead / this.inputRate;
  }

  /** Feeds input samples; returns every output sample they complete. */
  process(input: Float32Array): Float32Array {
    this.append(input);
    this.inputCount += input.length;
    return this.produce(Infinity);
  }

  /** Ends the stream: the outputs still owed for the input given so far (silence follows it). */
  flush(): Float32Array {
    const owed = Math.ceil((this.inputCount * this.den) / this.step) - this.outputCount;
    if (owed <= 0) return new Float32Array(0);
    this.append(new Float32Array(this.taps + 1));
    return this.produce(owed);
  }

  private append(input: Float32Array): void {
    if (this.length + input.length > this.buffer.length) {
      const grown = new Float32Array(Math.max(this.buffer.length * 2, this.length + input.length));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(input, this.length);
    this.length += input.length;
  }

  private produce(limit: number): Float32Array {
    const { taps, lookahead, table, step, den, phases, exact } = this;
    const buffer = this.buffer;
    const end = this.base + this.length; // first input index not yet received
    // Output q (from the next) sits at index + (frac + q * step) / den and needs inputs up to lookahead past it.
    const room = (end - lookahead - this.index) * den - this.frac;
    const count = room > 0 ? Math.min(limit, Math.ceil(room / step)) : 0;
    const out = new Float32Array(count);
    let index = this.index;
    let frac = this.frac;
    for (let m = 0; m < count; m++) {
      const start = index - lookahead + 1 - this.base;
      let acc = 0;
      if (exact) {
        const row = frac * taps;
        for (let t = 0; t < taps; t++) acc += (buffer[start + t] as number) * (table[row + t] as number);
      } else {
        const position = (frac * phases) / den;
        const p = Math.floor(position);
        const a = position - p;
        const row = p * taps;
        for (let t = 0; t < taps; t++) {
          const c0 = table[row + t] as number;
          acc += (buffer[start + t] as number) * (c0 + a * ((table[row + taps + t] as number) - c0));
        }
      }
      out[m] = acc;
      frac += step;
      if (frac >= den) {
        index += Math.floor(frac / den);
        frac %= den;
      }
    }
    this.index = index;
    this.frac = frac;
    this.outputCount += count;
    // Keep only the history the next output needs.
    const keepFrom = index - lookahead + 1;
    const drop = keepFrom - this.base;
    if (drop > 0) {
      this.buffer.copyWithin(0, drop, this.length);
      this.length -= drop;
      this.base = keepFrom;
    }
    return out;
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (series; converges fast for the betas used). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const half = x / 2;
  for (let k = 1; k < 64; k++) {
    term *= (half / k) * (half / k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}
