import { expect } from 'chai';
import { monotonicMs } from '../../src/capture/clock.js';
import type { OverflowPolicy } from '../../src/config/schema.js';
import { CaptureHarness, DirectCapture, eventsOfKind, portAudioSource } from '../support/capture-harness.js';
import type { ConsumerReport } from '../support/ring-consumer.js';
import { PrivatePulse } from '../support/pulse.js';

const FRAME_MS = 50;

/** Blocks the calling thread (no event loop at all), as a sink doing synchronous work would. */
function blockThisThread(ms: number): { fromMs: number; toMs: number } {
  const fromMs = monotonicMs();
  while (monotonicMs() - fromMs < ms) {
    /* blocked */
  }
  return { fromMs, toMs: monotonicMs() };
}

function missingSeqs(seqs: number[]): number[] {
  const missing: number[] = [];
  for (let i = 1; i < seqs.length; i++) for (let s = (seqs[i - 1] as number) + 1; s < (seqs[i] as number); s++) missing.push(s);
  return missing;
}

/**
 * Capture from a PulseAudio monitor through the audio host thread into a
 * ring read by a consumer thread (as the transport worker reads it), while
 * one thread stops dead for 2 s.
 */
describe('capture under a 2 s stall', function () {
  this.timeout(40000);
  let pulse: PrivatePulse;
  let harness: CaptureHarness | undefined;

  before(async () => {
    pulse = await PrivatePulse.start([{ name: 'earshot_test' }]);
    pulse.adopt();
  });
  let direct: DirectCapture | undefined;
  afterEach(async () => {
    await harness?.abandon();
    harness = undefined;
    await direct?.stop().catch(() => undefined);
    direct = undefined;
  });
  after(async () => {
    await pulse.stop();
  });

  it('the main thread blocked for 2 s loses nothing, even with a ring shorter than the stall', async () => {
    harness = await CaptureHarness.start(portAudioSource({ device: 'earshot_test.monitor', ring_seconds: 1 }));
    expect(harness.ring.capacity * FRAME_MS, 'ring holds less than the stall').to.be.below(2000);
    await harness.waitForFrames(20, 15000);
    const stall = blockThisThread(2000);
    await harness.waitForFrames(harness.ring.producerPosition.nextSeq + 20, 5000);
    const report = await harness.stop();
    const dropped = harness.ring.dropped;
    const gaps = eventsOfKind(harness.events, 'gap');
    harness = undefined;

    expect(dropped).to.equal(0);
    expect(gaps).to.deep.equal([]);
    expect(report.seqs, 'every frame, in order').to.deep.equal(Array.from({ length: report.seqs.length }, (_, i) => i));
    // Capture and consumer kept going while the main thread was blocked: frames arrived all through the stall.
    const during = report.receivedAtMs.filter((t) => t >= stall.fromMs && t <= stall.toMs);
    expect(during.length, 'frames received during the stall').to.be.above(2000 / FRAME_MS - 10);
    const longestPause = Math.max(...during.slice(1).map((t, i) => t - (during[i] as number)));
    expect(longestPause, 'longest pause between frames during the stall, ms').to.be.below(500);
    // Capture times advance by one frame per frame.
    const steps = report.captureTimesMs.slice(1).map((t, i) => t - (report.captureTimesMs[i] as number));
    expect(Math.min(...steps)).to.be.above(FRAME_MS * 0.5);
    expect(Math.max(...steps)).to.be.below(FRAME_MS * 1.5);
  });

  for (const policy of ['drop_oldest', 'drop_newest'] as OverflowPolicy[]) {
    it(`a consumer blocked for 2 s on a 0.8 s ring (${policy}): every drop counted exactly, the gap visible downstream where it happened`, async () => {
      harness = await CaptureHarness.start(portAudioSource({ device: 'earshot_test.monitor', ring_seconds: 0.5, ring_policy: policy }));
      expect(harness.ring.capacity).to.equal(16); // 10 frames, rounded up to a power of two
      await harness.waitForFrames(20, 15000);
      harness.stallConsumer(2000);
      await new Promise((r) => setTimeout(r, 2500));
      await harness.waitForFrames(harness.ring.producerPosition.nextSeq + 20, 5000);
      const report: ConsumerReport = await harness.stop();
      const dropped = harness.ring.dropped;
      const gaps = eventsOfKind(harness.events, 'gap').map((e) => e.gap);
      harness = undefined;

      const missing = missingSeqs(report.seqs);
      // About 40 frames arrive during the stall and 16 fit: some 24 are dropped.
      expect(missing.length).to.be.within(15, 35);
      expect(dropped, 'the ring counted every missing frame').to.equal(missing.length);
      expect(report.seqs[0]).to.equal(0);
      for (let i = 1; i < report.seqs.length; i++) expect(report.seqs[i]).to.be.above(report.seqs[i - 1] as number);
      // The host reported the same frames, by sequence number, as one gap.
      expect(gaps.map((g) => ({ cause: g.cause, fromSeq: g.fromSeq, toSeq: g.toSeq, missingFrames: g.missingFrames }))).to.deep.equal([
        { cause: `ring full (${policy})`, fromSeq: missing[0], toSeq: missing[missing.length - 1], missingFrames: missing.length },
      ]);
      // The missing frames were captured during the stall.
      const stall = report.stalls[0] as { fromMs: number; toMs: number };
      const gapStart = report.seqs.findIndex((s, i) => i > 0 && s !== (report.seqs[i - 1] as number) + 1);
      const before = report.captureTimesMs[gapStart - 1] as number;
      const after = report.captureTimesMs[gapStart] as number;
      expect(after - before, 'capture time across the gap, ms').to.be.closeTo((missing.length + 1) * FRAME_MS, FRAME_MS);
      expect(before, 'the gap opens after the stall began').to.be.at.least(stall.fromMs - 1000);
      // drop_oldest keeps the newest frames of the stall; drop_newest takes frames again as the consumer resumes.
      expect(after, 'the gap closes by the time the stall ended').to.be.at.most(stall.toMs + 2 * FRAME_MS);
    });
  }

  it('the capture thread itself blocked for 2 s: the native queue holds the audio, nothing lost, no false gap, capture times true', async () => {
    direct = await DirectCapture.open(portAudioSource({ device: 'earshot_test.monitor' }));
    await new Promise((r) => setTimeout(r, 3000)); // the stream goes live
    direct.stallThread(2000);
    await new Promise((r) => setTimeout(r, 4500)); // the stall, then the backlog, held a second while the timeline checks for loss
    const { frames, gaps, failures, stalls } = await direct.stop();
    direct = undefined;
    expect(failures).to.deep.equal([]);
    expect(gaps, 'no audio was lost, and none is claimed lost').to.deep.equal([]);
    expect(frames.map((f) => f.seq)).to.deep.equal(Array.from({ length: frames.length }, (_, i) => i));
    const stall = stalls[0] as { fromMs: number; toMs: number };
    expect(frames.filter((f) => f.captureTimeMs > stall.fromMs && f.captureTimeMs < stall.toMs).length, 'frames captured during the stall').to.be.above(30);
    // Frames that waited in the queue keep the time they were captured, not the time they were read.
    const steps = frames.slice(1).map((f, i) => f.captureTimeMs - (frames[i] as { captureTimeMs: number }).captureTimeMs);
    expect(Math.min(...steps)).to.be.above(FRAME_MS * 0.5);
    expect(Math.max(...steps)).to.be.below(FRAME_MS * 1.5);
  });
});
