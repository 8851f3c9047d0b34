/** Worker used by ring tests: writes numbered frames into a ring at a steady pace, then closes it. */
import { workerData, parentPort } from 'node:worker_threads';
import { FrameRing } from '../../src/capture/ring.js';
import { monotonicMs } from '../../src/capture/clock.js';

const { ring: buffer, frames, intervalMs } = workerData as { ring: SharedArrayBuffer; frames: number; intervalMs: number };
const ring = new FrameRing(buffer);
const samples = new Int16Array(ring.frameSamples);
let seq = 0;
const start = monotonicMs();
const tick = (): void => {
  while (seq < frames && start + seq * intervalMs <= monotonicMs()) {
    samples.fill(seq % 32768);
    ring.write(samples, seq, monotonicMs());
    seq++;
  }
  if (seq < frames) setTimeout(tick, 1);
  else {
    ring.close();
    parentPort?.postMessage('done');
  }
};
tick();
