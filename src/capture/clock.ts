/**
 * Milliseconds on the process-wide monotonic clock. Unlike performance.now(),
 * whose origin differs per thread, this reads the same clock in every worker,
 * so a capture time stamped in the audio host can be compared with the moment
 * a transport worker sends the frame.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
