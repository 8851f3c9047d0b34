/**
 * The offline recognizer's speed and latency on the LibriVox clips.
 *   npx tsc -p . && node dist/bench/pocketsphinx.js
 *
 * - Decode speed: the five clips in one stream (1 s of silence after each),
 *   audio seconds per CPU second of the pocketsphinx process, model loading
 *   excluded (CPU read from /proc/<pid>/stat after start() and after the last
 *   utterance).
 * - Latency: the same stream written at real-time pace in 50 ms chunks; for
 *   each utterance, the wall time from writing the last chunk of its clip to
 *   onUtterance. The recognizer needs about 0.5 s of silence to end an
 *   utterance, so that is the floor.
 */
import { readFileSync } from 'node:fs';
import { PocketsphinxRecognizer, type Utterance } from '../src/engine/pocketsphinx.js';
import { librivoxClips, readPcm } from '../test/support/librivox.js';
import { concatPcm as concatSamples, silence } from '../test/support/pcm.js';

const CHUNK_MS = 50;
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

const clips = await Promise.all(librivoxClips().map(async (clip) => ({ ...clip, samples: await readPcm(clip.wavPath) })));
const stream = concatSamples(...clips.flatMap((clip) => [clip.samples, silence(1000)]));
const audioSeconds = stream.length / 16000;

// Decode speed.
{
  const recognizer = new PocketsphinxRecognizer();
  const utterances: Utterance[] = [];
  recognizer.onUtterance((u) => utterances.push(u));
  await recognizer.start();
  const pid = recognizer.pid!;
  const before = cpuSeconds(pid);
  recognizer.write(stream);
  await waitFor(() => utterances.length >= clips.length);
  const cpu = cpuSeconds(pid) - before;
  await recognizer.end();
  console.log(`decode speed: ${audioSeconds.toFixed(1)} s of audio in ${cpu.toFixed(2)} s of CPU = ${(audioSeconds / cpu).toFixed(1)} audio s per CPU s`);
}

// Latency at real-time pace.
{
  const recognizer = new PocketsphinxRecognizer();
  const arrivals: number[] = [];
  recognizer.onUtterance(() => arrivals.push(performance.now()));
  await recognizer.start();
  const clipEnds: number[] = [];
  const start = performance.now();
  let sample = 0;
  for (const [i, clip] of clips.entries()) {
    for (const part of [clip.samples, silence(1000)]) {
      for (let k = 0; k < part.length; k += 16 * CHUNK_MS) {
        const due = start + (sample / 16000) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const chunk = part.subarray(k, k + 16 * CHUNK_MS);
        recognizer.write(chunk);
        sample += chunk.length;
      }
      if (part === clip.samples) clipEnds[i] = performance.now();
    }
  }
  await recognizer.end();
  const latencies = clipEnds.map((end, i) => (arrivals[i] ?? NaN) - end);
  clips.forEach((clip, i) => console.log(`latency ${clip.id}: ${latencies[i]!.toFixed(0)} ms`));
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(`latency: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms (${arrivals.length} utterances)`);
}
