/** "Did you mean": the closest valid word to a mistyped one, when one is close enough. */
import { distance } from 'fastest-levenshtein';

/** Words people reach for that are spelt nothing like ours. */
const SYNONYMS: Readonly<Record<string, string>> = {
  stdout: 'console',
  terminal: 'console',
  print: 'console',
  http: 'webhook',
  https: 'webhook',
  post: 'webhook',
  jsonl: 'file',
  srt: 'file',
  vtt: 'file',
  pulseaudio: 'portaudio',
  pulse: 'portaudio',
  pipewire: 'portaudio',
  alsa: 'portaudio',
  microphone: 'portaudio',
  mic: 'portaudio',
  assembly: 'assemblyai',
  pocketsphinx: 'local',
  offline: 'local',
  recording: 'wav',
  volume: 'amplitude',
  gain: 'amplitude',
  endpoint: 'url',
};

/** camelCase, kebab-case and case differences do not count as typos: `sampleRate` is `sample_rate`. */
function normalise(word: string): string {
  return word.toLowerCase().replace(/[-_\s]/g, '');
}

export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const synonym = SYNONYMS[word.toLowerCase()];
  if (synonym !== undefined && candidates.includes(synonym)) return synonym;
  const wanted = normalise(word);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(wanted, normalise(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const tolerance = Math.min(3, Math.max(1, Math.floor(wanted.length / 3)));
  return bestDistance <= tolerance ? best : undefined;
}

/** `unknown sink type 'fil'; did you mean 'file'? valid: console, file, ...` */
export function choice(head: string, word: string, candidates: readonly string[]): string {
  const close = didYouMean(word, candidates);
  const valid = `valid: ${listWords(candidates)}`;
  return close === undefined ? `${head}; ${valid}` : `${head}; did you mean '${close}'? ${valid}`;
}

export function listWords(words: readonly string[]): string {
  return words.join(', ');
}
