import { expect } from 'chai';
import { DeviceTimeline, type TimelineEvent } from '../../src/capture/device-timeline.js';

const RATE = 16000;
const BUFFER = 800; // 50 ms

/** A buffer whose samples carry the index of the buffer they belong to. */
function buffer(index: number): Int16Array {
  return new Int16Array(BUFFER).fill(index);
}

function audio(events: TimelineEvent[]): { index: number; timeMs: number }[] {
  return events.flatMap((e) => (e.kind === 'audio' ? [{ index: e.samples[0] as number, timeMs: e.lastSampleTimeMs }] : []));
}

describe('device timeline', () => {
  it('stamps live buffers with their arrival time, minus jitter', () => {
    const timeline = new DeviceTimeline({ sampleRate: RATE, channels: 1 });
    const out: TimelineEvent[] = [];
    let jitterSeed = 7;
    for (let i = 0; i < 100; i++) {
      jitterSeed = (jitterSeed * 1103515245 + 12345) % 2 ** 31;
      const jitter = (jitterSeed / 2 ** 31) * 15; // 0..15 ms late
      out.push(...timeline.add(buffer(i), 1000 + (i + 1) * 50 + jitter));
    }
    expect(out.every((e) => e.kind === 'audio')).to.equal(true);
    // Buffer i's last sample was captured at 1000 + (i + 1) * 50: the estimate is never later than that plus the smallest jitter.
    for (const { index, timeMs } of audio(out).slice(20)) expect(timeMs - (1000 + (index + 1) * 50)).to.be.within(-1, 2);
  });

  it('gives buffers that waited in a queue the time they were captured, not the time they arrived', () => {
    const timeline = new DeviceTimeline({ sampleRate: RATE, channels: 1 });
    const out: TimelineEvent[] = [];
    for (let i = 0; i < 20; i++) out.push(...timeline.add(buffer(i), (i + 1) * 50));
    // The reader stalls for 2 s: 40 buffers wait in the queue and arrive together, then live again.
    for (let i = 20; i < 60; i++) out.push(...timeline.add(buffer(i), 3000 + (i - 20) * 0.1));
    for (let i = 60; i < 100; i++) out.push(...timeline.add(buffer(i), (i + 1) * 50));
    expect(out.filter((e) => e.kind === 'gap'), 'nothing was lost').to.have.length(0);
    const stamped = audio(out);
    expect(stamped.map((s) => s.index)).to.deep.equal(Array.from({ length: 100 }, (_, i) => i));
    for (const { index, timeMs } of stamped) expect(timeMs, `buffer ${index}`).to.be.closeTo((index + 1) * 50, 0.5);
  });

  it('after an overflow, measures the lost audio and records it where the backlog ends', () => {
    const timeline = new DeviceTimeline({ sampleRate: RATE, channels: 1 });
    const out: TimelineEvent[] = [];
    // Buffers 0..29 live. The reader then stalls; buffers 30..39 fill the native queue (up to 2000 ms),
    // the device loses what comes next until the reader is back at 2700 ms, and live audio resumes
    // with buffer 40 (captured 700 ms later than its count says).
    for (let i = 0; i < 30; i++) out.push(...timeline.add(buffer(i), (i + 1) * 50));
    timeline.suspectLoss('device overflow', 2700);
    for (let i = 30; i < 40; i++) out.push(...timeline.add(buffer(i), 2700 + (i - 30) * 0.1));
    for (let i = 40; i < 80; i++) out.push(...timeline.add(buffer(i), 700 + (i + 1) * 50));
    const gapAt = out.findIndex((e) => e.kind === 'gap');
    const gap = out[gapAt] as Extract<TimelineEvent, { kind: 'gap' }>;
    expect(gap.frames).to.be.closeTo(0.7 * RATE, 1);
    expect(gap.reason).to.equal('device overflow');
    // The gap sits right after the backlog (give or take a buffer: the last queued one arrives about as late as live ones).
    const before = audio(out.slice(0, gapAt));
    expect(before[before.length - 1]?.index).to.be.within(38, 40);
    for (const { index, timeMs } of audio(out)) {
      const captured = (index + 1) * 50 + (index >= 40 ? 700 : 0);
      if (index < 38 || index >= 41) expect(timeMs, `buffer ${index}`).to.be.closeTo(captured, 1);
    }
    expect(timeline.lostFrames).to.equal(gap.frames);
  });

  it('holds nothing back and records no gap when a suspected loss turns out to be none', () => {
    const timeline = new DeviceTimeline({ sampleRate: RATE, channels: 2 });
    const stereo = (i: number): Int16Array => new Int16Array(BUFFER * 2).fill(i);
    const out: TimelineEvent[] = [];
    for (let i = 0; i < 10; i++) out.push(...timeline.add(stereo(i), (i + 1) * 50));
    timeline.suspectLoss('device overflow', 500);
    expect(timeline.settling).to.equal(true);
    for (let i = 10; i < 40; i++) out.push(...timeline.add(stereo(i), (i + 1) * 50));
    expect(timeline.settling).to.equal(false);
    expect(out.filter((e) => e.kind === 'gap')).to.have.length(0);
    expect(audio(out)).to.have.length(40);
  });
});
