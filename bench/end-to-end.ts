/**
 * The `end-to-end` section of `npm run bench`: the offline product measured
 * whole on real speech (test/support/offline-run.ts: LibriVox clips played
 * into a private PulseAudio sink, captured, streamed to `earshot serve
 * --engine local`, written as JSONL). Reports the word error rate through
 * earshot and direct, and the latency from the end of each utterance to its
 * final event. Takes the playlist's length (about 45 s); left out of --quick.
 */
import { runOfflineLibrivox } from '../test/support/offline-run.js';

export interface EndToEndFigures {
  clips: number;
  earshotWer: number;
  directWer: number;
  /** Per clip, end of speech played -> last final in the sink (NaN: no final). */
  latenciesMs: number[];
  latencyMedianMs: number;
  latencyMaxMs: number;
}

export async function measureEndToEnd(): Promise<EndToEndFigures> {
  const run = await runOfflineLibrivox();
  if (run.exitCode !== 0) throw new Error(`earshot run exited ${run.exitCode} after SIGTERM`);
  const sorted = run.latenciesMs.filter(Number.isFinite).sort((a, b) => a - b);
  return {
    clips: run.clips,
    earshotWer: run.earshotWer,
    directWer: run.directWer,
    latenciesMs: run.latenciesMs,
    latencyMedianMs: sorted[Math.floor(sorted.length / 2)] ?? NaN,
    latencyMaxMs: sorted.at(-1) ?? NaN,
  };
}
