/**
 * `HH:MM:SS,mmm` (SRT) and `HH:MM:SS.mmm` (WebVTT, text prefixes). Hours take
 * at least two digits and grow past 99 rather than wrap; both specs allow it.
 */
export function formatTimecode(ms: number, separator: ',' | '.'): string {
  const total = Math.max(0, Math.round(ms));
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor(total / 60_000) % 60;
  const seconds = Math.floor(total / 1000) % 60;
  const millis = total % 1000;
  return `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}${separator}${pad(millis, 3)}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
