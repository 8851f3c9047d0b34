/** Signal measurements for capture tests: tones, levels, spectra, alignment. */

export function sine(rate: number, hz: number, seconds: number, amplitude: number): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / rate);
  return out;
}

/** Root mean square, skipping `skip` samples at each end. */
export function rms(x: ArrayLike<number>, skip = 0): number {
  let sum = 0;
  let n = 0;
  for (let i = skip; i < x.length - skip; i++) {
    sum += (x[i] as number) ** 2;
    n++;
  }
  return Math.sqrt(sum / Math.max(1, n));
}

/** In-place radix-2 FFT; length must be a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j] as number, re[i] as number];
      [im[i], im[j]] = [im[j] as number, im[i] as number];
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const angle = (-2 * Math.PI) / size;
    const wr = Math.cos(angle);
    const wi = Math.sin(angle);
    for (let start = 0; start < n; start += size) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < size / 2; k++) {
        const a = start + k;
        const b = a + size / 2;
        const tr = (re[b] as number) * cr - (im[b] as number) * ci;
        const ti = (re[b] as number) * ci + (im[b] as number) * cr;
        re[b] = (re[a] as number) - tr;
        im[b] = (im[a] as number) - ti;
        re[a] = (re[a] as number) + tr;
        im[a] = (im[a] as number) + ti;
        [cr, ci] = [cr * wr - ci * wi, cr * wi + ci * wr];
      }
    }
  }
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Magnitude spectrum of a Hann-windowed signal, zero-padded to a power of two. */
export function spectrum(x: ArrayLike<number>): { magnitudes: Float64Array; size: number } {
  const size = nextPowerOfTwo(x.length);
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  for (let i = 0; i < x.length; i++) re[i] = (x[i] as number) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (x.length - 1)));
  fft(re, im);
  const magnitudes = new Float64Array(size / 2);
  for (let k = 0; k < size / 2; k++) magnitudes[k] = Math.hypot(re[k] as number, im[k] as number);
  return { magnitudes, size };
}

/** The frequency of the strongest component, refined by parabolic interpolation between bins. */
export function peakFrequency(x: ArrayLike<number>, rate: number): number {
  const { magnitudes, size } = spectrum(x);
  let peak = 1;
  for (let k = 1; k < magnitudes.length - 1; k++) if ((magnitudes[k] as number) > (magnitudes[peak] as number)) peak = k;
  const [a, b, c] = [magnitudes[peak - 1] as number, magnitudes[peak] as number, magnitudes[peak + 1] as number];
  const offset = (0.5 * (a - c)) / (a - 2 * b + c || 1);
  return ((peak + offset) * rate) / size;
}

/** The strongest level within ±widthHz of hz, in dB relative to the strongest component anywhere. */
export function levelAtDb(x: ArrayLike<number>, rate: number, hz: number, widthHz = 50): number {
  const { magnitudes, size } = spectrum(x);
  const bin = (f: number): number => Math.round((f * size) / rate);
  let around = 0;
  for (let k = Math.max(0, bin(hz - widthHz)); k <= Math.min(magnitudes.length - 1, bin(hz + widthHz)); k++) around = Math.max(around, magnitudes[k] as number);
  const strongest = Math.max(...magnitudes);
  return 20 * Math.log10(around / strongest);
}

/** The lag (in whole samples) at which `reference` best matches `captured`: the cross-correlation peak, by FFT. */
export function bestLag(reference: ArrayLike<number>, captured: ArrayLike<number>): number {
  const size = nextPowerOfTwo(reference.length + captured.length);
  const ar = new Float64Array(size);
  const ai = new Float64Array(size);
  const br = new Float64Array(size);
  const bi = new Float64Array(size);
  for (let i = 0; i < captured.length; i++) ar[i] = captured[i] as number;
  for (let i = 0; i < reference.length; i++) br[i] = reference[i] as number;
  fft(ar, ai);
  fft(br, bi);
  // captured ⋆ reference: A * conj(B), then the inverse FFT (as a forward FFT of the conjugate).
  for (let k = 0; k < size; k++) {
    const re = (ar[k] as number) * (br[k] as number) + (ai[k] as number) * (bi[k] as number);
    const im = (ai[k] as number) * (br[k] as number) - (ar[k] as number) * (bi[k] as number);
    ar[k] = re;
    ai[k] = -im;
  }
  fft(ar, ai);
  let lag = 0;
  for (let k = 0; k < size; k++) if ((ar[k] as number) > (ar[lag] as number)) lag = k;
  return lag > size / 2 ? lag - size : lag;
}

/** `x` delayed by a fraction of a sample (|fraction| <= 1), by windowed-sinc interpolation. */
function delayed(x: ArrayLike<number>, fraction: number): Float64Array {
  const half = 32;
  const taps = new Float64Array(2 * half + 1);
  for (let k = -half; k <= half; k++) {
    const u = k - fraction;
    const window = 0.5 + 0.5 * Math.cos((Math.PI * u) / (half + 1));
    taps[k + half] = (u === 0 ? 1 : Math.sin(Math.PI * u) / (Math.PI * u)) * window;
  }
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let acc = 0;
    for (let k = -half; k <= half; k++) acc += ((x[i - k]) ?? 0) * (taps[k + half] as number);
    out[i] = acc;
  }
  return out;
}

/** SNR of `captured` (from `lag` on) against `reference` scaled by its best gain. */
function snrAt(reference: ArrayLike<number>, captured: ArrayLike<number>, lag: number): { snrDb: number; gain: number } {
  let cross = 0;
  let energy = 0;
  for (let i = 0; i < reference.length; i++) {
    cross += ((captured[i + lag]) ?? 0) * (reference[i] as number);
    energy += (reference[i] as number) ** 2;
  }
  const gain = cross / energy;
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < reference.length; i++) {
    const expected = gain * (reference[i] as number);
    signal += expected * expected;
    noise += (((captured[i + lag]) ?? 0) - expected) ** 2;
  }
  return { snrDb: 10 * Math.log10(signal / noise), gain };
}

/**
 * Finds where `reference` sits in `captured` (whole-sample lag from the
 * cross-correlation peak) and the signal-to-noise ratio of the captured audio
 * against the reference there, after the best gain. Audio that went through
 * resamplers sits between two samples of the original's grid (a pure delay,
 * inaudible, but a large "error" when compared sample by sample), so with
 * `fractional` the reference is also delayed by the best fraction of a sample.
 */
export function alignAndCompare(
  reference: ArrayLike<number>,
  captured: ArrayLike<number>,
  options: { fractional?: boolean } = {},
): { lag: number; fraction: number; snrDb: number; gain: number } {
  const lag = bestLag(reference, captured);
  const exact = snrAt(reference, captured, lag);
  if (!options.fractional) return { lag, fraction: 0, ...exact };
  let best = { lag, fraction: 0, ...exact };
  const consider = (fraction: number): void => {
    const result = snrAt(delayed(reference, fraction), captured, lag);
    if (result.snrDb > best.snrDb) best = { lag, fraction, ...result };
  };
  for (let step = 0.1, span = 1; step >= 0.0005; span = step, step /= 10) {
    const centre = best.fraction;
    for (let k = -Math.round(span / step); k <= Math.round(span / step); k++) consider(centre + k * step);
  }
  return best;
}
