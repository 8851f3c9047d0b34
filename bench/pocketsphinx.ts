/**
 * The offline recognizer's speed and latency on the LibriVox clips: the
 * `recognizer` section of `npm run bench`, and runnable alone:
 *   npx tsc -p . && node dist/bench/pocketsphinx.js
 *
 * - Decode speed: the five clips in one stream (1 s of silence after each),
 *   audio seconds per CPU second of the pocketsphinx process, model loading
 *   excluded (CPU read from /proc/<pid>/stat after start() and after the last
 *   utterance).
 * - Latency: the same stream written at real-time pace in 50 ms chunks; for
 *   each utterance, the wall time from writing the last chunk of its clip to
 *   onUtterance. The recognizer needs about 0.5 s of silence to end an
 *   utterance, so that is the floor. Skipped in quick mode (it takes the
 *   stream's length, about 35 s).
 */
import { pathToFileURL } from 'node:url';
import { PocketsphinxRecognizer, type Utterance } from '../src/engine/pocketsphinx.js';
import { librivoxClips, readPcm } from '../test/support/librivox.js';
import { concatPcm as concatSamples, silence } from '../test/support/pcm.js';
import { processCpuMs } from './lib/proc.js';

const CHUNK_MS = 50;
const SAMPLE_RATE = 16000;
/** Bound on waiting for the recognizer to report every utterance. */
const UTTERANCE_TIMEOUT_MS = 60000;

export interface RecognizerFigures {
  audioSeconds: number;
  decodeCpuSeconds: number;
  audioSecondsPerCpuSecond: number;
  /** Per clip, ms from its last chunk written to its utterance (absent in quick mode). */
  utteranceLatencyMs?: { clip: string; ms: number }[];
  utteranceLatencyMedianMs?: number;
  utteranceLatencyMaxMs?: number;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + UTTERANCE_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function measureRecognizer(options: { realtime: boolean }): Promise<RecognizerFigures> {
  const clips = await Promise.all(librivoxClips().map(async (clip) => ({ ...clip, samples: await readPcm(clip.wavPath) })));
  const stream = concatSamples(...clips.flatMap((clip) => [clip.samples, silence(1000)]));
  const audioSeconds = stream.length / SAMPLE_RATE;

  // Decode speed.
  const recognizer = new PocketsphinxRecognizer();
  const utterances: Utterance[] = [];
  recognizer.onUtterance((u) => utterances.push(u));
  await recognizer.start();
  const pid = recognizer.pid!;
  const before = processCpuMs(pid);
  recognizer.write(stream);
  await waitFor(() => utterances.length >= clips.length, `${clips.length} utterances`);
  const decodeCpuSeconds = (processCpuMs(pid) - before) / 1000;
  await recognizer.end();
  const figures: RecognizerFigures = { audioSeconds, decodeCpuSeconds, audioSecondsPerCpuSecond: audioSeconds / decodeCpuSeconds };
  if (!options.realtime) return figures;

  // Latency at real-time pace.
  const paced = new PocketsphinxRecognizer();
  const arrivals: number[] = [];
  paced.onUtterance(() => arrivals.push(performance.now()));
  await paced.start();
  const clipEnds: number[] = [];
  const start = performance.now();
  let sample = 0;
  for (const [i, clip] of clips.entries()) {
    for (const part of [clip.samples, silence(1000)]) {
      for (let k = 0; k < part.length; k += (SAMPLE_RATE / 1000) * CHUNK_MS) {
        const due = start + (sample / SAMPLE_RATE) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const chunk = part.subarray(k, k + (SAMPLE_RATE / 1000) * CHUNK_MS);
        paced.write(chunk);
        sample += chunk.length;
      }
      if (part === clip.samples) clipEnds[i] = performance.now();
    }
  }
  await paced.end();
  const latencies = clipEnds.map((end, i) => ({ clip: clips[i]!.id, ms: (arrivals[i] ?? NaN) - end }));
  const sorted = latencies.map((l) => l.ms).sort((a, b) => a - b);
  return {
    ...figures,
    utteranceLatencyMs: latencies,
    utteranceLatencyMedianMs: sorted[Math.floor(sorted.length / 2)]!,
    utteranceLatencyMaxMs: sorted.at(-1)!,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await measureRecognizer({ realtime: true });
  console.log(
    `decode speed: ${figures.audioSeconds.toFixed(1)} s of audio in ${figures.decodeCpuSeconds.toFixed(2)} s of CPU = ` +
      `${figures.audioSecondsPerCpuSecond.toFixed(1)} audio s per CPU s`,
  );
  for (const { clip, ms } of figures.utteranceLatencyMs ?? []) console.log(`latency ${clip}: ${ms.toFixed(0)} ms`);
  console.log(`latency: median ${figures.utteranceLatencyMedianMs?.toFixed(0)} ms, max ${figures.utteranceLatencyMaxMs?.toFixed(0)} ms`);
}
