/**
 * Worker used by ring tests: for each ring, writes one frame and closes it a
 * moment later (a random few microseconds), so some closes land while the
 * reader is between looking at the ring and waiting on it.
 */
import { workerData } from 'node:worker_threads';
import { FrameRing } from '../../src/capture/ring.js';

const { rings } = workerData as { rings: SharedArrayBuffer[] };
for (const buffer of rings) {
  const ring = new FrameRing(buffer);
  ring.write(new Int16Array(ring.frameSamples), 0, 0);
  const until = performance.now() + Math.random() * 0.05;
  while (performance.now() < until) {
    /* a moment */
  }
  ring.close();
}
