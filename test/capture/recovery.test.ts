import { expect } from 'chai';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { CaptureGap } from '../../src/capture/frame-assembler.js';
import { Supervisor } from '../../src/pipeline/supervisor.js';
import { AudioHostClient } from '../../src/capture/audio-host-client.js';
import type { HostEvent } from '../../src/capture/audio-host-protocol.js';
import { CaptureHarness, eventsOfKind, portAudioSource } from '../support/capture-harness.js';
import type { ConsumerReport } from '../support/ring-consumer.js';
import { PrivatePulse } from '../support/pulse.js';

const FRAME_MS = 50;

/** Where each frame sits against the clock: capture time minus the frame's place on the timeline. */
function clockOffsets(report: ConsumerReport): number[] {
  return report.seqs.map((seq, i) => (report.captureTimesMs[i] as number) - (seq + 1) * FRAME_MS);
}

function spread(values: number[]): number {
  return Math.max(...values) - Math.min(...values);
}

/** Checks the one gap in a report: it matches the reported one, and the timeline stays true to the clock across it. */
function expectOneTrueGap(report: ConsumerReport, gap: CaptureGap): void {
  const jumps = report.seqs.flatMap((s, i) => (i > 0 && s !== (report.seqs[i - 1] as number) + 1 ? [i] : []));
  expect(jumps, 'one gap in the sequence numbers').to.have.length(1);
  const at = jumps[0] as number;
  const lastBefore = report.seqs[at - 1] as number;
  const firstAfter = report.seqs[at] as number;
  for (let i = 1; i < report.seqs.length; i++) expect(report.seqs[i]).to.be.above(report.seqs[i - 1] as number);
  // The gap reported covers the missing frames (and the partly silent ones at its ends).
  expect(gap.fromSeq).to.be.within(lastBefore, lastBefore + 1);
  expect(gap.toSeq).to.be.within(firstAfter - 1, firstAfter);
  expect(gap.missingFrames).to.equal(firstAfter - lastBefore - 1 - (gap.fromSeq === lastBefore ? 0 : 0));
  // The numbers after the gap are right: frame n is still captured at (n + 1) * 50 ms after the start,
  // to within a few frames of jitter, on both sides of a gap of seconds.
  expect(gap.lostMs).to.be.above(1000);
  expect(spread(clockOffsets(report)), 'spread of capture time minus timeline position, ms').to.be.below(3 * FRAME_MS);
}

describe('capture recovery', function () {
  this.timeout(60000);
  let pulse: PrivatePulse;
  let harness: CaptureHarness | undefined;

  before(async () => {
    pulse = await PrivatePulse.start([{ name: 'earshot_test' }]);
    pulse.adopt();
  });
  afterEach(async () => {
    await harness?.abandon();
    harness = undefined;
  });
  after(async () => {
    await pulse.stop();
  });

  it('PulseAudio restarted mid-run: capture resumes, the gap is recorded, the numbers after it are right', async () => {
    harness = await CaptureHarness.start(portAudioSource({ device: 'earshot_test.monitor' }));
    await harness.waitForFrames(20, 15000);
    await pulse.kill(); // the daemon dies: its clients' streams go silent (naudiodon's read never returns)
    await new Promise((r) => setTimeout(r, 1000));
    await pulse.launch();
    const reopened = await harness.waitForEvent((e) => e.type === 'event' && e.kind === 'opened' && e.restarted, 30000, 'the capture to reopen');
    expect(reopened.type === 'event' && reopened.kind === 'opened' && reopened.info.device).to.equal('earshot_test.monitor');
    const resumedAt = harness.ring.producerPosition.nextSeq;
    await harness.waitForFrames(resumedAt + 20, 15000);
    const report = await harness.stop();
    const events = harness.events;
    harness = undefined;

    const failures = eventsOfKind(events, 'failed');
    expect(failures[0]?.error.message).to.match(/the capture device delivered nothing for \d+ ms/);
    const gaps = eventsOfKind(events, 'gap').map((e) => e.gap);
    expect(gaps).to.have.length(1);
    expect(gaps[0]?.cause).to.match(/^capture restarted/);
    expectOneTrueGap(report, gaps[0] as CaptureGap);
  });

  it('a fatal error in the audio host thread: streams closed first, the process stays up, a new host goes on numbering', async () => {
    const lines: { level: number; msg: string; err?: { message: string } }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
        done();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    const host = new AudioHostClient(new URL('../support/faulty-audio-host.js', import.meta.url));
    const supervisor = new Supervisor({ maxRestarts: 5, windowMs: 60000, backoff: { initialDelayMs: 100, maxDelayMs: 1000 }, logger });
    process.env.EARSHOT_TEST_HOST_FAULT_MS = '4500'; // once the capture below is live
    try {
      await supervisor.supervise(host);
      harness = await CaptureHarness.start(portAudioSource({ device: 'earshot_test.monitor' }), { host });
      await harness.waitForFrames(20, 15000);
      const opened = (): HostEvent[] => eventsOfKind(harness?.events ?? [], 'opened');
      await harness.waitForEvent(() => opened().length >= 2, 30000, 'the capture to reopen in a new host');
      const resumedAt = harness.ring.producerPosition.nextSeq;
      await harness.waitForFrames(resumedAt + 20, 15000);
      const report = await harness.stop({ keepHost: true });
      const events = harness.events;
      harness = undefined;

      expect(host.crashes).to.equal(1);
      expect(host.lastCrash?.message).to.equal('injected fault in the audio host');
      const restartLog = lines.find((l) => l.msg.startsWith('audio-host failed'));
      expect(restartLog?.err?.message, 'the supervisor logged why').to.equal('injected fault in the audio host');
      const gaps = eventsOfKind(events, 'gap').map((e) => e.gap);
      expect(gaps.map((g) => g.cause)).to.deep.equal(['the audio host restarted']);
      expectOneTrueGap(report, gaps[0] as CaptureGap);
    } finally {
      delete process.env.EARSHOT_TEST_HOST_FAULT_MS;
      await supervisor.stopAll();
    }
  });
});
