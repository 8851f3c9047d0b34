/**
 * The capture thread of the message-passing designs (b, c, d): earshot's own
 * synthetic source and frame assembler, exactly as the audio host runs them,
 * but each completed frame leaves by postMessage (a copy, or the buffer
 * transferred) instead of through the ring. For design (d) this thread stands
 * for the native capture thread of the guide's script (PortAudio's): audio is
 * complete there on time, and waits for the main thread to take it.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { FrameAssembler } from '../../src/capture/frame-assembler.js';
import { FrameRing, type WriteOutcome } from '../../src/capture/ring.js';
import { SyntheticSource } from '../../src/capture/sources/synthetic.js';
import type { SyntheticSourceConfig } from '../../src/config/schema.js';
import { installThreadProbe } from '../lib/thread-probe.js';
import type { CaptureMessage } from './message-transport.js';

export interface CaptureThreadData {
  pipelines: { port: MessagePort; source: SyntheticSourceConfig }[];
  /** Transfer each frame's buffer (a fresh one per frame) instead of copying it. */
  transfer: boolean;
}

/** Where the assembler writes a frame: a message on the pipeline's port, never the ring's slots. */
class PostingRing extends FrameRing {
  constructor(
    private readonly port: MessagePort,
    private readonly transfer: boolean,
    frameSamples: number,
    sampleRate: number,
  ) {
    // The ring's memory only carries its geometry (frame size, rate) and the producer's numbering.
    super(FrameRing.create({ capacityFrames: 2, frameSamples, sampleRate, policy: 'drop_oldest' }).buffer);
  }

  override write(samples: Int16Array, seq: number, captureTimeMs: number): WriteOutcome {
    if (this.transfer) {
      const own = samples.slice();
      this.port.postMessage({ seq, captureTimeMs, samples: own } satisfies CaptureMessage, [own.buffer]);
    } else {
      this.port.postMessage({ seq, captureTimeMs, samples } satisfies CaptureMessage);
    }
    return 'written';
  }
}

installThreadProbe('capture');

const data = workerData as CaptureThreadData;
// Sources started in one go would tick together, one wake-up of this thread for all of them; the
// service opens its pipelines one after another, each on its own beat. Spread the starts over a
// frame so this thread wakes once per frame per source too, as the audio host does.
const spacingMs = (data.pipelines[0]?.source.frame_ms ?? 0) / Math.max(1, data.pipelines.length);
for (const [i, { port, source }] of data.pipelines.entries()) {
  if (i > 0) await new Promise((resolve) => setTimeout(resolve, spacingMs));
  const frameSamples = Math.round((source.sample_rate * source.frame_ms) / 1000);
  const assembler = new FrameAssembler(new PostingRing(port, data.transfer, frameSamples, source.sample_rate));
  const synthetic = new SyntheticSource(source, assembler, {
    onEnd: () => {
      port.postMessage({ end: true } satisfies CaptureMessage);
      port.close();
    },
    onFailure: (error) => {
      throw error;
    },
    onOverflow: () => undefined,
  });
  await synthetic.start();
}
