/**
 * Where the speech is in a clip, measured independently of any recognizer:
 * the first and last 10 ms frames whose RMS level is within 20 dB of the
 * clip's loudest frame (the LibriVox clips' background noise sits 25 to 45 dB
 * below their peak).
 */
export function speechSpan(samples: Int16Array, sampleRate = 16000): { start_ms: number; end_ms: number } {
  const frame = sampleRate / 100;
  const levels: number[] = [];
  for (let i = 0; i + frame <= samples.length; i += frame) {
    let energy = 0;
    for (let j = i; j < i + frame; j++) energy += (samples[j] ?? 0) ** 2;
    levels.push(Math.sqrt(energy / frame));
  }
  const threshold = Math.max(...levels) / 10; // -20 dB
  const first = levels.findIndex((level) => level >= threshold);
  const last = levels.findLastIndex((level) => level >= threshold);
  return { start_ms: first * 10, end_ms: (last + 1) * 10 };
}
