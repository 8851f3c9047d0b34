/**
 * Runs one PortAudioSource in this process's main thread (no audio host) and
 * reads its ring here too, so blocking this thread blocks the source's reader.
 * A process of its own, not a worker thread of the test process: PortAudio's
 * state is process-wide, and a second thread driving it beside the audio hosts
 * other tests start is exactly what earshot's design forbids (shared/naudiodon.md). A device can
 * be made to refuse sample rates (wrapping the real open, as a 48 kHz-only
 * device would refuse). `{ type: 'stall', ms }` blocks the thread; `{ type:
 * 'stop' }` stops the source and posts what was captured.
 */
import { monotonicMs } from '../../src/capture/clock.js';
import { listCaptureDevices, matchDevice } from '../../src/capture/devices.js';
import { FrameAssembler, type CaptureGap } from '../../src/capture/frame-assembler.js';
import { PortAudioInput, type InputStreamOptions } from '../../src/capture/portaudio.js';
import { FrameRing } from '../../src/capture/ring.js';
import { PortAudioSource } from '../../src/capture/sources/portaudio.js';
import type { SourceInfo } from '../../src/capture/sources/source.js';
import type { PortAudioSourceConfig } from '../../src/config/schema.js';

export interface DirectCaptureReport {
  type: 'report';
  frames: { seq: number; captureTimeMs: number }[];
  samples: Int16Array;
  gaps: CaptureGap[];
  failures: string[];
  overflows: string[];
  stalls: { fromMs: number; toMs: number }[];
}

export type DirectCaptureMessage = { type: 'opened'; info: SourceInfo } | { type: 'error'; name: string; message: string } | DirectCaptureReport;

if (!process.send) throw new Error('direct-capture-worker runs as a child process with an IPC channel');
const { config, refuseSampleRates } = JSON.parse(process.argv[2] as string) as { config: PortAudioSourceConfig; refuseSampleRates: number[] };
const port = {
  postMessage: (message: DirectCaptureMessage): void => void process.send?.(message),
  on: (event: 'message', listener: (message: { type: 'stall'; ms: number } | { type: 'stop' }) => void): void => void process.on(event, listener),
  close: (): void => process.disconnect(),
};

const ring = FrameRing.create({
  capacityFrames: Math.ceil((config.ring_seconds * 1000) / config.frame_ms),
  frameSamples: Math.round((config.sample_rate * config.frame_ms) / 1000),
  sampleRate: config.sample_rate,
  policy: config.ring_policy,
});
const report: DirectCaptureReport = { type: 'report', frames: [], samples: new Int16Array(0), gaps: [], failures: [], overflows: [], stalls: [] };
const chunks: Int16Array[] = [];
const into = new Int16Array(ring.frameSamples);
const assembler = new FrameAssembler(ring, { onGap: (gap) => report.gaps.push(gap) });

function drain(): void {
  for (let frame = ring.read(into); frame; frame = ring.read(into)) {
    report.frames.push({ seq: frame.seq, captureTimeMs: frame.captureTimeMs });
    chunks.push(frame.samples.slice());
  }
}

function open(options: InputStreamOptions): Promise<PortAudioInput> {
  if (refuseSampleRates.includes(options.sampleRate)) return Promise.reject(new Error('Format not supported: Invalid sample rate'));
  return PortAudioInput.open(options);
}

try {
  const device = matchDevice(config.device, await listCaptureDevices());
  const source = new PortAudioSource(
    config,
    device,
    assembler,
    {
      onFailure: (error) => report.failures.push(error.message),
      onEnd: () => undefined,
      onOverflow: (detail) => report.overflows.push(detail),
    },
    { openInput: open },
  );
  const info = await source.start();
  const reader = setInterval(drain, 20);
  port.on('message', (message: { type: 'stall'; ms: number } | { type: 'stop' }) => {
    if (message.type === 'stall') {
      const fromMs = monotonicMs();
      while (monotonicMs() - fromMs < message.ms) {
        /* this thread, the source's reader, is blocked */
      }
      report.stalls.push({ fromMs, toMs: monotonicMs() });
      return;
    }
    void source.stop().then(() => {
      clearInterval(reader);
      drain();
      const samples = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const chunk of chunks) {
        samples.set(chunk, at);
        at += chunk.length;
      }
      port.postMessage({ ...report, samples } satisfies DirectCaptureReport);
      port.close();
    });
  });
  port.postMessage({ type: 'opened', info } satisfies DirectCaptureMessage);
} catch (error) {
  port.postMessage({ type: 'error', name: (error as Error).name, message: (error as Error).message } satisfies DirectCaptureMessage);
}
