/** Percentiles from the exact sorted sample (nearest rank): no binning, no interpolation. */
export interface Distribution {
  n: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const rank = (q: number): number => (n === 0 ? NaN : (sorted[Math.max(0, Math.ceil(q * n) - 1)] as number));
  let sum = 0;
  for (const v of sorted) sum += v;
  return { n, p50: rank(0.5), p99: rank(0.99), p999: rank(0.999), max: n === 0 ? NaN : (sorted[n - 1] as number), mean: n === 0 ? NaN : sum / n };
}
