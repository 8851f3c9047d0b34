/**
 * A ring consumer in its own thread, reading exactly as the transport worker
 * does (its ringFrames loop, frames read into backlog buffers), recording
 * every frame. On `{ type: 'stall', ms }` it blocks its thread that long, as
 * a slow transport would. When the ring closes and drains, or on
 * `{ type: 'finish' }`, it posts what it received.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { monotonicMs } from '../../src/capture/clock.js';
import { FrameRing } from '../../src/capture/ring.js';
import { AudioBacklog } from '../../src/transport/backlog.js';
import { ringFrames } from '../../src/transport/audio-worker.js';

export interface ConsumerReport {
  seqs: number[];
  captureTimesMs: number[];
  receivedAtMs: number[];
  /** Every frame's samples, in order of arrival. */
  samples: Int16Array;
  stalls: { fromMs: number; toMs: number }[];
}

const ring = new FrameRing((workerData as { ring: SharedArrayBuffer }).ring);
const backlog = new AudioBacklog(ring.frameSamples, ring.sampleRate, 1, ring.frameSamples);
const stopped = new AbortController();
const report: Omit<ConsumerReport, 'samples'> = { seqs: [], captureTimesMs: [], receivedAtMs: [], stalls: [] };
const chunks: Int16Array[] = [];

parentPort?.on('message', (message: { type: 'stall'; ms: number } | { type: 'finish' }) => {
  if (message.type === 'finish') {
    stopped.abort();
    return;
  }
  const fromMs = monotonicMs();
  while (monotonicMs() - fromMs < message.ms) {
    /* the consumer's thread is blocked */
  }
  report.stalls.push({ fromMs, toMs: monotonicMs() });
});

ringFrames(ring, backlog, stopped.signal).subscribe({
  next: (frame) => {
    report.seqs.push(frame.seq);
    report.captureTimesMs.push(frame.captureTimeMs);
    report.receivedAtMs.push(monotonicMs());
    chunks.push(frame.samples.slice());
    backlog.release(frame.samples);
  },
  complete: () => {
    const samples = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const chunk of chunks) {
      samples.set(chunk, at);
      at += chunk.length;
    }
    parentPort?.postMessage({ ...report, samples } satisfies ConsumerReport);
    parentPort?.close();
  },
});
parentPort?.postMessage('ready');
